"""The fault harness (issue 16): a loopback cluster of real nodes runs a workload of
QUORUM writes, deletes and reads, counter increments and lightweight transactions
while faults are injected: SIGKILL and restart, SIGSTOP and SIGCONT, network
partitions between groups of addresses (iptables on loopback; nodes connect to
each other from their own address, so a rule between two addresses cuts exactly
that pair), and optionally a skewed clock on one node. Afterwards every fault is
healed, every node repaired, and a checker reads each replica alone (a read at ONE
pinned to a node that is a replica is answered from its own copy) and reports
acknowledged writes missing, deleted rows returned, counters out of bounds, LWT
races won twice, and replicas that disagree.

    .venv/bin/python tests/python/chaos.py --minutes 10          # a soak
    .venv/bin/python tests/python/chaos.py --seconds 60 --nodes 5 --base 127.0.82

`tests/python/test_chaos.py` runs a short one as a test. Partitions need root and
iptables; without them the harness says so and injects the other faults only.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import FallthroughRetryPolicy, RoundRobinPolicy, TokenAwarePolicy, WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "rustica chaos cluster secret"
KEYSPACE = "chaos"
COUNTER_KEYS = 8


def log(message):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def port_accepts(address, port=9042):
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


class Node:
    def __init__(self, address, work_dir, seeds, clock_offset_ms=0):
        self.address = address
        self.data_dir = work_dir / address
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = work_dir / f"{address}.log"
        self.seeds = seeds
        self.clock_offset_ms = clock_offset_ms
        self.process = None
        self.paused = False

    def start(self):
        binary = Path(os.environ.get("RUSTICA_BIN", REPO_ROOT / "target/debug/rustica"))
        env = dict(os.environ, RUSTICA_CLUSTER_SECRET=SECRET)
        if self.clock_offset_ms:
            env["RUSTICA_CLOCK_OFFSET_MS"] = str(self.clock_offset_ms)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [str(binary), "node", "--address", self.address, "--data-dir", str(self.data_dir),
                 "--seeds", ",".join(self.seeds)],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.paused = False

    def wait_for_port(self, limit_s=60):
        deadline = time.monotonic() + limit_s
        while not port_accepts(self.address):
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.address} exited with {self.process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {self.address} did not open its CQL port; see {self.log_path}")
            time.sleep(0.2)

    def running(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        if self.running():
            if self.paused:
                self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        self.paused = False

    def pause(self):
        if self.running() and not self.paused:
            self.process.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.running() and self.paused:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False


class Network:
    """Partitions between address groups with an iptables chain of our own
    (one per address range, so two runs on different ranges keep apart)."""

    def __init__(self, base):
        self.chain = "RUSTICA_CHAOS_" + base.replace(".", "_")
        self.usable, self.why = self._check()
        if self.usable:
            self._run("-N", self.chain, check=False)
            self._run("-F", self.chain)
            if self._run("-C", "INPUT", "-j", self.chain, check=False) != 0:
                self._run("-I", "INPUT", "-j", self.chain)

    @staticmethod
    def _check():
        if os.geteuid() != 0:
            return False, "not root: partitions are skipped"
        if shutil.which("iptables") is None:
            return False, "no iptables: partitions are skipped"
        return True, ""

    @staticmethod
    def _run(*args, check=True):
        result = subprocess.run(["iptables", *args], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"iptables {' '.join(args)}: {result.stderr.strip()}")
        return result.returncode

    def partition(self, left, right):
        for a in left:
            for b in right:
                self._run("-A", self.chain, "-s", a, "-d", b, "-j", "DROP")
                self._run("-A", self.chain, "-s", b, "-d", a, "-j", "DROP")

    def heal(self):
        if self.usable:
            self._run("-F", self.chain)

    def remove(self):
        if self.usable:
            self._run("-F", self.chain, check=False)
            self._run("-D", "INPUT", "-j", self.chain, check=False)
            self._run("-X", self.chain, check=False)


class Ledger:
    """What the workload was told: acknowledged and attempted writes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inserted = set()      # acknowledged inserts (k -> v = k)
        self.attempted = set()     # inserts sent, acknowledged or not
        self.deleted = set()       # acknowledged deletes
        self.delete_attempted = set()
        self.counter_acked = [0] * COUNTER_KEYS
        self.counter_sent = [0] * COUNTER_KEYS
        self.lwt_applied = {}      # key -> how many claims were told "applied"
        self.read_violations = []  # QUORUM reads that missed an acknowledged write
        self.ops = 0
        self.failures = 0


class Workload:
    def __init__(self, addresses, ledger, seed, client_timestamps):
        # No retries: the driver's default retries a request whose connection
        # broke on the next host, which applies a counter increment twice.
        profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(RoundRobinPolicy(), shuffle_replicas=True),
                                   retry_policy=FallthroughRetryPolicy(),
                                   consistency_level=ConsistencyLevel.QUORUM, request_timeout=5)
        self.cluster = Cluster(addresses, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                               protocol_version=4, connect_timeout=5)
        self.session = self.cluster.connect()
        # Server timestamps: the coordinators' clocks (and a skewed one) decide.
        self.session.use_client_timestamp = client_timestamps
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.next_key = 0
        self.key_lock = threading.Lock()

    def setup(self):
        s = self.session
        s.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        s.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.kv (k int PRIMARY KEY, v int)")
        s.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.counts (k int PRIMARY KEY, n counter)")
        s.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.claims (k int PRIMARY KEY, owner int)")
        self.cluster.control_connection.wait_for_schema_agreement()
        self.insert = s.prepare(f"INSERT INTO {KEYSPACE}.kv (k, v) VALUES (?, ?)")
        self.delete = s.prepare(f"DELETE FROM {KEYSPACE}.kv WHERE k = ?")
        self.read = s.prepare(f"SELECT v FROM {KEYSPACE}.kv WHERE k = ?")
        self.bump = s.prepare(f"UPDATE {KEYSPACE}.counts SET n = n + 1 WHERE k = ?")
        self.claim = s.prepare(f"INSERT INTO {KEYSPACE}.claims (k, owner) VALUES (?, ?) IF NOT EXISTS")

    def _key(self):
        with self.key_lock:
            self.next_key += 1
            return self.next_key

    def _op(self, fn):
        try:
            fn()
            ok = True
        except Exception:  # timeouts, unavailable, lost connections: the fault's doing
            ok = False
        with self.ledger.lock:
            self.ledger.ops += 1
            self.ledger.failures += 0 if ok else 1
        return ok

    def writer(self):
        led = self.ledger
        while not self.stop.is_set():
            k = self._key()
            with led.lock:
                led.attempted.add(k)
            if self._op(lambda: self.session.execute(self.insert, (k, k))):
                with led.lock:
                    led.inserted.add(k)
                # Read it back at QUORUM: it must be there.
                def check():
                    row = self.session.execute(self.read, (k,)).one()
                    if row is None:
                        with led.lock:
                            if k not in led.delete_attempted:
                                led.read_violations.append(k)
                self._op(check)
                if k % 5 == 0:
                    with led.lock:
                        led.delete_attempted.add(k)
                    if self._op(lambda: self.session.execute(self.delete, (k,))):
                        with led.lock:
                            led.deleted.add(k)

    def counter(self):
        led = self.ledger
        while not self.stop.is_set():
            k = self.rng.randrange(COUNTER_KEYS)
            with led.lock:
                led.counter_sent[k] += 1
            if self._op(lambda: self.session.execute(self.bump, (k,))):
                with led.lock:
                    led.counter_acked[k] += 1

    def claimer(self, owner):
        led = self.ledger
        while not self.stop.is_set():
            k = self.next_key // 4  # both claimers race for the same keys
            def claim():
                applied = self.session.execute(self.claim, (k, owner)).one()[0]
                if applied:
                    with led.lock:
                        led.lwt_applied[k] = led.lwt_applied.get(k, 0) + 1
            self._op(claim)
            time.sleep(0.05)

    def run(self):
        threads = [threading.Thread(target=self.writer, daemon=True) for _ in range(3)]
        threads.append(threading.Thread(target=self.counter, daemon=True))
        threads += [threading.Thread(target=self.claimer, args=(o,), daemon=True) for o in (1, 2)]
        for t in threads:
            t.start()
        return threads

    def close(self):
        self.stop.set()
        self.cluster.shutdown()


class Chaos:
    def __init__(self, nodes, base, seconds, seed, skew_ms, client_timestamps, keep):
        self.rng = random.Random(seed)
        self.seed = seed
        self.seconds = seconds
        self.keep = keep
        self.client_timestamps = client_timestamps
        self.work_dir = Path(tempfile.mkdtemp(prefix="rustica-chaos-"))
        self.addresses = [f"{base}.{i}" for i in range(1, nodes + 1)]
        seeds = self.addresses[:2]
        self.nodes = [Node(a, self.work_dir, seeds, clock_offset_ms=(skew_ms if i == nodes - 1 else 0))
                      for i, a in enumerate(self.addresses)]
        self.network = Network(base)
        self.faults = {"kill": 0, "pause": 0, "partition": 0}
        self.ledger = Ledger()

    def start_cluster(self):
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            n.wait_for_port()
        self.wait_all_up()

    def status(self, host):
        out = subprocess.run([str(self.binary()), "status", "--host", host], capture_output=True, text=True, timeout=30)
        return out.stdout

    @staticmethod
    def binary():
        return Path(os.environ.get("RUSTICA_BIN", REPO_ROOT / "target/debug/rustica"))

    def wait_all_up(self, limit_s=90):
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            try:
                views = [self.status(a) for a in self.addresses]
            except subprocess.TimeoutExpired:
                views = []
            if views and all(sum(1 for line in v.splitlines() if line.startswith("UN ")) == len(self.addresses)
                             for v in views):
                return
            time.sleep(1)
        raise RuntimeError("the cluster did not come back to every node UN on every node")

    def inject(self):
        """One fault for a few seconds, then healed."""
        kinds = ["kill", "pause"] + (["partition"] if self.network.usable else [])
        kind = self.rng.choice(kinds)
        hold = self.rng.uniform(2, 6)
        self.faults[kind] += 1
        if kind == "kill":
            victim = self.rng.choice(self.nodes)
            log(f"SIGKILL {victim.address} for {hold:.1f} s")
            victim.kill()
            time.sleep(hold)
            victim.start()
            victim.wait_for_port()
        elif kind == "pause":
            victim = self.rng.choice(self.nodes)
            log(f"SIGSTOP {victim.address} for {hold:.1f} s")
            victim.pause()
            time.sleep(hold)
            victim.resume()
        else:
            shuffled = self.addresses[:]
            self.rng.shuffle(shuffled)
            cut = self.rng.randrange(1, len(shuffled))
            left, right = shuffled[:cut], shuffled[cut:]
            log(f"partition {left} | {right} for {hold:.1f} s")
            self.network.partition(left, right)
            time.sleep(hold)
            self.network.heal()
        time.sleep(self.rng.uniform(1, 3))

    def repair(self):
        for a in self.addresses:
            out = subprocess.run([str(self.binary()), "repair", KEYSPACE, "--host", a],
                                 capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"repair on {a} failed: {out.stdout}{out.stderr}")

    def check(self):
        """Reads every replica alone; returns the report."""
        led = self.ledger
        cluster = Cluster(self.addresses, protocol_version=4, execution_profiles={
            a: ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([a]),
                                consistency_level=ConsistencyLevel.ONE, request_timeout=20)
            for a in self.addresses})
        session = cluster.connect()
        meta = cluster.metadata
        kv = session.prepare(f"SELECT v FROM {KEYSPACE}.kv WHERE k = ?")
        counts = session.prepare(f"SELECT n FROM {KEYSPACE}.counts WHERE k = ?")
        claims = session.prepare(f"SELECT owner FROM {KEYSPACE}.claims WHERE k = ?")

        def per_replica(statement, keys):
            """{k: {replica address: row or None}}, read a few hundred at a time."""
            out = {}
            keys = list(keys)
            for start in range(0, len(keys), 100):
                pending = []
                for k in keys[start:start + 100]:
                    bound = statement.bind((k,))
                    for h in meta.get_replicas(KEYSPACE, bound.routing_key):
                        pending.append((k, h.address, bound, session.execute_async(bound, execution_profile=h.address)))
                for k, a, bound, future in pending:
                    out.setdefault(k, {})[a] = read_patiently(future, bound, a)
            return out

        def read_patiently(future, bound, address):
            """The answer, asking again a few times if the driver lost the node
            for a moment (a busy machine misses heartbeats)."""
            for attempt in range(10):
                try:
                    return future.result().one()
                except Exception as e:
                    if attempt == 9:
                        raise RuntimeError(f"replica {address} cannot be read: {e}") from e
                    time.sleep(1)
                    future = session.execute_async(bound, execution_profile=address)

        missing, resurrected, disagree = [], [], []
        for k, rows in sorted(per_replica(kv, led.attempted).items()):
            present = {a for a, r in rows.items() if r is not None}
            if k in led.deleted and present:
                resurrected.append(k)
            elif k in led.inserted and k not in led.delete_attempted and len(present) < len(rows):
                (missing if not present else disagree).append(k)
            elif 0 < len(present) < len(rows):
                disagree.append(k)
        counters_off = []
        for k, rows in sorted(per_replica(counts, range(COUNTER_KEYS)).items()):
            values = {a: (r[0] if r else 0) for a, r in rows.items()}
            if len(set(values.values())) > 1:
                disagree.append(f"counter {k}: {values}")
            for v in values.values():
                if not led.counter_acked[k] <= v <= led.counter_sent[k]:
                    counters_off.append(f"counter {k} = {v}, acknowledged {led.counter_acked[k]}, "
                                        f"sent {led.counter_sent[k]}")
        double_wins = [k for k, n in led.lwt_applied.items() if n > 1]
        for k, rows in sorted(per_replica(claims, led.lwt_applied).items()):
            owners = {a: (r[0] if r else None) for a, r in rows.items()}
            if None in owners.values() or len(set(owners.values())) > 1:
                disagree.append(f"claim {k}: {owners}")
        cluster.shutdown()
        return {
            "seconds": self.seconds,
            "seed": self.seed,
            "faults": dict(self.faults),
            "partitions": "on" if self.network.usable else self.network.why,
            "operations": led.ops,
            "operations_failed": led.failures,
            "writes_acknowledged": len(led.inserted),
            "deletes_acknowledged": len(led.deleted),
            "counter_increments_acknowledged": sum(led.counter_acked),
            "lwt_claims_won": len(led.lwt_applied),
            "quorum_reads_missing_a_write": led.read_violations[:20],
            "missing_after_repair": missing[:20],
            "missing_count": len(missing),
            "deleted_returned": resurrected[:20],
            "deleted_returned_count": len(resurrected),
            "replicas_disagreeing": [str(d) for d in disagree[:20]],
            "disagreement_count": len(disagree),
            "counters_out_of_bounds": counters_off,
            "lwt_won_twice": double_wins,
        }

    def run(self):
        report = None
        try:
            log(f"{len(self.nodes)} nodes on {self.addresses[0]}..; work directory {self.work_dir}")
            if not self.network.usable:
                log(self.network.why)
            self.start_cluster()
            workload = Workload(self.addresses, self.ledger, self.seed, self.client_timestamps)
            workload.setup()
            threads = workload.run()
            deadline = time.monotonic() + self.seconds
            time.sleep(2)
            while time.monotonic() < deadline:
                self.inject()
            log("healing: every node running, no partition")
            self.network.heal()
            for n in self.nodes:
                n.resume()
                if not n.running():
                    n.start()
                    n.wait_for_port()
            workload.stop.set()
            for t in threads:
                t.join(timeout=30)
            workload.close()
            self.wait_all_up()
            time.sleep(5)  # hints of the last moments
            log("repairing every node")
            self.repair()
            log("checking every replica")
            report = self.check()
            return report
        finally:
            self.network.remove()
            for n in self.nodes:
                n.kill()
            clean = report is not None and is_clean(report)
            if clean and not self.keep:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            else:
                log(f"logs kept in {self.work_dir}")


def is_clean(report):
    return not (report["quorum_reads_missing_a_write"] or report["missing_count"] or report["deleted_returned_count"]
                or report["disagreement_count"] or report["counters_out_of_bounds"] or report["lwt_won_twice"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--base", default="127.0.82", help="the first three octets of the nodes' addresses")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--skew-ms", type=int, default=0, help="clock offset of the last node (RUSTICA_CLOCK_OFFSET_MS)")
    parser.add_argument("--client-timestamps", action="store_true", help="the driver stamps writes (default: coordinators)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    seconds = args.minutes * 60 if args.minutes is not None else args.seconds
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    chaos = Chaos(args.nodes, args.base, seconds, seed, args.skew_ms, args.client_timestamps, args.keep)
    report = chaos.run()
    print(json.dumps(report, indent=2))
    sys.exit(0 if is_clean(report) else 1)


if __name__ == "__main__":
    main()
