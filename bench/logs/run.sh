#!/usr/bin/env bash
# Log loader benchmark: generate the inputs (once), build, then read each log
# with deadbolt's loaders on 1 thread and on all threads under GNU time, printing
# records/s and peak RSS. Knobs: DATA (bench/logs/data), SKIP_BUILD=1,
# GNU_TIME (/usr/bin/time), GEN_ARGS (extra arguments for gen.py, e.g.
# "--flow-records 1000000" for a quick run).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-bench/logs/data}
GNU_TIME=${GNU_TIME:-/usr/bin/time}
if [ ! -f "$DATA/manifest.json" ]; then
  echo "generating inputs into $DATA"
  # shellcheck disable=SC2086
  python3 bench/logs/gen.py --out "$DATA" ${GEN_ARGS:-} > /dev/null
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release --locked --quiet --example logs_bench
fi
BIN=target/release/examples/logs_bench
ALL=$(nproc)
run() {
  local label=$1 threads=$2
  shift 2
  if [ -x "$GNU_TIME" ]; then
    "$GNU_TIME" -f "peak_rss_mb=%M" -o /tmp/logs-bench.time "$BIN" "$@" --threads "$threads" > /tmp/logs-bench.out
    printf '%s\t%s\t%s\n' "$label" "$(cut -f3-8 /tmp/logs-bench.out)" \
      "$(awk -F= '{ print "peak_rss_mb=" int($2 / 1024) }' /tmp/logs-bench.time)"
  else
    printf '%s\t%s\n' "$label" "$("$BIN" "$@" --threads "$threads" | cut -f3-8)"
  fi
}
for t in 1 "$ALL"; do
  for f in flow-v2.log flow-v2.log.gz flow-v5.log flow-v5.log.gz; do
    [ -f "$DATA/$f" ] && run "$f" "$t" flow "$DATA/$f"
  done
  [ -d "$DATA/cloudtrail" ] && run "cloudtrail/" "$t" cloudtrail "$DATA/cloudtrail"
  [ -f "$DATA/dns-resolver.log.gz" ] && run "dns-resolver.log.gz" "$t" route53 "$DATA/dns-resolver.log.gz"
done
