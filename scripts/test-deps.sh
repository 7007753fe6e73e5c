#!/usr/bin/env bash
# Installs what the test suite needs, if it is missing: Redis (the reference
# server of the differential tests, and redis-cli) from Debian's packages,
# and a Python venv in .venv with tests/python/requirements.txt (pytest,
# valkey-py, redis-py and the plugins valkey-py's own suite uses).
# Works on a fresh Debian machine as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=
apt_install() {
    [ -n "$APT_UPDATED" ] || { as_root apt-get update -qq; APT_UPDATED=1; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "test-deps: installing redis-server and redis-tools"
    apt_install redis-server redis-tools
    # The package may start a system instance on 6379; the tests never use it.
    (as_root systemctl stop redis-server || as_root service redis-server stop || true) >/dev/null 2>&1
fi

# Debian's python3 needs python3-venv for `python3 -m venv`.
if ! command -v python3 >/dev/null; then
    apt_install python3 python3-venv
fi
if [ ! -x .venv/bin/python ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt_install python3-venv
fi

# Reinstall when requirements.txt changed since the venv was made.
STAMP=.venv/requirements.installed
if [ ! -x .venv/bin/pytest ] || ! cmp -s tests/python/requirements.txt "$STAMP"; then
    echo "test-deps: setting up .venv from tests/python/requirements.txt"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r tests/python/requirements.txt
    cp tests/python/requirements.txt "$STAMP"
fi
