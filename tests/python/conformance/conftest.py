"""Fixtures of the CQL conformance suite (issue 17): every case runs against one
node (127.0.97.1, RF 1) and against three nodes (127.0.98.1-3, RF 3, read and
written at QUORUM, statements sent to each node in turn). Each cluster starts
once per session; each case makes tables (or keyspaces) of its own, so cases
are independent and may run in any order.

A case asserts the rows Cassandra 4.1/5.0 returns, or the driver exception
class and the exact message Cassandra gives (helpers `rows`, `refused`)."""

import itertools
import re
import tempfile
import time
from pathlib import Path

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import RoundRobinPolicy, WhiteListRoundRobinPolicy
from cassandra.query import FETCH_SIZE_UNSET, SimpleStatement

from conftest import CQL_PORT, Node, stop_cluster  # the shared node harness of tests/python

UP_TIMEOUT_S = 40
# Gossip rounds every 100 ms (300 by default): the driver waits after each
# CREATE TABLE until every node reports the new schema version, which gossip
# carries; the suite makes hundreds of tables.
GOSSIP_INTERVAL_MS = 100

SETUPS = {
    "one_node": (["127.0.97.1"], 1),
    "three_nodes": (["127.0.98.1", "127.0.98.2", "127.0.98.3"], 3),
}

FILTERING = ("Cannot execute this query as it might involve data filtering and thus may have unpredictable "
             "performance. If you want to execute this query despite the performance unpredictability, "
             "use ALLOW FILTERING")


def _connect(addresses):
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(),
                               consistency_level=ConsistencyLevel.QUORUM, request_timeout=20)
    return Cluster(addresses, port=CQL_PORT, protocol_version=4,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile})


def _wait_all_up(addresses):
    """Each node must list every node UN itself before a case runs."""
    deadline = time.monotonic() + UP_TIMEOUT_S
    for address in addresses:
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


class Db:
    """One running cluster as a case sees it: the driver session, the shared
    keyspace's name, the replication factor, and fresh names."""

    def __init__(self, client, session, keyspace, rf, nodes, shared):
        self.client = client
        self.session = session
        self.keyspace = keyspace
        self.rf = rf
        self.nodes = nodes
        self._names = itertools.count()
        self._shared = shared

    def name(self, prefix="t"):
        return f"{prefix}{next(self._names)}"

    def table(self, columns: str, options: str = "") -> str:
        """Creates a fresh table of the given columns in the shared keyspace; returns its name."""
        name = self.name()
        self.session.execute(f"CREATE TABLE {name} ({columns}){' WITH ' + options if options else ''}")
        return name

    def shared_table(self, columns: str, options: str = "") -> str:
        """A table of these columns made once per cluster, for cases that only
        read it or write the same rows (a CREATE TABLE waits for every node
        to agree on the schema: sharing keeps the suite fast)."""
        return self.shared(("table", columns, options), lambda: self.table(columns, options))

    def shared(self, key, make):
        """What `make()` returns, made once per cluster under `key`: a table
        filled once and only read by the cases that ask for it."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def keyspace_name(self) -> str:
        """A fresh keyspace name (not created)."""
        return self.name("ks")

    def execute(self, query, args=None, fetch_size=FETCH_SIZE_UNSET, **kwargs):
        """Runs a statement as a user would: paged by the driver's default page
        size unless `fetch_size` says otherwise (0 turns paging off)."""
        return self.session.execute(SimpleStatement(query, fetch_size=fetch_size), args, **kwargs)

    def rows(self, query, args=None, fetch_size=FETCH_SIZE_UNSET):
        """The rows of a query as tuples, in the order the database returned them."""
        return [tuple(r) for r in self.execute(query, args, fetch_size=fetch_size)]

    def sorted_rows(self, query, args=None, fetch_size=FETCH_SIZE_UNSET):
        return sorted(self.rows(query, args, fetch_size=fetch_size))

    def refused(self, query, error, message, args=None, fetch_size=FETCH_SIZE_UNSET):
        """Asserts the query fails with the driver exception `error` whose
        server message contains `message` exactly."""
        with pytest.raises(error) as info:
            self.execute(query, args, fetch_size=fetch_size)
        assert message in str(info.value), f"expected {message!r}, got {info.value}"
        return info.value


@pytest.fixture(scope="session", params=list(SETUPS))
def cluster(request):
    addresses, rf = SETUPS[request.param]
    work_dir = Path(tempfile.mkdtemp(prefix=f"rustica-pytest-conformance-{request.param}-"))
    nodes = []
    config = work_dir / "rustica.toml"
    config.write_text(f"gossip_interval_ms = {GOSSIP_INTERVAL_MS}\n")
    for k, address in enumerate(addresses, 1):
        data_dir = work_dir / f"node{k}"
        data_dir.mkdir()
        nodes.append(Node(address, CQL_PORT, data_dir, work_dir / f"node{k}.log", seeds=addresses[:1],
                          extra_args=["--config", str(config)]))
    client = None
    try:
        for n in nodes:
            n.spawn()
        for n in nodes:
            n.wait_for_port()
        _wait_all_up(addresses)
        client = _connect(addresses)
        session = client.connect()
        session.execute("CREATE KEYSPACE conf WITH replication = "
                        f"{{'class': 'SimpleStrategy', 'replication_factor': {rf}}}")
        session.set_keyspace("conf")
        yield client, session, rf, nodes, {}
    finally:
        if client is not None:
            client.shutdown()
        stop_cluster(request, nodes, work_dir, f"conformance {request.param}", tail_lines=60)


@pytest.fixture
def db(cluster):
    client, session, rf, nodes, shared = cluster
    return Db(client, session, "conf", rf, nodes, shared)


_ids = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_names(db):
    """Table names stay unique across cases within one cluster."""
    db._names = itertools.count(next(_ids) * 100)


def escape(message: str) -> str:
    return re.escape(message)
