#!/usr/bin/env bash
# Anti-entropy repair rates, full and incremental: two nodes on 127.0.31.1-2
# (BENCH_BASE changes the first three octets) with hints off, GB gibibytes
# (default 1) loaded at RF 2 with `rustica stress` (4 KiB values). First a
# full repair of replicas that agree (every byte hashed, nothing streamed:
# the "compared" rate), then a first incremental repair (everything is
# unrepaired yet: compared whole) and a second one (nothing written since:
# nothing compared). Then twice: node 2 is stopped, PCT percent (default 1)
# of the rows rewritten on node 1 alone, node 2 started again and repaired,
# once incremental and once full, so the two meet the same divergence.
# Prints each repair's own summary (rows and bytes compared, rows and bytes
# streamed, MiB/s) and its wall time. Release build (RUSTICA_BIN: another
# binary); data under a temporary directory, removed at the end.
# Usage: [BENCH_BASE=127.0.31] scripts/bench-repair.sh [GB [PCT]]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GB=${1:-1}
PCT=${2:-1}
BIN=${RUSTICA_BIN:-}
export RUSTICA_CLUSTER_SECRET="${RUSTICA_CLUSTER_SECRET:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
if [[ -z "$BIN" ]]; then
    cargo build --release -p tools
    BIN=target/release/rustica
fi
DIR=$(mktemp -d /tmp/rustica-bench-repair.XXXXXX)
cleanup() {
    pkill -f "$DIR" 2>/dev/null || true
    sleep 1
    rm -rf "$DIR"
}
trap cleanup EXIT
BASE=${BENCH_BASE:-127.0.31}   # the first three octets of the two nodes' addresses
A=$BASE.1
B=$BASE.2
printf 'hinted_handoff_enabled = false\n' > "$DIR/rustica.toml"
start_node() { # address, name
    "$BIN" node --config "$DIR/rustica.toml" --address "$1" --data-dir "$DIR/$2" --seeds $A >> "$DIR/$2.log" 2>&1 &
    until "$BIN" shell --host "$1" -e "SELECT key FROM system.local" >/dev/null 2>&1; do sleep 0.5; done
}
start_node $A node1
start_node $B node2
until [[ $("$BIN" status --host $A | grep -c '^UN') -eq 2 ]]; do sleep 0.5; done
VALUE=4096
OPS=$(awk -v gb="$GB" -v v=$VALUE 'BEGIN { printf "%d", gb * 1024 * 1024 * 1024 / v }')
echo "bench-repair: loading $OPS rows of $VALUE bytes (~$GB GiB) at RF 2"
"$BIN" stress --host $A --mode write --ops "$OPS" --value-size $VALUE --concurrency 64 \
    --keyspace bench --replication-factor 2 --consistency all
"$BIN" shell --host $A -e "NODETOOL FLUSH" >/dev/null 2>&1 || true
"$BIN" status --host $A | tail -2
timed_repair() { # label, repair options
    local t0 t1 label=$1
    shift
    t0=$(date +%s%N)
    "$BIN" repair bench "$@" --host $A
    t1=$(date +%s%N)
    echo "bench-repair: $label: $(( (t1 - t0) / 1000000 )) ms wall"
}
diverge() { # node 2 misses a rewrite of PCT percent of the rows
    echo "bench-repair: node 2 stopped; $PCT% of the rows rewritten on node 1 alone"
    pkill -f "$DIR/node2" || true
    until [[ $("$BIN" status --host $A | grep -c '^DN') -eq 1 ]]; do sleep 0.5; done
    "$BIN" stress --host $A --mode write --ops $(( OPS * PCT / 100 )) --value-size $VALUE --concurrency 64 \
        --keyspace bench --replication-factor 2 --consistency one
    start_node $B node2
    until [[ $("$BIN" status --host $A | grep -c '^UN') -eq 2 ]]; do sleep 0.5; done
}
timed_repair "replicas agreeing, full" --full
timed_repair "replicas agreeing, first incremental"
timed_repair "replicas agreeing, incremental again"
diverge
timed_repair "$PCT% of the rows differing, incremental"
diverge
timed_repair "$PCT% of the rows differing, full" --full
timed_repair "after the full repair, incremental"
