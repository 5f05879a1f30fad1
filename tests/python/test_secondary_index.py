"""Secondary indexes (issue 17) through the DataStax Python driver, as Cassandra's
legacy indexes answer them: CREATE / DROP INDEX with Cassandra's errors, the
index in system_schema.indexes, in the driver's metadata and in DESCRIBE, and
queries by an indexed column without ALLOW FILTERING (regular columns, a
collection's values and keys, a whole frozen collection, a clustering column, a
partition key component) that follow updates, deletes and TTLs, with paging and
LIMIT.

Every test runs twice: against one node (127.0.93.1, RF 1) and against three
nodes (127.0.94.1-3, RF 3, written and read at QUORUM, each statement sent to a
different node in turn)."""

import itertools
import re
import tempfile
import time
from pathlib import Path

import pytest
from cassandra import ConsistencyLevel, InvalidRequest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import RoundRobinPolicy, WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

from conftest import CQL_PORT, Node, stop_cluster

KS = "idx"
UP_TIMEOUT_S = 40
FILTERING = ("Cannot execute this query as it might involve data filtering and thus may have unpredictable "
             "performance. If you want to execute this query despite the performance unpredictability, "
             "use ALLOW FILTERING")

pytestmark = pytest.mark.timeout(240)

SETUPS = {
    "one_node": (["127.0.93.1"], 1),
    "three_nodes": (["127.0.94.1", "127.0.94.2", "127.0.94.3"], 3),
}


def connect(addresses):
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(),
                               consistency_level=ConsistencyLevel.QUORUM, request_timeout=20)
    return Cluster(addresses, port=CQL_PORT, protocol_version=4,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile})


def wait_all_up(addresses):
    deadline = time.monotonic() + UP_TIMEOUT_S
    for address in addresses:
        # Pinned: each node must see every node UN itself, not whichever node
        # the driver would ask.
        c = Cluster([address], port=CQL_PORT, protocol_version=4, execution_profiles={
            EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([address]))})
        try:
            session = c.connect()
            while sum(1 for r in session.execute("SELECT state FROM system.cluster_status")
                      if r.state == "UN") < len(addresses):
                if time.monotonic() > deadline:
                    pytest.fail(f"{address} does not list every node UN")
                time.sleep(0.2)
        finally:
            c.shutdown()


@pytest.fixture(scope="module", params=list(SETUPS))
def cluster(request):
    addresses, rf = SETUPS[request.param]
    work_dir = Path(tempfile.mkdtemp(prefix=f"rustica-pytest-index-{request.param}-"))
    nodes = []
    for k, address in enumerate(addresses, 1):
        data_dir = work_dir / f"node{k}"
        data_dir.mkdir()
        nodes.append(Node(address, CQL_PORT, data_dir, work_dir / f"node{k}.log", seeds=addresses[:1]))
    client = None
    try:
        for n in nodes:
            n.spawn()
        for n in nodes:
            n.wait_for_port()
        wait_all_up(addresses)
        client = connect(addresses)
        session = client.connect()
        session.execute(f"CREATE KEYSPACE {KS} WITH replication = "
                        f"{{'class': 'SimpleStrategy', 'replication_factor': {rf}}}")
        session.set_keyspace(KS)
        yield client, session, nodes
    finally:
        if client is not None:
            client.shutdown()
        stop_cluster(request, nodes, work_dir, f"index {request.param}", tail_lines=60)


_tables = itertools.count()


@pytest.fixture
def session(cluster):
    return cluster[1]


def table(session, columns: str) -> str:
    """A fresh table of the given columns; returns its name."""
    name = f"t{next(_tables)}"
    session.execute(f"CREATE TABLE {name} ({columns})")
    return name


def rows(session, query, *args, fetch_size=None):
    statement = SimpleStatement(query, fetch_size=fetch_size)
    return sorted(tuple(r) for r in session.execute(statement, args or None))


def refused(session, query, message):
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        session.execute(query)


def test_an_index_gets_cassandras_default_name_and_shows_in_schema_tables_metadata_and_describe(cluster):
    client, session, _ = cluster
    t = table(session, "k int PRIMARY KEY, v int, m map<text, int>")
    session.execute(f"CREATE INDEX ON {t} (v)")
    session.execute(f"CREATE INDEX by_key ON {KS}.{t} (keys(m))")
    stored = rows(session, "SELECT index_name, kind, options FROM system_schema.indexes "
                           "WHERE keyspace_name = %s AND table_name = %s", KS, t)
    assert stored == [("by_key", "COMPOSITES", {"target": "keys(m)"}),
                      (f"{t}_v_idx", "COMPOSITES", {"target": "v"})]
    client.refresh_schema_metadata()
    meta = client.metadata.keyspaces[KS].tables[t]
    assert sorted(meta.indexes) == ["by_key", f"{t}_v_idx"]
    assert meta.indexes[f"{t}_v_idx"].index_options == {"target": "v"}
    assert meta.indexes["by_key"].as_cql_query() == f"CREATE INDEX by_key ON {KS}.{t} (keys(m))"
    described = [(r.type, r.name, r.create_statement) for r in session.execute(f"DESCRIBE TABLE {t}")]
    assert described[1:] == [("index", f"{t}_v_idx", f"CREATE INDEX {t}_v_idx ON {KS}.{t} (v);"),
                             ("index", "by_key", f"CREATE INDEX by_key ON {KS}.{t} (keys(m));")]
    index = session.execute(f"DESCRIBE INDEX {KS}.by_key").one()
    assert index.create_statement == f"CREATE INDEX by_key ON {KS}.{t} (keys(m));"
    # A second default name for the same column target gets a suffix.
    session.execute(f"CREATE INDEX ON {t} (values(m))")
    names = [r.index_name for r in session.execute(
        "SELECT index_name FROM system_schema.indexes WHERE keyspace_name = %s AND table_name = %s", (KS, t))]
    assert f"{t}_m_idx" in names


def test_create_and_drop_index_refuse_bad_targets_with_cassandras_words(session):
    t = table(session, "k int PRIMARY KEY, v int, l list<int>, f frozen<set<int>>, u text")
    session.execute(f"CREATE INDEX named ON {t} (v)")
    refused(session, f"CREATE INDEX named ON {t} (u)", "Index 'named' already exists")
    session.execute(f"CREATE INDEX IF NOT EXISTS named ON {t} (u)")
    refused(session, f"CREATE INDEX other ON {t} (v)", "Index other is a duplicate of existing index named")
    refused(session, f"CREATE INDEX ON {t} (k)", "Cannot create secondary index on the only partition key column k")
    refused(session, f"CREATE INDEX ON {t} (f)",
            "Cannot create values() index on frozen column f. Frozen collections are immutable and must be "
            "fully indexed by using the 'full(f)' modifier")
    refused(session, f"CREATE INDEX ON {t} (full(l))", "full() indexes can only be created on frozen collections")
    refused(session, f"CREATE INDEX ON {t} (keys(l))", "Cannot create index on keys of column l with non-map type")
    refused(session, f"CREATE INDEX ON {t} (entries(v))",
            "Cannot create entries() index on v. Non-collection columns only support simple indexes")
    refused(session, f"CREATE INDEX ON {t} (nope)", f"Undefined column name nope in table {KS}.{t}")
    refused(session, "CREATE INDEX ON nowhere (v)", "Table 'nowhere' doesn't exist")
    counters = table(session, "k int PRIMARY KEY, n counter")
    refused(session, f"CREATE INDEX ON {counters} (n)", "Secondary indexes on counter tables aren't supported")
    refused(session, f"ALTER TABLE {t} DROP v", "Cannot drop column v because it has dependent secondary indexes (named)")
    refused(session, "DROP INDEX nope", f"Index '{KS}.nope' doesn't exist")
    session.execute("DROP INDEX IF EXISTS nope")
    session.execute(f"DROP INDEX {KS}.named")
    assert rows(session, "SELECT index_name FROM system_schema.indexes WHERE keyspace_name = %s AND table_name = %s",
                KS, t) == []


def test_a_query_by_an_indexed_column_needs_no_allow_filtering_and_other_relations_still_do(session):
    t = table(session, "k int, c int, v int, w int, PRIMARY KEY (k, c)")
    for k in range(6):
        for c in range(3):
            session.execute(f"INSERT INTO {t} (k, c, v, w) VALUES (%s, %s, %s, %s)", (k, c, (k + c) % 3, c))
    refused(session, f"SELECT k, c FROM {t} WHERE v = 1", FILTERING)
    session.execute(f"CREATE INDEX ON {t} (v)")
    expected = sorted((k, c) for k in range(6) for c in range(3) if (k + c) % 3 == 1)
    assert rows(session, f"SELECT k, c FROM {t} WHERE v = 1") == expected
    prepared = session.prepare(f"SELECT k, c FROM {t} WHERE v = ?")
    assert sorted(tuple(r) for r in session.execute(prepared, (1,))) == expected
    assert rows(session, f"SELECT k, c FROM {t} WHERE k = 2 AND v = 1") == [(2, 2)]
    assert rows(session, f"SELECT k, c FROM {t} WHERE v = 1 AND c = 0") == [(1, 0), (4, 0)]
    refused(session, f"SELECT k, c FROM {t} WHERE v = 1 AND w = 0", FILTERING)
    assert rows(session, f"SELECT k, c FROM {t} WHERE v = 1 AND w = 0 ALLOW FILTERING") == [(1, 0), (4, 0)]
    refused(session, f"SELECT k, c FROM {t} WHERE k = 2 AND v = 1 ORDER BY c DESC",
            "ORDER BY with 2ndary indexes is not supported.")
    session.execute(f"DROP INDEX {t}_v_idx")
    refused(session, f"SELECT k, c FROM {t} WHERE v = 1", FILTERING)


def test_an_index_follows_updates_deletes_and_ttls(session):
    t = table(session, "k int PRIMARY KEY, v text")
    session.execute(f"CREATE INDEX ON {t} (v)")
    for k in range(4):
        session.execute(f"INSERT INTO {t} (k, v) VALUES (%s, 'a')", (k,))
    session.execute(f"UPDATE {t} SET v = 'b' WHERE k = 1")
    session.execute(f"DELETE FROM {t} WHERE k = 2")
    session.execute(f"DELETE v FROM {t} WHERE k = 3")
    assert rows(session, f"SELECT k FROM {t} WHERE v = 'a'") == [(0,)]
    assert rows(session, f"SELECT k FROM {t} WHERE v = 'b'") == [(1,)]
    session.execute(f"INSERT INTO {t} (k, v) VALUES (9, 'short') USING TTL 1")
    assert rows(session, f"SELECT k FROM {t} WHERE v = 'short'") in ([(9,)], [])
    deadline = time.monotonic() + 20
    while rows(session, f"SELECT k FROM {t} WHERE v = 'short'"):
        assert time.monotonic() < deadline, "an expired row still answers its index"
        time.sleep(0.3)


def test_collection_indexes_answer_contains_contains_key_and_whole_frozen_values(session):
    t = table(session, "k int PRIMARY KEY, l list<text>, m map<text, int>, f frozen<set<int>>")
    session.execute(f"INSERT INTO {t} (k, l, m, f) VALUES (1, ['x', 'y'], {{'a': 1}}, {{1, 2}})")
    session.execute(f"INSERT INTO {t} (k, l, m, f) VALUES (2, ['y'], {{'b': 2}}, {{3}})")
    refused(session, f"SELECT k FROM {t} WHERE l CONTAINS 'y'", FILTERING)
    session.execute(f"CREATE INDEX ON {t} (l)")
    session.execute(f"CREATE INDEX ON {t} (keys(m))")
    session.execute(f"CREATE INDEX ON {t} (full(f))")
    assert rows(session, f"SELECT k FROM {t} WHERE l CONTAINS 'y'") == [(1,), (2,)]
    assert rows(session, f"SELECT k FROM {t} WHERE l CONTAINS 'x'") == [(1,)]
    assert rows(session, f"SELECT k FROM {t} WHERE m CONTAINS KEY 'b'") == [(2,)]
    refused(session, f"SELECT k FROM {t} WHERE m CONTAINS 2", FILTERING)
    assert rows(session, f"SELECT k FROM {t} WHERE f = {{2, 1}}") == [(1,)]
    session.execute(f"UPDATE {t} SET l = l - ['x'] WHERE k = 1")
    assert rows(session, f"SELECT k FROM {t} WHERE l CONTAINS 'x'") == []


def test_an_entries_index_answers_a_map_entry_and_a_prepared_one(session):
    t = table(session, "k int PRIMARY KEY, m map<text, int>")
    session.execute(f"INSERT INTO {t} (k, m) VALUES (1, {{'a': 1, 'b': 2}})")
    session.execute(f"INSERT INTO {t} (k, m) VALUES (2, {{'a': 2}})")
    refused(session, f"SELECT k FROM {t} WHERE m['a'] = 1", FILTERING)
    assert rows(session, f"SELECT k FROM {t} WHERE m['a'] = 1 ALLOW FILTERING") == [(1,)]
    session.execute(f"CREATE INDEX ON {t} (entries(m))")
    assert rows(session, f"SELECT k FROM {t} WHERE m['a'] = 1") == [(1,)]
    assert rows(session, f"SELECT k FROM {t} WHERE m['a'] = 2") == [(2,)]
    prepared = session.prepare(f"SELECT k FROM {t} WHERE m[?] = ?")
    assert [tuple(r) for r in session.execute(prepared, ("b", 2))] == [(1,)]
    session.execute(f"UPDATE {t} SET m['a'] = 5 WHERE k = 1")
    assert rows(session, f"SELECT k FROM {t} WHERE m['a'] = 1") == []
    assert rows(session, f"SELECT k FROM {t} WHERE m['a'] = 5") == [(1,)]


def test_clustering_and_partition_key_component_indexes_answer_equality(session):
    t = table(session, "a int, b int, c int, v int, PRIMARY KEY ((a, b), c)")
    for a in range(3):
        for b in range(2):
            for c in range(2):
                session.execute(f"INSERT INTO {t} (a, b, c, v) VALUES (%s, %s, %s, 0)", (a, b, c))
    refused(session, f"SELECT a, b, c FROM {t} WHERE b = 1", FILTERING)
    session.execute(f"CREATE INDEX ON {t} (b)")
    session.execute(f"CREATE INDEX ON {t} (c)")
    assert rows(session, f"SELECT a, b, c FROM {t} WHERE b = 1") == [(a, 1, c) for a in range(3) for c in range(2)]
    assert rows(session, f"SELECT a, b, c FROM {t} WHERE c = 1") == [(a, b, 1) for a in range(3) for b in range(2)]


def test_an_index_on_a_table_with_data_answers_at_once_and_pages(session):
    t = table(session, "k int PRIMARY KEY, v int")
    for k in range(60):
        session.execute(f"INSERT INTO {t} (k, v) VALUES (%s, %s)", (k, k % 2))
    session.execute(f"CREATE INDEX ON {t} (v)")
    paged = rows(session, f"SELECT k FROM {t} WHERE v = 1", fetch_size=7)
    assert paged == [(k,) for k in range(1, 60, 2)]
    limited = rows(session, f"SELECT k FROM {t} WHERE v = 0 LIMIT 10", fetch_size=4)
    assert len(limited) == 10 and all(k % 2 == 0 for (k,) in limited)
    assert session.execute(f"SELECT count(*) FROM {t} WHERE v = 0").one().count == 30


def test_a_static_column_index_answers_with_every_row_of_the_partition(session):
    t = table(session, "k int, c int, s text static, PRIMARY KEY (k, c)")
    session.execute(f"CREATE INDEX ON {t} (s)")
    for k in range(3):
        for c in range(2):
            session.execute(f"INSERT INTO {t} (k, c, s) VALUES (%s, %s, %s)", (k, c, "x" if k == 1 else "y"))
    assert rows(session, f"SELECT k, c FROM {t} WHERE s = 'x'") == [(1, 0), (1, 1)]
    session.execute(f"UPDATE {t} SET s = 'x' WHERE k = 2")
    assert rows(session, f"SELECT k, c FROM {t} WHERE s = 'x'") == [(1, 0), (1, 1), (2, 0), (2, 1)]


def pinned_session(address, consistency):
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([address]),
                               consistency_level=consistency, request_timeout=20)
    client = Cluster([address], port=CQL_PORT, protocol_version=4,
                     execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    return client, client.connect(KS)


def test_index_queries_hold_with_a_node_down_and_after_it_restarts(cluster):
    # Last in the module: it restarts a node under the shared session.
    _, session, nodes = cluster
    t = table(session, "k int PRIMARY KEY, v int")
    session.execute(f"CREATE INDEX ON {t} (v)")
    for k in range(10):
        session.execute(f"INSERT INTO {t} (k, v) VALUES (%s, %s)", (k, k % 2))
    assert rows(session, f"SELECT k FROM {t} WHERE v = 1") == [(k,) for k in range(1, 10, 2)]
    victim = nodes[-1]
    victim.stop()
    expected = [(0,)] + [(k,) for k in range(1, 10, 2)]
    if len(nodes) > 1:
        # Written and read at QUORUM while one replica of three is down.
        client, first = pinned_session(nodes[0].address, ConsistencyLevel.QUORUM)
        try:
            first.execute(f"UPDATE {t} SET v = 1 WHERE k = 0")
            assert rows(first, f"SELECT k FROM {t} WHERE v = 1") == expected
        finally:
            client.shutdown()
    victim.spawn(append_log=True)
    victim.wait_for_port()
    wait_all_up([n.address for n in nodes])
    if len(nodes) == 1:
        session_after = pinned_session(victim.address, ConsistencyLevel.ONE)
        session_after[1].execute(f"UPDATE {t} SET v = 1 WHERE k = 0")
    # The restarted node rebuilds its index on first use; ALL reads it too.
    level = ConsistencyLevel.ALL if len(nodes) > 1 else ConsistencyLevel.ONE
    client, after = pinned_session(victim.address, level)
    try:
        assert rows(after, f"SELECT k FROM {t} WHERE v = 1") == expected
        assert rows(after, f"SELECT k FROM {t} WHERE v = 0") == [(k,) for k in range(2, 10, 2)]
    finally:
        client.shutdown()
        if len(nodes) == 1:
            session_after[0].shutdown()
