#!/usr/bin/env bash
# Starts the main job on this machine, no Docker needed: builds the release binaries
# and runs a five-node cluster on 127.0.0.1..127.0.0.5 (port 9042 on each; nodes 1
# and 2 are the seeds) in the foreground. Once every node is UN it prints
# `rustica status`, creates the flight keyspace with its airports (`flight-sim setup`),
# keeps random flights in the air with the simulator, and opens the flight map when
# there is a display (DISPLAY or WAYLAND_DISPLAY). Ctrl-C stops it all. Each node's
# data and log live in data/local/node<k>/, the apps' logs in data/local/apps/.
# Extra arguments go to `rustica local`, e.g.
#   scripts/run-local.sh --nodes 3 --flights 40 --config conf/rustica.toml
# Connect with
#   target/release/rustica shell              (or cqlsh 127.0.0.1 9042)
#   target/release/rustica status             (like nodetool status)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p tools -p simulator -p gui
# A later --nodes in "$@" overrides this one.
exec target/release/rustica local --nodes 5 --apps "$@"
