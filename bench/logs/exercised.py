#!/usr/bin/env python3
"""Checks that gen.py's inputs exercise every detection of the catalogue.

    exercised.py MANIFEST DETECTIONS_DIR

Every `detection ID` in DETECTIONS_DIR/*.policy over a log the manifest has
(`from flowlog`, `from cloudtrail`, `from dns`) must have an expected alert
count in that section's `expected_alerts`, and that count must be at least
one: a detection checked to report 0 alerts on inputs holding no attack for it
proves nothing. The manifest must not expect alerts from a detection the
catalogue does not have. Detections over a log that was not generated are
named as not measured. Prints the counts; exit status 0, or 1 with each
problem on standard error.
"""

import json
import os
import re
import sys


def main():
    manifest_path, det_dir = sys.argv[1:3]
    with open(manifest_path) as f:
        m = json.load(f)
    section_of = {"flowlog": "flow", "cloudtrail": "cloudtrail", "dns": "dns"}
    expected = {}
    for section in ("flow", "cloudtrail", "dns"):
        expected.update(m.get(section, {}).get("expected_alerts", {}))
    # detection id -> the manifest section of the log it reads
    ids = {}
    for name in sorted(os.listdir(det_dir)):
        if name.endswith(".policy"):
            with open(os.path.join(det_dir, name)) as f:
                text = f.read()
            for block in re.split(r"^(?=\s*(?:detection|policy)\s)", text, flags=re.M):
                d = re.match(r"\s*detection\s+([\w-]+)", block)
                if d:
                    src = re.search(r"^\s*from\s+(\w+)", block, re.M)
                    ids[d.group(1)] = section_of.get(src.group(1)) if src else None
    problems, unmeasured = [], []
    if not ids:
        problems.append("no detections in %s" % det_dir)
    for d, section in sorted(ids.items()):
        if section is None:
            problems.append("%s: reads a log this benchmark does not generate" % d)
        elif section not in m:
            unmeasured.append(d)
        elif d not in expected:
            problems.append("%s: in the catalogue, but the manifest gives no expected count" % d)
        elif expected[d] == 0:
            problems.append("%s: the inputs hold nothing it must alert on (expected 0); generate more records" % d)
    for d in sorted(set(expected) - set(ids)):
        problems.append("%s: expected by the manifest, but not a detection in %s" % (d, det_dir))
    for p in problems:
        print("NOT EXERCISED " + p, file=sys.stderr)
    if problems:
        return 1
    checked = sorted(d for d in ids if d not in unmeasured)
    print("%d catalogue detections must alert: %s" % (
        len(checked), ", ".join("%s %d" % (d, expected[d]) for d in checked)))
    if unmeasured:
        print("NOT MEASURED (their log was not generated): " + ", ".join(unmeasured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
