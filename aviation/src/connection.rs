//! Reaching the cluster: contact points (`host` or `host:port`), credentials and TLS
//! trusting the cluster's certificate authority (`tls.rs`), and a session built within a time
//! limit. It runs no statement; `statements.rs` does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach the cluster at {contact_points}: {reason}")]
    Unreachable { contact_points: String, reason: String },
    #[error("cannot read the CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
}

/// How to log in and whether to talk TLS: a cluster with PasswordAuthenticator and
/// `[client_encryption]` wants both.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Role and password (PlainTextAuthenticator).
    pub credentials: Option<(String, String)>,
    /// The cluster's certificate authority (PEM); TLS is used when given, and a
    /// node's certificate must be signed by it (its names are not checked: see
    /// `tls.rs`).
    pub ca_file: Option<PathBuf>,
}

impl Security {
    fn apply(&self, mut builder: SessionBuilder) -> Result<SessionBuilder, ConnectError> {
        if let Some((user, password)) = &self.credentials {
            builder = builder.user(user, password);
        }
        if let Some(ca) = &self.ca_file {
            let config = crate::tls::cluster_client_config(ca).map_err(|e| ConnectError::CaFile {
                path: e.path,
                reason: e.reason,
            })?;
            builder = builder.tls_context(Some(Arc::new(config)));
        }
        Ok(builder)
    }
}

/// `host:port` for each of `hosts` (comma lists already split), `port` where a host
/// names none; blank entries are dropped.
pub fn contact_points(hosts: &[String], port: u16) -> Vec<String> {
    hosts
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .map(|h| if h.contains(':') { h.to_string() } else { format!("{h}:{port}") })
        .collect()
}

/// Connects through `contact_points` (`host:port`), failing within `timeout` if no
/// contact point answers.
pub async fn connect(contact_points: &[String], timeout: Duration, security: &Security) -> Result<Session, ConnectError> {
    let unreachable = |reason: String| ConnectError::Unreachable {
        contact_points: contact_points.join(", "),
        reason,
    };
    let builder = SessionBuilder::new().known_nodes(contact_points).connection_timeout(timeout);
    let builder = security.apply(builder)?;
    match tokio::time::timeout(timeout + Duration::from_secs(1), builder.build()).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!("no answer within {timeout:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_points_get_the_default_port_unless_they_name_one() {
        let hosts = vec!["127.0.0.1".to_string(), "node2:9043".to_string(), " ".to_string()];
        assert_eq!(contact_points(&hosts, 9042), vec!["127.0.0.1:9042", "node2:9043"]);
    }

    #[tokio::test]
    async fn a_missing_ca_file_is_a_clear_error_before_any_connection() {
        let security = Security {
            credentials: None,
            ca_file: Some("/nonexistent/ca.crt".into()),
        };
        let err = connect(&["127.0.0.1:1".into()], Duration::from_millis(200), &security)
            .await
            .expect_err("no CA file");
        assert!(matches!(err, ConnectError::CaFile { .. }), "{err}");
    }
}
