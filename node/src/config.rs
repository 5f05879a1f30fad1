//! The node's configuration: a TOML file (unknown keys rejected) overridden by
//! command-line flags, validated once at start.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    pub cluster_name: String,
    /// The address every port of this node listens on.
    pub address: IpAddr,
    pub native_port: u16,
    pub data_dir: PathBuf,
    pub data_center: String,
    pub rack: String,
    pub num_tokens: usize,
    /// Frames declaring a larger body are refused before anything is allocated;
    /// before a connection has logged in the bound is 64 KiB (`MAX_FRAME_BEFORE_LOGIN`).
    pub max_frame_bytes: u32,
    /// Log filter (tracing's env-filter syntax), e.g. "info" or "node=debug".
    pub log_level: String,
    /// When an acknowledged write is on disk: `periodic` (in the OS at once, fsync
    /// every `commitlog_sync_period_ms`) or `batch` (fsync before acknowledging).
    pub commitlog_sync: CommitLogSyncMode,
    pub commitlog_sync_period_ms: u64,
    /// What a failed commit log write or fsync does: `stop_commit` (refuse
    /// writes until restarted, the default), `stop` (the same here), `die`, `ignore`.
    pub commit_failure_policy: crate::storage::durable::failure::CommitFailurePolicy,
    /// Memory for memtables (write buffers) across all tables, in MiB.
    pub memtable_space_mb: u64,
    /// Memory for the block cache, in MiB.
    pub cache_size_mb: u64,
    /// Addresses of the seed nodes; a node that is its own seed starts a cluster.
    pub seeds: Vec<IpAddr>,
    pub gossip_port: u16,
    /// Port of the internode protocol (replica reads and writes, hints).
    pub internode_port: u16,
    /// How often a gossip round runs.
    pub gossip_interval_ms: u64,
    /// Phi above which the failure detector convicts a silent peer.
    pub phi_convict_threshold: f64,
    /// `AllowAllAuthenticator` (default) or `PasswordAuthenticator` (logins
    /// checked against `system_auth.roles`).
    pub authenticator: crate::auth::AuthenticatorKind,
    /// `AllowAllAuthorizer` (default) or `CassandraAuthorizer` (GRANTed permissions).
    pub authorizer: crate::auth::AuthorizerKind,
    /// bcrypt work factor of stored password hashes (4..=31).
    pub password_hash_cost: u32,
    /// Client connections this node serves at once, and from one address.
    pub native_transport_max_concurrent_connections: usize,
    pub native_transport_max_concurrent_connections_per_ip: usize,
    /// Client connections that have not logged in yet (READY, or AUTH_SUCCESS
    /// with a password authenticator), TLS handshakes included, per node and
    /// from one address; lower than the bounds above, so connections that never
    /// log in cannot hold every slot. Cassandra has no such bound.
    pub native_transport_max_unauthenticated_connections: usize,
    pub native_transport_max_unauthenticated_connections_per_ip: usize,
    /// How long a client connection has from accept to finish its TLS handshake
    /// and log in; past it the connection is closed. Cassandra has no such key
    /// (its TLS handshake times out after Netty's 10 s).
    pub native_transport_auth_timeout_ms: u64,
    /// Requests one client connection may have in flight; past it the node
    /// stops reading that socket until answers go out.
    pub native_transport_max_requests_per_connection: usize,
    /// Request bytes in flight across the node; past it connections wait.
    pub native_transport_max_concurrent_requests_in_bytes: usize,
    /// TLS on the client port.
    pub client_encryption: crate::tls::ClientEncryption,
    /// Mutual TLS on the internode and gossip ports.
    pub internode_encryption: crate::tls::InternodeEncryption,
    /// The secret every node of the cluster shares: peers prove they hold it
    /// on ports 7000 and 9044 (`peer_auth`). The environment variable
    /// `RUSTICA_CLUSTER_SECRET` overrides it.
    pub cluster_secret: Option<String>,
    /// A file holding the cluster secret, read at start (instead of `cluster_secret`).
    pub cluster_secret_file: Option<PathBuf>,
    /// `required`: peers prove membership with the cluster secret or, under
    /// `[internode_encryption]`, with node certificates; a node with neither
    /// refuses to start. `none`: whoever reaches ports 7000 and 9044 is taken
    /// for a member (logged as a warning at every start).
    pub internode_authentication: InternodeAuthentication,
    /// How long a coordinator waits for replicas to acknowledge a write.
    pub write_request_timeout_ms: u64,
    /// How long a coordinator waits for replicas to answer a one-partition read.
    pub read_request_timeout_ms: u64,
    /// How long a coordinator waits for replicas to answer a range or multi-partition read.
    pub range_request_timeout_ms: u64,
    /// How long a coordinator waits for every node to finish a TRUNCATE.
    pub truncate_request_timeout_ms: u64,
    /// How long a lightweight transaction keeps retrying its Paxos round
    /// against competing ones before it answers a WriteTimeout (write type CAS).
    pub cas_contention_timeout_ms: u64,
    /// How long a coordinator waits for a counter's leader and replicas.
    pub counter_write_request_timeout_ms: u64,
    /// Memory for prepared statements, in MiB: past it the least recently
    /// used ones are evicted (their clients get UNPREPARED and prepare again).
    pub prepared_statements_cache_size_mb: u64,
    /// A batch over several partitions whose data is larger than this is
    /// refused ("Batch too large"), as Cassandra's batch_size_fail_threshold.
    pub batch_size_fail_threshold_in_kb: u64,
    /// A batch over several partitions with more data than this is answered
    /// with a warning for the client (Cassandra's batch_size_warn_threshold).
    pub batch_size_warn_threshold_in_kb: u64,
    /// An UNLOGGED batch over more partitions than this is answered with a
    /// warning for the client.
    pub unlogged_batch_across_partitions_warn_threshold: u64,
    /// A write that misses a replica leaves a hint for it (hinted handoff).
    pub hinted_handoff_enabled: bool,
    /// No hints are written for a node down longer than this.
    pub max_hint_window_ms: u64,
    /// A new node that is not a seed streams its ranges before it serves them
    /// (bootstrap); off, it joins the ring empty at once.
    pub auto_bootstrap: bool,
    /// How long a node waits after announcing JOINING or LEAVING before it
    /// streams, so every node has heard (Cassandra's ring delay).
    pub ring_delay_ms: u64,
    /// Cap on the streaming of one ring operation, in MiB/s; 0: unthrottled.
    pub stream_throughput_mb_per_sec: u64,
    /// Drop the ranges this node gave up after another node joined.
    pub auto_cleanup: bool,
    /// Port of the Prometheus endpoint (`/metrics`) on the node's address, as
    /// ScyllaDB's 9180; 0 turns it off.
    pub metrics_port: u16,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum InternodeAuthentication {
    #[default]
    Required,
    None,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CommitLogSyncMode {
    Periodic,
    Batch,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            cluster_name: "Test Cluster".into(),
            address: IpAddr::from([127, 0, 0, 1]),
            native_port: 9042,
            data_dir: PathBuf::from("data"),
            data_center: "datacenter1".into(),
            rack: "rack1".into(),
            num_tokens: 16,
            max_frame_bytes: cql_protocol::frame::DEFAULT_MAX_FRAME_LEN,
            log_level: "info".into(),
            commitlog_sync: CommitLogSyncMode::Periodic,
            commitlog_sync_period_ms: 10_000,
            commit_failure_policy: Default::default(),
            memtable_space_mb: 256,
            cache_size_mb: 128,
            seeds: Vec::new(),
            gossip_port: 9044,
            internode_port: 7000,
            gossip_interval_ms: 300,
            phi_convict_threshold: 8.0,
            authenticator: crate::auth::AuthenticatorKind::AllowAllAuthenticator,
            authorizer: crate::auth::AuthorizerKind::AllowAllAuthorizer,
            password_hash_cost: crate::auth::password::DEFAULT_COST,
            native_transport_max_concurrent_connections: 4096,
            native_transport_max_concurrent_connections_per_ip: 1024,
            native_transport_max_unauthenticated_connections: 256,
            native_transport_max_unauthenticated_connections_per_ip: 8,
            native_transport_auth_timeout_ms: 10_000,
            native_transport_max_requests_per_connection: 1024,
            native_transport_max_concurrent_requests_in_bytes: 64 << 20,
            client_encryption: crate::tls::ClientEncryption::default(),
            internode_encryption: crate::tls::InternodeEncryption::default(),
            cluster_secret: None,
            cluster_secret_file: None,
            internode_authentication: InternodeAuthentication::Required,
            write_request_timeout_ms: 2_000,
            read_request_timeout_ms: 5_000,
            range_request_timeout_ms: 10_000,
            truncate_request_timeout_ms: 60_000,
            cas_contention_timeout_ms: 1_000,
            counter_write_request_timeout_ms: 5_000,
            prepared_statements_cache_size_mb: 10,
            batch_size_fail_threshold_in_kb: 50,
            batch_size_warn_threshold_in_kb: 5,
            unlogged_batch_across_partitions_warn_threshold: 10,
            hinted_handoff_enabled: true,
            max_hint_window_ms: 3 * 3600 * 1000,
            auto_bootstrap: true,
            ring_delay_ms: 2_000,
            stream_throughput_mb_per_sec: 0,
            auto_cleanup: true,
            metrics_port: 9180,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {message}")]
    Invalid { message: String },
}

impl NodeConfig {
    pub fn from_file(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        NodeConfig::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.into(),
                message,
            },
            other => other,
        })
    }

    pub fn from_toml(text: &str) -> Result<NodeConfig, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid { message: message.into() });
        if self.cluster_name.is_empty() {
            return invalid("cluster_name must not be empty");
        }
        if self.metrics_port != 0 && [self.native_port, self.gossip_port, self.internode_port].contains(&self.metrics_port) {
            return invalid("metrics_port must differ from native_port, gossip_port and internode_port (0 turns the endpoint off)");
        }
        if self.num_tokens == 0 || self.num_tokens > 1024 {
            return invalid("num_tokens must be between 1 and 1024");
        }
        if self.gossip_interval_ms == 0 || self.phi_convict_threshold <= 0.0 {
            return invalid("gossip_interval_ms and phi_convict_threshold must be positive");
        }
        if self.commitlog_sync_period_ms == 0 {
            return invalid("commitlog_sync_period_ms must be positive");
        }
        if self.memtable_space_mb == 0 || self.cache_size_mb == 0 {
            return invalid("memtable_space_mb and cache_size_mb must be positive");
        }
        if !(4..=31).contains(&self.password_hash_cost) {
            return invalid("password_hash_cost must be between 4 and 31");
        }
        if self.native_transport_max_requests_per_connection == 0 || self.native_transport_max_concurrent_requests_in_bytes < 1024 {
            return invalid(
                "native_transport_max_requests_per_connection must be positive and native_transport_max_concurrent_requests_in_bytes at least 1024",
            );
        }
        if self.native_transport_max_unauthenticated_connections == 0
            || self.native_transport_max_unauthenticated_connections_per_ip == 0
            || self.native_transport_auth_timeout_ms == 0
        {
            return invalid(
                "native_transport_max_unauthenticated_connections, native_transport_max_unauthenticated_connections_per_ip \
                 and native_transport_auth_timeout_ms must be positive",
            );
        }
        if self.max_frame_bytes < 1024 {
            return invalid("max_frame_bytes must be at least 1024");
        }
        if [
            self.write_request_timeout_ms,
            self.read_request_timeout_ms,
            self.range_request_timeout_ms,
            self.truncate_request_timeout_ms,
            self.cas_contention_timeout_ms,
            self.counter_write_request_timeout_ms,
        ]
        .contains(&0)
        {
            return invalid(
                "write_, read_, range_, truncate_ and counter_write_request_timeout_ms and cas_contention_timeout_ms must be positive",
            );
        }
        Ok(())
    }

    /// What this node shows its peers and asks of them: the cluster name and
    /// the secret (from `cluster_secret` or `cluster_secret_file`). Without a
    /// secret, peers must prove membership by TLS, or the config must say
    /// `internode_authentication = "none"`.
    pub fn peer_auth(&self) -> Result<crate::peer_auth::PeerAuth, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { message };
        let text = match (&self.cluster_secret, &self.cluster_secret_file) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read cluster_secret_file {}: {e}", path.display())))?,
            ),
            (None, None) => None,
        };
        let secret = text
            .map(|text| crate::peer_auth::ClusterSecret::new(&text))
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        if secret.is_none() && !self.internode_encryption.enabled && self.internode_authentication == InternodeAuthentication::Required {
            return Err(invalid(
                "no cluster secret: nodes could not tell members from strangers on ports 7000 and 9044. \
                 Give every node of the cluster the same cluster_secret or cluster_secret_file \
                 (or the RUSTICA_CLUSTER_SECRET environment variable; `head -c 32 /dev/urandom | base64` makes one), \
                 or turn on [internode_encryption], or set internode_authentication = \"none\" to run without"
                    .into(),
            ));
        }
        Ok(crate::peer_auth::PeerAuth::new(self.cluster_name.clone(), secret))
    }

    /// The bounds on requests in flight (`connection::serve`).
    pub fn request_limits(&self) -> crate::limits::RequestLimits {
        crate::limits::RequestLimits::new(
            self.native_transport_max_requests_per_connection,
            self.native_transport_max_concurrent_requests_in_bytes,
        )
    }

    /// The bounds on client connections (`server::run`).
    pub fn connection_limits(&self) -> crate::limits::ConnectionLimits {
        crate::limits::ConnectionLimits::new(
            self.native_transport_max_concurrent_connections,
            self.native_transport_max_concurrent_connections_per_ip,
            self.native_transport_max_unauthenticated_connections,
            self.native_transport_max_unauthenticated_connections_per_ip,
            Duration::from_millis(self.native_transport_auth_timeout_ms),
        )
    }

    pub fn auth(&self) -> crate::auth::AuthConfig {
        crate::auth::AuthConfig {
            authenticator: self.authenticator,
            authorizer: self.authorizer,
            password_hash_cost: self.password_hash_cost,
        }
    }

    /// The coordinator's timeouts (`Coordinator::new`).
    pub fn movement(&self) -> crate::movement::MovementConfig {
        crate::movement::MovementConfig {
            ring_delay: Duration::from_millis(self.ring_delay_ms),
            stream_throughput_mb_per_sec: self.stream_throughput_mb_per_sec,
            auto_cleanup: self.auto_cleanup,
            ..crate::movement::MovementConfig::default()
        }
    }

    /// Whether this node starts the cluster (it is one of its seeds, or has none).
    pub fn is_seed(&self) -> bool {
        self.seeds.is_empty() || self.seeds.contains(&self.address)
    }

    pub fn timeouts(&self) -> crate::coordinator::Timeouts {
        crate::coordinator::Timeouts {
            write: Duration::from_millis(self.write_request_timeout_ms),
            read: Duration::from_millis(self.read_request_timeout_ms),
            range: Duration::from_millis(self.range_request_timeout_ms),
            truncate: Duration::from_millis(self.truncate_request_timeout_ms),
            cas_contention: Duration::from_millis(self.cas_contention_timeout_ms),
            counter_write: Duration::from_millis(self.counter_write_request_timeout_ms),
        }
    }

    pub fn hint_policy(&self) -> crate::coordinator::hints::HintPolicy {
        crate::coordinator::hints::HintPolicy {
            enabled: self.hinted_handoff_enabled,
            window: Duration::from_millis(self.max_hint_window_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_in_the_repository_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/rustica.toml");
        let config = NodeConfig::from_file(&path).unwrap();
        assert_eq!(config.native_port, 9042);
        assert_eq!(config.cluster_name, "Rustica Cluster");
        assert_eq!(
            (
                config.write_request_timeout_ms,
                config.read_request_timeout_ms,
                config.range_request_timeout_ms,
                config.truncate_request_timeout_ms
            ),
            (2000, 5000, 10000, 60000)
        );
        assert_eq!(config.authenticator, crate::auth::AuthenticatorKind::AllowAllAuthenticator);
        assert_eq!(config.gossip_interval_ms, 300);
        assert_eq!(config.connection_limits().login_timeout(), Duration::from_secs(10));
        assert_eq!(config.native_transport_max_unauthenticated_connections_per_ip, 8);
    }

    #[test]
    fn the_container_config_parses_and_keeps_data_in_the_volume() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/docker.toml");
        let config = NodeConfig::from_file(&path).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/rustica"));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn tls_and_auth_sections_parse_and_unknown_keys_in_them_are_refused() {
        let text = r#"
authenticator = "PasswordAuthenticator"
authorizer = "org.apache.cassandra.auth.CassandraAuthorizer"
[client_encryption]
enabled = true
optional = true
certificate = "c.crt"
private_key = "c.key"
[internode_encryption]
enabled = true
ca_certificate = "ca.crt"
"#;
        let config: NodeConfig = toml::from_str(text).unwrap();
        assert_eq!(config.authorizer, crate::auth::AuthorizerKind::CassandraAuthorizer);
        assert!(config.client_encryption.optional && config.internode_encryption.enabled);
        assert!(toml::from_str::<NodeConfig>("[client_encryption]\nenabeld = true\n").is_err());
        assert!(toml::from_str::<NodeConfig>("authenticator = \"Nope\"\n").is_err());
    }

    #[test]
    fn request_timeouts_default_to_cassandras_and_reach_the_coordinator() {
        let defaults = NodeConfig::from_toml("").unwrap().timeouts();
        assert_eq!(defaults, crate::coordinator::Timeouts::default());
        assert_eq!(
            (defaults.write, defaults.read, defaults.range),
            (Duration::from_secs(2), Duration::from_secs(5), Duration::from_secs(10))
        );
        let set = NodeConfig::from_toml("write_request_timeout_ms = 150\nrange_request_timeout_ms = 20000")
            .unwrap()
            .timeouts();
        assert_eq!(
            (set.write, set.read, set.range),
            (Duration::from_millis(150), Duration::from_secs(5), Duration::from_secs(20))
        );
    }

    #[test]
    fn a_zero_request_timeout_is_invalid() {
        let err = NodeConfig::from_toml("read_request_timeout_ms = 0").unwrap_err();
        assert!(err.to_string().contains("request_timeout_ms"), "{err}");
    }

    #[test]
    fn a_node_needs_a_cluster_secret_tls_between_nodes_or_to_say_it_runs_without() {
        let bare = NodeConfig::default();
        let err = bare.peer_auth().unwrap_err().to_string();
        assert!(
            err.contains("no cluster secret") && err.contains("internode_authentication"),
            "{err}"
        );

        let secret = NodeConfig::from_toml("cluster_secret = \"0123456789abcdef\"").unwrap();
        assert!(secret.peer_auth().unwrap().secret.is_some());
        let short = NodeConfig::from_toml("cluster_secret = \"short\"").unwrap();
        assert!(short.peer_auth().unwrap_err().to_string().contains("at least 16"));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cluster.secret");
        std::fs::write(&file, "from a file, 16 bytes or more\n").unwrap();
        let from_file = NodeConfig {
            cluster_secret_file: Some(file.clone()),
            ..NodeConfig::default()
        };
        assert!(from_file.peer_auth().unwrap().secret.is_some());
        let missing = NodeConfig {
            cluster_secret_file: Some(dir.path().join("nothing")),
            ..NodeConfig::default()
        };
        assert!(missing
            .peer_auth()
            .unwrap_err()
            .to_string()
            .contains("cannot read cluster_secret_file"));

        let tls = NodeConfig::from_toml("[internode_encryption]\nenabled = true").unwrap();
        assert!(tls.peer_auth().unwrap().secret.is_none(), "certificates prove membership");
        let open = NodeConfig::from_toml("internode_authentication = \"none\"").unwrap();
        assert!(open.peer_auth().unwrap().secret.is_none());
        assert!(NodeConfig::from_toml("internode_authentication = \"maybe\"").is_err());
    }

    #[test]
    fn connections_not_logged_in_have_lower_bounds_and_a_deadline_by_default() {
        let config = NodeConfig::from_toml("").unwrap();
        assert_eq!(
            (
                config.native_transport_max_unauthenticated_connections,
                config.native_transport_max_unauthenticated_connections_per_ip,
                config.native_transport_auth_timeout_ms
            ),
            (256, 8, 10_000)
        );
        assert_eq!(config.connection_limits().login_timeout(), Duration::from_secs(10));
        let set = NodeConfig::from_toml("native_transport_auth_timeout_ms = 1000").unwrap();
        assert_eq!(set.connection_limits().login_timeout(), Duration::from_secs(1));
        let err = NodeConfig::from_toml("native_transport_max_unauthenticated_connections_per_ip = 0").unwrap_err();
        assert!(err.to_string().contains("must be positive"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = NodeConfig::from_toml("no_such_key = 1").unwrap_err();
        assert!(err.to_string().contains("no_such_key"), "{err}");
    }

    #[test]
    fn zero_tokens_is_invalid() {
        let err = NodeConfig::from_toml("num_tokens = 0").unwrap_err();
        assert!(err.to_string().contains("num_tokens"), "{err}");
    }
}
