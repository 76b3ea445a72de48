#!/usr/bin/env bash
# The compiled detections (deadbolt compile) against the native engine
# (deadbolt scan) on every log fixture of the detection catalogue's tests:
# DuckDB, Trino and Athena (parsed by sqlglot, run transpiled to DuckDB), and
# Spark SQL in pyspark local[2] with SPARK=1 (needs Java 17). See check.py.
#
#   bash tests/python/sql/run.sh
#
# VENV picks the virtualenv (created when missing; duckdb, sqlglot, PyYAML and,
# with SPARK=1, pyspark from PyPI); SKIP_BUILD=1 uses the existing binary;
# DEADBOLT overrides it (default target/release/deadbolt).
set -euo pipefail
cd "$(dirname "$0")/../../.."

VENV=${VENV:-${TMPDIR:-/tmp}/venv-sql}
DEADBOLT=${DEADBOLT:-target/release/deadbolt}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --locked --quiet
fi
[ -x "$DEADBOLT" ] || { echo "error: $DEADBOLT not found (build with cargo build --release)" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/sql/requirements.txt
args=(--deadbolt "$DEADBOLT")
if [ "${SPARK:-0}" = 1 ]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/sql/requirements-spark.txt
    args+=(--spark)
fi
exec "$VENV/bin/python" tests/python/sql/check.py "${args[@]}"
