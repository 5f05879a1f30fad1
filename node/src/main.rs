//! The `rustica` binary: `rustica node` runs a database node; `rustica shell` and
//! `rustica stress` are clients of a running cluster.

/// mimalloc rather than the system allocator: measured with scripts/bench.sh,
/// glibc's malloc and free took about a fifth of the node's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use node::config::CommitLogSyncMode;
use node::config::NodeConfig;
use node::query::Executor;
use node::storage::durable::{CommitLogSync, DurableEngine, DurableOptions};
use node::system::NodeInfo;
use tracing_subscriber::prelude::*;

#[derive(Debug, Parser)]
#[command(name = "rustica", version, about = "A Cassandra-compatible database node and its tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a database node.
    Node(NodeArgs),
    /// Interactive CQL shell (like cqlsh), or run statements with -e.
    Shell(node::shell::ShellArgs),
    /// Load generator: prepared inserts and point reads with many requests in flight.
    Stress(node::stress::StressArgs),
    /// Storage engine benchmark: writes and point reads straight to the engine.
    BenchStorage(node::bench::BenchArgs),
    /// Show every node of the cluster as one node sees it (like nodetool status).
    Status(node::status::StatusArgs),
    /// Start a local cluster of N nodes on loopback addresses; Ctrl-C stops it.
    Local(node::local::LocalArgs),
    /// Make a cluster certificate authority and certificates for nodes and a client.
    Certs(node::certs::CertsArgs),
    /// Stream a node's ranges to the nodes that take them over, then stop it.
    Decommission(node::nodetool::DecommissionArgs),
    /// Drop a dead node from the ring; the live replicas re-stream its ranges.
    Removenode(node::nodetool::RemoveNodeArgs),
    /// Drop the data of ranges a node no longer replicates.
    Cleanup(node::nodetool::NodeArgs),
    /// Show a node's streams: bootstrap, decommission, removenode.
    Streams(node::nodetool::NodeArgs),
}

#[derive(Debug, Args)]
struct NodeArgs {
    /// TOML configuration file (see conf/rustica.toml); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (every port of the node): an IP or a host name, such
    /// as a compose service name, resolved at start.
    #[arg(long)]
    address: Option<String>,
    /// Directory for this node's data and log file.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// CQL native protocol port.
    #[arg(long)]
    native_port: Option<u16>,
    #[arg(long)]
    cluster_name: Option<String>,
    /// Seed nodes, comma-separated IPs or host names (a node that is its own seed
    /// starts a cluster). A name that does not resolve yet is retried for a while,
    /// then left out.
    #[arg(long, value_delimiter = ',')]
    seeds: Option<Vec<String>>,
    /// Join an existing cluster by streaming this node's ranges first, even as
    /// a seed (a new node that is not a seed always does, unless
    /// `auto_bootstrap = false`).
    #[arg(long)]
    join: bool,
}

/// How long a host name may take to appear in DNS (containers start in any order).
const RESOLVE_OWN_ADDRESS: std::time::Duration = std::time::Duration::from_secs(30);
const RESOLVE_SEED: std::time::Duration = std::time::Duration::from_secs(10);

/// An IP as written, or the first IPv4 (else IPv6) address of a host name.
fn resolve(name: &str, patience: std::time::Duration) -> anyhow::Result<IpAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ip);
    }
    let deadline = std::time::Instant::now() + patience;
    loop {
        use std::net::ToSocketAddrs;
        match (name, 0).to_socket_addrs() {
            Ok(addrs) => {
                let addrs: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                if let Some(ip) = addrs.iter().find(|ip| ip.is_ipv4()).or(addrs.first()) {
                    return Ok(*ip);
                }
            }
            Err(e) if std::time::Instant::now() >= deadline => anyhow::bail!("cannot resolve {name}: {e}"),
            Err(_) => {}
        }
        if std::time::Instant::now() >= deadline {
            anyhow::bail!("{name} has no address");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn node_config(args: &NodeArgs) -> anyhow::Result<NodeConfig> {
    let mut config = match &args.config {
        Some(path) => NodeConfig::from_file(path)?,
        None => NodeConfig::default(),
    };
    if let Some(a) = &args.address {
        config.address = resolve(a, RESOLVE_OWN_ADDRESS).with_context(|| format!("--address {a}"))?;
    }
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(p) = args.native_port {
        config.native_port = p;
    }
    if let Some(c) = &args.cluster_name {
        config.cluster_name = c.clone();
    }
    if let Some(seeds) = &args.seeds {
        config.seeds = Vec::new();
        for seed in seeds {
            match resolve(seed, RESOLVE_SEED) {
                Ok(ip) => config.seeds.push(ip),
                Err(e) => eprintln!("rustica node: leaving out seed {seed}: {e:#}"),
            }
        }
    }
    config.validate()?;
    Ok(config)
}

async fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let config = node_config(&args)?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let file = tracing_appender::rolling::never(&config.data_dir, "system.log");
    let (file_writer, _guard) = tracing_appender::non_blocking(file);
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer())
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(file_writer))
        .init();

    let mut rng = rand::thread_rng();
    let info = NodeInfo {
        cluster_name: config.cluster_name.clone(),
        address: config.address,
        native_port: config.native_port,
        host_id: uuid::Uuid::new_v4(),
        data_center: config.data_center.clone(),
        rack: config.rack.clone(),
        tokens: node::token::random_tokens(config.num_tokens, &mut rng),
    };
    let storage_dir = config.data_dir.join("data");
    let options = DurableOptions {
        sync: match config.commitlog_sync {
            CommitLogSyncMode::Periodic => CommitLogSync::Periodic {
                period: std::time::Duration::from_millis(config.commitlog_sync_period_ms),
            },
            CommitLogSyncMode::Batch => CommitLogSync::Batch,
        },
        cache_bytes: config.cache_size_mb << 20,
        memtable_bytes: config.memtable_space_mb << 20,
        ..DurableOptions::default()
    };
    let engine =
        DurableEngine::open(&storage_dir, options).with_context(|| format!("cannot open the storage in {}", storage_dir.display()))?;
    tracing::info!(dir = %storage_dir.display(), sync = ?config.commitlog_sync, "storage open");
    let mut executor = Executor::new(Arc::new(engine), info.clone()).map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    executor.auth = node::auth::Auth::new(config.auth());
    executor.coordinator.set_timeouts(config.timeouts());
    let executor = Arc::new(executor);
    let join = should_join(&config, executor.bootstrapped.as_deref(), args.join)?;
    if join {
        tracing::info!("this node joins the ring: it streams its ranges before it owns them");
        executor.coordinator.view.set_local_status(node::cluster::peers::JOINING);
    } else if executor.bootstrapped.is_none() {
        let schema = executor.schema.snapshot();
        node::system::write_bootstrapped(executor.engine.as_ref(), &schema, node::movement::bootstrap::COMPLETED)
            .map_err(|e| anyhow::anyhow!("cannot write system.local: {e}"))?;
    }
    let addr = SocketAddr::new(config.address, config.native_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for CQL on {addr}"))?;
    tracing::info!(%addr, host_id = %info.host_id, cluster = %info.cluster_name, "rustica node serving CQL");
    let gossip_addr = SocketAddr::new(config.address, config.gossip_port);
    let gossip_listener = tokio::net::TcpListener::bind(gossip_addr)
        .await
        .with_context(|| format!("cannot listen for gossip on {gossip_addr}"))?;
    node::cluster::write_local_status(&executor);
    let peer_tls = if config.internode_encryption.enabled {
        tracing::info!("mutual TLS on the internode and gossip ports");
        Some(node::tls::PeerTls::new(&config.internode_encryption).context("cannot set up TLS between nodes ([internode_encryption])")?)
    } else {
        None
    };
    let cluster = node::cluster::ClusterConfig {
        tls: peer_tls.clone(),
        cluster_name: config.cluster_name.clone(),
        address: config.address,
        gossip_port: config.gossip_port,
        seeds: config.seeds.clone(),
        interval: std::time::Duration::from_millis(config.gossip_interval_ms),
        phi_convict_threshold: config.phi_convict_threshold,
    };
    let internode_addr = SocketAddr::new(config.address, config.internode_port);
    let internode_listener = tokio::net::TcpListener::bind(internode_addr)
        .await
        .with_context(|| format!("cannot listen for internode messages on {internode_addr}"))?;
    let handler = Arc::new(node::coordinator::ReplicaHandler {
        engine: executor.engine.clone(),
    });
    let messaging =
        node::internode::Messaging::start_with_tls(internode_listener, config.address, config.cluster_name.clone(), handler, peer_tls)
            .await;
    executor.coordinator.set_messaging(messaging);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(executor.coordinator.clone().replay_hints(stop_rx.clone()));
    if executor.auth.login_required() {
        tokio::spawn(node::auth::statements::default_superuser_task(executor.clone(), stop_rx.clone()));
    }
    let mut gossip_stop = stop_rx.clone();
    let gossip = tokio::spawn(node::cluster::run(gossip_listener, executor.clone(), cluster, async move {
        let _ = gossip_stop.changed().await;
    }));
    let (exit_tx, mut exit_rx) = tokio::sync::watch::channel(false);
    if let Some(requests) = executor.take_node_requests() {
        tokio::spawn(node::movement::serve(executor.clone(), config.movement(), requests, exit_tx));
    }
    if join {
        tokio::spawn(node::movement::bootstrap::join(executor.clone(), config.movement()));
    }
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = exit_rx.wait_for(|left| *left) => tracing::info!("decommissioned: stopping"),
        }
        let _ = stop_tx.send(true);
    };
    let tls = if config.client_encryption.enabled {
        let server_config = config
            .client_encryption
            .server_config()
            .context("cannot set up TLS for the client port ([client_encryption])")?;
        tracing::info!(optional = config.client_encryption.optional, "TLS on the client port");
        Some(node::server::ClientTls {
            acceptor: tokio_rustls::TlsAcceptor::from(server_config),
            optional: config.client_encryption.optional,
        })
    } else {
        None
    };
    let limits = node::limits::ConnectionLimits::new(
        config.native_transport_max_concurrent_connections,
        config.native_transport_max_concurrent_connections_per_ip,
    );
    node::server::run(
        listener,
        executor,
        config.max_frame_bytes,
        tls,
        limits,
        config.request_limits(),
        shutdown,
    )
    .await;
    let _ = gossip.await;
    Ok(())
}

/// Whether this start joins the ring by bootstrap: a new node that is not a
/// seed (or is told `--join`), and a node whose earlier join did not finish.
fn should_join(config: &NodeConfig, bootstrapped: Option<&str>, asked: bool) -> anyhow::Result<bool> {
    use node::movement::bootstrap::{COMPLETED, DECOMMISSIONED, IN_PROGRESS};
    match bootstrapped {
        Some(DECOMMISSIONED) => anyhow::bail!(
            "this node was decommissioned and has left the ring; to join again, start it with an empty data directory ({})",
            config.data_dir.display()
        ),
        Some(COMPLETED) => Ok(false),
        Some(IN_PROGRESS) => Ok(true),
        _ => Ok(asked || (config.auto_bootstrap && !config.is_seed())),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Node(args) => run_node(args).await,
        Command::Shell(args) => node::shell::run(args).await,
        Command::Stress(args) => node::stress::run(args).await,
        Command::BenchStorage(args) => node::bench::run(args),
        Command::Status(args) => node::status::run(args).await,
        Command::Local(args) => node::local::run(args).await,
        Command::Certs(args) => node::certs::run(args),
        Command::Decommission(args) => node::nodetool::decommission(args).await,
        Command::Removenode(args) => node::nodetool::removenode(args).await,
        Command::Cleanup(args) => node::nodetool::cleanup(args).await,
        Command::Streams(args) => node::nodetool::streams(args).await,
    }
}
