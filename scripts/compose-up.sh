#!/usr/bin/env bash
# Starts the compose cluster (`docker-compose up -d`, extra arguments passed on to
# `up`, such as service names). First makes
# what the compose file needs and a fresh checkout lacks: the image rustica:latest
# (scripts/docker-image.sh) and the certificates and cluster secret in certs/ (scripts/compose-certs.sh).
# Needs a Docker engine with docker-compose.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v docker-compose >/dev/null; then
    echo "compose-up: docker-compose is not installed (Debian: apt-get install docker-compose)" >&2
    exit 1
fi
if ! docker image inspect rustica:latest >/dev/null 2>&1; then
    echo "compose-up: no image rustica:latest yet; building it (scripts/docker-image.sh)"
    scripts/docker-image.sh
fi
if [[ ! -f certs/ca.crt || ! -f certs/cluster.secret ]]; then
    echo "compose-up: no certificates or cluster secret in certs/ yet; making them (scripts/compose-certs.sh)"
    scripts/compose-certs.sh
fi
exec docker-compose up -d "$@"
