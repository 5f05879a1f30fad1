//! Nodes joining and leaving a serving cluster, with real nodes and the scylla
//! driver: 100k rows at RF 3 on three nodes, a fourth joins while a client
//! keeps writing at QUORUM, then every row is readable at QUORUM, the fourth
//! node holds exactly its ranges (token-range reads at ONE against it, and a
//! cleanup on it that finds nothing to drop), the others dropped the ranges
//! they gave up (cleanup after the join), and a decommission of the fourth
//! brings the cluster back to three with nothing lost.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{pinned, within, TestCluster};
use futures::stream::{self, StreamExt};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;

const ROWS: i32 = 100_000;
const RF: usize = 3;

/// The `state` column of `observer`'s `system.cluster_status`, by node.
async fn states(s: &Session, observer: IpAddr) -> anyhow::Result<Vec<(IpAddr, String)>> {
    let q = pinned("SELECT peer, state FROM system.cluster_status", observer, Consistency::One);
    Ok(s.query_unpaged(q, ())
        .await?
        .into_rows_result()?
        .rows::<(IpAddr, String)>()?
        .collect::<Result<_, _>>()?)
}

async fn wait_states(s: &Session, observer: IpAddr, want: &[(IpAddr, &str)], exact: bool, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let rows = states(s, observer).await.unwrap_or_default();
        let all = want.iter().all(|(ip, st)| rows.iter().any(|(p, s)| p == ip && s == st));
        if all && (!exact || rows.len() == want.len()) {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < limit,
            "{observer} did not show {want:?} within {limit:?}: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn insert_range(s: &Session, insert: &PreparedStatement, keys: std::ops::Range<i32>) -> anyhow::Result<()> {
    let results: Vec<_> = stream::iter(keys)
        .map(|k| async move { s.execute_unpaged(insert, (k, format!("value-{k}"))).await })
        .buffer_unordered(64)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(())
}

/// Every key of m.t at `cl`, coordinated by `node`.
async fn all_keys(s: &Session, node: IpAddr, cl: Consistency) -> anyhow::Result<BTreeSet<i32>> {
    let mut q = pinned("SELECT k FROM m.t", node, cl);
    q.set_page_size(5000);
    let mut keys = BTreeSet::new();
    let mut pager = s.query_iter(q, ()).await?.rows_stream::<(i32,)>()?;
    while let Some(row) = pager.next().await {
        keys.insert(row?.0);
    }
    Ok(keys)
}

/// Every node's tokens as `observer` knows them.
async fn ring(s: &Session, observer: IpAddr) -> anyhow::Result<Vec<(i64, IpAddr)>> {
    let mut out = Vec::new();
    let local = pinned("SELECT broadcast_address, tokens FROM system.local", observer, Consistency::One);
    let peers = pinned("SELECT peer, tokens FROM system.peers", observer, Consistency::One);
    for q in [local, peers] {
        for row in s.query_unpaged(q, ()).await?.into_rows_result()?.rows::<(IpAddr, Vec<String>)>()? {
            let (node, tokens) = row?;
            out.extend(tokens.iter().map(|t| (t.parse::<i64>().expect("a token"), node)));
        }
    }
    out.sort();
    Ok(out)
}

/// SimpleStrategy's replicas of `token`: the first RF distinct nodes clockwise.
fn replicas(ring: &[(i64, IpAddr)], token: i64) -> Vec<IpAddr> {
    let start = ring.partition_point(|(t, _)| *t < token);
    let mut out = Vec::new();
    for i in 0..ring.len() {
        let node = ring[(start + i) % ring.len()].1;
        if !out.contains(&node) {
            out.push(node);
        }
        if out.len() == RF {
            break;
        }
    }
    out
}

/// The log without its ANSI colours.
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn cleaned_after_join(log: &str) -> Option<u64> {
    plain(log)
        .lines()
        .filter(|l| l.contains("cleanup after a join dropped"))
        .filter_map(|l| l.split("partitions=").nth(1)?.split_whitespace().next()?.parse().ok())
        .next_back()
}

/// Three nodes, all UN on node 1, with `m.t` at RF 3; a session to node 1 and
/// the QUORUM insert of `m.t`.
async fn three_nodes_with_a_table() -> anyhow::Result<(TestCluster, Session, PreparedStatement)> {
    let cluster = TestCluster::start(3).await;
    let ips = cluster.addresses();
    let s = cluster.session_to(1).await?;
    let three: Vec<(IpAddr, &str)> = ips.iter().map(|ip| (*ip, "UN")).collect();
    wait_states(&s, ips[0], &three, true, Duration::from_secs(60)).await?;
    s.query_unpaged(
        "CREATE KEYSPACE m WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        (),
    )
    .await?;
    s.query_unpaged("CREATE TABLE m.t (k int PRIMARY KEY, v text)", ()).await?;
    s.await_schema_agreement().await?;
    let mut insert = s.prepare("INSERT INTO m.t (k, v) VALUES (?, ?)").await?;
    insert.set_consistency(Consistency::Quorum);
    insert.set_is_idempotent(true);
    Ok((cluster, s, insert))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_node_joins_under_quorum_writes_owns_only_its_ranges_and_decommissions_without_loss() {
    within(Duration::from_secs(280), async {
        let (mut cluster, s, insert) = three_nodes_with_a_table().await?;
        let ips = cluster.addresses();
        let three: Vec<(IpAddr, &str)> = ips.iter().map(|ip| (*ip, "UN")).collect();
        let loaded = Instant::now();
        insert_range(&s, &insert, 0..ROWS).await?;
        eprintln!("loaded {ROWS} rows at QUORUM in {:.1} s", loaded.elapsed().as_secs_f64());

        // Node 4 joins while a client keeps writing at QUORUM.
        let writing = Arc::new(AtomicBool::new(true));
        let next = Arc::new(AtomicI32::new(ROWS));
        let writer = {
            let (s, insert, writing, next) = (cluster.session_to(1).await?, insert.clone(), writing.clone(), next.clone());
            tokio::spawn(async move {
                while writing.load(Ordering::SeqCst) {
                    let from = next.fetch_add(200, Ordering::SeqCst);
                    insert_range(&s, &insert, from..from + 200).await?;
                }
                anyhow::Ok(())
            })
        };
        let joined = Instant::now();
        let four = cluster.add_node().await;
        let ip4 = cluster.address(four);
        let mut all: Vec<(IpAddr, &str)> = three.clone();
        all.push((ip4, "UN"));
        wait_states(&s, ips[0], &all, true, Duration::from_secs(120)).await?;
        eprintln!("node 4 joined in {:.1} s", joined.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(1)).await;
        writing.store(false, Ordering::SeqCst);
        writer.await??;
        let written = next.load(Ordering::SeqCst);
        anyhow::ensure!(written > ROWS, "the client wrote during the join");

        let keys = all_keys(&s, ips[0], Consistency::Quorum).await?;
        let missing: Vec<i32> = (0..written).filter(|k| !keys.contains(k)).take(10).collect();
        anyhow::ensure!(missing.is_empty(), "rows lost in the join (first ones): {missing:?} of {written}");

        // Node 4 holds every row of its ranges: each range read at ONE through it.
        let ring = ring(&s, ips[0]).await?;
        let mut expected = HashSet::new();
        for k in 0..written {
            let token = insert.calculate_token(&(k, "")).ok().flatten().expect("a token").value();
            if replicas(&ring, token).contains(&ip4) {
                expected.insert(k);
            }
        }
        let mut held = HashSet::new();
        for (i, (token, _)) in ring.iter().enumerate() {
            let previous = if i == 0 { ring.last().map(|r| r.0) } else { Some(ring[i - 1].0) };
            if !replicas(&ring, *token).contains(&ip4) {
                continue;
            }
            let queries: Vec<Statement> = match previous {
                Some(p) if i > 0 => vec![pinned(
                    &format!("SELECT k FROM m.t WHERE token(k) > {p} AND token(k) <= {token}"),
                    ip4,
                    Consistency::One,
                )],
                // The wrap: (last, MAX] and [MIN, first].
                Some(p) => vec![
                    pinned(&format!("SELECT k FROM m.t WHERE token(k) > {p}"), ip4, Consistency::One),
                    pinned(&format!("SELECT k FROM m.t WHERE token(k) <= {token}"), ip4, Consistency::One),
                ],
                None => Vec::new(),
            };
            for mut q in queries {
                q.set_page_size(5000);
                let mut pager = s.query_iter(q, ()).await?.rows_stream::<(i32,)>()?;
                while let Some(row) = pager.next().await {
                    held.insert(row?.0);
                }
            }
        }
        anyhow::ensure!(
            held == expected,
            "node 4 answers {} rows of its ranges, {} expected",
            held.len(),
            expected.len()
        );
        let share = expected.len() as f64 / written as f64;
        anyhow::ensure!((0.3..0.99).contains(&share), "node 4 replicates a share of {share:.2}");
        // ... and nothing else: a cleanup on it finds nothing to drop.
        let cleanup = pinned("NODETOOL CLEANUP", ip4, Consistency::One);
        let rows = s.query_unpaged(cleanup, ()).await?.into_rows_result()?;
        for row in rows.rows::<(String, String, String)>()? {
            let (ks, table, removed) = row?;
            if ks == "m" {
                anyhow::ensure!(
                    removed == "0",
                    "node 4 held {removed} partitions of {ks}.{table} outside its ranges"
                );
            }
        }
        // The three others gave up about a quarter of the rows each (cleanup after the join).
        let start = Instant::now();
        for k in 1..=3 {
            loop {
                let log = std::fs::read_to_string(cluster.node(k).log_path()).unwrap_or_default();
                if let Some(removed) = cleaned_after_join(&log) {
                    eprintln!("node {k} dropped {removed} partitions after the join");
                    anyhow::ensure!(removed > written as u64 / 20, "node {k} dropped only {removed} partitions");
                    break;
                }
                anyhow::ensure!(
                    start.elapsed() < Duration::from_secs(30),
                    "node {k} did not clean up after the join"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }

        // Decommission node 4: back to three nodes, every row still there.
        let left = Instant::now();
        s.query_unpaged(pinned("NODETOOL DECOMMISSION", ip4, Consistency::One), ()).await?;
        anyhow::ensure!(
            cluster.node_mut(four).wait_exit(Duration::from_secs(90)).await,
            "node 4 did not stop after its decommission"
        );
        wait_states(&s, ips[0], &three, true, Duration::from_secs(20)).await?;
        eprintln!("node 4 decommissioned in {:.1} s", left.elapsed().as_secs_f64());
        let keys = all_keys(&s, ips[0], Consistency::Quorum).await?;
        let missing: Vec<i32> = (0..written).filter(|k| !keys.contains(k)).take(10).collect();
        anyhow::ensure!(missing.is_empty(), "rows lost in the decommission (first ones): {missing:?}");
        // Decommissioning below the replication factor is refused.
        let refused = s.query_unpaged(pinned("NODETOOL DECOMMISSION", ips[2], Consistency::One), ()).await;
        let message = format!("{:?}", refused.expect_err("three nodes at RF 3 cannot lose one"));
        anyhow::ensure!(message.contains("replication factor 3"), "{message}");
        Ok(())
    })
    .await;
}

/// The streams of `node` in `state` (from its own `system.streams`).
async fn streams_in(s: &Session, node: IpAddr, state: &str) -> usize {
    let q = pinned("SELECT state FROM system.streams", node, Consistency::One);
    match s.query_unpaged(q, ()).await {
        Ok(r) => r
            .into_rows_result()
            .ok()
            .and_then(|rows| {
                rows.rows::<(Option<String>,)>()
                    .ok()
                    .map(|it| it.flatten().filter(|(st,)| st.as_deref() == Some(state)).count())
            })
            .unwrap_or(0),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_killed_while_streaming_leaves_the_ring_unchanged_rejoins_and_two_joiners_go_one_after_the_other() {
    within(Duration::from_secs(280), async {
        let (mut cluster, s, insert) = three_nodes_with_a_table().await?;
        let ips = cluster.addresses();
        let three: Vec<(IpAddr, &str)> = ips.iter().map(|ip| (*ip, "UN")).collect();
        let rows = 20_000;
        // Rows of about 200 bytes: a few MiB for node 4 to stream.
        let results: Vec<_> = stream::iter(0..rows)
            .map(|k| {
                let (s, insert) = (&s, &insert);
                async move { s.execute_unpaged(insert, (k, format!("{k:0>200}"))).await }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for r in results {
            r?;
        }

        // Node 4 streams at 1 MiB/s, so it is killed in the middle of its join.
        let four = cluster.add_nodes(1, Some("stream_throughput_mb_per_sec = 1\n")).await[0];
        let ip4 = cluster.address(four);
        // Drivers learn of a node once it is NORMAL: ask node 4 through a session of its own.
        let s4 = cluster.session_to(four).await?;
        let start = Instant::now();
        while streams_in(&s4, ip4, "streaming").await == 0 {
            anyhow::ensure!(start.elapsed() < Duration::from_secs(60), "node 4 never started streaming");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(s4);
        cluster.kill(four);
        wait_states(&s, ips[0], &[(ip4, "DJ")], false, Duration::from_secs(20)).await?;
        let peers: Vec<(IpAddr,)> = s
            .query_unpaged(pinned("SELECT peer FROM system.peers", ips[0], Consistency::One), ())
            .await?
            .into_rows_result()?
            .rows::<(IpAddr,)>()?
            .collect::<Result<_, _>>()?;
        anyhow::ensure!(
            !peers.iter().any(|(p,)| *p == ip4),
            "a node that never joined is not a peer: {peers:?}"
        );
        // The ring is as it was: QUORUM writes and reads go on.
        insert_range(&s, &insert, rows..rows + 500).await?;
        let keys = all_keys(&s, ips[0], Consistency::Quorum).await?;
        anyhow::ensure!(keys.len() == (rows + 500) as usize, "{} rows with the joiner dead", keys.len());

        // Restarted, it joins again and finishes.
        cluster.restart(four).await;
        let mut four_up = three.clone();
        four_up.push((ip4, "UN"));
        wait_states(&s, ips[0], &four_up, true, Duration::from_secs(90)).await?;

        // Two nodes started at once: the second waits for the first; both join.
        let added = cluster.add_nodes(2, None).await;
        let mut six = four_up.clone();
        six.extend(added.iter().map(|k| (cluster.address(*k), "UN")));
        wait_states(&s, ips[0], &six, true, Duration::from_secs(90)).await?;
        let keys = all_keys(&s, ips[0], Consistency::Quorum).await?;
        anyhow::ensure!(keys.len() == (rows + 500) as usize, "{} rows after three joins", keys.len());
        for k in &added {
            let log = plain(&std::fs::read_to_string(cluster.node(*k).log_path()).unwrap_or_default());
            anyhow::ensure!(log.contains("this node is NORMAL"), "node {k} did not finish its bootstrap");
        }
        Ok(())
    })
    .await;
}
