//! TLS with rustls (ring provider): for the client port, the
//! `[client_encryption]` settings and server configuration (optional or required
//! client certificates); between nodes (internode and gossip ports), the
//! `[internode_encryption]` settings and mutual TLS, where each side must show a
//! certificate of the cluster's authority. Loading PEM files lives here too.
//! Accepting and dialling sockets is the servers' business.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::net::IpAddr;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

use crate::peer_auth::CertificateNames;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// `[client_encryption]`, as Cassandra's `client_encryption_options`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClientEncryption {
    pub enabled: bool,
    /// Accept plaintext and TLS on the same port (the first byte tells them apart).
    pub optional: bool,
    /// This node's certificate chain (PEM), e.g. made by `rustica certs`.
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    /// Authority whose client certificates are accepted (PEM).
    pub ca_certificate: Option<PathBuf>,
    /// Refuse clients without a certificate signed by `ca_certificate`.
    pub require_client_auth: bool,
}

impl Default for ClientEncryption {
    fn default() -> Self {
        ClientEncryption {
            enabled: false,
            optional: false,
            certificate: PathBuf::from("certs/node.crt"),
            private_key: PathBuf::from("certs/node.key"),
            ca_certificate: None,
            require_client_auth: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("require_client_auth needs ca_certificate, the authority of the client certificates")]
    NoClientAuthority,
    #[error("invalid TLS setup: {message}")]
    Setup { message: String },
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(certs)
}

pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| read_error(path, e))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn setup(e: impl std::fmt::Display) -> TlsError {
    TlsError::Setup { message: e.to_string() }
}

/// The authority's certificates as a root store.
pub fn root_store(ca: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certificates(ca)? {
        roots.add(cert).map_err(setup)?;
    }
    Ok(roots)
}

impl ClientEncryption {
    /// The rustls configuration of the client port.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let certs = load_certificates(&self.certificate)?;
        let key = load_private_key(&self.private_key)?;
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(setup)?;
        let builder = match (&self.ca_certificate, self.require_client_auth) {
            (None, true) => return Err(TlsError::NoClientAuthority),
            (None, false) => builder.with_no_client_auth(),
            (Some(ca), required) => {
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(ca)?), provider());
                let verifier = if required { verifier } else { verifier.allow_unauthenticated() };
                builder.with_client_cert_verifier(verifier.build().map_err(setup)?)
            }
        };
        Ok(Arc::new(builder.with_single_cert(certs, key).map_err(setup)?))
    }
}

/// `[internode_encryption]`: mutual TLS on the internode and gossip ports.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct InternodeEncryption {
    pub enabled: bool,
    /// This node's certificate (PEM), signed by `ca_certificate`.
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    /// The cluster's authority: peers must show a certificate it signed.
    pub ca_certificate: PathBuf,
}

impl Default for InternodeEncryption {
    fn default() -> Self {
        InternodeEncryption {
            enabled: false,
            certificate: PathBuf::from("certs/node.crt"),
            private_key: PathBuf::from("certs/node.key"),
            ca_certificate: PathBuf::from("certs/ca.crt"),
        }
    }
}

/// A connection between nodes: a plain socket or TLS over one.
pub trait PeerIo: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> PeerIo for T {}
pub type PeerStream = Box<dyn PeerIo>;

/// Checks that a peer's certificate chains to the cluster's authority, and
/// nothing about its name: nodes are dialled by address, and in containers those
/// addresses are not known when certificates are made. Membership of the cluster
/// is what the authority's signature proves.
#[derive(Debug)]
struct ClusterMemberVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ClusterMemberVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Mutual TLS between nodes: both sides show a certificate of the cluster's
/// authority, or the handshake fails.
#[derive(Clone)]
pub struct PeerTls {
    acceptor: TlsAcceptor,
    connector: TlsConnector,
}

impl std::fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerTls")
    }
}

impl PeerTls {
    pub fn new(config: &InternodeEncryption) -> Result<PeerTls, TlsError> {
        let roots = Arc::new(root_store(&config.ca_certificate)?);
        let certs = load_certificates(&config.certificate)?;
        let key = load_private_key(&config.private_key)?;
        let client_verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
            .build()
            .map_err(setup)?;
        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(setup)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(setup)?;
        let client = cluster_client_builder(roots)?.with_client_auth_cert(certs, key).map_err(setup)?;
        Ok(PeerTls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
        })
    }
}

/// A client configuration that trusts the cluster's authority and checks no
/// names (see `ClusterMemberVerifier`), still to be given its client certificate
/// or none.
fn cluster_client_builder(
    roots: Arc<rustls::RootCertStore>,
) -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>, TlsError> {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(setup)?;
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(setup)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ClusterMemberVerifier { inner: verifier })))
}

/// What a client tool uses to reach the cluster over TLS: a node's certificate
/// must be signed by the authority in `ca`. Names are not checked, because drivers
/// dial the nodes they discover by address.
pub fn cluster_client_config(ca: &Path) -> Result<rustls::ClientConfig, TlsError> {
    Ok(cluster_client_builder(Arc::new(root_store(ca)?))?.with_no_client_auth())
}

/// A peer connection after the TLS handshake when there is TLS, with the
/// names of the node certificate the peer showed (none without TLS).
pub struct PeerConnection {
    pub stream: PeerStream,
    pub names: Option<CertificateNames>,
}

/// The names of the certificate a peer showed in a TLS handshake, or why it is
/// not a node's (a client certificate signed by the cluster's authority).
fn peer_names(certificates: Option<&[CertificateDer<'_>]>) -> std::io::Result<CertificateNames> {
    let refused = |reason: String| std::io::Error::new(std::io::ErrorKind::PermissionDenied, reason);
    let der = certificates
        .and_then(|c| c.first())
        .ok_or_else(|| refused("the peer showed no certificate".into()))?;
    crate::peer_auth::node_certificate_names(der).map_err(refused)
}

/// An accepted peer connection, after the TLS handshake when there is TLS; a
/// peer that shows anything but a node certificate is refused here.
pub async fn accept_peer(tls: Option<&PeerTls>, socket: TcpStream) -> std::io::Result<PeerConnection> {
    let _ = socket.set_nodelay(true);
    match tls {
        None => Ok(PeerConnection {
            stream: Box::new(socket),
            names: None,
        }),
        Some(tls) => {
            let stream = tls.acceptor.accept(socket).await?;
            let names = peer_names(stream.get_ref().1.peer_certificates())?;
            Ok(PeerConnection {
                stream: Box::new(stream),
                names: Some(names),
            })
        }
    }
}

/// A connection to peer `ip`, after the TLS handshake when there is TLS.
pub async fn connect_peer(tls: Option<&PeerTls>, socket: TcpStream, ip: IpAddr) -> std::io::Result<PeerConnection> {
    let _ = socket.set_nodelay(true);
    match tls {
        None => Ok(PeerConnection {
            stream: Box::new(socket),
            names: None,
        }),
        Some(tls) => {
            let stream = tls.connector.connect(ServerName::IpAddress(ip.into()), socket).await?;
            let names = peer_names(stream.get_ref().1.peer_certificates())?;
            Ok(PeerConnection {
                stream: Box::new(stream),
                names: Some(names),
            })
        }
    }
}

/// Checks that a peer whose node certificate carries `names` may claim to be
/// the node at `claimed`: an address it names, or one a host name it names
/// resolves to now. Without TLS (no names) there is nothing to check here.
pub async fn check_node_claim(names: Option<&CertificateNames>, claimed: IpAddr) -> Result<(), String> {
    let Some(names) = names else {
        return Ok(());
    };
    if names.names(claimed, &[]) {
        return Ok(());
    }
    let mut resolved = Vec::new();
    for host in &names.hosts {
        if let Ok(Ok(addresses)) =
            tokio::time::timeout(std::time::Duration::from_secs(2), tokio::net::lookup_host((host.as_str(), 0))).await
        {
            resolved.extend(addresses.map(|a| a.ip()));
        }
    }
    if names.names(claimed, &resolved) {
        return Ok(());
    }
    Err(format!(
        "the peer claims to be {claimed}, but its certificate names only {:?} and {:?}",
        names.addresses, names.hosts
    ))
}

/// Whether a connection's first byte starts a TLS handshake (a record of type
/// 22), not a CQL frame (whose first byte is the protocol version).
pub fn starts_tls_handshake(first_byte: u8) -> bool {
    first_byte == 0x16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_handshake_is_told_from_a_cql_frame_by_its_first_byte() {
        assert!(starts_tls_handshake(0x16));
        for version in [0x03, 0x04, 0x05, 0x41, 0x42, 0x84] {
            assert!(!starts_tls_handshake(version));
        }
    }

    #[test]
    fn missing_files_and_a_client_check_without_authority_are_clear_errors() {
        let missing = ClientEncryption {
            enabled: true,
            certificate: PathBuf::from("/nonexistent/node.crt"),
            ..ClientEncryption::default()
        };
        let err = missing.server_config().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/node.crt"), "{err}");
    }

    /// A cluster authority and one node certificate valid from `from` to `to`
    /// (days from now), as PEM files in `dir`: ca.crt, node.crt, node.key.
    fn make_certs(dir: &Path, name: &str, from: i64, to: i64) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(from);
        params.not_after = now + time::Duration::days(to);
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    fn peer_config(dir: &Path, name: &str) -> InternodeEncryption {
        InternodeEncryption {
            enabled: true,
            certificate: dir.join(format!("{name}.crt")),
            private_key: dir.join(format!("{name}.key")),
            ca_certificate: dir.join("ca.crt"),
        }
    }

    /// The errors of both sides of one mutual-TLS handshake between two peers.
    async fn handshake(server: &PeerTls, client: &PeerTls) -> (Option<String>, Option<String>) {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let (s, c) = tokio::join!(server.acceptor.accept(a), client.connector.connect(name, b));
        (s.err().map(|e| e.to_string()), c.err().map(|e| e.to_string()))
    }

    #[tokio::test]
    async fn peers_of_one_authority_shake_hands_and_an_expired_or_foreign_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        make_certs(&dir.path().join("good"), "node", -1, 30);
        make_certs(&dir.path().join("foreign"), "node", -1, 30);
        // An authority whose node certificate expired yesterday.
        make_certs(&dir.path().join("old"), "node", -30, -1);
        let good = PeerTls::new(&peer_config(&dir.path().join("good"), "node")).unwrap();
        let (s, c) = handshake(&good, &good).await;
        assert_eq!((s, c), (None, None), "two members of one cluster");

        let foreign = PeerTls::new(&peer_config(&dir.path().join("foreign"), "node")).unwrap();
        let (s, c) = handshake(&good, &foreign).await;
        assert!(s.is_some() && c.is_some(), "another authority's node is refused: {s:?} {c:?}");

        let old = PeerTls::new(&peer_config(&dir.path().join("old"), "node")).unwrap();
        let (_, c) = handshake(&old, &old).await;
        let c = c.expect("an expired certificate is refused");
        assert!(c.to_lowercase().contains("expired"), "{c}");
    }
}
