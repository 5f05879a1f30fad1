//! How this binary's client tools (`shell`, `stress`, `status`) reach a cluster
//! that wants a password or TLS: the shared flags and the driver settings they
//! make. The node's own TLS is in `tls`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use scylla::client::session_builder::SessionBuilder;

/// Credentials and TLS of a client connection.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientOptions {
    /// Role to log in as (PasswordAuthenticator).
    #[arg(short = 'u', long = "username")]
    pub username: Option<String>,
    /// Its password (asked for by `shell` when missing).
    #[arg(short = 'p', long = "password")]
    pub password: Option<String>,
    /// Talk TLS to the client port, trusting the authority in --ca-file.
    #[arg(long)]
    pub ssl: bool,
    /// The cluster's certificate authority (PEM), e.g. certs/ca.crt from `rustica certs`.
    #[arg(long = "ca-file", value_name = "FILE", default_value = "certs/ca.crt")]
    pub ca_file: PathBuf,
}

impl ClientOptions {
    /// The rustls configuration for `--ssl`: every node's certificate must be
    /// signed by the authority in --ca-file (names are not checked: the driver
    /// dials the nodes it discovers by their addresses).
    pub fn tls_config(&self) -> anyhow::Result<Option<rustls::ClientConfig>> {
        if !self.ssl {
            return Ok(None);
        }
        let config = node::tls::cluster_client_config(&self.ca_file)
            .with_context(|| format!("--ssl needs the cluster's authority in --ca-file {}", self.ca_file.display()))?;
        Ok(Some(config))
    }

    /// `builder` with these credentials and TLS; `password` overrides `--password`.
    pub fn apply(&self, mut builder: SessionBuilder, password: Option<String>) -> anyhow::Result<SessionBuilder> {
        if let Some(user) = &self.username {
            builder = builder.user(user, password.or_else(|| self.password.clone()).unwrap_or_default());
        }
        if let Some(config) = self.tls_config()? {
            builder = builder.tls_context(Some(Arc::new(config)));
        }
        Ok(builder)
    }
}
