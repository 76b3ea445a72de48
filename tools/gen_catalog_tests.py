#!/usr/bin/env python3
"""Writes policies/<domain>/tests/<id>.yaml for every catalogue policy from the
reviewed results of its fixtures (fixtures/catalog/<id>/). Run after reviewing a
behaviour change; `deadbolt test policies/` then pins it.

usage: tools/gen_catalog_tests.py [path/to/deadbolt]
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "deadbolt")


def yaml_str(s):
    return json.dumps(s)


def main():
    policies = {}
    for dirpath, _, files in os.walk(os.path.join(ROOT, "policies")):
        for f in files:
            if f.endswith(".policy"):
                policies[f[:-len(".policy")]] = os.path.join(dirpath, f)
    for pid, ppath in sorted(policies.items()):
        fixture_dir = os.path.join(ROOT, "fixtures", "catalog", pid)
        if not os.path.isdir(fixture_dir):
            print(f"skip {pid}: no fixtures", file=sys.stderr)
            continue
        tests_dir = os.path.join(os.path.dirname(ppath), "tests")
        os.makedirs(tests_dir, exist_ok=True)
        rel_fixtures = os.path.relpath(fixture_dir, tests_dir)
        lines = [
            f"# Tests of {pid}: one case per fixture, with the reviewed verdict and line of",
            "# every resource, and a snapshot of all its results. Regenerate after a reviewed",
            "# behaviour change with tools/gen_catalog_tests.py.",
            f"policy: {pid}",
            "cases:",
        ]
        for fixture in sorted(os.listdir(fixture_dir)):
            path = os.path.join(fixture_dir, fixture)
            out = subprocess.run(
                [BIN, "scan", path, "--policies", ppath, "--format", "json", "--no-progress"],
                capture_output=True, text=True, cwd=ROOT,
            )
            if out.returncode not in (0, 1):
                sys.exit(f"{pid}/{fixture}: scan failed: {out.stderr}")
            results = json.loads(out.stdout)["results"]
            by_resource = {}
            for r in results:
                by_resource.setdefault(r["resource"], []).append(r)
            lines.append(f"  - name: {fixture}")
            lines.append(f"    files: [{rel_fixtures}/{fixture}]")
            lines.append("    expect:")
            for res in sorted(by_resource):
                rs = by_resource[res]
                statuses = {r["status"] for r in rs}
                if len(rs) == 1:
                    r = rs[0]
                    lines.append(f"      {yaml_str(res)}: {{status: {r['status']}, line: {r['line']}}}")
                elif len(statuses) == 1:
                    lines.append(f"      {yaml_str(res)}: {rs[0]['status']}")
                else:
                    sys.exit(f"{pid}/{fixture}: {res} has several results with different statuses")
        lines.append("  - name: all fixtures")
        lines.append(f"    files: [{rel_fixtures}]")
        lines.append(f"    snapshot: snapshots/{pid}.snap")
        with open(os.path.join(tests_dir, f"{pid}.yaml"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        print(f"wrote {os.path.relpath(os.path.join(tests_dir, pid + '.yaml'), ROOT)}")


if __name__ == "__main__":
    main()
