//! TLS for the client port (rustls with the ring provider): the
//! `[client_encryption]` settings, loading PEM certificates and keys, and the
//! rustls server configuration, with optional or required client certificates.
//! Accepting connections is the server's business.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

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
}
