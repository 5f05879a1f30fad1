"""TLS on the client port, with passwords, as a production cluster runs it: the
DataStax driver with an ssl_context, cqlsh --ssl, and what a client without the
cluster's authority (or without TLS at all) gets. The node (127.0.12.1) uses
certificates made by `rustica certs` for this test.
"""

import socket
import ssl
import struct
import subprocess
import time

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import RoundRobinPolicy, WhiteListRoundRobinPolicy

from conftest import CQL_PORT, Node, rustica_binary
from test_auth import wait_for_default_superuser
from test_cqlsh import cqlsh

ADDRESS = "127.0.12.1"

pytestmark = pytest.mark.timeout(90)


def make_certs(out, *nodes):
    argv = [str(rustica_binary()), "certs", "--out", str(out)]
    for node in nodes:
        argv += ["--node", node]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    out = tmp_path_factory.mktemp("certs")
    make_certs(out, f"node1+{ADDRESS}+localhost")
    return out


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory, certs):
    work = tmp_path_factory.mktemp("tls-node")
    data = work / "data"
    data.mkdir()
    config = work / "rustica.toml"
    config.write_text(f"""
authenticator = "PasswordAuthenticator"
password_hash_cost = 4

[client_encryption]
enabled = true
certificate = "{certs / 'node1.crt'}"
private_key = "{certs / 'node1.key'}"
""")
    n = Node(ADDRESS, CQL_PORT, data, work / "node.log", extra_args=["--config", str(config)])
    n.start()
    try:
        wait_for_default_superuser(lambda: connect(n, context(certs / "ca.crt")))
        yield n
    finally:
        n.stop()


def context(ca_file):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca_file))
    ctx.check_hostname = True
    return ctx


def connect(node, ssl_context, user="cassandra", password="cassandra"):
    cluster = Cluster([node.address], port=node.port, ssl_context=ssl_context,
                      auth_provider=PlainTextAuthProvider(username=user, password=password),
                      load_balancing_policy=RoundRobinPolicy(), connect_timeout=10)
    return cluster, cluster.connect()


def test_the_driver_talks_tls_and_logs_in(tls_node, certs):
    cluster, session = connect(tls_node, context(certs / "ca.crt"))
    try:
        row = session.execute("SELECT release_version FROM system.local").one()
        assert row.release_version
        assert cluster.metadata.get_host(tls_node.address) is not None
    finally:
        cluster.shutdown()


def test_a_plaintext_client_gets_nothing_from_a_tls_port(tls_node):
    cluster = Cluster([tls_node.address], port=tls_node.port, connect_timeout=5,
                      auth_provider=PlainTextAuthProvider(username="cassandra", password="cassandra"),
                      load_balancing_policy=RoundRobinPolicy())
    with pytest.raises(NoHostAvailable):
        cluster.connect()
    cluster.shutdown()


def test_a_client_that_does_not_trust_the_cluster_authority_is_refused(tls_node, tmp_path):
    make_certs(tmp_path / "other", "rogue+127.0.12.99")
    with pytest.raises(NoHostAvailable):
        connect(tls_node, context(tmp_path / "other" / "ca.crt"))


def test_cqlsh_connects_with_ssl_and_credentials(tls_node, certs, tmp_path):
    (tmp_path / ".cassandra").mkdir()
    (tmp_path / ".cassandra" / "cqlshrc").write_text(
        f"[ssl]\ncertfile = {certs / 'ca.crt'}\nvalidate = true\n")
    proc, report = cqlsh(tls_node, tmp_path, "SELECT cluster_name FROM system.local",
                         "--ssl", "-u", "cassandra", "-p", "cassandra")
    assert "cluster_name" in proc.stdout, report
    proc, report = cqlsh(tls_node, tmp_path, "SELECT cluster_name FROM system.local",
                         "-u", "cassandra", "-p", "cassandra", expect_ok=False)
    assert proc.returncode != 0, report


def read_until_closed(sock):
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data
            data += chunk
    except (ConnectionResetError, ssl.SSLError):
        return data


def test_connections_that_stall_in_the_tls_handshake_or_before_login_are_closed_after_10_s(tls_node, certs):
    started = time.monotonic()
    with socket.create_connection((tls_node.address, tls_node.port), timeout=20) as stalled, \
            context(certs / "ca.crt").wrap_socket(
                socket.create_connection((tls_node.address, tls_node.port), timeout=20),
                server_hostname="localhost") as silent:
        # No ClientHello at all: closed without a word (there is no TLS to speak).
        assert read_until_closed(stalled) == b""
        stalled_after = time.monotonic() - started
        # Past the handshake but no STARTUP: an ERROR frame says why, then the close.
        answer = read_until_closed(silent)
        silent_after = time.monotonic() - started
    assert 9 <= stalled_after <= 15, f"the stalled handshake was closed after {stalled_after:.1f} s"
    assert 9 <= silent_after <= 15, f"the silent connection was closed after {silent_after:.1f} s"
    assert answer[:5] == bytes([0x84, 0x00, 0x00, 0x00, 0x00]), f"an ERROR frame on stream 0: {answer[:16]!r}"
    assert struct.unpack(">i", answer[9:13])[0] == 0x000A, "a protocol error"
    assert b"native_transport_auth_timeout_ms" in answer, answer


# ---------------------------------------------------------------- between nodes

CLUSTER = ["127.0.13.1", "127.0.13.2", "127.0.13.3"]
ROGUE = "127.0.13.4"
# A node that shows the cluster's own client certificate (signed by the right
# authority, but a client's): it must be kept out too.
IMPOSTOR = "127.0.13.5"


def node_config(certs, name):
    # No cluster secret: the node certificates alone prove membership.
    return f"""
[client_encryption]
enabled = true
certificate = "{certs / (name + '.crt')}"
private_key = "{certs / (name + '.key')}"

[internode_encryption]
enabled = true
certificate = "{certs / (name + '.crt')}"
private_key = "{certs / (name + '.key')}"
ca_certificate = "{certs / 'ca.crt'}"
"""


def start_nodes(work, certs, specs):
    """specs: (address, certificate name); every node's seed is the first node."""
    nodes = []
    for address, name in specs:
        d = work / address
        (d / "data").mkdir(parents=True)
        config = d / "rustica.toml"
        config.write_text(node_config(certs, name))
        nodes.append(Node(address, CQL_PORT, d / "data", d / "node.log", seeds=[CLUSTER[0]],
                          extra_args=["--config", str(config)], secret=None))
    for n in nodes:
        n.spawn()
    for n in nodes:
        n.wait_for_port()
    return nodes


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    work = tmp_path_factory.mktemp("tls-cluster")
    certs = work / "certs"
    make_certs(certs, *[f"node{k}+{a}" for k, a in enumerate(CLUSTER, 1)])
    rogue_certs = work / "rogue-certs"
    make_certs(rogue_certs, f"node4+{ROGUE}")
    nodes = start_nodes(work, certs, [(a, f"node{k}") for k, a in enumerate(CLUSTER, 1)])
    nodes += start_nodes(work / "rogue", rogue_certs, [(ROGUE, "node4")])
    nodes += start_nodes(work / "impostor", certs, [(IMPOSTOR, "client")])
    try:
        yield nodes, certs, rogue_certs
    finally:
        for n in nodes:
            n.stop()


def cluster_states(session):
    return {str(r.peer): r.state for r in session.execute("SELECT peer, state FROM system.cluster_status")}


def test_nodes_with_the_cluster_authority_form_a_cluster_and_a_rogue_node_is_kept_out(tls_cluster):
    nodes, certs, _ = tls_cluster
    cluster = Cluster([CLUSTER[0]], port=CQL_PORT, ssl_context=context(certs / "ca.crt"),
                      load_balancing_policy=RoundRobinPolicy(), connect_timeout=10)
    session = cluster.connect()
    try:
        deadline = time.monotonic() + 30
        while True:
            states = cluster_states(session)
            if all(states.get(a) == "UN" for a in CLUSTER):
                break
            assert time.monotonic() < deadline, f"the TLS cluster never formed: {states}"
            time.sleep(0.5)
        # The rogue node has been gossiping at the seed all along; give it time.
        time.sleep(3)
        states = cluster_states(session)
        assert ROGUE not in states, f"a node without the cluster's certificate joined: {states}"
        assert IMPOSTOR not in states, f"a node with the cluster's client certificate joined: {states}"
        for address in CLUSTER:
            pinned = Cluster([address], port=CQL_PORT, ssl_context=context(certs / "ca.crt"),
                             load_balancing_policy=WhiteListRoundRobinPolicy([address]), connect_timeout=10)
            try:
                peers = {str(r.peer) for r in pinned.connect().execute("SELECT peer FROM system.peers")}
            finally:
                pinned.shutdown()
            assert peers == set(CLUSTER) - {address}, f"system.peers of {address}: {peers}"
        refused = nodes[0].log_path.read_text(errors="replace")
        assert "TLS handshake failed" in refused, "the seed should log the refused handshakes"
        assert "not a node certificate" in refused, "the seed should log why the impostor was refused"

        # Replication runs over the TLS internode port: an ALL write and read.
        session.execute("CREATE KEYSPACE tls_ks WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        session.execute("CREATE TABLE tls_ks.t (k int PRIMARY KEY, v text)")
        from cassandra import ConsistencyLevel
        from cassandra.query import SimpleStatement
        deadline = time.monotonic() + 30
        while True:
            try:
                session.execute(SimpleStatement("INSERT INTO tls_ks.t (k, v) VALUES (1, 'x')",
                                                consistency_level=ConsistencyLevel.ALL))
                break
            except Exception:
                assert time.monotonic() < deadline, "an ALL write never succeeded over TLS"
                time.sleep(0.5)
        row = session.execute(SimpleStatement("SELECT v FROM tls_ks.t WHERE k = 1",
                                              consistency_level=ConsistencyLevel.ALL)).one()
        assert row.v == "x"
    finally:
        cluster.shutdown()


def plaintext_answer(address, port, payload):
    with socket.create_connection((address, port), timeout=5) as s:
        s.sendall(payload)
        chunks = []
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def test_every_port_of_a_tls_node_answers_plaintext_with_nothing_useful(tls_cluster):
    # A CQL OPTIONS frame, and a few bytes where a peer's hello would be.
    options = bytes([0x04, 0x00, 0x00, 0x01, 0x05, 0, 0, 0, 0])
    for port, payload in [(CQL_PORT, options), (7000, b"RSTC\x00\x02hello"), (9044, b"\x00\x00\x00\x10" + b"x" * 16)]:
        answer = plaintext_answer(CLUSTER[0], port, payload)
        # At most a TLS alert record (type 21), never a CQL frame or a hello.
        assert answer == b"" or answer[0] == 0x15, f"port {port} answered plaintext with {answer[:16]!r}"
