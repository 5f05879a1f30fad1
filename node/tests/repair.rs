//! Anti-entropy repair on three real nodes at RF 3 with hints off, so that a
//! replica that was down stays stale until repaired: `NODETOOL REPAIR` makes
//! every replica hold the same rows (inserts, overwrites, deletes and TTL'd
//! cells it missed), each replica read alone; deleted rows stay deleted; a
//! second repair finds nothing to stream. `rustica repair` prints its summary,
//! and fails a range whose replica is down with "Endpoint not alive" while the
//! other ranges are repaired. Incremental repair (the default) compares only
//! what was written since the last one: it fixes a divergence written since,
//! a run over unchanged data compares nothing, a failed run clears nothing,
//! writes during a run stay for the next, and a full repair compares all.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use common::{rustica_bin, within, TestCluster};
use scylla::client::session::Session;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;

const TEST_LIMIT: Duration = Duration::from_secs(170);
/// Hints off: what a dead replica misses, only repair brings back.
const NO_HINTS: &str = "hinted_handoff_enabled = false\n";

fn pinned(text: &str, cl: Consistency, node: IpAddr) -> Statement {
    let mut q = Statement::new(text);
    q.set_consistency(cl);
    q.set_request_timeout(Some(Duration::from_secs(60)));
    q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
        NodeIdentifier::NodeAddress(SocketAddr::new(node, 9042)),
        None,
    )));
    q
}

/// Waits until `observer` sees each wanted node in `state` (UN, DN).
async fn wait_for(s: &Session, observer: IpAddr, nodes: &[IpAddr], state: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let rows: Vec<(IpAddr, String)> = s
            .query_unpaged(
                pinned("SELECT peer, state FROM system.cluster_status", Consistency::One, observer),
                (),
            )
            .await?
            .into_rows_result()?
            .rows::<(IpAddr, String)>()?
            .collect::<Result<_, _>>()?;
        if nodes.iter().all(|n| rows.iter().any(|(p, st)| p == n && st == state)) {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("{observer} does not see {nodes:?} {state}: {rows:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs a query pinned to `node`, retrying while the driver reconnects to a restarted node.
async fn query_on(s: &Session, node: IpAddr, text: &str) -> anyhow::Result<scylla::response::query_result::QueryRowsResult> {
    let start = Instant::now();
    loop {
        match s.query_unpaged(pinned(text, Consistency::One, node), ()).await {
            Ok(result) => return Ok(result.into_rows_result()?),
            Err(e) if start.elapsed() < Duration::from_secs(20) => {
                eprintln!("{text} on {node}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Every row of r.t as `node` alone holds it (ONE, coordinated by itself, reads its own replica).
async fn rows_on(s: &Session, node: IpAddr) -> anyhow::Result<BTreeMap<i32, String>> {
    let rows = query_on(s, node, "SELECT k, v FROM r.t").await?;
    Ok(rows.rows::<(i32, String)>()?.collect::<Result<_, _>>()?)
}

async fn write(s: &Session, node: IpAddr, cl: Consistency, text: &str) -> anyhow::Result<()> {
    s.query_unpaged(pinned(text, cl, node), ())
        .await
        .with_context(|| text.to_string())?;
    Ok(())
}

/// `NODETOOL REPAIR ...` on `node`: its summary row, columns by name.
async fn repair(s: &Session, node: IpAddr, text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let result = s
        .query_unpaged(pinned(text, Consistency::One, node), ())
        .await?
        .into_rows_result()?;
    let names: Vec<String> = result.column_specs().iter().map(|c| c.name().to_string()).collect();
    type Fourteen = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let mut rows = result.rows::<Fourteen>()?;
    let Some(row) = rows.next() else { bail!("{text} answered no row") };
    let (a, b, c, d, e, f, g, h, i, j, k, l, m, n) = row?;
    Ok(names.into_iter().zip([a, b, c, d, e, f, g, h, i, j, k, l, m, n]).collect())
}

async fn schema(s: &Session, node: IpAddr) -> anyhow::Result<()> {
    write(
        s,
        node,
        Consistency::One,
        "CREATE KEYSPACE r WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
    )
    .await?;
    write(s, node, Consistency::One, "CREATE TABLE r.t (k int PRIMARY KEY, v text)").await?;
    tokio::time::sleep(Duration::from_secs(2)).await; // the schema reaches every node
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_makes_every_replica_hold_what_each_missed_and_deleted_rows_stay_deleted() {
    within(TEST_LIMIT, async {
        let mut cluster = TestCluster::start_with_config(3, NO_HINTS).await;
        let ips = cluster.addresses();
        let (n1, n2, n3) = (ips[0], ips[1], ips[2]);
        let s = cluster.session_to(1).await?;
        wait_for(&s, n1, &ips, "UN").await?;
        schema(&s, n1).await?;
        for k in 0..100 {
            write(&s, n1, Consistency::All, &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'v{k}')")).await?;
        }

        // Node 3 misses overwrites, deletes, inserts and TTL'd inserts.
        cluster.kill(3);
        wait_for(&s, n1, &[n3], "DN").await?;
        for k in 0..10 {
            write(&s, n1, Consistency::Quorum, &format!("UPDATE r.t SET v = 'new{k}' WHERE k = {k}")).await?;
        }
        for k in 10..20 {
            write(&s, n1, Consistency::Quorum, &format!("DELETE FROM r.t WHERE k = {k}")).await?;
        }
        for k in 100..120 {
            write(&s, n1, Consistency::Quorum, &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'v{k}')")).await?;
        }
        for k in 120..130 {
            write(
                &s,
                n1,
                Consistency::Quorum,
                &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'ttl{k}') USING TTL 3600"),
            )
            .await?;
        }
        cluster.restart(3).await;
        wait_for(&s, n1, &[n3], "UN").await?;

        // Node 2 misses other writes, which node 3 has.
        cluster.kill(2);
        wait_for(&s, n1, &[n2], "DN").await?;
        for k in 130..140 {
            write(&s, n1, Consistency::Quorum, &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'v{k}')")).await?;
        }
        for k in 20..25 {
            write(&s, n1, Consistency::Quorum, &format!("DELETE FROM r.t WHERE k = {k}")).await?;
        }
        cluster.restart(2).await;
        wait_for(&s, n1, &ips, "UN").await?;

        let mut expected = BTreeMap::new();
        for k in 0..140 {
            let v = match k {
                0..10 => Some(format!("new{k}")),
                10..25 => None,
                120..130 => Some(format!("ttl{k}")),
                _ => Some(format!("v{k}")),
            };
            if let Some(v) = v {
                expected.insert(k, v);
            }
        }
        let stale = rows_on(&s, n3).await?;
        assert_ne!(stale, expected, "node 3 missed writes before the repair");
        assert!(stale.contains_key(&15), "node 3 still holds a row deleted while it was down");
        assert_ne!(rows_on(&s, n2).await?, expected, "node 2 missed writes before the repair");

        let summary = repair(&s, n1, "NODETOOL REPAIR r").await?;
        assert_eq!(summary["status"], "done", "{summary:?}");
        assert_eq!(summary["ranges_failed"], "0", "{summary:?}");
        let differing: u64 = summary["ranges_differing"].parse()?;
        let streamed: u64 = summary["rows_streamed"].parse()?;
        assert!(differing > 0 && streamed > 0, "{summary:?}");
        // 3 nodes x 16 tokens cut the ring in 49 ranges, every one replicated by node 1 at RF 3.
        assert_eq!(summary["ranges"], "49", "{summary:?}");

        for node in [n1, n2, n3] {
            assert_eq!(rows_on(&s, node).await?, expected, "{node} alone, after the repair");
            let ttl: Vec<Option<i32>> = query_on(&s, node, "SELECT TTL(v) FROM r.t WHERE k = 125")
                .await?
                .rows::<(Option<i32>,)>()?
                .map(|r| r.map(|r| r.0))
                .collect::<Result<_, _>>()?;
            assert!(
                matches!(ttl.as_slice(), [Some(t)] if *t > 3000 && *t <= 3600),
                "{node} keeps the TTL of k = 125: {ttl:?}"
            );
        }

        // The run is in system.repairs; a second repair finds nothing to stream.
        let again = repair(&s, n1, "NODETOOL REPAIR r t").await?;
        assert_eq!(
            (
                again["ranges_differing"].as_str(),
                again["rows_streamed"].as_str(),
                again["status"].as_str()
            ),
            ("0", "0", "done"),
            "{again:?}"
        );
        let runs: Vec<(String, String, i32, i64)> = s
            .query_unpaged(
                pinned(
                    "SELECT keyspace_name, status, ranges_differing, rows_streamed FROM system.repairs",
                    Consistency::One,
                    n1,
                ),
                (),
            )
            .await?
            .into_rows_result()?
            .rows::<(String, String, i32, i64)>()?
            .collect::<Result<_, _>>()?;
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert!(
            runs.iter()
                .any(|r| r.1 == "done" && r.2 as u64 == differing && r.3 as u64 == streamed),
            "{runs:?}"
        );
        Ok(())
    })
    .await;
}

/// Runs `rustica <args> --host <address>`: (success, stdout, stderr).
fn rustica(address: IpAddr, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let output = Command::new(rustica_bin())
        .args(args)
        .arg("--host")
        .arg(address.to_string())
        .output()
        .context("run rustica")?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rustica_repair_prints_its_summary_streams_nothing_when_replicas_agree_and_names_a_dead_replica() {
    within(TEST_LIMIT, async {
        let mut cluster = TestCluster::start_with_config(3, NO_HINTS).await;
        let ips = cluster.addresses();
        let s = cluster.session_to(1).await?;
        wait_for(&s, ips[0], &ips, "UN").await?;
        schema(&s, ips[0]).await?;
        for k in 0..50 {
            write(
                &s,
                ips[0],
                Consistency::All,
                &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'v{k}')"),
            )
            .await?;
        }

        let (ok, out, err) = rustica(ips[0], &["repair", "r", "t"])?;
        assert!(ok, "rustica repair failed: {err}\n{out}");
        assert!(out.contains("repairing r.t on"), "{out}");
        assert!(
            out.contains("Incremental repair of r (t) done: 49 ranges compared, 0 differing, 0 failed; 0 rows (0 bytes) streamed"),
            "{out}"
        );

        // Primary ranges of node 1 only, within some tokens: fewer ranges.
        let (ok, out, err) = rustica(
            ips[0],
            &["repair", "r", "--pr", "--start-token", "-4611686018427387904", "--end-token", "0"],
        )?;
        assert!(ok, "rustica repair --pr failed: {err}\n{out}");
        let ranges: u64 = out
            .split("done: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no range count in {out}"))?;
        assert!((1..49).contains(&ranges), "{out}");

        // At RF 2 some ranges of node 1 do not involve node 3: they are repaired.
        write(
            &s,
            ips[0],
            Consistency::One,
            "CREATE KEYSPACE r2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
        )
        .await?;
        write(&s, ips[0], Consistency::One, "CREATE TABLE r2.t (k int PRIMARY KEY, v text)").await?;
        tokio::time::sleep(Duration::from_secs(2)).await;

        cluster.kill(3);
        wait_for(&s, ips[0], &[ips[2]], "DN").await?;
        let (ok, out, err) = rustica(ips[0], &["repair", "r"])?;
        assert!(!ok, "a repair with a replica down fails: {out}");
        assert!(out.contains("49 failed") && out.contains("Endpoint not alive: /"), "{out}");
        assert!(err.contains("49 ranges could not be repaired"), "{err}");

        let (ok, out, _) = rustica(ips[0], &["repair", "r2"])?;
        assert!(!ok, "{out}");
        let figure = |label: &str| -> Option<u64> {
            let before = out.split(&format!(" {label}")).next()?;
            before.rsplit(' ').next()?.parse().ok()
        };
        let (compared, failed) = (figure("ranges compared"), figure("failed;"));
        assert!(
            matches!((compared, failed), (Some(c), Some(f)) if f > 0 && f < c),
            "only the ranges node 3 replicates fail, the others are repaired: {out}"
        );
        Ok(())
    })
    .await;
}

/// The summary's figures that tell what a run did.
fn figures(summary: &BTreeMap<String, String>) -> (&str, &str, &str, &str, &str) {
    (
        summary["kind"].as_str(),
        summary["status"].as_str(),
        summary["ranges_differing"].as_str(),
        summary["rows_streamed"].as_str(),
        summary["rows_compared"].as_str(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_repair_compares_only_what_was_written_since_the_last_one() {
    // Two restarts of a node and nine repairs.
    within(Duration::from_secs(300), async {
        let mut cluster = TestCluster::start_with_config(3, NO_HINTS).await;
        let ips = cluster.addresses();
        let (n1, n3) = (ips[0], ips[2]);
        let s = std::sync::Arc::new(cluster.session_to(1).await?);
        wait_for(&s, n1, &ips, "UN").await?;
        schema(&s, n1).await?;
        for k in 0..100 {
            write(&s, n1, Consistency::All, &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'v{k}')")).await?;
        }
        // Never repaired: everything is compared (100 rows on each of 3 replicas).
        let first = repair(&s, n1, "NODETOOL REPAIR r").await?;
        assert_eq!(figures(&first), ("incremental", "done", "0", "0", "300"), "{first:?}");
        // Nothing written since: nothing compared.
        let again = repair(&s, n1, "NODETOOL REPAIR r").await?;
        assert_eq!(figures(&again), ("incremental", "done", "0", "0", "0"), "{again:?}");
        assert_eq!(again["bytes_compared"], "0", "{again:?}");

        // Node 3 misses ten overwrites.
        cluster.kill(3);
        wait_for(&s, n1, &[n3], "DN").await?;
        for k in 0..10 {
            write(&s, n1, Consistency::Quorum, &format!("UPDATE r.t SET v = 'new{k}' WHERE k = {k}")).await?;
        }
        cluster.restart(3).await;
        wait_for(&s, n1, &ips, "UN").await?;
        let fix = repair(&s, n1, "NODETOOL REPAIR r").await?;
        let (kind, status, differing, streamed, compared) = figures(&fix);
        assert_eq!(
            (kind, status, compared),
            ("incremental", "done", "30"),
            "only the ten rows written since: {fix:?}"
        );
        assert!(differing != "0" && streamed != "0", "{fix:?}");
        let on_3 = rows_on(&s, n3).await?;
        for k in 0..10 {
            assert_eq!(on_3.get(&k), Some(&format!("new{k}")), "node 3 alone, after the repair");
        }
        // What the repair streamed was written since its start: the next run
        // compares those ten partitions once, equal, and then nothing.
        let after = repair(&s, n1, "NODETOOL REPAIR r").await?;
        assert_eq!(figures(&after), ("incremental", "done", "0", "0", "30"), "{after:?}");
        let quiet = repair(&s, n1, "NODETOOL REPAIR r").await?;
        assert_eq!(figures(&quiet), ("incremental", "done", "0", "0", "0"), "{quiet:?}");

        // A full repair compares everything, and leaves the marks alone.
        let full = repair(&s, n1, "NODETOOL REPAIR r FULL").await?;
        assert_eq!(figures(&full), ("full", "done", "0", "0", "300"), "{full:?}");

        // A failed run clears nothing: five new rows stay unrepaired.
        for k in 100..105 {
            write(&s, n1, Consistency::All, &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'v{k}')")).await?;
        }
        cluster.kill(3);
        wait_for(&s, n1, &[n3], "DN").await?;
        let failed = repair(&s, n1, "NODETOOL REPAIR r").await?;
        assert_eq!(
            (failed["status"].as_str(), failed["ranges_failed"].as_str()),
            ("failed", "49"),
            "{failed:?}"
        );
        cluster.restart(3).await;
        wait_for(&s, n1, &ips, "UN").await?;
        let retry = repair(&s, n1, "NODETOOL REPAIR r").await?;
        assert_eq!(figures(&retry), ("incremental", "done", "0", "0", "15"), "{retry:?}");

        // Writes that land while a repair runs stay unrepaired for the next run.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let written = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let writer = {
            let (s, stop, written) = (s.clone(), stop.clone(), written.clone());
            tokio::spawn(async move {
                let mut k = 1000;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    write(&s, n1, Consistency::All, &format!("INSERT INTO r.t (k, v) VALUES ({k}, 'during')")).await?;
                    written.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    k += 1;
                }
                anyhow::Ok(())
            })
        };
        while written.load(std::sync::atomic::Ordering::SeqCst) < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let during = repair(&s, n1, "NODETOOL REPAIR r").await?;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        writer.await??;
        assert_eq!(during["status"], "done", "{during:?}");
        let next = repair(&s, n1, "NODETOOL REPAIR r").await?;
        let compared: u64 = next["rows_compared"].parse()?;
        assert!(compared > 0, "writes during the last run are compared by this one: {next:?}");
        assert_eq!(next["ranges_differing"], "0", "{next:?}");
        Ok(())
    })
    .await;
}
