#!/usr/bin/env python3
"""Validate deadbolt's SARIF and JUnit reports with third-party tools.

    python tests/python/validate_reports.py --sarif out.sarif --junit out.xml \
        [--expect-failures N] [--schemas tests/schemas]

- SARIF: validated against the OASIS SARIF 2.1.0 JSON schema with `jsonschema`
  (draft-07, with the format checks the installed packages provide), then read back
  with `sarif-tools` (the `sarif` package);
- JUnit: validated against the Ant JUnit XSD with `xmlschema`, then read back with
  `junitparser`;
- both files must describe the same scan: failures = unsuppressed `kind: fail`
  results, errors = `kind: review` results (+ one per unreadable input file),
  skipped = suppressed results with the same reasons.

Each check prints `ok - ...` or `FAIL - ...`; the last line is `N passed, N failed`.
Exits 1 if any check failed, 2 if the tools are missing or a file cannot be read.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import traceback
from importlib.metadata import version
from pathlib import Path

try:
    import jsonschema
    import junitparser
    import xmlschema
    from sarif import loader as sarif_loader
except ImportError as e:  # pragma: no cover - environment problem
    print(f"missing a tool ({e}); pip install -r tests/python/requirements.txt", file=sys.stderr)
    sys.exit(2)

INPUTS_SUITE = "deadbolt.inputs"


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok - {name}")
        else:
            self.failed += 1
            print(f"FAIL - {name}" + (f": {detail}" if detail else ""))
        return ok

    def run(self, name: str, fn) -> None:
        """A check whose function raises (AssertionError or anything else) to fail."""
        try:
            detail = fn()
        except Exception as e:  # noqa: BLE001 - every error is a failed check
            self.check(name, False, f"{type(e).__name__}: {e}")
            traceback.print_exc(limit=2, file=sys.stdout)
        else:
            self.check(name + (f" ({detail})" if detail else ""), True)


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sarif", required=True, type=Path)
    ap.add_argument("--junit", required=True, type=Path)
    ap.add_argument("--expect-failures", type=int, default=None,
                    help="the number of failed (policy, resource) results the scan produced")
    ap.add_argument("--schemas", type=Path, default=here.parent / "schemas",
                    help="directory with sarif-schema-2.1.0.json and junit.xsd")
    args = ap.parse_args()

    try:
        sarif_log = json.loads(args.sarif.read_text(encoding="utf-8"))
        sarif_schema = json.loads((args.schemas / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"cannot read the SARIF log or its schema: {e}", file=sys.stderr)
        return 2

    c = Checks()

    # ---- SARIF ------------------------------------------------------------------
    def sarif_schema_valid():
        cls = jsonschema.Draft7Validator
        cls.check_schema(sarif_schema)
        validator = cls(sarif_schema, format_checker=cls.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(sarif_log), key=lambda e: list(e.absolute_path))
        assert not errors, "; ".join(
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
        return f"jsonschema {version('jsonschema')}"

    c.run("SARIF is valid against the SARIF 2.1.0 schema", sarif_schema_valid)

    run = sarif_log["runs"][0]
    results = run.get("results", [])
    rules = run["tool"]["driver"].get("rules", [])
    suppressed = [r for r in results if r.get("suppressions")]
    sarif_fail = [r for r in results if r.get("kind", "fail") == "fail" and not r.get("suppressions")]
    sarif_review = [r for r in results if r.get("kind") == "review"]
    notifications = run.get("invocations", [{}])[0].get("toolExecutionNotifications", [])

    def sarif_consistent():
        ids = [r["id"] for r in rules]
        assert ids == sorted(ids), "rules are sorted by id"
        for r in results:
            assert rules[r["ruleIndex"]]["id"] == r["ruleId"], f"ruleIndex of {r['ruleId']}"
            if r.get("kind", "fail") != "fail":
                assert r.get("level", "none") == "none", "SARIF 3.27.10: kind other than fail has level none"
            fp = r.get("partialFingerprints", {}).get("deadbolt/v1")
            assert fp, "a deadbolt/v1 partial fingerprint"
            region = r["locations"][0]["physicalLocation"].get("region")
            if region:
                assert region["startLine"] >= 1 and region.get("startColumn", 1) >= 1
        fps = [r["partialFingerprints"]["deadbolt/v1"] for r in results]
        assert len(fps) == len(set(fps)), "fingerprints are unique"
        return f"{len(results)} results, {len(rules)} rules"

    c.run("SARIF results refer to their rules and keep the spec's kind/level rules", sarif_consistent)

    def sarif_tools_reads():
        files = sarif_loader.load_sarif_files(str(args.sarif))
        assert len(files) == 1
        assert files.get_distinct_tool_names() == ["deadbolt"], files.get_distinct_tool_names()
        assert files.get_result_count() == len(results)
        report = files.get_report()
        counts = {s: report.get_issue_count_for_severity(s) for s in ("error", "warning", "note", "none")}
        # sarif-tools ignores suppressions, so skipped results count at their level;
        # unknowns (kind review) are level none.
        assert counts["none"] == len(sarif_review), counts
        assert counts["error"] + counts["warning"] + counts["note"] == len(sarif_fail) + len(suppressed), counts
        for rec in files.get_records():
            assert rec["Tool"] == "deadbolt" and rec["Location"] != "-" and int(rec["Line"]) >= 1, rec
        return ", ".join(f"{k} {v}" for k, v in counts.items())

    c.run("sarif-tools reads the SARIF log", sarif_tools_reads)

    # ---- JUnit ------------------------------------------------------------------
    def junit_xsd_valid():
        schema = xmlschema.XMLSchema10(str(args.schemas / "junit.xsd"))
        errors = list(schema.iter_errors(str(args.junit)))
        assert not errors, "; ".join(f"{e.path}: {e.reason}" for e in errors[:5])
        return f"xmlschema {version('xmlschema')}"

    c.run("JUnit is valid against the Ant JUnit XSD", junit_xsd_valid)

    junit = {}

    def junitparser_reads():
        xml = junitparser.JUnitXml.fromfile(str(args.junit))
        suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
        tally = collections.Counter()
        skipped_reasons = []
        for suite in suites:
            inputs = suite.name == INPUTS_SUITE
            own = collections.Counter()
            for case in suite:
                kinds = [type(r).__name__ for r in case.result]
                assert len(kinds) <= 1, f"{case.name}: {kinds}"
                kind = kinds[0] if kinds else "Pass"
                own[kind] += 1
                tally[("inputs" if inputs else "policies", kind)] += 1
                if kind == "Skipped":
                    skipped_reasons.append(case.result[0].message)
                if kind == "Failure":
                    assert case.result[0].type and case.result[0].message, case.name
                    assert case.result[0].text and ":" in case.result[0].text, "failure text has file:line"
            # The suite's attributes agree with its test cases.
            assert suite.tests == sum(own.values()), suite.name
            assert suite.failures == own["Failure"], suite.name
            assert suite.errors == own["Error"], suite.name
            assert suite.skipped == own["Skipped"], suite.name
        junit.update(tally=tally, skipped=skipped_reasons, suites=suites)
        return f"{len(suites)} suites, {sum(tally.values())} test cases"

    c.run("junitparser reads the JUnit report", junitparser_reads)

    # ---- the two agree ------------------------------------------------------------
    if junit:
        t = junit["tally"]
        c.check("JUnit failures = SARIF failing results",
                t[("policies", "Failure")] == len(sarif_fail),
                f"{t[('policies', 'Failure')]} != {len(sarif_fail)}")
        c.check("JUnit errors = SARIF review results (unknowns)",
                t[("policies", "Error")] == len(sarif_review),
                f"{t[('policies', 'Error')]} != {len(sarif_review)}")
        justifications = sorted(s["justification"] for r in suppressed for s in r["suppressions"])
        c.check("JUnit skipped = SARIF suppressed results, with the same reasons",
                sorted(junit["skipped"]) == justifications,
                f"{sorted(junit['skipped'])} != {justifications}")
        error_files = {
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notifications
        }
        c.check("one JUnit input error per file with SARIF load-error notifications",
                t[("inputs", "Error")] == len(error_files)
                and run["invocations"][0]["executionSuccessful"] == (not notifications),
                f"{t[('inputs', 'Error')]} != {len(error_files)}")

    if args.expect_failures is not None:
        n = args.expect_failures
        c.check(f"SARIF has {n} failing results", len(sarif_fail) == n, str(len(sarif_fail)))
        if junit:
            got = junit["tally"][("policies", "Failure")]
            c.check(f"JUnit has {n} failures", got == n, str(got))

    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
