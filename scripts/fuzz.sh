#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ for SECONDS each (default 60).
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     targets: decoder split_args glob
#
# Installs cargo-fuzz if missing. Only a stable toolchain is needed:
# RUSTC_BOOTSTRAP=1 lets it accept the -Z flags cargo-fuzz passes. The
# working corpus is fuzz/corpus/TARGET (not committed), started from the
# committed seeds in fuzz/seeds/TARGET and past findings in
# fuzz/regressions/TARGET. A finding is left in fuzz/artifacts/TARGET; once
# it is fixed, commit it to fuzz/regressions/TARGET so that
# tests/fuzz_regressions.rs replays it in every test run.
#
# FUZZ_SANITIZER=address runs under ASan (default none: these code paths
# have no unsafe code, and ASan makes the decoder's large legitimate
# reservations slow).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"

SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(decoder split_args glob)
SANITIZER=${FUZZ_SANITIZER:-none}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1

status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" target/logs
    for d in seeds regressions; do
        [ -d "$d/$t" ] && cp -n "$d/$t"/* "corpus/$t/" 2>/dev/null || true
    done
    log=target/logs/$t.log
    echo "== fuzz $t for $SECONDS_EACH s (log: fuzz/$log)"
    rc=0
    cargo fuzz run -O -s "$SANITIZER" "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" = 0 ]; then
        echo "$t: clean, ${runs:-?} executions in $SECONDS_EACH s, corpus $(ls "corpus/$t" | wc -l) inputs"
    else
        status=1
        echo "$t: FAILED after ${runs:-?} executions (exit $rc):"
        grep -m1 -A4 -E "panicked|ERROR: libFuzzer|error\[" "$log" || tail -20 "$log"
        ls -t "artifacts/$t"/* 2>/dev/null | head -3 | while read -r f; do
            echo "  replay: FUZZ_INPUT=$t:fuzz/$f cargo test --test fuzz_regressions -- --nocapture"
        done
    fi
done
exit $status
