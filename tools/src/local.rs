//! `rustica local`: a whole cluster on one machine for development. Starts N child
//! processes of this same binary as `rustica node` on loopback addresses
//! (`<base>.1` .. `<base>.N`, the first two being the seeds), waits until node 1 sees
//! every node UN, prints `rustica status`, and stops the children on Ctrl-C.
//! It only supervises processes; membership itself is the nodes' business.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use crate::status::{self, NodeLine};

/// The CQL port every local node listens on (each has its own address).
const CQL_PORT: u16 = 9042;
/// How long the cluster may take until every node is UN.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long nodes get to shut down after SIGINT before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The file each node's stdout and stderr go to, in its data directory.
const CONSOLE_LOG: &str = "console.log";

#[derive(Debug, Clone, Args)]
pub struct LocalArgs {
    /// How many nodes to start (node k listens on <base>.k); the last one given wins.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=254), overrides_with = "nodes")]
    pub nodes: u8,
    /// The first three octets of the nodes' loopback addresses.
    #[arg(long, default_value = "127.0.0")]
    pub base: String,
    /// Parent of the nodes' data directories (node k uses <data-dir>/node<k>).
    #[arg(long, default_value = "data/local")]
    pub data_dir: PathBuf,
    /// Run the nodes from the release build (target/release/rustica) instead of
    /// this executable.
    #[arg(long)]
    pub release: bool,
    /// Configuration file passed to every node (its address, data directory and
    /// seeds are overridden per node).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Once the cluster is up, also run the flight apps found next to the node
    /// binary: `flight-sim setup`, `flight-sim run --random <flights> --refill` (a
    /// dispatcher of the cluster's schedule that keeps that many random flights on
    /// it), and `flight-map` when a display is available.
    #[arg(long)]
    pub apps: bool,
    /// How many random flights the simulator keeps on the schedule with `--apps`.
    #[arg(long, default_value_t = 12)]
    pub flights: u32,
}

/// The address of node `k` (1-based) under `base` ("127.0.0").
pub fn node_address(base: &str, k: u8) -> anyhow::Result<IpAddr> {
    let ip: Ipv4Addr = format!("{base}.{k}")
        .parse()
        .with_context(|| format!("--base {base} is not the first three octets of an IPv4 address"))?;
    Ok(IpAddr::V4(ip))
}

/// The seeds of an `n`-node cluster: the first two nodes (one when alone).
pub fn seeds(addresses: &[IpAddr]) -> Vec<IpAddr> {
    addresses.iter().take(2).copied().collect()
}

/// The command line of one node.
pub fn node_args(address: IpAddr, data_dir: &Path, seeds: &[IpAddr], config: Option<&Path>) -> Vec<String> {
    let mut args = Vec::new();
    args.push("node".to_string());
    if let Some(config) = config {
        args.push("--config".into());
        args.push(config.display().to_string());
    }
    let seeds: Vec<String> = seeds.iter().map(IpAddr::to_string).collect();
    args.extend([
        "--address".to_string(),
        address.to_string(),
        "--data-dir".to_string(),
        data_dir.display().to_string(),
        "--seeds".to_string(),
        seeds.join(","),
    ]);
    args
}

/// How far the start has come, as node 1 sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    /// Expected nodes that node 1 lists as UN.
    pub up_normal: usize,
    /// Expected nodes that node 1 does not list at all.
    pub missing: Vec<IpAddr>,
}

impl Readiness {
    pub fn of(lines: &[NodeLine], expected: &[IpAddr]) -> Readiness {
        let up_normal = expected
            .iter()
            .filter(|a| lines.iter().any(|l| l.address == **a && l.state == "UN"))
            .count();
        let missing = expected
            .iter()
            .filter(|a| !lines.iter().any(|l| l.address == **a))
            .copied()
            .collect();
        Readiness { up_normal, missing }
    }

    pub fn is_complete(&self, expected: usize) -> bool {
        self.up_normal == expected
    }
}

/// The last `lines` lines of a text.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The file under `--data-dir` holding the local cluster's secret.
pub const SECRET_FILE: &str = "cluster.secret";

/// The secret the local cluster's nodes prove membership with: made once
/// (random, readable by the owner only) and kept beside the nodes' data, so a
/// restarted cluster keeps it and a node started by hand can be given it
/// (`cluster_secret_file`).
pub fn cluster_secret(data_dir: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let path = data_dir.join(SECRET_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(text.trim().to_string());
    }
    let secret: String = rand::random::<[u8; 32]>().iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{secret}")?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    println!("made the cluster secret {}", path.display());
    Ok(secret)
}

struct LocalNode {
    k: u8,
    address: IpAddr,
    data_dir: PathBuf,
    child: Child,
    /// Set once the node was seen to exit, so it is reported once.
    exited: Option<ExitStatus>,
}

impl LocalNode {
    fn log_tail(&self, lines: usize) -> String {
        let path = self.data_dir.join(CONSOLE_LOG);
        match std::fs::read(&path) {
            Ok(bytes) => tail(&String::from_utf8_lossy(&bytes), lines),
            Err(e) => format!("(cannot read {}: {e})", path.display()),
        }
    }

    /// Reports the node's exit the first time it is seen.
    fn check_exit(&mut self) -> Option<ExitStatus> {
        if self.exited.is_some() {
            return None;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.exited = Some(status);
                Some(status)
            }
            _ => None,
        }
    }

    fn describe_exit(&self, status: ExitStatus) -> String {
        format!(
            "node {} ({}) exited with {status}; last lines of {}:\n{}",
            self.k,
            self.address,
            self.data_dir.join(CONSOLE_LOG).display(),
            self.log_tail(30)
        )
    }
}

/// The children; whatever still runs when this is dropped is killed.
struct LocalCluster {
    nodes: Vec<LocalNode>,
}

impl LocalCluster {
    fn start(exe: &Path, args: &LocalArgs) -> anyhow::Result<LocalCluster> {
        let addresses: Vec<IpAddr> = (1..=args.nodes)
            .map(|k| node_address(&args.base, k))
            .collect::<anyhow::Result<_>>()?;
        for address in &addresses {
            let addr = SocketAddr::new(*address, CQL_PORT);
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                bail!("something already listens on {addr}; stop it first (a node left from an earlier run?)");
            }
        }
        let seeds = seeds(&addresses);
        let secret = cluster_secret(&args.data_dir)?;
        let mut cluster = LocalCluster { nodes: Vec::new() };
        for (k, address) in (1..=args.nodes).zip(addresses) {
            let data_dir = args.data_dir.join(format!("node{k}"));
            std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
            let log_path = data_dir.join(CONSOLE_LOG);
            let mut log = open_log(&log_path)?;
            let _ = writeln!(log, "===== rustica local: starting node {k} on {address} =====");
            let log_err = log.try_clone()?;
            let child = Command::new(exe)
                .args(node_args(address, &data_dir, &seeds, args.config.as_deref()))
                // Keeps an error's backtrace out of the log tail shown when a node
                // fails to start; panics still print theirs (RUST_BACKTRACE).
                .env("RUST_LIB_BACKTRACE", "0")
                .env("RUSTICA_CLUSTER_SECRET", &secret)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                // A group of its own: Ctrl-C in the terminal reaches only this
                // supervisor, which then stops the nodes in order.
                .process_group(0)
                .spawn()
                .with_context(|| format!("cannot start {}", exe.display()))?;
            println!("started node {k} on {address} (pid {}, log {})", child.id(), log_path.display());
            cluster.nodes.push(LocalNode {
                k,
                address,
                data_dir,
                child,
                exited: None,
            });
        }
        Ok(cluster)
    }

    fn addresses(&self) -> Vec<IpAddr> {
        self.nodes.iter().map(|n| n.address).collect()
    }

    /// Describes every node that exited since the last check.
    fn newly_exited(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for node in &mut self.nodes {
            if let Some(status) = node.check_exit() {
                out.push(node.describe_exit(status));
            }
        }
        out
    }

    /// SIGINT (the node's clean shutdown), then SIGKILL for whatever outlives the
    /// grace period.
    async fn stop(&mut self) {
        for node in &mut self.nodes {
            if matches!(node.child.try_wait(), Ok(None)) {
                let _ = Command::new("kill")
                    .arg("-INT")
                    .arg(node.child.id().to_string())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline && self.nodes.iter_mut().any(|n| matches!(n.child.try_wait(), Ok(None))) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for node in &mut self.nodes {
            if matches!(node.child.try_wait(), Ok(None)) {
                println!("node {} did not stop within {STOP_GRACE:?}; killing it", node.k);
                let _ = node.child.kill();
            }
            let _ = node.child.wait();
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if matches!(node.child.try_wait(), Ok(None)) {
                let _ = node.child.kill();
                let _ = node.child.wait();
            }
        }
    }
}

/// The flight apps that `--apps` runs beside the cluster: the simulator (started
/// again with new random flights whenever a run is over) and, when there is a
/// display, the map. Whatever still runs when this is dropped is killed.
struct Apps {
    sim: PathBuf,
    sim_args: Vec<String>,
    log_dir: PathBuf,
    simulator: Option<Child>,
    map: Option<Child>,
}

impl Apps {
    fn start(exe: &Path, args: &LocalArgs, hosts: &[IpAddr]) -> anyhow::Result<Apps> {
        let dir = exe.parent().context("the rustica executable has no directory")?;
        let sim = dir.join("flight-sim");
        if !sim.exists() {
            bail!(
                "--apps needs {}; build it with `cargo build -p simulator` (or --release)",
                sim.display()
            );
        }
        let log_dir = args.data_dir.join("apps");
        std::fs::create_dir_all(&log_dir).with_context(|| format!("cannot create {}", log_dir.display()))?;
        let hosts: Vec<String> = hosts.iter().map(IpAddr::to_string).collect();
        let hosts = hosts.join(",");
        println!("creating the flight keyspace and loading the airports (flight-sim setup)");
        let setup_log = log_dir.join("flight-sim-setup.log");
        let status = Command::new(&sim)
            .args(["--host", &hosts, "setup"])
            .stdin(Stdio::null())
            .stdout(open_log(&setup_log)?)
            .stderr(open_log(&setup_log)?)
            .status()
            .with_context(|| format!("cannot run {}", sim.display()))?;
        if !status.success() {
            bail!("flight-sim setup failed ({status}); see {}", setup_log.display());
        }
        // The simulator schedules random flights departing within three minutes (the
        // same statements the map uses), keeps as many on the schedule as they land,
        // and dispatches the whole schedule: these and any made on the map.
        let sim_args = vec![
            "--host".to_string(),
            hosts.clone(),
            "run".into(),
            "--random".into(),
            args.flights.to_string(),
            "--refill".into(),
            "--spread".into(),
            "3m".into(),
            "--time-scale".into(),
            "120".into(),
        ];
        let mut apps = Apps {
            sim,
            sim_args,
            log_dir,
            simulator: None,
            map: None,
        };
        apps.start_simulator()?;
        let map = dir.join("flight-map");
        let display = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        if !map.exists() {
            println!("no {}; build it with `cargo build -p gui` to see the map", map.display());
        } else if !display {
            println!(
                "no display (DISPLAY / WAYLAND_DISPLAY unset): the map is not opened; run {} --host {hosts} where there is one",
                map.display()
            );
        } else {
            let log = apps.log_dir.join("flight-map.log");
            let child = Command::new(&map)
                .args(["--host", &hosts])
                .stdin(Stdio::null())
                .stdout(open_log(&log)?)
                .stderr(open_log(&log)?)
                .process_group(0)
                .spawn()
                .with_context(|| format!("cannot start {}", map.display()))?;
            println!("opened the flight map (pid {}, log {})", child.id(), log.display());
            apps.map = Some(child);
        }
        Ok(apps)
    }

    fn start_simulator(&mut self) -> anyhow::Result<()> {
        let log = self.log_dir.join("flight-sim.log");
        let child = Command::new(&self.sim)
            .args(&self.sim_args)
            .stdin(Stdio::null())
            .stdout(open_log(&log)?)
            .stderr(open_log(&log)?)
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", self.sim.display()))?;
        println!(
            "dispatching the flight schedule with flight-sim (pid {}, log {}): random flights depart within 3 minutes, \
             flights made on the map at their time",
            child.id(),
            log.display()
        );
        self.simulator = Some(child);
        Ok(())
    }

    /// Starts the simulator again if it has stopped (it runs until Ctrl-C).
    fn keep_flying(&mut self) {
        let over = matches!(self.simulator.as_mut().map(Child::try_wait), Some(Ok(Some(_))));
        if over {
            if let Err(e) = self.start_simulator() {
                println!("cannot start the simulator again: {e:#}");
                self.simulator = None;
            }
        }
    }
}

impl Drop for Apps {
    fn drop(&mut self) {
        for child in [self.simulator.as_mut(), self.map.as_mut()].into_iter().flatten() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn open_log(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

fn port_accepts(address: IpAddr) -> bool {
    TcpStream::connect_timeout(&SocketAddr::new(address, CQL_PORT), Duration::from_millis(200)).is_ok()
}

/// The binary the nodes run: this one, or the release build with `--release`.
fn node_executable(release: bool) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the rustica executable")?;
    if !release {
        return Ok(exe);
    }
    // target/<profile>/rustica -> target/release/rustica
    let release_exe = exe
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("release").join("rustica"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("no release build next to {}; run `cargo build --release -p tools`", exe.display()))?;
    Ok(release_exe)
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hangup = signal(SignalKind::hangup()).ok();
    let term = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    let hangup = async {
        match hangup.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = hangup => {}
    }
}

enum Waited {
    Ready(Box<scylla::client::session::Session>),
    Interrupted,
}

/// Waits until every node accepts CQL and node 1 lists all of them UN.
async fn wait_until_up(
    cluster: &mut LocalCluster,
    stop: &mut std::pin::Pin<Box<impl std::future::Future<Output = ()>>>,
) -> anyhow::Result<Waited> {
    let expected = cluster.addresses();
    let n = expected.len();
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last_progress = String::new();
    let mut session = None;
    loop {
        let exited = cluster.newly_exited();
        if !exited.is_empty() {
            bail!("{}", exited.join("\n"));
        }
        let accepting = expected.iter().filter(|a| port_accepts(**a)).count();
        let progress = if accepting < n {
            format!("waiting: {accepting} of {n} nodes accept CQL connections")
        } else {
            if session.is_none() {
                session = status::connect(&expected[0].to_string(), CQL_PORT).await.ok();
            }
            match &session {
                Some(s) => match status::cluster_status(s).await {
                    Ok(lines) => {
                        let readiness = Readiness::of(&lines, &expected);
                        if readiness.is_complete(n) {
                            if let Some(s) = session.take() {
                                return Ok(Waited::Ready(Box::new(s)));
                            }
                        }
                        let mut text = format!("waiting: node 1 sees {} of {n} nodes UN", readiness.up_normal);
                        if !readiness.missing.is_empty() {
                            let missing: Vec<String> = readiness.missing.iter().map(IpAddr::to_string).collect();
                            text.push_str(&format!(" (not yet listed: {})", missing.join(", ")));
                        }
                        text
                    }
                    Err(e) => format!("waiting: cannot read system.cluster_status on node 1 yet ({e})"),
                },
                None => "waiting: connecting to node 1".to_string(),
            }
        };
        if progress != last_progress {
            println!("{progress}");
            last_progress = progress;
        }
        if Instant::now() >= deadline {
            bail!("the cluster was not up within {START_TIMEOUT:?} ({last_progress}); logs are in the nodes' data directories");
        }
        tokio::select! {
            _ = stop.as_mut() => return Ok(Waited::Interrupted),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// `rustica local`: errors go to stderr as one message, with exit status 1.
pub async fn run(args: LocalArgs) -> anyhow::Result<()> {
    if let Err(e) = supervise(args).await {
        eprintln!("rustica local: {}", status::error_line(&e));
        std::process::exit(1);
    }
    Ok(())
}

async fn supervise(args: LocalArgs) -> anyhow::Result<()> {
    let exe = node_executable(args.release)?;
    let mut stop = Box::pin(stop_signal());
    let mut cluster = LocalCluster::start(&exe, &args)?;
    let started = Instant::now();
    let session = match wait_until_up(&mut cluster, &mut stop).await {
        Ok(Waited::Ready(session)) => session,
        Ok(Waited::Interrupted) => {
            println!("interrupted; stopping the nodes");
            cluster.stop().await;
            return Ok(());
        }
        Err(e) => {
            cluster.stop().await;
            return Err(e);
        }
    };
    let n = cluster.nodes.len();
    println!("\nall {n} nodes are UN after {:.1} s\n", started.elapsed().as_secs_f64());
    match status::report(&session, None).await {
        Ok(text) => println!("{text}"),
        Err(e) => println!("(cannot read the status from node 1: {e:#})"),
    }
    drop(session);
    let first = cluster.nodes[0].address;
    println!("Connect with:");
    println!("  {} shell --host {first}        (or: cqlsh {first} {CQL_PORT})", exe.display());
    println!("  {} status --host {first}", exe.display());
    println!("  curl http://{first}:9180/metrics     (Prometheus metrics of each node on its own address)");
    println!("Logs: {}/node<k>/system.log. Ctrl-C stops all nodes.", args.data_dir.display());
    let mut apps = if args.apps {
        match Apps::start(&exe, &args, &cluster.addresses()) {
            Ok(apps) => Some(apps),
            Err(e) => {
                println!("the flight apps did not start: {e:#}");
                None
            }
        }
    } else {
        None
    };
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.as_mut() => break,
            _ = ticker.tick() => {
                if let Some(apps) = apps.as_mut() {
                    apps.keep_flying();
                }
                for report in cluster.newly_exited() {
                    println!("{report}");
                }
            }
        }
    }
    drop(apps);
    println!("stopping {n} nodes");
    cluster.stop().await;
    println!("all nodes stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(address: IpAddr, state: &str) -> NodeLine {
        NodeLine {
            address,
            state: state.into(),
            load: 0,
            tokens: 16,
            host_id: None,
            data_center: "datacenter1".into(),
            rack: "rack1".into(),
        }
    }

    #[test]
    fn node_k_gets_the_kth_address_of_the_base() {
        assert_eq!(node_address("127.0.0", 3).unwrap(), "127.0.0.3".parse::<IpAddr>().unwrap());
        assert!(node_address("127.0", 3).is_err());
        assert!(node_address("127.0.0.0", 3).is_err());
    }

    #[test]
    fn the_first_two_nodes_are_the_seeds_and_a_lone_node_seeds_itself() {
        let addresses: Vec<IpAddr> = (1..=5).map(|k| node_address("127.0.0", k).unwrap()).collect();
        assert_eq!(seeds(&addresses), addresses[..2].to_vec());
        assert_eq!(seeds(&addresses[..1]), addresses[..1].to_vec());
    }

    #[test]
    fn each_node_is_started_with_its_address_data_dir_and_the_seeds() {
        let address = node_address("127.0.0", 4).unwrap();
        let seeds = [node_address("127.0.0", 1).unwrap(), node_address("127.0.0", 2).unwrap()];
        let args = node_args(address, Path::new("data/local/node4"), &seeds, None);
        assert_eq!(
            args,
            [
                "node",
                "--address",
                "127.0.0.4",
                "--data-dir",
                "data/local/node4",
                "--seeds",
                "127.0.0.1,127.0.0.2"
            ]
        );
        let with_config = node_args(address, Path::new("d"), &seeds, Some(Path::new("conf/rustica.toml")));
        assert_eq!(with_config[1..3], ["--config", "conf/rustica.toml"]);
    }

    #[test]
    fn the_cluster_is_ready_only_when_every_expected_node_is_up_and_normal() {
        let expected: Vec<IpAddr> = (1..=3).map(|k| node_address("127.0.0", k).unwrap()).collect();
        let partial = [line(expected[0], "UN"), line(expected[1], "DN")];
        let readiness = Readiness::of(&partial, &expected);
        assert_eq!(
            readiness,
            Readiness {
                up_normal: 1,
                missing: vec![expected[2]]
            }
        );
        assert!(!readiness.is_complete(3));
        let joining = [line(expected[0], "UN"), line(expected[1], "UN"), line(expected[2], "UJ")];
        assert!(!Readiness::of(&joining, &expected).is_complete(3));
        let all = [line(expected[2], "UN"), line(expected[0], "UN"), line(expected[1], "UN")];
        assert!(Readiness::of(&all, &expected).is_complete(3));
    }

    #[test]
    fn the_tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }
}
