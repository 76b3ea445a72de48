//! The result model: one result per (policy, resource).

use serde::Serialize;

use crate::compile::Severity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

/// One evaluated (policy, resource) pair.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub policy: String,
    pub severity: Severity,
    pub status: Status,
    pub resource: String,
    pub resource_type: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    /// 0-based YAML document index within the file (0 for single-document files).
    #[serde(skip_serializing_if = "is_zero")]
    pub document: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Finding {
    /// Output order: file, document, line, column, policy, resource — the same
    /// whatever the number of threads.
    pub fn sort_key(&self) -> (&str, usize, u32, u32, &str, &str) {
        (
            &self.file,
            self.document,
            self.line,
            self.column,
            &self.policy,
            &self.resource,
        )
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Unknown => s.unknown += 1,
            }
        }
        s
    }
}
