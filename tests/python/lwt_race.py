"""The race both cluster modules run (test_lwt_counters.py on three nodes,
test_cluster.py on five): clients, each on one coordinator in turn, race
INSERT ... IF NOT EXISTS on the same keys. At most one is applied per key, and
the stored value is the winner's, or, where no attempt was known to apply, that
of a client whose attempt timed out (its outcome unknown)."""

import random
import threading
import time

from cassandra import ConsistencyLevel, OperationTimedOut, WriteTimeout
from cassandra.cluster import NoHostAvailable
from cassandra.query import SimpleStatement

# Errors after which a write's outcome is unknown: it may have been applied.
UNKNOWN = (WriteTimeout, OperationTimedOut, NoHostAvailable)


def race_inserts_if_not_exists(sessions, table: str, clients: int = 40, keys: int = 200):
    """Runs the race on `table` (k int PRIMARY KEY, owner int), client i through
    sessions[i % len(sessions)], and checks it; returns (seconds, timed out)."""
    inserts = [s.prepare(f"INSERT INTO {table} (k, owner) VALUES (?, ?) IF NOT EXISTS") for s in sessions]
    for p in inserts:
        p.consistency_level = ConsistencyLevel.QUORUM
    every_key = list(range(keys))
    applied = {k: [] for k in every_key}
    unknown = {k: [] for k in every_key}
    lock = threading.Lock()

    def client(i):
        order = every_key[:]
        random.Random(i).shuffle(order)
        n = i % len(sessions)
        for k in order:
            try:
                row = sessions[n].execute(inserts[n], (k, i)).one()
            except UNKNOWN:
                with lock:
                    unknown[k].append(i)
                continue
            if row[0]:
                with lock:
                    applied[k].append(i)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    stored = {r.k: r.owner for r in sessions[0].execute(
        SimpleStatement(f"SELECT k, owner FROM {table}", consistency_level=ConsistencyLevel.QUORUM))}
    for k in every_key:
        assert len(applied[k]) <= 1, f"key {k} applied for clients {applied[k]}"
        if applied[k]:
            assert stored.get(k) == applied[k][0], f"key {k}: stored {stored.get(k)}, winner {applied[k][0]}"
        else:
            assert stored.get(k) in unknown[k], f"key {k}: stored {stored.get(k)} by no client that could have won"
    return took, sum(len(v) for v in unknown.values())
