#!/usr/bin/env bash
# deadbolt throughput benchmark, and a side-by-side with cfn-guard.
#
#   bench/run.sh                 # 2000 templates, 3 repetitions, all cores
#   N=500 REPS=5 bench/run.sh    # smaller corpus, more repetitions
#
# Environment knobs (defaults in brackets):
#   N [2000]        templates in the corpus      SEED [1]     generator seed
#   PLANS [0]       also generate K Terraform plans (deadbolt rows only; the
#                   Guard rules have no Terraform part, they skip plans)
#   REPS [3]        runs per configuration; the median is reported
#   THREADS [nproc] the "all threads" thread count
#   CORPUS [bench/corpus]   OUT [bench/out]
#   SKIP_BUILD=1    use the existing target/release/deadbolt
#   SKIP_GUARD=1    no cfn-guard rows       SKIP_CHECK=1  skip the findings cross-check
#   WAIT_IDLE [0]   on a shared machine, wait up to this many seconds before each
#                   measurement for the CPUs to be idle (<10% busy); without it
#                   the script only samples, and warns, before each repetition
#   CFN_GUARD [~/.cargo/bin/cfn-guard, else cfn-guard on PATH]
#   GNU_TIME [/usr/bin/time; installed with apt-get when missing and root;
#             a path that does not exist selects the Python fallback]
#
# What runs (each REPS times, after one untimed warm-up of the file cache):
#   deadbolt, full built-in catalogue, --threads 1 and --threads $THREADS
#   deadbolt, --policies bench/policies-4 (4 catalogue policies), 1 and $THREADS
#   cfn-guard validate -r bench/guard (the same 4 rules) over the same corpus,
#       in its two fastest output modes (see README): streaming JSON
#       (-S none -o json) and structured JUnit (-S none -z -o junit). Which one
#       wins depends on corpus size; the ratios use the faster one.
# Reports go to stdout and are thrown away (> /dev/null) for both tools.
# Results: a table on stdout and in $OUT/results.md; raw runs in $OUT/runs.tsv.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

N=${N:-2000}
SEED=${SEED:-1}
PLANS=${PLANS:-0}
REPS=${REPS:-3}
THREADS=${THREADS:-$(nproc)}
CORPUS=${CORPUS:-bench/corpus}
OUT=${OUT:-bench/out}
SKIP_BUILD=${SKIP_BUILD:-0}
SKIP_GUARD=${SKIP_GUARD:-0}
SKIP_CHECK=${SKIP_CHECK:-0}
WAIT_IDLE=${WAIT_IDLE:-0}
DEADBOLT=$ROOT/target/release/deadbolt

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is needed (corpus generator and reporting)"
mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/deadbolt-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- deadbolt ---------------------------------------------------------------
if [[ $SKIP_BUILD != 1 ]]; then
    say "cargo build --release"
    cargo build --release --quiet || die "cargo build --release failed (SKIP_BUILD=1 uses the existing binary)"
fi
[[ -x $DEADBOLT ]] || die "$DEADBOLT not found; build it or unset SKIP_BUILD"
# Measure a private copy: other builds in the same checkout replace
# target/release/deadbolt, which must not change in the middle of a run.
DEADBOLT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src policies Cargo.toml Cargo.lock build.rs 2>/dev/null || echo "+dirty")
cp "$DEADBOLT" "$TMP/deadbolt"
DEADBOLT=$TMP/deadbolt

# bench/policies-4 holds copies of four catalogue policies; keep them identical
# to the catalogue so the 4-rule rows measure what the full catalogue runs.
P4=(encryption-at-rest/ebs-volume-encryption encryption-at-rest/rds-storage-encryption
    encryption-at-rest/s3-bucket-sse-kms network/sg-no-public-admin-ports)
for p in "${P4[@]}"; do
    src=policies/$p.policy dst=bench/policies-4/$(basename "$p").policy
    if ! cmp -s "$src" "$dst"; then
        say "refreshing $dst from $src (the catalogue changed)"
        cp "$src" "$dst"
    fi
done
"$DEADBOLT" check bench/policies-4 >/dev/null || die "bench/policies-4 does not compile with this deadbolt"

# --- cfn-guard ----------------------------------------------------------------
GUARD=""
if [[ $SKIP_GUARD != 1 ]]; then
    if [[ -n ${CFN_GUARD:-} ]]; then GUARD=$CFN_GUARD
    elif [[ -x $HOME/.cargo/bin/cfn-guard ]]; then GUARD=$HOME/.cargo/bin/cfn-guard
    elif command -v cfn-guard >/dev/null; then GUARD=$(command -v cfn-guard)
    else
        say "cfn-guard not found: installing it with 'cargo install cfn-guard --locked' (a few minutes)"
        cargo install cfn-guard --locked
        GUARD=$HOME/.cargo/bin/cfn-guard
    fi
    say "using $("$GUARD" --version) at $GUARD"
    # The Guard rules' own unit tests: each rule passes and fails where it should.
    for t in bench/guard/tests/*_tests.yaml; do
        r=bench/guard/$(basename "$t" _tests.yaml).guard
        "$GUARD" test -r "$r" -t "$t" >"$TMP/guard-test.txt" 2>&1 \
            || { cat "$TMP/guard-test.txt" >&2; die "cfn-guard test failed for $r"; }
    done
fi

# --- corpus -----------------------------------------------------------------
manifest=$CORPUS/corpus-manifest.txt
want="$N $SEED $PLANS"
have=$( [[ -f $manifest ]] && python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["args"]; print(a["templates"], a["seed"], a["plans"])' "$manifest" || true)
if [[ $have != "$want" ]]; then
    if [[ -n $have ]]; then say "corpus in $CORPUS was made with (N SEED PLANS) = ($have); regenerating with ($want)"; fi
    say "generating the corpus: python3 bench/gen_corpus.py -n $N --seed $SEED --plans $PLANS -o $CORPUS"
    python3 bench/gen_corpus.py -n "$N" --seed "$SEED" --plans "$PLANS" -o "$CORPUS" --force
fi
read -r TEMPLATES PLAN_FILES RESOURCES CFN_RESOURCES MB < <(python3 -c '
import json,sys; m=json.load(open(sys.argv[1]))
print(m["templates"], m["plans"], m["resources"], m["cfn_resources"], "%.1f" % (m["bytes"]/1e6))' "$manifest")
FILES=$((TEMPLATES + PLAN_FILES))
say "corpus: $TEMPLATES templates + $PLAN_FILES plans, $RESOURCES resources, $MB MB"

# --- measuring ----------------------------------------------------------------
# measure NAME OK_CODES CMD... : runs CMD (stdout to /dev/null) and appends
# "NAME<TAB>wall_s<TAB>maxrss_kb<TAB>exit" to runs.tsv. Wall time from the
# shell's nanosecond clock, peak RSS from GNU time -v (or, without it, from
# Python's resource module).
GNU_TIME=${GNU_TIME:-/usr/bin/time}
if [[ ! -x $GNU_TIME && $GNU_TIME == /usr/bin/time ]] && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    say "installing GNU time (apt-get install -y time)"
    apt-get install -y -qq time >/dev/null 2>&1 || true
fi
RUNS=$OUT/runs.tsv
: >"$RUNS"
measure() {
    local name=$1 ok=$2; shift 2
    local t0 t1 rc rss
    if ((WAIT_IDLE > 0)); then wait_idle; fi
    if [[ -x $GNU_TIME ]]; then
        t0=$(date +%s%N)
        set +e
        "$GNU_TIME" -v -o "$TMP/time.txt" "$@" >/dev/null 2>"$TMP/stderr.txt"
        rc=$?
        set -e
        t1=$(date +%s%N)
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    else
        set +e
        read -r wall rss rc < <(python3 - "$@" 2>"$TMP/stderr.txt" <<'PY'
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=sys.stderr).returncode
wall = time.perf_counter() - t0
print("%.3f %d %d" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
PY
        )
        set -e
    fi
    if [[ " $ok " != *" $rc "* ]]; then
        head -c 3000 "$TMP/stderr.txt" >&2
        die "$name: unexpected exit code $rc (expected one of: $ok)"
    fi
    printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$rss" "$rc" >>"$RUNS"
    printf '    %-34s %8ss %8d KiB  exit %s\n' "$name" "$wall" "$rss" "$rc" >&2
}

DB_FULL=(scan "$CORPUS" --format json --no-progress)
DB_4=(scan "$CORPUS" --policies bench/policies-4 --format json --no-progress)
GUARD_STREAM=(validate -r bench/guard -d "$CORPUS" -S none -o json)
GUARD_STRUCT=(validate -r bench/guard -d "$CORPUS" -S none -z -o junit)

# Sanity: deadbolt loads every file, without errors (exit 2 would say otherwise).
set +e
"$DEADBOLT" scan "$CORPUS" --policies bench/policies-4 --color never --no-progress >"$TMP/human.txt" 2>&1
rc=$?
set -e
stats=$(grep -Eo '[0-9]+ resources in [0-9]+ templates' "$TMP/human.txt" | tail -1 || true)
if [[ $rc -gt 1 ]]; then
    grep -m5 -i error "$TMP/human.txt" >&2 || true
    die "deadbolt exited $rc on $CORPUS (load errors?)"
elif [[ -z $stats ]]; then
    say "WARNING: could not read deadbolt's summary line; not checking the template count"
elif [[ $stats != *" in $FILES templates" ]]; then
    die "deadbolt loaded $stats, expected $FILES templates"
else
    say "deadbolt loads the corpus: $stats"
fi
if [[ -n $GUARD && $SKIP_CHECK != 1 ]]; then
    say "cross-check: deadbolt (bench/policies-4) and cfn-guard (bench/guard) find the same failures"
    python3 bench/compare_findings.py "$CORPUS" --deadbolt "$DEADBOLT" --cfn-guard "$GUARD" | tee "$OUT/crosscheck.txt" >&2 \
        || say "WARNING: the two tools disagree on this corpus (see $OUT/crosscheck.txt)"
fi

say "warm-up (file cache)"
find "$CORPUS" -type f -exec cat {} + >/dev/null
"$DEADBOLT" "${DB_4[@]}" --threads 1 >/dev/null 2>&1 || true

# Other work on the machine skews every figure: sample the CPU for 2 s first.
# (The load average would mostly show this script's own warm-up and cross-check.)
cpu_busy() {
    local a b
    read -r -a a < <(head -1 /proc/stat); sleep 2; read -r -a b < <(head -1 /proc/stat)
    awk -v a="${a[*]:1}" -v b="${b[*]:1}" 'BEGIN {
        n = split(a, x, " "); split(b, y, " "); t = 0
        for (i = 1; i <= n; i++) t += y[i] - x[i]
        idle = (y[4] - x[4]) + (y[5] - x[5])
        printf "%.0f", (t > 0 ? 100 * (t - idle) / t : 0) }'
}
# wait_idle: with WAIT_IDLE=S, wait up to S seconds for the CPUs to be under
# 10% busy; then warn if they still are not. Sets BUSY (percent).
BUSY_MAX=0
wait_idle() {
    local waited=0
    BUSY=$(cpu_busy 2>/dev/null || echo 0)
    while ((BUSY > 10 && waited < WAIT_IDLE)); do
        ((waited == 0)) && say "CPUs ${BUSY}% busy with other work; waiting up to ${WAIT_IDLE}s for them to settle"
        sleep 8; waited=$((waited + 10))
        BUSY=$(cpu_busy 2>/dev/null || echo 0)
    done
    if ((BUSY > 10)); then
        say "WARNING: the CPUs are ${BUSY}% busy with other work: these timings will be skewed"
    fi
    ((BUSY > BUSY_MAX)) && BUSY_MAX=$BUSY
    return 0
}
say "measuring, $REPS run(s) each"
for ((i = 1; i <= REPS; i++)); do
    if ((WAIT_IDLE == 0)); then wait_idle; fi
    say "repetition $i/$REPS"
    measure "deadbolt-full-1" "0 1" "$DEADBOLT" "${DB_FULL[@]}" --threads 1
    measure "deadbolt-full-N" "0 1" "$DEADBOLT" "${DB_FULL[@]}" --threads "$THREADS"
    measure "deadbolt-4-1" "0 1" "$DEADBOLT" "${DB_4[@]}" --threads 1
    measure "deadbolt-4-N" "0 1" "$DEADBOLT" "${DB_4[@]}" --threads "$THREADS"
    if [[ -n $GUARD ]]; then
        # Exit 19 means "some rules failed", which this corpus guarantees.
        measure "guard-4-stream" "0 19" "$GUARD" "${GUARD_STREAM[@]}"
        measure "guard-4-struct" "0 19" "$GUARD" "${GUARD_STRUCT[@]}"
    fi
done

# --- report -----------------------------------------------------------------
export TEMPLATES PLAN_FILES RESOURCES FILES MB THREADS REPS N SEED PLANS CORPUS
export DEADBOLT_REV
export GUARD_VERSION=$([[ -n $GUARD ]] && "$GUARD" --version || echo "not run")
export CPU=$(lscpu 2>/dev/null | awk -F': *' '/Model name/ {print $2; exit}')
export CORES=$(nproc)
export BUSY_MAX
python3 - "$RUNS" "$OUT/results.md" <<'PY'
import os, statistics, sys, datetime
runs, out = sys.argv[1], sys.argv[2]
e = os.environ
by = {}
for line in open(runs):
    name, wall, rss, rc = line.rstrip("\n").split("\t")
    by.setdefault(name, []).append((float(wall), int(rss)))
med = {k: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v), len(v)) for k, v in by.items()}
files, res, n = int(e["FILES"]), int(e["RESOURCES"]), e["THREADS"]
labels = [
    ("deadbolt-full-1", "deadbolt, full catalogue (22), 1 thread"),
    ("deadbolt-full-N", "deadbolt, full catalogue (22), %s threads" % n),
    ("deadbolt-4-1", "deadbolt, 4 policies, 1 thread"),
    ("deadbolt-4-N", "deadbolt, 4 policies, %s threads" % n),
    ("guard-4-stream", "cfn-guard, 4 rules (-S none -o json)"),
    ("guard-4-struct", "cfn-guard, 4 rules (-S none -z -o junit)"),
]
rows = ["| configuration | wall s (median of %s) | best s | templates/s | resources/s | peak RSS MiB |" % e["REPS"],
        "|---|---:|---:|---:|---:|---:|"]
for k, label in labels:
    if k in med:
        w, r, _ = med[k]
        best = min(x for x, _ in by[k])
        rows.append("| %s | %.2f | %.2f | %.0f | %.0f | %.0f |" % (label, w, best, files / w, res / w, r / 1024))
notes = []
def ratio(a, b):
    return med[a][0] / med[b][0] if a in med and b in med else None
for a, b, what in [("deadbolt-full-1", "deadbolt-full-N", "full catalogue"), ("deadbolt-4-1", "deadbolt-4-N", "4 policies")]:
    s = ratio(a, b)
    if s:
        notes.append("- deadbolt 1 → %s threads speedup (%s): **%.2f×**" % (n, what, s))
guards = [(g, gl) for g, gl in [("guard-4-stream", "-S none -o json"), ("guard-4-struct", "-S none -z -o junit")] if g in med]
if guards:
    g, gl = min(guards, key=lambda x: med[x[0]][0])
    for d, dl in [("deadbolt-4-1", "1 thread"), ("deadbolt-4-N", "%s threads" % n)]:
        notes.append("- **cfn-guard time / deadbolt time, same 4 rules, deadbolt on %s: %.1f×** (cfn-guard's faster mode, %s)"
                     % (dl, ratio(g, d), gl))
    for g2, gl2 in guards:
        if g2 != g:
            notes.append("- with cfn-guard %s instead: %.1f× (1 thread), %.1f× (%s threads)"
                         % (gl2, ratio(g2, "deadbolt-4-1"), ratio(g2, "deadbolt-4-N"), n))
head = [
    "# deadbolt benchmark results",
    "",
    "- date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    "- machine: %s, %s cores (nproc)" % (e.get("CPU") or "unknown CPU", e["CORES"]),
    "- deadbolt: git %s (release build); cfn-guard: %s" % (e["DEADBOLT_REV"], e["GUARD_VERSION"]),
    "- corpus: %s — %s CloudFormation templates + %s Terraform plans, %s resources, %s MB (gen_corpus.py -n %s --seed %s --plans %s)"
    % (e["CORPUS"], e["TEMPLATES"], e["PLAN_FILES"], e["RESOURCES"], e["MB"], e["N"], e["SEED"], e["PLANS"]),
    "- other work on the machine: at most %s%% CPU busy just before a measurement (sampled for 2 s)" % e["BUSY_MAX"],
    "- each figure is the median of %s runs (\"best\" is the fastest); templates/s counts every input file (templates and plans)" % e["REPS"],
    "",
]
text = "\n".join(head + rows + [""] + notes) + "\n"
open(out, "w").write(text)
print(text)
PY
say "wrote $OUT/results.md and $OUT/runs.tsv"
