"""Shared fixtures for the end-to-end tests that drive a real rustica node with the
Python clients people use against Cassandra: the DataStax driver and cqlsh.

One node is started for the whole session (binary from $RUSTICA_BIN, default
target/debug/rustica) on a loopback address of its own, with a temporary data
directory. Its log is printed when the node fails to start or any test fails.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_ADDRESS = os.environ.get("RUSTICA_TEST_ADDRESS", "127.0.9.1")
CQL_PORT = 9042
START_TIMEOUT_S = 30
# Every test cluster's nodes prove membership to each other with this secret
# (the node refuses to start without one unless it runs TLS between nodes).
CLUSTER_SECRET = "rustica test cluster secret"
TEST_TIMEOUT_S = 60


def rustica_binary() -> Path:
    path = Path(os.environ.get("RUSTICA_BIN", "target/debug/rustica"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def port_accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    # Every test gets a hard timeout, even one that forgets to ask for it.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.session.rustica_failed = True


class Node:
    def __init__(self, address: str, port: int, data_dir: Path, log_path: Path, seeds=(), extra_args=(),
                 secret=CLUSTER_SECRET):
        self.address = address
        self.secret = secret
        self.extra_args = list(extra_args)
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.seeds = list(seeds)
        self.process = None

    def start(self):
        self.spawn()
        self.wait_for_port()

    def spawn(self, append_log: bool = False):
        """Starts the process without waiting for its CQL port (a cluster's nodes
        boot in parallel); append_log keeps the log of an earlier run (a restart)."""
        binary = rustica_binary()
        if not binary.exists():
            pytest.exit(f"rustica binary not found at {binary}; run `cargo build -p node` "
                        "or set RUSTICA_BIN", returncode=1)
        if port_accepts(self.address, self.port):
            pytest.exit(f"something already listens on {self.address}:{self.port}; "
                        "a node left over from an earlier run?", returncode=1)
        log = open(self.log_path, "ab" if append_log else "wb")
        command = [str(binary), "node", "--address", self.address, "--data-dir", str(self.data_dir)]
        if self.seeds:
            command += ["--seeds", ",".join(self.seeds)]
        command += self.extra_args
        env = dict(os.environ)
        env.pop("RUSTICA_CLUSTER_SECRET", None)
        if self.secret is not None:
            env["RUSTICA_CLUSTER_SECRET"] = self.secret
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
        )
        log.close()

    def wait_for_port(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.exit(self.log_tail(f"rustica exited with {self.process.returncode} "
                                          "during start"), returncode=1)
            if port_accepts(self.address, self.port):
                return
            time.sleep(0.1)
        self.stop()
        pytest.exit(self.log_tail(f"rustica did not accept CQL connections on "
                                  f"{self.address}:{self.port} within {START_TIMEOUT_S} s"),
                    returncode=1)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, why: str, tail_lines: int = 200) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError as e:
            lines = [f"(cannot read {self.log_path}: {e})"]
        return (f"\n===== {why}: last {tail_lines} lines of {self.log_path} =====\n"
                + "\n".join(lines[-tail_lines:])
                + "\n===== end of rustica log =====\n")


# Set by the node fixture's teardown when the log should be shown; printed in the
# terminal summary because output of a session fixture's teardown is captured.
_LOG_REPORT = []


def stop_cluster(request, nodes, work_dir: Path, label: str, tail_lines: int):
    """A cluster fixture's teardown: stops every node; keeps the work directory
    and reports each node's log tail when a test failed or a node had crashed,
    else removes it."""
    crashed = [n for n in nodes if n.process is not None and n.process.poll() is not None]
    for n in nodes:
        n.stop()
    if getattr(request.session, "rustica_failed", False) or crashed:
        for n in nodes:
            _LOG_REPORT.append(n.log_tail(f"{label} node {n.address}", tail_lines=tail_lines))
        _LOG_REPORT.append(f"rustica {label} work directory kept at {work_dir}")
    else:
        shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def node(request):
    """A running rustica node; yields a Node with .address and .port."""
    work_dir = Path(tempfile.mkdtemp(prefix="rustica-pytest-"))
    data_dir = work_dir / "data"
    data_dir.mkdir()
    n = Node(NODE_ADDRESS, CQL_PORT, data_dir, work_dir / "node.log")
    n.start()
    try:
        yield n
    finally:
        crashed = n.process.poll() is not None
        n.stop()
        if crashed:
            _LOG_REPORT.append(n.log_tail(f"rustica exited with {n.process.returncode} "
                                          "during the tests"))
        elif getattr(request.session, "rustica_failed", False):
            _LOG_REPORT.append(n.log_tail("a test failed"))
        if _LOG_REPORT:
            _LOG_REPORT.append(f"rustica work directory kept at {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for text in _LOG_REPORT:
        terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def node_address(node):
    return node.address
