#!/usr/bin/env bash
# Runs every test: the Rust unit and integration tests under cargo-nextest, then the
# Python end-to-end tests (DataStax driver, cqlsh) against the freshly built node, then
# the GUI's rendered checks, then the compose cluster when Docker is there. Every
# suite always runs; the script fails if any does.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "== cargo-nextest missing; installing it from crates.io"
    cargo install cargo-nextest --locked
fi

echo "== cargo build --workspace --all-targets"
cargo build --workspace --all-targets

profile=default
if [[ "${CI:-}" == "true" ]]; then
    profile=ci
fi

# Tests that start real nodes find the binary here (also when CARGO_TARGET_DIR is set).
export RUSTICA_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/rustica"

echo "== cargo nextest run --workspace (profile $profile)"
rust_status=0
cargo nextest run --workspace --profile "$profile" || rust_status=$?

echo "== Python clients"
scripts/setup-python.sh

echo "== pytest tests/python"
python_status=0
PYTHONDONTWRITEBYTECODE=1 \
    .venv/bin/pytest tests/python -v --timeout 60 -p no:cacheprovider || python_status=$?

# GUI (flight-map): install the Debian packages the rendered checks need (Mesa's
# lavapipe, Xvfb, xwd, imagemagick; a no-op when present), re-run the UI tests with the
# map snapshot required (without a wgpu adapter the nextest run above skips it), then
# open the real window under Xvfb against a node and the simulator and check the
# screenshot (scripts/gui-smoke.sh). The UI tests are picked from the workspace's
# test binaries by a filter: `-p gui` alone would resolve the dependencies' features
# apart from the workspace and rebuild egui and the rest (ten minutes on two cores).
echo "== GUI: UI tests with rendering required, then the window under Xvfb"
gui_status=0
{ scripts/setup-gui-test.sh \
    && RUSTICA_REQUIRE_RENDER=1 cargo nextest run --workspace --profile "$profile" -E 'package(gui) and binary(ui)' \
    && scripts/gui-smoke.sh; } || gui_status=$?

# Containers: the five-node compose cluster with TLS and passwords, a sixth node
# joining and leaving (scripts/compose-test.sh). Runs wherever a Docker engine
# answers (as on CI machines); skipped, and said so, where none does.
compose_status=0
if command -v docker-compose >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "== compose: image, five nodes, node6 joins and leaves"
    scripts/compose-test.sh || compose_status=$?
else
    echo "== compose: SKIPPED (no Docker engine with docker-compose here)"
fi

if [[ $rust_status -ne 0 || $python_status -ne 0 || $gui_status -ne 0 || $compose_status -ne 0 ]]; then
    echo "== FAILED: nextest exit $rust_status, pytest exit $python_status, gui exit $gui_status, compose exit $compose_status" >&2
    exit 1
fi
echo "== all tests passed"
