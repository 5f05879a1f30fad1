//! Parse, print, parse again: the two ASTs must be equal.

use super::*;

pub(super) const CORPUS: &[&str] = &[
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
    "CREATE KEYSPACE IF NOT EXISTS \"Ks\" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 1} AND durable_writes = false",
    "ALTER KEYSPACE ks WITH durable_writes = true",
    "ALTER KEYSPACE IF EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'}",
    "DROP KEYSPACE ks",
    "DROP KEYSPACE IF EXISTS \"Ks\"",
    "CREATE TABLE t (a int PRIMARY KEY, b text)",
    "CREATE TABLE ks.t (a int, b text, PRIMARY KEY (a))",
    "CREATE TABLE t (a int, c int, v blob, PRIMARY KEY (a, c))",
    "CREATE TABLE IF NOT EXISTS ks.t (a int, b text, c list<int>, d frozen<map<text, set<int>>>, e my_udt, f frozen<tuple<int, text>>, s int STATIC, PRIMARY KEY ((a, b), c, d)) WITH CLUSTERING ORDER BY (c DESC, d ASC) AND comment = 'x' AND default_time_to_live = 0 AND gc_grace_seconds = 864000 AND compaction = {'class': 'SizeTieredCompactionStrategy'} AND compression = {'chunk_length_in_kb': 64, 'class': 'LZ4Compressor'} AND COMPACT STORAGE",
    "CREATE TABLE t (\"Key\" text, \"select\" int, key int, type text, PRIMARY KEY (\"Key\", \"select\"))",
    "CREATE TABLE t (a ascii, b bigint, c blob, d boolean, e counter, f date, g decimal, h double, i duration, j float, k inet, l int, m smallint, n text, o time, p timestamp, q timeuuid, r tinyint, s uuid, u varint, PRIMARY KEY (a))",
    "CREATE TABLE t (a int PRIMARY KEY, b 'org.apache.cassandra.db.marshal.UTF8Type', c ks.\"MyType\", d \"int\")",
    "CREATE TABLE t (a int PRIMARY KEY) WITH caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'} AND bloom_filter_fp_chance = 0.01 AND speculative_retry = '99p' AND extensions = {} AND cdc = false AND memtable = 'default' AND crc_check_chance = 1.0",
    "ALTER TABLE t ADD c int",
    "ALTER TABLE ks.t ADD (c int, d text STATIC)",
    "ALTER TABLE t DROP c",
    "ALTER TABLE t DROP (c, d)",
    "ALTER TABLE t RENAME a TO b",
    "ALTER TABLE t RENAME a TO b AND c TO \"D\"",
    "ALTER TABLE t ALTER c TYPE blob",
    "ALTER TABLE IF EXISTS t WITH comment = 'it''s' AND gc_grace_seconds = 0",
    "DROP TABLE t",
    "DROP TABLE IF EXISTS ks.t",
    "TRUNCATE t",
    "TRUNCATE TABLE ks.t",
    "CREATE TYPE ks.address (street text, zip int, tags frozen<set<text>>)",
    "CREATE TYPE IF NOT EXISTS \"Addr\" (\"Street\" text)",
    "DROP TYPE address",
    "DROP TYPE IF EXISTS ks.address",
    "CREATE INDEX ON t (v)",
    "SELECT * FROM t WHERE m['k'] = 1 AND n[?] = ?",
    "CREATE INDEX IF NOT EXISTS \"By\" ON ks.t (entries(m))",
    "CREATE INDEX k_idx ON t (keys(m))",
    "CREATE INDEX ON t (full(f))",
    "DROP INDEX IF EXISTS ks.k_idx",
    "USE ks",
    "CREATE ROLE alice",
    "CREATE ROLE IF NOT EXISTS 'Bob' WITH PASSWORD = 'it''s' AND LOGIN = true AND SUPERUSER = false",
    "CREATE USER carol WITH PASSWORD 'p' SUPERUSER",
    "ALTER ROLE alice WITH PASSWORD = 'new'",
    "ALTER USER carol WITH PASSWORD 'q' NOSUPERUSER",
    "DROP ROLE IF EXISTS alice",
    "DROP USER carol",
    "LIST ROLES",
    "LIST ROLES OF alice",
    "LIST USERS",
    "GRANT SELECT ON KEYSPACE ks TO alice",
    "GRANT ALL PERMISSIONS ON ALL KEYSPACES TO alice",
    "GRANT MODIFY PERMISSION ON TABLE ks.t TO \"Bob\"",
    "GRANT AUTHORIZE ON ks.t TO alice",
    "REVOKE ALTER ON ALL ROLES FROM alice",
    "REVOKE DROP ON ROLE bob FROM alice",
    "LIST ALL PERMISSIONS",
    "LIST ALL PERMISSIONS OF alice",
    "LIST SELECT ON KEYSPACE ks OF alice NORECURSIVE",
    "USE \"Ks\"",
    "INSERT INTO t (a, b) VALUES (1, 'x')",
    "INSERT INTO ks.t (a, b) VALUES (?, ?) IF NOT EXISTS USING TTL 10 AND TIMESTAMP 123",
    "INSERT INTO t (a) VALUES (:a) USING TIMESTAMP ?",
    "INSERT INTO t JSON '{\"a\": 1}'",
    "INSERT INTO t JSON ? IF NOT EXISTS USING TTL 5",
    "INSERT INTO t (a, b, c, d, e) VALUES ([1, 2], {1, 2}, {'k': 'v'}, (1, 'a'), {f: 1, \"G\": 'x'})",
    "INSERT INTO t (a, b, c, d) VALUES (now(), uuid(), toTimestamp(now()), currentTimestamp())",
    "INSERT INTO t (a, b, c) VALUES ((int) ?, (frozen<list<text>>) ?, (tuple<int, int>) (1, 2))",
    "INSERT INTO t (a, b, c, d, e, f) VALUES (-12, 1.5, -2e3, NaN, Infinity, -Infinity)",
    "INSERT INTO t (a, b, c, d) VALUES (123e4567-e89b-12d3-a456-426614174000, 0xCAFE, 0x, true)",
    "INSERT INTO t (a, b, c, d, e) VALUES (1h30m, 1y2mo, P1DT2H, P2W, -3d)",
    "INSERT INTO t (a, b) VALUES ($$dollar 'quoted'$$, NULL)",
    "INSERT INTO t (a, b) VALUES ({}, [])",
    "UPDATE t SET a = 1 WHERE k = 1",
    "UPDATE t USING TTL ? AND TIMESTAMP ? SET a = 1, l = l + [1], l = [0] + l, s = s - {1}, m['k'] = 'v', m = m + {'k': 'v'}, c = c + 1, c += 1, c -= 1, u.f = 3 WHERE k = ?",
    "UPDATE ks.t SET a = ? WHERE k = ? IF EXISTS",
    "UPDATE t SET a = 2 WHERE k = 1 IF a = 1 AND m['k'] = 'v'",
    "UPDATE t SET a = 2 WHERE k = 1 AND c IN (1, 2) IF b != null AND d IN (1, 2)",
    "UPDATE t USING TIMESTAMP 5 SET \"Col\" = 'x' WHERE k = 1",
    "DELETE FROM t WHERE k = 1",
    "DELETE a, m['k'], u.f FROM t USING TIMESTAMP 1 WHERE k = 1",
    "DELETE FROM ks.t WHERE k = ? IF EXISTS",
    "DELETE a FROM t WHERE k = 1 AND c > 2 IF a = 3",
    "SELECT * FROM t",
    "SELECT * FROM system.local WHERE key = 'local'",
    "SELECT peer, data_center, rack, tokens, rpc_address, schema_version FROM system.peers",
    "SELECT keyspace_name, table_name, column_name, clustering_order, column_name_bytes, kind, position, type FROM system_schema.columns",
    "SELECT JSON a, b FROM t",
    "SELECT DISTINCT a FROM t",
    "SELECT JSON DISTINCT a AS x FROM ks.t WHERE a = ? GROUP BY a ORDER BY c DESC PER PARTITION LIMIT 2 LIMIT 10 ALLOW FILTERING",
    "SELECT count(*), count(1), writetime(c), ttl(c), token(a, b), toJson(c), max(c) FROM t",
    "SELECT f(g(c), 1), CAST(c AS text), u.f, 'lit', now(), count(c) AS n FROM t",
    "SELECT * FROM t WHERE a IN (1, 2) AND b IN ? AND c > 1 AND c <= 5",
    "SELECT * FROM t WHERE (c, d) > (1, 2) AND (c, d) IN ((1, 2), (3, 4))",
    "SELECT * FROM t WHERE token(a, b) > ? AND token(a) <= token(5)",
    "SELECT * FROM t WHERE a != 1 AND l CONTAINS 1 AND m CONTAINS KEY 'k' AND n LIKE 'x%'",
    "SELECT * FROM t WHERE a IN ()",
    "SELECT * FROM t WHERE a = :name AND b = :\"Other\"",
    "SELECT json, distinct, count, ttl FROM t",
    "SELECT \"Mixed\", \"with space\" AS \"Alias\" FROM \"Ks\".\"Tab\"",
    "BEGIN BATCH APPLY BATCH",
    "BEGIN BATCH INSERT INTO t (a) VALUES (1); UPDATE t SET a = 2 WHERE k = 1; DELETE FROM t WHERE k = 2; APPLY BATCH",
    "BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (a) VALUES (?) APPLY BATCH",
    "BEGIN COUNTER BATCH UPDATE t SET c = c + 1 WHERE k = ?; UPDATE t SET c = c - 1 WHERE k = ?; APPLY BATCH",
    "DESCRIBE CLUSTER",
    "DESCRIBE KEYSPACES",
    "DESCRIBE ONLY KEYSPACE ks",
    "DESCRIBE KEYSPACE",
    "DESCRIBE TABLES",
    "DESCRIBE TABLE ks.t",
    "DESCRIBE TYPES",
    "DESCRIBE TYPE t",
    "DESCRIBE FUNCTIONS",
    "DESCRIBE AGGREGATES",
    "DESCRIBE FULL SCHEMA",
    "DESCRIBE SCHEMA",
    "DESCRIBE ks",
    "DESCRIBE ks.t",
    "DESCRIBE \"tables\"",
];

#[test]
fn every_corpus_statement_survives_print_then_parse() {
    assert!(CORPUS.len() >= 80, "corpus has {} statements", CORPUS.len());
    for text in CORPUS {
        let first = parse(text);
        let printed = first.to_string();
        let second = match parse_statement(&printed) {
            Ok(s) => s,
            Err(e) => panic!("{text}\nprinted as {printed}\nwhich fails: {e}"),
        };
        assert_eq!(first, second, "{text}\nprinted as {printed}");
    }
}

#[test]
fn printing_is_stable_after_one_round() {
    for text in CORPUS {
        let once = parse(text).to_string();
        let twice = parse(&once).to_string();
        assert_eq!(once, twice, "{text}");
    }
}

#[test]
fn printed_statements_read_like_cql() {
    assert_eq!(
        parse("update T using ttl 5 set L = l + [1] where K = 'it''s'").to_string(),
        "UPDATE t USING TTL 5 SET l = l + [1] WHERE k = 'it''s'"
    );
    assert_eq!(
        parse("create table t (a int, b int, primary key ((a), b)) with clustering order by (b desc)").to_string(),
        "CREATE TABLE t (a int, b int, PRIMARY KEY (a, b)) WITH CLUSTERING ORDER BY (b DESC)"
    );
}
