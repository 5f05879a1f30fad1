//! The `rustica` binary: `rustica node` runs a database node (`node::start`);
//! the other commands are the client tools of this crate.

/// mimalloc rather than the system allocator: measured with scripts/bench.sh,
/// glibc's malloc and free took about a fifth of the node's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use node::config::NodeConfig;
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
    Shell(tools::shell::ShellArgs),
    /// Load generator: prepared inserts and point reads with many requests in flight.
    Stress(tools::stress::StressArgs),
    /// Storage engine benchmark: writes and point reads straight to the engine.
    BenchStorage(tools::bench::BenchArgs),
    /// Show every node of the cluster as one node sees it (like nodetool status).
    Status(tools::status::StatusArgs),
    /// Start a local cluster of N nodes on loopback addresses; Ctrl-C stops it.
    Local(tools::local::LocalArgs),
    /// Make a cluster certificate authority and certificates for nodes and a client.
    Certs(tools::certs::CertsArgs),
    /// Stream a node's ranges to the nodes that take them over, then stop it.
    Decommission(tools::nodetool::DecommissionArgs),
    /// Drop a dead node from the ring; the live replicas re-stream its ranges.
    Removenode(tools::nodetool::RemoveNodeArgs),
    /// Drop the data of ranges a node no longer replicates.
    Cleanup(tools::nodetool::NodeArgs),
    /// Anti-entropy repair: compare the replicas of a node's ranges by Merkle trees and stream what differs (like nodetool repair).
    Repair(tools::repair::RepairArgs),
    /// Show a node's streams: bootstrap, decommission, removenode.
    Streams(tools::nodetool::NodeArgs),
    /// One node's facts: host id, load, uptime, memory, data centre, rack (like nodetool info).
    Info(tools::nodetool::NodeArgs),
    /// Every token of the ring with its node, in ring order (like nodetool ring).
    Ring(tools::nodetool::NodeArgs),
    /// Cluster name, partitioner, schema versions per node, keyspaces (like nodetool describecluster).
    Describecluster(tools::nodetool::NodeArgs),
    /// Each node's gossiped state, as one node knows it (like nodetool gossipinfo).
    Gossipinfo(tools::nodetool::NodeArgs),
    /// Disk space of each table on one node (like nodetool tablestats).
    Tablestats(tools::inspect::TableStatsArgs),
    /// One node's tasks as nodetool's thread pools: active and completed (like nodetool tpstats).
    Tpstats(tools::nodetool::NodeArgs),
    /// Write every memtable of a node to disk.
    Flush(tools::nodetool::NodeArgs),
    /// Major compaction of every table of a node.
    Compact(tools::nodetool::NodeArgs),
    /// Flush every memtable before a planned stop (then stop the process).
    Drain(tools::nodetool::NodeArgs),
    /// Trace this share (0 to 1) of a node's requests into system_traces, unasked (like nodetool settraceprobability).
    Settraceprobability(tools::inspect::TraceProbabilityArgs),
    /// The share of a node's requests it traces unasked (like nodetool gettraceprobability).
    Gettraceprobability(tools::nodetool::NodeArgs),
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
    if let Ok(secret) = std::env::var("RUSTICA_CLUSTER_SECRET") {
        config.cluster_secret = Some(secret);
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

    node::start::run(config, args.join).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Node(args) => run_node(args).await,
        Command::Shell(args) => tools::shell::run(args).await,
        Command::Stress(args) => tools::stress::run(args).await,
        Command::BenchStorage(args) => tools::bench::run(args),
        Command::Status(args) => tools::status::run(args).await,
        Command::Local(args) => tools::local::run(args).await,
        Command::Certs(args) => tools::certs::run(args),
        Command::Decommission(args) => tools::nodetool::decommission(args).await,
        Command::Removenode(args) => tools::nodetool::removenode(args).await,
        Command::Cleanup(args) => tools::nodetool::cleanup(args).await,
        Command::Repair(args) => tools::repair::run(args).await,
        Command::Streams(args) => tools::nodetool::streams(args).await,
        Command::Info(args) => tools::inspect::info(args).await,
        Command::Ring(args) => tools::inspect::ring(args).await,
        Command::Describecluster(args) => tools::inspect::describecluster(args).await,
        Command::Gossipinfo(args) => tools::inspect::gossipinfo(args).await,
        Command::Tablestats(args) => tools::inspect::tablestats(args).await,
        Command::Tpstats(args) => tools::inspect::tpstats(args).await,
        Command::Flush(args) => tools::inspect::disk_operation(args, "flush").await,
        Command::Compact(args) => tools::inspect::disk_operation(args, "compact").await,
        Command::Drain(args) => tools::inspect::disk_operation(args, "drain").await,
        Command::Settraceprobability(args) => tools::inspect::settraceprobability(args).await,
        Command::Gettraceprobability(args) => tools::inspect::gettraceprobability(args).await,
    }
}
