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
        let child = Command::new(&bin)
            .arg("node")
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
