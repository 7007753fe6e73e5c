#!/usr/bin/env bash
# Bytes per stream entry: one stream of N entries (default 1,000,000) of 3
# small fields (`XADD events * a 1 b 2 c 3`), loaded into a fresh oxkey,
# Redis 7.0 and Valkey 9.1; B/entry = (RSS loaded - RSS before) / N, and the
# same from INFO used_memory.
#
#   benches/stream_memory.sh [N]
#
# Uses kvbench's lib.sh (../shared/bench, or KVBENCH_DIR) to start and stop
# the servers.
set -euo pipefail
source "$(dirname "$0")/kvbench.sh"
N=${1:-1000000}
cd "$ROOT"
cargo build --release --bin oxkey-server
load_peers
setup_pinning
BASE_PORT=${KVBENCH_BASE_PORT:-7520}
used() { "$REDIS_CLI" -p "$1" info memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
# xadds PORT KEY N: N times `XADD KEY * a 1 b 2 c 3`, pipelined.
xadds() {
    python3 - "$2" "$3" <<'EOF' | "$REDIS_CLI" -p "$1" --pipe >/dev/null
import sys
key, n = sys.argv[1].encode(), int(sys.argv[2])
args = [b"XADD", key, b"*", b"a", b"1", b"b", b"2", b"c", b"3"]
cmd = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
sys.stdout.buffer.write(cmd * n)
EOF
}

printf '| server | entries | B/entry (RSS) | B/entry (used_memory) |\n|---|---:|---:|---:|\n'
for server in candidate redis valkey; do
    port=$(server_port "$server")
    dir=$(mktemp -d)
    CAND_ARGV=("$ROOT/target/release/oxkey-server" --port '{port}' --bind 127.0.0.1 --save '' --dir "$dir")
    start_server "$server" "$port" "$dir/log" "$dir"
    # A stream made and dropped first, so that the code pages XADD runs are
    # resident before the baseline and the figure is the data's alone.
    xadds "$port" warm 2000
    "$REDIS_CLI" -p "$port" del warm >/dev/null
    sleep 0.5
    rss0=$(rss_kb "${LPID[$server]}")
    mem0=$(used "$port")
    xadds "$port" events "$N"
    sleep 1
    [[ $("$REDIS_CLI" -p "$port" xlen events) == "$N" ]] || die "$server: XLEN is not $N"
    rss1=$(rss_kb "${LPID[$server]}")
    mem1=$(used "$port")
    awk -v s="$server" -v n="$N" -v r0="$rss0" -v r1="$rss1" -v m0="$mem0" -v m1="$mem1" \
        'BEGIN { printf "| %s | %d | %.2f | %.2f |\n", s, n, (r1 - r0) * 1024 / n, (m1 - m0) / n }'
    stop_server "$server"
    rm -rf "$dir"
done
