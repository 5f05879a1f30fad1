//! Test harness for integration tests that talk to a real `rustica` node: it starts
//! the binary on a loopback address of the test's own, waits for the CQL port, hands
//! out driver sessions, and kills the node when the test ends. It owns no assertions
//! about the node's behaviour; those live in the test files.
//!
//! nextest runs every test in its own process, in parallel, so each node gets an
//! address `127.0.<a>.<b>` derived from the test's name and the process id, and claims
//! it with a lock file so two tests never share one. A [`TestCluster`] claims a whole
//! `127.0.<s>.0/24` the same way and puts node k on `127.0.<s>.k`.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::fs::{self, OpenOptions};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, PrepareError, RequestAttemptError};

/// The CQL native protocol port every node listens on.
pub const CQL_PORT: u16 = 9042;
/// The secret every test node proves membership with (`cluster_secret`).
pub const CLUSTER_SECRET: &str = "rustica test cluster secret";
/// How long a node may take to accept CQL connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Hard limit on one test's body; see [`within_timeout`].
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `rustica node` process, killed on drop.
pub struct TestNode {
    pub address: IpAddr,
    pub port: u16,
    child: Child,
    watchdog: Option<Child>,
    work_dir: Option<tempfile::TempDir>,
    log_path: PathBuf,
    seeds: Vec<IpAddr>,
    /// The node's config file (in its work directory), if the test gave one.
    config: Option<PathBuf>,
    /// `RUSTICA_FAILPOINTS` for the node's next starts (see `restart_with_failpoints`).
    failpoints: Option<String>,
    _claim: AddressClaim,
}

impl TestNode {
    /// Starts a node for the current test (named after the test's thread).
    pub async fn start() -> TestNode {
        let name = std::thread::current().name().unwrap_or("unnamed-test").to_string();
        Self::start_named(&name).await
    }

    /// Starts a node whose address is derived from `name` and this process's id.
    pub async fn start_named(name: &str) -> TestNode {
        let claim = AddressClaim::for_test(name);
        let mut node = TestNode::spawn(claim, Vec::new(), None);
        node.wait_for_cql_port().await;
        node
    }

    /// Starts a node for the current test with `config` (TOML) as its config file.
    pub async fn start_with_config(config: &str) -> TestNode {
        let name = std::thread::current().name().unwrap_or("unnamed-test").to_string();
        let claim = AddressClaim::for_test(&name);
        let mut node = TestNode::spawn(claim, Vec::new(), Some(config));
        node.wait_for_cql_port().await;
        node
    }

    /// Starts the node on a claimed address without waiting for its CQL port.
    fn spawn(claim: AddressClaim, seeds: Vec<IpAddr>, config: Option<&str>) -> TestNode {
        let address = IpAddr::V4(claim.address);
        let work_dir = tempfile::Builder::new()
            .prefix("rustica-test-")
            .tempdir()
            .expect("create a temporary work directory");
        let log_path = work_dir.path().join("node.log");
        let config = config.map(|text| {
            let path = work_dir.path().join("rustica.toml");
            fs::write(&path, text).expect("write the node's config file");
            path
        });
        let child = spawn_node(address, work_dir.path(), &log_path, &seeds, config.as_deref(), None);
        let watchdog = spawn_watchdog(child.id());
        TestNode {
            address,
            port: CQL_PORT,
            child,
            watchdog,
            work_dir: Some(work_dir),
            log_path,
            seeds,
            config,
            failpoints: None,
            _claim: claim,
        }
    }

    /// Kills the node with SIGKILL (no shutdown of any kind), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }

    /// Waits up to `limit` for the process to end by itself; whether it did.
    pub async fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }

    /// Starts the node again on the same address and data directory.
    pub async fn restart(&mut self) {
        self.kill();
        let work_dir = self
            .work_dir
            .as_ref()
            .expect("the work directory exists while the node does")
            .path()
            .to_path_buf();
        self.child = spawn_node(
            self.address,
            &work_dir,
            &self.log_path,
            &self.seeds,
            self.config.as_deref(),
            self.failpoints.as_deref(),
        );
        self.watchdog = spawn_watchdog(self.child.id());
        self.wait_for_cql_port().await;
    }

    /// Starts the node again with `RUSTICA_FAILPOINTS` set to `spec` (the node
    /// exits at the points it names; see `node::failpoint`).
    pub async fn restart_with_failpoints(&mut self, spec: &str) {
        self.failpoints = Some(spec.to_string());
        self.restart().await;
    }

    async fn wait_for_cql_port(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rustica node on {} exited during start with {status}", self.address);
            }
            let addr = self.socket_addr();
            let accepted = tokio::task::spawn_blocking(move || TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok())
                .await
                .unwrap_or(false);
            if accepted {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "rustica node did not accept CQL connections on {} within {START_TIMEOUT:?}",
                    self.socket_addr()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// The node's process id, e.g. to read `/proc/<pid>/status`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the node process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// A scylla driver session connected to this node only.
    pub async fn session(&self) -> anyhow::Result<Session> {
        let session = SessionBuilder::new()
            .known_node_addr(self.socket_addr())
            .connection_timeout(Duration::from_secs(10))
            .build()
            .await?;
        Ok(session)
    }

    /// The last `lines` lines of the node's log.
    pub fn log_tail(&self, lines: usize) -> String {
        match fs::read(&self.log_path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(lines)..].join("\n")
            }
            Err(e) => format!("(cannot read {}: {e})", self.log_path.display()),
        }
    }
}

/// Spawns `rustica node` on `address` with its data under `work_dir`, appending
/// stdout and stderr to `log_path`; no `seeds` means the node's default.
/// The `rustica` binary (the tools crate's): `$RUSTICA_BIN`, or
/// `target/debug/rustica` of this workspace (`cargo build --workspace` makes it).
pub fn rustica_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("RUSTICA_BIN") {
        return PathBuf::from(path);
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/rustica");
    assert!(
        bin.exists(),
        "the node binary {} does not exist: build the workspace first (`cargo build --workspace`, as scripts/test.sh does) \
         or point RUSTICA_BIN at a rustica binary",
        bin.display()
    );
    bin
}

fn spawn_node(
    address: IpAddr,
    work_dir: &Path,
    log_path: &Path,
    seeds: &[IpAddr],
    config: Option<&Path>,
    failpoints: Option<&str>,
) -> Child {
    let data_dir = work_dir.join("data");
    fs::create_dir_all(&data_dir).expect("create the data directory");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .expect("open the node log file");
    let log_err = log.try_clone().expect("clone the node log file handle");
    let mut command = Command::new(rustica_bin());
    command.arg("node");
    // Every test node holds the test cluster's secret, unless its config file
    // says how it proves membership itself (the environment would override it).
    let own_membership = config
        .and_then(|path| fs::read_to_string(path).ok())
        .is_some_and(|text| text.contains("cluster_secret") || text.contains("internode_authentication"));
    if !own_membership {
        command.env("RUSTICA_CLUSTER_SECRET", CLUSTER_SECRET);
    }
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    if let Some(spec) = failpoints {
        command.env("RUSTICA_FAILPOINTS", spec);
    }
    command.arg("--address").arg(address.to_string()).arg("--data-dir").arg(&data_dir);
    if !seeds.is_empty() {
        let seeds: Vec<String> = seeds.iter().map(IpAddr::to_string).collect();
        command.arg("--seeds").arg(seeds.join(","));
    }
    command
        .current_dir(work_dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .expect("spawn the rustica binary")
}

impl Drop for TestNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "===== rustica node {} log (last 200 lines) =====\n{}\n===== end of node log =====",
                self.address,
                self.log_tail(200)
            );
            if let Some(dir) = self.work_dir.take() {
                eprintln!("node work directory kept at {}", dir.keep().display());
            }
        }
    }
}

/// Kills the node if this test process dies without running `Drop` (a `SIGKILL`, an
/// abort), so no orphaned node keeps its address and port.
fn spawn_watchdog(node_pid: u32) -> Option<Child> {
    let script = "while kill -0 \"$1\" 2>/dev/null && kill -0 \"$2\" 2>/dev/null; do sleep 0.5; done; \
                  kill -9 \"$2\" 2>/dev/null; exit 0";
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("rustica-test-watchdog")
        .arg(std::process::id().to_string())
        .arg(node_pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Several real nodes of one cluster: node k (1-based) on `127.0.<s>.k`, the subnet
/// `s` claimed for the whole test, nodes 1 and 2 the seeds. Dropping it kills them all.
pub struct TestCluster {
    nodes: Vec<TestNode>,
    _subnet: SubnetClaim,
}

impl TestCluster {
    /// Starts `n` nodes for the current test (named after the test's thread) and
    /// waits until each accepts CQL connections; gossip may not have converged yet.
    pub async fn start(n: u8) -> TestCluster {
        let name = std::thread::current().name().unwrap_or("unnamed-test").to_string();
        Self::start_named(&name, n).await
    }

    pub async fn start_named(name: &str, n: u8) -> TestCluster {
        Self::start_named_with(name, n, None).await
    }

    /// Starts `n` nodes for the current test, each with `config` (TOML) as its config file.
    pub async fn start_with_config(n: u8, config: &str) -> TestCluster {
        let name = std::thread::current().name().unwrap_or("unnamed-test").to_string();
        Self::start_named_with(&name, n, Some(config)).await
    }

    async fn start_named_with(name: &str, n: u8, config: Option<&str>) -> TestCluster {
        assert!((1..=254).contains(&n), "a cluster has 1 to 254 nodes, not {n}");
        let (subnet, claims) = SubnetClaim::for_test(name, n);
        let seeds: Vec<IpAddr> = claims.iter().take(2).map(|c| IpAddr::V4(c.address)).collect();
        // Start every node first, then wait, so they boot in parallel.
        let mut nodes: Vec<TestNode> = claims
            .into_iter()
            .map(|claim| TestNode::spawn(claim, seeds.clone(), config))
            .collect();
        for node in &mut nodes {
            node.wait_for_cql_port().await;
        }
        TestCluster { nodes, _subnet: subnet }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Node `k`, counting from 1 as the addresses do.
    pub fn node(&self, k: usize) -> &TestNode {
        &self.nodes[k - 1]
    }

    pub fn address(&self, k: usize) -> IpAddr {
        self.node(k).address
    }

    /// Every node's address, node 1 first.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.nodes.iter().map(|n| n.address).collect()
    }

    /// SIGKILLs node `k`.
    pub fn kill(&mut self, k: usize) {
        self.nodes[k - 1].kill();
    }

    /// Starts node `k` again on its address and data, waiting for its CQL port.
    pub async fn restart(&mut self, k: usize) {
        self.nodes[k - 1].restart().await;
    }

    /// Starts one more node (the next address of the subnet, the same seeds),
    /// waits for its CQL port and returns its number.
    pub async fn add_node(&mut self) -> usize {
        let added = self.add_nodes(1, None).await;
        added[0]
    }

    /// Starts `n` more nodes at once (with `config` as their config file, if
    /// given), waits for their CQL ports and returns their numbers.
    pub async fn add_nodes(&mut self, n: usize, config: Option<&str>) -> Vec<usize> {
        let dir = std::env::temp_dir().join("rustica-address-claims");
        let seeds: Vec<IpAddr> = self.nodes.iter().take(2).map(|n| n.address).collect();
        let first = self.nodes.len() + 1;
        for k in first..first + n {
            let address = Ipv4Addr::new(127, 0, self._subnet.subnet, k as u8);
            let claim = AddressClaim::try_claim(&dir, address).unwrap_or_else(|| panic!("{address} is taken"));
            self.nodes.push(TestNode::spawn(claim, seeds.clone(), config));
        }
        for node in &mut self.nodes[first - 1..] {
            node.wait_for_cql_port().await;
        }
        (first..first + n).collect()
    }

    /// Node `k`, mutably (to wait for its exit).
    pub fn node_mut(&mut self, k: usize) -> &mut TestNode {
        &mut self.nodes[k - 1]
    }

    /// A scylla driver session whose only contact point is node `k`.
    pub async fn session_to(&self, k: usize) -> anyhow::Result<Session> {
        self.node(k).session().await
    }
}

/// A whole `127.0.<s>.0/24` for one cluster test, plus the claims of the node
/// addresses in it, so single-node tests (which claim addresses one by one) keep out.
struct SubnetClaim {
    lock_path: PathBuf,
    /// The `s` of `127.0.<s>.0/24`.
    subnet: u8,
}

impl SubnetClaim {
    fn for_test(name: &str, n: u8) -> (SubnetClaim, Vec<AddressClaim>) {
        let dir = std::env::temp_dir().join("rustica-address-claims");
        fs::create_dir_all(&dir).expect("create the address lock directory");
        for attempt in 0u32..1000 {
            let [_, _, s, _] = derive_address(name, std::process::id(), attempt).octets();
            let lock_path = dir.join(format!("subnet-127.0.{s}"));
            if take_lock(&lock_path).is_none() {
                continue;
            }
            let subnet = SubnetClaim { lock_path, subnet: s };
            let claims: Vec<AddressClaim> = (1..=n)
                .map_while(|k| AddressClaim::try_claim(&dir, Ipv4Addr::new(127, 0, s, k)))
                .collect();
            if claims.len() == usize::from(n) {
                return (subnet, claims);
            }
        }
        panic!("no free loopback subnet for test {name}");
    }
}

impl Drop for SubnetClaim {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// An exclusive claim on a loopback address, held through a lock file that names the
/// owning process; a claim whose owner is gone is stale and may be taken over.
struct AddressClaim {
    address: Ipv4Addr,
    lock_path: PathBuf,
}

impl AddressClaim {
    fn for_test(name: &str) -> AddressClaim {
        let dir = std::env::temp_dir().join("rustica-address-claims");
        fs::create_dir_all(&dir).expect("create the address lock directory");
        for attempt in 0u32..1000 {
            let address = derive_address(name, std::process::id(), attempt);
            if let Some(claim) = AddressClaim::try_claim(&dir, address) {
                return claim;
            }
        }
        panic!("no free loopback address for test {name}");
    }

    /// Claims `address` if no live process holds it and nothing listens on it.
    fn try_claim(dir: &Path, address: Ipv4Addr) -> Option<AddressClaim> {
        let lock_path = dir.join(address.to_string());
        take_lock(&lock_path)?;
        let claim = AddressClaim { address, lock_path };
        // A node left over from an earlier, killed run may still hold it.
        let probe = SocketAddr::new(IpAddr::V4(address), CQL_PORT);
        if TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_ok() {
            return None; // dropping the claim removes the lock file
        }
        Some(claim)
    }
}

/// Creates the lock file naming this process; `None` if another process holds it. A
/// lock whose owner is gone is removed for later runs, but not raced for now.
fn take_lock(lock_path: &Path) -> Option<fs::File> {
    match OpenOptions::new().write(true).create_new(true).open(lock_path) {
        Ok(mut file) => {
            let _ = writeln!(file, "{}", std::process::id());
            Some(file)
        }
        Err(_) => {
            if let Ok(owner) = fs::read_to_string(lock_path) {
                let owner = owner.trim();
                if !owner.is_empty() && !Path::new("/proc").join(owner).exists() {
                    let _ = fs::remove_file(lock_path);
                }
            }
            None
        }
    }
}

impl Drop for AddressClaim {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// `127.0.<a>.<b>` with `a` in 16..=255 and `b` in 1..=254: clear of 127.0.0.x (the
/// usual loopback), 127.0.1.x (Debian's hostname entry) and the low subnets that
/// manual runs and the Python tests use.
fn derive_address(name: &str, pid: u32, attempt: u32) -> Ipv4Addr {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    pid.hash(&mut hasher);
    attempt.hash(&mut hasher);
    let h = hasher.finish();
    let a = 16 + (h % 240) as u8;
    let b = 1 + ((h >> 16) % 254) as u8;
    Ipv4Addr::new(127, 0, a, b)
}

/// Runs a test body under [`TEST_TIMEOUT`]; an error or a timeout fails the test with
/// a panic while the node is still alive, so its log gets printed.
pub async fn within_timeout<F>(body: F)
where
    F: Future<Output = anyhow::Result<()>>,
{
    within(TEST_TIMEOUT, body).await
}

/// Like [`within_timeout`] with a limit of the test's own (cluster tests need longer).
pub async fn within<F>(limit: Duration, body: F)
where
    F: Future<Output = anyhow::Result<()>>,
{
    match tokio::time::timeout(limit, body).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("test failed: {e:?}"),
        Err(_) => panic!("test did not finish within {limit:?}"),
    }
}

/// The server error inside a driver error, if the node answered with an ERROR frame.
pub fn db_error(err: &ExecutionError) -> Option<&DbError> {
    match err {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => Some(db),
        ExecutionError::PrepareError(prepare) => prepare_db_error(prepare),
        _ => None,
    }
}

/// The server error inside a failed PREPARE, if the node answered with an ERROR frame.
pub fn prepare_db_error(err: &PrepareError) -> Option<&DbError> {
    match err {
        PrepareError::AllAttemptsFailed {
            first_attempt: RequestAttemptError::DbError(db, _),
        } => Some(db),
        _ => None,
    }
}

#[test]
fn derived_addresses_stay_clear_of_reserved_loopback_subnets() {
    for pid in 0..200 {
        for attempt in 0..20 {
            let ip = derive_address("some_test", pid, attempt);
            let [x, y, a, b] = ip.octets();
            assert_eq!((x, y), (127, 0));
            assert!(a >= 16, "{ip}");
            assert!((1..=254).contains(&b), "{ip}");
        }
    }
    assert_ne!(derive_address("t", 1, 0), derive_address("t", 2, 0));
}

/// `text` at `cl`, sent only to `node` (its own coordinator), with a 60 s timeout.
pub fn pinned(text: &str, node: IpAddr, cl: scylla::statement::Consistency) -> scylla::statement::unprepared::Statement {
    let mut q = scylla::statement::unprepared::Statement::new(text);
    q.set_consistency(cl);
    q.set_load_balancing_policy(Some(scylla::policies::load_balancing::SingleTargetLoadBalancingPolicy::new(
        scylla::policies::load_balancing::NodeIdentifier::NodeAddress(SocketAddr::new(node, 9042)),
        None,
    )));
    q.set_request_timeout(Some(Duration::from_secs(60)));
    q
}
