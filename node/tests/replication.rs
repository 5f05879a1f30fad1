//! Replication through the scylla driver on three real nodes at RF 3: QUORUM
//! survives a SIGKILLed node, ALL then reports Unavailable with its fields, and
//! the writes the dead node missed reach it by hints after its restart.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{db_error, within, TestCluster};
use futures::StreamExt;
use scylla::client::session::Session;
use scylla::errors::DbError;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;

/// Waits until the `observer` node's own `system.cluster_status` shows each wanted
/// state. The query is pinned to that node: another node may see a change earlier,
/// and the steps that follow are coordinated by the observer.
async fn wait_for_states(
    s: &Session,
    observer: std::net::IpAddr,
    want: &[(std::net::IpAddr, &str)],
    limit: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut q = Statement::new("SELECT peer, state FROM system.cluster_status");
    q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
        NodeIdentifier::NodeAddress(SocketAddr::new(observer, 9042)),
        None,
    )));
    loop {
        let rows: Vec<(std::net::IpAddr, String)> = s
            .query_unpaged(q.clone(), ())
            .await?
            .into_rows_result()?
            .rows::<(std::net::IpAddr, String)>()?
            .collect::<Result<_, _>>()?;
        if want.iter().all(|(ip, state)| rows.iter().any(|(p, s)| p == ip && s == state)) {
            return Ok(());
        }
        if start.elapsed() > limit {
            anyhow::bail!("cluster did not reach {want:?} within {limit:?}; it shows {rows:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn count_at(s: &Session, cl: Consistency, target: Option<SocketAddr>) -> Result<usize, scylla::errors::ExecutionError> {
    let mut q = Statement::new("SELECT k FROM r.t");
    q.set_consistency(cl);
    q.set_is_idempotent(true);
    if let Some(addr) = target {
        q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(NodeIdentifier::NodeAddress(addr), None)));
    }
    let result = s.query_unpaged(q, ()).await?;
    Ok(result.into_rows_result().expect("a SELECT returns rows").rows_num())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_survives_a_killed_replica_all_is_unavailable_and_hints_catch_it_up() {
    within(Duration::from_secs(110), async {
        let mut cluster = TestCluster::start(3).await;
        let s = cluster.session_to(1).await?;
        let ips = cluster.addresses();
        wait_for_states(
            &s,
            ips[0],
            &[(ips[0], "UN"), (ips[1], "UN"), (ips[2], "UN")],
            Duration::from_secs(30),
        )
        .await?;
        s.query_unpaged(
            "CREATE KEYSPACE r WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            (),
        )
        .await?;
        s.query_unpaged("CREATE TABLE r.t (k int PRIMARY KEY, v text)", ()).await?;
        s.await_schema_agreement().await?;
        let mut insert = s.prepare("INSERT INTO r.t (k, v) VALUES (?, ?)").await?;
        insert.set_consistency(Consistency::Quorum);
        // As a client that wants failover says: the driver may then retry a write
        // that was on its way to the killed node on another one, instead of
        // reporting the broken connection.
        insert.set_is_idempotent(true);
        for k in 0..50i32 {
            s.execute_unpaged(&insert, (k, format!("v{k}"))).await?;
        }

        cluster.kill(3);
        for k in 50..100i32 {
            s.execute_unpaged(&insert, (k, format!("v{k}"))).await?;
        }
        assert_eq!(
            count_at(&s, Consistency::Quorum, None).await?,
            100,
            "QUORUM reads every row with one replica dead"
        );

        wait_for_states(&s, ips[0], &[(ips[2], "DN")], Duration::from_secs(20)).await?;
        let node1 = SocketAddr::new(ips[0], 9042);
        let err = count_at(&s, Consistency::All, Some(node1))
            .await
            .expect_err("ALL cannot be met with a replica down");
        match db_error(&err) {
            Some(DbError::Unavailable {
                consistency,
                required,
                alive,
            }) => {
                assert_eq!((*consistency, *required, *alive), (Consistency::All, 3, 2));
            }
            other => panic!("expected Unavailable, got {other:?} ({err})"),
        }

        cluster.restart(3).await;
        wait_for_states(&s, ips[0], &[(ips[2], "UN")], Duration::from_secs(20)).await?;
        // The restarted replica alone (ONE, coordinated by itself) sees the writes it missed.
        let node3 = SocketAddr::new(ips[2], 9042);
        let start = Instant::now();
        loop {
            let n = count_at(&s, Consistency::One, Some(node3)).await.unwrap_or(0);
            if n == 100 {
                break;
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(20),
                "hints did not reach node 3 within 20 s: it has {n} rows"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    })
    .await;
}

async fn value_at(s: &Session, k: i32, cl: Consistency, target: SocketAddr) -> anyhow::Result<Option<String>> {
    let mut q = Statement::new("SELECT v FROM r.t WHERE k = ?");
    q.set_consistency(cl);
    q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
        NodeIdentifier::NodeAddress(target),
        None,
    )));
    let rows = s.query_unpaged(q, (k,)).await?.into_rows_result()?;
    Ok(rows.maybe_first_row::<(String,)>()?.map(|r| r.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_read_repairs_a_stale_replica() {
    within(Duration::from_secs(110), async {
        let mut cluster = TestCluster::start(3).await;
        let s = cluster.session_to(1).await?;
        let ips = cluster.addresses();
        let node = |k: usize| SocketAddr::new(ips[k - 1], 9042);
        wait_for_states(
            &s,
            ips[0],
            &[(ips[0], "UN"), (ips[1], "UN"), (ips[2], "UN")],
            Duration::from_secs(30),
        )
        .await?;
        s.query_unpaged(
            "CREATE KEYSPACE r WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            (),
        )
        .await?;
        s.query_unpaged("CREATE TABLE r.t (k int PRIMARY KEY, v text)", ()).await?;
        s.await_schema_agreement().await?;
        let mut write = Statement::new("INSERT INTO r.t (k, v) VALUES (1, ?)");
        write.set_consistency(Consistency::All);
        s.query_unpaged(write, ("old",)).await?;

        // Node 3 misses the new value; node 1 coordinates and holds its only hint.
        cluster.kill(3);
        wait_for_states(&s, ips[0], &[(ips[2], "DN")], Duration::from_secs(20)).await?;
        let mut update = Statement::new("INSERT INTO r.t (k, v) VALUES (1, ?)");
        update.set_consistency(Consistency::Quorum);
        update.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
            NodeIdentifier::NodeAddress(node(1)),
            None,
        )));
        s.query_unpaged(update, ("new",)).await?;
        // With the hint holder down, node 3 comes back stale.
        cluster.kill(1);
        cluster.restart(3).await;
        let s3 = cluster.session_to(3).await?;
        let start = Instant::now();
        while value_at(&s3, 1, Consistency::Quorum, node(3)).await.is_err() {
            anyhow::ensure!(start.elapsed() < Duration::from_secs(20), "node 3 never answered a QUORUM read");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(
            value_at(&s3, 1, Consistency::Quorum, node(3)).await?.as_deref(),
            Some("new"),
            "QUORUM sees the newest write"
        );
        assert_eq!(
            value_at(&s3, 1, Consistency::One, node(3)).await?.as_deref(),
            Some("new"),
            "node 3's own copy was repaired by the QUORUM read"
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_aware_routing_sends_each_prepared_statement_to_a_replica() {
    within(Duration::from_secs(90), async {
        let cluster = TestCluster::start(3).await;
        let s = cluster.session_to(1).await?;
        let ips = cluster.addresses();
        wait_for_states(
            &s,
            ips[0],
            &[(ips[0], "UN"), (ips[1], "UN"), (ips[2], "UN")],
            Duration::from_secs(30),
        )
        .await?;
        // RF 1: each key has exactly one replica, so a wrong coordinator must forward.
        s.query_unpaged(
            "CREATE KEYSPACE one WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            (),
        )
        .await?;
        s.query_unpaged("CREATE TABLE one.t (k int PRIMARY KEY, v int)", ()).await?;
        s.await_schema_agreement().await?;
        // A session that has seen the whole ring (peers and their tokens).
        let s = cluster.session_to(1).await?;
        anyhow::ensure!(
            s.get_cluster_state().get_nodes_info().len() == 3,
            "the driver discovers all three nodes"
        );
        let insert = s.prepare("INSERT INTO one.t (k, v) VALUES (?, ?)").await?;
        let select = s.prepare("SELECT v FROM one.t WHERE k = ?").await?;
        for k in 0..150i32 {
            s.execute_unpaged(&insert, (k, k)).await?;
            s.execute_unpaged(&select, (k,)).await?;
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (mut writes, mut forwarded) = (0i64, 0i64);
        for k in 1..=3 {
            let mut q = Statement::new("SELECT name, value FROM system.coordinator_metrics");
            q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
                NodeIdentifier::NodeAddress(SocketAddr::new(ips[k - 1], 9042)),
                None,
            )));
            let rows: Vec<(String, i64)> = s
                .query_unpaged(q, ())
                .await?
                .into_rows_result()?
                .rows::<(String, i64)>()?
                .collect::<Result<_, _>>()?;
            for (name, value) in rows {
                match name.as_str() {
                    "writes" => writes += value,
                    "writes_forwarded" | "reads_forwarded" => forwarded += value,
                    _ => {}
                }
            }
        }
        assert!(writes >= 150, "every insert was coordinated somewhere ({writes})");
        assert_eq!(forwarded, 0, "no prepared statement went to a node that is not its replica");
        Ok(())
    })
    .await;
}

/// The rows of `r.t` that node `target` holds itself (a read at ONE there: every
/// node is a replica at RF 3, and the coordinator reads its own copy).
async fn own_keys(s: &Session, target: SocketAddr) -> anyhow::Result<Vec<i32>> {
    let mut q = Statement::new("SELECT k FROM r.t");
    q.set_consistency(Consistency::One);
    q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
        NodeIdentifier::NodeAddress(target),
        None,
    )));
    let mut keys: Vec<i32> = s
        .query_unpaged(q, ())
        .await?
        .into_rows_result()?
        .rows::<(i32,)>()?
        .map(|r| r.map(|r| r.0))
        .collect::<Result<_, _>>()?;
    keys.sort();
    Ok(keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_batch_whose_coordinator_dies_is_replayed_by_the_batchlog() {
    within(Duration::from_secs(150), async {
        let mut cluster = TestCluster::start(3).await;
        let ips = cluster.addresses();
        let node = |k: usize| SocketAddr::new(ips[k - 1], 9042);
        let s = cluster.session_to(2).await?;
        let all_up = [(ips[0], "UN"), (ips[1], "UN"), (ips[2], "UN")];
        wait_for_states(&s, ips[1], &all_up, Duration::from_secs(30)).await?;
        s.query_unpaged(
            "CREATE KEYSPACE r WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            (),
        )
        .await?;
        s.query_unpaged("CREATE TABLE r.t (k int PRIMARY KEY, v text)", ()).await?;
        s.await_schema_agreement().await?;
        let batch = |a: i32, b: i32| {
            let mut q = Statement::new(format!(
                "BEGIN BATCH INSERT INTO r.t (k, v) VALUES ({a}, 'a'); INSERT INTO r.t (k, v) VALUES ({b}, 'b'); APPLY BATCH"
            ));
            q.set_consistency(Consistency::Quorum);
            q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
                NodeIdentifier::NodeAddress(node(1)),
                None,
            )));
            q
        };

        // A batch that completes is applied and leaves no batchlog entry behind.
        s.query_unpaged(batch(1, 2), ()).await?;
        let start = Instant::now();
        loop {
            let mut q = Statement::new("SELECT id FROM system.batches");
            q.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
                NodeIdentifier::NodeAddress(node(2)),
                None,
            )));
            if s.query_unpaged(q, ()).await?.into_rows_result()?.rows_num() == 0 {
                break;
            }
            anyhow::ensure!(start.elapsed() < Duration::from_secs(10), "the batch stayed in node 2's batchlog");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // Node 1 now dies right after its batch is in the batchlog, before any
        // of it is applied: the batchlog's keepers (nodes 2 and 3) replay it.
        cluster.node_mut(1).restart_with_failpoints("batchlog.stored=exit").await;
        let s1 = cluster.session_to(1).await?;
        // Node 1 must see its batchlog's keepers up (else: Unavailable).
        wait_for_states(&s1, ips[0], &all_up, Duration::from_secs(30)).await?;
        let died = s1.query_unpaged(batch(3, 4), ()).await;
        assert!(died.is_err(), "the coordinator died mid-batch");
        assert!(
            cluster.node_mut(1).wait_exit(Duration::from_secs(10)).await,
            "node 1 exited at the failure point"
        );
        assert!(cluster.node(1).log_tail(50).contains("failure point reached"));
        let start = Instant::now();
        for k in [2, 3] {
            loop {
                let keys = own_keys(&s, node(k)).await?;
                if keys == vec![1, 2, 3, 4] {
                    break;
                }
                anyhow::ensure!(
                    start.elapsed() < Duration::from_secs(60),
                    "node {k} holds {keys:?}: the batch was not replayed"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Ok(())
    })
    .await;
}

/// Replicas are asked for a page's worth at a time (`coordinator::short_read`):
/// a partition larger than an internode frame (64 MiB) reads whole at QUORUM,
/// paged and unpaged, and a `LIMIT 1` read makes every replica read one row,
/// as the replicas' own trace events say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_larger_than_a_frame_reads_at_quorum_and_limit_1_reads_one_row_per_replica() {
    within(Duration::from_secs(240), async {
        let cluster = TestCluster::start(3).await;
        let s = cluster.session_to(1).await?;
        let ips = cluster.addresses();
        wait_for_states(
            &s,
            ips[0],
            &[(ips[0], "UN"), (ips[1], "UN"), (ips[2], "UN")],
            Duration::from_secs(30),
        )
        .await?;
        s.query_unpaged(
            "CREATE KEYSPACE wide WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            (),
        )
        .await?;
        s.query_unpaged("CREATE TABLE wide.t (k int, c int, v blob, PRIMARY KEY (k, c))", ())
            .await?;
        s.await_schema_agreement().await?;
        const ROWS: i32 = 70;
        let mut insert = s.prepare("INSERT INTO wide.t (k, c, v) VALUES (1, ?, ?)").await?;
        insert.set_consistency(Consistency::All);
        let blob = vec![7u8; 1 << 20];
        for c in 0..ROWS {
            s.execute_unpaged(&insert, (c, &blob)).await?;
        }

        let mut select = Statement::new("SELECT c, v FROM wide.t WHERE k = 1");
        select.set_consistency(Consistency::Quorum);
        select.set_page_size(7);
        let mut seen = Vec::new();
        let mut pager = s.query_iter(select, ()).await?.rows_stream::<(i32, Vec<u8>)>()?;
        while let Some(row) = pager.next().await {
            let (c, v) = row?;
            anyhow::ensure!(v.len() == blob.len(), "row {c} holds {} bytes", v.len());
            seen.push(c);
        }
        assert_eq!(seen, (0..ROWS).collect::<Vec<_>>(), "paged, 7 rows a page");
        let mut count = Statement::new("SELECT count(*) FROM wide.t WHERE k = 1");
        count.set_consistency(Consistency::Quorum);
        let count: i64 = s.query_unpaged(count, ()).await?.into_rows_result()?.single_row::<(i64,)>()?.0;
        assert_eq!(count, i64::from(ROWS), "an aggregate over the whole partition");

        let mut first = Statement::new("SELECT c FROM wide.t WHERE k = 1 LIMIT 1");
        first.set_consistency(Consistency::All);
        first.set_tracing(true);
        let result = s.query_unpaged(first, ()).await?;
        let id = result.tracing_id().expect("a traced request's response carries its session id");
        let (c,) = result.into_rows_result()?.single_row::<(i32,)>()?;
        assert_eq!(c, 0);
        let info = s.get_tracing_info(&id).await?;
        let reads: Vec<&str> = info
            .events
            .iter()
            .filter_map(|e| e.activity.as_deref())
            .filter(|a| a.starts_with("Read ") && a.contains("live rows"))
            .collect();
        assert_eq!(reads.len(), 3, "one read on each replica: {info:?}");
        assert!(reads.iter().all(|a| a.starts_with("Read 1 live rows")), "{reads:?}");
        Ok(())
    })
    .await;
}
