//! `deadbolt diff`: the impact of a policy change over a corpus.
//!
//! The inputs are loaded once; the old and the new policy sets are both evaluated
//! over the same templates, and their results are compared by
//! (policy id, file, YAML document, resource). A result is
//!
//! - **added** when only the new set has it (a new policy, or a resource the policy
//!   now selects),
//! - **removed** when only the old set has it,
//! - **changed** when its status, severity or message differ (each changed field is
//!   recorded as old → new),
//! - **unchanged** otherwise (counted only). A result that only moved (another line
//!   or column, for instance a `require` that now points at a different property) is
//!   unchanged.
//!
//! The signal that matters most is a result that is **newly failing**: an added
//! failure, or a change of status to `fail`. Both renderings put it first.
//!
//! # JSON (schema version 1)
//!
//! ```json
//! {"version": 1,
//!  "old": "fixtures/diff/old", "new": "fixtures/diff/new",
//!  "summary": {"added": 3, "removed": 2, "changed": 5, "unchanged": 5,
//!              "newly_failing": 2, "no_longer_failing": 1},
//!  "policies": {"old": 4, "new": 4,
//!               "added": ["kms-key-rotation"], "removed": ["sns-topic-encryption"],
//!               "changed": [{"policy": "sqs-queue-encryption",
//!                            "severity": {"old": "medium", "new": "high"}}]},
//!  "changes": [{"kind": "changed", "policy": "ebs-volume-encryption",
//!               "resource": "DefaultKeyVolume", "resource_type": "AWS::EC2::Volume",
//!               "file": "fixtures/diff/corpus/app.yaml", "line": 32, "column": 5,
//!               "fields": ["status", "message"],
//!               "old": {"status": "pass", "severity": "high", "message": "...", "line": 30, "column": 3},
//!               "new": {"status": "fail", "severity": "high", "message": "...", "line": 32, "column": 5}}],
//!  "errors": [{"file": "bad.yaml", "line": 4, "column": 17, "message": "..."}]}
//! ```
//!
//! `old` and `new` also carry `skip_reason` for a `skipped` result (an inline skip
//! in the corpus applies to both policy sets, as in `deadbolt scan`).
//!
//! `changes` is ordered by policy id, then file, document, line, column and
//! resource. `kind` is `added` (`old` is null), `removed` (`new` is null) or
//! `changed` (`fields` lists what differs: `status`, `severity`, `message`; it is
//! empty for added and removed). `file`, `line` and `column` are the new result's
//! (the old one's for a removed result); `document` (0-based) appears for results
//! from the second and later YAML documents of a file. A result is newly failing
//! when `new.status` is `fail` and `old` is null or `old.status` is not `fail`.
//! `policies.changed` lists policies in both sets whose severity or title changed.
//! `errors` lists inputs that could not be loaded (the run then exits 2).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::report::json::json_errors;

use crate::catalog;
use crate::compile::{Policy, Severity};
use crate::dsl::{check_sources, Checked, Level, PolicySource};
use crate::eval::Params;
use crate::load::{load_inputs, LoadError};
use crate::result::{Finding, Status};
use crate::scan::{evaluate_templates, ScanOptions};

use super::git;

/// Where a policy set comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySpec {
    /// The built-in catalogue embedded in the binary.
    Builtin,
    /// Policy files and directories on disk (empty: the built-in catalogue).
    Paths(Vec<PathBuf>),
    /// Policy files and directories as they were at a git revision. Empty `paths`:
    /// the catalogue's `policies/` directory in deadbolt's own source tree.
    GitRev { rev: String, paths: Vec<PathBuf> },
}

impl PolicySpec {
    /// The paths of this set (empty for the built-in catalogue).
    pub fn paths(&self) -> &[PathBuf] {
        match self {
            PolicySpec::Builtin => &[],
            PolicySpec::Paths(p) => p,
            PolicySpec::GitRev { paths, .. } => paths,
        }
    }

    /// The same policies at revision `rev`: what `--old-rev REV` means without
    /// `--old`.
    pub fn at_rev(&self, rev: &str) -> PolicySpec {
        PolicySpec::GitRev {
            rev: rev.to_string(),
            paths: self.paths().to_vec(),
        }
    }

    /// The policy sources of this set.
    pub fn sources(&self) -> Result<Vec<PolicySource>, String> {
        match self {
            PolicySpec::Builtin => Ok(catalog::builtin_sources()),
            PolicySpec::Paths(p) if p.is_empty() => Ok(catalog::builtin_sources()),
            PolicySpec::Paths(p) => catalog::read_sources(p),
            PolicySpec::GitRev { rev, paths } if paths.is_empty() => {
                let dir = builtin_policies_dir().ok_or_else(|| {
                    format!(
                        "the built-in catalogue's source directory ({}) is not here, so it cannot be read at revision {rev}; \
                         give the policies with --new DIR (or --old DIR)",
                        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies").display()
                    )
                })?;
                git::sources_at_rev(rev, &[dir])
            }
            PolicySpec::GitRev { rev, paths } => git::sources_at_rev(rev, paths),
        }
    }
}

/// The `policies/` directory the built-in catalogue was embedded from, when this
/// binary runs where it was built.
fn builtin_policies_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    dir.is_dir().then_some(dir)
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            PolicySpec::Builtin => f.write_str("built-in catalogue"),
            PolicySpec::Paths(p) if p.is_empty() => f.write_str("built-in catalogue"),
            PolicySpec::Paths(p) => f.write_str(&join(p)),
            PolicySpec::GitRev { rev, paths } if paths.is_empty() => {
                write!(f, "built-in catalogue at {rev}")
            }
            PolicySpec::GitRev { rev, paths } => write!(f, "{} at {rev}", join(paths)),
        }
    }
}

/// The old and new policy sets from command-line style arguments: `--old DIR`
/// (repeatable), `--old-rev REV`, `--new DIR` (repeatable; default the built-in
/// catalogue). With `--old-rev` and no `--old`, the old set is the new one at REV;
/// with both, it is the `--old` paths at REV.
pub fn resolve_specs(
    old: &[PathBuf],
    old_rev: Option<&str>,
    new: &[PathBuf],
) -> Result<(PolicySpec, PolicySpec), String> {
    let new_spec = if new.is_empty() {
        PolicySpec::Builtin
    } else {
        PolicySpec::Paths(new.to_vec())
    };
    let old_spec =
        match (old.is_empty(), old_rev) {
            (true, None) => return Err(
                "nothing to compare with: give the old policies with --old DIR or --old-rev REV"
                    .to_string(),
            ),
            (true, Some(rev)) => new_spec.at_rev(rev),
            (false, Some(rev)) => PolicySpec::GitRev {
                rev: rev.to_string(),
                paths: old.to_vec(),
            },
            (false, None) => PolicySpec::Paths(old.to_vec()),
        };
    Ok((old_spec, new_spec))
}

/// What to compare.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    pub old_policies: PolicySpec,
    pub new_policies: PolicySpec,
    /// The corpus: files and directories, as for `deadbolt scan`.
    pub paths: Vec<PathBuf>,
    /// Parameters, and the lists detections compare log records with.
    pub params: Params,
    /// How logs are read (`--flowlog-format`).
    pub logs: crate::load::logs::LogOptions,
}

/// One of the compared fields of a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Status,
    Severity,
    Message,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Status => "status",
            Field::Severity => "severity",
            Field::Message => "message",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One result that differs between the old and the new policies.
#[derive(Clone, Debug)]
pub struct Change {
    pub kind: ChangeKind,
    /// The old result (None when added).
    pub old: Option<Finding>,
    /// The new result (None when removed).
    pub new: Option<Finding>,
    /// What differs, for `Changed` (status, severity, message, in that order).
    pub fields: Vec<Field>,
}

impl Change {
    /// The new result, or the old one for a removed result: where it is.
    pub fn current(&self) -> &Finding {
        self.new
            .as_ref()
            .or(self.old.as_ref())
            .expect("a change has an old or a new result")
    }

    /// A result that passes before and after and only changed with its policy's
    /// severity or title (a pass's message is the policy title). The human report
    /// folds these into one line per policy.
    pub fn pass_to_pass(&self) -> bool {
        self.kind == ChangeKind::Changed
            && self.old.as_ref().is_some_and(|f| f.status == Status::Pass)
            && self.new.as_ref().is_some_and(|f| f.status == Status::Pass)
    }

    /// A failure that was not there before: added as `fail`, or changed to `fail`.
    pub fn newly_failing(&self) -> bool {
        let was = self.old.as_ref().is_some_and(|f| f.status == Status::Fail);
        let is = self.new.as_ref().is_some_and(|f| f.status == Status::Fail);
        is && !was
    }

    /// A failure that went away: removed, or changed from `fail` to anything else.
    pub fn no_longer_failing(&self) -> bool {
        let was = self.old.as_ref().is_some_and(|f| f.status == Status::Fail);
        let is = self.new.as_ref().is_some_and(|f| f.status == Status::Fail);
        was && !is
    }

    fn order_key(&self) -> (&str, &str, usize, u32, u32, &str) {
        let f = self.current();
        (
            &f.policy,
            &f.file,
            f.document,
            f.line,
            f.column,
            &f.resource,
        )
    }
}

/// Whether a policy is in the old set, the new set or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Both,
    Added,
    Removed,
}

/// A policy-level metadata change (`severity` or `title`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaChange {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// The changes of one policy.
#[derive(Clone, Debug)]
pub struct PolicyGroup {
    pub policy: String,
    pub presence: Presence,
    /// The new severity (the old one for a removed policy).
    pub severity: Severity,
    pub meta: Vec<MetaChange>,
    /// Ordered by file, document, line, column, resource.
    pub changes: Vec<Change>,
    pub unchanged: usize,
}

impl PolicyGroup {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }

    pub fn newly_failing(&self) -> usize {
        self.changes.iter().filter(|c| c.newly_failing()).count()
    }

    pub fn no_longer_failing(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.no_longer_failing())
            .count()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub newly_failing: usize,
    pub no_longer_failing: usize,
}

impl DiffSummary {
    /// Whether any result was added, removed or changed.
    pub fn any_change(&self) -> bool {
        self.added + self.removed + self.changed > 0
    }
}

/// Everything `deadbolt diff` found.
#[derive(Clone, Debug, Default)]
pub struct DiffReport {
    /// Where the old and new policies came from, for headers.
    pub old_label: String,
    pub new_label: String,
    pub old_policy_count: usize,
    pub new_policy_count: usize,
    /// Policy ids only in the new set / only in the old set, sorted.
    pub policies_added: Vec<String>,
    pub policies_removed: Vec<String>,
    /// Policies with any change (results or metadata), sorted by id. Policies whose
    /// results are all unchanged are left out (they count in `summary.unchanged`).
    pub groups: Vec<PolicyGroup>,
    pub summary: DiffSummary,
    pub templates: usize,
    pub resources: usize,
    /// Detections in each set, and the log files and records they read.
    pub old_detection_count: usize,
    pub new_detection_count: usize,
    pub logs: usize,
    pub records: usize,
    /// Inputs that could not be loaded.
    pub load_errors: Vec<LoadError>,
    /// Policy warnings (short form), prefixed with `old:` or `new:`.
    pub warnings: Vec<String>,
}

impl DiffReport {
    /// Every change, in report order (policy, file, document, line, column, resource).
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.groups.iter().flat_map(|g| g.changes.iter())
    }

    /// Policies in both sets whose metadata changed.
    pub fn policies_changed(&self) -> impl Iterator<Item = &PolicyGroup> {
        self.groups
            .iter()
            .filter(|g| g.presence == Presence::Both && !g.meta.is_empty())
    }
}

/// Compiles one side; errors (with their short diagnostics) make the diff fail.
fn compile(spec: &PolicySpec, side: &str, warnings: &mut Vec<String>) -> Result<Checked, String> {
    let sources = spec
        .sources()
        .map_err(|e| format!("{side} policies ({spec}): {e}"))?;
    let checked = check_sources(&sources);
    if checked.has_errors() {
        let mut msg = format!("{side} policies ({spec}) do not compile:");
        for d in checked
            .diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
        {
            msg.push_str("\n  ");
            msg.push_str(&d.short());
        }
        return Err(msg);
    }
    warnings.extend(
        checked
            .diagnostics
            .iter()
            .map(|d| format!("{side}: {}", d.short())),
    );
    Ok(checked)
}

/// A result's identity across the two runs. The key tells apart several results
/// of one resource: a detection's group and episode, a port range, an advisory.
type Key<'a> = (&'a str, &'a str, usize, &'a str, Option<&'a str>);

fn key(f: &Finding) -> Key<'_> {
    (
        &f.policy,
        &f.file,
        f.document,
        &f.resource,
        f.key.as_deref(),
    )
}

/// What the report says of a policy or detection, whichever it is.
pub struct Meta<'a> {
    pub id: &'a str,
    pub severity: Severity,
    pub title: &'a str,
}

fn metas<'a>(checked: &'a Checked) -> Vec<Meta<'a>> {
    let policies = checked.policies.iter().map(|p| Meta {
        id: &p.id,
        severity: p.severity,
        title: &p.title,
    });
    let detections = checked.detections.iter().map(|d| Meta {
        id: &d.id,
        severity: d.severity,
        title: &d.title,
    });
    policies.chain(detections).collect()
}

fn index(findings: &[Finding]) -> BTreeMap<Key<'_>, Vec<&Finding>> {
    let mut m: BTreeMap<Key<'_>, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        m.entry(key(f)).or_default().push(f);
    }
    m
}

fn changed_fields(old: &Finding, new: &Finding) -> Vec<Field> {
    let mut fields = Vec::new();
    if old.status != new.status {
        fields.push(Field::Status);
    }
    if old.severity != new.severity {
        fields.push(Field::Severity);
    }
    if old.message != new.message {
        fields.push(Field::Message);
    }
    fields
}

/// Compiles both policy sets, loads the corpus once, evaluates both sets over it
/// (with the corpus's inline skips, as `deadbolt scan` does) and compares the
/// results. Policies that do not compile are an error; inputs that cannot be
/// loaded are listed in the report.
pub fn run_diff(opts: &DiffOptions) -> Result<DiffReport, String> {
    let mut warnings = Vec::new();
    let old = compile(&opts.old_policies, "old", &mut warnings)?;
    let new = compile(&opts.new_policies, "new", &mut warnings)?;
    let loaded = load_inputs(&opts.paths);
    // Both sets see the inputs exactly as `deadbolt scan` would, inline skips included.
    let scan_opts = ScanOptions {
        params: opts.params.clone(),
        ..ScanOptions::default()
    };
    let source = |path: &str| std::fs::read_to_string(path).ok();
    let mut old_run =
        evaluate_templates(&old.policies, &loaded.templates, &scan_opts, None, &source);
    let mut new_run =
        evaluate_templates(&new.policies, &loaded.templates, &scan_opts, None, &source);
    let mut records = 0;
    if !loaded.logs.is_empty() {
        let detect = |d: &[crate::compile::ir::Detection]| {
            crate::detect::run::run(d, &loaded.logs, &opts.params, &opts.logs)
        };
        let (o, n) = (detect(&old.detections), detect(&new.detections));
        records = n.records.max(o.records);
        old_run.findings.extend(o.findings);
        new_run.findings.extend(n.findings);
        // Read errors are the same for both sets: report them once.
        old_run.load_errors.extend(o.errors);
    }
    let mut report = compare_meta(
        &metas(&old),
        &metas(&new),
        &old_run.findings,
        &new_run.findings,
    );
    report.old_policy_count = old.policies.len();
    report.new_policy_count = new.policies.len();
    report.old_detection_count = old.detections.len();
    report.new_detection_count = new.detections.len();
    report.logs = loaded.logs.len();
    report.records = records;
    report.old_label = opts.old_policies.to_string();
    report.new_label = opts.new_policies.to_string();
    report.templates = loaded.templates.len();
    report.resources = loaded.templates.iter().map(|t| t.resources.len()).sum();
    // Malformed inline skips are found by each run; report them once.
    let mut errors = loaded.errors;
    errors.extend(old_run.load_errors);
    errors.extend(new_run.load_errors);
    errors.sort_by(|a, b| {
        (&a.path, a.line(), a.col(), &a.message).cmp(&(&b.path, b.line(), b.col(), &b.message))
    });
    errors.dedup();
    report.load_errors = errors;
    report.warnings = warnings;
    Ok(report)
}

/// Compares the results of two policy sets over the same inputs.
pub fn compare(
    old_policies: &[Policy],
    new_policies: &[Policy],
    old_findings: &[Finding],
    new_findings: &[Finding],
) -> DiffReport {
    fn meta(ps: &[Policy]) -> Vec<Meta<'_>> {
        ps.iter()
            .map(|p| Meta {
                id: &p.id,
                severity: p.severity,
                title: &p.title,
            })
            .collect()
    }
    compare_meta(
        &meta(old_policies),
        &meta(new_policies),
        old_findings,
        new_findings,
    )
}

/// [`compare`] for policies and detections alike.
pub fn compare_meta(
    old_policies: &[Meta<'_>],
    new_policies: &[Meta<'_>],
    old_findings: &[Finding],
    new_findings: &[Finding],
) -> DiffReport {
    // The first policy of an id wins, as in evaluation order.
    let mut old_meta: BTreeMap<&str, &Meta<'_>> = BTreeMap::new();
    for p in old_policies {
        old_meta.entry(p.id).or_insert(p);
    }
    let mut new_meta: BTreeMap<&str, &Meta<'_>> = BTreeMap::new();
    for p in new_policies {
        new_meta.entry(p.id).or_insert(p);
    }

    let old_idx = index(old_findings);
    let new_idx = index(new_findings);
    let keys: BTreeSet<Key<'_>> = old_idx.keys().chain(new_idx.keys()).copied().collect();
    let mut changes: BTreeMap<&str, Vec<Change>> = BTreeMap::new();
    let mut unchanged: BTreeMap<&str, usize> = BTreeMap::new();
    let empty: Vec<&Finding> = Vec::new();
    for k in keys {
        let olds = old_idx.get(&k).unwrap_or(&empty);
        let news = new_idx.get(&k).unwrap_or(&empty);
        for i in 0..olds.len().max(news.len()) {
            let change = match (olds.get(i), news.get(i)) {
                (Some(o), Some(n)) => {
                    let fields = changed_fields(o, n);
                    if fields.is_empty() {
                        *unchanged.entry(k.0).or_default() += 1;
                        continue;
                    }
                    Change {
                        kind: ChangeKind::Changed,
                        old: Some((*o).clone()),
                        new: Some((*n).clone()),
                        fields,
                    }
                }
                (None, Some(n)) => Change {
                    kind: ChangeKind::Added,
                    old: None,
                    new: Some((*n).clone()),
                    fields: vec![],
                },
                (Some(o), None) => Change {
                    kind: ChangeKind::Removed,
                    old: Some((*o).clone()),
                    new: None,
                    fields: vec![],
                },
                (None, None) => continue,
            };
            changes.entry(k.0).or_default().push(change);
        }
    }

    let ids: BTreeSet<&str> = old_meta
        .keys()
        .chain(new_meta.keys())
        .chain(changes.keys())
        .copied()
        .collect();
    let mut report = DiffReport {
        old_policy_count: old_meta.len(),
        new_policy_count: new_meta.len(),
        ..DiffReport::default()
    };
    for id in ids {
        let (o, n) = (old_meta.get(id), new_meta.get(id));
        let presence = match (o, n) {
            (Some(_), None) => Presence::Removed,
            (None, Some(_)) => Presence::Added,
            _ => Presence::Both,
        };
        match presence {
            Presence::Added => report.policies_added.push(id.to_string()),
            Presence::Removed => report.policies_removed.push(id.to_string()),
            Presence::Both => {}
        }
        let mut meta = Vec::new();
        if let (Some(o), Some(n)) = (o, n) {
            if o.severity != n.severity {
                meta.push(MetaChange {
                    field: "severity",
                    old: o.severity.to_string(),
                    new: n.severity.to_string(),
                });
            }
            if o.title != n.title {
                meta.push(MetaChange {
                    field: "title",
                    old: o.title.to_string(),
                    new: n.title.to_string(),
                });
            }
        }
        let mut list = changes.remove(id).unwrap_or_default();
        list.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let same = unchanged.get(id).copied().unwrap_or(0);
        report.summary.unchanged += same;
        for c in &list {
            match c.kind {
                ChangeKind::Added => report.summary.added += 1,
                ChangeKind::Removed => report.summary.removed += 1,
                ChangeKind::Changed => report.summary.changed += 1,
            }
            report.summary.newly_failing += usize::from(c.newly_failing());
            report.summary.no_longer_failing += usize::from(c.no_longer_failing());
        }
        if list.is_empty() && meta.is_empty() && presence == Presence::Both {
            continue;
        }
        let severity = n
            .or(o)
            .map(|p| p.severity)
            .or_else(|| list.first().map(|c| c.current().severity))
            .unwrap_or(Severity::Info);
        report.groups.push(PolicyGroup {
            policy: id.to_string(),
            presence,
            severity,
            meta,
            changes: list,
            unchanged: same,
        });
    }
    report
}

/// Exit code of `deadbolt diff`: 2 when an input could not be loaded, 1 when a
/// result was added, removed or changed and `fail_on_change` is set, 0 otherwise.
pub fn exit_code(report: &DiffReport, fail_on_change: bool) -> u8 {
    if !report.load_errors.is_empty() {
        2
    } else if fail_on_change && report.summary.any_change() {
        1
    } else {
        0
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn quote(s: &str) -> String {
    // JSON string escaping: quotes and control characters stay readable on one line.
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn status_color(s: Status) -> &'static str {
    match s {
        Status::Fail => "31",
        Status::Pass => "32",
        Status::Unknown => "33",
        Status::Skipped => "90",
    }
}

/// The human report: one section per policy with a change, then the impact.
///
/// ```text
/// ebs-volume-encryption  high  — 1 newly failing; 2 changed, 3 unchanged
///   ~ fail  high  fixtures/diff/corpus/app.yaml:32:5  DefaultKeyVolume  status pass → fail; message "…"
/// ```
///
/// `+` is a result only the new policies have, `-` one only the old ones had, `~`
/// one whose status, severity or message changed (status and severity columns show
/// the new values; the old one's for `-`). Results that pass before and after and
/// changed only with their policy's severity or title are folded into one line per
/// policy (`~ 2 results still passing: severity medium → high`); the JSON report
/// lists them one by one. The closing lines give the impact: newly failing and no
/// longer failing first, then `N added, N removed, N changed, N unchanged`, then
/// policy warnings and input errors.
pub fn render_human(report: &DiffReport, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let set = |policies: usize, detections: usize| {
        let mut s = plural(policies, "policy", "policies");
        if detections > 0 {
            s.push_str(", ");
            s.push_str(&plural(detections, "detection", "detections"));
        }
        s
    };
    out.push_str(&format!(
        "{} {} ({}) → {} ({})\n",
        paint("1", "deadbolt diff:"),
        report.old_label,
        set(report.old_policy_count, report.old_detection_count),
        report.new_label,
        set(report.new_policy_count, report.new_detection_count),
    ));
    out.push_str(&format!(
        "corpus: {} in {}",
        plural(report.resources, "resource", "resources"),
        plural(report.templates, "template", "templates"),
    ));
    if report.logs > 0 {
        out.push_str(&format!(
            "; {} in {}",
            plural(report.records, "log record", "log records"),
            plural(report.logs, "log file", "log files"),
        ));
    }
    out.push('\n');

    // Column widths over the whole report, so every section lines up.
    let rows: Vec<&Finding> = report
        .changes()
        .filter(|c| !c.pass_to_pass())
        .map(Change::current)
        .collect();
    let sw = rows
        .iter()
        .map(|f| f.status.as_str().len())
        .max()
        .unwrap_or(0);
    let vw = rows
        .iter()
        .map(|f| f.severity.as_str().len())
        .max()
        .unwrap_or(0);

    for g in &report.groups {
        out.push('\n');
        let mut head = format!("{}  {}", paint("1", &g.policy), g.severity);
        match g.presence {
            Presence::Added => head.push_str(&format!("  {}", paint("36", "(new policy)"))),
            Presence::Removed => head.push_str(&format!("  {}", paint("36", "(removed policy)"))),
            Presence::Both => {}
        }
        let mut counts = Vec::new();
        if g.newly_failing() > 0 {
            counts.push(paint(
                "1;31",
                &format!("{} newly failing", g.newly_failing()),
            ));
        }
        if g.no_longer_failing() > 0 {
            counts.push(paint(
                "32",
                &format!("{} no longer failing", g.no_longer_failing()),
            ));
        }
        let mut tally = Vec::new();
        for (kind, word) in [
            (ChangeKind::Added, "added"),
            (ChangeKind::Removed, "removed"),
            (ChangeKind::Changed, "changed"),
        ] {
            let n = g.count(kind);
            if n > 0 {
                tally.push(format!("{n} {word}"));
            }
        }
        if g.unchanged > 0 {
            tally.push(format!("{} unchanged", g.unchanged));
        }
        if tally.is_empty() {
            tally.push("no results in the corpus".to_string());
        }
        counts.push(tally.join(", "));
        head.push_str(&format!("  — {}\n", counts.join("; ")));
        out.push_str(&head);
        for m in &g.meta {
            out.push_str(&format!(
                "  policy {} {} → {}\n",
                m.field,
                show_meta(m.field, &m.old),
                show_meta(m.field, &m.new)
            ));
        }
        let (passing, listed): (Vec<&Change>, Vec<&Change>) =
            g.changes.iter().partition(|c| c.pass_to_pass());
        let lw = listed
            .iter()
            .map(|c| location(c.current()).chars().count())
            .max()
            .unwrap_or(0);
        let rw = listed
            .iter()
            .map(|c| c.current().resource.chars().count())
            .max()
            .unwrap_or(0);
        for c in listed {
            let f = c.current();
            let (mark, mark_color) = match c.kind {
                ChangeKind::Added => ("+", "32"),
                ChangeKind::Removed => ("-", "31"),
                ChangeKind::Changed => ("~", "33"),
            };
            let status = format!("{:<sw$}", f.status.as_str());
            let status = if c.newly_failing() {
                paint("1;31", &status)
            } else {
                paint(status_color(f.status), &status)
            };
            let detail = match c.kind {
                ChangeKind::Added | ChangeKind::Removed => match &f.skip_reason {
                    Some(why) => format!("{} ({why})", f.message),
                    None => f.message.clone(),
                },
                ChangeKind::Changed => describe_fields(c, false, &paint),
            };
            let line = format!(
                "  {} {}  {:<vw$}  {:<lw$}  {:<rw$}  {}",
                paint(mark_color, mark),
                status,
                f.severity.as_str(),
                location(f),
                f.resource,
                detail
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if let Some(first) = passing.first() {
            out.push_str(&format!(
                "  {} {} still passing: {}\n",
                paint("33", "~"),
                plural(passing.len(), "result", "results"),
                describe_fields(first, true, &paint)
            ));
        }
    }

    out.push('\n');
    let mut policy_line = Vec::new();
    if !report.policies_added.is_empty() {
        policy_line.push(format!(
            "{} added ({})",
            plural(report.policies_added.len(), "policy", "policies"),
            report.policies_added.join(", ")
        ));
    }
    if !report.policies_removed.is_empty() {
        policy_line.push(format!(
            "{} removed ({})",
            plural(report.policies_removed.len(), "policy", "policies"),
            report.policies_removed.join(", ")
        ));
    }
    let meta: Vec<&str> = report
        .policies_changed()
        .map(|g| g.policy.as_str())
        .collect();
    if !meta.is_empty() {
        policy_line.push(format!(
            "{} with a new severity or title ({})",
            plural(meta.len(), "policy", "policies"),
            meta.join(", ")
        ));
    }
    if !policy_line.is_empty() {
        out.push_str(&format!("{}\n", policy_line.join("; ")));
    }
    let s = &report.summary;
    let impact = format!(
        "{} newly failing, {} no longer failing",
        s.newly_failing, s.no_longer_failing
    );
    out.push_str(&if s.newly_failing > 0 {
        paint("1;31", &impact)
    } else {
        paint("1", &impact)
    });
    out.push('\n');
    out.push_str(&format!(
        "{} added, {} removed, {} changed, {} unchanged\n",
        s.added, s.removed, s.changed, s.unchanged
    ));
    for w in &report.warnings {
        out.push_str(&format!("{} {w}\n", paint("33", "warning:")));
    }
    for e in &report.load_errors {
        out.push_str(&format!("{} {e}\n", paint("1;31", "error:")));
    }
    out
}

fn show_meta(field: &str, value: &str) -> String {
    if field == "title" {
        quote(value)
    } else {
        value.to_string()
    }
}

fn location(f: &Finding) -> String {
    if f.document > 0 {
        format!(
            "{}:{}:{} (document {})",
            f.file, f.line, f.column, f.document
        )
    } else {
        format!("{}:{}:{}", f.file, f.line, f.column)
    }
}

/// `status pass → fail; severity medium → high; message "a" → "b"`. For passing
/// results (`as_title`) the message is the policy title, and is called that.
fn describe_fields(c: &Change, as_title: bool, paint: &dyn Fn(&str, &str) -> String) -> String {
    let (Some(o), Some(n)) = (&c.old, &c.new) else {
        return String::new();
    };
    c.fields
        .iter()
        .map(|field| match field {
            Field::Status => {
                let to = if n.status == Status::Fail {
                    paint("1;31", n.status.as_str())
                } else {
                    paint(status_color(n.status), n.status.as_str())
                };
                format!("status {} → {to}", o.status.as_str())
            }
            Field::Severity => format!("severity {} → {}", o.severity, n.severity),
            // A pass's message is the policy title: when only one side passes,
            // the other side's message is the one worth reading.
            Field::Message if o.status == Status::Pass && n.status != Status::Pass => {
                format!("message {}", quote(&n.message))
            }
            Field::Message if n.status == Status::Pass && o.status != Status::Pass => {
                format!("message was {}", quote(&o.message))
            }
            Field::Message => format!(
                "{} {} → {}",
                if as_title { "title" } else { "message" },
                quote(&o.message),
                quote(&n.message)
            ),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Serialize)]
struct JsonSide<'a> {
    status: Status,
    severity: Severity,
    message: &'a str,
    line: u32,
    column: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_reason: Option<&'a str>,
}

impl<'a> JsonSide<'a> {
    fn of(f: &'a Finding) -> Self {
        JsonSide {
            status: f.status,
            severity: f.severity,
            message: &f.message,
            line: f.line,
            column: f.column,
            skip_reason: f.skip_reason.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct JsonChange<'a> {
    kind: ChangeKind,
    policy: &'a str,
    resource: &'a str,
    resource_type: &'a str,
    file: &'a str,
    line: u32,
    column: u32,
    #[serde(skip_serializing_if = "is_zero")]
    document: usize,
    fields: &'a [Field],
    old: Option<JsonSide<'a>>,
    new: Option<JsonSide<'a>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct JsonOldNew<'a> {
    old: &'a str,
    new: &'a str,
}

#[derive(Serialize)]
struct JsonPolicyChange<'a> {
    policy: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<JsonOldNew<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<JsonOldNew<'a>>,
}

#[derive(Serialize)]
struct JsonPolicies<'a> {
    old: usize,
    new: usize,
    added: &'a [String],
    removed: &'a [String],
    changed: Vec<JsonPolicyChange<'a>>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    old: &'a str,
    new: &'a str,
    summary: DiffSummary,
    policies: JsonPolicies<'a>,
    changes: Vec<JsonChange<'a>>,
    errors: Vec<crate::report::json::JsonError<'a>>,
}

/// The JSON report (schema version 1, documented at the top of this module).
pub fn render_json(report: &DiffReport) -> String {
    let json = JsonReport {
        version: 1,
        old: &report.old_label,
        new: &report.new_label,
        summary: report.summary,
        policies: JsonPolicies {
            old: report.old_policy_count,
            new: report.new_policy_count,
            added: &report.policies_added,
            removed: &report.policies_removed,
            changed: report
                .policies_changed()
                .map(|g| {
                    let pick = |field: &str| {
                        g.meta
                            .iter()
                            .find(|m| m.field == field)
                            .map(|m| JsonOldNew {
                                old: &m.old,
                                new: &m.new,
                            })
                    };
                    JsonPolicyChange {
                        policy: &g.policy,
                        severity: pick("severity"),
                        title: pick("title"),
                    }
                })
                .collect(),
        },
        changes: report
            .changes()
            .map(|c| {
                let f = c.current();
                JsonChange {
                    kind: c.kind,
                    policy: &f.policy,
                    resource: &f.resource,
                    resource_type: &f.resource_type,
                    file: &f.file,
                    line: f.line,
                    column: f.column,
                    document: f.document,
                    fields: &c.fields,
                    old: c.old.as_ref().map(JsonSide::of),
                    new: c.new.as_ref().map(JsonSide::of),
                }
            })
            .collect(),
        errors: json_errors(&report.load_errors),
    };
    let mut s = serde_json::to_string_pretty(&json).expect("a diff report serializes");
    s.push('\n');
    s
}
