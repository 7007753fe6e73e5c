#!/usr/bin/env bash
# Throughput of commands that kvbench's compare.sh matrix does not cover
# (scripts, pub/sub, HyperLogLog, bitmaps, streams, AOF, eviction), oxkey side
# by side with Redis 7.0 and Valkey 9.1, with kvbench's method: the same
# redis-benchmark requests against each server, back to back in interleaved
# rounds, ratios taken within a round and the median over rounds.
#
#   benches/custom.sh [--rounds N] [--scale F] [--tests PFADD,XADD,...] [--out DIR]
#
# Every test of every round gets a fresh instance of each server, prepared by
# the test's setup commands (redis-cli), so no test sees another's data.
# Uses kvbench's lib.sh (../shared/bench, or KVBENCH_DIR) to start, pin and
# stop the servers. Results: DIR/report.md (also printed) and DIR/raw.csv.
set -euo pipefail
source "$(dirname "$0")/kvbench.sh"

# name | requests | pipeline | random keyspace (-r) | setup (redis-cli lines, ';'-separated) | command
# {sha} in a command is the SHA1 of the script the setup loaded. SETBIT
# sets a fixed bit in the middle of the 100 MB bitmap: redis-benchmark pads
# __rand_int__ with zeros, which every server refuses as a bit offset.
TESTS='
EVAL|200000|16|0||EVAL "return 1" 0
EVALSHA_INCR|200000|16|0|SCRIPT LOAD "return redis.call('"'"'INCR'"'"', KEYS[1])"|EVALSHA {sha} 1 counter
PUBLISH_1SUB|200000|16|0||PUBLISH news hello
PFADD|400000|16|100000000||PFADD visitors __rand_int__
PFCOUNT|400000|16|0|PFADD-FILL visitors 200000|PFCOUNT visitors
PFCOUNT3|100000|16|0|PFADD-FILL hll:a 200000;PFADD-FILL hll:b 200000;PFADD-FILL hll:c 200000|PFCOUNT hll:a hll:b hll:c
SETBIT_100MB|400000|16|0|SETBIT bitmap 838860799 1|SETBIT bitmap 419430400 1
BITCOUNT_100MB|300|1|0|SETBIT bitmap 838860799 1|BITCOUNT bitmap
XADD|300000|16|0||XADD events * f1 value1 f2 value2 f3 value3 f4 value4 f5 value5
XREADGROUP_100|10000|16|0|XADD-FILL events 1000000;XGROUP CREATE events g 0|XREADGROUP GROUP g c1 COUNT 100 STREAMS events ">"
SET_AOF_EVERYSEC|400000|16|1000000|CONFIG SET appendfsync everysec;CONFIG SET appendonly yes;WAIT-REWRITE|SET key:__rand_int__ value
SET_EVICT_LRU|400000|16|1000000|CONFIG SET maxmemory 50mb;CONFIG SET maxmemory-policy allkeys-lru;SET-FILL key 600000|SET key:__rand_int__ xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
'

ROUNDS=3; SCALE=1; OUT=""; ONLY=""
while [[ $# -gt 0 ]]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --tests) ONLY=,$2,; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
    esac
done
bench_start custom 7500

cli() { "$REDIS_CLI" -p "$PORT_NOW" "$@"; }

# Loads N entries through one pipelined redis-cli run.
fill() {  # fill KIND KEY N
    python3 - "$@" <<'EOF' | cli --pipe >/dev/null
import sys
kind, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def cmd(*a):
    return "*%d\r\n%s" % (len(a), "".join("$%d\r\n%s\r\n" % (len(x), x) for x in a))
out = sys.stdout
if kind == "PFADD-FILL":
    for i in range(0, n, 100):
        out.write(cmd("PFADD", key, *("e%d" % j for j in range(i, min(n, i + 100)))))
elif kind == "XADD-FILL":
    for i in range(n):
        out.write(cmd("XADD", key, "*", "f1", "value1", "f2", "value2", "f3", "value3", "f4", "value4", "f5", "value5"))
elif kind == "SET-FILL":
    v = "x" * 100
    for i in range(n):
        out.write(cmd("SET", "key:%012d" % i, v))
EOF
}

setup() {  # runs the ';'-separated setup lines; sets SHA; fails on an error reply
    local line reply
    SHA=""
    IFS=';' read -ra lines <<<"$1"
    for line in "${lines[@]}"; do
        case $line in
        "") ;;
        PFADD-FILL*|XADD-FILL*|SET-FILL*) fill $line ;;
        WAIT-REWRITE)
            while cli info persistence | grep -q '^aof_rewrite_in_progress:1'; do sleep 0.1; done ;;
        SCRIPT\ LOAD*) SHA=$(eval "cli $line") ;;
        *)
            reply=$(eval "cli $line" 2>&1)
            [[ $reply != ERR* ]] || { note "setup '$line': $reply"; return 1; } ;;
        esac
    done
}

echo "round,server,test,requests,rps" >"$OUT/raw.csv"
names=()
while IFS='|' read -r name n pipe keyspace prep command; do
    [[ -n "$name" ]] || continue
    [[ -z "$ONLY" || $ONLY == *",$name,"* ]] || continue
    names+=("$name")
    n=$(python3 -c "print(max(1, int($n * $SCALE)))")
    for ((round = 1; round <= ROUNDS; round++)); do
        for server in candidate redis valkey; do
            PORT_NOW=$(server_port "$server")
            dir=$(mktemp -d)
            CAND_ARGV=("$ROOT/target/release/oxkey-server" --port '{port}' --bind 127.0.0.1 --save '' --dir "$dir")
            start_server "$server" "$PORT_NOW" "$OUT/logs/$name-$server-$round.log" "$dir"
            supported=1
            cd "$dir"
            setup "$prep" || supported=0
            cd "$ROOT"
            sub=""
            if [[ $name == PUBLISH_1SUB ]]; then
                cli subscribe news >/dev/null & sub=$!
                sleep 0.2
            fi
            cmd=${command//\{sha\}/$SHA}
            args=(-p "$PORT_NOW" -c 50 -n "$n" -P "$pipe" --csv)
            [[ $keyspace == 0 ]] || args+=(-r "$keyspace")
            # No globbing of the command's words (XADD's `*`); a failed run
            # is reported as such, not the end of the script.
            set -f
            rps=$(eval "${PIN_CLIENT[*]} \"$REDIS_BENCHMARK\" ${args[*]} $cmd" 2>/dev/null |
                tail -1 | awk -F'","' '{print $2}') || true
            [[ $rps =~ ^[0-9.]+$ ]] || rps=""
            [[ -z "$sub" ]] || kill "$sub" 2>/dev/null || true
            # The command once more, to tell an error reply from a result
            # (redis-benchmark counts both); __rand_int__ as a number.
            reply=$(eval "cli ${cmd//__rand_int__/1}" 2>&1 | head -1) || true
            set +f
            [[ $supported == 1 && $reply != ERR* ]] || rps="unsupported"
            stop_server "$server"
            rm -rf "$dir"
            echo "$round,$server,$name,$n,${rps:-failed}" >>"$OUT/raw.csv"
            note "$name round $round $server: ${rps:-failed} rps"
        done
    done
done <<<"$TESTS"

python3 - "$OUT/raw.csv" >"$OUT/report.md" <<'EOF'
import csv, math, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by.setdefault(r["test"], {}).setdefault(r["round"], {})[r["server"]] = r["rps"]
print("# Custom commands: oxkey vs Redis 7.0 vs Valkey 9.1\n")
print("| test | oxkey rps | redis rps | valkey rps | c/r | c/v | c/best |")
print("|---|---:|---:|---:|---:|---:|---:|")
geo = []
for test, rounds in by.items():
    def med(server):
        vals = [float(r[server]) for r in rounds.values() if r.get(server, "").replace(".", "").isdigit()]
        return statistics.median(vals) if vals else None
    def ratio(f):
        vals = []
        for r in rounds.values():
            try:
                c, rd, vk = float(r["candidate"]), float(r["redis"]), float(r["valkey"])
            except (KeyError, ValueError):
                continue
            vals.append(f(c, rd, vk))
        return statistics.median(vals) if vals else None
    cr, cv, cb = ratio(lambda c, r, v: c / r), ratio(lambda c, r, v: c / v), ratio(lambda c, r, v: c / max(r, v))
    fmt = lambda x, p="{:,.0f}": "n/a" if x is None else p.format(x)
    if cb:
        geo.append(cb)
    print(f"| {test} | {fmt(med('candidate'))} | {fmt(med('redis'))} | {fmt(med('valkey'))} | "
          f"{fmt(cr, '{:.2f}')} | {fmt(cv, '{:.2f}')} | {fmt(cb, '{:.2f}')} |")
if geo:
    print(f"\nGEOMEAN candidate/best-peer = {math.exp(sum(map(math.log, geo)) / len(geo)):.2f} over {len(geo)} tests")
EOF
cat "$OUT/report.md"
