#!/usr/bin/env bash
# Makes the compose cluster's certificates in certs/ (git-ignored) when there are
# none: the cluster authority, one certificate per node (node1..node6, named by
# its service name and reachable from this machine as 127.0.20.k), and a client
# certificate; and the cluster secret (certs/cluster.secret) when there is none.
# Uses the image's binary (scripts/docker-image.sh builds it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -f certs/cluster.secret ]]; then
    mkdir -p certs
    # Private, as the keys are (the containers run as root).
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > certs/cluster.secret)
    echo "compose-certs: made the cluster secret certs/cluster.secret"
fi
if [[ -f certs/ca.crt ]]; then
    echo "compose-certs: certs/ca.crt exists; keeping the certificates in certs/"
    exit 0
fi
if [[ ! -x target/docker/rustica ]]; then
    echo "compose-certs: target/docker/rustica is missing; run scripts/docker-image.sh first (it builds it)" >&2
    exit 1
fi
nodes=()
for k in 1 2 3 4 5 6; do
    nodes+=(--node "node$k+node$k+127.0.20.$k")
done
target/docker/rustica certs --out certs "${nodes[@]}"
