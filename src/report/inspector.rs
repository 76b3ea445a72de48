//! `--format inspector`: the Inspector findings the results carry, as
//! `aws inspector2 list-findings` prints them (`{"findings": [...]}`), so tools
//! that read Inspector's output read deadbolt's.
//!
//! A failing result's finding is listed as the engine made it (`ACTIVE`, or
//! `UNKNOWN` when the template leaves it open); a result suppressed by a skip,
//! waiver or baseline is `SUPPRESSED`; passing results are not listed. One
//! finding ARN is listed once, whichever policies report it. Load errors are
//! under `errors` (deadbolt's addition), so a broken input is never an empty
//! list.

use serde_json::{json, Value};

use crate::load::LoadError;
use crate::result::{Finding, Status};

fn is_inspector(f: &Value) -> bool {
    f.get("findingArn")
        .and_then(Value::as_str)
        .is_some_and(|a| a.starts_with("arn:aws:inspector2:"))
}

pub fn render(findings: &[Finding], errors: &[LoadError]) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in findings {
        let Some(finding) = f.finding.as_deref() else {
            continue;
        };
        if !is_inspector(finding) || f.status == Status::Pass {
            continue;
        }
        let arn = finding["findingArn"].as_str().unwrap_or_default();
        if !seen.insert(arn.to_string()) {
            continue;
        }
        let mut v = finding.clone();
        if f.status == Status::Skipped {
            v["status"] = json!("SUPPRESSED");
        }
        out.push(v);
    }
    let mut report = json!({ "findings": out });
    if !errors.is_empty() {
        report["errors"] =
            serde_json::to_value(crate::report::json::json_errors(errors)).unwrap_or(Value::Null);
    }
    let mut s = serde_json::to_string_pretty(&report).expect("findings serialize");
    s.push('\n');
    s
}
