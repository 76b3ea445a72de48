#!/usr/bin/env bash
# Detection benchmark: `deadbolt scan` with the whole built-in catalogue and all
# lists over generated flow logs, CloudTrail and Route 53 logs, on 1 thread and
# on all threads, with DuckDB running the flow detections as SQL over the same
# files in the same run; alert counts checked against gen.py's manifest.
#
#   bench/logs/detect.sh                          # generate into a temp dir, measure, delete it
#   DATA=/tmp/bench-logs/data bench/logs/detect.sh # generate once into DATA (kept), reuse after
#   SKIP_GEN=1 SKIP_BUILD=1 DATA=/tmp/bench-logs/data bench/logs/detect.sh   # re-measure only
#   SMOKE=1 bench/logs/detect.sh                  # CI: < 60 s on 2 cores, every count checked
#
# SMOKE=1: 100k flow records, 100k CloudTrail events, 50k DNS queries (enough
# for every catalogue detection to alert), DuckDB on flow-v2.log only; when pip
# cannot install DuckDB from PyPI the DuckDB rows are skipped, saying so (the
# deadbolt counts are still checked). Without SMOKE a missing DuckDB is an error.
#
# Knobs: DATA, SKIP_GEN, SKIP_BUILD, SMOKE, FLOW_RECORDS (10000000), CT_EVENTS
# (1000000), DNS_QUERIES (1000000), FLOW_OUTPUTS (v2.log,v2.log.gz,v5.log.gz),
# THREADS ("1 $(nproc)"), REPS (1; the fastest run is reported), SKIP_DUCKDB,
# DUCK_QUERIES ("portscan portscan-groupby ssh"), DUCK_FILES (flow-v2.log
# flow-v2.log.gz), VENV (bench/logs/.venv, created with duckdb from PyPI),
# GNU_TIME (/usr/bin/time; without it a Python wrapper reads the same rusage),
# RESULTS (where the table is also written, default /tmp/bench-logs/detect-results.md).
# Exit status: 0; 1 when an alert count differs from the manifest or a run
# failed (after the table: a benchmark that finds the wrong answer fast is not
# a result), or a catalogue detection is not exercised by the inputs; 2 when
# something the run needs is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD

if [ -n "${SMOKE:-}" ]; then
  FLOW_RECORDS=${FLOW_RECORDS:-100000}
  CT_EVENTS=${CT_EVENTS:-100000}
  DNS_QUERIES=${DNS_QUERIES:-50000}
  DUCK_FILES=${DUCK_FILES:-flow-v2.log}
fi
FLOW_RECORDS=${FLOW_RECORDS:-10000000}
CT_EVENTS=${CT_EVENTS:-1000000}
DNS_QUERIES=${DNS_QUERIES:-1000000}
FLOW_OUTPUTS=${FLOW_OUTPUTS:-v2.log,v2.log.gz,v5.log.gz}
THREADS=${THREADS:-"1 $(nproc)"}
REPS=${REPS:-1}
DUCK_QUERIES=${DUCK_QUERIES:-"portscan portscan-groupby ssh"}
DUCK_FILES=${DUCK_FILES:-"flow-v2.log flow-v2.log.gz"}
GNU_TIME=${GNU_TIME:-/usr/bin/time}
RESULTS=${RESULTS:-/tmp/bench-logs/detect-results.md}
VENV=${VENV:-$REPO/bench/logs/.venv}

if [ ! -x "$GNU_TIME" ]; then
  echo "no GNU time at $GNU_TIME: measuring with a Python wrapper (os.wait4, the same rusage)"
  GNU_TIME=$REPO/bench/logs/rusage.py
fi
mkdir -p /tmp/bench-logs
WORK=$(mktemp -d /tmp/bench-logs/run.XXXXXX)
if [ -n "${DATA:-}" ]; then
  KEEP_DATA=1
else
  DATA=$WORK/data
  KEEP_DATA=
fi
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# --- DuckDB, first: a missing DuckDB fails before the long runs ---------------
# A venv of its own with duckdb from PyPI. Returns 1, having said why, when it
# cannot be made.
duckdb_venv() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import duckdb' 2> /dev/null; then
    return 0
  fi
  echo "creating $VENV with duckdb from PyPI"
  if ! python3 -m venv "$VENV"; then
    echo "python3 -m venv $VENV failed (Debian: apt-get install python3-venv)" >&2
    return 1
  fi
  # A smoke run must stay short when PyPI is unreachable: give up sooner.
  local patience=(--timeout 20 --retries 2)
  [ -z "${SMOKE:-}" ] || patience=(--timeout 5 --retries 1)
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "${patience[@]}" duckdb; then
    echo "pip could not install duckdb from PyPI into $VENV (pip's message is above)" >&2
    return 1
  fi
}
DUCKDB=
DUCKDB_SKIPPED=
if [ -n "${SKIP_DUCKDB:-}" ]; then
  DUCKDB_SKIPPED="DuckDB: SKIPPED (SKIP_DUCKDB is set): no DuckDB rows, no ratios"
  echo "$DUCKDB_SKIPPED"
elif duckdb_venv; then
  DUCKDB=1
elif [ -n "${SMOKE:-}" ]; then
  DUCKDB_SKIPPED="DuckDB: SKIPPED in this smoke run, pip could not install duckdb from PyPI: the deadbolt alert counts are checked, DuckDB's are not"
  echo "$DUCKDB_SKIPPED" >&2
else
  echo "DuckDB is needed for the side-by-side figures (SKIP_DUCKDB=1 measures deadbolt alone)" >&2
  exit 2
fi

# --- inputs -------------------------------------------------------------------
manifest_matches() {
  python3 - "$DATA/manifest.json" "$FLOW_RECORDS" "$CT_EVENTS" "$DNS_QUERIES" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
want = [int(x) for x in sys.argv[2:5]]
have = [m.get("flow", {}).get("records", 0), m.get("cloudtrail", {}).get("events", 0), m.get("dns", {}).get("queries", 0)]
sys.exit(0 if want == have and "expected_alerts" in m.get("flow", {"expected_alerts": 0}) else 1)
EOF
}
if [ -n "${SKIP_GEN:-}" ]; then
  [ -f "$DATA/manifest.json" ] || { echo "SKIP_GEN=1 but $DATA/manifest.json does not exist" >&2; exit 2; }
elif [ -f "$DATA/manifest.json" ] && manifest_matches; then
  echo "reusing the inputs in $DATA"
else
  echo "generating $FLOW_RECORDS flow records, $CT_EVENTS CloudTrail events, $DNS_QUERIES DNS queries into $DATA"
  python3 bench/logs/gen.py --out "$DATA" --flow-records "$FLOW_RECORDS" --flow-outputs "$FLOW_OUTPUTS" \
    --ct-events "$CT_EVENTS" --dns-queries "$DNS_QUERIES" > /dev/null
fi
MANIFEST=$DATA/manifest.json
count() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m.get(sys.argv[2], {}).get(sys.argv[3], 0))' "$MANIFEST" "$1" "$2"; }
N_FLOW=$(count flow records)
N_CT=$(count cloudtrail events)
N_DNS=$(count dns queries)

# Every detection of the catalogue must be checked by a count the manifest
# gives and, so that the check means something, expect at least one alert.
python3 bench/logs/exercised.py "$MANIFEST" policies/detection || exit 1

# --- deadbolt ----------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release --locked --quiet
fi
# A private copy: other builds may replace target/release/deadbolt mid-run.
BIN=$WORK/deadbolt
cp target/release/deadbolt "$BIN"
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
LISTS=(--threat-list "ips=$DATA/lists/ips.txt"
       --threat-list "crypto-domains=$DATA/lists/crypto-domains.txt"
       --threat-list "c2-domains=$DATA/lists/c2-domains.txt"
       --trusted-list "$DATA/lists/trusted.txt"
       --aws-ip-ranges "$DATA/lists/ip-ranges.json")

ROWS=$WORK/rows.tsv
: > "$ROWS"
STATUS=0
load1() { cut -d' ' -f1 /proc/loadavg; }

# measure ENGINE INPUT THREADS RECORDS CHECK -- COMMAND...: runs COMMAND REPS
# times under GNU time, keeps the fastest (by wall time), runs CHECK (which
# prints ok, MISMATCH or a count) on that run's standard output, and appends a
# row to the table.
measure() {
  local engine=$1 input=$2 threads=$3 records=$4 check=$5
  shift 6
  local best="" r out tm
  for ((r = 1; r <= REPS; r++)); do
    local load
    load=$(load1)
    out=$WORK/out.$r
    tm=$WORK/time.$r
    set +e
    "$GNU_TIME" -f '%e %U %S %M' -o "$tm" "$@" > "$out" 2> "$WORK/err.$r"
    local code=$?
    set -e
    # deadbolt exits 1 on findings, which every input here has.
    if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; then
      echo "FAILED ($code): $*" >&2
      cat "$WORK/err.$r" >&2
      STATUS=1
      return 0
    fi
    local wall cpu rss
    read -r wall u s rss < <(tail -n 1 "$tm")
    cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    if [ -z "$best" ] || awk -v a="$wall" -v b="$(cut -f1 <<< "$best")" 'BEGIN { exit !(a < b) }'; then
      best="$wall	$cpu	$rss	$load	$r"
    fi
  done
  local run result
  run=$(cut -f5 <<< "$best")
  set +e
  # CHECK is a command and its leading arguments (split on spaces).
  # shellcheck disable=SC2086
  result=$($check "$WORK/out.$run")
  [ $? -eq 0 ] || STATUS=1
  set -e
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$engine" "$input" "$threads" "$records" "$(cut -f1-4 <<< "$best")" "$result" >> "$ROWS"
  printf '  %-22s %-20s -j %-2s %6ss  %s\n' "$engine" "$input" "$threads" "$(cut -f1 <<< "$best")" "$result"
}

check_flow() { python3 bench/logs/check.py "$MANIFEST" flow "$1"; }
check_ct() { python3 bench/logs/check.py "$MANIFEST" cloudtrail "$1"; }
check_dns() { python3 bench/logs/check.py "$MANIFEST" dns "$1"; }

echo "deadbolt $REV, the whole catalogue, every list; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
INPUTS=()
for f in flow-v2.log flow-v2.log.gz flow-v5.log flow-v5.log.gz; do
  [ -f "$DATA/$f" ] && INPUTS+=("$f")
done
if [ "$N_FLOW" -gt 0 ] && [ "${#INPUTS[@]}" -eq 0 ]; then
  echo "no flow log among the generated files in $DATA" >&2
  exit 2
fi
for t in $THREADS; do
  for f in "${INPUTS[@]}"; do
    measure "deadbolt catalogue" "$f" "$t" "$N_FLOW" check_flow -- \
      "$BIN" scan "$DATA/$f" "${LISTS[@]}" --format json --no-progress -j "$t"
  done
  if [ -d "$DATA/cloudtrail" ]; then
    measure "deadbolt catalogue" "cloudtrail/" "$t" "$N_CT" check_ct -- \
      "$BIN" scan "$DATA/cloudtrail" "${LISTS[@]}" --format json --no-progress -j "$t"
  fi
  if [ -f "$DATA/dns-resolver.log.gz" ]; then
    measure "deadbolt catalogue" "dns-resolver.log.gz" "$t" "$N_DNS" check_dns -- \
      "$BIN" scan "$DATA/dns-resolver.log.gz" "${LISTS[@]}" --format json --no-progress -j "$t"
  fi
done

# --- DuckDB ------------------------------------------------------------------
duck_expect() {
  # The manifest's count for the deadbolt detection a query stands for.
  python3 - "$MANIFEST" "$1" "$2" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
det = {"portscan": "recon-portscan", "ssh": "ssh-brute-force"}.get(sys.argv[2])
got = json.load(open(sys.argv[3]))["alerts"]
if det is None:
    print("%d pairs (no window)" % got)
    sys.exit(0)
want = m["flow"]["expected_alerts"][det]
if got == want:
    print("ok")
    sys.exit(0)
print("MISMATCH")
print("MISMATCH duckdb %s: %d alerts, the manifest expects %d" % (sys.argv[2], got, want), file=sys.stderr)
sys.exit(1)
EOF
}
if [ -n "$DUCKDB" ]; then
  echo "DuckDB $("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
  for t in $THREADS; do
    for f in $DUCK_FILES; do
      if [ ! -f "$DATA/$f" ]; then
        echo "DuckDB: $f is not among the generated files (FLOW_OUTPUTS=$FLOW_OUTPUTS): not measured" >&2
        continue
      fi
      for q in $DUCK_QUERIES; do
        measure "duckdb $q" "$f" "$t" "$N_FLOW" "duck_expect $q" -- \
          "$VENV/bin/python" bench/logs/duck.py "$q" "$DATA/$f" --threads "$t"
      done
    done
  done
fi

# --- the table ---------------------------------------------------------------
{
  echo "deadbolt $REV, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ); load average (1 min) at each run's start in the last column"
  echo
  python3 - "$ROWS" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print("| engine | input | threads | records | wall s | CPU s | records/s (wall) | records per CPU-s | peak RSS MB | alerts | load |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
def rate(n, s):
    s = float(s)
    if s <= 0:
        return "-"
    r = n / s
    return "%.2f M" % (r / 1e6) if r >= 1e6 else "%.0f k" % (r / 1e3)
for eng, inp, t, n, wall, cpu, rss, load, result in rows:
    n = int(n)
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
        eng, inp, t, "{:,}".format(n), wall, cpu, rate(n, wall), rate(n, cpu), int(rss) // 1024, result, load))
# deadbolt's whole catalogue against DuckDB's one query, same file and threads.
db = {(r[1], r[2]): r for r in rows if r[0] == "deadbolt catalogue"}
ratios = []
for r in rows:
    if not r[0].startswith("duckdb "):
        continue
    d = db.get((r[1], r[2]))
    if d:
        ratios.append("| %s | %s | %s | %.2f | %.2f |" % (
            r[0][7:], r[1], r[2], float(r[4]) / float(d[4]), float(r[5]) / float(d[5])))
if ratios:
    print()
    print("DuckDB time / deadbolt time (deadbolt: the whole catalogue, every flow detection; > 1: deadbolt is faster)")
    print()
    print("| DuckDB query | input | threads | wall ratio | CPU ratio |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(ratios))
# The headline: records/s on one and on all threads, peak memory, and DuckDB's
# port-scan query on the same file.
threads = sorted({int(r[2]) for r in rows})
for inp in sorted({r[1] for r in rows if r[0] == "duckdb portscan"}):
    d = {int(r[2]): r for r in rows if r[0] == "deadbolt catalogue" and r[1] == inp}
    q = {int(r[2]): r for r in rows if r[0] == "duckdb portscan" and r[1] == inp}
    if not d:
        continue
    n = int(next(iter(d.values()))[3])
    print()
    print("Summary, %s (%s flow records):" % (inp, "{:,}".format(n)))
    print("  deadbolt, whole catalogue: " + "; ".join(
        "%d thread%s %s records/s (%s s), peak RSS %d MB" % (
            t, "" if t == 1 else "s", rate(n, d[t][4]), d[t][4], int(d[t][6]) // 1024)
        for t in threads if t in d))
    print("  DuckDB, recon-portscan query: " + "; ".join(
        "%d thread%s %s s, peak RSS %d MB" % (t, "" if t == 1 else "s", q[t][4], int(q[t][6]) // 1024)
        for t in threads if t in q))
    print("  DuckDB time / deadbolt time (wall): " + "; ".join(
        "%.2f on %d thread%s" % (float(q[t][4]) / float(d[t][4]), t, "" if t == 1 else "s")
        for t in threads if t in q and t in d and float(d[t][4]) > 0))
EOF
} | tee "$RESULTS"
echo "(also in $RESULTS)"
if [ -n "$KEEP_DATA" ]; then
  echo "inputs kept in $DATA"
fi
if [ -n "$DUCKDB_SKIPPED" ]; then
  echo "$DUCKDB_SKIPPED" >&2
fi
if [ "$STATUS" -ne 0 ]; then
  echo "ALERT COUNTS DIFFER FROM THE MANIFEST (or a run failed): see the MISMATCH lines above" >&2
fi
exit "$STATUS"
