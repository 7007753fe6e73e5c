#!/usr/bin/env bash
# The forkless BGSAVE under write load: KEYS keys of SIZE-byte values
# (default 1M x 1 KB, about 1 GB), then redis-benchmark SETs of random keys
# of the same size, once without a save (the baseline) and once with
# BGSAVE running back to back for the whole run. Reports the dataset's RSS,
# the peak RSS during the saves (sampled every 20 ms) and redis-benchmark's
# latency figures of both runs.
#
# Usage: benches/bgsave.sh [KEYS] [SIZE] [REQUESTS]
#        (default 1000000 1000 1000000; server on loopback port 7592)
set -euo pipefail
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
KEYS=${1:-1000000}
SIZE=${2:-1000}
REQUESTS=${3:-1000000}
PORT=7592
cd "$ROOT"
# OXKEY_SERVER names a binary to measure instead of building one.
OXKEY=${OXKEY_SERVER:-}
[ -n "$OXKEY" ] || { cargo build --release --bin oxkey-server; OXKEY=$ROOT/target/release/oxkey-server; }
WORK=$(mktemp -d /tmp/oxkey-bgsave-bench.XXXXXX)
"$OXKEY" --port $PORT --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" >"$WORK/server.log" 2>&1 &
PID=$!
cleanup() {
    kill "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
R=(redis-cli -p $PORT)
for _ in $(seq 1 200); do "${R[@]}" ping >/dev/null 2>&1 && break; sleep 0.05; done

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
bench() {
    redis-benchmark -p $PORT -t set -r "$KEYS" -d "$SIZE" -n "$REQUESTS" -c 50 --csv | tail -1
}

# The keys redis-benchmark -r writes: key:000000000000 to key:<KEYS-1>.
python3 - "$KEYS" "$SIZE" <<'EOF' | "${R[@]}" --pipe >/dev/null
import sys
keys, size = int(sys.argv[1]), int(sys.argv[2])
value = b"x" * size
out = sys.stdout.buffer
for i in range(keys):
    key = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value))
EOF
# The first save settles the allocator's pools, as a long-running server's.
"${R[@]}" save >/dev/null
echo "dataset: $("${R[@]}" dbsize) keys of $SIZE bytes, RSS $(($(rss_kb) / 1024)) MB"
echo '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"'
echo "baseline: $(bench)"
base=$(rss_kb)

saving=$WORK/saving
touch "$saving"
(
    saves=0
    while [ -e "$saving" ]; do
        "${R[@]}" bgsave >/dev/null 2>&1 || true
        while "${R[@]}" info persistence | grep -q 'rdb_bgsave_in_progress:1'; do sleep 0.02; done
        saves=$((saves + 1))
    done
    echo "$saves" >"$WORK/saves"
) &
SAVER=$!
(
    peak=0
    while [ -e "$saving" ]; do
        r=$(rss_kb)
        [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.02
    done
    echo "$peak" >"$WORK/peak"
) &
SAMPLER=$!
during=$(bench)
rm -f "$saving"
wait "$SAVER" "$SAMPLER"
echo "bgsave:   $during"
peak=$(cat "$WORK/peak")
echo "saves during the run: $(cat "$WORK/saves"), last: $("${R[@]}" info persistence | grep -E 'rdb_last_bgsave_(status|time_sec)' | tr -d '\r' | tr '\n' ' ')"
echo "RSS before the run $((base / 1024)) MB, peak during the saves $((peak / 1024)) MB: +$(((peak - base) / 1024)) MB ($(((peak - base) * 100 / base))%)"
