//! The result model: one result per (policy, resource).

use serde::Serialize;

use crate::compile::Severity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
    /// Suppressed by an inline skip, a waiver or a baseline; `skip_reason` says why.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            "unknown" => Status::Unknown,
            "skipped" => Status::Skipped,
            _ => return None,
        })
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
    /// Why a skipped result was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Stable identity of the (policy, resource) pair that survives line shifts:
    /// used by baselines and SARIF `partialFingerprints`.
    pub fingerprint: String,
    /// Which `require` (block, statement) decided a fail or unknown; for coverage.
    #[serde(skip)]
    pub clause: Option<(usize, usize)>,
    /// Distinguishes several results of one (policy, resource): a detection's
    /// group and episode, an open port range, an advisory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The result in the shape of the AWS service deadbolt stands in for: a
    /// GuardDuty finding for detections, an Inspector finding for reachability
    /// and package checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<Box<serde_json::Value>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The fingerprint of a (policy, file, document, resource) — FNV-1a, so it is the
/// same on every machine and every run (unlike std's randomised hashers).
pub fn fingerprint(policy: &str, file: &str, document: usize, resource: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let doc = document.to_string();
    for part in [policy, file, &doc, resource] {
        for b in part.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

impl Finding {
    /// Output order: file, document, line, column, policy, resource, key — the
    /// same whatever the number of threads.
    pub fn sort_key(&self) -> (&str, usize, u32, u32, &str, &str, &str) {
        (
            &self.file,
            self.document,
            self.line,
            self.column,
            &self.policy,
            &self.resource,
            self.key.as_deref().unwrap_or(""),
        )
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Unknown => s.unknown += 1,
                Status::Skipped => s.skipped += 1,
            }
        }
        s
    }
}
