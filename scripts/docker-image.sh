#!/usr/bin/env bash
# Builds the node image rustica:latest from a statically linked release binary
# (glibc, +crt-static): the Dockerfile starts FROM scratch, so no base image is
# pulled. The static build has a target directory of its own
# (target/x86_64-unknown-linux-gnu), apart from the ordinary builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --target x86_64-unknown-linux-gnu -p tools
# The image gets the binary without its debug information (a tenth of the size).
mkdir -p target/docker
strip -o target/docker/rustica target/x86_64-unknown-linux-gnu/release/rustica
docker build -t rustica:latest .
