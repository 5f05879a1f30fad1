"""The DataStax Python driver (cassandra-driver 3.30) against a rustica node, with
the driver's default options: what a Cassandra 4/5 node answers is the spec."""

import time

import pytest
from cassandra import FunctionFailure, InvalidRequest
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.protocol import SyntaxException
from cassandra.query import BatchStatement, BatchType, SimpleStatement

KS = "pydriver"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def cluster(node_address):
    # Default options on purpose: the driver starts above v4 and must downgrade.
    c = Cluster([node_address])
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def session(cluster):
    s = cluster.connect()
    s.execute(f"DROP KEYSPACE IF EXISTS {KS}")
    s.execute(f"CREATE KEYSPACE {KS} WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    s.set_keyspace(KS)
    yield s


def test_driver_connects_with_default_options_and_settles_on_protocol_v4(cluster, session):
    assert cluster.protocol_version == 4
    row = session.execute("SELECT release_version, cql_version FROM system.local").one()
    assert row is not None
    major = int(row.release_version.split(".")[0])
    assert major >= 4, row.release_version
    assert row.cql_version.startswith("3."), row.cql_version


def test_metadata_has_the_system_keyspaces_and_a_created_table_with_its_columns(
        cluster, session):
    session.execute("CREATE TABLE meta_t (pk int, ck text, v bigint, tags set<int>, "
                    "PRIMARY KEY (pk, ck))")
    keyspaces = cluster.metadata.keyspaces
    for name in ("system", "system_schema", KS):
        assert name in keyspaces, sorted(keyspaces)
    ks = keyspaces[KS]
    assert ks.replication_strategy.replication_factor == 1
    assert "meta_t" in ks.tables, sorted(ks.tables)
    table = ks.tables["meta_t"]
    assert [c.name for c in table.partition_key] == ["pk"]
    assert [c.name for c in table.clustering_key] == ["ck"]
    types = {name: col.cql_type for name, col in table.columns.items()}
    assert types == {"pk": "int", "ck": "text", "v": "bigint", "tags": "set<int>"}
    assert table.export_as_string().startswith(f"CREATE TABLE {KS}.meta_t (")


def test_token_map_is_built_and_places_every_key_on_the_node(cluster, session, node_address):
    token_map = cluster.metadata.token_map
    assert token_map is not None
    assert len(token_map.token_to_host_owner) > 0
    owners = {host.address for host in token_map.token_to_host_owner.values()}
    assert owners == {node_address}
    token = token_map.token_class.from_key(b"\x00\x00\x00\x2a")
    replicas = token_map.get_replicas(KS, token)
    assert [h.address for h in replicas] == [node_address]


def test_insert_select_update_and_delete_a_row(session):
    session.execute("CREATE TABLE users (id int PRIMARY KEY, name text, age int)")
    session.execute("INSERT INTO users (id, name, age) VALUES (1, 'ada', 36)")
    session.execute("INSERT INTO users (id, name, age) VALUES (2, 'alan', 41)")
    row = session.execute("SELECT name, age FROM users WHERE id = 1").one()
    assert (row.name, row.age) == ("ada", 36)

    session.execute("UPDATE users SET age = 37 WHERE id = 1")
    assert session.execute("SELECT age FROM users WHERE id = 1").one().age == 37

    session.execute("DELETE age FROM users WHERE id = 1")
    row = session.execute("SELECT name, age FROM users WHERE id = 1").one()
    assert (row.name, row.age) == ("ada", None)

    session.execute("DELETE FROM users WHERE id = 1")
    assert session.execute("SELECT * FROM users WHERE id = 1").one() is None
    ids = sorted(r.id for r in session.execute("SELECT id FROM users"))
    assert ids == [2]


def test_clustering_ranges_and_order_by(session):
    session.execute("CREATE TABLE events (pk int, ck int, v text, PRIMARY KEY (pk, ck))")
    for ck in range(10):
        session.execute("INSERT INTO events (pk, ck, v) VALUES (%s, %s, %s)", (1, ck, f"e{ck}"))
    session.execute("INSERT INTO events (pk, ck, v) VALUES (2, 5, 'other')")

    def cks(query):
        return [r.ck for r in session.execute(query)]

    assert cks("SELECT ck FROM events WHERE pk = 1") == list(range(10))
    assert cks("SELECT ck FROM events WHERE pk = 1 AND ck >= 3 AND ck < 7") == [3, 4, 5, 6]
    assert cks("SELECT ck FROM events WHERE pk = 1 AND ck > 7") == [8, 9]
    assert cks("SELECT ck FROM events WHERE pk = 1 AND ck <= 1") == [0, 1]
    assert cks("SELECT ck FROM events WHERE pk = 1 AND ck >= 3 AND ck < 7 "
               "ORDER BY ck DESC") == [6, 5, 4, 3]
    assert cks("SELECT ck FROM events WHERE pk = 1 ORDER BY ck DESC LIMIT 3") == [9, 8, 7]
    assert cks("SELECT ck FROM events WHERE pk = 1 AND ck IN (2, 4, 100)") == [2, 4]

    session.execute("CREATE TABLE events_desc (pk int, ck int, PRIMARY KEY (pk, ck)) "
                    "WITH CLUSTERING ORDER BY (ck DESC)")
    for ck in (3, 1, 2):
        session.execute("INSERT INTO events_desc (pk, ck) VALUES (0, %s)", (ck,))
    assert cks("SELECT ck FROM events_desc WHERE pk = 0") == [3, 2, 1]
    assert cks("SELECT ck FROM events_desc WHERE pk = 0 ORDER BY ck ASC") == [1, 2, 3]


def test_prepared_statements_with_positional_and_named_markers(session):
    session.execute("CREATE TABLE prep (pk int, ck int, v text, PRIMARY KEY (pk, ck))")
    insert = session.prepare("INSERT INTO prep (pk, ck, v) VALUES (?, ?, ?)")
    assert [c.name for c in insert.column_metadata] == ["pk", "ck", "v"]
    # The node reports which markers make up the partition key (pk_indexes).
    assert insert.routing_key_indexes == [0]
    session.execute(insert, (1, 1, "one"))
    session.execute(insert.bind((1, 2, "two")))

    select = session.prepare("SELECT ck, v FROM prep WHERE pk = :p AND ck = :c")
    assert [c.name for c in select.column_metadata] == ["p", "c"]
    assert select.routing_key_indexes == [0]
    row = session.execute(select, {"p": 1, "c": 2}).one()
    assert (row.ck, row.v) == (2, "two")
    assert session.execute(select, {"c": 9, "p": 1}).one() is None

    by_range = session.prepare("SELECT ck FROM prep WHERE pk = ? AND ck >= ?")
    assert [r.ck for r in session.execute(by_range, (1, 1))] == [1, 2]

    update = session.prepare("UPDATE prep SET v = :v WHERE pk = :pk AND ck = :ck")
    session.execute(update, {"v": "uno", "pk": 1, "ck": 1})
    assert session.execute(select, {"p": 1, "c": 1}).one().v == "uno"


def test_paging_2500_rows_with_fetch_size_100_in_one_partition(session):
    session.execute("CREATE TABLE paging (pk int, ck int, v text, PRIMARY KEY (pk, ck))")
    insert = session.prepare("INSERT INTO paging (pk, ck, v) VALUES (?, ?, ?)")
    results = execute_concurrent_with_args(
        session, insert, [(0, ck, f"v{ck}") for ck in range(2500)], concurrency=50)
    assert all(ok for ok, _ in results)

    rs = session.execute(SimpleStatement("SELECT ck, v FROM paging WHERE pk = 0",
                                         fetch_size=100))
    assert len(rs.current_rows) == 100
    assert rs.has_more_pages
    rows = list(rs)
    assert [r.ck for r in rows] == list(range(2500))
    assert all(r.v == f"v{r.ck}" for r in rows)

    bound = session.prepare("SELECT ck FROM paging WHERE pk = ?").bind((0,))
    bound.fetch_size = 100
    assert [r.ck for r in session.execute(bound)] == list(range(2500))


def test_paging_2500_partitions_with_fetch_size_100_in_token_order(session):
    session.execute("CREATE TABLE paging_parts (pk int PRIMARY KEY, v int)")
    insert = session.prepare("INSERT INTO paging_parts (pk, v) VALUES (?, ?)")
    results = execute_concurrent_with_args(
        session, insert, [(pk, pk * 2) for pk in range(2500)], concurrency=50)
    assert all(ok for ok, _ in results)

    rs = session.execute(SimpleStatement("SELECT token(pk), pk, v FROM paging_parts",
                                         fetch_size=100))
    assert len(rs.current_rows) == 100
    rows = list(rs)
    assert len(rows) == 2500
    assert sorted(r[1] for r in rows) == list(range(2500))
    assert all(r[2] == r[1] * 2 for r in rows)
    tokens = [r[0] for r in rows]
    assert tokens == sorted(tokens), "a full scan returns partitions in token order"


def test_logged_and_unlogged_batches_apply_every_statement(session):
    session.execute("CREATE TABLE batched (pk int, ck int, v text, PRIMARY KEY (pk, ck))")
    insert = session.prepare("INSERT INTO batched (pk, ck, v) VALUES (?, ?, ?)")

    logged = BatchStatement(batch_type=BatchType.LOGGED)
    logged.add(insert, (1, 1, "a"))
    logged.add(insert, (2, 1, "b"))
    logged.add(SimpleStatement("UPDATE batched SET v = %s WHERE pk = %s AND ck = %s"),
               ("c", 1, 2))
    session.execute(logged)

    unlogged = BatchStatement(batch_type=BatchType.UNLOGGED)
    unlogged.add(insert, (3, 1, "d"))
    unlogged.add(SimpleStatement("DELETE FROM batched WHERE pk = 2 AND ck = 1"))
    session.execute(unlogged)

    session.execute("BEGIN BATCH "
                    "INSERT INTO batched (pk, ck, v) VALUES (4, 1, 'e'); "
                    "INSERT INTO batched (pk, ck, v) VALUES (4, 2, 'f'); "
                    "APPLY BATCH")
    session.execute("BEGIN BATCH APPLY BATCH")

    rows = sorted((r.pk, r.ck, r.v) for r in session.execute("SELECT pk, ck, v FROM batched"))
    assert rows == [(1, 1, "a"), (1, 2, "c"), (3, 1, "d"), (4, 1, "e"), (4, 2, "f")]


def test_values_written_with_ttl_1_are_gone_after_2_5_seconds(session):
    session.execute("CREATE TABLE ttl_t (pk int PRIMARY KEY, v text, w text)")
    session.execute("INSERT INTO ttl_t (pk, v) VALUES (1, 'short') USING TTL 1")
    session.execute("INSERT INTO ttl_t (pk, v, w) VALUES (2, 'keep', 'keep')")
    session.execute("UPDATE ttl_t USING TTL 1 SET w = 'short' WHERE pk = 2")
    assert session.execute("SELECT v FROM ttl_t WHERE pk = 1").one().v == "short"

    time.sleep(2.5)

    assert session.execute("SELECT * FROM ttl_t WHERE pk = 1").one() is None
    # Only the cell expires; the row, written without a TTL, stays.
    row = session.execute("SELECT v, w FROM ttl_t WHERE pk = 2").one()
    assert (row.v, row.w) == ("keep", None)


def test_writes_with_the_same_timestamp_resolve_as_cassandra_whatever_their_order(session):
    session.execute("CREATE TABLE ties (k int PRIMARY KEY, v text)")
    # (first write, second write, what Cassandra keeps), all at timestamp 10
    cases = [
        ("'b'", "'a'", ("b", None)),                           # the greater value
        ("'a'", "'b'", ("b", None)),
        ("'z'", "'a' USING TTL 1000", ("a", 1000)),            # an expiring cell over a plain one
        ("'a' USING TTL 1000", "'z'", ("a", 1000)),
        ("'z' USING TTL 1000", "'a' USING TTL 2000", ("a", 2000)),  # the later expiry
        ("'a' USING TTL 2000", "'z' USING TTL 1000", ("a", 2000)),
    ]
    for k, (first, second, _) in enumerate(cases):
        for value in (first, second):
            text, _, ttl = value.partition(" USING ")
            using = "USING TIMESTAMP 10" + (f" AND {ttl}" if ttl else "")
            session.execute(f"INSERT INTO ties (k, v) VALUES ({k}, {text}) {using}")
    for k, (first, second, (value, ttl)) in enumerate(cases):
        row = session.execute(f"SELECT v, ttl(v) AS t FROM ties WHERE k = {k}").one()
        got_ttl = None if row.t is None else (1000 if row.t <= 1000 else 2000)
        assert (row.v, got_ttl) == (value, ttl), f"{first} then {second}"


def test_list_prepends_and_appends_in_one_batch_apply_in_statement_order(session):
    session.execute("CREATE TABLE lists (k int PRIMARY KEY, x list<int>)")
    session.execute("BEGIN BATCH "
                    "UPDATE lists SET x = [1] + x WHERE k = 0; "
                    "UPDATE lists SET x = [2] + x WHERE k = 0; "
                    "UPDATE lists SET x = [3] + x WHERE k = 0; "
                    "UPDATE lists SET x = x + [4] WHERE k = 0; "
                    "UPDATE lists SET x = x + [5] WHERE k = 0; "
                    "APPLY BATCH")
    assert session.execute("SELECT x FROM lists WHERE k = 0").one().x == [3, 2, 1, 4, 5]


def test_multi_column_slices_over_mixed_clustering_order_compare_values(session):
    session.execute("CREATE TABLE mixed (k int, a int, b int, v int, PRIMARY KEY (k, a, b)) "
                    "WITH CLUSTERING ORDER BY (a ASC, b DESC)")
    for a, b in [(0, 0), (0, 5), (1, 0), (1, 1), (2, 0)]:
        session.execute("INSERT INTO mixed (k, a, b, v) VALUES (0, %s, %s, 0)", (a, b))

    def rows(where, *params):
        return [(r.a, r.b) for r in session.execute(f"SELECT a, b FROM mixed WHERE k = 0 AND {where}", params)]

    # Clustering order: a ascending, b descending within it.
    assert rows("(a, b) > (1, 0)") == [(1, 1), (2, 0)]
    assert rows("(a, b) >= (1, 0)") == [(1, 1), (1, 0), (2, 0)]
    assert rows("(a, b) < (1, 1)") == [(0, 5), (0, 0), (1, 0)]
    assert rows("(a, b) > (0, 0) AND (a, b) <= (1, 0)") == [(0, 5), (1, 0)]
    prepared = session.prepare("SELECT a, b FROM mixed WHERE k = 0 AND (a, b) > (?, ?)")
    assert [(r.a, r.b) for r in session.execute(prepared, (1, 0))] == [(1, 1), (2, 0)]


def test_order_by_with_in_sorts_across_partitions_unpaged_and_refuses_paging(session):
    session.execute("CREATE TABLE ordered (k int, c int, PRIMARY KEY (k, c))")
    for k, c in [(1, 1), (1, 3), (2, 2), (2, 4)]:
        session.execute("INSERT INTO ordered (k, c) VALUES (%s, %s)", (k, c))

    def rows(cql):
        return [(r.k, r.c) for r in session.execute(SimpleStatement(cql, fetch_size=None))]

    assert rows("SELECT k, c FROM ordered WHERE k IN (1, 2) ORDER BY c DESC") == [(2, 4), (1, 3), (2, 2), (1, 1)]
    assert rows("SELECT k, c FROM ordered WHERE k IN (2, 1) ORDER BY c ASC LIMIT 3") == [(1, 1), (2, 2), (1, 3)]
    with pytest.raises(InvalidRequest, match="Cannot page queries with both ORDER BY and a IN restriction"):
        session.execute("SELECT k, c FROM ordered WHERE k IN (1, 2) ORDER BY c DESC")


def test_dates_and_timestamps_out_of_range_are_refused_in_cassandras_words(session):
    session.execute("CREATE TABLE dated (k int PRIMARY KEY, d date, t timestamp)")
    session.execute("INSERT INTO dated (k, d) VALUES (1, '+5881580-07-11')")
    session.execute("INSERT INTO dated (k, d) VALUES (2, '-5877641-06-23')")
    refused = {
        "d, '+5881580-07-12'": "Input date +5881580-07-12 is greater than max supported date +5881580-07-11T00:00Z",
        "d, '-5877641-06-22'": "Input date -5877641-06-22 is less than min supported date -5877641-06-23T00:00Z",
        "d, '2023-02-29'": "Unable to coerce '2023-02-29' to a formatted date (long)",
        "d, '4294967296'": "Unable to make unsigned int (for date) from: '4294967296'",
        "t, 'noon'": "Unable to parse a date/time from 'noon'",
        "t, '99999999999999999999'": "Unable to make long (for date) from: '99999999999999999999'",
    }
    for values, message in refused.items():
        column, literal = values.split(", ")
        with pytest.raises(InvalidRequest) as refusal:
            session.execute(f"INSERT INTO dated (k, {column}) VALUES (3, {literal})")
        assert message in str(refusal.value), str(refusal.value)


def test_sets_bound_in_the_clients_order_are_stored_and_compared_in_cassandras(session):
    session.execute("CREATE TABLE frozen_sets (k int PRIMARY KEY, f frozen<set<int>>, "
                    "ss set<frozen<set<int>>>, m map<int, frozen<set<int>>>)")
    insert = session.prepare("INSERT INTO frozen_sets (k, f, ss, m) VALUES (?, ?, ?, ?)")
    # Lists keep the order they are given in on the wire: [2, 1] arrives as 2 then 1.
    session.execute(insert, (1, [2, 1], [[3, 1, 2], [1, 2, 3]], {7: [9, 8]}))
    row = session.execute("SELECT f, ss, m FROM frozen_sets WHERE k = 1").one()
    assert (list(row.f), [list(s) for s in row.ss], {k: list(v) for k, v in row.m.items()}) == \
        ([1, 2], [[1, 2, 3]], {7: [8, 9]})
    applied = session.execute("UPDATE frozen_sets SET f = {3} WHERE k = 1 IF f = {1, 2} AND m[7] = {8, 9}").one()
    assert applied.applied, "the condition compares the stored set with the literal"


def test_per_partition_limit_holds_across_page_boundaries(session):
    session.execute("CREATE TABLE per_partition (k int, c int, PRIMARY KEY (k, c))")
    for k in range(3):
        for c in range(4):
            session.execute("INSERT INTO per_partition (k, c) VALUES (%s, %s)", (k, c))
    for cql in ["SELECT k, c FROM per_partition PER PARTITION LIMIT 2 LIMIT 5",
                "SELECT k, c FROM per_partition WHERE k IN (0, 1, 2) PER PARTITION LIMIT 3",
                "SELECT k, c FROM per_partition PER PARTITION LIMIT 1"]:
        unpaged = [(r.k, r.c) for r in session.execute(SimpleStatement(cql, fetch_size=None))]
        for fetch_size in (1, 2, 3):
            paged = [(r.k, r.c) for r in session.execute(SimpleStatement(cql, fetch_size=fetch_size))]
            assert paged == unpaged, f"{cql} in pages of {fetch_size}"
    assert len(session.execute(SimpleStatement(
        "SELECT k, c FROM per_partition PER PARTITION LIMIT 2 LIMIT 5", fetch_size=None)).current_rows) == 5


def test_blob_conversions_and_clock_functions_in_selections_and_values(session):
    session.execute("CREATE TABLE fns (k int PRIMARY KEY, b blob, u timeuuid, v text)")
    session.execute("INSERT INTO fns (k, b, u, v) VALUES (1, intAsBlob(258), now(), blobAsText(0x6869))")
    row = session.execute("SELECT intAsBlob(k), blobAsInt(b), b, v, bigintAsBlob(5), "
                          "toDate(u), dateOf(u), unixTimestampOf(u), now(), uuid(), currentDate(), "
                          "currentTimestamp() FROM fns WHERE k = 1").one()
    assert row[0] == b"\x00\x00\x00\x01" and row[1] == 258 and row[2] == b"\x00\x00\x01\x02"
    assert row[3] == "hi" and row[4] == b"\x00" * 7 + b"\x05"
    assert row[7] == int(row[6].timestamp() * 1000) and row[8].version == 1 and row[9].version == 4
    assert str(row[5]) == str(row[10]), "written now, read today"
    assert [c for c in session.execute("SELECT intAsBlob(k) FROM fns").column_names] == ["system.intasblob(k)"]
    with pytest.raises(InvalidRequest, match="Type error: v cannot be passed as argument 0 of function system.intasblob of type int"):
        session.execute("SELECT intAsBlob(v) FROM fns")
    with pytest.raises(InvalidRequest, match="In call to function system.blobasint, value 0x6869 is not a valid binary representation for type int"):
        session.execute("SELECT blobAsInt(textAsBlob(v)) FROM fns")


def test_cassandras_guards_on_timestamps_data_centres_and_batch_size(session):
    session.execute("CREATE TABLE guards (k int PRIMARY KEY, v text)")
    with pytest.raises(InvalidRequest, match=r"Out of bound timestamp, must be in \[-9223372036854775807, 9223372036854775807\]"):
        session.execute("INSERT INTO guards (k, v) VALUES (2, 'x') USING TIMESTAMP -9223372036854775808")
    from cassandra.protocol import ConfigurationException
    with pytest.raises(ConfigurationException, match="Unrecognized strategy option {nodc} passed to NetworkTopologyStrategy for keyspace nts"):
        session.execute("CREATE KEYSPACE nts WITH replication = {'class': 'NetworkTopologyStrategy', 'nodc': 3}")
    session.execute("CREATE KEYSPACE IF NOT EXISTS nts WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 1}")
    # 60 KiB over two partitions: past batch_size_fail_threshold_in_kb (50); one partition is let through.
    big = "x" * 30_000
    for keys, refused in (((10, 11), True), ((12, 12), False)):
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for k in keys:
            batch.add(SimpleStatement("INSERT INTO guards (k, v) VALUES (%s, %s)"), (k, big))
        if refused:
            with pytest.raises(InvalidRequest, match="Batch too large"):
                session.execute(batch)
            assert session.execute("SELECT k FROM guards WHERE k = 10").one() is None
        else:
            session.execute(batch)


def test_batches_past_the_warn_thresholds_are_applied_with_cassandras_warnings(session):
    session.execute("CREATE TABLE warned (k int PRIMARY KEY, v text)")
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    for k in (1, 2):
        batch.add(SimpleStatement("INSERT INTO warned (k, v) VALUES (%s, %s)"), (k, "x" * 3000))
    result = session.execute(batch)
    [warning] = result.response_future.warnings
    assert warning.startswith(f"Batch for [{KS}.warned] is of size 5.") and \
        "exceeding specified threshold of 5.000KiB by 0." in warning, warning
    assert session.execute("SELECT count(*) FROM warned").one()[0] == 2
    unlogged = BatchStatement(batch_type=BatchType.UNLOGGED)
    for k in range(11):
        unlogged.add(SimpleStatement("INSERT INTO warned (k, v) VALUES (%s, 'y')"), (k,))
    assert session.execute(unlogged).response_future.warnings == [
        f"Unlogged batch covering 11 partitions detected against table [{KS}.warned]. "
        "You should use a logged batch for atomicity, or asynchronous writes for performance."]
    assert session.execute("SELECT k FROM warned WHERE k = 1").response_future.warnings is None


def test_group_by_partition_and_clustering_prefixes_with_aggregates_limit_and_paging(session):
    session.execute("CREATE TABLE grouped (a int, b int, c int, v int, PRIMARY KEY (a, b, c))")
    for a in range(3):
        for b in range(3):
            for c in range(2):
                session.execute("INSERT INTO grouped (a, b, c, v) VALUES (%s, %s, %s, %s)", (a, b, c, a * 100 + b * 10 + c))

    def rows(cql, fetch_size=None):
        return [tuple(r) for r in session.execute(SimpleStatement(cql, fetch_size=fetch_size))]

    assert sorted(rows("SELECT a, count(*), max(v) FROM grouped GROUP BY a")) == [(0, 6, 21), (1, 6, 121), (2, 6, 221)]
    by_ab = rows("SELECT a, b, count(*), sum(v) FROM grouped GROUP BY a, b")
    assert sorted(by_ab) == [(a, b, 2, 2 * (a * 100 + b * 10) + 1) for a in range(3) for b in range(3)]
    assert rows("SELECT a, b, count(*), sum(v) FROM grouped GROUP BY a, b LIMIT 4") == by_ab[:4]
    for fetch_size in (1, 2, 4):
        assert rows("SELECT a, b, count(*), sum(v) FROM grouped GROUP BY a, b", fetch_size) == by_ab, fetch_size
    # Without an aggregate, each group's first row.
    assert rows("SELECT a, b, c FROM grouped WHERE a = 1 GROUP BY a, b") == [(1, 0, 0), (1, 1, 0), (1, 2, 0)]
    for bad, message in (("GROUP BY b", "following their declared order in the PRIMARY KEY"),
                         ("GROUP BY a, c", "following their declared order in the PRIMARY KEY"),
                         ("GROUP BY a, v", "only supported on the columns of the PRIMARY KEY, got v")):
        with pytest.raises(InvalidRequest, match=message):
            session.execute(f"SELECT count(*) FROM grouped {bad}")


def test_insert_json_reads_every_kind_of_value_and_default_null_or_unset(session):
    session.execute("CREATE TABLE jsoned (k int, c text, v bigint, d double, b blob, t timestamp, "
                    "l list<int>, m map<int, text>, s set<text>, \"Mixed\" text, PRIMARY KEY (k, c))")
    session.execute("""INSERT INTO jsoned JSON '{"k": 1, "c": "a", "v": "9000000000", "d": 1.5, "b": "0xcafe",
                       "t": "2014-01-01 12:15:45.000Z", "l": [3, 1], "m": {"2": "two"}, "s": ["y", "x", "y"],
                       "\\"Mixed\\"": "kept"}'""")
    row = session.execute("SELECT * FROM jsoned WHERE k = 1").one()
    assert (row.v, row.d, row.b, list(row.l), dict(row.m), sorted(row.s), row.Mixed) == \
        (9000000000, 1.5, b"\xca\xfe", [3, 1], {2: "two"}, ["x", "y"], "kept")
    assert row.t.isoformat() == "2014-01-01T12:15:45"
    # DEFAULT UNSET keeps what the JSON leaves out; DEFAULT NULL (the default) clears it.
    session.execute("""INSERT INTO jsoned JSON '{"k": 1, "c": "a", "v": 7}' DEFAULT UNSET""")
    row = session.execute("SELECT v, d FROM jsoned WHERE k = 1").one()
    assert (row.v, row.d) == (7, 1.5)
    prepared = session.prepare("INSERT INTO jsoned JSON ?")
    session.execute(prepared, ['{"k": 1, "c": "a", "v": 8}'])
    row = session.execute("SELECT v, d FROM jsoned WHERE k = 1").one()
    assert (row.v, row.d) == (8, None)
    assert session.execute("SELECT JSON k, v FROM jsoned WHERE k = 1").one()[0] == '{"k": 1, "v": 8}'
    for bad, message in (('{"k": 1, "c": "a", "nope": 1}', "JSON values map contains unrecognized column: nope"),
                         ('{"k": 1, "c": 5}', "Expected a UTF-8 string, but got a Integer: 5"),
                         ('[1]', "Could not decode JSON string as a map")):
        with pytest.raises(InvalidRequest, match=message):
            session.execute(prepared, [bad])


def test_from_json_reads_a_value_of_the_columns_type_in_inserts_and_updates(session):
    session.execute("CREATE TABLE from_json (k int PRIMARY KEY, a ascii, l list<int>, m map<text, int>, t timestamp)")
    session.execute("""INSERT INTO from_json (k, a, l, m, t) VALUES (1, fromJson('"hi"'), fromJson('[1, 2]'),
                       fromJson('{"x": 3}'), fromJson('"2014-01-01 12:15:45.000Z"'))""")
    prepared = session.prepare("UPDATE from_json SET l = fromJson(?) WHERE k = ?")
    session.execute(prepared, ["[9]", 1])
    row = session.execute("SELECT * FROM from_json WHERE k = 1").one()
    assert (row.a, list(row.l), dict(row.m), row.t.isoformat()) == ("hi", [9], {"x": 3}, "2014-01-01T12:15:45")
    session.execute("INSERT INTO from_json (k, a) VALUES (2, fromJson('null'))")
    assert session.execute("SELECT a FROM from_json WHERE k = 2").one().a is None
    with pytest.raises(FunctionFailure, match="execution of 'system.fromjson\\[text\\]' failed: .*"
                       "Expected an ascii string, but got a Integer: 123"):
        session.execute("INSERT INTO from_json (k, a) VALUES (3, fromJson('123'))")
    with pytest.raises(FunctionFailure, match="Could not decode JSON string '{bad'"):
        session.execute("INSERT INTO from_json (k, a) VALUES (3, fromJson('{bad'))")


def test_unknown_table_and_keyspace_are_invalid_request(session):
    with pytest.raises(InvalidRequest):
        session.execute("SELECT * FROM no_such_table")
    with pytest.raises(InvalidRequest):
        session.execute("SELECT * FROM no_such_keyspace.t")
    with pytest.raises(InvalidRequest):
        session.execute("INSERT INTO no_such_table (pk) VALUES (1)")


def test_a_syntax_error_is_syntax_exception(session):
    with pytest.raises(SyntaxException):
        session.execute("SELEC * FROM users")
    with pytest.raises(SyntaxException):
        session.execute("SELECT * FROM users WHERE")
