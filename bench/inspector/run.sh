#!/usr/bin/env bash
# Inspector benchmark: generate the inputs (once), build, run each part under
# GNU time, print seconds and peak memory. Knobs: DATA (bench/inspector/data),
# SKIP_BUILD=1, GNU_TIME (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-bench/inspector/data}
GNU_TIME=${GNU_TIME:-/usr/bin/time}
if [ ! -f "$DATA/inventory.json" ]; then
  echo "generating inputs into $DATA"
  python3 bench/inspector/gen.py --out "$DATA"
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release --locked --quiet --example inspector_bench
fi
BIN=target/release/examples/inspector_bench
for part in network packages; do
  if [ -x "$GNU_TIME" ]; then
    "$GNU_TIME" -f "$part\twall_s=%e\tpeak_rss_mb=%M" "$BIN" "$DATA" "$part" 2> /tmp/inspector-bench-$part.time
    awk -F'\t' '{ $3 = "peak_rss_mb=" int(substr($3, 13) / 1024); print }' OFS='\t' /tmp/inspector-bench-$part.time
  else
    "$BIN" "$DATA" "$part"
  fi
done
