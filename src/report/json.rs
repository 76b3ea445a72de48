//! `--format json`: the stable, versioned result schema (see README).

use serde::Serialize;

use crate::load::LoadError;
use crate::result::{Finding, Summary};

/// A load error in JSON reports (scan and diff share the shape).
#[derive(Serialize)]
pub struct JsonError<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    results: &'a [Finding],
    summary: Summary,
    errors: Vec<JsonError<'a>>,
}

pub fn render(findings: &[Finding], errors: &[LoadError]) -> String {
    let report = JsonReport {
        version: 1,
        results: findings,
        summary: Summary::of(findings),
        errors: json_errors(errors),
    };
    let mut s = serde_json::to_string_pretty(&report).expect("findings serialize");
    s.push('\n');
    s
}

/// Load errors as they appear under `errors` in the JSON reports.
pub fn json_errors(errors: &[LoadError]) -> Vec<JsonError<'_>> {
    errors
        .iter()
        .map(|e| JsonError {
            file: &e.path,
            // A file-level error (missing, binary) is reported at 1:1, so every
            // entry has a position that tools can jump to.
            line: Some(e.pos.map_or(1, |p| p.line)),
            column: Some(e.pos.map_or(1, |p| p.col)),
            message: &e.message,
        })
        .collect()
}
