//! `--format inspector`: the Inspector findings the results carry, as
//! `aws inspector2 list-findings` prints them (`{"findings": [...]}`), so tools
//! that read Inspector's output read deadbolt's.
//!
//! A failing result's finding is listed as the engine made it (`ACTIVE`, or
//! `UNKNOWN` when the template leaves it open); a result suppressed by a skip,
//! waiver or baseline is `SUPPRESSED`; passing results are not listed. One
//! finding ARN is listed once, whichever policies report it. deadbolt's
//! additions sit beside `findings`, only when there is something to say:
//! `unknown` lists the results of Inspector policies (those that call
//! `reachable` or `vulnerabilities`) that could not decide and carry no finding
//! (no inventory or advisories given, an entry without an OS, a network the
//! template leaves open), and `errors` lists inputs that could not be read — so
//! a missing input is never an empty, passing `findings`.

use serde_json::{json, Value};

use crate::compile::ir::{Func, Policy};
use crate::load::LoadError;
use crate::result::{Finding, Status};

/// Whether a policy uses the Inspector engines.
pub fn is_inspector_policy(p: &Policy) -> bool {
    p.calls(&|f| matches!(f, Func::Reachable | Func::Vulnerabilities))
}

fn is_inspector(f: &Value) -> bool {
    f.get("findingArn")
        .and_then(Value::as_str)
        .is_some_and(|a| a.starts_with("arn:aws:inspector2:"))
}

pub fn render(findings: &[Finding], policies: &[Policy], errors: &[LoadError]) -> String {
    let inspector_policies: std::collections::HashSet<&str> = policies
        .iter()
        .filter(|p| is_inspector_policy(p))
        .map(|p| p.id.as_str())
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for f in findings {
        let finding = f.finding.as_deref().filter(|x| is_inspector(x));
        let Some(finding) = finding else {
            if f.status == Status::Unknown && inspector_policies.contains(f.policy.as_str()) {
                unknown.push(json!({
                    "policy": f.policy,
                    "resource": f.resource,
                    "resource_type": f.resource_type,
                    "file": f.file,
                    "line": f.line,
                    "message": f.message,
                }));
            }
            continue;
        };
        if f.status == Status::Pass {
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
    if !unknown.is_empty() {
        report["unknown"] = Value::Array(unknown);
    }
    if !errors.is_empty() {
        report["errors"] =
            serde_json::to_value(crate::report::json::json_errors(errors)).unwrap_or(Value::Null);
    }
    let mut s = serde_json::to_string_pretty(&report).expect("findings serialize");
    s.push('\n');
    s
}
