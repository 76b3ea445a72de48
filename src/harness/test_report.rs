//! Output of `deadbolt test`: human text (with diffs) and JUnit XML.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::test::{CaseResult, Outcome, PolicyCoverage, TestRun};
use crate::report::junit::{attr, text};

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Cases grouped by file, failures with their diffs, then the summary line
/// `N passed, N failed` (alone on its line, as CI runners expect).
pub fn render_human(run: &TestRun, color: bool, verbose: bool) -> String {
    let mut out = String::new();
    let mut by_file: BTreeMap<&PathBuf, Vec<&CaseResult>> = BTreeMap::new();
    for r in &run.results {
        by_file.entry(&r.file).or_default().push(r);
    }
    for (file, cases) in by_file {
        let all_passed = cases.iter().all(|c| c.outcome == Outcome::Passed);
        if all_passed && !verbose {
            out.push_str(&format!(
                "{} {} ({} case{})\n",
                paint(color, "32", "✓"),
                file.display(),
                cases.len(),
                if cases.len() == 1 { "" } else { "s" }
            ));
            continue;
        }
        out.push_str(&format!(
            "{}\n",
            paint(color, "1", &file.display().to_string())
        ));
        for c in cases {
            match &c.outcome {
                Outcome::Passed => {
                    out.push_str(&format!("  {} {}\n", paint(color, "32", "✓"), c.name))
                }
                Outcome::Failed(problems) => {
                    out.push_str(&format!(
                        "  {} {} ({}:{})\n",
                        paint(color, "31", "✗"),
                        c.name,
                        file.display(),
                        c.line
                    ));
                    for p in problems {
                        for (i, line) in p.lines().enumerate() {
                            let styled = match line.chars().next() {
                                Some('+') if i > 0 && !line.starts_with("+++") => {
                                    paint(color, "32", line)
                                }
                                Some('-') if i > 0 && !line.starts_with("---") => {
                                    paint(color, "31", line)
                                }
                                _ => line.to_string(),
                            };
                            out.push_str(&format!("      {styled}\n"));
                        }
                    }
                }
                Outcome::NewSnapshot { path, written } => {
                    let what = if *written {
                        "written".to_string()
                    } else {
                        "not written; review it, then run `deadbolt test --update`".to_string()
                    };
                    out.push_str(&format!(
                        "  {} {} — new snapshot {} ({what})\n",
                        paint(color, "33", "+"),
                        c.name,
                        path.display()
                    ));
                }
                Outcome::Updated { path, diff } => {
                    out.push_str(&format!(
                        "  {} {} — snapshot {} updated:\n",
                        paint(color, "33", "~"),
                        c.name,
                        path.display()
                    ));
                    for line in diff.lines() {
                        out.push_str(&format!("      {line}\n"));
                    }
                }
            }
        }
    }
    // Each warning reads `file:line:col: warning[code]: ...` already.
    for w in &run.warnings {
        out.push_str(&format!("{}\n", paint(color, "33", w)));
    }
    for e in &run.errors {
        out.push_str(&format!("{} {e}\n", paint(color, "1;31", "error:")));
    }
    let new = run.new_snapshots();
    if new > 0 {
        out.push_str(&format!(
            "{new} new snapshot{} not written (run with --update to write)\n",
            if new == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&format!(
        "{} passed, {} failed\n",
        run.passed(),
        run.failed()
    ));
    out
}

/// The coverage table: policies without a passing or failing case, and `require`
/// clauses that never decided a result.
pub fn render_coverage(coverage: &[PolicyCoverage], color: bool) -> String {
    let mut out = String::from("coverage:\n");
    let width = coverage.iter().map(|c| c.policy.len()).max().unwrap_or(0);
    let mark = |b: bool| {
        if b {
            paint(color, "32", "yes")
        } else {
            paint(color, "31", "no ")
        }
    };
    for c in coverage {
        out.push_str(&format!(
            "  {:<width$}  pass case: {}  fail case: {}\n",
            c.policy,
            mark(c.pass),
            mark(c.fail)
        ));
        for clause in &c.undecided_clauses {
            out.push_str(&format!(
                "  {:<width$}    never the deciding clause: {clause}\n",
                ""
            ));
        }
    }
    let untested = coverage.iter().filter(|c| !c.tested()).count();
    out.push_str(&format!(
        "{} of {} policies have both a passing and a failing case\n",
        coverage.len() - untested,
        coverage.len()
    ));
    out
}

/// One `testsuite` per test file, one `testcase` per case.
pub fn render_junit(run: &TestRun) -> String {
    let mut by_file: BTreeMap<&PathBuf, Vec<&CaseResult>> = BTreeMap::new();
    for r in &run.results {
        by_file.entry(&r.file).or_default().push(r);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (id, (file, cases)) in by_file.iter().enumerate() {
        let failures = cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
            .count();
        let skipped = cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::NewSnapshot { written: false, .. }))
            .count();
        let name = attr(&file.display().to_string());
        out.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"0\" timestamp=\"1970-01-01T00:00:00\" hostname=\"localhost\" id=\"{id}\" package=\"deadbolt\">\n    <properties/>\n",
            cases.len()
        ));
        for c in cases {
            let case_name = attr(&c.name);
            out.push_str(&format!(
                "    <testcase name=\"{case_name}\" classname=\"{name}\" time=\"0\""
            ));
            match &c.outcome {
                Outcome::Failed(problems) => {
                    let first = problems
                        .first()
                        .map(|p| p.lines().next().unwrap_or(""))
                        .unwrap_or("");
                    out.push_str(&format!(
                        ">\n      <failure message=\"{}\" type=\"expectation\">{}</failure>\n    </testcase>\n",
                        attr(first),
                        text(&problems.join("\n"))
                    ));
                }
                Outcome::NewSnapshot {
                    written: false,
                    path,
                } => {
                    out.push_str(&format!(
                        ">\n      <skipped message=\"new snapshot {} not written\"/>\n    </testcase>\n",
                        attr(&path.display().to_string())
                    ));
                }
                _ => out.push_str("/>\n"),
            }
        }
        out.push_str("    <system-out/>\n    <system-err/>\n  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
