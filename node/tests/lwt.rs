//! Lightweight transactions, counters and list updates by index through the
//! scylla Rust driver against one real node: the answers (`[applied]` and the
//! current values), SERIAL reads, and Cassandra's errors for what it refuses.
//! The cluster-wide races and the linearizability check are
//! `tests/python/test_lwt_counters.py`'s.

mod common;

use anyhow::Context;
use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;
use scylla::value::Counter;

use common::{within_timeout, TestNode};

async fn setup(session: &Session) -> anyhow::Result<()> {
    for ddl in [
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE ks.t (pk int, ck int, v int, s int static, PRIMARY KEY (pk, ck))",
        "CREATE TABLE ks.c (pk int PRIMARY KEY, n counter, m counter)",
        "CREATE TABLE ks.l (pk int PRIMARY KEY, l list<text>)",
    ] {
        session.query_unpaged(ddl, ()).await.with_context(|| ddl.to_string())?;
    }
    Ok(())
}

/// The column names and the first row of a result, as text.
async fn answer(session: &Session, query: impl Into<Statement>) -> anyhow::Result<(Vec<String>, Vec<Option<String>>)> {
    let rows = session.query_unpaged(query, ()).await?.into_rows_result()?;
    let names = rows.column_specs().iter().map(|c| c.name().to_string()).collect();
    let row: scylla::value::Row = rows.first_row()?;
    let values = row
        .columns
        .into_iter()
        .map(|v| {
            v.map(|v| match v {
                scylla::value::CqlValue::Boolean(b) => b.to_string(),
                scylla::value::CqlValue::Int(i) => i.to_string(),
                other => format!("{other:?}"),
            })
        })
        .collect();
    Ok((names, values))
}

/// The message of an InvalidRequest the node answered `query` with.
async fn invalid(session: &Session, query: impl Into<Statement>) -> String {
    match session.query_unpaged(query, ()).await {
        Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::Invalid, message))) => message,
        other => panic!("expected an InvalidRequest, got {other:?}"),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|x| Some(x.to_string())).collect()
}

#[tokio::test]
async fn conditional_writes_and_batches_answer_as_cassandra_does() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        setup(&session).await?;
        let (names, values) = answer(&session, "UPDATE ks.t SET v = 2 WHERE pk = 1 AND ck = 1 IF v = 1").await?;
        assert_eq!(
            (names, values),
            (s(&["[applied]", "v"]), vec![Some("false".into()), None]),
            "no row: v is null"
        );
        session.query_unpaged("INSERT INTO ks.t (pk, ck, v) VALUES (1, 1, 1)", ()).await?;
        let (_, values) = answer(&session, "UPDATE ks.t SET v = 2 WHERE pk = 1 AND ck = 1 IF v = 1").await?;
        assert_eq!(values, some(&["true"]));
        let (_, values) = answer(&session, "UPDATE ks.t SET v = 3 WHERE pk = 1 AND ck = 1 IF v = 1").await?;
        assert_eq!(values, some(&["false", "2"]), "not applied: the current value");
        let (_, values) = answer(&session, "UPDATE ks.t SET v = 3 WHERE pk = 1 AND ck = 1 IF v > 1 AND v < 5").await?;
        assert_eq!(values, some(&["true"]));

        // A batch with conditions on one partition applies as one.
        let batch = "BEGIN BATCH \
                     INSERT INTO ks.t (pk, ck, v) VALUES (1, 2, 5) IF NOT EXISTS; \
                     UPDATE ks.t SET v = 6 WHERE pk = 1 AND ck = 3; \
                     APPLY BATCH";
        assert_eq!(answer(&session, batch).await?.1, some(&["true"]));
        let (names, values) = answer(&session, batch).await?;
        assert_eq!(names, s(&["[applied]", "pk", "ck"]));
        assert_eq!(values, some(&["false", "1", "2"]), "the row that exists");
        let rows: Vec<(i32, i32)> = session
            .query_unpaged("SELECT ck, v FROM ks.t WHERE pk = 1", ())
            .await?
            .into_rows_result()?
            .rows()?
            .collect::<Result<_, _>>()?;
        assert_eq!(rows, [(1, 3), (2, 5), (3, 6)]);

        // The driver's batch of prepared statements, and DELETE IF EXISTS.
        let mut prepared = Batch::new(BatchType::Logged);
        prepared.append_statement(session.prepare("UPDATE ks.t SET v = ? WHERE pk = ? AND ck = ? IF v = ?").await?);
        prepared.append_statement(session.prepare("DELETE FROM ks.t WHERE pk = ? AND ck = ? IF EXISTS").await?);
        let result = session.batch(&prepared, ((7, 1, 1, 3), (1, 2))).await?.into_rows_result()?;
        let (applied,): (bool,) = result.first_row()?;
        assert!(applied);
        assert_eq!(
            answer(&session, "DELETE FROM ks.t WHERE pk = 1 AND ck = 2 IF EXISTS").await?.1,
            some(&["false"])
        );

        // A SELECT at SERIAL reads what was committed.
        let mut serial = Statement::new("SELECT v FROM ks.t WHERE pk = 1 AND ck = 1");
        serial.set_consistency(Consistency::Serial);
        let (v,): (i32,) = session.query_unpaged(serial, ()).await?.into_rows_result()?.single_row()?;
        assert_eq!(v, 7);

        let message = invalid(&session, "UPDATE ks.t USING TIMESTAMP 5 SET v = 1 WHERE pk = 1 AND ck = 1 IF v = 7").await;
        assert_eq!(message, "Cannot provide custom timestamp for conditional updates");
        let message = invalid(
            &session,
            "BEGIN BATCH INSERT INTO ks.t (pk, ck, v) VALUES (1, 9, 1) IF NOT EXISTS; \
             INSERT INTO ks.t (pk, ck, v) VALUES (2, 9, 1); APPLY BATCH",
        )
        .await;
        assert_eq!(message, "Batch with conditions cannot span multiple partitions");
        let message = invalid(&session, "UPDATE ks.t SET v = 1 WHERE pk IN (1, 2) AND ck = 1 IF v = 7").await;
        assert_eq!(message, "IN on the partition key is not supported with conditional updates");
        let mut serial_write = Statement::new("INSERT INTO ks.t (pk, ck, v) VALUES (5, 5, 5)");
        serial_write.set_consistency(Consistency::Serial);
        assert_eq!(
            invalid(&session, serial_write).await,
            "You must use conditional updates for serializable writes"
        );
        let mut serial_range = Statement::new("SELECT v FROM ks.t WHERE pk IN (1, 2)");
        serial_range.set_consistency(Consistency::Serial);
        assert_eq!(
            invalid(&session, serial_range).await,
            "SERIAL/LOCAL_SERIAL consistency may only be requested for one partition at a time"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn counters_follow_cassandras_rules_and_a_delete_restarts_them() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        setup(&session).await?;
        let increment = session.prepare("UPDATE ks.c SET n = n + ?, m = m - 1 WHERE pk = ?").await?;
        for _ in 0..10 {
            session.execute_unpaged(&increment, (Counter(3), 1)).await?;
        }
        let read = session.prepare("SELECT n, m FROM ks.c WHERE pk = ?").await?;
        let row: (Counter, Counter) = session.execute_unpaged(&read, (1,)).await?.into_rows_result()?.single_row()?;
        assert_eq!(row, (Counter(30), Counter(-10)));

        let mut counter_batch = Batch::new(BatchType::Counter);
        counter_batch.append_statement(increment.clone());
        counter_batch.append_statement(increment.clone());
        session.batch(&counter_batch, ((Counter(1), 1), (Counter(1), 2))).await?;
        let row: (Counter, Counter) = session.execute_unpaged(&read, (1,)).await?.into_rows_result()?.single_row()?;
        assert_eq!(row, (Counter(31), Counter(-11)));

        session.query_unpaged("DELETE n FROM ks.c WHERE pk = 1", ()).await?;
        let (n, m): (Option<Counter>, Counter) = session.execute_unpaged(&read, (1,)).await?.into_rows_result()?.single_row()?;
        assert_eq!((n, m), (None, Counter(-11)), "the deleted counter reads as null");
        session.execute_unpaged(&increment, (Counter(4), 1)).await?;
        let row: (Counter, Counter) = session.execute_unpaged(&read, (1,)).await?.into_rows_result()?.single_row()?;
        assert_eq!(row, (Counter(4), Counter(-12)), "an increment after the delete starts from zero");

        for (query, message) in [
            (
                "UPDATE ks.c USING TTL 10 SET n = n + 1 WHERE pk = 1",
                "Cannot provide custom TTL for counter updates",
            ),
            (
                "UPDATE ks.c USING TIMESTAMP 10 SET n = n + 1 WHERE pk = 1",
                "Cannot provide custom timestamp for counter updates",
            ),
            (
                "UPDATE ks.c SET n = n + 1 WHERE pk = 1 IF n = 4",
                "Conditional updates are not supported on counter tables",
            ),
            (
                "UPDATE ks.c SET n = 5 WHERE pk = 1",
                "Cannot set the value of counter column n (counters can only be incremented/decremented, not set)",
            ),
            (
                "BEGIN BATCH UPDATE ks.c SET n = n + 1 WHERE pk = 1; APPLY BATCH",
                "Cannot include a counter statement in a logged batch",
            ),
            (
                "BEGIN UNLOGGED BATCH UPDATE ks.c SET n = n + 1 WHERE pk = 1; INSERT INTO ks.t (pk, ck) VALUES (1, 1); APPLY BATCH",
                "Counter and non-counter mutations cannot exist in the same batch",
            ),
            (
                "BEGIN COUNTER BATCH INSERT INTO ks.t (pk, ck) VALUES (1, 1); APPLY BATCH",
                "Cannot include non-counter statement in a counter batch",
            ),
        ] {
            assert_eq!(invalid(&session, query).await, message, "{query}");
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn list_updates_by_index_and_value_read_the_current_list() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        setup(&session).await?;
        session
            .query_unpaged("INSERT INTO ks.l (pk, l) VALUES (1, ['a', 'b', 'c', 'b'])", ())
            .await?;
        session.query_unpaged("UPDATE ks.l SET l[1] = 'B' WHERE pk = 1", ()).await?;
        session.query_unpaged("DELETE l[0] FROM ks.l WHERE pk = 1", ()).await?;
        session.query_unpaged("UPDATE ks.l SET l = l - ['b'] WHERE pk = 1", ()).await?;
        let (l,): (Vec<String>,) = session
            .query_unpaged("SELECT l FROM ks.l WHERE pk = 1", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(l, ["B", "c"]);
        assert_eq!(
            invalid(&session, "UPDATE ks.l SET l[5] = 'x' WHERE pk = 1").await,
            "List index 5 out of bound, list has size 2"
        );
        Ok(())
    })
    .await;
}
