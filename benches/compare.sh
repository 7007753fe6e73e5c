#!/usr/bin/env bash
# Throughput and latency of oxkey side by side with Redis 7.0 and Valkey 9.1
# (the redis-benchmark matrix of kvbench):
# builds the release binary and runs the shared kvbench compare.sh with it as
# the candidate. Options are passed through, e.g.
#
#   benches/compare.sh --quick --tests SET,GET,INCR,MSET
#
# kvbench lives beside the repository (../shared/bench, or KVBENCH_DIR);
# see its README for the options and how to read the report. Results go
# to kvbench-results/ in the repository.
set -euo pipefail
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
BENCH=${KVBENCH_DIR:-$ROOT/../shared/bench}
if [ ! -f "$BENCH/compare.sh" ]; then
    echo "benches/compare.sh: no $BENCH/compare.sh (set KVBENCH_DIR to the kvbench directory)" >&2
    exit 1
fi
cd "$ROOT"
cargo build --release --bin oxkey-server
exec bash "$BENCH/compare.sh" "$@" -- "$ROOT/target/release/oxkey-server" --port '{port}' --bind 127.0.0.1 --save ''
