#!/usr/bin/env bash
# Creates .venv/ at the repo root with the Python clients the end-to-end tests drive
# (the DataStax driver and cqlsh) plus pytest. Safe to run again: a stamp file that
# records the pinned requirements makes a second run a no-op.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
PYTHON=${PYTHON:-python3}
REQUIREMENTS=(
    "cassandra-driver==3.30.*"
    "cqlsh==6.2.*"
    "pytest>=8,<10"
    "pytest-timeout==2.*"
)
STAMP="$VENV/.rustica-requirements"

# PyPI ships manylinux wheels of cassandra-driver for CPython 3.10+; should pip ever
# fall back to the sdist, skip the optional C extensions (pure Python is enough for
# tests, and needs no compiler or headers).
export CASS_DRIVER_NO_EXTENSIONS=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

wanted=$(printf '%s\n' "${REQUIREMENTS[@]}")
if [[ -x "$VENV/bin/python" && -x "$VENV/bin/cqlsh" && -f "$STAMP" ]] \
    && [[ "$(cat "$STAMP")" == "$wanted" ]]; then
    echo "setup-python: $VENV is up to date"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    if ! "$PYTHON" -m venv "$VENV"; then
        # Debian's own python3 keeps venv (ensurepip) in a separate package.
        echo "setup-python: '$PYTHON -m venv' failed; installing python3-venv" >&2
        rm -rf "$VENV"
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            DEBIAN_FRONTEND=noninteractive apt-get update -q
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
        else
            echo "setup-python: need python3-venv (apt-get install python3-venv)" >&2
            exit 1
        fi
        "$PYTHON" -m venv "$VENV"
    fi
fi

"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${REQUIREMENTS[@]}"

# Fail here, not in the middle of a test run, if anything is missing.
"$VENV/bin/python" -c 'import cassandra, pytest, pytest_timeout; print("setup-python: cassandra-driver", cassandra.__version__, "pytest", pytest.__version__)'
"$VENV/bin/cqlsh" --version

echo "$wanted" >"$STAMP"
