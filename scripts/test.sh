#!/usr/bin/env bash
# Runs every test: the Rust unit and integration tests (a real oxkey-server
# process, real clients, differential runs against redis-server, fuzz input
# replays), the Python client tests, and valkey-py's own test suite as a
# ratchet. Installs missing prerequisites first. Every step runs; the script
# fails if any of them failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$(date +%s)

scripts/test-deps.sh
mkdir -p target
rm -f target/test-*.log

FAILED=()
step() {  # step NAME COMMAND...: runs it, output also in target/test-NAME.log
    local name=$1
    shift
    echo "== $name"
    local t0 rc=0
    t0=$(date +%s)
    "$@" 2>&1 | tee "target/test-$name.log" || rc=$?
    echo "== $name: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") in $(($(date +%s) - t0)) s"
    [ "$rc" = 0 ] || FAILED+=("$name")
}

pytest_clients() {
    local rc=0
    OXKEY_SERVER="$PWD/target/debug/oxkey-server" .venv/bin/pytest -q tests/python || rc=$?
    # 5 means no test was collected: a broken test tree, not a pass.
    [ "$rc" != 5 ] || echo "pytest collected no tests in tests/python"
    return "$rc"
}

step build cargo build --bins
if [ ${#FAILED[@]} = 0 ]; then
    step cargo-test cargo test --all-targets --no-fail-fast
    step pytest pytest_clients
    step valkey-py scripts/valkey-py-suite.sh
fi
# The image, built and run in Docker (skipped without a Docker engine).
step docker scripts/docker-test.sh

# The runners' own summaries, together.
total() { grep -ohE "[0-9]+ $1;" target/test-cargo-test.log 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
echo
echo "cargo test: $(total passed) passed, $(total failed) failed, $(total ignored) ignored"
grep -hE '^[0-9]+ (passed|failed)' target/test-pytest.log 2>/dev/null | tail -1 | sed 's/^/pytest: /' || true
grep -hE '^valkey-py resp|^ratchet:' target/test-valkey-py.log 2>/dev/null || true
grep -hE '^docker-test:|^SKIPPED' target/test-docker.log 2>/dev/null | sed 's/^/docker: /' || true
echo "scripts/test.sh took $(($(date +%s) - started)) s"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "FAILED steps: ${FAILED[*]}"
    exit 1
fi
echo "all steps passed"
