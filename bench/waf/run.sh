#!/usr/bin/env bash
# WAF evaluation benchmark: requests/s for the 10-rule ACL of acl-10.yaml over a
# generated mix of benign and attack requests, 1 thread and all threads, plus
# the end-to-end `deadbolt waf eval` time (parse + evaluate + JSON output).
#
#   bench/waf/run.sh                 # N=200000 requests, 10% attacks, 3 repetitions
#   N=50000 REPS=5 bench/waf/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200000}
RATIO=${RATIO:-0.1}
REPS=${REPS:-3}
OUT=${OUT:-bench/out/waf}
mkdir -p "$OUT"
REQ="$OUT/requests-$N.jsonl"
[ -s "$REQ" ] || python3 bench/waf/gen_requests.py -n "$N" --attack-ratio "$RATIO" -o "$REQ"
cargo build --release --quiet --example waf_throughput --bin deadbolt
echo "== evaluation only (bench/waf/throughput.rs)"
./target/release/examples/waf_throughput bench/waf/acl-10.yaml "$REQ" "$REPS" | tee "$OUT/results.txt"
echo "== end to end: deadbolt waf eval --format json > /dev/null"
for threads in 1 "$(nproc)"; do
  start=$(date +%s.%N)
  if command -v /usr/bin/time >/dev/null; then
    RAYON_NUM_THREADS=$threads /usr/bin/time -f "threads $threads: peak RSS %M KiB" \
      ./target/release/deadbolt waf eval --acl bench/waf/acl-10.yaml --requests "$REQ" --format json >/dev/null
  else
    RAYON_NUM_THREADS=$threads ./target/release/deadbolt waf eval --acl bench/waf/acl-10.yaml --requests "$REQ" --format json >/dev/null
  fi
  end=$(date +%s.%N)
  python3 -c "import sys; n=$N; t=$end-$start; print(f'threads $threads: {t:.2f} s, {n/t:.0f} requests/s end to end')" | tee -a "$OUT/results.txt"
done
