//! The operator's view of a real three-node cluster, in one test so the nodes
//! start once: each node's Prometheus endpoint answers `GET /metrics` in the
//! text format on port 9180 of its own address and its counters move with
//! load sent through the scylla driver; then every nodetool command of the
//! `rustica` binary (info, ring, describecluster, gossipinfo, tablestats,
//! tpstats, flush, compact, drain, settraceprobability, gettraceprobability)
//! runs against the cluster and prints nodetool's layout with the cluster's
//! facts. A traced EXECUTE comes back with its trace, read by the scylla
//! driver (cqlsh and the DataStax driver: tests/python/test_tracing.py).

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use scylla::statement::Consistency;

use common::{rustica_bin, within, TestCluster};

const TEST_LIMIT: Duration = Duration::from_secs(120);
const METRICS_PORT: u16 = 9180;

/// `GET path` on a node's metrics port: (status line, body).
fn http_get(address: IpAddr, path: &str) -> anyhow::Result<(String, String)> {
    let mut socket = TcpStream::connect_timeout(&(address, METRICS_PORT).into(), Duration::from_secs(5))
        .with_context(|| format!("connect to {address}:{METRICS_PORT}"))?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(socket, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n")?;
    let mut response = String::new();
    socket.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("no end of headers")?;
    let status = head.lines().next().unwrap_or_default().to_string();
    assert!(
        !path.ends_with("metrics") || head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    Ok((status, body.to_string()))
}

/// The value of the sample `name{labels}` (labels exactly as printed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Every sample of a family whose labels contain `fragment`, summed.
fn sum_of(text: &str, family: &str, fragment: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) && l.contains(fragment))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

/// Runs `rustica <args> --host <address>`; its stdout, or an error with stderr.
fn rustica(address: IpAddr, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(rustica_bin())
        .args(args)
        .arg("--host")
        .arg(address.to_string())
        .output()
        .context("run rustica")?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        bail!("rustica {args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(stdout)
}

/// Waits until `rustica status` on node 1 lists every node UN.
async fn all_up(cluster: &TestCluster) -> anyhow::Result<()> {
    let started = Instant::now();
    let session = tools::status::connect(&cluster.address(1).to_string(), common::CQL_PORT).await?;
    loop {
        let lines = tools::status::cluster_status(&session).await.unwrap_or_default();
        if lines.len() == cluster.len() && lines.iter().all(|l| l.state == "UN") {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("not every node is UN on node 1: {lines:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_move_with_load_and_every_nodetool_command_reads_a_three_node_cluster() {
    within(TEST_LIMIT, async {
        let cluster = TestCluster::start(3).await;
        all_up(&cluster).await.unwrap();
        let first = cluster.address(1);

        // The endpoint: text format on each node's own address.
        for address in cluster.addresses() {
            let started = Instant::now();
            loop {
                let (status, body) = http_get(address, "/metrics").unwrap();
                assert_eq!(status, "HTTP/1.1 200 OK");
                assert!(body.contains("# TYPE rustica_cql_connections gauge"), "{body}");
                assert!(body.contains("# TYPE rustica_storage_data_bytes gauge"), "{body}");
                if sample(&body, "rustica_gossip_nodes{state=\"UN\"}") == Some(3.0) {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{address} never saw 3 nodes UN: {body}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let (_, served) = http_get(first, "/metrics").unwrap();
        assert!(served.contains("# TYPE rustica_cql_requests_total counter"), "{served}");
        assert!(served.contains("# TYPE rustica_cql_request_latency_seconds histogram"), "{served}");
        let (status, _) = http_get(first, "/nope").unwrap();
        assert_eq!(status, "HTTP/1.1 404 Not Found");

        let (_, before) = http_get(first, "/metrics").unwrap();
        let session = cluster.session_to(1).await.unwrap();
        session
            .query_unpaged(
                "CREATE KEYSPACE ops WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
                (),
            )
            .await
            .unwrap();
        session
            .query_unpaged("CREATE TABLE ops.t (k int PRIMARY KEY, v text)", ())
            .await
            .unwrap();
        // This node's own line in system.cluster_status follows its schema.
        let own = tools::status::connect(&first.to_string(), common::CQL_PORT).await.unwrap();
        let started = Instant::now();
        loop {
            let local = own
                .query_unpaged("SELECT schema_version FROM system.local", ())
                .await
                .unwrap()
                .into_rows_result()
                .unwrap()
                .single_row::<(uuid::Uuid,)>()
                .unwrap();
            let listed = own
                .query_unpaged("SELECT schema_version FROM system.cluster_status WHERE peer = ?", (first,))
                .await
                .unwrap()
                .into_rows_result()
                .unwrap()
                .single_row::<(Option<uuid::Uuid>,)>()
                .unwrap();
            if listed.0 == Some(local.0) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "system.cluster_status kept {listed:?} for this node while system.local has {local:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut insert = session.prepare("INSERT INTO ops.t (k, v) VALUES (?, ?)").await.unwrap();
        insert.set_consistency(Consistency::Quorum);
        for k in 0..200 {
            session.execute_unpaged(&insert, (k, "value")).await.unwrap();
        }
        let mut select = session.prepare("SELECT v FROM ops.t WHERE k = ?").await.unwrap();
        select.set_consistency(Consistency::All);
        for k in 0..50 {
            session.execute_unpaged(&select, (k,)).await.unwrap();
        }
        let refused = session.query_unpaged("SELECT * FROM ops.missing", ()).await;
        assert!(refused.is_err(), "a query of a missing table fails");

        // Each node coordinated part of it (the driver routes by token).
        let mut executes = 0.0;
        let mut sent = 0.0;
        for address in cluster.addresses() {
            let (_, body) = http_get(address, "/metrics").unwrap();
            executes += sum_of(&body, "rustica_cql_requests_total", "opcode=\"EXECUTE\"");
            sent += sum_of(&body, "rustica_internode_requests_total", "verb=\"mutate\"");
            assert!(
                sum_of(&body, "rustica_internode_received_total", "verb=\"mutate\"") > 0.0,
                "every replica of RF 3 took writes: {body}"
            );
        }
        assert!(executes >= 250.0, "250 EXECUTEs across the nodes, counted {executes}");
        let (_, logins) = http_get(first, "/metrics").unwrap();
        assert!(
            sum_of(&logins, "rustica_cql_requests_total", "opcode=\"STARTUP\"") >= 1.0,
            "the driver's STARTUPs are counted: {logins}"
        );
        assert!(
            sum_of(&logins, "rustica_cql_requests_total", "opcode=\"REGISTER\"") >= 1.0,
            "the driver's control connection REGISTERs: {logins}"
        );
        assert!(sent >= 400.0, "each QUORUM write goes to two other replicas: {sent}");
        let (_, after) = http_get(first, "/metrics").unwrap();
        let quorum = "rustica_cql_request_latency_seconds_count{consistency=\"QUORUM\",opcode=\"EXECUTE\"}";
        assert!(
            sample(&after, quorum).unwrap_or(0.0) > sample(&before, quorum).unwrap_or(0.0),
            "{after}"
        );
        assert!(
            sum_of(&after, "rustica_cql_errors_total", "error=\"invalid\"") >= 1.0,
            "the failed query is counted by its code: {after}"
        );
        assert!(
            sum_of(&after, "rustica_coordinator_operations_total", "operation=\"writes\"") > 0.0,
            "the coordinator's counters (system.coordinator_metrics) are exported: {after}"
        );
        assert!(sample(&after, "rustica_cql_connections").unwrap_or(0.0) >= 1.0, "{after}");

        // nodetool's commands, through the rustica binary.
        let info = rustica(first, &["info"]).unwrap();
        assert!(info.contains("Gossip active          : true"), "{info}");
        assert!(info.contains("Data Center            : datacenter1"), "{info}");
        assert!(info.contains("Token count            : 16"), "{info}");

        let ring = rustica(first, &["ring"]).unwrap();
        let token_lines = ring.lines().filter(|l| l.starts_with("127.")).count();
        assert_eq!(token_lines, 48, "16 tokens of 3 nodes: {ring}");
        assert!(ring.contains("Up     Normal"), "{ring}");

        // cluster_status learns each node's new schema version by gossip.
        let started = Instant::now();
        let described = loop {
            let text = rustica(first, &["describecluster"]).unwrap();
            let versions = text.lines().filter(|l| l.starts_with("\t\t") && l.contains(": [")).count();
            if versions == 1 || started.elapsed() > Duration::from_secs(20) {
                break text;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        assert!(
            described.contains("Partitioner: org.apache.cassandra.dht.Murmur3Partitioner"),
            "{described}"
        );
        assert!(described.contains("\tLive: 3\n"), "{described}");
        assert!(
            described.contains("\tops -> Replication class: SimpleStrategy {replication_factor=3}"),
            "{described}"
        );
        let version_lines = described.lines().filter(|l| l.starts_with("\t\t") && l.contains(": [")).count();
        assert_eq!(version_lines, 1, "one schema version on every node: {described}");

        let gossip = rustica(first, &["gossipinfo"]).unwrap();
        for address in cluster.addresses() {
            assert!(gossip.contains(&format!("/{address}\n  STATUS:NORMAL\n")), "{gossip}");
        }

        rustica(first, &["flush"]).unwrap();
        rustica(first, &["compact"]).unwrap();
        let stats = rustica(first, &["tablestats", "ops"]).unwrap();
        assert!(stats.starts_with("Total number of tables: 1\n"), "{stats}");
        assert!(stats.contains("Keyspace : ops\n") && stats.contains("\t\tTable: t\n"), "{stats}");
        let used: i64 = stats
            .lines()
            .find_map(|l| l.strip_prefix("\t\tSpace used (live): "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        assert!(used > 0, "the flushed table has data files: {stats}");
        let unknown = rustica(first, &["tablestats", "nowhere"]).unwrap_err();
        assert!(unknown.to_string().contains("Unknown keyspace: nowhere"), "{unknown}");

        let pools = rustica(first, &["tpstats"]).unwrap();
        assert!(pools.starts_with("Pool Name"), "{pools}");
        let completed = |pool: &str| -> u64 {
            pools
                .lines()
                .find(|l| l.starts_with(pool))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        assert!(completed("Native-Transport-Requests") > 0, "{pools}");
        assert!(completed("MutationStage") > 0, "{pools}");
        assert!(completed("CompactionExecutor") >= 1, "{pools}");

        // A traced EXECUTE through the scylla driver: the response carries the
        // session id and the driver reads the trace back, events from all three.
        let mut traced = session.prepare("INSERT INTO ops.t (k, v) VALUES (?, ?)").await.unwrap();
        traced.set_consistency(Consistency::All);
        traced.set_tracing(true);
        let result = session.execute_unpaged(&traced, (1000, "traced")).await.unwrap();
        let id = result.tracing_id().expect("a traced request's response carries its session id");
        let info = session.get_tracing_info(&id).await.unwrap();
        assert_eq!(info.request.as_deref(), Some("Execute CQL3 prepared query"));
        assert!(info.duration.is_some_and(|d| d > 0), "{info:?}");
        let mut nodes = info.nodes();
        nodes.sort();
        assert_eq!(nodes, cluster.addresses(), "every replica records its own events: {info:?}");
        assert!(
            info.events.iter().any(|e| e
                .activity
                .as_deref()
                .is_some_and(|a| a.starts_with("MUTATION message received from /"))),
            "{info:?}"
        );

        // Trace probability: set and read on every node, refused outside 0..1.
        for (address, p) in cluster.addresses().into_iter().zip(["0.25", "1", "0"]) {
            rustica(address, &["settraceprobability", p]).unwrap();
            let shown = rustica(address, &["gettraceprobability"]).unwrap();
            assert_eq!(shown, format!("Current trace probability: {p}\n"));
        }
        let second = cluster.address(2);
        for address in [first, second] {
            rustica(address, &["settraceprobability", "0"]).unwrap();
        }
        let refused = rustica(second, &["settraceprobability", "2"]).unwrap_err();
        assert!(refused.to_string().contains("between 0 and 1"), "{refused}");
        let refused = session.query_unpaged("NODETOOL SETTRACEPROBABILITY 1.5", ()).await.unwrap_err();
        assert!(refused.to_string().contains("between 0 and 1"), "the node checks it too: {refused}");

        // The shell asks the node it is given, as cqlsh does, never a peer.
        for _ in 0..6 {
            let local = rustica(second, &["shell", "-e", "SELECT broadcast_address FROM system.local"]).unwrap();
            assert!(local.contains(&second.to_string()), "{local}");
        }

        rustica(first, &["drain"]).unwrap();
        let (_, last) = http_get(first, "/metrics").unwrap();
        assert!(sample(&last, "rustica_compactions_total").unwrap_or(0.0) >= 1.0, "{last}");
        assert!(sample(&last, "rustica_memtable_flushes_total").unwrap_or(0.0) >= 2.0, "{last}");
        assert!(
            sample(&last, "rustica_table_disk_bytes{keyspace=\"ops\",table=\"t\"}").unwrap_or(0.0) > 0.0,
            "{last}"
        );
        Ok::<(), anyhow::Error>(())
    })
    .await;
}
