"""Connection limits of the client port: a node configured for at most three
connections per client address (127.0.14.1) tells the fourth why it is refused, and
takes new ones again once others close.
"""

import socket
import struct

import pytest
from cassandra.cluster import Cluster
from cassandra.policies import RoundRobinPolicy

from conftest import CQL_PORT, Node

ADDRESS = "127.0.14.1"
OPTIONS = bytes([0x04, 0x00, 0x00, 0x07, 0x05, 0, 0, 0, 0])

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def limited_node(tmp_path_factory):
    work = tmp_path_factory.mktemp("limited-node")
    (work / "data").mkdir()
    config = work / "rustica.toml"
    config.write_text("native_transport_max_concurrent_connections_per_ip = 3\n")
    n = Node(ADDRESS, CQL_PORT, work / "data", work / "node.log", extra_args=["--config", str(config)])
    n.start()
    try:
        yield n
    finally:
        n.stop()


def options_answer(sock):
    sock.sendall(OPTIONS)
    header = b""
    while len(header) < 9:
        chunk = sock.recv(9 - len(header))
        if not chunk:
            return None
        header += chunk
    length = struct.unpack(">i", header[5:9])[0]
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return header, body


def hold_three():
    """Three served connections. The node gives a closed connection's slot back
    once it sees the close, so a probe that just closed (the fixture's port
    check) may still hold one for a moment: try again until three are served."""
    import time
    deadline = time.monotonic() + 10
    while True:
        held = [socket.create_connection((ADDRESS, CQL_PORT), timeout=5) for _ in range(3)]
        answers = [options_answer(s) for s in held]
        if all(a is not None and a[0][4] == 0x06 for a in answers):
            return held
        for s in held:
            s.close()
        assert time.monotonic() < deadline, "the first three connections are served (SUPPORTED)"
        time.sleep(0.2)


def test_a_connection_over_the_per_address_limit_is_told_why_and_slots_come_back(limited_node):
    held = hold_three()
    try:
        with socket.create_connection((ADDRESS, CQL_PORT), timeout=5) as fourth:
            header, body = options_answer(fourth)
            assert header[4] == 0x00, "an ERROR frame"
            assert struct.unpack(">i", body[:4])[0] == 0x1001, "Overloaded"
            assert b"Too many connections from 127.0.0.1: at most 3 per client address" in body
            assert header[2:4] == b"\x00\x07", "on the request's stream"
    finally:
        for s in held:
            s.close()
    # Closed connections give their slots back: a driver connects again.
    import time
    deadline = time.monotonic() + 10
    while True:
        cluster = Cluster([ADDRESS], port=CQL_PORT, load_balancing_policy=RoundRobinPolicy(), connect_timeout=5)
        try:
            session = cluster.connect()
            assert session.execute("SELECT key FROM system.local").one().key == "local"
            break
        except Exception:
            assert time.monotonic() < deadline, "the freed slots were never given back"
            time.sleep(0.3)
        finally:
            cluster.shutdown()
