#!/usr/bin/env bash
# SqliMatch (HIGH and LOW) and XssMatch detection and false-positive rates over
# libinjection's complete data/ directory (the test suite pins the rates over
# the subset vendored in fixtures/waf/vectors/libinjection).
#
#   bench/waf/libinjection-rates.sh [LIBINJECTION_CHECKOUT]
#
# Without an argument it clones https://github.com/libinjection/libinjection
# into bench/out/libinjection.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${1:-bench/out/libinjection}
if [ ! -d "$SRC/data" ]; then
  git clone --depth 1 https://github.com/libinjection/libinjection "$SRC"
fi
DEADBOLT_LIBINJECTION_DATA="$SRC/data" cargo test --release --quiet --test waf_libinjection -- \
  --include-ignored --nocapture 2>&1 | grep -E "detected|test result"
