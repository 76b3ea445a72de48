#!/usr/bin/env bash
# Renders deadbolt's SARIF and JUnit reports for the bundled examples and checks them
# with third-party consumers (see validate_reports.py). Run from the crate root:
#   bash tests/python/run.sh
# VENV picks the virtualenv (created when missing); REPORT_DIR keeps the reports.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-${TMPDIR:-/tmp}/venv-reports}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
REPORT_DIR=${REPORT_DIR:-$(mktemp -d)}
DEADBOLT_REPORT_DIR="$REPORT_DIR" cargo test --quiet --test report_formats \
    write_reports_for_external_consumers >/dev/null
exec "$VENV/bin/python" tests/python/validate_reports.py \
    --sarif "$REPORT_DIR/deadbolt.sarif" \
    --junit "$REPORT_DIR/deadbolt.xml" \
    --expect-failures "$(cat "$REPORT_DIR/expected-failures")"
