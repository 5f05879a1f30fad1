//! Durability through a real driver: a node restarted keeps its schema and data,
//! and a node killed with SIGKILL at random moments loses no acknowledged write.

mod common;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{within_timeout, TestNode};
use rand::Rng;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_its_schema_and_data() {
    within_timeout(async {
        let mut node = TestNode::start().await;
        let s = node.session().await?;
        s.query_unpaged("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", ()).await?;
        s.query_unpaged("CREATE TYPE ks.point (x int, y int)", ()).await?;
        s.query_unpaged(
            "CREATE TABLE ks.t (k int, c text, v frozen<point>, l list<int>, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = 'kept'",
            (),
        )
        .await?;
        for i in 0..100i32 {
            s.query_unpaged("INSERT INTO ks.t (k, c, v, l) VALUES (?, ?, {x: 1, y: 2}, [1, 2])", (i % 10, format!("c{i}"))).await?;
        }
        s.query_unpaged("DELETE FROM ks.t WHERE k = 0", ()).await?;
        let host_before: (uuid::Uuid,) = s.query_unpaged("SELECT host_id FROM system.local", ()).await?.into_rows_result()?.single_row()?;
        drop(s);

        node.restart().await;
        let s = node.session().await?;
        let host_after: (uuid::Uuid,) = s.query_unpaged("SELECT host_id FROM system.local", ()).await?.into_rows_result()?.single_row()?;
        assert_eq!(host_before, host_after, "the host id survives a restart");
        let count: (i64,) = s.query_unpaged("SELECT count(*) FROM ks.t", ()).await?.into_rows_result()?.single_row()?;
        assert_eq!(count.0, 90, "every row but the deleted partition's comes back");
        let rows: Vec<(String,)> = s
            .query_unpaged("SELECT c FROM ks.t WHERE k = 3", ())
            .await?
            .into_rows_result()?
            .rows::<(String,)>()?
            .collect::<Result<_, _>>()?;
        let names: Vec<String> = rows.into_iter().map(|r| r.0).collect();
        assert_eq!(names, vec!["c93", "c83", "c73", "c63", "c53", "c43", "c33", "c3", "c23", "c13"], "clustering order DESC is kept");
        let comment: (String,) = s
            .query_unpaged("SELECT comment FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = 't'", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(comment.0, "kept");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_insert_is_lost_when_the_node_is_killed() {
    within_timeout(async {
        let mut node = TestNode::start().await;
        {
            let s = node.session().await?;
            s.query_unpaged(
                "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                (),
            )
            .await?;
            s.query_unpaged("CREATE TABLE ks.kv (k bigint PRIMARY KEY, v text)", ()).await?;
        }
        let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
        let next = Arc::new(AtomicI64::new(0));
        for round in 0..4 {
            let s = Arc::new(node.session().await?);
            let insert = s.prepare("INSERT INTO ks.kv (k, v) VALUES (?, ?)").await?;
            let stop = Arc::new(AtomicBool::new(false));
            let mut writers = Vec::new();
            for _ in 0..8 {
                let (s, insert, stop, next, acknowledged) = (s.clone(), insert.clone(), stop.clone(), next.clone(), acknowledged.clone());
                writers.push(tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if s.execute_unpaged(&insert, (k, format!("value {k}"))).await.is_ok() {
                            acknowledged.lock().unwrap().push(k);
                        } else {
                            break;
                        }
                    }
                }));
            }
            let pause = rand::thread_rng().gen_range(200..800);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            node.kill();
            stop.store(true, Ordering::Relaxed);
            for w in writers {
                let _ = w.await;
            }
            node.restart().await;
            let s = node.session().await?;
            let select = s.prepare("SELECT v FROM ks.kv WHERE k = ?").await?;
            let keys = acknowledged.lock().unwrap().clone();
            assert!(!keys.is_empty(), "round {round}: some inserts were acknowledged before the kill");
            for k in keys {
                let rows = s.execute_unpaged(&select, (k,)).await?.into_rows_result()?;
                let row: Option<(String,)> = rows.maybe_first_row()?;
                assert_eq!(
                    row,
                    Some((format!("value {k}"),)),
                    "round {round}: acknowledged key {k} is lost after a SIGKILL"
                );
            }
        }
        Ok(())
    })
    .await;
}
