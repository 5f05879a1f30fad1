#!/usr/bin/env bash
# Streaming rate while a node joins: starts one node on 127.0.30.1, loads GB
# gibibytes (default 2) into a keyspace at RF 1 with `rustica stress` (4 KiB
# values), then starts a second node on 127.0.30.2, which bootstraps and streams
# about half of it. Prints the load rate and the bootstrap's own figures (MiB,
# seconds, MiB/s, from its log and `rustica streams`). Release build; data under
# a temporary directory, removed at the end. Usage: scripts/bench-streaming.sh [GB]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GB=${1:-2}
BIN=${RUSTICA_BIN:-}
# Nodes prove cluster membership to each other with a shared secret (README, Security).
export RUSTICA_CLUSTER_SECRET="${RUSTICA_CLUSTER_SECRET:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
if [[ -z "$BIN" ]]; then
    cargo build --release -p tools
    BIN=target/release/rustica
fi
DIR=$(mktemp -d /tmp/rustica-bench-streaming.XXXXXX)
cleanup() {
    pkill -f "$DIR" 2>/dev/null || true
    sleep 1
    rm -rf "$DIR"
}
trap cleanup EXIT
A=127.0.30.1
B=127.0.30.2
"$BIN" node --address $A --data-dir "$DIR/node1" --seeds $A > "$DIR/node1.log" 2>&1 &
until "$BIN" shell --host $A -e "SELECT key FROM system.local" >/dev/null 2>&1; do sleep 0.5; done
VALUE=4096
OPS=$(( GB * 1024 * 1024 * 1024 / VALUE ))
echo "bench-streaming: loading $OPS rows of $VALUE bytes (~$GB GiB) into one node"
"$BIN" stress --host $A --mode write --ops "$OPS" --value-size $VALUE --concurrency 64 --keyspace bench
"$BIN" shell --host $A -e "NODETOOL CLEANUP" >/dev/null
"$BIN" status --host $A | tail -1
echo "bench-streaming: a second node joins"
start=$(date +%s%N)
"$BIN" node --address $B --data-dir "$DIR/node2" --seeds $A > "$DIR/node2.log" 2>&1 &
until grep -q "this node is NORMAL" "$DIR/node2.log"; do sleep 0.5; done
echo "bench-streaming: joined $(( ($(date +%s%N) - start) / 1000000 )) ms after start (a ring delay of 2 s included)"
grep "this node is NORMAL" "$DIR/node2.log" | sed 's/\x1b\[[0-9;]*m//g'
"$BIN" streams --host $B
"$BIN" status --host $A | tail -2
