"""The DataStax Python driver against a three-node rustica cluster (127.0.10.1-3,
nodes 1 and 2 the seeds): it discovers every node from one contact point, sees a
SIGKILLed node go down and come back after its restart, and keeps answering queries
throughout. The tests check what the driver ends up believing, not how it learned it
(a STATUS_CHANGE event or its own reconnection attempts)."""

import itertools
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy

from conftest import _LOG_REPORT, CQL_PORT, Node

ADDRESSES = ["127.0.10.1", "127.0.10.2", "127.0.10.3"]
SEEDS = ADDRESSES[:2]
UP_TIMEOUT_S = 30
DOWN_TIMEOUT_S = 20
BACK_UP_TIMEOUT_S = 20
KS = "pycluster"

pytestmark = pytest.mark.timeout(90)


def pinned_cluster(address: str) -> Cluster:
    """A driver that sends every request to `address` only: system tables are local
    to the node that answers."""
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([address]))
    return Cluster([address], port=CQL_PORT, protocol_version=4,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile})


def wait_until(condition, timeout_s: float, what: str, between=None) -> float:
    """Polls `condition` every 0.1 s (running `between` each round, if given) and
    returns the seconds it took; fails the test after `timeout_s`."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what}: not within {timeout_s} s")
        if between is not None:
            between()
        time.sleep(0.1)


@pytest.fixture(scope="module")
def three_nodes(request):
    """Three running nodes that all list each other UN; yields the Node objects."""
    work_dir = Path(tempfile.mkdtemp(prefix="rustica-pytest-cluster-"))
    nodes = []
    for k, address in enumerate(ADDRESSES, 1):
        data_dir = work_dir / f"node{k}"
        data_dir.mkdir()
        nodes.append(Node(address, CQL_PORT, data_dir, work_dir / f"node{k}.log", seeds=SEEDS))
    try:
        for n in nodes:
            n.spawn()
        for n in nodes:
            n.wait_for_port()
        for n in nodes:
            pinned = pinned_cluster(n.address)
            try:
                session = pinned.connect()

                def all_up():
                    rows = session.execute("SELECT peer, state FROM system.cluster_status")
                    return sorted((r.peer, r.state) for r in rows) == [(a, "UN") for a in ADDRESSES]

                wait_until(all_up, UP_TIMEOUT_S, f"{n.address} lists all three nodes UN")
            finally:
                pinned.shutdown()
        yield nodes
    finally:
        crashed = [n for n in nodes if n.process is not None and n.process.poll() is not None]
        for n in nodes:
            n.stop()
        if getattr(request.session, "rustica_failed", False) or crashed:
            for n in nodes:
                _LOG_REPORT.append(n.log_tail(f"cluster node {n.address}", tail_lines=80))
            _LOG_REPORT.append(f"rustica cluster work directory kept at {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture
def cluster(three_nodes):
    """A driver with default policies whose only contact point is node 1."""
    c = Cluster([ADDRESSES[0]], port=CQL_PORT, protocol_version=4)
    yield c
    c.shutdown()


def host(cluster: Cluster, address: str):
    for h in cluster.metadata.all_hosts():
        if h.address == address:
            return h
    return None


def test_the_driver_discovers_all_three_nodes_from_one_contact_point(cluster):
    session = cluster.connect()
    hosts = cluster.metadata.all_hosts()
    assert sorted(h.address for h in hosts) == ADDRESSES
    assert {h.datacenter for h in hosts} == {"datacenter1"}
    assert all(h.is_up for h in hosts), [(h.address, h.is_up) for h in hosts]
    # The driver opens a pool to every discovered host (some after connect returns).
    wait_until(lambda: sorted(h.address for h in session.get_pool_state()) == ADDRESSES, 10,
               "the driver has a connection pool to each of the three nodes")
    for h in hosts:
        row = session.execute("SELECT release_version FROM system.local", host=h).one()
        assert row is not None, f"{h.address} answered nothing"


def test_a_killed_node_is_marked_down_and_up_again_while_queries_keep_working(three_nodes, cluster):
    session = cluster.connect()
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KS} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 3}")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KS}.events (id int PRIMARY KEY, phase text)")
    insert = session.prepare(f"INSERT INTO {KS}.events (id, phase) VALUES (?, ?)")
    select = session.prepare(f"SELECT phase FROM {KS}.events WHERE id = ?")
    for statement in (insert, select):
        statement.consistency_level = ConsistencyLevel.QUORUM
        # Lets the driver retry on another node when the one it chose just died.
        statement.is_idempotent = True
    ids = itertools.count()
    done = []

    def write_and_read(phase: str):
        i = next(ids)
        session.execute(insert, (i, phase))
        row = session.execute(select, (i,)).one()
        assert row is not None and row.phase == phase, f"row {i} read back as {row}"
        done.append(phase)

    victim = three_nodes[2]
    assert host(cluster, victim.address).is_up
    write_and_read("all up")

    victim.stop()  # SIGKILL
    down_s = wait_until(lambda: host(cluster, victim.address).is_up is False, DOWN_TIMEOUT_S,
                        f"the driver marks {victim.address} down",
                        between=lambda: write_and_read("one down"))
    print(f"driver marked SIGKILLed {victim.address} down after {down_s:.1f} s")
    write_and_read("one down")

    restarted = time.monotonic()
    victim.spawn(append_log=True)
    victim.wait_for_port()
    up_s = wait_until(lambda: bool(host(cluster, victim.address) and host(cluster, victim.address).is_up),
                      BACK_UP_TIMEOUT_S, f"the driver marks {victim.address} up again",
                      between=lambda: write_and_read("restarting"))
    print(f"driver marked restarted {victim.address} up {time.monotonic() - restarted:.1f} s "
          f"after the restart ({up_s:.1f} s after its CQL port opened)")
    write_and_read("all up again")
    assert sorted(h.address for h in cluster.metadata.all_hosts()) == ADDRESSES
    assert done.count("all up again") == 1 and done.count("one down") >= 1, done
