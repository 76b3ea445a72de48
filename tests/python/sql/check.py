"""The compiled detections against the native engine, on every log fixture of
the detection catalogue's tests (policies/detection/tests/*.yaml).

For each distinct (files, lists) of those test cases:
  1. `deadbolt scan --format json` gives the native alerts and unknowns;
  2. `deadbolt compile --target T` gives the queries (and the lists as tables);
  3. the files are loaded into the documented tables (load.py) in DuckDB;
  4. the queries run: the DuckDB dialect as written; Trino and Athena parsed by
     sqlglot's trino/athena dialects, then the Trino query transpiled to DuckDB
     by sqlglot and run; Spark SQL in pyspark local[2] (with --spark);
  5. the sets must be equal: alerts as (detection, group key, first seen,
     records), undecided records as (detection, file, records).

Prints a table per detection and exits 1 on any difference.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import duckdb
import sqlglot
import yaml

import load

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def rel(path):
    return os.path.relpath(os.path.normpath(path), ROOT)


def cases():
    """Distinct runs: (files, lists, trusted, aws) -> test file names."""
    runs = {}
    tests = os.path.join(ROOT, "policies", "detection", "tests")
    for name in sorted(os.listdir(tests)):
        if not name.endswith(".yaml"):
            continue
        doc = yaml.safe_load(open(os.path.join(tests, name)))
        for case in doc.get("cases", []):
            files = [rel(os.path.join(tests, f)) for f in case.get("files", [])]
            if not files or not all(f.startswith("fixtures/detect") for f in files):
                continue
            lists = tuple(sorted((k, rel(os.path.join(tests, v))) for k, v in (case.get("lists") or {}).items()))
            trusted = rel(os.path.join(tests, case["trusted_list"])) if case.get("trusted_list") else None
            aws = rel(os.path.join(tests, case["aws_ip_ranges"])) if case.get("aws_ip_ranges") else None
            runs.setdefault((tuple(files), lists, trusted, aws), set()).add(doc["policy"])
    # The edge cases of the translation (fixtures/README.md), with every list and without.
    full = next(k for k in runs if k[1])
    for files in (("tests/python/sql/fixtures",),):
        runs.setdefault((files, full[1], full[2], full[3]), set()).add("sql-edges")
        runs.setdefault((files, (), None, None), set()).add("sql-edges")
    # Everything at once, with every list: the run Spark takes part in.
    every = tuple(sorted({f for k in runs for f in k[0]}))
    runs.setdefault((every, full[1], full[2], full[3]), set()).add(ALL)
    return runs


ALL = "all fixtures"


def list_flags(lists, trusted, aws):
    flags = []
    for name, path in lists:
        flags += ["--threat-list", f"{name}={path}"]
    if trusted:
        flags += ["--trusted-list", trusted]
    if aws:
        flags += ["--aws-ip-ranges", aws]
    return flags


def expand(files):
    """The log files under the named files and directories, as deadbolt names them."""
    out = []
    for f in files:
        if os.path.isdir(os.path.join(ROOT, f)):
            for dirpath, _, names in os.walk(os.path.join(ROOT, f)):
                for n in sorted(names):
                    if not n.startswith("."):
                        out.append(rel(os.path.join(dirpath, n)))
        else:
            out.append(f)
    return sorted(out)


def iso_ms(s):
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)


def native(deadbolt, files, flags):
    out = subprocess.run(
        [deadbolt, "scan", "--no-progress", "--format", "json", "--policies", "policies/detection", *flags, *files],
        cwd=ROOT, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"deadbolt scan failed ({out.returncode}):\n{out.stderr}")
    alerts, unknown, detections = set(), set(), set()
    for r in json.loads(out.stdout)["results"]:
        detections.add(r["policy"])
        if r["status"] == "fail" and r.get("finding"):
            s = r["finding"]["service"]
            group = s["additionalInfo"]["deadbolt"]["group"]
            alerts.add((r["policy"], group, iso_ms(s["eventFirstSeen"]), s["count"]))
        elif r["status"] == "unknown":
            n = int(r["message"].split("cannot be decided for ")[1].split(" record")[0])
            unknown.add((r["policy"], os.path.basename(r["file"]), n))
    return alerts, unknown, detections


def compile_queries(deadbolt, target, out_dir, flags):
    r = subprocess.run(
        [deadbolt, "compile", "--target", target, "--policies", "policies/detection", "-o", out_dir, *flags],
        cwd=ROOT, capture_output=True, text=True)
    queries = {n[:-4]: open(os.path.join(out_dir, n)).read()
               for n in os.listdir(out_dir) if n.endswith(".sql") and n != "tables.sql"}
    refused = sorted(line.split("detection ")[1].split(" cannot")[0]
                     for line in r.stderr.splitlines() if "cannot be compiled for" in line)
    if r.returncode not in (0, 2) or (r.returncode == 2 and not refused):
        sys.exit(f"deadbolt compile --target {target} failed ({r.returncode}):\n{r.stderr}")
    return queries, refused


def duck_tables(ddl_dir, files):
    """A DuckDB database with the documented tables, the files and the lists loaded."""
    con = duckdb.connect()
    con.execute(open(os.path.join(ddl_dir, "tables.sql")).read())
    tables = {"flowlog": "vpc_flow_logs", "cloudtrail": "cloudtrail_logs", "dns": "r53_rlogs"}
    for t in tables.values():
        # Athena's and Trino's name for the file of a row, for the Trino queries.
        con.execute(f'ALTER TABLE {t} ADD COLUMN "$path" VARCHAR')
    rows = 0
    for f in files:
        rows += load.load(con, load.sniff(os.path.join(ROOT, f)), tables[load.sniff(os.path.join(ROOT, f))], f)
    lists_dir = os.path.join(ddl_dir, "lists")
    for name, table in (("lists", "deadbolt_lists"), ("networks", "deadbolt_networks"), ("domains", "deadbolt_domains")):
        path = os.path.join(lists_dir, f"{name}.tsv")
        if os.path.exists(path):
            con.execute(f"COPY {table} FROM '{path}' (DELIMITER '\t', HEADER, QUOTE '')")
    return con, rows


def rows_to_sets(rows):
    alerts, unknown = set(), set()
    for det, status, key, _res, first, _last, n, f, _reason in rows:
        if status == "fail":
            alerts.add((det, key, int(first), int(n)))
        else:
            unknown.add((det, os.path.basename(f), int(n)))
    return alerts, unknown


def run_duck(con, sql):
    return rows_to_sets(con.execute(sql).fetchall())


def trino_to_duck(sql, dialect):
    # Every Trino/Athena query must parse in sqlglot's dialect of that name.
    sqlglot.parse_one(sql, read=dialect)
    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]


class Spark:
    """Spark SQL over the same rows, in pyspark local[2]."""

    def __init__(self):
        from pyspark.sql import SparkSession
        self.spark = (SparkSession.builder.master("local[2]").appName("deadbolt-sql")
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false")
                      .config("spark.sql.shuffle.partitions", "4")
                      .config("spark.sql.session.timeZone", "UTC")
                      .getOrCreate())
        # The address stages outgrow Java's 64 KB method limit in whole-stage code
        # generation; Spark logs that and evaluates them interpreted.
        self.spark.sparkContext.setLogLevel("OFF")

    def load(self, con, work):
        """Every DuckDB table as a Spark view, through Parquet (structs, lists and decimals kept)."""
        for (t,) in con.execute("SHOW TABLES").fetchall():
            path = os.path.join(work, f"{t}.parquet")
            cols = "* EXCLUDE (\"$path\")" if t in ("vpc_flow_logs", "cloudtrail_logs", "r53_rlogs") else "*"
            con.execute(f"COPY (SELECT {cols} FROM {t}) TO '{path}' (FORMAT parquet)")
            self.spark.read.parquet(path).createOrReplaceTempView(t)

    def run(self, sql):
        # input_file_name() is the row's file column here: the tables are views, not files.
        sql = sql.replace("input_file_name()", "filename")
        rows = self.spark.sql(sql).collect()
        return rows_to_sets([tuple(r) for r in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deadbolt", default=os.path.join(ROOT, "target", "debug", "deadbolt"))
    ap.add_argument("--spark", action="store_true", help="also run the Spark SQL queries in pyspark local[2]")
    args = ap.parse_args()
    deadbolt = os.path.abspath(args.deadbolt)
    targets = ["duckdb", "trino", "athena"] + (["spark"] if args.spark else [])
    spark = Spark() if args.spark else None
    work_dir = tempfile.TemporaryDirectory(prefix="deadbolt-sql-")
    work = work_dir.name
    failures = 0
    table = []
    refused_all = {}
    compiled = {}
    transpiled = {}
    started = time.time()
    for i, ((files, lists, trusted, aws), tests) in enumerate(sorted(cases().items(), key=lambda kv: (ALL in kv[1], kv[0]))):
        flags = list_flags(lists, trusted, aws)
        paths = expand(files)
        nat_alerts, nat_unknown, detections = native(deadbolt, list(files), flags)
        # The queries do not depend on the lists (they are tables): compiled once per target;
        # the lists of each run come as the tables' rows.
        for t in targets:
            if t not in compiled:
                compiled[t] = compile_queries(deadbolt, t, os.path.join(work, t), [])
                refused_all[t] = set(compiled[t][1])
        compile_queries(deadbolt, "duckdb", os.path.join(work, f"run{i}"), flags)
        con, nrows = duck_tables(os.path.join(work, f"run{i}"), paths)
        # Spark starts slowly and plans each query for seconds: it takes the run over everything.
        with_spark = spark is not None and ALL in tests
        if with_spark:
            spark.load(con, os.path.join(work, f"run{i}"))
        label = f"{', '.join(files)}; lists: {','.join(n for n, _ in lists) or 'none'}" + \
            (", trusted" if trusted else "") + (", aws ranges" if aws else "")
        print(f"\n== run {i + 1}: {label} ({len(paths)} files, {nrows} records)")
        for det in sorted(detections):
            want_a = {a for a in nat_alerts if a[0] == det}
            want_u = {u for u in nat_unknown if u[0] == det}
            cells = []
            for t in targets:
                queries, refused = compiled[t]
                if det in refused:
                    cells.append("refused")
                    continue
                if t == "spark" and not with_spark:
                    cells.append("-")
                    continue
                if det not in queries:
                    cells.append("MISSING")
                    failures += 1
                    continue
                try:
                    if t == "duckdb":
                        got_a, got_u = run_duck(con, queries[det])
                    elif t in ("trino", "athena"):
                        if (t, det) not in transpiled:
                            transpiled[(t, det)] = trino_to_duck(queries[det], t)
                        got_a, got_u = run_duck(con, transpiled[(t, det)])
                    else:
                        got_a, got_u = spark.run(queries[det])
                except Exception as e:  # noqa: BLE001 -- reported as a difference
                    cells.append("ERROR")
                    failures += 1
                    print(f"   {det} [{t}]: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
                    continue
                if got_a == want_a and got_u == want_u:
                    cells.append("equal")
                else:
                    cells.append("DIFFERENT")
                    failures += 1
                    for label_, want, got in (("alerts", want_a, got_a), ("unknown", want_u, got_u)):
                        for x in sorted(want - got):
                            print(f"   {det} [{t}] {label_} only native: {x}")
                        for x in sorted(got - want):
                            print(f"   {det} [{t}] {label_} only SQL:    {x}")
            table.append((i + 1, det, len(want_a), sum(a[3] for a in want_a), sum(u[2] for u in want_u), cells))
            print(f"   {det:30} alerts {len(want_a):2} (records {sum(a[3] for a in want_a):3}), undecided {sum(u[2] for u in want_u):3}:  "
                  + "  ".join(f"{t} {c}" for t, c in zip(targets, cells)))
    print("\n== summary")
    compared = sum(1 for row in table for c in row[5] if c not in ("refused", "-"))
    equal = sum(1 for row in table for c in row[5] if c == "equal")
    alerts = sum(row[2] for row in table)
    print(f"{len(table)} (run, detection) pairs, {alerts} native alerts; {equal} of {compared} comparisons equal "
          f"({', '.join(targets)}); {time.time() - started:.1f} s")
    for t, r in sorted(refused_all.items()):
        if r:
            print(f"refused for {t}: {', '.join(sorted(r))}")
    if failures:
        print(f"FAIL: {failures} difference(s)")
        sys.exit(1)
    print("ok: the compiled queries give the native engine's alerts and unknowns")


if __name__ == "__main__":
    main()
