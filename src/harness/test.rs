//! `deadbolt test`: policy unit tests and snapshots, with coverage.
//!
//! Discovery: test files are `tests/*.yaml` (or `.yml`) under the given directories
//! and `*.test.yaml` files anywhere below them; a file named on the command line is
//! a test file whatever its name. The policies are `--policies`, else the `*.policy`
//! files under the given paths, else the built-in catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::snapshot;
use super::testfile::{self, Case, Input, TestFile};
use crate::compile::ir::Detection;
use crate::compile::Policy;
use crate::dsl::{check_sources, Checked, PolicySource};
use crate::load::{load_inputs, load_source, LoadError};
use crate::result::{Finding, Status};
use crate::scan::{evaluate_templates, ScanOptions};

#[derive(Clone, Debug, Default)]
pub struct TestOptions {
    pub paths: Vec<PathBuf>,
    /// Explicit policy files or directories (`--policies`).
    pub policies: Vec<PathBuf>,
    /// Write snapshots that are new or differ.
    pub update: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    /// What went wrong, ready to print (expectation diffs, snapshot diff).
    Failed(Vec<String>),
    /// No snapshot file yet; `written` when `--update` wrote it.
    NewSnapshot {
        path: PathBuf,
        written: bool,
    },
    /// `--update` rewrote a snapshot that differed.
    Updated {
        path: PathBuf,
        diff: String,
    },
}

#[derive(Clone, Debug)]
pub struct CaseResult {
    pub file: PathBuf,
    pub name: String,
    pub line: u32,
    pub outcome: Outcome,
}

/// Per policy: whether some case saw it pass and fail, and which `require`
/// clauses never decided a result.
#[derive(Clone, Debug)]
pub struct PolicyCoverage {
    pub policy: String,
    pub file: String,
    pub pass: bool,
    pub fail: bool,
    pub undecided_clauses: Vec<String>,
}

impl PolicyCoverage {
    pub fn tested(&self) -> bool {
        self.pass && self.fail
    }
}

#[derive(Debug, Default)]
pub struct TestRun {
    pub results: Vec<CaseResult>,
    /// Problems that are not test failures: unreadable or invalid test files,
    /// snapshots or fixtures, policy diagnostics.
    pub errors: Vec<String>,
    /// Policy warnings (unused `let`, a `require` that tests nothing, ...):
    /// shown, but they do not fail the run.
    pub warnings: Vec<String>,
    pub coverage: Vec<PolicyCoverage>,
}

impl TestRun {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }
    pub fn passed(&self) -> usize {
        self.count(|o| {
            matches!(
                o,
                Outcome::Passed
                    | Outcome::Updated { .. }
                    | Outcome::NewSnapshot { written: true, .. }
            )
        })
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }
    pub fn new_snapshots(&self) -> usize {
        self.count(|o| matches!(o, Outcome::NewSnapshot { written: false, .. }))
    }
}

/// Test files and policy files under the given paths.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut tests = BTreeSet::new();
    let mut policies = BTreeSet::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut tests, &mut policies);
        } else if p.extension().is_some_and(|x| x == "policy") {
            policies.insert(p.clone());
        } else {
            tests.insert(p.clone());
            // A test file named on its own tests the policies beside it: in its
            // directory, or in the one above a `tests/` directory.
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            policies_in(dir, &mut policies);
            if dir.file_name().is_some_and(|d| d == "tests") {
                if let Some(up) = dir.parent() {
                    policies_in(
                        if up.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            up
                        },
                        &mut policies,
                    );
                }
            }
        }
    }
    (tests.into_iter().collect(), policies.into_iter().collect())
}

/// The `*.policy` files directly in `dir`.
fn policies_in(dir: &Path, policies: &mut BTreeSet<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_file() && p.extension().is_some_and(|x| x == "policy") {
            policies.insert(p);
        }
    }
}

fn walk(dir: &Path, tests: &mut BTreeSet<PathBuf>, policies: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            walk(&p, tests, policies);
            continue;
        }
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        let in_tests_dir = p
            .parent()
            .and_then(|d| d.file_name())
            .is_some_and(|d| d == "tests");
        if yaml && (in_tests_dir || name.contains(".test.")) {
            tests.insert(p);
        } else if name.ends_with(".policy") {
            policies.insert(p);
        }
    }
}

/// Runs every case of every test file.
pub fn run(opts: &TestOptions) -> TestRun {
    let mut run = TestRun::default();
    let (test_files, found_policies) = discover(&opts.paths);
    let checked = match compile(opts, &found_policies) {
        Ok(c) => c,
        Err(e) => {
            run.errors.push(e);
            return run;
        }
    };
    for d in &checked.diagnostics {
        match d.level {
            crate::dsl::Level::Error => run.errors.push(d.short()),
            crate::dsl::Level::Warning => run.warnings.push(d.short()),
        }
    }
    if test_files.is_empty() {
        run.errors.push(format!(
            "no test files found under {}; tests are `tests/*.yaml` or `*.test.yaml` files",
            opts.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let ids: Vec<&str> = checked
        .policies
        .iter()
        .map(|p| p.id.as_str())
        .chain(checked.detections.iter().map(|d| d.id.as_str()))
        .collect();
    let mut seen = Seen::default();
    for path in &test_files {
        let file = match std::fs::read_to_string(path)
            .map_err(|e| {
                LoadError::file(
                    path.display().to_string(),
                    format!("cannot read the test file: {e}"),
                )
            })
            .and_then(|text| testfile::parse(path, &text, &ids))
        {
            Ok(f) => f,
            Err(e) => {
                run.errors.push(e.to_string());
                continue;
            }
        };
        run_file(&file, &checked, opts, &mut run, &mut seen);
    }
    run.coverage = coverage(&checked, &seen);
    run
}

fn compile(opts: &TestOptions, found: &[PathBuf]) -> Result<Checked, String> {
    let sources: Vec<PolicySource> = if !opts.policies.is_empty() {
        crate::catalog::read_sources(&opts.policies)?
    } else if !found.is_empty() {
        crate::catalog::read_sources(found)?
    } else {
        crate::catalog::builtin_sources()
    };
    Ok(check_sources(&sources))
}

/// What the cases observed, for coverage.
#[derive(Default)]
struct Seen {
    statuses: BTreeMap<String, BTreeSet<Status>>,
    clauses: BTreeSet<(String, usize, usize)>,
}

fn run_file(
    file: &TestFile,
    checked: &Checked,
    opts: &TestOptions,
    run: &mut TestRun,
    seen: &mut Seen,
) {
    let dir = file.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    for case in &file.cases {
        let selected: Vec<&Policy> = if case.policies.is_empty() {
            checked.policies.iter().collect()
        } else {
            checked
                .policies
                .iter()
                .filter(|p| case.policies.contains(&p.id))
                .collect()
        };
        let detections: Vec<Detection> = checked
            .detections
            .iter()
            .filter(|d| case.policies.is_empty() || case.policies.contains(&d.id))
            .cloned()
            .collect();
        let findings = match evaluate_case(case, &selected, &detections, &file.path) {
            Ok(f) => f,
            Err(e) => {
                run.errors.push(format!(
                    "{}:{}: case `{}`: {e}",
                    file.path.display(),
                    case.pos.line,
                    case.name
                ));
                continue;
            }
        };
        for f in &findings {
            seen.statuses
                .entry(f.policy.clone())
                .or_default()
                .insert(f.status);
            if let Some((b, s)) = f.clause {
                seen.clauses.insert((f.policy.clone(), b, s));
            }
        }
        let mut problems = check_expectations(case, &findings);
        let mut outcome = None;
        if let Some(snap) = &case.snapshot {
            let rel = |f: &str| relative_to(f, &dir);
            let actual = snapshot::render(&case.name, &findings, &rel);
            match snapshot_outcome(snap, &actual, opts.update) {
                Ok(SnapshotState::Same) => {}
                Ok(SnapshotState::Differs(diff)) => problems.push(diff),
                Ok(SnapshotState::Rewritten(diff)) => {
                    outcome = Some(Outcome::Updated {
                        path: snap.clone(),
                        diff,
                    })
                }
                Ok(SnapshotState::New { written }) => {
                    outcome = Some(Outcome::NewSnapshot {
                        path: snap.clone(),
                        written,
                    })
                }
                Err(e) => {
                    run.errors.push(e);
                    continue;
                }
            }
        }
        let outcome = if !problems.is_empty() {
            Outcome::Failed(problems)
        } else {
            outcome.unwrap_or(Outcome::Passed)
        };
        run.results.push(CaseResult {
            file: file.path.clone(),
            name: case.name.clone(),
            line: case.pos.line,
            outcome,
        });
    }
}

fn evaluate_case(
    case: &Case,
    policies: &[&Policy],
    detections: &[Detection],
    test_file: &Path,
) -> Result<Vec<Finding>, String> {
    let mut params = crate::eval::Params {
        values: case.params.iter().cloned().collect(),
        ..crate::eval::Params::default()
    };
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    for (name, path) in &case.lists {
        let l = crate::detect::lists::ThreatList::parse(
            name,
            &path.display().to_string(),
            &read(path)?,
        )
        .map_err(|e| e.to_string())?;
        params
            .engines
            .threat_lists
            .insert(name.clone(), std::sync::Arc::new(l));
    }
    if let Some(path) = &case.trusted_list {
        let l = crate::detect::lists::ThreatList::parse(
            "trusted",
            &path.display().to_string(),
            &read(path)?,
        )
        .map_err(|e| e.to_string())?;
        params.engines.trusted = Some(std::sync::Arc::new(l));
    }
    if let Some(path) = &case.aws_ip_ranges {
        let r = crate::detect::lists::parse_aws_ranges(&path.display().to_string(), &read(path)?)
            .map_err(|e| e.to_string())?;
        params.engines.aws_ranges = Some(std::sync::Arc::new(r));
    }
    let mut log_opts = crate::load::logs::LogOptions::default();
    if let Some(f) = &case.flowlog_format {
        log_opts.flowlog_format = Some(crate::load::logs::FlowFormat::parse_template(f)?);
    }
    if let Some(path) = &case.keystore {
        let root = match &case.root_key {
            Some(hex) => crate::kms::RootKey::from_hex(hex),
            None => crate::kms::RootKey::from_env_or_file(None),
        }
        .map_err(|e| format!("keystore {}: {e}", path.display()))?;
        let kms = crate::kms::Kms::open(path, root)
            .map_err(|e| format!("keystore {}: {e}", path.display()))?;
        params.engines.keys = Some(std::sync::Arc::new(kms));
    }
    if let Some(path) = &case.samples {
        params.engines.samples =
            crate::load::samples::read(&path.to_string_lossy()).map_err(|e| e.to_string())?;
    }
    if !case.inventory.is_empty() || !case.advisories.is_empty() {
        let mut inventories = Vec::new();
        for arg in &case.inventory {
            inventories.push(arg.read().map_err(|e| e.to_string())?);
        }
        let advisories = (!case.advisories.is_empty())
            .then(|| crate::inspector::packages::Advisories::load_many(&case.advisories));
        let scan = crate::inspector::packages::scan::PackageScan::new(inventories, advisories);
        if let Some(e) = scan.errors().next() {
            return Err(e.to_string());
        }
        params.engines.packages = Some(std::sync::Arc::new(scan));
    }
    let opts = ScanOptions {
        params,
        ..ScanOptions::default()
    };
    let mut logs = Vec::new();
    let (templates, inline_text) = match &case.input {
        Input::Template(text) => {
            let name = format!("{}#{}", test_file.display(), case.name);
            let t = load_source(&name, text).map_err(|e| e.to_string())?;
            if t.is_empty() {
                return Err(
                    "the inline template is neither a CloudFormation template nor a Terraform plan"
                        .into(),
                );
            }
            (t, Some(text.clone()))
        }
        Input::Files(files) => {
            let out = load_inputs(files);
            if let Some(e) = out.errors.first() {
                return Err(e.to_string());
            }
            if !out.logs.is_empty() {
                let d = crate::detect::run::run(detections, &out.logs, &opts.params, &log_opts);
                if let Some(e) = d.errors.first() {
                    return Err(e.to_string());
                }
                logs = d.findings;
            }
            (out.templates, None)
        }
    };
    // A case runs a subset of the policies; the evaluator takes them by value.
    let selected: Vec<Policy> = policies.iter().map(|p| (*p).clone()).collect();
    let outcome = evaluate_templates(
        &selected,
        &templates,
        &opts,
        None,
        &|path| match &inline_text {
            Some(t) => Some(t.clone()),
            None => std::fs::read_to_string(path).ok(),
        },
    );
    if let Some(e) = outcome.load_errors.first() {
        return Err(e.to_string());
    }
    let mut findings = outcome.findings;
    findings.extend(logs);
    let inventories = crate::scan::evaluate_inventories(&selected, &opts.params);
    findings.extend(inventories.findings);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(findings)
}

fn check_expectations(case: &Case, findings: &[Finding]) -> Vec<String> {
    let mut problems = Vec::new();
    let describe = |f: &Finding| {
        let key = f.key.as_ref().map_or(String::new(), |k| format!(" [{k}]"));
        format!(
            "{} at line {}{key}: {}",
            f.status.as_str(),
            f.line,
            f.message
        )
    };
    for (policy, resources) in &case.expect {
        for (resource, exps) in resources {
            let actual: Vec<&Finding> = findings
                .iter()
                .filter(|f| &f.policy == policy && &f.resource == resource)
                .collect();
            let mut used = vec![false; actual.len()];
            for exp in exps {
                let Some(want) = exp.status else {
                    for f in &actual {
                        problems.push(format!(
                            "{policy} › {resource}: expected no result, found {}",
                            describe(f)
                        ));
                    }
                    used.iter_mut().for_each(|u| *u = true);
                    continue;
                };
                let mut want_full = want.as_str().to_string();
                if let Some(l) = exp.line {
                    want_full.push_str(&format!(" at line {l}"));
                }
                if let Some(k) = &exp.key {
                    want_full.push_str(&format!(" [{k}]"));
                }
                if let Some(file) = &exp.file {
                    want_full.push_str(&format!(" in {file}"));
                }
                if let Some(c) = exp.count {
                    want_full.push_str(&format!(" counting {c} records"));
                }
                let matches = |f: &Finding| {
                    f.status == want
                        && exp.line.is_none_or(|l| l == f.line)
                        && exp
                            .key
                            .as_ref()
                            .is_none_or(|k| f.key.as_deref() == Some(k.as_str()))
                        && exp
                            .file
                            .as_ref()
                            .is_none_or(|x| f.file.ends_with(x.as_str()))
                        && exp.count.is_none_or(|c| alert_count(f) == Some(c))
                        && exp
                            .message
                            .as_ref()
                            .is_none_or(|m| f.message.contains(m.as_str()))
                };
                match actual.iter().enumerate().find(|(i, f)| !used[*i] && matches(f)) {
                    Some((i, _)) => used[i] = true,
                    None if actual.is_empty() => problems.push(format!(
                        "{policy} › {resource}: expected {want_full}, found no result (is the resource id right?)"
                    )),
                    None => {
                        let found: Vec<String> = actual.iter().map(|f| describe(f)).collect();
                        let mut p = format!("{policy} › {resource}: expected {want_full}, found {}", found.join("; "));
                        if let Some(m) = &exp.message {
                            p.push_str(&format!(" (message should contain {m:?})"));
                        }
                        problems.push(p);
                    }
                }
            }
            if case.strict {
                for (f, u) in actual.iter().zip(&used) {
                    if !u {
                        problems.push(format!(
                            "{policy} › {resource}: not expected, found {} (add it to `expect`, or set `strict: false`)",
                            describe(f)
                        ));
                    }
                }
            }
        }
        if case.strict {
            for f in findings
                .iter()
                .filter(|f| &f.policy == policy && !resources.contains_key(&f.resource))
            {
                problems.push(format!(
                    "{policy} › {}: not expected, found {} (add it to `expect`, or set `strict: false`)",
                    f.resource,
                    describe(f)
                ));
            }
        }
    }
    problems
}

/// The number of records a detection's alert counts (GuardDuty `service.count`).
fn alert_count(f: &Finding) -> Option<u64> {
    f.finding.as_ref()?.get("service")?.get("count")?.as_u64()
}

enum SnapshotState {
    Same,
    Differs(String),
    Rewritten(String),
    New { written: bool },
}

fn snapshot_outcome(path: &Path, actual: &str, update: bool) -> Result<SnapshotState, String> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(expected) => {
            if let Err(e) = snapshot::validate(path, &expected) {
                if !update {
                    return Err(e.to_string());
                }
            }
            if expected == actual {
                return Ok(SnapshotState::Same);
            }
            let diff = snapshot::unified_diff(&expected, actual, &name);
            if update {
                write(path, actual)?;
                Ok(SnapshotState::Rewritten(diff))
            } else {
                Ok(SnapshotState::Differs(format!(
                    "snapshot {name} differs (review, then run `deadbolt test --update` to accept):\n{diff}"
                )))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if update {
                write(path, actual)?;
            }
            Ok(SnapshotState::New { written: update })
        }
        Err(e) => Err(format!("{name}: cannot read the snapshot: {e}")),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    crate::report::atomic::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("{}: cannot write the snapshot: {e}", path.display()))
}

/// A finding's file shown relative to the test file's directory.
fn relative_to(file: &str, dir: &Path) -> String {
    // Inline templates are named `TESTFILE#CASE`.
    if file.contains('#') {
        return "inline".to_string();
    }
    let p = Path::new(file);
    let abs = |x: &Path| std::fs::canonicalize(x).unwrap_or_else(|_| x.to_path_buf());
    let (p, d) = (abs(p), abs(dir));
    let mut common = 0;
    let pc: Vec<_> = p.components().collect();
    let dc: Vec<_> = d.components().collect();
    while common < pc.len() && common < dc.len() && pc[common] == dc[common] {
        common += 1;
    }
    let mut out = PathBuf::new();
    for _ in common..dc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c);
    }
    out.to_string_lossy().replace('\\', "/")
}

fn coverage(checked: &Checked, seen: &Seen) -> Vec<PolicyCoverage> {
    let mut sorted: Vec<&Policy> = checked.policies.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let detections = checked.detections.iter().map(|d| {
        let st = seen.statuses.get(&d.id);
        PolicyCoverage {
            policy: d.id.clone(),
            file: d.file.clone(),
            pass: st.is_some_and(|s| s.contains(&Status::Pass)),
            fail: st.is_some_and(|s| s.contains(&Status::Fail)),
            undecided_clauses: Vec::new(),
        }
    });
    let mut all: Vec<PolicyCoverage> = sorted
        .into_iter()
        .map(|p| {
            let st = seen.statuses.get(&p.id);
            let mut undecided = Vec::new();
            for (b, block) in p.blocks.iter().enumerate() {
                for (s, stmt) in block.stmts.iter().enumerate() {
                    if let crate::compile::ir::Stmt::Require { text, .. } = stmt {
                        if !seen.clauses.contains(&(p.id.clone(), b, s)) {
                            let first = text.lines().next().unwrap_or("").trim();
                            let types = block.types.join(", ");
                            undecided.push(format!("[{types}] require {first}"));
                        }
                    }
                }
            }
            PolicyCoverage {
                policy: p.id.clone(),
                file: p.file.clone(),
                pass: st.is_some_and(|s| s.contains(&Status::Pass)),
                fail: st.is_some_and(|s| s.contains(&Status::Fail)),
                undecided_clauses: undecided,
            }
        })
        .collect();
    all.extend(detections);
    all.sort_by(|a, b| a.policy.cmp(&b.policy));
    all
}
