"""TLS on the client port, with passwords, as a production cluster runs it: the
DataStax driver with an ssl_context, cqlsh --ssl, and what a client without the
cluster's authority (or without TLS at all) gets. The node (127.0.12.1) uses
certificates made by `rustica certs` for this test.
"""

import ssl
import subprocess

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import RoundRobinPolicy

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
