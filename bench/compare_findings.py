#!/usr/bin/env python3
"""Check that bench/guard and bench/policies-4 really are like for like: run
both tools over a corpus and compare, per policy, the set of failing
(file, resource) pairs.

    python3 bench/compare_findings.py [CORPUS] [--deadbolt PATH] [--cfn-guard PATH]

Prints one line per policy (failures found by each tool, and how many only one
of them found) and a few examples of any difference; exits 1 if the tools
disagree. CloudFormation templates only: the Guard rules have no Terraform part.
Standard library only.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Guard rule name -> deadbolt policy id.
RULES = {
    "ebs_volume_encryption": "ebs-volume-encryption",
    "rds_instance_storage_encryption": "rds-storage-encryption",
    "rds_cluster_storage_encryption": "rds-storage-encryption",
    "s3_bucket_sse_kms": "s3-bucket-sse-kms",
    "sg_no_public_admin_ports": "sg-no-public-admin-ports",
    "sg_ingress_no_public_admin_ports": "sg-no-public-admin-ports",
}
RESOURCE_IN_PATH = re.compile(r"/Resources/([A-Za-z0-9]+)")


def guard_failures(guard, corpus):
    p = subprocess.run([guard, "validate", "-r", os.path.join(HERE, "guard"), "-d", corpus,
                        "-S", "none", "-z", "-o", "json"], capture_output=True, text=True)
    if p.returncode not in (0, 19):
        sys.exit("cfn-guard failed (exit %d):\n%s" % (p.returncode, p.stderr[-2000:]))
    out = set()
    files = 0
    for entry in json.loads(p.stdout):
        files += 1
        path = os.path.realpath(entry["name"])
        for nc in entry.get("not_compliant", []):
            rule = nc["Rule"]["name"]
            names = set(RESOURCE_IN_PATH.findall(json.dumps(nc)))
            for n in names:
                out.add((RULES[rule], path, n))
    return out, files


def deadbolt_failures(deadbolt, corpus):
    p = subprocess.run([deadbolt, "scan", corpus, "--policies", os.path.join(HERE, "policies-4"),
                        "--format", "json", "--no-progress"], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit("deadbolt failed (exit %d):\n%s" % (p.returncode, p.stderr[-2000:]))
    report = json.loads(p.stdout)
    out, unknown = set(), collections.Counter()
    for r in report["results"]:
        if r.get("resource_type", "").startswith("AWS::"):
            key = (r["policy"], os.path.realpath(r["file"]), r["resource"])
            if r["status"] == "fail":
                out.add(key)
            elif r["status"] == "unknown":
                unknown[r["policy"]] += 1
    return out, unknown, report.get("errors", [])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--deadbolt", default=os.path.join(ROOT, "target", "release", "deadbolt"))
    ap.add_argument("--cfn-guard", default=os.path.expanduser("~/.cargo/bin/cfn-guard"))
    a = ap.parse_args()

    g, files = guard_failures(a.cfn_guard, a.corpus)
    d, unknown, errors = deadbolt_failures(a.deadbolt, a.corpus)
    print("cfn-guard evaluated %d data files; deadbolt load errors: %d" % (files, len(errors)))
    print("%-26s %10s %10s %12s %12s %8s" % ("policy", "deadbolt", "cfn-guard", "only-deadbolt", "only-guard", "unknown"))
    agree = True
    for pol in sorted(set(RULES.values())):
        dp = {k for k in d if k[0] == pol}
        gp = {k for k in g if k[0] == pol}
        print("%-26s %10d %10d %12d %12d %8d" % (pol, len(dp), len(gp), len(dp - gp), len(gp - dp), unknown[pol]))
        for k in sorted(dp - gp)[:3]:
            print("    only deadbolt: %s %s" % (os.path.relpath(k[1]), k[2]))
        for k in sorted(gp - dp)[:3]:
            print("    only cfn-guard: %s %s" % (os.path.relpath(k[1]), k[2]))
        agree &= dp == gp
    print("verdict: %s" % ("same failures" if agree else "DIFFERENT failures"))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
