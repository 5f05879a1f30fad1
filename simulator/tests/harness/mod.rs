//! Test harness for flight-sim against a real `rustica` node: starts the node binary
//! built by the workspace on a loopback address of the test's own (claimed with the
//! same lock files as the node crate's tests, so the two suites never share one),
//! runs `flight-sim` as a child process, and kills both when the test ends. It owns
//! no assertions about the simulator; those live in the test files.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;

pub const CQL_PORT: u16 = 9042;
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a test body, failing it with its error, or when it takes over `limit`.
pub async fn within(limit: std::time::Duration, body: impl std::future::Future<Output = anyhow::Result<()>>) {
    match tokio::time::timeout(limit, body).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("test failed: {e:?}"),
        Err(_) => panic!("test did not finish within {limit:?}"),
    }
}

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The node binary: `$RUSTICA_BIN`, or `target/debug/rustica` next to this crate.
pub fn rustica_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("RUSTICA_BIN") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/rustica")
}

/// A running `rustica node`, killed on drop.
pub struct TestNode {
    pub address: IpAddr,
    child: Child,
    watchdog: Option<Child>,
    work_dir: Option<tempfile::TempDir>,
    log_path: PathBuf,
    _claim: AddressClaim,
}

impl TestNode {
    pub fn start(name: &str) -> TestNode {
        TestNode::start_with(name, |_| Vec::new())
    }

    /// A node as the compose cluster runs them: passwords (the default superuser
    /// cassandra/cassandra) and TLS for clients, with a certificate of its own
    /// authority (`rustica certs`) that names only `node1`, not the address the
    /// clients dial. The authority is `ca_file()`.
    pub fn start_secured(name: &str) -> TestNode {
        TestNode::start_with(name, |dir| {
            let certs = dir.join("certs");
            let out = Command::new(rustica_bin())
                .args(["certs", "--out"])
                .arg(&certs)
                .args(["--node", "node1+node1"])
                .output()
                .expect("run rustica certs");
            assert!(out.status.success(), "rustica certs: {}", String::from_utf8_lossy(&out.stderr));
            let config = dir.join("rustica.toml");
            fs::write(
                &config,
                format!(
                    "authenticator = \"PasswordAuthenticator\"\nauthorizer = \"CassandraAuthorizer\"\n\n\
                     [client_encryption]\nenabled = true\ncertificate = \"{}\"\nprivate_key = \"{}\"\n",
                    certs.join("node1.crt").display(),
                    certs.join("node1.key").display()
                ),
            )
            .expect("write the node's configuration");
            vec!["--config".into(), config.display().to_string()]
        })
    }

    /// The authority of a node started by `start_secured`.
    pub fn ca_file(&self) -> PathBuf {
        self.work_dir
            .as_ref()
            .map(|d| d.path().join("certs").join("ca.crt"))
            .unwrap_or_default()
    }

    /// Starts a node; `configure` may write files into its work directory and
    /// returns extra arguments for `rustica node`.
    fn start_with(name: &str, configure: impl FnOnce(&Path) -> Vec<String>) -> TestNode {
        let bin = rustica_bin();
        assert!(
            bin.exists(),
            "the node binary {} does not exist: build the workspace first (`cargo build --workspace`, as scripts/test.sh does) \
             or point RUSTICA_BIN at a rustica binary",
            bin.display()
        );
        let claim = AddressClaim::for_test(name);
        let address = IpAddr::V4(claim.address);
        let work_dir = tempfile::Builder::new()
            .prefix("flight-sim-test-")
            .tempdir()
            .expect("a temporary directory");
        let data_dir = work_dir.path().join("data");
        fs::create_dir(&data_dir).expect("create the data directory");
        let log_path = work_dir.path().join("node.log");
        let log = File::create(&log_path).expect("create the node log");
        let extra = configure(work_dir.path());
        let child = Command::new(&bin)
            .arg("node")
            .args(&extra)
            .arg("--address")
            .arg(address.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            // A node needs a cluster secret to start (it has no peers here).
            .env("RUSTICA_CLUSTER_SECRET", "flight-sim test cluster secret")
            .current_dir(work_dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let watchdog = spawn_watchdog(child.id());
        let mut node = TestNode {
            address,
            child,
            watchdog,
            work_dir: Some(work_dir),
            log_path,
            _claim: claim,
        };
        node.wait_for_cql_port();
        node
    }

    fn wait_for_cql_port(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "rustica node on {} exited during start with {status}:\n{}",
                    self.address,
                    self.log_tail(50)
                );
            }
            if TcpStream::connect_timeout(&self.socket_addr(), Duration::from_millis(500)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "rustica node did not accept CQL on {} in {START_TIMEOUT:?}",
                self.socket_addr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, CQL_PORT)
    }

    pub async fn session(&self) -> Session {
        SessionBuilder::new()
            .known_node_addr(self.socket_addr())
            .connection_timeout(Duration::from_secs(10))
            .build()
            .await
            .expect("a driver session to the test node")
    }

    /// `flight-sim --host <this node> <args>`, ready to run.
    pub fn flight_sim(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_flight-sim"));
        cmd.arg("--host")
            .arg(self.address.to_string())
            .args(args)
            .kill_on_drop(true)
            .stdin(Stdio::null());
        cmd
    }

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

impl Drop for TestNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "===== rustica node {} log (last 100 lines) =====\n{}\n=====",
                self.address,
                self.log_tail(100)
            );
            if let Some(dir) = self.work_dir.take() {
                eprintln!("node work directory kept at {}", dir.keep().display());
            }
        }
    }
}

/// Kills the node if the test process dies without running `Drop`.
fn spawn_watchdog(node_pid: u32) -> Option<Child> {
    let script = "while kill -0 \"$1\" 2>/dev/null && kill -0 \"$2\" 2>/dev/null; do sleep 0.5; done; kill -9 \"$2\" 2>/dev/null; exit 0";
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("flight-sim-test-watchdog")
        .arg(std::process::id().to_string())
        .arg(node_pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// An exclusive claim on a loopback address through a lock file naming its process.
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
            let lock_path = dir.join(address.to_string());
            match OpenOptions::new().write(true).create_new(true).open(&lock_path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    let claim = AddressClaim { address, lock_path };
                    let probe = SocketAddr::new(IpAddr::V4(address), CQL_PORT);
                    if TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_ok() {
                        continue;
                    }
                    return claim;
                }
                Err(_) => {
                    if let Ok(owner) = fs::read_to_string(&lock_path) {
                        let owner = owner.trim();
                        if !owner.is_empty() && !Path::new("/proc").join(owner).exists() {
                            let _ = fs::remove_file(&lock_path);
                        }
                    }
                }
            }
        }
        panic!("no free loopback address for test {name}");
    }
}

impl Drop for AddressClaim {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// `127.0.<a>.<b>`, a in 16..=255, b in 1..=254, as the node crate's tests derive it.
fn derive_address(name: &str, pid: u32, attempt: u32) -> Ipv4Addr {
    let mut hasher = DefaultHasher::new();
    ("flight-sim", name).hash(&mut hasher);
    pid.hash(&mut hasher);
    attempt.hash(&mut hasher);
    let h = hasher.finish();
    Ipv4Addr::new(127, 0, 16 + (h % 240) as u8, 1 + ((h >> 16) % 254) as u8)
}

/// `n` rustica nodes on `127.0.<a>.1..n` (nodes 1 and 2 the seeds), each a child
/// process with its own data directory, killed on drop. Every address is claimed
/// with the same lock files as single nodes.
pub struct TestCluster {
    pub addresses: Vec<Ipv4Addr>,
    nodes: Vec<Option<Child>>,
    watchdogs: Vec<Child>,
    work_dir: Option<tempfile::TempDir>,
    _claims: Vec<AddressClaim>,
}

const CLUSTER_SECRET: &str = "flight-sim test cluster secret";

impl TestCluster {
    /// Starts the nodes and waits until node 1 lists every one UN.
    pub fn start(name: &str, n: u8) -> TestCluster {
        let bin = rustica_bin();
        assert!(
            bin.exists(),
            "the node binary {} does not exist: `cargo build -p tools`",
            bin.display()
        );
        let claims = AddressClaim::for_cluster(name, n);
        let addresses: Vec<Ipv4Addr> = claims.iter().map(|c| c.address).collect();
        let work_dir = tempfile::Builder::new()
            .prefix("flight-sim-cluster-")
            .tempdir()
            .expect("a temporary directory");
        let seeds: Vec<String> = addresses.iter().take(2).map(Ipv4Addr::to_string).collect();
        let mut cluster = TestCluster {
            addresses: addresses.clone(),
            nodes: Vec::new(),
            watchdogs: Vec::new(),
            work_dir: Some(work_dir),
            _claims: claims,
        };
        for (k, address) in addresses.iter().enumerate() {
            let dir = cluster.dir().join(format!("node{}", k + 1));
            fs::create_dir_all(&dir).expect("create a node directory");
            let log = File::create(dir.join("console.log")).expect("create the node log");
            let child = Command::new(&bin)
                .args(["node", "--address", &address.to_string(), "--data-dir"])
                .arg(&dir)
                .args(["--seeds", &seeds.join(",")])
                .env("RUSTICA_CLUSTER_SECRET", CLUSTER_SECRET)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            if let Some(w) = spawn_watchdog(child.id()) {
                cluster.watchdogs.push(w);
            }
            cluster.nodes.push(Some(child));
            // Seeds first, then the others one at a time, as `rustica local` does.
            cluster.wait_for_cql(k);
        }
        cluster.wait_all_up(Duration::from_secs(60));
        cluster
    }

    fn dir(&self) -> &Path {
        self.work_dir.as_ref().map(|d| d.path()).unwrap_or(Path::new("/nonexistent"))
    }

    fn wait_for_cql(&mut self, k: usize) {
        let address = SocketAddr::new(IpAddr::V4(self.addresses[k]), CQL_PORT);
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err() {
            if let Some(Some(child)) = self.nodes.get_mut(k) {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("node {address} exited during start with {status}:\n{}", self.log_tail(k, 40));
                }
            }
            assert!(Instant::now() < deadline, "node {address} did not open CQL in {START_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until node 1 lists every node UN (`rustica status`).
    pub fn wait_all_up(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let up = self.up_count(0);
            if up == self.addresses.len() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {up} of {} nodes UN after {limit:?}",
                self.addresses.len()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// How many nodes node `k` lists as UN.
    pub fn up_count(&self, k: usize) -> usize {
        let out = Command::new(rustica_bin())
            .args(["status", "--host", &self.addresses[k].to_string()])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) => String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with("UN "))
                .count(),
            Err(_) => 0,
        }
    }

    /// Kills node `k` (0-based) at once, as a crash would.
    pub fn kill(&mut self, k: usize) {
        if let Some(mut child) = self.nodes[k].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn hosts(&self) -> String {
        self.addresses.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(",")
    }

    pub async fn session(&self) -> Session {
        SessionBuilder::new()
            .known_nodes(self.addresses.iter().map(|a| format!("{a}:{CQL_PORT}")))
            .connection_timeout(Duration::from_secs(10))
            .build()
            .await
            .expect("a driver session to the test cluster")
    }

    /// `flight-sim --host <node k> <args>`, ready to run.
    pub fn flight_sim(&self, k: usize, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_flight-sim"));
        cmd.arg("--host")
            .arg(self.addresses[k].to_string())
            .args(args)
            .kill_on_drop(true)
            .stdin(Stdio::null());
        cmd
    }

    fn log_tail(&self, k: usize, lines: usize) -> String {
        let path = self.dir().join(format!("node{}", k + 1)).join("console.log");
        match fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(lines)..].join("\n")
            }
            Err(e) => format!("(cannot read {}: {e})", path.display()),
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for k in 0..self.nodes.len() {
            self.kill(k);
        }
        for w in &mut self.watchdogs {
            let _ = w.kill();
            let _ = w.wait();
        }
        if std::thread::panicking() {
            for k in 0..self.addresses.len() {
                eprintln!("===== node {} (last 30 lines) =====\n{}", self.addresses[k], self.log_tail(k, 30));
            }
            if let Some(dir) = self.work_dir.take() {
                eprintln!("cluster directory kept at {}", dir.keep().display());
            }
        }
    }
}

impl AddressClaim {
    /// Claims `127.0.<a>.1..n` for one `a`, all or none.
    fn for_cluster(name: &str, n: u8) -> Vec<AddressClaim> {
        let dir = std::env::temp_dir().join("rustica-address-claims");
        fs::create_dir_all(&dir).expect("create the address lock directory");
        for attempt in 0u32..1000 {
            let base = derive_address(name, std::process::id(), attempt).octets()[2];
            let mut claims = Vec::new();
            for k in 1..=n {
                let address = Ipv4Addr::new(127, 0, base, k);
                let lock_path = dir.join(address.to_string());
                let Ok(mut file) = OpenOptions::new().write(true).create_new(true).open(&lock_path) else {
                    break;
                };
                let _ = writeln!(file, "{}", std::process::id());
                let claim = AddressClaim { address, lock_path };
                if TcpStream::connect_timeout(&SocketAddr::new(IpAddr::V4(address), CQL_PORT), Duration::from_millis(100)).is_ok() {
                    break;
                }
                claims.push(claim);
            }
            if claims.len() == n as usize {
                return claims;
            }
        }
        panic!("no free loopback range for test cluster {name}");
    }
}
