//! Nothing acknowledged is lost, nothing deleted comes back (issue 16), on
//! real nodes through the scylla driver: a TRUNCATE is remembered across a
//! crash and keeps older writes out while newer ones go in, and the hints a
//! decommissioning node holds reach their target after it left.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{pinned, within, TestCluster};
use scylla::client::session::Session;
use scylla::statement::Consistency;

async fn keys(s: &Session, node: IpAddr, table: &str, cl: Consistency) -> anyhow::Result<Vec<i32>> {
    let mut keys: Vec<i32> = s
        .query_unpaged(pinned(&format!("SELECT k FROM {table}"), node, cl), ())
        .await?
        .into_rows_result()?
        .rows::<(i32,)>()?
        .map(|r| r.map(|(k,)| k))
        .collect::<Result<_, _>>()?;
    keys.sort();
    Ok(keys)
}

/// Waits until `observer` sees every node of `want` in its state (UN, DN).
async fn wait_states(s: &Session, observer: IpAddr, want: &[(IpAddr, &str)], limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let q = pinned("SELECT peer, state FROM system.cluster_status", observer, Consistency::One);
        let rows: Vec<(IpAddr, String)> = match s.query_unpaged(q, ()).await {
            Ok(r) => r.into_rows_result()?.rows::<(IpAddr, String)>()?.collect::<Result<_, _>>()?,
            Err(_) => Vec::new(),
        };
        if want.iter().all(|(ip, st)| rows.iter().any(|(p, s)| p == ip && s == st)) {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < limit,
            "{observer} did not show {want:?} within {limit:?}: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_truncate_an_old_write_is_dropped_a_new_one_applies_and_the_record_survives_a_crash() {
    within(Duration::from_secs(120), async {
        let mut cluster = TestCluster::start(2).await;
        let ips = cluster.addresses();
        let s = cluster.session_to(1).await?;
        wait_states(&s, ips[0], &[(ips[0], "UN"), (ips[1], "UN")], Duration::from_secs(60)).await?;
        s.query_unpaged(
            "CREATE KEYSPACE tr WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
            (),
        )
        .await?;
        s.query_unpaged("CREATE TABLE tr.t (k int PRIMARY KEY, v text)", ()).await?;
        s.await_schema_agreement().await?;
        let old = 1_000_000i64;
        let write = |k: i32, timestamp: Option<i64>| {
            let using = timestamp.map(|t| format!(" USING TIMESTAMP {t}")).unwrap_or_default();
            pinned(
                &format!("INSERT INTO tr.t (k, v) VALUES ({k}, 'x'){using}"),
                ips[0],
                Consistency::All,
            )
        };
        s.query_unpaged(write(1, Some(old)), ()).await?;
        s.query_unpaged(write(2, None), ()).await?;
        s.query_unpaged(pinned("TRUNCATE tr.t", ips[0], Consistency::All), ()).await?;
        // What a late hint or a stream from before the TRUNCATE would carry.
        s.query_unpaged(write(1, Some(old)), ()).await?;
        s.query_unpaged(write(3, None), ()).await?;
        for ip in &ips {
            assert_eq!(keys(&s, *ip, "tr.t", Consistency::All).await?, vec![3], "read through {ip}");
        }
        // Both nodes killed and started again: the record is on disk.
        drop(s);
        cluster.kill(1);
        cluster.kill(2);
        cluster.restart(1).await;
        cluster.restart(2).await;
        let s = cluster.session_to(1).await?;
        wait_states(&s, ips[0], &[(ips[0], "UN"), (ips[1], "UN")], Duration::from_secs(60)).await?;
        s.query_unpaged(write(1, Some(old)), ()).await?;
        s.query_unpaged(write(2, Some(old + 1)), ()).await?;
        s.query_unpaged(write(4, None), ()).await?;
        for ip in &ips {
            assert_eq!(
                keys(&s, *ip, "tr.t", Consistency::One).await?,
                vec![3, 4],
                "read through {ip} at ONE"
            );
        }
        Ok(())
    })
    .await;
}

/// Node 3 is alone in dc2 and holds every row there; node 4 coordinates
/// writes while node 3 is down, so it alone holds their hints for node 3,
/// then leaves. Node 3's own rows, read at LOCAL_ONE, show the hints arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hints_a_decommissioned_node_held_reach_their_target_after_it_left() {
    within(Duration::from_secs(240), async {
        let mut cluster = TestCluster::start(2).await;
        let three = cluster.add_nodes(1, Some("data_center = \"dc2\"\n")).await[0];
        let four = cluster.add_node().await;
        let ips = cluster.addresses();
        let (ip3, ip4) = (cluster.address(three), cluster.address(four));
        let s = cluster.session_to(1).await?;
        let all_up: Vec<(IpAddr, &str)> = ips.iter().map(|ip| (*ip, "UN")).collect();
        wait_states(&s, ips[0], &all_up, Duration::from_secs(90)).await?;
        s.query_unpaged(
            "CREATE KEYSPACE h WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 2, 'dc2': 1}",
            (),
        )
        .await?;
        s.query_unpaged("CREATE TABLE h.t (k int PRIMARY KEY, v text)", ()).await?;
        s.await_schema_agreement().await?;

        cluster.kill(three);
        wait_states(&s, ip4, &[(ip3, "DN")], Duration::from_secs(30)).await?;
        const ROWS: i32 = 200;
        for k in 0..ROWS {
            let insert = pinned(&format!("INSERT INTO h.t (k, v) VALUES ({k}, 'v{k}')"), ip4, Consistency::LocalOne);
            s.query_unpaged(insert, ()).await?;
        }

        s.query_unpaged(pinned("NODETOOL DECOMMISSION", ip4, Consistency::One), ()).await?;
        anyhow::ensure!(
            cluster.node_mut(four).wait_exit(Duration::from_secs(90)).await,
            "node 4 did not stop after its decommission"
        );
        let log4 = std::fs::read_to_string(cluster.node(four).log_path()).unwrap_or_default();
        anyhow::ensure!(log4.contains("handed this node's hints over"), "node 4 did not hand its hints over");

        cluster.restart(three).await;
        wait_states(&s, ips[0], &[(ip3, "UN")], Duration::from_secs(60)).await?;
        let start = Instant::now();
        loop {
            let held = keys(&s, ip3, "h.t", Consistency::LocalOne).await.unwrap_or_default();
            if held.len() == ROWS as usize {
                break;
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(60),
                "node 3 holds {} of the {ROWS} rows written while it was down",
                held.len()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    })
    .await;
}
