#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) on one core, then minimises its
# corpus into fuzz/corpus/TARGET. Needs cargo-fuzz (`cargo install cargo-fuzz`);
# RUSTC_BOOTSTRAP lets the stable toolchain build with the sanitizer flags.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-600}
shift || true
TARGETS=${*:-yaml json plan policy scan kms_request}
export RUSTC_BOOTSTRAP=1
# Build once, then run the binaries: a tree that changes while fuzzing must not
# make the next target rebuild (or fail to).
for t in $TARGETS; do
    cargo fuzz build -O "$t" >/dev/null 2>&1 || cargo fuzz build -O "$t"
done
BIN=target/x86_64-unknown-linux-gnu/release
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t" "work/$t"
    cp -n corpus/"$t"/* "work/$t/" 2>/dev/null || true
    cp -n seeds/"$t"/* "work/$t/" 2>/dev/null || true
    echo "== $t: ${SECONDS_EACH}s"
    "$BIN/$t" "work/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=4096 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>&1 | tail -25 > "work/$t.log" || true
    grep -E "stat::number_of_executed_units|stat::peak_rss|ERROR|crash|Done" "work/$t.log" || true
    # Keep only what adds coverage.
    rm -rf "corpus/$t.min" && mkdir -p "corpus/$t.min"
    "$BIN/$t" -merge=1 "corpus/$t.min" "work/$t" >/dev/null 2>&1 || true
    rm -rf "corpus/$t" && mv "corpus/$t.min" "corpus/$t"
done
