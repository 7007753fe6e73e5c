#!/usr/bin/env bash
# valkey-py's own test suite against oxkey, as a compatibility ratchet.
#
# Usage: scripts/valkey-py-suite.sh [--update] [--server PATH] [-- PYTEST ARGS]
#        (PYTEST ARGS, e.g. a test file, narrow the run: then only the listed
#        tests that ran are checked)
#
# Downloads valkey-py's source distribution once (it ships its tests/) into
# .cache/, starts a fresh oxkey-server per protocol on a free loopback port,
# runs the suite against it with RESP2 and RESP3 at the same time, prints
# passed/failed/skipped, and fails if a test listed in
# tests/python/valkey_py_expected_passes.txt did not pass.
#
#   --update       add the tests that pass now to the list (refused while a
#                  listed test fails: the list only grows)
#   --server PATH  the server binary (default: $OXKEY_SERVER, else
#                  target/debug/oxkey-server, built if missing). It is
#                  started with redis-server's options, so
#                  `--server redis-server` shows what a real server passes.
#
# Logs, per-test outcomes and server logs go to target/valkey-py/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VERSION=6.2.0
CACHE=$ROOT/.cache/valkey-py-$VERSION
EXPECTED=tests/python/valkey_py_expected_passes.txt
OUT=$ROOT/target/valkey-py
PY=$ROOT/.venv/bin/python
SERVER=${OXKEY_SERVER:-}
UPDATE=()
EXTRA=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --update) UPDATE=(--update); shift ;;
    --server) SERVER=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

[ -x "$PY" ] || scripts/test-deps.sh
if [ -z "$SERVER" ]; then
    SERVER=$ROOT/target/debug/oxkey-server
    [ -x "$SERVER" ] || cargo build --bin oxkey-server
fi
SERVER=$(command -v "$SERVER")

# The sdist carries tests/ (with its conftest.py and pyproject.toml pytest settings).
if [ ! -f "$CACHE/tests/conftest.py" ]; then
    tmp=$(mktemp -d)
    "$PY" -m pip download -q --no-binary :all: --no-deps "valkey==$VERSION" -d "$tmp"
    mkdir -p "$(dirname "$CACHE")"
    tar xzf "$tmp/valkey-$VERSION.tar.gz" -C "$tmp"
    rm -rf "$CACHE"
    mv "$tmp/valkey-$VERSION" "$CACHE"
    rm -rf "$tmp"
fi

# What is left out, and why. Everything else runs, and a test failing because
# oxkey lacks a command is simply not on the expected list (yet).
IGNORE=(
    # TLS: need certificates (missing from the sdist, so these fail at import) and a TLS port.
    tests/test_ssl.py
    tests/test_asyncio/test_cluster.py   # also cluster
    # Cluster mode: a cluster of 6 nodes.
    tests/test_cluster.py
    # Sentinel: sentinels on localhost:26379-26381.
    tests/test_sentinel.py
    tests/test_asyncio/test_sentinel.py
)
DESELECT=(
    # Sentinel-backed client cache (localhost:26379).
    tests/test_cache.py::TestSentinelLocalCache
    tests/test_asyncio/test_cache.py::TestSentinelLocalCache
    # TLS connections.
    tests/test_connect.py::test_tcp_ssl
    tests/test_asyncio/test_connect.py::test_tcp_ssl
    # Connect to localhost:6379 whatever --valkey-url says.
    tests/test_connection.py::TestConnection::test_retry_connect_on_timeout_error
    tests/test_connection.py::test_create_single_connection_client_from_url
    tests/test_asyncio/test_connection.py::test_create_single_connection_client_from_url
    tests/test_asyncio/test_connection_pool.py::TestConnectionPool::test_multiple_connections
    tests/test_asyncio/test_connection_pool.py::TestConnectionPool::test_max_connections
    tests/test_asyncio/test_connection_pool.py::TestConnectionPool::test_reuse_previously_released_connection
    tests/test_commands.py::TestValkeyCommands::test_client_setinfo
    tests/test_asyncio/test_commands.py::TestValkeyCommands::test_client_setinfo
    # Timing-dependent (a reply expected within a short client timeout): pass
    # alone, fail now and then when the 2-core machine is loaded.
    "tests/test_asyncio/test_pubsub.py::TestPubSubAutoReconnect::test_reconnect_socket_error[single-listen]"
    "tests/test_asyncio/test_pubsub.py::TestPubSubSubscribeUnsubscribe::test_subscribe_property_with_channels[pool]"
    # A replica on localhost:6380.
    tests/test_commands.py::TestValkeyCommands::test_psync
    # A proxy on the fixed port 5380 (and a cluster on localhost:16379): the
    # RESP2 and RESP3 runs, which go in parallel, would share it.
    tests/test_asyncio/test_cwe_404.py
)
# Marked for cluster, TLS or replica set-ups (as valkey-py's own CI runs standalone tests).
MARKERS="not onlycluster and not ssl and not replica"

pytest_args=(-p valkey_suite_plugin -p no:cacheprovider -q --tb=line --timeout=10 -m "$MARKERS")
for f in "${IGNORE[@]}"; do pytest_args+=(--ignore="$f"); done
for t in "${DESELECT[@]}"; do pytest_args+=(--deselect="$t"); done

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() {
    "$PY" - "$1" <<'EOF'
import socket, sys, time
deadline = time.time() + 10
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(7) == b"+PONG\r\n":
                sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

rm -rf "$OUT"
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start=$(date +%s)
declare -A RUN
for proto in 2 3; do
    port=$(free_port)
    mkdir -p "$OUT/server-resp$proto"
    # No save points: a save rule firing mid-suite would make the tests'
    # own BGSAVE calls fail ("already in progress") by chance.
    "$SERVER" --port "$port" --bind 127.0.0.1 --dir "$OUT/server-resp$proto" --save '' \
        --enable-debug-command yes >"$OUT/server-resp$proto.log" 2>&1 &
    PIDS+=($!)
    wait_ping "$port" || { echo "valkey-py suite: $SERVER did not answer on port $port" >&2; exit 1; }
    (cd "$CACHE" && COLUMNS=300 PYTHONPATH="$ROOT/tests/python" "$PY" -m pytest tests "${pytest_args[@]}" \
        --valkey-url="valkey://127.0.0.1:$port/0" --protocol=$proto \
        --outcomes-file="$OUT/outcomes-resp$proto.txt" "${EXTRA[@]}" >"$OUT/resp$proto.log" 2>&1) &
    RUN[$proto]=$!
done

status=0
for proto in 2 3; do
    rc=0
    wait "${RUN[$proto]}" || rc=$?
    # 0: all passed, 1: some failed; anything else means the run itself broke.
    if [ "$rc" -gt 1 ]; then
        echo "valkey-py suite (RESP$proto): pytest exited with $rc; end of $OUT/resp$proto.log:" >&2
        tail -20 "$OUT/resp$proto.log" >&2
        status=1
    fi
done
[ "$status" = 0 ] || exit 1
echo "valkey-py suite ran in $(($(date +%s) - start)) s (logs: $OUT)"

# With extra pytest arguments (a subset, say) only the listed tests that ran count.
[ ${#EXTRA[@]} = 0 ] || UPDATE+=(--subset)
"$PY" tests/python/valkey_suite_report.py "$EXPECTED" \
    resp2="$OUT/outcomes-resp2.txt" resp3="$OUT/outcomes-resp3.txt" "${UPDATE[@]}"
