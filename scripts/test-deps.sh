#!/usr/bin/env bash
# Installs what the test suite needs, if it is missing: Redis (the reference
# server of the differential tests, and redis-cli) from Debian's packages,
# and a Python venv in .venv with pytest, valkey-py and redis-py.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
    else
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
    fi
    # The package starts a system instance on 6379; the tests never use it.
    (systemctl stop redis-server 2>/dev/null || service redis-server stop 2>/dev/null || true) >/dev/null 2>&1
fi

if [ ! -x .venv/bin/pytest ] || ! .venv/bin/python -c 'import valkey, redis' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r tests/python/requirements.txt
fi
