//! The map's worker against a real `rustica node`: the schema is the simulator's
//! shared DDL (`aviation/schema.cql`), commands go in over the channel, results come
//! back over the other, a status change round-trips through the database, and a
//! killed node becomes a lost-connection event, not a panic. No display is needed.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;

use gui::form::FlightForm;
use gui::model::{builtin_airports, Connection, Direction, Status};
use gui::worker::{Command, Event, Worker, WorkerConfig};

const SHARED_SCHEMA: &str = include_str!("../../aviation/schema.cql");
const CQL_PORT: u16 = 9042;
const TEST_LIMIT: Duration = Duration::from_secs(240);

/// The shared DDL for a one-node cluster (QUORUM needs RF ≤ nodes).
fn schema_statements() -> Vec<String> {
    let text: String = SHARED_SCHEMA
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("'replication_factor': 3"),
        "schema.cql changed shape; update this test"
    );
    text.replace("'replication_factor': 3", "'replication_factor': 1")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn rustica_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("RUSTICA_BIN") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/rustica")
}

/// A `rustica node` on a loopback address of its own, killed on drop (and by a shell
/// watchdog if the test process dies first).
struct TestNode {
    address: Ipv4Addr,
    child: Child,
    watchdog: Option<Child>,
    dir: tempfile::TempDir,
    lock: PathBuf,
}

impl TestNode {
    fn start() -> TestNode {
        let bin = rustica_bin();
        assert!(
            bin.exists(),
            "the node binary {} does not exist: run `cargo build -p tools` (scripts/test.sh builds the workspace first) \
             or set RUSTICA_BIN",
            bin.display()
        );
        let (address, lock) = claim_address();
        let dir = tempfile::Builder::new()
            .prefix("flight-map-test-")
            .tempdir()
            .expect("a temporary directory");
        let data = dir.path().join("data");
        fs::create_dir(&data).expect("create the data directory");
        let log = File::create(dir.path().join("node.log")).expect("create the node log");
        let child = Process::new(&bin)
            .args(["node", "--address", &address.to_string(), "--data-dir"])
            .arg(&data)
            // A node needs a cluster secret to start (it has no peers here).
            .env("RUSTICA_CLUSTER_SECRET", "flight-map test cluster secret")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let watchdog = Process::new("sh")
            .arg("-c")
            .arg("while kill -0 \"$1\" 2>/dev/null && kill -0 \"$2\" 2>/dev/null; do sleep 0.5; done; kill -9 \"$2\" 2>/dev/null; exit 0")
            .arg("flight-map-test-watchdog")
            .arg(std::process::id().to_string())
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        let mut node = TestNode {
            address,
            child,
            watchdog,
            dir,
            lock,
        };
        node.wait_for_cql();
        node
    }

    fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address.into(), CQL_PORT)
    }

    fn wait_for_cql(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rustica node exited during start with {status}:\n{}", self.log());
            }
            if TcpStream::connect_timeout(&self.socket_addr(), Duration::from_millis(300)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node did not accept CQL on {} in 30 s:\n{}",
                self.socket_addr(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = fs::remove_file(&self.lock);
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!(
                "===== node log tail =====\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// 127.0.78.1 if free, else the next free 127.0.78.x, claimed with the lock files the
/// other crates' tests use so suites never share an address.
fn claim_address() -> (Ipv4Addr, PathBuf) {
    let dir = std::env::temp_dir().join("rustica-address-claims");
    fs::create_dir_all(&dir).expect("create the address lock directory");
    for last in 1..=254u8 {
        let address = Ipv4Addr::new(127, 0, 78, last);
        let lock = dir.join(address.to_string());
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut file) => {
                let _ = writeln!(file, "{}", std::process::id());
                let probe = SocketAddr::new(address.into(), CQL_PORT);
                if TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_ok() {
                    continue;
                }
                return (address, lock);
            }
            Err(_) => {
                // A claim whose process is gone is stale.
                if let Ok(owner) = fs::read_to_string(&lock) {
                    let owner = owner.trim();
                    if !owner.is_empty() && !Path::new("/proc").join(owner).exists() {
                        let _ = fs::remove_file(&lock);
                    }
                }
            }
        }
    }
    panic!("no free address in 127.0.78.0/24");
}

async fn session(node: &TestNode) -> Session {
    SessionBuilder::new()
        .known_node_addr(node.socket_addr())
        .connection_timeout(Duration::from_secs(10))
        .build()
        .await
        .expect("a driver session to the test node")
}

/// Waits for the first event `pick` accepts, skipping others (positions arrive every
/// second); fails after `timeout`.
fn wait_for<T>(worker: &Worker, timeout: Duration, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(event) = worker.recv_timeout(Duration::from_millis(100)) {
            let text = format!("{event:?}");
            if let Some(found) = pick(event) {
                return found;
            }
            if !text.starts_with("Positions") {
                seen.push(text);
            }
        }
    }
    panic!("no {what} within {timeout:?}; other events: {seen:#?}");
}

#[test]
fn the_worker_creates_lists_and_changes_flights_and_reports_a_killed_node_as_lost() {
    // A hard limit for the whole test; the watchdog then kills the node.
    std::thread::spawn(|| {
        std::thread::sleep(TEST_LIMIT);
        eprintln!("test exceeded {TEST_LIMIT:?}; aborting");
        std::process::exit(101);
    });
    let mut node = TestNode::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let db = runtime.block_on(session(&node));
    runtime.block_on(async {
        for statement in schema_statements() {
            db.query_unpaged(statement.as_str(), ())
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        for a in builtin_airports().iter().filter(|a| a.iata == "EZE" || a.iata == "MAD") {
            db.query_unpaged(
                "INSERT INTO aviation.airports (iata, name, city, country, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?)",
                (&a.iata, &a.name, &a.city, &a.country, a.latitude, a.longitude),
            )
            .await
            .expect("insert an airport");
        }
    });

    let repaints = Arc::new(AtomicUsize::new(0));
    let counter = repaints.clone();
    let mut config = WorkerConfig::new(vec![node.socket_addr().to_string()]);
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(3);
    let worker = Worker::spawn(config, move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .expect("spawn the worker");

    let nodes = wait_for(&worker, Duration::from_secs(30), "connection", |e| match e {
        Event::Connection(Connection::Connected { nodes, .. }) => Some(nodes),
        _ => None,
    });
    assert_eq!(nodes, 1);
    let airports = wait_for(&worker, Duration::from_secs(10), "airports", |e| match e {
        Event::Airports(a) => Some(a),
        _ => None,
    });
    let mut codes: Vec<&str> = airports.iter().map(|a| a.iata.as_str()).collect();
    codes.sort();
    assert_eq!(codes, ["EZE", "MAD"]);

    // Create a flight, as the form would.
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date");
    let known = builtin_airports().into_iter().map(|a| (a.iata.clone(), a)).collect();
    let mut form = FlightForm {
        number: "AR1132".into(),
        destination: "MAD".into(),
        departure: "22:30".into(),
        arrival: "12:05+1".into(),
        ..FlightForm::default()
    };
    let flight = form.validate("EZE", day, &known).expect("a valid form");
    assert!(worker.send(Command::CreateFlight(flight.clone())));
    let created = wait_for(&worker, Duration::from_secs(15), "flight created", |e| match e {
        Event::FlightCreated { flight_id } => Some(flight_id),
        Event::Failed { what, error } => panic!("{what}: {error}"),
        _ => None,
    });
    assert_eq!(created, "AR1132-20261122");

    // It is a departure at EZE on its day and an arrival at MAD on the next.
    let next_day = day.succ_opt().expect("a next day");
    for (airport, on, direction, other) in [
        ("EZE", day, Direction::Departure, "MAD"),
        ("MAD", next_day, Direction::Arrival, "EZE"),
    ] {
        assert!(worker.send(Command::LoadDay {
            airport: airport.into(),
            day: on,
        }));
        let rows = wait_for(&worker, Duration::from_secs(15), "an airport's day", |e| match e {
            Event::Day { airport: a, day: d, rows } if a == airport && d == on => Some(rows),
            Event::Failed { what, error } => panic!("{what}: {error}"),
            _ => None,
        });
        assert_eq!(rows.len(), 1, "{airport}: {rows:?}");
        assert_eq!(rows[0].direction, direction);
        assert_eq!(rows[0].flight_id, "AR1132-20261122");
        assert_eq!(rows[0].other_airport, other);
        assert_eq!(rows[0].status, "scheduled");
    }

    // The same flight again is refused, not overwritten.
    assert!(worker.send(Command::CreateFlight(flight)));
    let refusal = wait_for(&worker, Duration::from_secs(15), "a refusal", |e| match e {
        Event::Failed { error, .. } => Some(error),
        Event::FlightCreated { .. } => panic!("a duplicate flight was written"),
        _ => None,
    });
    assert!(refusal.contains("already exists"), "{refusal}");

    // A status change reaches `flights` and both by-airport rows.
    assert!(worker.send(Command::SetStatus {
        flight_id: "AR1132-20261122".into(),
        status: Status::Delayed,
    }));
    let changed = wait_for(&worker, Duration::from_secs(15), "status changed", |e| match e {
        Event::StatusChanged { flight_id, status } => Some((flight_id, status)),
        Event::Failed { what, error } => panic!("{what}: {error}"),
        _ => None,
    });
    assert_eq!(changed, ("AR1132-20261122".to_string(), Status::Delayed));
    assert!(worker.send(Command::LoadFlight {
        flight_id: "AR1132-20261122".into()
    }));
    let loaded = wait_for(&worker, Duration::from_secs(15), "the flight", |e| match e {
        Event::Flight { flight: Some(f), .. } => Some(f),
        _ => None,
    });
    assert_eq!(loaded.status, "delayed");
    assert_eq!((loaded.origin.as_str(), loaded.destination.as_str()), ("EZE", "MAD"));
    let statuses: Vec<String> = runtime.block_on(async {
        let mut out = Vec::new();
        for (airport, on) in [("EZE", day), ("MAD", next_day)] {
            let rows = db
                .query_unpaged(
                    "SELECT status FROM aviation.flights_by_airport WHERE airport = ? AND day = ?",
                    (airport, aviation::flight::cql_date(on)),
                )
                .await
                .expect("read the by-airport row")
                .into_rows_result()
                .expect("rows");
            for row in rows.rows::<(Option<String>,)>().expect("typed rows") {
                out.push(row.expect("a row").0.unwrap_or_default());
            }
        }
        out
    });
    assert_eq!(statuses, ["delayed", "delayed"]);

    // A position written by another client shows up in the next poll.
    runtime.block_on(async {
        db.query_unpaged(
            "INSERT INTO aviation.flight_positions (flight_id, flight_number, origin, destination, latitude, longitude, \
             altitude_m, ground_speed_kmh, heading_deg, fuel_kg, progress) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "AR1132-20261122",
                "AR1132",
                "EZE",
                "MAD",
                -20.0,
                -40.0,
                11_000.0,
                850.0,
                45.0,
                30_000.0,
                0.2,
            ),
        )
        .await
        .expect("write a position");
    });
    let plane = wait_for(&worker, Duration::from_secs(10), "a live position", |e| match e {
        Event::Positions(p) => p.into_iter().find(|p| p.flight_id == "AR1132-20261122"),
        _ => None,
    });
    assert_eq!((plane.latitude, plane.longitude, plane.heading_deg), (-20.0, -40.0, 45.0));
    assert!(repaints.load(Ordering::SeqCst) > 0, "the worker never asked for a repaint");

    // Kill the node: the worker says so and keeps running.
    drop(db);
    node.kill();
    let (reason, attempts) = wait_for(&worker, Duration::from_secs(30), "a lost connection", |e| match e {
        Event::Connection(Connection::Lost { reason, attempts }) => Some((reason, attempts)),
        _ => None,
    });
    assert!(attempts >= 1 && !reason.is_empty());
    assert!(worker.is_running(), "the worker thread died");
    assert!(worker.send(Command::LoadFlight {
        flight_id: "AR1132-20261122".into()
    }));
    let error = wait_for(&worker, Duration::from_secs(30), "a failed command", |e| match e {
        Event::Failed { error, .. } => Some(error),
        _ => None,
    });
    assert!(!error.is_empty());
    assert!(worker.is_running(), "the worker thread died after a command while offline");
}

#[test]
fn the_shared_schema_has_the_six_flight_tables() {
    let statements = schema_statements();
    assert_eq!(statements.len(), 7, "{statements:#?}");
    for table in [
        "airports",
        "flights",
        "flights_by_airport",
        "flight_positions",
        "departures",
        "simulators",
    ] {
        let create = format!("CREATE TABLE IF NOT EXISTS aviation.{table} (");
        assert!(statements.iter().any(|s| s.starts_with(&create)), "no {table}");
    }
}
