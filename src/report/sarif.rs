//! `--format sarif`: SARIF 2.1.0, valid against the official OASIS JSON schema
//! (`tests/schemas/sarif-schema-2.1.0.json`) and shaped for GitHub code scanning.
//!
//! One run. `tool.driver.rules` holds every policy that produced a result (sorted by
//! id), with its description, help (remediation, controls, references),
//! `security-severity` and tags. Results map the statuses like this:
//!
//! | status  | `kind`   | `level`                                   | notes |
//! |---------|----------|-------------------------------------------|-------|
//! | fail    | `fail`   | error (critical, high), warning (medium), note (low, info) | |
//! | unknown | `review` | `none`                                    | SARIF §3.27.10: when `kind` is not `fail`, `level` SHALL be `none`; `review` is SARIF's "a human must decide" |
//! | skipped | `fail`   | as for fail                               | with `suppressions: [{kind, status: accepted, justification: reason}]` |
//! | pass    | `pass`   | `none`                                    | only with [`SarifOptions::include_passes`] |
//!
//! Passes are left out by default. SARIF is a defect report: GitHub code scanning
//! has no use for them (the alerts of a fixed problem close because its fingerprint
//! is absent from the next upload, not because of a pass result), viewers list them
//! as noise, and a large tree has far more passes than failures, which eats into
//! upload limits (GitHub takes at most 25,000 results per run). The count of passes
//! is kept in `runs[0].properties.summary`; the JSON and JUnit formats list every pass.
//!
//! A skipped result was a fail or an unknown that an inline skip, a waiver or a
//! baseline suppressed (`suppress::*` only skips those). It is reported with its
//! original severity and a suppression; the suppression's kind is `inSource` for
//! an inline skip in the template (reason `inline skip: ...`) and `external` for
//! waivers and baselines.
//!
//! Locations: the file as given (forward slashes, percent-encoded as a URI
//! reference) relative to `%SRCROOT%`, or a `file://` URI for an absolute path; a
//! 1-based region (none when the line is unknown); columns count Unicode code
//! points (`columnKind`), as the loaders do. The resource is a logical location.
//! `partialFingerprints["deadbolt/v1"]` is [`Finding::fingerprint`], which hashes
//! policy, file, YAML document and resource, so it survives line shifts.
//!
//! Load errors become `invocations[0].toolExecutionNotifications` (level `error`);
//! `executionSuccessful` is false when there are any.
//!
//! The output is built from structs, not maps, so key order is fixed whatever
//! features `serde_json` is compiled with.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compile::{Policy, Severity};
use crate::load::LoadError;
use crate::result::{Finding, Status, Summary};

/// The `$schema` written into every log.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of deadbolt's entry in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "deadbolt/v1";

/// Options of the SARIF renderer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SarifOptions {
    /// Also emit passing results (`kind: pass`, `level: none`).
    pub include_passes: bool,
}

/// Renders findings as a SARIF 2.1.0 log (pretty JSON, trailing newline), leaving
/// passes out (see the module documentation).
pub fn render(findings: &[Finding], policies: &[Policy], errors: &[LoadError]) -> String {
    render_with(findings, policies, errors, &SarifOptions::default())
}

/// Renders findings as a SARIF 2.1.0 log with explicit options.
pub fn render_with(
    findings: &[Finding],
    policies: &[Policy],
    errors: &[LoadError],
    opts: &SarifOptions,
) -> String {
    let by_id: BTreeMap<&str, &Policy> = policies.iter().map(|p| (p.id.as_str(), p)).collect();
    // Every policy that produced a result, sorted by id; a finding whose policy is
    // not in `policies` still gets a (minimal) rule so that ruleIndex is valid.
    let mut first_finding: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in findings {
        first_finding.entry(f.policy.as_str()).or_insert(f);
    }
    let rule_ids: Vec<&str> = first_finding.keys().copied().collect();
    let rule_index: BTreeMap<&str, usize> = rule_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let rules = rule_ids
        .iter()
        .map(|id| match by_id.get(id) {
            Some(p) => rule_of_policy(p),
            None => rule_of_finding(first_finding[id]),
        })
        .collect();

    let results = findings
        .iter()
        .filter(|f| opts.include_passes || f.status != Status::Pass)
        .map(|f| result_of(f, rule_index[f.policy.as_str()]))
        .collect();

    let notifications = errors
        .iter()
        .map(|e| Notification {
            level: "error",
            message: Message {
                text: e.message.clone(),
            },
            locations: vec![NotificationLocation {
                physical_location: PhysicalLocation {
                    artifact_location: artifact_location(&e.path),
                    region: region(e.line(), e.col()),
                },
            }],
            descriptor: ReportingDescriptorReference {
                id: "deadbolt/load-error",
            },
        })
        .collect();

    let summary = Summary::of(findings);
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "deadbolt",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            invocations: vec![Invocation {
                execution_successful: errors.is_empty(),
                tool_execution_notifications: notifications,
            }],
            original_uri_base_ids: OriginalUriBaseIds {
                src_root: UriBase {
                    description: Message {
                        text: "The directory deadbolt was run from; result paths are \
                               relative to it."
                            .to_string(),
                    },
                },
            },
            column_kind: "unicodeCodePoints",
            results,
            properties: RunProperties {
                summary: RunSummary {
                    pass: summary.pass,
                    fail: summary.fail,
                    unknown: summary.unknown,
                    skipped: summary.skipped,
                },
            },
        }],
    };
    let mut s = serde_json::to_string_pretty(&log).expect("a SARIF log serializes");
    s.push('\n');
    s
}

/// GitHub's `security-severity` (a CVSS-like score) of a severity.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.0",
        Severity::High => "7.0",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The SARIF `level` of a failure of this severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn rule_of_policy(p: &Policy) -> Rule {
    let title = if p.title.trim().is_empty() {
        p.id.clone()
    } else {
        p.title.clone()
    };
    let full = if p.description.trim().is_empty() {
        title.clone()
    } else {
        p.description.clone()
    };
    let mut tags: Vec<String> = Vec::new();
    for t in std::iter::once("security")
        .chain(p.controls.iter().map(String::as_str))
        .chain(p.tags.iter().map(String::as_str))
    {
        // SARIF requires the tags of a property bag to be unique.
        if !t.is_empty() && !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    Rule {
        id: p.id.clone(),
        name: pascal_case(&p.id),
        short_description: Message {
            text: title.clone(),
        },
        full_description: Message { text: full.clone() },
        help: Help {
            text: help_text(p, &title),
            markdown: help_markdown(p, &title),
        },
        help_uri: p.references.iter().find(|r| is_absolute_uri(r)).cloned(),
        default_configuration: Configuration {
            level: level(p.severity),
        },
        properties: RuleProperties {
            security_severity: security_severity(p.severity),
            severity: p.severity.as_str(),
            precision: "very-high",
            tags,
        },
    }
}

fn rule_of_finding(f: &Finding) -> Rule {
    Rule {
        id: f.policy.clone(),
        name: pascal_case(&f.policy),
        short_description: Message {
            text: f.policy.clone(),
        },
        full_description: Message {
            text: f.policy.clone(),
        },
        help: Help {
            text: format!("Run `deadbolt explain {}`.", f.policy),
            markdown: format!("Run `deadbolt explain {}`.", f.policy),
        },
        help_uri: None,
        default_configuration: Configuration {
            level: level(f.severity),
        },
        properties: RuleProperties {
            security_severity: security_severity(f.severity),
            severity: f.severity.as_str(),
            precision: "very-high",
            tags: vec!["security".to_string()],
        },
    }
}

fn help_text(p: &Policy, title: &str) -> String {
    let mut s = if p.remediation.trim().is_empty() {
        title.to_string()
    } else {
        p.remediation.clone()
    };
    if !p.controls.is_empty() {
        s.push_str("\n\nControls: ");
        s.push_str(&p.controls.join(", "));
    }
    if !p.references.is_empty() {
        s.push_str("\n\nReferences:");
        for r in &p.references {
            s.push_str("\n- ");
            s.push_str(r);
        }
    }
    s
}

fn help_markdown(p: &Policy, title: &str) -> String {
    let mut s = format!("**{}**\n\n", markdown_escape(title));
    if !p.remediation.trim().is_empty() {
        s.push_str("Remediation: ");
        s.push_str(&markdown_escape(&p.remediation));
        s.push_str("\n\n");
    }
    if !p.controls.is_empty() {
        let list: Vec<String> = p.controls.iter().map(|c| format!("`{c}`")).collect();
        s.push_str("Controls: ");
        s.push_str(&list.join(", "));
        s.push_str("\n\n");
    }
    if !p.references.is_empty() {
        s.push_str("References:\n\n");
        for r in &p.references {
            if is_absolute_uri(r) {
                s.push_str(&format!("- <{r}>\n"));
            } else {
                s.push_str(&format!("- {}\n", markdown_escape(r)));
            }
        }
        s.push('\n');
    }
    s.push_str(&format!("Run `deadbolt explain {}` for details.", p.id));
    s
}

/// Escapes the characters that would start Markdown markup inside prose (`_`
/// needs none: GitHub Markdown ignores it inside words, as in `HTTP_301`).
fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn result_of(f: &Finding, rule_index: usize) -> SarifResult {
    let (kind, lvl) = match f.status {
        Status::Fail | Status::Skipped => ("fail", level(f.severity)),
        Status::Unknown => ("review", "none"),
        Status::Pass => ("pass", "none"),
    };
    let suppressions = (f.status == Status::Skipped).then(|| {
        let reason = f
            .skip_reason
            .clone()
            .unwrap_or_else(|| "no reason given".to_string());
        vec![Suppression {
            kind: if reason.starts_with("inline skip") {
                "inSource"
            } else {
                "external"
            },
            status: "accepted",
            justification: reason,
        }]
    });
    let message = if f.message.trim().is_empty() {
        format!("{} {} {}", f.policy, f.status.as_str(), f.resource)
    } else {
        f.message.clone()
    };
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(FINGERPRINT_KEY, f.fingerprint.clone());
    SarifResult {
        rule_id: f.policy.clone(),
        rule_index,
        kind,
        level: lvl,
        message: Message { text: message },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: artifact_location(&f.file),
                region: region(f.line, f.column),
            },
            logical_locations: vec![LogicalLocation {
                name: f.resource.clone(),
                kind: "resource",
                fully_qualified_name: format!("{}/{}", f.resource_type, f.resource),
            }],
        }],
        partial_fingerprints: fingerprints,
        suppressions,
        properties: ResultProperties {
            status: f.status.as_str(),
            severity: f.severity.as_str(),
            resource_type: f.resource_type.clone(),
            document: f.document,
        },
    }
}

fn region(line: u32, column: u32) -> Option<Region> {
    (line > 0).then_some(Region {
        start_line: line,
        start_column: (column > 0).then_some(column),
    })
}

/// The artifact location of a path as deadbolt was given it: relative paths stay
/// relative (to `%SRCROOT%`), absolute ones become `file://` URIs. Backslashes
/// become slashes, and everything a URI reference cannot hold is percent-encoded
/// (including `:`, which in a relative reference would read as a scheme).
pub fn artifact_location(path: &str) -> ArtifactLocation {
    let p = path.replace('\\', "/");
    let b = p.as_bytes();
    let drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/';
    if p.starts_with('/') {
        ArtifactLocation {
            uri: format!("file://{}", uri_encode(&p)),
            uri_base_id: None,
        }
    } else if drive {
        ArtifactLocation {
            uri: format!("file:///{}:{}", &p[..1], uri_encode(&p[2..])),
            uri_base_id: None,
        }
    } else {
        ArtifactLocation {
            uri: uri_encode(&p),
            uri_base_id: Some("%SRCROOT%"),
        }
    }
}

fn uri_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &byte in path.as_bytes() {
        // Unreserved characters, `/`, and the sub-delimiters and `@` a path may hold.
        let keep = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn is_absolute_uri(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.contains(|c: char| c.is_whitespace() || c.is_control())
}

/// `ebs-volume-encryption` → `EbsVolumeEncryption` (SARIF recommends a PascalCase
/// `name` for rules).
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) => c.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

// ---- the SARIF object model (only what deadbolt writes) -------------------------

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    original_uri_base_ids: OriginalUriBaseIds,
    column_kind: &'static str,
    results: Vec<SarifResult>,
    properties: RunProperties,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Message,
    full_description: Message,
    help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    /// deadbolt's own severity name, for consumers that do not read scores.
    severity: &'static str,
    precision: &'static str,
    tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
    locations: Vec<NotificationLocation>,
    descriptor: ReportingDescriptorReference,
}

#[derive(Serialize)]
struct ReportingDescriptorReference {
    id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationLocation {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
struct OriginalUriBaseIds {
    #[serde(rename = "%SRCROOT%")]
    src_root: UriBase,
}

#[derive(Serialize)]
struct UriBase {
    description: Message,
}

#[derive(Serialize)]
struct RunProperties {
    summary: RunSummary,
}

#[derive(Serialize)]
struct RunSummary {
    pass: usize,
    fail: usize,
    unknown: usize,
    skipped: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    kind: &'static str,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<Vec<Suppression>>,
    properties: ResultProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

/// A SARIF `artifactLocation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    kind: &'static str,
    fully_qualified_name: String,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    status: &'static str,
    severity: &'static str,
    resource_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    document: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_relative_and_are_uri_references() {
        let l = artifact_location("fixtures\\examples/web app.yaml");
        assert_eq!(l.uri, "fixtures/examples/web%20app.yaml");
        assert_eq!(l.uri_base_id, Some("%SRCROOT%"));
        assert_eq!(artifact_location("a:b.yaml").uri, "a%3Ab.yaml");
        assert_eq!(artifact_location("é.yaml").uri, "%C3%A9.yaml");
    }

    #[test]
    fn absolute_paths_become_file_uris() {
        let l = artifact_location("/srv/infra/app.yaml");
        assert_eq!(l.uri, "file:///srv/infra/app.yaml");
        assert_eq!(l.uri_base_id, None);
        assert_eq!(
            artifact_location("C:\\infra\\app.yaml").uri,
            "file:///C:/infra/app.yaml"
        );
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("ebs-volume-encryption"), "EbsVolumeEncryption");
        assert_eq!(
            pascal_case("sg-no-public-admin-ports"),
            "SgNoPublicAdminPorts"
        );
    }
}
