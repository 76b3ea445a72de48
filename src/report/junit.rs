//! `--format junit`: JUnit XML valid against the Apache Ant JUnit schema
//! (`tests/schemas/junit.xsd`), the dialect CI servers read.
//!
//! Layout: `<testsuites>` with one `<testsuite>` per policy (sorted by id, name =
//! policy id, also those that evaluated no resource, so a report shows what ran)
//! and one `<testcase>` per evaluated (policy, resource):
//!
//! - `classname` is the policy id; `name` is `RESOURCE (FILE)`, with
//!   ` document N` (1-based) added for the second and later YAML documents of a
//!   file. Lines are left out of the name on purpose: a test's identity must not
//!   change when lines move, or CI test history breaks (the same reason SARIF
//!   fingerprints leave lines out). The line and column are in the body.
//! - pass: a plain `<testcase/>`.
//! - fail: `<failure type="SEVERITY" message="MESSAGE">FILE:LINE:COL: MESSAGE ...</failure>`.
//! - unknown: `<error type="unknown" message="...">`. An unknown is not a pass, so
//!   it must not look like one (a `<skipped>` is shown as harmless by most CI
//!   servers), and it is not a proven failure either. JUnit's `error` ("the test
//!   could not reach a verdict") is that, and it keeps the four statuses
//!   apart: failures = fail, errors = unknown (+ load errors), skipped = skipped.
//! - skipped: `<skipped message="REASON">FILE:LINE:COL: MESSAGE</skipped>`.
//!
//! Inputs that could not be loaded form a first suite, `deadbolt.inputs`, with one
//! `<error type="load-error">` test case per file listing all its errors.
//!
//! Each policy's suite carries its metadata as `<properties>` and its title,
//! description, remediation and references in `<system-out>`.
//!
//! The schema requires a few things the findings do not have: every `time` is
//! `0` (deadbolt does not time single evaluations); `timestamp` is the UTC time of
//! the run without a zone, or `SOURCE_DATE_EPOCH` when set, for reproducible
//! reports; `hostname` is the machine's, else `localhost`. Tests pin both with
//! [`render_with`].
//!
//! Why not the `junit-report` crate: it cannot write Ant-valid XML. It never
//! writes the required `<properties>`, `<system-out>` and `<system-err>`; its
//! timestamp is RFC 3339 with an offset, which the schema's pattern rejects; and a
//! skipped test with a message gets a `type` attribute the schema does not allow
//! (without it, the reason is lost). The XML here is small and written by hand
//! with full escaping.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::compile::Policy;
use crate::load::LoadError;
use crate::result::{Finding, Status};

/// Name of the suite that lists inputs that could not be loaded.
pub const INPUTS_SUITE: &str = "deadbolt.inputs";

/// What the schema requires that is not in the findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JunitOptions {
    /// `YYYY-MM-DDTHH:MM:SS` (UTC, no zone: the schema's pattern allows none).
    pub timestamp: String,
    /// Host the scan ran on; `localhost` when it cannot be determined.
    pub hostname: String,
}

impl JunitOptions {
    /// The current time (or `SOURCE_DATE_EPOCH`, for reproducible reports) and the
    /// machine's host name.
    pub fn from_env() -> Self {
        let secs = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
            });
        JunitOptions {
            timestamp: timestamp_utc(secs),
            hostname: hostname(),
        }
    }
}

/// Renders findings as Ant JUnit XML, timestamped now (see [`JunitOptions::from_env`]).
pub fn render(findings: &[Finding], policies: &[Policy], errors: &[LoadError]) -> String {
    render_with(findings, policies, errors, &JunitOptions::from_env())
}

/// Renders findings as Ant JUnit XML with an explicit timestamp and host name.
pub fn render_with(
    findings: &[Finding],
    policies: &[Policy],
    errors: &[LoadError],
    opts: &JunitOptions,
) -> String {
    let mut suites: Vec<Suite> = Vec::new();

    if !errors.is_empty() {
        let mut by_file: BTreeMap<&str, Vec<&LoadError>> = BTreeMap::new();
        for e in errors {
            by_file.entry(e.path.as_str()).or_default().push(e);
        }
        let cases = by_file
            .into_iter()
            .map(|(file, list)| {
                let message = if list.len() == 1 {
                    list[0].message.clone()
                } else {
                    format!("{} (and {} more errors)", list[0].message, list.len() - 1)
                };
                let body: Vec<String> = list.iter().map(|e| e.to_string()).collect();
                Case {
                    name: file.to_string(),
                    classname: INPUTS_SUITE.to_string(),
                    outcome: Outcome::Error {
                        kind: "load-error".to_string(),
                        message,
                        body: body.join("\n"),
                    },
                }
            })
            .collect();
        suites.push(Suite {
            name: INPUTS_SUITE.to_string(),
            properties: Vec::new(),
            system_out: "Inputs that could not be loaded; the rest of the scan ran.\n".to_string(),
            cases,
        });
    }

    let meta: BTreeMap<&str, &Policy> = policies.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut by_policy: BTreeMap<&str, Vec<&Finding>> =
        meta.keys().map(|id| (*id, Vec::new())).collect();
    for f in findings {
        by_policy.entry(f.policy.as_str()).or_default().push(f);
    }
    for (id, list) in by_policy {
        let policy = meta.get(id).copied();
        suites.push(Suite {
            name: id.to_string(),
            properties: policy.map_or_else(
                || {
                    list.first().map_or_else(Vec::new, |f| {
                        vec![("severity".to_string(), f.severity.as_str().to_string())]
                    })
                },
                policy_properties,
            ),
            system_out: policy.map_or_else(
                || format!("Run `deadbolt explain {id}`.\n"),
                policy_description,
            ),
            cases: list
                .iter()
                .map(|f| Case {
                    name: case_name(f),
                    classname: f.policy.clone(),
                    outcome: outcome(f, policy),
                })
                .collect(),
        });
    }

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (id, suite) in suites.iter().enumerate() {
        suite.write(&mut out, id, opts);
    }
    out.push_str("</testsuites>\n");
    out
}

/// `RESOURCE (FILE)`, or `RESOURCE (FILE document N)` past the first YAML document.
pub fn case_name(f: &Finding) -> String {
    if f.document > 0 {
        format!("{} ({} document {})", f.resource, f.file, f.document + 1)
    } else {
        format!("{} ({})", f.resource, f.file)
    }
}

/// `file:line:col`, dropping the parts that are unknown (0).
fn location(f: &Finding) -> String {
    match (f.line, f.column) {
        (0, _) => f.file.clone(),
        (l, 0) => format!("{}:{l}", f.file),
        (l, c) => format!("{}:{l}:{c}", f.file),
    }
}

fn outcome(f: &Finding, policy: Option<&Policy>) -> Outcome {
    let mut body = format!(
        "{}: {}\nresource: {} ({})",
        location(f),
        f.message,
        f.resource,
        f.resource_type
    );
    match f.status {
        Status::Pass => Outcome::Pass,
        Status::Fail => {
            if let Some(p) = policy.filter(|p| !p.remediation.trim().is_empty()) {
                body.push_str("\nremediation: ");
                body.push_str(&p.remediation);
            }
            Outcome::Failure {
                kind: f.severity.as_str().to_string(),
                message: f.message.clone(),
                body,
            }
        }
        Status::Unknown => Outcome::Error {
            kind: "unknown".to_string(),
            message: f.message.clone(),
            body,
        },
        Status::Skipped => Outcome::Skipped {
            message: f
                .skip_reason
                .clone()
                .unwrap_or_else(|| "no reason given".to_string()),
            body,
        },
    }
}

fn policy_properties(p: &Policy) -> Vec<(String, String)> {
    let mut props = vec![
        ("title".to_string(), p.title.clone()),
        ("severity".to_string(), p.severity.as_str().to_string()),
        ("source".to_string(), p.file.clone()),
    ];
    props.extend(
        p.controls
            .iter()
            .map(|c| ("control".to_string(), c.clone())),
    );
    props.extend(p.tags.iter().map(|t| ("tag".to_string(), t.clone())));
    props.extend(
        p.references
            .iter()
            .map(|r| ("reference".to_string(), r.clone())),
    );
    props
}

fn policy_description(p: &Policy) -> String {
    let mut s = format!("{}: {}\n", p.id, p.title);
    if !p.description.trim().is_empty() {
        s.push_str(p.description.trim_end());
        s.push('\n');
    }
    if !p.remediation.trim().is_empty() {
        s.push_str("Remediation: ");
        s.push_str(p.remediation.trim_end());
        s.push('\n');
    }
    for r in &p.references {
        s.push_str("Reference: ");
        s.push_str(r);
        s.push('\n');
    }
    s
}

struct Suite {
    name: String,
    properties: Vec<(String, String)>,
    system_out: String,
    cases: Vec<Case>,
}

struct Case {
    name: String,
    classname: String,
    outcome: Outcome,
}

enum Outcome {
    Pass,
    Failure {
        kind: String,
        message: String,
        body: String,
    },
    Error {
        kind: String,
        message: String,
        body: String,
    },
    Skipped {
        message: String,
        body: String,
    },
}

impl Suite {
    fn write(&self, out: &mut String, id: usize, opts: &JunitOptions) {
        let count =
            |pred: fn(&Outcome) -> bool| self.cases.iter().filter(|c| pred(&c.outcome)).count();
        let failures = count(|o| matches!(o, Outcome::Failure { .. }));
        let errors = count(|o| matches!(o, Outcome::Error { .. }));
        let skipped = count(|o| matches!(o, Outcome::Skipped { .. }));
        let _ = writeln!(
            out,
            "  <testsuite id=\"{id}\" package=\"deadbolt\" name=\"{}\" timestamp=\"{}\" \
             hostname=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" \
             skipped=\"{skipped}\" time=\"0\">",
            attr(&self.name),
            attr(&opts.timestamp),
            attr(&opts.hostname),
            self.cases.len(),
        );
        if self.properties.is_empty() {
            out.push_str("    <properties/>\n");
        } else {
            out.push_str("    <properties>\n");
            for (name, value) in &self.properties {
                let _ = writeln!(
                    out,
                    "      <property name=\"{}\" value=\"{}\"/>",
                    attr(name),
                    attr(value)
                );
            }
            out.push_str("    </properties>\n");
        }
        for case in &self.cases {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
                attr(&case.name),
                attr(&case.classname)
            );
            match &case.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Failure {
                    kind,
                    message,
                    body,
                } => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                        attr(kind),
                        attr(message),
                        text(body)
                    );
                }
                Outcome::Error {
                    kind,
                    message,
                    body,
                } => {
                    let _ = writeln!(
                        out,
                        ">\n      <error type=\"{}\" message=\"{}\">{}</error>\n    </testcase>",
                        attr(kind),
                        attr(message),
                        text(body)
                    );
                }
                Outcome::Skipped { message, body } => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\">{}</skipped>\n    </testcase>",
                        attr(message),
                        text(body)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "    <system-out>{}</system-out>",
            text(&self.system_out)
        );
        out.push_str("    <system-err/>\n  </testsuite>\n");
    }
}

/// Whether XML 1.0 allows this character at all (even as a character reference).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes an attribute value. Tabs and line breaks become character references,
/// since a parser would otherwise normalise them to spaces.
pub fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Escapes character data. `\r` becomes a reference so that it survives parsing.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of seconds since the Unix epoch.
pub fn timestamp_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn hostname() -> String {
    let candidates = [
        std::env::var("HOSTNAME").ok(),
        std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
        std::fs::read_to_string("/etc/hostname").ok(),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_no_zone() {
        assert_eq!(timestamp_utc(0), "1970-01-01T00:00:00");
        assert_eq!(timestamp_utc(951_825_600), "2000-02-29T12:00:00");
        assert_eq!(timestamp_utc(1_700_000_000), "2023-11-14T22:13:20");
    }

    #[test]
    fn escaping() {
        assert_eq!(attr("a\"<b>&\n\t"), "a&quot;&lt;b&gt;&amp;&#10;&#9;");
        assert_eq!(text("]]> & <x>\r\n"), "]]&gt; &amp; &lt;x&gt;&#13;\n");
        assert_eq!(text("bell\u{7}"), "bell\u{FFFD}");
    }
}
