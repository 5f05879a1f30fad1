//! End-to-end tests through the scylla Rust driver (1.9) against a real `rustica`
//! node. The expected behaviour is Cassandra 4/5's: what a client sees from a real
//! Cassandra node is what these tests ask of rustica.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use num_bigint::BigInt;
use scylla::client::session::Session;
use scylla::cluster::metadata::{CollectionType, ColumnKind, ColumnType, NativeType, Strategy};
use scylla::errors::{DbError, RequestAttemptError, UseKeyspaceError};
use scylla::response::PagingState;
use scylla::routing::partitioner::{Murmur3Partitioner, Partitioner};
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::unprepared::Statement;
use scylla::value::{Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlValue, CqlVarint, Row};
use scylla::{DeserializeRow, DeserializeValue, SerializeRow, SerializeValue};
use uuid::Uuid;

use common::{db_error, prepare_db_error, within_timeout, TestNode};

async fn create_keyspace(session: &Session, ks: &str) -> anyhow::Result<()> {
    session
        .query_unpaged(
            format!(
                "CREATE KEYSPACE {ks} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            (),
        )
        .await?;
    Ok(())
}

async fn ddl(session: &Session, statement: &str) -> anyhow::Result<()> {
    session
        .query_unpaged(statement, ())
        .await
        .with_context(|| format!("executing {statement}"))?;
    Ok(())
}

#[tokio::test]
async fn a_driver_session_connects_and_reads_system_local() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        let (release_version, cql_version, partitioner): (String, String, String) = session
            .query_unpaged(
                "SELECT release_version, cql_version, partitioner FROM system.local WHERE key = 'local'",
                (),
            )
            .await?
            .into_rows_result()?
            .single_row()?;
        let major: u32 = release_version
            .split('.')
            .next()
            .unwrap_or("")
            .parse()
            .with_context(|| format!("release_version {release_version:?}"))?;
        assert!(major >= 4, "release_version {release_version}");
        assert!(cql_version.starts_with("3."), "cql_version {cql_version}");
        assert_eq!(partitioner, "org.apache.cassandra.dht.Murmur3Partitioner");

        let state = session.get_cluster_state();
        let nodes = state.get_nodes_info();
        assert_eq!(nodes.len(), 1, "one node in the cluster: {nodes:?}");
        assert_eq!(nodes[0].address.ip(), node.address);
        assert!(
            !state.replica_locator().ring().is_empty(),
            "the token ring is built from system.local tokens"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_created_keyspace_and_table_appear_in_driver_metadata() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(
            &session,
            "CREATE TABLE ks.t (pk int, ck text, v bigint, tags set<int>, PRIMARY KEY (pk, ck))",
        )
        .await?;
        session.refresh_metadata().await?;

        let state = session.get_cluster_state();
        assert!(state.get_keyspace("system").is_some(), "system keyspace");
        assert!(state.get_keyspace("system_schema").is_some(), "system_schema keyspace");
        let ks = state.get_keyspace("ks").context("keyspace ks in metadata")?;
        assert_eq!(ks.strategy, Strategy::SimpleStrategy { replication_factor: 1 });
        let table = ks.tables.get("t").context("table ks.t in metadata")?;
        assert_eq!(table.partition_key, vec!["pk".to_string()]);
        assert_eq!(table.clustering_key, vec!["ck".to_string()]);
        let column = |name: &str| table.columns.get(name).with_context(|| format!("column {name}"));
        assert_eq!(column("pk")?.kind, ColumnKind::PartitionKey);
        assert_eq!(column("ck")?.kind, ColumnKind::Clustering);
        assert_eq!(column("v")?.kind, ColumnKind::Regular);
        assert_eq!(column("pk")?.typ, ColumnType::Native(NativeType::Int));
        assert_eq!(column("ck")?.typ, ColumnType::Native(NativeType::Text));
        assert_eq!(column("v")?.typ, ColumnType::Native(NativeType::BigInt));
        assert_eq!(
            column("tags")?.typ,
            ColumnType::Collection {
                frozen: false,
                typ: CollectionType::Set(Box::new(ColumnType::Native(NativeType::Int))),
            }
        );
        assert_eq!(table.columns.len(), 4);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn crud_with_clustering_ranges_and_order_by_desc() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        session.use_keyspace("ks", false).await?;
        ddl(&session, "CREATE TABLE events (pk int, ck int, v text, PRIMARY KEY (pk, ck))").await?;
        for ck in 0..10 {
            session
                .query_unpaged(format!("INSERT INTO events (pk, ck, v) VALUES (1, {ck}, 'e{ck}')"), ())
                .await?;
        }
        ddl(&session, "INSERT INTO events (pk, ck, v) VALUES (2, 5, 'other')").await?;

        async fn cks(session: &Session, query: &str) -> anyhow::Result<Vec<i32>> {
            let rows = session.query_unpaged(query, ()).await?.into_rows_result()?;
            let cks = rows.rows::<(i32,)>()?.map(|r| r.map(|(ck,)| ck)).collect::<Result<_, _>>()?;
            Ok(cks)
        }
        assert_eq!(
            cks(&session, "SELECT ck FROM events WHERE pk = 1").await?,
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(
            cks(&session, "SELECT ck FROM events WHERE pk = 1 AND ck >= 3 AND ck < 7").await?,
            vec![3, 4, 5, 6]
        );
        assert_eq!(cks(&session, "SELECT ck FROM events WHERE pk = 1 AND ck > 7").await?, vec![8, 9]);
        assert_eq!(
            cks(
                &session,
                "SELECT ck FROM events WHERE pk = 1 AND ck >= 3 AND ck < 7 ORDER BY ck DESC"
            )
            .await?,
            vec![6, 5, 4, 3]
        );
        assert_eq!(
            cks(&session, "SELECT ck FROM events WHERE pk = 1 ORDER BY ck DESC LIMIT 3").await?,
            vec![9, 8, 7]
        );

        ddl(&session, "UPDATE events SET v = 'changed' WHERE pk = 1 AND ck = 4").await?;
        let (v,): (String,) = session
            .query_unpaged("SELECT v FROM events WHERE pk = 1 AND ck = 4", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(v, "changed");

        ddl(&session, "DELETE FROM events WHERE pk = 1 AND ck = 4").await?;
        ddl(&session, "DELETE FROM events WHERE pk = 1 AND ck >= 7").await?;
        assert_eq!(cks(&session, "SELECT ck FROM events WHERE pk = 1").await?, vec![0, 1, 2, 3, 5, 6]);

        ddl(&session, "DELETE FROM events WHERE pk = 2").await?;
        let left = session
            .query_unpaged("SELECT * FROM events WHERE pk = 2", ())
            .await?
            .into_rows_result()?;
        assert_eq!(left.rows_num(), 0);
        Ok(())
    })
    .await;
}

#[derive(SerializeRow)]
struct PkCk {
    p: i32,
    c: i32,
}

#[tokio::test]
async fn prepared_statements_bind_positional_and_named_markers() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.prep (pk int, ck int, v text, PRIMARY KEY (pk, ck))").await?;

        let insert = session.prepare("INSERT INTO ks.prep (pk, ck, v) VALUES (?, ?, ?)").await?;
        let names: Vec<&str> = insert.get_variable_col_specs().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["pk", "ck", "v"]);
        let pk_indexes: Vec<u16> = insert.get_variable_pk_indexes().iter().map(|i| i.index).collect();
        assert_eq!(pk_indexes, [0], "PREPARED carries the partition key's marker indexes");
        session.execute_unpaged(&insert, (1, 1, "one")).await?;
        session.execute_unpaged(&insert, (1, 2, "two")).await?;

        let select = session.prepare("SELECT ck, v FROM ks.prep WHERE pk = :p AND ck = :c").await?;
        let names: Vec<&str> = select.get_variable_col_specs().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["p", "c"]);
        let (ck, v): (i32, String) = session
            .execute_unpaged(&select, PkCk { p: 1, c: 2 })
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!((ck, v.as_str()), (2, "two"));
        let missing = session.execute_unpaged(&select, PkCk { p: 1, c: 9 }).await?.into_rows_result()?;
        assert_eq!(missing.rows_num(), 0);

        let update = session.prepare("UPDATE ks.prep SET v = :v WHERE pk = :pk AND ck = :ck").await?;
        let mut values = std::collections::HashMap::new();
        values.insert("v", CqlValue::Text("uno".into()));
        values.insert("pk", CqlValue::Int(1));
        values.insert("ck", CqlValue::Int(1));
        session.execute_unpaged(&update, &values).await?;

        let by_range = session.prepare("SELECT ck, v FROM ks.prep WHERE pk = ? AND ck >= ?").await?;
        let rows: Vec<(i32, String)> = session
            .execute_unpaged(&by_range, (1, 1))
            .await?
            .into_rows_result()?
            .rows()?
            .collect::<Result<_, _>>()?;
        assert_eq!(rows, vec![(1, "uno".to_string()), (2, "two".to_string())]);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn paging_over_10000_rows_with_page_size_1000_returns_every_row_in_order() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.paged (pk int, ck int, v text, PRIMARY KEY (pk, ck))").await?;
        ddl(&session, "CREATE TABLE ks.scattered (pk int, ck int, PRIMARY KEY (pk, ck))").await?;
        let insert = session.prepare("INSERT INTO ks.paged (pk, ck, v) VALUES (?, ?, ?)").await?;
        let insert_scattered = session.prepare("INSERT INTO ks.scattered (pk, ck) VALUES (?, ?)").await?;
        // 10,000 rows in one partition, and 10,000 spread over 100 partitions.
        futures::stream::iter(0..20_000)
            .map(|i| {
                let (session, insert, insert_scattered) = (&session, &insert, &insert_scattered);
                async move {
                    if i < 10_000 {
                        session.execute_unpaged(insert, (0, i, format!("v{i}"))).await
                    } else {
                        let j = i - 10_000;
                        session.execute_unpaged(insert_scattered, (j / 100, j % 100)).await
                    }
                }
            })
            .buffer_unordered(64)
            .try_collect::<Vec<_>>()
            .await?;

        let mut select = session.prepare("SELECT ck, v FROM ks.paged WHERE pk = ?").await?;
        select.set_page_size(1000);

        let (first_page, paging) = session.execute_single_page(&select, (0,), PagingState::start()).await?;
        assert_eq!(first_page.into_rows_result()?.rows_num(), 1000, "a page holds page_size rows");
        assert!(!paging.finished(), "more pages follow the first of ten");

        let rows: Vec<(i32, String)> = session
            .execute_iter(select.clone(), (0,))
            .await?
            .rows_stream::<(i32, String)>()?
            .try_collect()
            .await?;
        assert_eq!(rows.len(), 10_000);
        for (i, (ck, v)) in rows.iter().enumerate() {
            assert_eq!(*ck, i as i32, "row {i} out of order");
            assert_eq!(v, &format!("v{ck}"));
        }

        let scan = Statement::new("SELECT token(pk), pk, ck FROM ks.scattered").with_page_size(1000);
        let rows: Vec<(i64, i32, i32)> = session
            .query_iter(scan, ())
            .await?
            .rows_stream::<(i64, i32, i32)>()?
            .try_collect()
            .await?;
        assert_eq!(rows.len(), 10_000);
        let keys: BTreeSet<(i32, i32)> = rows.iter().map(|&(_, pk, ck)| (pk, ck)).collect();
        assert_eq!(keys.len(), 10_000, "no row twice");
        for pair in rows.windows(2) {
            let ((t1, pk1, ck1), (t2, pk2, ck2)) = (pair[0], pair[1]);
            assert!(t1 <= t2, "partitions come in token order: {pair:?}");
            if pk1 == pk2 {
                assert!(ck1 < ck2, "rows of a partition come in clustering order: {pair:?}");
            } else {
                assert_ne!(t1, t2, "a partition's rows are contiguous: {pair:?}");
            }
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn logged_unlogged_and_empty_batches_apply() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.batched (pk int, ck int, v text, PRIMARY KEY (pk, ck))").await?;
        let insert = session.prepare("INSERT INTO ks.batched (pk, ck, v) VALUES (?, ?, ?)").await?;

        let mut logged = Batch::new(BatchType::Logged);
        logged.append_statement(insert.clone());
        logged.append_statement(insert.clone());
        logged.append_statement("UPDATE ks.batched SET v = 'c' WHERE pk = 1 AND ck = 2");
        session.batch(&logged, ((1, 1, "a"), (2, 1, "b"), ())).await?;

        let mut unlogged = Batch::new(BatchType::Unlogged);
        unlogged.append_statement(insert.clone());
        unlogged.append_statement("DELETE FROM ks.batched WHERE pk = ? AND ck = ?");
        session.batch(&unlogged, ((3, 1, "d"), (2, 1))).await?;

        ddl(
            &session,
            "BEGIN BATCH \
             INSERT INTO ks.batched (pk, ck, v) VALUES (4, 1, 'e'); \
             INSERT INTO ks.batched (pk, ck, v) VALUES (4, 2, 'f'); \
             APPLY BATCH",
        )
        .await?;
        ddl(
            &session,
            "BEGIN UNLOGGED BATCH INSERT INTO ks.batched (pk, ck, v) VALUES (5, 1, 'g') APPLY BATCH",
        )
        .await?;
        ddl(&session, "BEGIN BATCH APPLY BATCH").await?;

        let mut rows: Vec<(i32, i32, String)> = session
            .query_unpaged("SELECT pk, ck, v FROM ks.batched", ())
            .await?
            .into_rows_result()?
            .rows()?
            .collect::<Result<_, _>>()?;
        rows.sort();
        let expected: Vec<(i32, i32, String)> = [(1, 1, "a"), (1, 2, "c"), (3, 1, "d"), (4, 1, "e"), (4, 2, "f"), (5, 1, "g")]
            .into_iter()
            .map(|(pk, ck, v)| (pk, ck, v.to_string()))
            .collect();
        assert_eq!(rows, expected);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn values_written_with_ttl_1_are_gone_after_2_5_seconds() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.ttl_t (pk int PRIMARY KEY, v text, w text)").await?;
        ddl(&session, "INSERT INTO ks.ttl_t (pk, v) VALUES (1, 'short') USING TTL 1").await?;
        ddl(&session, "INSERT INTO ks.ttl_t (pk, v, w) VALUES (2, 'keep', 'keep')").await?;
        let update = session.prepare("UPDATE ks.ttl_t USING TTL ? SET w = ? WHERE pk = ?").await?;
        session.execute_unpaged(&update, (1, "short", 2)).await?;

        let (v,): (String,) = session
            .query_unpaged("SELECT v FROM ks.ttl_t WHERE pk = 1", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(v, "short");

        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

        let gone = session
            .query_unpaged("SELECT * FROM ks.ttl_t WHERE pk = 1", ())
            .await?
            .into_rows_result()?;
        assert_eq!(gone.rows_num(), 0, "the row written with TTL 1 expired");
        let (v, w): (Option<String>, Option<String>) = session
            .query_unpaged("SELECT v, w FROM ks.ttl_t WHERE pk = 2", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!((v.as_deref(), w), (Some("keep"), None), "only the cell with a TTL expired");
        Ok(())
    })
    .await;
}

#[derive(Debug, Clone, PartialEq, SerializeValue, DeserializeValue)]
struct Address {
    street: String,
    zip: i32,
}

#[derive(Debug, Clone, PartialEq, SerializeRow, DeserializeRow)]
struct AllTypes {
    pk: i32,
    ascii_v: String,
    bigint_v: i64,
    blob_v: Vec<u8>,
    boolean_v: bool,
    decimal_v: CqlDecimal,
    double_v: f64,
    float_v: f32,
    int_v: i32,
    timestamp_v: CqlTimestamp,
    uuid_v: Uuid,
    text_v: String,
    varint_v: CqlVarint,
    timeuuid_v: CqlTimeuuid,
    inet_v: IpAddr,
    inet6_v: IpAddr,
    date_v: CqlDate,
    time_v: CqlTime,
    smallint_v: i16,
    tinyint_v: i8,
    duration_v: CqlDuration,
    list_v: Vec<i32>,
    map_v: BTreeMap<String, i32>,
    set_v: BTreeSet<String>,
    tuple_v: (i32, String),
    udt_v: Address,
}

const ALL_TYPES_TABLE: &str = "CREATE TABLE ks.all_types (
    pk int PRIMARY KEY,
    ascii_v ascii, bigint_v bigint, blob_v blob, boolean_v boolean, decimal_v decimal,
    double_v double, float_v float, int_v int, timestamp_v timestamp, uuid_v uuid,
    text_v text, varint_v varint, timeuuid_v timeuuid, inet_v inet, inet6_v inet,
    date_v date, time_v time, smallint_v smallint, tinyint_v tinyint, duration_v duration,
    list_v list<int>, map_v map<text, int>, set_v set<text>, tuple_v tuple<int, text>,
    udt_v frozen<address>)";

/// The same values as [`all_types_literal`], built in Rust.
fn all_types_value(pk: i32) -> AllTypes {
    let varint = BigInt::from_str("1267650600228229401496703205376").expect("2^100");
    let unscaled = BigInt::from_str("-12345678901234567890123").expect("decimal digits");
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let day = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).expect("leap day");
    let days_since_epoch = (day - epoch).num_days();
    let timestamp = chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
        .and_then(|d| d.and_hms_milli_opt(12, 34, 56, 789))
        .expect("timestamp")
        .and_utc()
        .timestamp_millis();
    AllTypes {
        pk,
        ascii_v: "hello ascii".into(),
        bigint_v: i64::MIN,
        blob_v: vec![0xca, 0xfe, 0xba, 0xbe, 0x00],
        boolean_v: true,
        decimal_v: CqlDecimal::from_signed_be_bytes_and_exponent(unscaled.to_signed_bytes_be(), 3),
        double_v: 6.02214076e23,
        float_v: -1.5,
        int_v: i32::MIN,
        timestamp_v: CqlTimestamp(timestamp),
        uuid_v: Uuid::parse_str("123e4567-e89b-42d3-a456-426614174000").expect("uuid"),
        text_v: "zażółć gęślą jaźń 😀".into(),
        varint_v: CqlVarint::from_signed_bytes_be(varint.to_signed_bytes_be()),
        timeuuid_v: CqlTimeuuid::from_str("50554d6e-29bb-11e5-b345-feff819cdc9f").expect("timeuuid"),
        inet_v: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        inet6_v: IpAddr::V6(Ipv6Addr::from_str("2001:db8::1").expect("ipv6")),
        date_v: CqlDate((1u32 << 31).wrapping_add(days_since_epoch as u32)),
        time_v: CqlTime(((12 * 60 + 34) * 60 + 56) * 1_000_000_000 + 123_456_789),
        smallint_v: i16::MIN,
        tinyint_v: i8::MIN,
        duration_v: CqlDuration {
            months: 14,
            days: 3,
            nanoseconds: ((4 * 60 + 5) * 60 + 6) * 1_000_000_000 + 7_000_000 + 8_000 + 9,
        },
        list_v: vec![3, 1, 2, 1],
        map_v: [("a".to_string(), 1), ("b".to_string(), -2)].into_iter().collect(),
        set_v: ["x".to_string(), "y".to_string()].into_iter().collect(),
        tuple_v: (7, "seven".into()),
        udt_v: Address {
            street: "Main St".into(),
            zip: 12345,
        },
    }
}

/// An INSERT that writes [`all_types_value`] as CQL literals.
fn all_types_literal(pk: i32) -> String {
    format!(
        "INSERT INTO ks.all_types (pk, ascii_v, bigint_v, blob_v, boolean_v, decimal_v, double_v, \
         float_v, int_v, timestamp_v, uuid_v, text_v, varint_v, timeuuid_v, inet_v, inet6_v, date_v, \
         time_v, smallint_v, tinyint_v, duration_v, list_v, map_v, set_v, tuple_v, udt_v) VALUES ({pk}, \
         'hello ascii', -9223372036854775808, 0xcafebabe00, true, -12345678901234567890.123, \
         6.02214076e23, -1.5, -2147483648, '2024-02-29 12:34:56.789+0000', \
         123e4567-e89b-42d3-a456-426614174000, 'zażółć gęślą jaźń 😀', 1267650600228229401496703205376, \
         50554d6e-29bb-11e5-b345-feff819cdc9f, '203.0.113.7', '2001:db8::1', '2024-02-29', \
         '12:34:56.123456789', -32768, -128, 1y2mo3d4h5m6s7ms8us9ns, [3, 1, 2, 1], {{'b': -2, 'a': 1}}, \
         {{'y', 'x'}}, (7, 'seven'), {{street: 'Main St', zip: 12345}})"
    )
}

#[tokio::test]
async fn every_cql_type_round_trips_through_a_prepared_insert_and_select() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TYPE ks.address (street text, zip int)").await?;
        ddl(&session, ALL_TYPES_TABLE).await?;

        let insert = session
            .prepare(
                "INSERT INTO ks.all_types (pk, ascii_v, bigint_v, blob_v, boolean_v, decimal_v, \
                 double_v, float_v, int_v, timestamp_v, uuid_v, text_v, varint_v, timeuuid_v, inet_v, \
                 inet6_v, date_v, time_v, smallint_v, tinyint_v, duration_v, list_v, map_v, set_v, \
                 tuple_v, udt_v) VALUES (:pk, :ascii_v, :bigint_v, :blob_v, :boolean_v, :decimal_v, \
                 :double_v, :float_v, :int_v, :timestamp_v, :uuid_v, :text_v, :varint_v, :timeuuid_v, \
                 :inet_v, :inet6_v, :date_v, :time_v, :smallint_v, :tinyint_v, :duration_v, :list_v, \
                 :map_v, :set_v, :tuple_v, :udt_v)",
            )
            .await?;
        let written = all_types_value(1);
        session.execute_unpaged(&insert, &written).await?;

        let select = session.prepare("SELECT * FROM ks.all_types WHERE pk = ?").await?;
        let read: AllTypes = session.execute_unpaged(&select, (1,)).await?.into_rows_result()?.single_row()?;
        assert_eq!(read, written, "prepared insert then prepared select");

        // The same values as CQL literals must decode to the same thing.
        ddl(&session, &all_types_literal(2)).await?;
        let read: AllTypes = session.execute_unpaged(&select, (2,)).await?.into_rows_result()?.single_row()?;
        assert_eq!(read, all_types_value(2), "literal insert then prepared select");

        // A row with only its key reads back as nulls everywhere else.
        ddl(&session, "INSERT INTO ks.all_types (pk) VALUES (3)").await?;
        let row: Row = session
            .query_unpaged("SELECT * FROM ks.all_types WHERE pk = 3", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(row.columns.len(), 26);
        let non_null: Vec<&CqlValue> = row.columns.iter().flatten().collect();
        assert_eq!(non_null, vec![&CqlValue::Int(3)]);

        // Counters live in their own table and only change by increments.
        ddl(&session, "CREATE TABLE ks.counters (pk int PRIMARY KEY, c counter)").await?;
        ddl(&session, "UPDATE ks.counters SET c = c + 5 WHERE pk = 1").await?;
        let increment = session.prepare("UPDATE ks.counters SET c = c + ? WHERE pk = ?").await?;
        session.execute_unpaged(&increment, (Counter(5), 1)).await?;
        ddl(&session, "UPDATE ks.counters SET c = c - 3 WHERE pk = 1").await?;
        let (c,): (Counter,) = session
            .execute_unpaged(&session.prepare("SELECT c FROM ks.counters WHERE pk = ?").await?, (1,))
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(c, Counter(7));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn select_token_of_the_partition_key_returns_its_murmur3_bigint() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.t (pk int PRIMARY KEY, v int)").await?;
        ddl(&session, "INSERT INTO ks.t (pk, v) VALUES (42, 1)").await?;

        let result = session
            .query_unpaged("SELECT token(pk) FROM ks.t WHERE pk = 42", ())
            .await?
            .into_rows_result()?;
        let spec = result.column_specs().get_by_index(0).context("one column")?.clone();
        assert_eq!(spec.name(), "system.token(pk)");
        assert_eq!(spec.typ(), &ColumnType::Native(NativeType::BigInt));
        let (token,): (i64,) = result.single_row()?;

        let expected = Murmur3Partitioner.hash_one(&42i32.to_be_bytes()).value();
        assert_eq!(token, expected, "token(pk) is Murmur3 of the serialized key");

        let prepared = session.prepare("SELECT v FROM ks.t WHERE pk = ?").await?;
        let driver_token = prepared.calculate_token(&(42,))?.context("token from pk_indexes")?;
        assert_eq!(driver_token.value(), token);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn unknown_keyspaces_and_tables_are_invalid_requests() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        for query in [
            "SELECT * FROM no_such_keyspace.t",
            "SELECT * FROM ks.no_such_table",
            "INSERT INTO ks.no_such_table (pk) VALUES (1)",
        ] {
            let err = session
                .query_unpaged(query, ())
                .await
                .err()
                .with_context(|| format!("{query} must fail"))?;
            assert_eq!(db_error(&err), Some(&DbError::Invalid), "{query}: {err}");
        }
        let err = session
            .prepare("SELECT * FROM ks.no_such_table WHERE pk = ?")
            .await
            .err()
            .context("prepare must fail")?;
        assert_eq!(prepare_db_error(&err), Some(&DbError::Invalid), "{err}");
        let err = session
            .use_keyspace("no_such_keyspace", false)
            .await
            .err()
            .context("USE must fail")?;
        let use_db_error = match &err {
            UseKeyspaceError::RequestError(RequestAttemptError::DbError(db, _)) => Some(db),
            _ => None,
        };
        assert_eq!(use_db_error, Some(&DbError::Invalid), "USE: {err}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_syntax_error_is_reported_as_syntax_error() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        for query in ["SELEC * FROM system.local", "SELECT * FROM system.local WHERE", "INSERT INTO"] {
            let err = session
                .query_unpaged(query, ())
                .await
                .err()
                .with_context(|| format!("{query} must fail"))?;
            assert_eq!(db_error(&err), Some(&DbError::SyntaxError), "{query}: {err}");
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn insert_if_not_exists_reports_whether_it_applied() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.lwt (pk int PRIMARY KEY, v text)").await?;

        let first = session
            .query_unpaged("INSERT INTO ks.lwt (pk, v) VALUES (1, 'first') IF NOT EXISTS", ())
            .await?
            .into_rows_result()?;
        let names: Vec<String> = first.column_specs().iter().map(|c| c.name().to_string()).collect();
        assert_eq!(names, ["[applied]"]);
        let (applied,): (bool,) = first.single_row()?;
        assert!(applied, "the first INSERT IF NOT EXISTS applies");

        let second = session
            .query_unpaged("INSERT INTO ks.lwt (pk, v) VALUES (1, 'second') IF NOT EXISTS", ())
            .await?
            .into_rows_result()?;
        let names: Vec<String> = second.column_specs().iter().map(|c| c.name().to_string()).collect();
        assert_eq!(names, ["[applied]", "pk", "v"], "a failed LWT returns the existing row");
        let (applied, pk, v): (bool, i32, String) = second.single_row()?;
        assert_eq!((applied, pk, v.as_str()), (false, 1, "first"));

        let (v,): (String,) = session
            .query_unpaged("SELECT v FROM ks.lwt WHERE pk = 1", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(v, "first");
        Ok(())
    })
    .await;
}

/// The node's `system.coordinator_metrics` as name → value, read through a
/// prepared statement (so that reading them parses nothing).
async fn metrics(session: &Session, read: &scylla::statement::prepared::PreparedStatement) -> anyhow::Result<BTreeMap<String, i64>> {
    Ok(session
        .execute_unpaged(read, ())
        .await?
        .into_rows_result()?
        .rows::<(String, i64)>()?
        .collect::<Result<_, _>>()?)
}

#[tokio::test]
async fn executing_a_prepared_statement_parses_nothing() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.t (pk int PRIMARY KEY, v int)").await?;
        let read = session.prepare("SELECT name, value FROM system.coordinator_metrics").await?;
        let insert = session.prepare("INSERT INTO ks.t (pk, v) VALUES (?, ?)").await?;
        let select = session.prepare("SELECT v FROM ks.t WHERE pk = ?").await?;
        // The table is rewritten every gossip round: wait for the prepares to show.
        let counted = |m: &BTreeMap<String, i64>, name: &str| m.get(name).copied().unwrap_or(0);
        let mut before = metrics(&session, &read).await?;
        while counted(&before, "statements_parsed") < 5 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            before = metrics(&session, &read).await?;
        }
        for k in 0..200i32 {
            session.execute_unpaged(&insert, (k, k)).await?;
            let (v,): (i32,) = session.execute_unpaged(&select, (k,)).await?.into_rows_result()?.single_row()?;
            assert_eq!(v, k);
        }
        let executed = counted(&before, "prepared_executed") + 400;
        let mut after = metrics(&session, &read).await?;
        while counted(&after, "prepared_executed") < executed {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            after = metrics(&session, &read).await?;
        }
        let parsed = counted(&after, "statements_parsed") - counted(&before, "statements_parsed");
        // The driver may send a few statements of its own (metadata refreshes).
        assert!(parsed <= 10, "400 EXECUTEs parsed {parsed} statements");
        let compiled = counted(&after, "selects_compiled") - counted(&before, "selects_compiled");
        assert!(compiled <= 10, "200 EXECUTEs of a SELECT compiled {compiled} selections");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_prepared_select_star_sees_a_column_added_after_it_was_prepared() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(&session, "CREATE TABLE ks.t (pk int PRIMARY KEY, v int)").await?;
        session.query_unpaged("INSERT INTO ks.t (pk, v) VALUES (1, 10)", ()).await?;
        let select = session.prepare("SELECT * FROM ks.t WHERE pk = ?").await?;
        let columns = |rows: &scylla::response::query_result::QueryRowsResult| {
            rows.column_specs().iter().map(|c| c.name().to_owned()).collect::<Vec<_>>()
        };
        let rows = session.execute_unpaged(&select, (1,)).await?.into_rows_result()?;
        assert_eq!(columns(&rows), ["pk", "v"]);
        ddl(&session, "ALTER TABLE ks.t ADD w text").await?;
        session.query_unpaged("UPDATE ks.t SET w = 'new' WHERE pk = 1", ()).await?;
        // The plan compiled at PREPARE is for the old table: the new one is used.
        let rows = session.execute_unpaged(&select, (1,)).await?.into_rows_result()?;
        assert_eq!(columns(&rows), ["pk", "v", "w"]);
        let (pk, v, w): (i32, i32, String) = rows.single_row()?;
        assert_eq!((pk, v, w.as_str()), (1, 10, "new"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn lz4_and_snappy_sessions_write_read_and_page_through_compressed_frames() {
    use scylla::client::session_builder::SessionBuilder;
    use scylla::client::Compression;
    let node = TestNode::start().await;
    within_timeout(async {
        let plain = node.session().await?;
        create_keyspace(&plain, "ks").await?;
        ddl(&plain, "CREATE TABLE ks.t (pk int, ck int, v text, PRIMARY KEY (pk, ck))").await?;
        for (pk, compression) in [(1, Compression::Lz4), (2, Compression::Snappy)] {
            let session = SessionBuilder::new()
                .known_node_addr(node.socket_addr())
                .compression(Some(compression))
                .build()
                .await
                .with_context(|| format!("a {compression:?} session"))?;
            let insert = session.prepare("INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?)").await?;
            let text = "a value long and repetitive enough to be worth compressing ".repeat(8);
            for ck in 0..300i32 {
                session.execute_unpaged(&insert, (pk, ck, &text)).await?;
            }
            let mut select = session.prepare("SELECT ck, v FROM ks.t WHERE pk = ?").await?;
            select.set_page_size(100);
            let rows: Vec<(i32, String)> = session
                .execute_iter(select, (pk,))
                .await?
                .rows_stream::<(i32, String)>()?
                .try_collect()
                .await?;
            assert_eq!(rows.len(), 300, "{compression:?}: every row, over three pages");
            assert!(
                rows.iter().enumerate().all(|(i, (ck, v))| *ck == i as i32 && *v == text),
                "{compression:?}: rows in order"
            );
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn keys_longer_than_64_kib_are_refused_as_cassandra_refuses_them_and_nothing_is_written() {
    let node = TestNode::start().await;
    within_timeout(async {
        let session = node.session().await?;
        create_keyspace(&session, "ks").await?;
        ddl(
            &session,
            "CREATE TABLE ks.long_keys (pk text, ck text, v int, PRIMARY KEY (pk, ck))",
        )
        .await?;
        let insert = session.prepare("INSERT INTO ks.long_keys (pk, ck, v) VALUES (?, ?, ?)").await?;
        let update = session.prepare("UPDATE ks.long_keys SET v = ? WHERE pk = ? AND ck = ?").await?;
        let long = "k".repeat(70_000);
        for (pk, ck) in [(long.as_str(), "c"), ("p", long.as_str())] {
            for err in [
                session.execute_unpaged(&insert, (pk, ck, 1)).await.err(),
                session.execute_unpaged(&update, (1, pk, ck)).await.err(),
            ] {
                let err = err.context("a 70,000-byte key must be refused")?;
                match &err {
                    scylla::errors::ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::Invalid, message)) => {
                        assert_eq!(message, "Key length of 70000 is longer than maximum of 65535")
                    }
                    other => panic!("expected an InvalidRequest, got {other:?}"),
                }
            }
        }
        // The node still serves, and nothing of the refused writes is there.
        session.execute_unpaged(&insert, ("p", "c", 2)).await?;
        let rows: Vec<(String, String, i32)> = session
            .query_unpaged("SELECT pk, ck, v FROM ks.long_keys", ())
            .await?
            .into_rows_result()?
            .rows()?
            .collect::<Result<_, _>>()?;
        assert_eq!(rows, [("p".to_string(), "c".to_string(), 2)]);
        Ok(())
    })
    .await;
}
