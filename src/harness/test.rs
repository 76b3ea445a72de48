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
        run.errors.push(d.short());
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
    let ids: Vec<&str> = checked.policies.iter().map(|p| p.id.as_str()).collect();
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
        run_file(&file, &checked.policies, opts, &mut run, &mut seen);
    }
    run.coverage = coverage(&checked.policies, &seen);
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
    policies: &[Policy],
    opts: &TestOptions,
    run: &mut TestRun,
    seen: &mut Seen,
) {
    let dir = file.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    for case in &file.cases {
        let selected: Vec<&Policy> = if case.policies.is_empty() {
            policies.iter().collect()
        } else {
            policies
                .iter()
                .filter(|p| case.policies.contains(&p.id))
                .collect()
        };
        let findings = match evaluate_case(case, &selected, &file.path) {
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
    test_file: &Path,
) -> Result<Vec<Finding>, String> {
    let mut params = crate::eval::Params {
        values: case.params.iter().cloned().collect(),
        ..crate::eval::Params::default()
    };
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
    let opts = ScanOptions {
        params,
        ..ScanOptions::default()
    };
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
    Ok(outcome.findings)
}

fn check_expectations(case: &Case, findings: &[Finding]) -> Vec<String> {
    let mut problems = Vec::new();
    for (policy, resources) in &case.expect {
        for (resource, exp) in resources {
            let actual: Vec<&Finding> = findings
                .iter()
                .filter(|f| &f.policy == policy && &f.resource == resource)
                .collect();
            let want = match exp.status {
                Some(s) => s.as_str().to_string(),
                None => "no result".to_string(),
            };
            let want_full = match exp.line {
                Some(l) => format!("{want} at line {l}"),
                None => want.clone(),
            };
            if actual.is_empty() {
                if exp.status.is_some() {
                    problems.push(format!("{policy} › {resource}: expected {want_full}, found no result (is the resource id right?)"));
                }
                continue;
            }
            if exp.status.is_none() {
                for f in &actual {
                    problems.push(format!(
                        "{policy} › {resource}: expected no result, found {} at line {}: {}",
                        f.status.as_str(),
                        f.line,
                        f.message
                    ));
                }
                continue;
            }
            for f in &actual {
                let status_ok = Some(f.status) == exp.status;
                let line_ok = exp.line.is_none_or(|l| l == f.line);
                let msg_ok = exp
                    .message
                    .as_ref()
                    .is_none_or(|m| f.message.contains(m.as_str()));
                if !(status_ok && line_ok && msg_ok) {
                    let mut p = format!(
                        "{policy} › {resource}: expected {want_full}, found {} at line {}: {}",
                        f.status.as_str(),
                        f.line,
                        f.message
                    );
                    if !msg_ok {
                        p.push_str(&format!(
                            " (message should contain {:?})",
                            exp.message.as_deref().unwrap_or("")
                        ));
                    }
                    problems.push(p);
                }
            }
        }
        if case.strict {
            for f in findings
                .iter()
                .filter(|f| &f.policy == policy && !resources.contains_key(&f.resource))
            {
                problems.push(format!(
                    "{policy} › {}: not expected, found {} at line {}: {} (add it to `expect`, or set `strict: false`)",
                    f.resource,
                    f.status.as_str(),
                    f.line,
                    f.message
                ));
            }
        }
    }
    problems
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

fn coverage(policies: &[Policy], seen: &Seen) -> Vec<PolicyCoverage> {
    let mut sorted: Vec<&Policy> = policies.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted
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
        .collect()
}
