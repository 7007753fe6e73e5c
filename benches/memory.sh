#!/usr/bin/env bash
# Memory per key of oxkey (strings, hashes, sets, sorted sets, lists) side
# by side with Redis 7.0 and Valkey 9.1 (kvbench):
# builds the release binary and runs the shared kvbench memory.sh with it as
# the candidate. Options are passed through, e.g.
#
#   benches/memory.sh --datasets strings
#
# kvbench lives beside the repository (../shared/bench, or KVBENCH_DIR);
# see its README for the options and how to read the report. Results go
# to kvbench-results/ in the repository.
set -euo pipefail
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
BENCH=${KVBENCH_DIR:-$ROOT/../shared/bench}
if [ ! -f "$BENCH/memory.sh" ]; then
    echo "benches/memory.sh: no $BENCH/memory.sh (set KVBENCH_DIR to the kvbench directory)" >&2
    exit 1
fi
cd "$ROOT"
cargo build --release --bin oxkey-server
exec bash "$BENCH/memory.sh" "$@" -- "$ROOT/target/release/oxkey-server" --port '{port}' --bind 127.0.0.1 --save ''
