#!/usr/bin/env python3
"""The flow-log detections as SQL in DuckDB, for the side-by-side benchmark.

    duck.py QUERY FILE [--threads N]

prints one JSON line: the query, the file, the thread count, the alerts (or
groups) found and the seconds the query took (records/s come from the
generator's manifest: DuckDB reads every line). QUERY:

  portscan          recon-portscan exactly: for each record with log-status OK,
                    protocol 6 or 17 and a dstport, the distinct dstports of its
                    (srcaddr, dstaddr) in the 60 minutes up to it (a sliding
                    RANGE frame: start - 3600 < t <= start), then episodes (a
                    gap of 60 minutes or more between consecutive records of a
                    group ends one) and one alert per episode that reached 10.
                    The same answer deadbolt gives, computed the SQL way.
  portscan-groupby  a lower bound, not an equivalent: one GROUP BY over the
                    whole file (10 distinct dstports per pair over the whole
                    day), no window.
  ssh               ssh-brute-force exactly: 20 protocol-6 records to port 22
                    per (srcaddr, dstaddr) within 10 minutes, with episodes.

FILE is a default-format (version 2) flow log without header, plain or gzip.
"""

import argparse
import json
import sys
import time

import duckdb

V2_COLUMNS = {
    "version": "INTEGER", "account_id": "VARCHAR", "interface_id": "VARCHAR",
    "srcaddr": "VARCHAR", "dstaddr": "VARCHAR", "srcport": "INTEGER", "dstport": "INTEGER",
    "protocol": "INTEGER", "packets": "BIGINT", "bytes": "BIGINT", "start": "BIGINT",
    "end": "BIGINT", "action": "VARCHAR", "log_status": "VARCHAR",
}


def source(path):
    cols = "{" + ", ".join("'%s': '%s'" % kv for kv in V2_COLUMNS.items()) + "}"
    path = path.replace("'", "''")
    return "read_csv('%s', delim=' ', header=false, columns=%s, nullstr='-', auto_detect=false)" % (path, cols)


def windowed_alerts(where, value, window, threshold):
    """Alerts with deadbolt's episode semantics: a sliding window per record
    (`t - window < start <= t`, integer seconds), episodes split by gaps of a
    whole window, one alert per episode whose window reached the threshold."""
    agg = "count(DISTINCT %s)" % value if value else "count(*)"
    return """
WITH f AS (SELECT srcaddr, dstaddr, dstport, "start" AS t FROM {src} WHERE %s),
w AS (
  SELECT srcaddr, dstaddr, t,
         %s OVER (PARTITION BY srcaddr, dstaddr ORDER BY t
                   RANGE BETWEEN %d PRECEDING AND CURRENT ROW) AS n,
         t - lag(t) OVER (PARTITION BY srcaddr, dstaddr ORDER BY t) AS gap
  FROM f),
e AS (
  -- the default frame (RANGE ... CURRENT ROW) gives records of one instant one episode
  SELECT srcaddr, dstaddr, n,
         sum(CASE WHEN gap >= %d THEN 1 ELSE 0 END)
           OVER (PARTITION BY srcaddr, dstaddr ORDER BY t) AS episode
  FROM w)
SELECT count(*) FROM (SELECT DISTINCT srcaddr, dstaddr, episode FROM e WHERE n >= %d)
""" % (where, agg, window - 1, window, threshold)


QUERIES = {
    "portscan": windowed_alerts(
        "log_status = 'OK' AND protocol IN (6, 17) AND dstport IS NOT NULL", "dstport", 3600, 10),
    "portscan-groupby": """
SELECT count(*) FROM (
  SELECT srcaddr, dstaddr FROM {src}
  WHERE log_status = 'OK' AND protocol IN (6, 17) AND dstport IS NOT NULL
  GROUP BY srcaddr, dstaddr HAVING count(DISTINCT dstport) >= 10)
""",
    "ssh": windowed_alerts("protocol = 6 AND dstport = 22", None, 600, 20),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("query", choices=sorted(QUERIES))
    ap.add_argument("file")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    con = duckdb.connect()
    con.execute("SET threads = %d" % args.threads)
    # Memory as DuckDB chooses it (80% of RAM); no spilling to disk expected.
    sql = QUERIES[args.query].replace("{src}", source(args.file))
    started = time.perf_counter()
    (alerts,) = con.execute(sql).fetchone()
    seconds = time.perf_counter() - started
    json.dump({"query": args.query, "file": args.file, "threads": args.threads,
               "alerts": alerts, "seconds": round(seconds, 3), "duckdb": duckdb.__version__}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
