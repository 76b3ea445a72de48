//! Waivers: an auditor's accepted risks, kept in a file beside the code.
//!
//! ```yaml
//! waivers:
//!   - policy: s3-bucket-sse-kms        # a policy id, or "*"
//!     resource: "module.legacy.*"      # resource id or address; * and ? globs
//!     file: "infra/legacy/*"           # optional: only in these files
//!     reason: "legacy buckets move to SSE-KMS in Q3"
//!     owner: alice@example.com
//!     expires: 2027-01-31              # after this day the waiver stops suppressing
//! ```

use crate::doc::{Pos, Value};
use crate::load::{parse_yaml, LoadError};
use crate::result::{Finding, Status};

#[derive(Clone, Debug)]
pub struct Waiver {
    pub policy: String,
    pub resource: String,
    pub file: Option<String>,
    pub reason: String,
    pub owner: String,
    pub expires: Date,
    /// Where the waiver is written (for messages).
    pub origin: String,
    pub pos: Pos,
}

/// A calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = Date {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let leap = (date.year % 4 == 0 && date.year % 100 != 0) || date.year % 400 == 0;
        let days = match date.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (date.day >= 1 && date.day <= days).then_some(date)
    }

    /// Today in UTC, or `DEADBOLT_TODAY` (YYYY-MM-DD) when set, for reproducible runs.
    pub fn today() -> Date {
        if let Some(d) = std::env::var("DEADBOLT_TODAY")
            .ok()
            .and_then(|s| Date::parse(&s))
        {
            return d;
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

const FIELDS: &[&str] = &["policy", "resource", "file", "reason", "owner", "expires"];

/// Reads a waivers file. Every problem names the file and line.
pub fn read(path: &str) -> Result<Vec<Waiver>, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(path, format!("cannot read the waivers file: {e}")))?;
    parse(path, &text)
}

pub fn parse(path: &str, text: &str) -> Result<Vec<Waiver>, LoadError> {
    let docs = parse_yaml(text, path)?;
    let root = docs.first().ok_or_else(|| {
        LoadError::file(path, "empty waivers file; expected `waivers:` with a list")
    })?;
    let list = root.get("waivers").and_then(Value::as_seq).ok_or_else(|| {
        LoadError::at(
            path,
            root.pos,
            "expected a map with `waivers:` holding a list of waivers",
        )
    })?;
    let mut out = Vec::new();
    for item in list {
        let Some(entries) = item.as_map() else {
            return Err(LoadError::at(
                path,
                item.pos,
                "expected a waiver: a map with policy, resource, reason, owner, expires",
            ));
        };
        crate::load::fields::check_keys(path, entries, FIELDS, "waiver")?;
        let text_field = |name: &str| -> Result<String, LoadError> {
            match item.entry(name) {
                Some(e) => match &e.value.node {
                    crate::doc::Node::Str(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    _ => Err(LoadError::at(
                        path,
                        e.key_pos,
                        format!("`{name}` must be a non-empty string"),
                    )),
                },
                None => Err(LoadError::at(
                    path,
                    item.pos,
                    format!("waiver without `{name}`"),
                )),
            }
        };
        let expires_entry = item.entry("expires").ok_or_else(|| {
            LoadError::at(
                path,
                item.pos,
                "waiver without `expires` (a date, YYYY-MM-DD)",
            )
        })?;
        let raw = match &expires_entry.value.node {
            crate::doc::Node::Str(s) => s.clone(),
            crate::doc::Node::Int(i) => i.to_string(),
            crate::doc::Node::Float(f) => f.to_string(),
            _ => String::new(),
        };
        let expires = Date::parse(&raw).ok_or_else(|| {
            LoadError::at(
                path,
                expires_entry.value.pos,
                format!("`expires: {raw}` is not a date; expected YYYY-MM-DD, e.g. 2027-01-31"),
            )
        })?;
        out.push(Waiver {
            policy: text_field("policy")?,
            resource: text_field("resource")?,
            file: match item.entry("file") {
                Some(_) => Some(text_field("file")?),
                None => None,
            },
            reason: text_field("reason")?,
            owner: text_field("owner")?,
            expires,
            origin: path.to_string(),
            pos: item.pos,
        });
    }
    Ok(out)
}

/// What applying waivers did, for the report.
#[derive(Debug, Default)]
pub struct WaiverOutcome {
    /// Expired waivers that matched a result (which is reported again).
    pub expired: Vec<Waiver>,
}

impl Waiver {
    fn matches(&self, f: &Finding) -> bool {
        (self.policy == "*" || self.policy == f.policy)
            && super::glob_match(&self.resource, &f.resource)
            && self
                .file
                .as_ref()
                .is_none_or(|p| super::glob_match(p, &f.file))
    }
}

/// Applies waivers to failing and unknown results.
pub fn apply(findings: &mut [Finding], waivers: &[Waiver], today: Date) -> WaiverOutcome {
    let mut outcome = WaiverOutcome::default();
    for f in findings
        .iter_mut()
        .filter(|f| matches!(f.status, Status::Fail | Status::Unknown))
    {
        let Some(w) = waivers.iter().find(|w| w.matches(f)) else {
            continue;
        };
        if w.expires < today {
            if !outcome
                .expired
                .iter()
                .any(|e| e.pos == w.pos && e.origin == w.origin)
            {
                outcome.expired.push(w.clone());
            }
            continue;
        }
        super::skip(
            f,
            format!("waived until {} by {}: {}", w.expires, w.owner, w.reason),
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            Date::parse("2027-01-31").map(|d| d.to_string()),
            Some("2027-01-31".into())
        );
        assert!(Date::parse("2027-02-30").is_none());
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("31/01/2027").is_none());
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_000).to_string(), "2024-10-04");
    }

    #[test]
    fn malformed_date_names_the_line() {
        let e = parse("w.yaml", "waivers:\n  - policy: a\n    resource: b\n    reason: c\n    owner: d\n    expires: 2027-13-01\n")
            .unwrap_err();
        assert_eq!((e.line(), e.col()), (6, 14));
        assert!(e.message.contains("not a date"), "{}", e.message);
    }

    #[test]
    fn unknown_field_is_an_error() {
        let e = parse("w.yaml", "waivers:\n  - policy: a\n    resourse: b\n").unwrap_err();
        assert_eq!(e.line(), 3);
        assert!(
            e.message.contains("did you mean `resource`"),
            "{}",
            e.message
        );
    }
}
