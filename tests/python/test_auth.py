"""Password authentication and permissions through the clients people use: the
DataStax driver with a PlainTextAuthProvider, and cqlsh with -u/-p, against a node
configured with PasswordAuthenticator and CassandraAuthorizer (127.0.11.1).
"""

import time

import pytest
from cassandra import Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import RoundRobinPolicy

from conftest import CQL_PORT, Node
from test_cqlsh import cqlsh

ADDRESS = "127.0.11.1"
KS = "auth_ks"

pytestmark = pytest.mark.timeout(90)

CONFIG = """
authenticator = "PasswordAuthenticator"
authorizer = "CassandraAuthorizer"
# Fast hashes for tests; the default is Cassandra's 10.
password_hash_cost = 4
"""


def connect(node, user=None, password=None):
    provider = PlainTextAuthProvider(username=user, password=password) if user else None
    cluster = Cluster([node.address], port=node.port, auth_provider=provider,
                      load_balancing_policy=RoundRobinPolicy(), connect_timeout=10)
    return cluster, cluster.connect()


def wait_for_default_superuser(connect_as_cassandra, limit_s=30):
    """The node creates cassandra/cassandra in the background just after start."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            cluster, _ = connect_as_cassandra()
            cluster.shutdown()
            return
        except NoHostAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="module")
def auth_node(tmp_path_factory):
    work = tmp_path_factory.mktemp("auth-node")
    data = work / "data"
    data.mkdir()
    config = work / "rustica.toml"
    config.write_text(CONFIG)
    n = Node(ADDRESS, CQL_PORT, data, work / "node.log", extra_args=["--config", str(config)])
    n.start()
    try:
        wait_for_default_superuser(lambda: connect(n, "cassandra", "cassandra"))
    except Exception:
        n.stop()
        raise
    try:
        yield n
    finally:
        n.stop()


@pytest.fixture(scope="module")
def superuser(auth_node):
    cluster, session = connect(auth_node, "cassandra", "cassandra")
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KS} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KS}.t (k int PRIMARY KEY, v text)")
    yield session
    cluster.shutdown()


def test_a_client_without_credentials_is_refused(auth_node):
    with pytest.raises(NoHostAvailable) as refused:
        connect(auth_node)
    assert "requires authentication" in str(refused.value) or "PasswordAuthenticator" in str(refused.value)


def test_a_wrong_password_is_refused_with_bad_credentials(auth_node):
    with pytest.raises(NoHostAvailable) as refused:
        connect(auth_node, "cassandra", "not-the-password")
    assert "Provided username cassandra and/or password are incorrect" in str(refused.value)
    with pytest.raises(NoHostAvailable):
        connect(auth_node, "nobody", "x")


def test_a_role_without_modify_cannot_write_until_a_superuser_grants_it(auth_node, superuser):
    superuser.execute("CREATE ROLE IF NOT EXISTS alice WITH PASSWORD = 'alice-pw' AND LOGIN = true")
    superuser.execute(f"GRANT SELECT ON KEYSPACE {KS} TO alice")
    cluster, alice = connect(auth_node, "alice", "alice-pw")
    try:
        assert list(alice.execute(f"SELECT * FROM {KS}.t")) == []
        with pytest.raises(Unauthorized) as refused:
            alice.execute(f"INSERT INTO {KS}.t (k, v) VALUES (1, 'one')")
        assert "has no MODIFY permission on <table auth_ks.t> or any of its parents" in str(refused.value)
        with pytest.raises(Unauthorized):
            alice.execute("CREATE ROLE mallory WITH SUPERUSER = true")

        superuser.execute(f"GRANT MODIFY ON TABLE {KS}.t TO alice")
        # Permissions are cached for up to 2 s, as in Cassandra.
        deadline = time.monotonic() + 10
        while True:
            try:
                alice.execute(f"INSERT INTO {KS}.t (k, v) VALUES (1, 'one')")
                break
            except Unauthorized:
                assert time.monotonic() < deadline, "MODIFY was granted but never took effect"
                time.sleep(0.5)
        assert [tuple(r) for r in alice.execute(f"SELECT k, v FROM {KS}.t")] == [(1, "one")]
        permissions = {(r.role, r.resource, r.permission)
                       for r in superuser.execute("LIST ALL PERMISSIONS OF alice")}
        assert permissions == {("alice", "<keyspace auth_ks>", "SELECT"), ("alice", "<table auth_ks.t>", "MODIFY")}
    finally:
        cluster.shutdown()


def test_roles_are_listed_altered_and_dropped(auth_node, superuser):
    superuser.execute("CREATE ROLE IF NOT EXISTS bob WITH PASSWORD = 'old' AND LOGIN = true")
    roles = {r.role: (r.super, r.login) for r in superuser.execute("LIST ROLES")}
    assert roles["cassandra"] == (True, True)
    assert roles["bob"] == (False, True)
    superuser.execute("ALTER ROLE bob WITH PASSWORD = 'new'")
    with pytest.raises(NoHostAvailable):
        connect(auth_node, "bob", "old")
    cluster, _ = connect(auth_node, "bob", "new")
    cluster.shutdown()
    superuser.execute("DROP ROLE bob")
    assert "bob" not in {r.role for r in superuser.execute("LIST ROLES")}
    with pytest.raises(NoHostAvailable):
        connect(auth_node, "bob", "new")


def test_the_password_hash_is_salted_and_never_the_password(auth_node, superuser):
    row = superuser.execute("SELECT salted_hash FROM system_auth.roles WHERE role = 'cassandra'").one()
    assert row.salted_hash.startswith("$2") and "cassandra" not in row.salted_hash


def test_cqlsh_logs_in_with_a_user_and_password(auth_node, superuser, tmp_path):
    proc, report = cqlsh(auth_node, tmp_path, "LIST ROLES", "-u", "cassandra", "-p", "cassandra")
    assert "cassandra" in proc.stdout, report
    proc, report = cqlsh(auth_node, tmp_path, "SELECT * FROM system.local", "-u", "cassandra", "-p", "wrong",
                         expect_ok=False)
    assert proc.returncode != 0 and "incorrect" in (proc.stdout + proc.stderr), report
