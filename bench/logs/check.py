#!/usr/bin/env python3
"""Checks a `deadbolt scan --format json` report of one generated log against
the alerts gen.py's manifest says the catalogue must give.

    check.py MANIFEST SOURCE REPORT

SOURCE is flow, cloudtrail or dns (the manifest's section). Prints `ok` when
every detection of the manifest's `expected_alerts` reported exactly that many
alerts (`fail` results), nothing is `unknown` and nothing failed to load;
otherwise `MISMATCH` and, on standard error, what differs. Exit status 0 or 1.
"""

import collections
import json
import sys


def main():
    manifest_path, source, report_path = sys.argv[1:4]
    with open(manifest_path) as f:
        expected = json.load(f)[source]["expected_alerts"]
    with open(report_path) as f:
        report = json.load(f)
    alerts = collections.Counter(r["policy"] for r in report["results"] if r["status"] == "fail")
    unknown = [r for r in report["results"] if r["status"] == "unknown"]
    problems = []
    for det, want in sorted(expected.items()):
        got = alerts.get(det, 0)
        if got != want:
            problems.append("%s: %d alerts, the manifest expects %d" % (det, got, want))
    for det in sorted(set(alerts) - set(expected)):
        problems.append("%s: %d alerts, the manifest expects none" % (det, alerts[det]))
    for r in unknown[:5]:
        problems.append("unknown: %s %s: %s" % (r["policy"], r.get("file"), r.get("message")))
    for e in report.get("errors", [])[:5]:
        problems.append("load error: %s:%s: %s" % (e.get("file"), e.get("line"), e.get("message")))
    if problems:
        for p in problems:
            print("MISMATCH %s (%s): %s" % (source, report_path, p), file=sys.stderr)
        print("MISMATCH")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
