//! `--format guardduty`: the GuardDuty findings that detections raised, in the
//! shape of GuardDuty's `GetFindings` response (`{"findings": [...]}`, the REST
//! API's camelCase, as EventBridge and S3 exports carry them), so tools that
//! read GuardDuty's output read deadbolt's.
//!
//! Failing detection results are listed; a result suppressed by a waiver or a
//! baseline is listed with `service.archived: true` (GuardDuty's word for a
//! suppressed finding). deadbolt's additions sit beside `findings` and only when
//! there is something to say: `unknown` lists detections that could not decide
//! (a threat list not given, a log without the fields a detection reads), and
//! `errors` lists inputs that could not be read — so a broken input or a missing
//! list is never an empty, passing `findings`.

use serde_json::{json, Value};

use crate::compile::ir::Detection;
use crate::load::LoadError;
use crate::result::{Finding, Status};

fn is_guardduty(f: &Value) -> bool {
    f.get("service")
        .and_then(|s| s.get("serviceName"))
        .and_then(Value::as_str)
        == Some("guardduty")
}

pub fn render(findings: &[Finding], detections: &[Detection], errors: &[LoadError]) -> String {
    let is_detection = |id: &str| detections.iter().any(|d| d.id == id);
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for f in findings {
        let gd = f.finding.as_deref().filter(|g| is_guardduty(g));
        match (f.status, gd) {
            (Status::Fail, Some(g)) => out.push(g.clone()),
            (Status::Skipped, Some(g)) => {
                let mut g = g.clone();
                g["service"]["archived"] = json!(true);
                out.push(g);
            }
            // A detection's unknown has no finding: it says why it could not decide.
            (Status::Unknown, None) if is_detection(&f.policy) => unknown.push(json!({
                "detection": f.policy,
                "resource": f.resource,
                "file": f.file,
                "message": f.message,
            })),
            _ => {}
        }
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
