"""cqlsh 6.2 (PyPI package `cqlsh`, installed in .venv by scripts/setup-python.sh)
against a rustica node, run as a subprocess the way a person runs it:
`cqlsh ADDRESS PORT -e "..."`. Output formats are those of cqlsh against Cassandra 4/5.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT

KS = "cqlsh_ks"

pytestmark = pytest.mark.timeout(60)


def cqlsh_binary() -> Path:
    path = Path(os.environ.get("CQLSH", REPO_ROOT / ".venv" / "bin" / "cqlsh"))
    if not path.exists():
        pytest.fail(f"cqlsh not found at {path}; run scripts/setup-python.sh")
    return path


@pytest.fixture(scope="module")
def cqlsh_home(tmp_path_factory):
    # A home of its own, so no cqlshrc or history of the user's is read or written.
    return tmp_path_factory.mktemp("cqlsh-home")


def cqlsh(node, home, statement, *extra_args, expect_ok=True):
    env = dict(os.environ)
    for var in ("CQLSH_HOST", "CQLSH_PORT", "CQLSH_DEFAULT_TIMEOUT", "CQLSH_DEFAULT_CONNECT_TIMEOUT",
                "CQLSH_SEARCH_MANAGEMENT_PATHS"):
        env.pop(var, None)
    env["HOME"] = str(home)
    env["CQL_HISTORY"] = str(home / "cqlsh_history")
    env["TZ"] = "UTC"
    argv = [str(cqlsh_binary()), node.address, str(node.port),
            "--connect-timeout", "20", "--request-timeout", "30",
            *extra_args, "-e", statement]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=env, cwd=home)
    report = (f"$ {' '.join(argv)}\nexit code {proc.returncode}\n"
              f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    if expect_ok:
        assert proc.returncode == 0, report
        assert "Error" not in proc.stderr, report
    return proc, report


def table_rows(stdout):
    """Parses cqlsh's tabular output into (header, rows, footer row count)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    sep = next(i for i, line in enumerate(lines) if re.fullmatch(r"-+(\+-+)*", line.strip()))
    header = [cell.strip() for cell in lines[sep - 1].split("|")]
    rows = []
    for line in lines[sep + 1:]:
        m = re.fullmatch(r"\((\d+) rows\)", line.strip())
        if m:
            return header, rows, int(m.group(1))
        rows.append([cell.strip() for cell in line.split("|")])
    raise AssertionError(f"no '(N rows)' footer in:\n{stdout}")


@pytest.fixture(scope="module")
def schema(node, cqlsh_home):
    cqlsh(node, cqlsh_home,
          f"DROP KEYSPACE IF EXISTS {KS}; "
          f"CREATE KEYSPACE {KS} WITH replication = "
          "{'class': 'SimpleStrategy', 'replication_factor': 1}; "
          f"CREATE TABLE {KS}.t (pk int, ck int, v text, PRIMARY KEY (pk, ck)); "
          f"INSERT INTO {KS}.t (pk, ck, v) VALUES (1, 1, 'alpha'); "
          f"INSERT INTO {KS}.t (pk, ck, v) VALUES (1, 2, 'beta'); "
          f"INSERT INTO {KS}.t (pk, ck, v) VALUES (2, 1, 'gamma');")
    return KS


def test_cqlsh_prints_release_version_from_system_local(node, cqlsh_home):
    proc, report = cqlsh(node, cqlsh_home, "SELECT release_version FROM system.local;")
    header, rows, count = table_rows(proc.stdout)
    assert header == ["release_version"], report
    assert count == 1 and len(rows) == 1, report
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", rows[0][0]), report


def test_cqlsh_prints_selected_rows_as_a_table(node, cqlsh_home, schema):
    proc, report = cqlsh(node, cqlsh_home, f"SELECT pk, ck, v FROM {schema}.t WHERE pk = 1;")
    header, rows, count = table_rows(proc.stdout)
    assert header == ["pk", "ck", "v"], report
    assert rows == [["1", "1", "alpha"], ["1", "2", "beta"]], report
    assert count == 2, report


def test_cqlsh_uses_the_keyspace_given_with_k(node, cqlsh_home, schema):
    proc, report = cqlsh(node, cqlsh_home, "SELECT v FROM t WHERE pk = 2;", "-k", schema)
    header, rows, count = table_rows(proc.stdout)
    assert (header, rows, count) == (["v"], [["gamma"]], 1), report


def test_cqlsh_describe_keyspaces_lists_system_and_created_keyspaces(node, cqlsh_home, schema):
    proc, report = cqlsh(node, cqlsh_home, "DESCRIBE KEYSPACES;")
    names = set(proc.stdout.split())
    for name in ("system", "system_schema", schema):
        assert name in names, report


def test_cqlsh_describe_table_prints_its_create_statement(node, cqlsh_home, schema):
    proc, report = cqlsh(node, cqlsh_home, f"DESCRIBE TABLE {schema}.t;")
    out = proc.stdout
    assert f"CREATE TABLE {schema}.t (" in out, report
    assert re.search(r"\bpk int,", out) and re.search(r"\bv text,", out), report
    assert "PRIMARY KEY (pk, ck)" in out, report
    assert "CLUSTERING ORDER BY (ck ASC)" in out, report


def test_cqlsh_describe_keyspace_prints_the_keyspace_and_its_tables(node, cqlsh_home, schema):
    proc, report = cqlsh(node, cqlsh_home, f"DESCRIBE KEYSPACE {schema};")
    out = proc.stdout
    assert f"CREATE KEYSPACE {schema} WITH replication" in out, report
    assert "SimpleStrategy" in out, report
    assert f"CREATE TABLE {schema}.t (" in out, report
    assert out.index("CREATE KEYSPACE") < out.index("CREATE TABLE"), report


def test_cqlsh_reports_an_unknown_table_as_invalid_request_and_exits_2(node, cqlsh_home):
    proc, report = cqlsh(node, cqlsh_home, "SELECT * FROM system.no_such_table;",
                         expect_ok=False)
    assert proc.returncode == 2, report
    assert "InvalidRequest" in proc.stderr, report
