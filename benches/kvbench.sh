# Sourced by the benches that drive kvbench's lib.sh themselves (custom.sh,
# cpu.sh, stream_memory.sh): finds and loads lib.sh (../shared/bench, or KVBENCH_DIR).
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
BENCH=${KVBENCH_DIR:-$ROOT/../shared/bench}
[ -f "$BENCH/lib.sh" ] || { echo "$0: no $BENCH/lib.sh (set KVBENCH_DIR)" >&2; exit 1; }
source "$BENCH/lib.sh"

# bench_start NAME PORT: the results directory (OUT, by default
# kvbench-results/NAME-<time>), the release build, the peers, CPU pinning
# and the base port (KVBENCH_BASE_PORT, default PORT).
bench_start() {
    OUT=${OUT:-$ROOT/kvbench-results/$1-$(date +%Y%m%d-%H%M%S)}
    mkdir -p "$OUT/logs"
    cd "$ROOT"
    cargo build --release --bin oxkey-server
    load_peers
    setup_pinning
    KVBENCH_BASE_PORT=${KVBENCH_BASE_PORT:-$2}
    BASE_PORT=$KVBENCH_BASE_PORT
}
