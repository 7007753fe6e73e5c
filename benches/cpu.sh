#!/usr/bin/env bash
# Server CPU time per request of oxkey side by side with Redis 7.0 and
# Valkey 9.1, for compare.sh's redis-benchmark matrix.
#
#   benches/cpu.sh [--pipeline 1|16] [--rounds N] [--tests SET,GET,...] [--out DIR]
#
# At -P 1 on a small VM, requests/s moves by a third from one run to the
# next (the host's scheduling, not the servers), while the CPU time a server
# spends on a fixed number of requests moves much less: this is the figure
# to compare the servers' own cost with. For every round and server, one
# fresh instance runs the whole matrix top to bottom (pops pop what pushes
# pushed, as in compare.sh); the time the server's threads ran on a CPU
# (/proc/PID/task/*/schedstat, in nanoseconds) is read around each test. Reported: microseconds of
# server CPU per request, median over rounds, and the candidate's figure
# over the lower of the peers' (below 1.00: oxkey spends less).
# Uses kvbench's lib.sh (../shared/bench, or KVBENCH_DIR) to start, pin and
# stop the servers. Results: DIR/report.md (also printed) and DIR/raw.csv.
set -euo pipefail
source "$(dirname "$0")/kvbench.sh"

# label | redis-benchmark arguments | requests: compare.sh's -P 1 counts.
MATRIX='
SET|-t set|100000
GET|-t get|100000
INCR|-t incr|100000
LPUSH|-t lpush|100000
RPUSH|-t rpush|100000
LPOP|-t lpop|100000
RPOP|-t rpop|100000
SADD|-t sadd|100000
HSET|-t hset|100000
SPOP|-t spop|100000
ZADD|-t zadd|100000
ZPOPMIN|-t zpopmin|100000
LRANGE_100|-t lrange_100|80000
LRANGE_600|-t lrange_600|25000
MSET|-t mset|80000
SET_1K|-t set -d 1024|100000
GET_1K|-t get -d 1024|100000
'

PIPELINE=1; ROUNDS=3; OUT=""; ONLY=""
while [[ $# -gt 0 ]]; do
    case $1 in
    --pipeline) PIPELINE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --tests) ONLY=,$2,; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
    esac
done
bench_start cpu 7600

cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f", t }'; }

echo "round,server,test,requests,cpu_us_per_request,rps" >"$OUT/raw.csv"
for ((round = 1; round <= ROUNDS; round++)); do
    for server in candidate redis valkey; do
        port=$(server_port "$server")
        dir=$(mktemp -d)
        CAND_ARGV=("$ROOT/target/release/oxkey-server" --port '{port}' --bind 127.0.0.1 --save '' --dir "$dir")
        start_server "$server" "$port" "$OUT/logs/$server-$round.log" "$dir"
        while IFS='|' read -r name args n; do
            [[ -n "$name" ]] || continue
            [[ -z "$ONLY" || $ONLY == *",$name,"* ]] || continue
            before=$(cpu_ns "${LPID[$server]}")
            # shellcheck disable=SC2086 # the matrix's arguments are words
            rps=$("${PIN_CLIENT[@]}" "$REDIS_BENCHMARK" -p "$port" -c 50 -r 100000 -n "$n" -P "$PIPELINE" \
                $args --csv </dev/null 2>/dev/null | tail -1 | awk -F'","' '{print $2}') || true
            after=$(cpu_ns "${LPID[$server]}")
            us=$(awk -v t=$((after - before)) -v n="$n" 'BEGIN { printf "%.3f", t / 1000 / n }')
            echo "$round,$server,$name,$n,$us,${rps:-failed}" >>"$OUT/raw.csv"
        done <<<"$MATRIX"
        stop_server "$server"
        rm -rf "$dir"
        note "round $round $server done"
    done
done

python3 - "$OUT/raw.csv" "$PIPELINE" "$ROUNDS" <<'EOF' | tee "$OUT/report.md"
import csv, statistics, sys
raw, pipeline, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
cpu, order = {}, []
for r in csv.DictReader(open(raw)):
    if r["test"] not in order:
        order.append(r["test"])
    cpu.setdefault((r["test"], r["server"]), []).append(float(r["cpu_us_per_request"]))
print(f"# Server CPU per request, -P {pipeline}, median of {rounds} rounds (µs)\n")
print("| test | oxkey | redis | valkey | oxkey / lower peer |")
print("|---|---:|---:|---:|---:|")
ratios = []
for t in order:
    c, r, v = (statistics.median(cpu[(t, s)]) for s in ("candidate", "redis", "valkey"))
    ratio = c / min(r, v) if min(r, v) > 0 else float("nan")
    ratios.append(ratio)
    print(f"| {t} | {c:.2f} | {r:.2f} | {v:.2f} | {ratio:.2f} |")
print(f"\ngeomean oxkey / lower peer = {statistics.geometric_mean(ratios):.2f}")
EOF
