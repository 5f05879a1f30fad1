#!/usr/bin/env bash
# The request-path benchmark: latte (an outside load tool on the scylla driver,
# prepared statements) against one node (RF 1, ONE) and three nodes (RF 3,
# QUORUM) on loopback, release build. For each run it prints ops/s, latency
# p50/p99/p99.9, the servers' CPU-seconds, ops per server CPU-second and the
# nodes' RSS; then a run at a fixed rate of half the measured maximum, for
# latency. latte is installed once into target/bench-tools (from crates.io);
# the workloads are bench/*.rn; reports land in target/bench-reports.
#
# Usage: scripts/bench.sh [one|three|tls|lwt|all]  (default all: one and three)
#   tls: one node with TLS on the client port (certificates from `rustica
#   certs`), to set against `one`.
#   lwt: three nodes (RF 3, QUORUM): plain inserts, conditional inserts (IF NOT
#   EXISTS, a Paxos round each) and counter increments, one after the other.
# Environment: DURATION (20s), THREADS (1), CONCURRENCY (128), ROWS (200000),
#              RUSTICA_BIN (a built binary instead of building the release).
# Run it on a quiet machine: nothing compiling, nothing else running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WHICH=${1:-all}
DURATION=${DURATION:-20s}
THREADS=${THREADS:-1}
CONCURRENCY=${CONCURRENCY:-128}
ROWS=${ROWS:-200000}
LATTE_VERSION=0.29.0
TOOLS=target/bench-tools
LATTE=$TOOLS/bin/latte
REPORTS=$PWD/target/bench-reports

if [[ ! -x "$LATTE" ]] || ! "$LATTE" --version 2>/dev/null | grep -q "$LATTE_VERSION"; then
    echo "bench: installing latte $LATTE_VERSION into $TOOLS (once; takes a few minutes)"
    cargo install latte-cli --version "$LATTE_VERSION" --locked --root "$TOOLS"
fi
BIN=${RUSTICA_BIN:-}
# Nodes prove cluster membership to each other with a shared secret (README, Security).
export RUSTICA_CLUSTER_SECRET="${RUSTICA_CLUSTER_SECRET:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
if [[ -z "$BIN" ]]; then
    cargo build --release -p tools
    BIN=target/release/rustica
fi
mkdir -p "$REPORTS"
DIR=$(mktemp -d /tmp/rustica-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

TICKS=$(getconf CLK_TCK)

# CPU-seconds (user + system) used so far by the processes given.
cpu_seconds() {
    local total=0 pid fields
    for pid in "$@"; do
        read -ra fields < "/proc/$pid/stat"
        total=$(( total + fields[13] + fields[14] ))
    done
    python3 -c "print($total / $TICKS)"
}

# Resident memory of the processes given, in MiB, space-separated.
rss_mib() {
    local pid out=""
    for pid in "$@"; do
        out+="$(awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$pid/status") "
    done
    echo "${out% }"
}

start_node() { # address seeds [config]
    local address=$1 seeds=$2 config=(${3:+--config "$3"}) shell_tls=()
    [[ -n "${3:-}" ]] && shell_tls=(--ssl --ca-file "$DIR/certs/ca.crt")
    "$BIN" node "${config[@]}" --address "$address" --data-dir "$DIR/$address" --seeds "$seeds" > "$DIR/$address.log" 2>&1 &
    PIDS+=($!)
    until "$BIN" shell "${shell_tls[@]}" --host "$address" -e "SELECT key FROM system.local" >/dev/null 2>&1; do sleep 0.3; done
}

stop_nodes() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
}

# Prints one line of figures from a latte JSON report and the CPU it cost.
summarise() { # label report cpu rss
    python3 - "$1" "$2" "$3" "$4" <<'PY'
import json, sys
label, path, cpu, rss = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
report = json.load(open(path))
r = report["result"]
ops = r["cycle_count"]
rate = r["cycle_throughput"]["value"]
errors = r.get("error_count", 0)
pct = {p: v["value"] for p, v in zip(report["percentiles"], r["cycle_latency"]["percentiles"])}
def ms(p):
    v = pct.get(p)
    return float("nan") if v is None else v
print(f"{label:<44} {rate:>9.0f} ops/s  p50 {ms(50.0):6.2f} ms  p99 {ms(99.0):6.2f} ms  p99.9 {ms(99.9):6.2f} ms  "
      f"cpu {cpu:6.1f} s  {ops / cpu if cpu else 0:>8.0f} ops/cpu-s  rss {rss} MiB  errors {errors}")
PY
}

# One latte run against the nodes; prints its line and sets MAX_RATE.
measure() { # label workload consistency rate|"" params...
    local label=$1 workload=$2 consistency=$3 rate=$4
    shift 4
    local report="$REPORTS/$(echo "$label" | tr ' ,=/' '____').json"
    local before after rate_flag=()
    [[ -n "$rate" ]] && rate_flag=(--rate "$rate")
    before=$(cpu_seconds "${PIDS[@]}")
    "$LATTE" run "$workload" --quiet --warmup 0 --duration "$DURATION" --threads "$THREADS" \
        --concurrency "$CONCURRENCY" --consistency "$consistency" "${rate_flag[@]}" \
        --output "$report" "${LATTE_TLS[@]}" "$@" -- "${HOSTS[0]}" > "$DIR/latte.out" 2>&1 \
        || { cat "$DIR/latte.out"; return 1; }
    after=$(cpu_seconds "${PIDS[@]}")
    summarise "$label" "$report" "$(python3 -c "print($after - $before)")" "$(rss_mib "${PIDS[@]}")"
    MAX_RATE=$(python3 -c "import json; print(int(json.load(open('$report'))['result']['cycle_throughput']['value']))")
}

scenario() { # label consistency rf
    local label=$1 consistency=$2 rf=$3
    "$LATTE" schema bench/write.rn "${LATTE_TLS[@]}" -P rf="$rf" -- "${HOSTS[0]}" > /dev/null 2>&1
    "$LATTE" schema bench/read.rn "${LATTE_TLS[@]}" -P rf="$rf" -P rows="$ROWS" -- "${HOSTS[0]}" > /dev/null 2>&1
    echo "bench: $label: idle rss $(rss_mib "${PIDS[@]}") MiB; loading $ROWS rows to read"
    "$LATTE" load bench/read.rn --quiet "${LATTE_TLS[@]}" -P rf="$rf" -P rows="$ROWS" --consistency "$consistency" -- "${HOSTS[0]}" > /dev/null 2>&1
    measure "$label inserts" bench/write.rn "$consistency" "" -P rf="$rf"
    local half=$(( MAX_RATE / 2 ))
    measure "$label inserts at $half/s" bench/write.rn "$consistency" "$half" -P rf="$rf"
    measure "$label overwrites of 1000 keys" bench/write.rn "$consistency" "" -P rf="$rf" -P keys=1000
    measure "$label point reads" bench/read.rn "$consistency" "" -P rf="$rf" -P rows="$ROWS"
    half=$(( MAX_RATE / 2 ))
    measure "$label point reads at $half/s" bench/read.rn "$consistency" "$half" -P rf="$rf" -P rows="$ROWS"
}

LATTE_TLS=()
echo "bench: $("$LATTE" --version), $THREADS client thread(s) x $CONCURRENCY requests in flight, $DURATION per run, $(nproc) cores"
if [[ "$WHICH" == one || "$WHICH" == all ]]; then
    HOSTS=(127.0.30.1)
    start_node 127.0.30.1 127.0.30.1
    scenario "one node, RF 1, ONE" ONE 1
    stop_nodes
fi
if [[ "$WHICH" == tls ]]; then
    HOSTS=(127.0.30.1)
    "$BIN" certs --out "$DIR/certs" --node node+127.0.30.1+localhost > /dev/null
    cat > "$DIR/tls.toml" <<TOML
[client_encryption]
enabled = true
certificate = "$DIR/certs/node.crt"
private_key = "$DIR/certs/node.key"
TOML
    LATTE_TLS=(--ssl --ssl-ca "$DIR/certs/ca.crt")
    start_node 127.0.30.1 127.0.30.1 "$DIR/tls.toml"
    scenario "one node, TLS, RF 1, ONE" ONE 1
    stop_nodes
    LATTE_TLS=()
fi
if [[ "$WHICH" == lwt ]]; then
    HOSTS=(127.0.31.1 127.0.31.2 127.0.31.3)
    for h in "${HOSTS[@]}"; do start_node "$h" 127.0.31.1; done
    until [[ $("$BIN" status --host 127.0.31.1 | grep -c '^UN') -eq 3 ]]; do sleep 0.5; done
    for w in write lwt counter; do
        "$LATTE" schema "bench/$w.rn" -P rf=3 -- "${HOSTS[0]}" > /dev/null 2>&1
    done
    measure "three nodes, QUORUM inserts" bench/write.rn QUORUM "" -P rf=3
    measure "three nodes, IF NOT EXISTS (SERIAL)" bench/lwt.rn QUORUM "" -P rf=3
    measure "three nodes, counter increments" bench/counter.rn QUORUM "" -P rf=3
    stop_nodes
fi
if [[ "$WHICH" == three || "$WHICH" == all ]]; then
    HOSTS=(127.0.31.1 127.0.31.2 127.0.31.3)
    for h in "${HOSTS[@]}"; do start_node "$h" 127.0.31.1; done
    until [[ $("$BIN" status --host 127.0.31.1 | grep -c '^UN') -eq 3 ]]; do sleep 0.5; done
    scenario "three nodes, RF 3, QUORUM" QUORUM 3
    stop_nodes
fi
