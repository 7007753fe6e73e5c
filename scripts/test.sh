#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (a real oxkey-server
# process, real clients, differential runs against redis-server) and the
# Python client tests. Installs missing prerequisites first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-deps.sh

echo "== cargo test"
cargo build --bins
cargo test --all-targets 2>&1 | tee target/cargo-test.log
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || { echo "cargo test failed"; exit "$status"; }

echo "== pytest (valkey-py, redis-py; RESP2 and RESP3)"
OXKEY_SERVER="$PWD/target/debug/oxkey-server" .venv/bin/pytest -q tests/python
