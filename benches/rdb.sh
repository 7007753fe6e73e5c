#!/usr/bin/env bash
# RDB save and load of the same mixed dataset on oxkey and Redis 7.0: the
# SAVE time, the file size and the load time at start-up (each server's
# "DB loaded from disk: N seconds" log line, best of RUNS starts).
#
# Usage: benches/rdb.sh [KEYS] [RUNS]     (default 1000000 keys, 3 runs)
#
# The dataset: 60% strings (half integers, half 10-100 byte texts), 10%
# each small hashes (5 fields), lists (6 elements), sets (5 members) and
# sorted sets (5 members), loaded with redis-cli --pipe. Builds the release
# binary; servers listen on loopback ports 7590-7591 only.
set -euo pipefail
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
KEYS=${1:-1000000}
RUNS=${2:-3}
cd "$ROOT"
# OXKEY_SERVER names a binary to measure instead of building one.
OXKEY=${OXKEY_SERVER:-}
[ -n "$OXKEY" ] || { cargo build --release --bin oxkey-server; OXKEY=$ROOT/target/release/oxkey-server; }
WORK=$(mktemp -d /tmp/oxkey-rdb-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$KEYS" >"$WORK/data.resp" <<'EOF'
import random, sys
n = int(sys.argv[1])
rnd = random.Random(7)
out = sys.stdout.buffer
def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.write(b"".join(parts))
pool = ["".join(rnd.choice("abcdefghijklmnop") for _ in range(rnd.randint(10, 100))) for _ in range(4096)]
def text():
    return rnd.choice(pool)
for i in range(n):
    kind = i % 10
    if kind < 6:
        cmd("SET", f"str:{i}", rnd.randint(0, 10**9) if kind % 2 else text())
    elif kind == 6:
        cmd("HSET", f"hash:{i}", *[x for j in range(5) for x in (f"field{j}", text()[:20])])
    elif kind == 7:
        cmd("RPUSH", f"list:{i}", *[text()[:30] for _ in range(6)])
    elif kind == 8:
        cmd("SADD", f"set:{i}", *[f"member-{rnd.randint(0, 10**6)}" for _ in range(5)])
    else:
        cmd("ZADD", f"zset:{i}", *[x for j in range(5) for x in (rnd.random() * 1000, f"m{j}-{rnd.randint(0, 999)}")])
EOF

wait_ping() {
    for _ in $(seq 1 600); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "no answer on port $1" >&2
    return 1
}

# Starts NAME's server on PORT in DIR, logging to LOG.
start() {
    local name=$1 port=$2 dir=$3 log=$4 bin
    if [ "$name" = oxkey ]; then bin=$OXKEY; else bin=redis-server; fi
    "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$log" 2>&1 &
    PIDS+=($!)
    wait_ping "$port"
}

stop() {
    redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
    sleep 0.5
}

printf '%-8s %10s %12s %10s %10s\n' server keys file_bytes save_s load_s
for name in redis oxkey; do
    if [ "$name" = oxkey ]; then port=7591; else port=7590; fi
    dir=$WORK/$name
    mkdir -p "$dir"
    start "$name" "$port" "$dir" "$dir/fill.log"
    redis-cli -p "$port" --pipe <"$WORK/data.resp" >/dev/null
    keys=$(redis-cli -p "$port" dbsize)
    t0=$(date +%s.%N)
    redis-cli -p "$port" save >/dev/null
    t1=$(date +%s.%N)
    save=$(echo "$t1 - $t0" | bc)
    size=$(stat -c %s "$dir/dump.rdb")
    stop "$port"
    best=
    for run in $(seq 1 "$RUNS"); do
        start "$name" "$port" "$dir" "$dir/load-$run.log"
        # Redis answers PING (with -LOADING) before the load is over.
        t=
        for _ in $(seq 1 1200); do
            t=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$dir/load-$run.log" | tail -1)
            [ -n "$t" ] && break
            sleep 0.1
        done
        stop "$port"
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    printf '%-8s %10s %12s %10.3f %10.3f\n' "$name" "$keys" "$size" "$save" "$best"
done
