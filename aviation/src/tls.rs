//! TLS to the cluster for the apps: a node's certificate must chain to the
//! cluster's certificate authority (the CA file), and its names are not checked.
//! Drivers dial the nodes they discover by the address each node gives, which in
//! containers is one nobody knew when the certificates were made (the compose
//! cluster's nodes are `node1`.. and 127.0.20.k to this machine, 172.x.y.z to the
//! driver once it finds them). The `rustica` tools check the same way; the authority's
//! signature is what proves a node belongs to the cluster. It does not read or
//! build client certificates (the cluster asks clients for a password, not one).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Why the CA file could not be made into a TLS configuration.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the CA file {path}: {reason}")]
pub struct CaError {
    pub path: String,
    pub reason: String,
}

/// A client configuration trusting only the authority in the PEM file `ca`,
/// accepting a node certificate it signed whatever names it carries.
pub fn cluster_client_config(ca: &Path) -> Result<rustls::ClientConfig, CaError> {
    let bad = |reason: String| CaError {
        path: ca.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| bad(format!("bad certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| bad(e.to_string()))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(SignedByTheCluster { inner }))
        .with_no_client_auth())
}

/// The full WebPKI check (chain, validity, signatures), except that a name
/// mismatch is accepted.
#[derive(Debug)]
struct SignedByTheCluster {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for SignedByTheCluster {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("aviation-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let empty = dir.join("empty.crt");
        std::fs::write(&empty, "not a certificate\n").expect("write the file");
        let err = cluster_client_config(&empty).expect_err("no certificate");
        assert_eq!(err.reason, "no certificate in it");
        assert!(err.to_string().contains("empty.crt"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
