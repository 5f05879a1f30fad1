"""Query tracing on a three-node cluster (PYADDR.1-3, 127.0.8.x by default; a
keyspace of RF 3), through the clients people use:

- cqlsh with `TRACING ON` prints a trace whose events come from more than one
  node (the coordinator's, and the replicas' own);
- the DataStax driver's `ResultSet.get_query_trace()` returns the session (its
  duration, coordinator, client, request) and the events of every replica;
- `rustica settraceprobability 1` makes a node trace requests nobody asked to
  trace: the sessions appear in system_traces, and the responses carry no
  tracing id (as Cassandra); `rustica gettraceprobability` reports the value,
  and a value outside 0..1 is refused."""

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

from conftest import CQL_PORT, Node, rustica_binary, stop_cluster

PYADDR = os.environ.get("PYADDR", "127.0.8")
ADDRESSES = [f"{PYADDR}.{k}" for k in (1, 2, 3)]
KS = "traced"
UP_TIMEOUT_S = 40

pytestmark = pytest.mark.timeout(180)


def pinned(address: str) -> Cluster:
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([address]),
                               consistency_level=ConsistencyLevel.ALL, request_timeout=10)
    return Cluster([address], port=CQL_PORT, protocol_version=4,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile})


def wait_until(what: str, check, timeout_s: float = UP_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def three_nodes(request):
    work_dir = Path(tempfile.mkdtemp(prefix="rustica-pytest-tracing-"))
    nodes = []
    for k, address in enumerate(ADDRESSES, 1):
        data_dir = work_dir / f"node{k}"
        data_dir.mkdir()
        nodes.append(Node(address, CQL_PORT, data_dir, work_dir / f"node{k}.log", seeds=ADDRESSES[:1]))
    try:
        for n in nodes:
            n.spawn()
        for n in nodes:
            n.wait_for_port()
        for address in ADDRESSES:
            c = pinned(address)
            s = c.connect()
            wait_until(f"{address} lists three nodes UN",
                       lambda: sum(1 for r in s.execute("SELECT state FROM system.cluster_status")
                                   if r.state == "UN") == 3)
            c.shutdown()
        c = pinned(ADDRESSES[0])
        s = c.connect()
        s.execute(f"CREATE KEYSPACE {KS} WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        s.execute(f"CREATE TABLE {KS}.t (k int PRIMARY KEY, v text)")
        c.shutdown()
        for address in ADDRESSES:
            c = pinned(address)
            s = c.connect()
            wait_until(f"{address} has the schema",
                       lambda: list(s.execute("SELECT table_name FROM system_schema.tables "
                                              f"WHERE keyspace_name = '{KS}'")))
            c.shutdown()
        yield nodes
    finally:
        stop_cluster(request, nodes, work_dir, "tracing", tail_lines=60)


@pytest.fixture
def cqlsh_home(tmp_path):
    return tmp_path


def cqlsh(address: str, home: Path, statements: str) -> str:
    binary = Path(os.environ.get("CQLSH", Path(__file__).resolve().parents[2] / ".venv" / "bin" / "cqlsh"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQLSH_")}
    env.update(HOME=str(home), CQL_HISTORY=str(home / "cqlsh_history"), TZ="UTC")
    argv = [str(binary), address, str(CQL_PORT), "--connect-timeout", "20", "--request-timeout", "30",
            "-e", statements]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
                          env=env, cwd=home)
    report = f"$ {' '.join(argv)}\nexit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    assert proc.returncode == 0, report
    assert "Error" not in proc.stderr, report
    return proc.stdout


def trace_rows(stdout: str):
    """The rows of the trace tables cqlsh prints after `Tracing session: <id>`:
    (activity, timestamp, source, source_elapsed, client) each. cqlsh adds the
    first (the request) and last (`Request complete`) rows from the session row."""
    rows = []
    for block in stdout.split("Tracing session:")[1:]:
        for line in block.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) == 5 and cells[0] != "activity" and re.fullmatch(r"\d+", cells[3]):
                # cqlsh appends the event's thread to its activity: "Parsing ... [thread]".
                cells[0] = re.sub(r" \[[^\]]*\]$", "", cells[0])
                rows.append(cells)
    return rows


def rustica(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(rustica_binary()), *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_cqlsh_tracing_on_prints_events_from_more_than_one_node(three_nodes, cqlsh_home):
    out = cqlsh(ADDRESSES[0], cqlsh_home,
                f"CONSISTENCY ALL; TRACING ON; INSERT INTO {KS}.t (k, v) VALUES (1, 'one'); "
                f"SELECT * FROM {KS}.t WHERE k = 1;")
    assert out.count("Tracing session:") == 2, out
    rows = trace_rows(out)
    activities = [r[0] for r in rows]
    sources = {r[2] for r in rows}
    assert len(sources & set(ADDRESSES)) >= 2, f"events from one node only: {sources}\n{out}"
    assert any(a.startswith("Parsing INSERT") for a in activities), out
    assert any(a.startswith("Sending MUTATION message to /") for a in activities), out
    assert any(a.startswith("MUTATION message received from /") for a in activities), out
    assert "Appending to commitlog" in activities and "Adding to memtable" in activities, out
    assert any(re.fullmatch(r"Read \d+ live rows and \d+ tombstone cells", a) for a in activities), out
    assert any(a.startswith("reading digest from /") for a in activities), out
    assert activities.count("Request complete") == 2, "one per session, from its duration: " + out


def test_the_drivers_query_trace_has_the_session_and_every_replicas_events(three_nodes):
    c = pinned(ADDRESSES[1])
    try:
        s = c.connect(KS)
        rs = s.execute(SimpleStatement(f"INSERT INTO {KS}.t (k, v) VALUES (2, 'two')"), trace=True)
        trace = rs.get_query_trace(max_wait_sec=10)
        assert trace.duration is not None and trace.duration.total_seconds() > 0
        assert str(trace.coordinator) == ADDRESSES[1]
        assert trace.request_type == "Execute CQL3 query"
        assert trace.parameters["consistency_level"] == "ALL"
        assert trace.client is not None
        sources = {str(e.source) for e in trace.events}
        assert sources == set(ADDRESSES), f"every replica records its own events: {sources}"
        received = [e for e in trace.events if e.description.startswith("MUTATION message received from /")]
        # The coordinator applies its own replica's share without a message.
        assert {str(e.source) for e in received} == set(ADDRESSES) - {ADDRESSES[1]}, \
            [(e.source, e.description) for e in trace.events]
        assert {e.thread_name for e in received} == {"MutationStage"}
        parsing = [e for e in trace.events if e.description.startswith("Parsing INSERT")]
        assert [e.thread_name for e in parsing] == ["Native-Transport-Requests"]
        appended = [e for e in trace.events if e.description == "Appending to commitlog"]
        assert {str(e.source) for e in appended} == set(ADDRESSES)
        assert all(e.source_elapsed is not None for e in trace.events)

        rs = s.execute(SimpleStatement(f"SELECT v FROM {KS}.t WHERE k = 2"), trace=True)
        assert rs.one().v == "two"
        trace = rs.get_query_trace(max_wait_sec=10)
        descriptions = [e.description for e in trace.events]
        assert any(d.startswith("reading data from /") for d in descriptions), descriptions
        assert sum(d.startswith("reading digest from /") for d in descriptions) == 2, descriptions
        assert "Executing single-partition query" in descriptions, descriptions
    finally:
        c.shutdown()


def test_settraceprobability_traces_unasked_requests_without_returning_their_ids(three_nodes):
    target = ADDRESSES[2]
    done = rustica("settraceprobability", "1", "--host", target)
    assert done.returncode == 0, done.stderr
    got = rustica("gettraceprobability", "--host", target)
    assert got.returncode == 0 and got.stdout.strip() == "Current trace probability: 1", got
    refused = rustica("settraceprobability", "1.5", "--host", target)
    assert refused.returncode != 0 and "between 0 and 1" in refused.stderr, refused

    c = pinned(target)
    try:
        s = c.connect(KS)
        marker = f"probability {time.time_ns()}"
        for k in range(10, 15):
            rs = s.execute(SimpleStatement(f"INSERT INTO {KS}.t (k, v) VALUES ({k}, '{marker}')"))
            # The driver keeps the trace ids responses carried; none came back.
            assert not rs.response_future._query_traces, "an unasked trace returns no id"
        done = rustica("settraceprobability", "0", "--host", target)
        assert done.returncode == 0, done.stderr
        assert rustica("gettraceprobability", "--host", target).stdout.strip() == "Current trace probability: 0"

        def traced_sessions():
            rows = s.execute(SimpleStatement("SELECT coordinator, parameters, duration FROM system_traces.sessions",
                                             consistency_level=ConsistencyLevel.ONE))
            return [r for r in rows if r.parameters and marker in r.parameters.get("query", "")
                    and str(r.coordinator) == target and r.duration is not None]

        wait_until("the five unasked sessions are in system_traces.sessions", lambda: len(traced_sessions()) == 5,
                   timeout_s=10)
    finally:
        c.shutdown()
