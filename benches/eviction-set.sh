#!/usr/bin/env bash
# SET throughput once maxmemory is reached (allkeys-lru), oxkey side by side
# with redis-server, as issue 7 measures it:
#   redis-benchmark -t set -r 1000000 -n 1000000 -P 16 -d 100
# against each server after a first identical run has filled it past the cap.
# Also reports the server's CPU time for the measured run (less sensitive
# than throughput to other load on a shared machine) and the keys evicted.
#
#   benches/eviction-set.sh [oxkey-binary] [rounds]
set -euo pipefail
OX=${1:-target/release/oxkey-server}
ROUNDS=${2:-2}
PORT=${PORT:-7430}
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
field() { redis-cli -p "$PORT" info "$1" | tr -d '\r' | grep "^$2:" | cut -d: -f2; }
bench() { redis-benchmark -p "$PORT" -t set -r 1000000 -n 1000000 -P 16 -d 100 -q 2>/dev/null; }
for round in $(seq "$ROUNDS"); do
    for server in redis oxkey; do
        bin=$OX
        [ "$server" = redis ] && bin=redis-server
        "$bin" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --maxmemory 100mb --maxmemory-policy allkeys-lru >/dev/null 2>&1 &
        pid=$!
        until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
        bench >/dev/null
        evicted=$(field stats evicted_keys)
        ticks=$(cpu "$pid")
        rps=$(bench | tr '\r' '\n' | grep "requests per second" | tail -1 | awk '{print $2}')
        ticks=$(($(cpu "$pid") - ticks))
        evicted=$(($(field stats evicted_keys) - evicted))
        echo "$server round $round: SET $rps req/s, server CPU $((ticks * 10)) ms," \
            "evicted $evicted, used_memory $(field memory used_memory)," \
            "rss $(field memory used_memory_rss), keys $(redis-cli -p "$PORT" dbsize)"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
    done
done
