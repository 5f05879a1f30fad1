#!/usr/bin/env bash
# The compose cluster end to end: builds the image (scripts/docker-image.sh) and the
# certificates (scripts/compose-certs.sh), starts the five nodes of
# docker-compose.yml (TLS on every port, passwords), waits until all are healthy,
# writes rows at QUORUM through the DataStax Python driver from this machine (TLS
# and the default superuser, 127.0.20.1:9042), checks that every node's
# Prometheus endpoint answers (curl to 127.0.20.k:9180/metrics), adds
# node6 with its profile (it bootstraps: streams its ranges, then UN), checks
# `rustica status` on node1 shows six UN and every row reads back, decommissions
# node6 (back to five UN, every row still there), then tears it all down (volumes
# included). At the end it runs the apps' side from this machine: `flight-sim setup`
# and a short `flight-sim run` over TLS with the superuser's password, stopping
# node3 in the middle of the run (every flight must still land). Before node6, an impostor container on the cluster's network (the
# cluster's own client certificate as its node certificate, a guessed secret)
# tries to join: node1 must refuse it and never list it. Prints the time from `up -d` to healthy. Needs a Docker engine with
# docker-compose; makes its own Python environment (.venv, scripts/setup-python.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The driver this test writes and reads with; a no-op once .venv is up to date.
scripts/setup-python.sh

PROJECT=rustica-compose-test
COMPOSE=(docker-compose -p "$PROJECT")
HEALTHY_LIMIT=120

IMPOSTOR=rustica-compose-test-impostor

cleanup() {
    local status=$?
    docker rm -f "$IMPOSTOR" >/dev/null 2>&1 || true
    if [[ $status -ne 0 ]]; then
        "${COMPOSE[@]}" --profile grow logs --tail 30 || true
    fi
    "${COMPOSE[@]}" --profile grow down -v --remove-orphans >/dev/null 2>&1 || true
    exit $status
}
trap cleanup EXIT

wait_healthy() {
    local started=$1
    shift
    for service in "$@"; do
        while true; do
            id=$("${COMPOSE[@]}" --profile grow ps -q "$service")
            state=$(docker inspect --format '{{.State.Health.Status}}' "$id" 2>/dev/null || echo starting)
            [[ "$state" == healthy ]] && break
            if (( $(date +%s) - started > HEALTHY_LIMIT )); then
                echo "compose-test: $service not healthy within ${HEALTHY_LIMIT} s ($state)" >&2
                return 1
            fi
            sleep 1
        done
    done
}

# Waits up to 60 s until node1's `rustica status` has $2 lines matching $1, then
# prints it; fails with $3 otherwise.
wait_listed() {
    local deadline=$(( $(date +%s) + 60 ))
    until "${COMPOSE[@]}" exec -T node1 /rustica status --host node1 --ssl --ca-file /etc/rustica/certs/ca.crt -u cassandra -p cassandra | tee /tmp/compose-status.txt | grep -c "$1" | grep -qx "$2"; do
        if (( $(date +%s) > deadline )); then
            cat /tmp/compose-status.txt >&2
            echo "compose-test: $3" >&2
            exit 1
        fi
        sleep 2
    done
    cat /tmp/compose-status.txt
}

# Every row reads back at QUORUM; $1 says when.
read_back() {
    .venv/bin/python -c "$CONNECT$(cat <<'PY'

import sys
rows = s.execute(SimpleStatement("SELECT k, v FROM compose.t", consistency_level=ConsistencyLevel.QUORUM, fetch_size=500))
got = {r.k: r.v for r in rows}
assert got == {k: f"v{k}" for k in range(1000)}, f"{len(got)} of 1000 rows read back"
print(f"compose-test: all 1000 rows read back at QUORUM {sys.argv[1]}")
cluster.shutdown()
PY
)" "$1"
}

scripts/docker-image.sh
scripts/compose-certs.sh
"${COMPOSE[@]}" --profile grow down -v --remove-orphans >/dev/null 2>&1 || true
start_ns=$(date +%s%N)
"${COMPOSE[@]}" up -d
wait_healthy $((start_ns / 1000000000)) node1 node2 node3 node4 node5
echo "compose-test: five nodes healthy $(( ($(date +%s%N) - start_ns) / 1000000 )) ms after up -d"

# The driver's side of every step: TLS with the cluster's authority, the default
# superuser, and node1 only (the others are reached through it).
CONNECT='
import ssl
from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.load_verify_locations("certs/ca.crt")
cluster = Cluster(["127.0.20.1"], load_balancing_policy=WhiteListRoundRobinPolicy(["127.0.20.1"]),
                  ssl_context=context, auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
s = cluster.connect()
'

.venv/bin/python -c "$CONNECT$(cat <<'PY'

s.execute("CREATE KEYSPACE IF NOT EXISTS compose WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
s.execute("CREATE TABLE IF NOT EXISTS compose.t (k int PRIMARY KEY, v text)")
insert = s.prepare("INSERT INTO compose.t (k, v) VALUES (?, ?)")
insert.consistency_level = ConsistencyLevel.QUORUM
for k in range(1000):
    s.execute(insert, (k, f"v{k}"))
print("compose-test: wrote 1000 rows at QUORUM over TLS, logged in")
cluster.shutdown()
PY
)"

# Each node's Prometheus endpoint answers from this machine (plain HTTP on
# 127.0.20.k:9180), and node1's request counter saw the writes just made.
for k in 1 2 3 4 5; do
    metrics=$(curl -sf --max-time 10 "http://127.0.20.$k:9180/metrics") \
        || { echo "compose-test: node$k's /metrics does not answer on 127.0.20.$k:9180" >&2; exit 1; }
    grep -q '^# TYPE rustica_cql_requests_total counter' <<<"$metrics" \
        || { echo "compose-test: node$k's /metrics has no rustica_cql_requests_total" >&2; exit 1; }
done
executes=$(curl -sf --max-time 10 "http://127.0.20.1:9180/metrics" \
    | awk '/^rustica_cql_requests_total\{.*opcode="EXECUTE"/ { sum += $NF } END { print sum + 0 }')
(( ${executes%.*} >= 1000 )) \
    || { echo "compose-test: node1 counted $executes EXECUTEs after 1000 writes" >&2; exit 1; }
echo "compose-test: every node's /metrics answers; node1 counted $executes EXECUTEs"

# A stranger inside the cluster's network: signed by the cluster's authority, but
# with a client's certificate, and a guessed secret.
network=$(docker inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}' "$("${COMPOSE[@]}" ps -q node1)")
guess=$(mktemp)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$guess"
docker rm -f "$IMPOSTOR" >/dev/null 2>&1 || true
docker run -d --name "$IMPOSTOR" --network "$network" --network-alias impostor \
    -v "$PWD/certs/client.crt:/etc/rustica/certs/node.crt:ro" -v "$PWD/certs/client.key:/etc/rustica/certs/node.key:ro" \
    -v "$PWD/certs/ca.crt:/etc/rustica/certs/ca.crt:ro" -v "$guess:/etc/rustica/certs/cluster.secret:ro" \
    rustica:latest node --config /etc/rustica/rustica.toml --address impostor --seeds node1,node2 >/dev/null
sleep 10
wait_listed '^[UD][NJLM]' 5 "node1 lists the impostor"
# The whole log first: `grep -q` stops reading early, and under pipefail the
# writer's broken pipe would fail the test.
node1_log=$(docker logs "$("${COMPOSE[@]}" ps -q node1)" 2>&1)
grep -q "not a node certificate" <<<"$node1_log" \
    || { echo "compose-test: node1 never said why it refused the impostor" >&2; exit 1; }
docker rm -f "$IMPOSTOR" >/dev/null
rm -f "$guess"
echo "compose-test: an impostor with the cluster's client certificate was kept out"

start_ns=$(date +%s%N)
"${COMPOSE[@]}" --profile grow up -d node6
wait_healthy $((start_ns / 1000000000)) node6
echo "compose-test: node6 healthy $(( ($(date +%s%N) - start_ns) / 1000000 )) ms after up -d"
wait_listed '^UN' 6 "node1 never listed six nodes UN"

read_back "with six nodes"

"${COMPOSE[@]}" exec -T node6 /rustica decommission --host node6 --ssl --ca-file /etc/rustica/certs/ca.crt -u cassandra -p cassandra
# A decommissioned node does not start again: remove its container.
"${COMPOSE[@]}" --profile grow rm -sf node6 >/dev/null
wait_listed '^[UD][NJLM]' 5 "node1 still lists node6 after its decommission"

read_back "after node6 left"

# The apps from this machine, as a user runs them: TLS trusting certs/ca.crt (the
# node certificates name node1.. and 127.0.20.k, while the driver dials the container
# addresses it discovers: the apps check the chain, not the names, as the rustica
# tools do) and the superuser's password.
# The workspace's own build (as scripts/test.sh makes it): `-p simulator` alone
# would resolve the dependencies' features apart and rebuild tokio, scylla and more.
cargo build -q --workspace --all-targets
# Any node may be the one stopped below, so the roles must not live on one node:
# as Cassandra advises, system_auth gets the data's replication (RF 3), and a
# repair copies the roles to their new replicas (with RF 1 the run failed
# whenever node3 held the superuser's role).
NODE1_TOOL=(--host node1 --ssl --ca-file /etc/rustica/certs/ca.crt -u cassandra -p cassandra)
if "${COMPOSE[@]}" exec -T node1 /rustica shell "${NODE1_TOOL[@]}" \
    -e "ALTER KEYSPACE system_auth WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}" \
    && "${COMPOSE[@]}" exec -T node1 /rustica repair system_auth "${NODE1_TOOL[@]}" >/tmp/compose-auth-repair.txt; then
    echo "compose-test: system_auth has RF 3: $(tail -n 1 /tmp/compose-auth-repair.txt)"
else
    echo "compose-test: WARNING: could not give system_auth RF 3; the run below fails if node3 holds the roles" >&2
fi
SIM=(target/debug/flight-sim --host 127.0.20.1 --ca-file certs/ca.crt -u cassandra -p cassandra)
setup_out=$("${SIM[@]}" setup)
echo "$setup_out"
grep -q "replication factor 3" <<<"$setup_out" \
    || { echo "compose-test: flight-sim setup did not make the keyspace with RF 3" >&2; exit 1; }
run_log=$(mktemp)
"${SIM[@]}" run --random 8 --spread 5s --time-scale 2000 --tick 200ms --duration 90s >"$run_log" 2>&1 &
run_pid=$!
sleep 10
"${COMPOSE[@]}" stop node3
echo "compose-test: node3 stopped in the middle of the run"
if ! wait "$run_pid"; then
    cat "$run_log" >&2
    echo "compose-test: flight-sim run failed once node3 stopped" >&2
    exit 1
fi
done_line=$(grep '^done: ' "$run_log" || true)
echo "compose-test: flight-sim run: $done_line"
grep -q '^done: 8 landed, 0 cancelled, 0 stopped' <<<"$done_line" \
    || { tail -20 "$run_log" >&2; echo "compose-test: not every flight landed with node3 stopped" >&2; exit 1; }
rm -f "$run_log"
echo "compose-test: ok"
