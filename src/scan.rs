//! The scan pipeline as a library call: load inputs, evaluate policies, collect
//! findings and errors. The CLI is a thin layer over this.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;

use crate::catalog;
use crate::compile::Policy;
use crate::doc::Template;
use crate::dsl::{check_sources, Checked, PolicySource};
use crate::eval::{evaluate, Params};
use crate::load::{process_inputs, LoadError};
use crate::result::{Finding, Status, Summary};
use crate::suppress::{self, baseline, waivers};

/// Compiles the built-in catalogue (no paths) or the policies under `paths`.
pub fn load_policies(paths: &[PathBuf]) -> Result<Checked, String> {
    let sources: Vec<PolicySource> = if paths.is_empty() {
        catalog::builtin_sources()
    } else {
        catalog::read_sources(paths)?
    };
    Ok(check_sources(&sources))
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub load_errors: Vec<LoadError>,
    /// Documents scanned: CloudFormation templates and Terraform plans.
    pub templates: usize,
    /// How many of `templates` are Terraform plans.
    pub plans: usize,
    pub resources: usize,
    pub skipped: usize,
    /// Log files read by the detections, and their records.
    pub logs: usize,
    pub records: usize,
    /// Expired waivers that matched a result (which is reported again).
    pub expired_waivers: Vec<waivers::Waiver>,
    /// Package inventories scanned (`--inventory`), their entries and packages.
    pub inventories: usize,
    pub inventory_entries: usize,
    pub packages: usize,
    /// Inventory entry names that a scanned template defines as a resource.
    pub defined: HashSet<String>,
}

/// Everything besides policies and inputs that shapes a scan's results.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub params: Params,
    pub waivers: Vec<waivers::Waiver>,
    /// The baseline's file name and entries.
    pub baseline: Option<(String, Vec<baseline::Entry>)>,
    pub today: waivers::Date,
    /// How logs are read (`--flowlog-format`).
    pub logs: crate::load::logs::LogOptions,
    /// Logs that are not among the paths (standard input).
    pub extra_logs: Vec<crate::load::LogFile>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            params: Params::default(),
            waivers: Vec::new(),
            baseline: None,
            today: waivers::Date::today(),
            logs: Default::default(),
            extra_logs: Vec::new(),
        }
    }
}

impl ScanOutcome {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.findings)
    }
}

/// Loads `paths` and evaluates `policies` over them (inline skips apply).
pub fn scan(
    policies: &[Policy],
    paths: &[PathBuf],
    params: &Params,
    done: Option<&AtomicUsize>,
) -> ScanOutcome {
    let opts = ScanOptions {
        params: params.clone(),
        ..ScanOptions::default()
    };
    scan_with(policies, paths, &opts, done)
}

/// Loads `paths`, evaluates `policies`, and applies inline skips, waivers and the
/// baseline. Each file is evaluated as soon as it is loaded and then dropped, so
/// memory follows the largest file, not the corpus.
pub fn scan_with(
    policies: &[Policy],
    paths: &[PathBuf],
    opts: &ScanOptions,
    done: Option<&AtomicUsize>,
) -> ScanOutcome {
    scan_all(policies, &[], paths, opts, done)
}

/// [`scan_with`], also running `detections` over the log files among the inputs.
pub fn scan_all(
    policies: &[Policy],
    detections: &[crate::compile::ir::Detection],
    paths: &[PathBuf],
    opts: &ScanOptions,
    done: Option<&AtomicUsize>,
) -> ScanOutcome {
    let packages = opts.params.engines.packages.as_deref();
    let defined: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let per_file = |templates: Vec<Template>, text: &str| {
        if let Some(p) = packages {
            note_defined(p, &templates, &defined);
        }
        // Waivers and the baseline are applied once, to the whole result, below.
        let outcome = evaluate_inline(policies, &templates, &opts.params, None, &|_| {
            Some(text.to_string())
        });
        if let Some(d) = done {
            d.fetch_add(templates.len(), std::sync::atomic::Ordering::Relaxed);
        }
        outcome
    };
    let load_opts = crate::load::LoadOptions {
        params: opts.params.values.clone(),
    };
    let processed = process_inputs(paths, &load_opts, &per_file);
    let (parts, errors, skipped) = (processed.results, processed.errors, processed.skipped);
    let mut outcome = ScanOutcome::default();
    let mut logs = processed.logs;
    logs.extend(opts.extra_logs.iter().cloned());
    if !logs.is_empty() {
        let d = crate::detect::run::run(detections, &logs, &opts.params, &opts.logs);
        outcome.findings.extend(d.findings);
        outcome.load_errors.extend(d.errors);
        outcome.logs = logs.len();
        outcome.records = d.records;
    }
    for p in parts {
        outcome.findings.extend(p.findings);
        outcome.load_errors.extend(p.load_errors);
        outcome.templates += p.templates;
        outcome.plans += p.plans;
        outcome.resources += p.resources;
    }
    if let Some(p) = packages {
        let inv = evaluate_inventories(policies, &opts.params);
        outcome.findings.extend(inv.findings);
        outcome.inventories = p.inventories.len();
        outcome.inventory_entries = p.entry_count();
        outcome.packages = p.package_count();
        outcome.load_errors.extend(p.errors().cloned());
    }
    outcome.defined = defined.into_inner().unwrap_or_else(|e| e.into_inner());
    outcome
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    apply_waivers_and_baseline(&mut outcome, opts);
    outcome.load_errors.extend(errors);
    outcome
        .load_errors
        .sort_by(|a, b| (&a.path, a.line(), a.col()).cmp(&(&b.path, b.line(), b.col())));
    outcome.skipped = skipped.len();
    outcome
}

/// Records which inventory entry names the templates define as resources.
pub fn note_defined(
    packages: &crate::inspector::packages::scan::PackageScan,
    templates: &[Template],
    defined: &Mutex<HashSet<String>>,
) {
    let found: Vec<String> = templates
        .iter()
        .flat_map(|t| t.resources.iter())
        .filter(|r| !packages.entries_for(&r.id).is_empty())
        .map(|r| r.id.clone())
        .collect();
    if !found.is_empty() {
        defined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(found);
    }
}

/// Evaluates the policies over the entries of every inventory (`--inventory`):
/// each inventory is a document of `Deadbolt::Inventory::Entry` resources.
pub fn evaluate_inventories(policies: &[Policy], params: &Params) -> ScanOutcome {
    let mut outcome = ScanOutcome::default();
    let Some(p) = params.engines.packages.as_deref() else {
        return outcome;
    };
    for inv in &p.inventories {
        let tpl = crate::inspector::packages::entries::template(inv);
        outcome
            .findings
            .extend(crate::eval::evaluate_resources_parallel(
                policies, &tpl, params,
            ));
    }
    outcome.inventories = p.inventories.len();
    outcome.inventory_entries = p.entry_count();
    outcome.packages = p.package_count();
    outcome
}

/// A warning per inventory whose entries name no resource of the scanned
/// templates (a typo, or a host outside them); only when templates were scanned.
pub fn inventory_warnings(outcome: &ScanOutcome, params: &Params) -> Vec<LoadError> {
    let Some(p) = params.engines.packages.as_deref() else {
        return Vec::new();
    };
    if outcome.templates == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for inv in &p.inventories {
        let missing: Vec<&crate::inspector::packages::Entry> = inv
            .entries
            .iter()
            .filter(|e| !outcome.defined.contains(&e.resource))
            .collect();
        let Some(first) = missing.first() else {
            continue;
        };
        let mut names: Vec<String> = missing
            .iter()
            .take(10)
            .map(|e| format!("{} (line {})", e.resource, e.pos.line))
            .collect();
        if missing.len() > 10 {
            names.push(format!("and {} more", missing.len() - 10));
        }
        out.push(LoadError::at(
            &inv.path,
            first.pos,
            format!(
                "{} of {} inventory entries name no resource of the scanned templates: {}; check the names (policies on Deadbolt::Inventory::Entry, such as package-vulnerability, still check these entries)",
                missing.len(),
                inv.entries.len(),
                names.join(", ")
            ),
        ));
    }
    out
}

/// Evaluates already loaded templates and applies suppressions. `source` gives a
/// file's text, for skips written as YAML comments.
pub fn evaluate_templates(
    policies: &[Policy],
    templates: &[Template],
    opts: &ScanOptions,
    done: Option<&AtomicUsize>,
    source: &dyn Fn(&str) -> Option<String>,
) -> ScanOutcome {
    let mut outcome = evaluate_inline(policies, templates, &opts.params, done, source);
    apply_waivers_and_baseline(&mut outcome, opts);
    outcome
}

fn apply_waivers_and_baseline(outcome: &mut ScanOutcome, opts: &ScanOptions) {
    outcome.expired_waivers =
        waivers::apply(&mut outcome.findings, &opts.waivers, opts.today).expired;
    if let Some((name, entries)) = &opts.baseline {
        baseline::apply(&mut outcome.findings, entries, name);
    }
}

/// Evaluates templates and applies their inline skips. Linear in the number of
/// templates and findings: a file's text is fetched and split once, and each
/// template's findings are the contiguous run that the sort order gives them.
fn evaluate_inline(
    policies: &[Policy],
    templates: &[Template],
    params: &Params,
    done: Option<&AtomicUsize>,
    source: &dyn Fn(&str) -> Option<String>,
) -> ScanOutcome {
    let mut findings = evaluate(policies, templates, params, done);
    let mut load_errors = Vec::new();
    let mut runs: HashMap<(String, usize), Range<usize>> = HashMap::new();
    let mut i = 0;
    while i < findings.len() {
        let start = i;
        while i < findings.len()
            && findings[i].file == findings[start].file
            && findings[i].document == findings[start].document
        {
            i += 1;
        }
        runs.insert(
            (findings[start].file.clone(), findings[start].document),
            start..i,
        );
    }
    let run = |tpl: &Template| {
        runs.get(&(tpl.path.to_string(), tpl.doc_index))
            .cloned()
            .unwrap_or(0..0)
    };
    // Templates of one file are consecutive (one per YAML document).
    for group in templates.chunk_by(|a, b| a.path == b.path) {
        let relevant = |tpl: &Template, findings: &[Finding]| {
            findings[run(tpl)]
                .iter()
                .any(|f| matches!(f.status, Status::Fail | Status::Unknown))
        };
        let is_yaml = !group[0].path.ends_with(".json");
        let text = if is_yaml && group.iter().any(|t| relevant(t, &findings)) {
            source(&group[0].path)
        } else {
            None
        };
        let lines: Vec<&str> = text
            .as_deref()
            .map(|t| t.lines().collect())
            .unwrap_or_default();
        for tpl in group {
            let has_metadata = tpl.resources.iter().any(|r| r.metadata.is_some());
            let rel = relevant(tpl, &findings);
            if !rel && !has_metadata {
                continue;
            }
            let (skips, errors) =
                suppress::inline::collect_lines(tpl, if rel { &lines } else { &[] });
            load_errors.extend(errors);
            suppress::inline::apply(&mut findings[run(tpl)], tpl, &skips);
        }
    }
    ScanOutcome {
        findings,
        load_errors,
        templates: templates.len(),
        plans: templates
            .iter()
            .filter(|t| t.kind == crate::doc::TemplateKind::TerraformPlan)
            .count(),
        resources: templates.iter().map(|t| t.resources.len()).sum(),
        skipped: 0,
        expired_waivers: Vec::new(),
        logs: 0,
        records: 0,
        ..ScanOutcome::default()
    }
}

/// Parses `NAME=VALUE`.
pub fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// Reads a parameters file: a JSON object `{"Name": "Value"}` or the CloudFormation
/// CLI form `[{"ParameterKey": "Name", "ParameterValue": "Value"}]`.
pub fn read_params_file(path: &str) -> Result<Vec<(String, String)>, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(path, format!("cannot read parameters file: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        LoadError::at(
            path,
            crate::doc::Pos::new(e.line() as u32, e.column().max(1) as u32),
            format!("invalid JSON in parameters file: {e}"),
        )
    })?;
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Array(a) => Some(
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    };
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                scalar(v).map(|s| (k.clone(), s)).ok_or_else(|| {
                    LoadError::file(path, format!("parameter {k} must be a string, number or list"))
                })
            })
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let k = item.get("ParameterKey").and_then(|k| k.as_str());
                let v = item.get("ParameterValue").and_then(scalar);
                match (k, v) {
                    (Some(k), Some(v)) => Ok((k.to_string(), v)),
                    _ => Err(LoadError::file(
                        path,
                        format!("item {} needs ParameterKey and ParameterValue", i + 1),
                    )),
                }
            })
            .collect(),
        _ => Err(LoadError::file(
            path,
            "expected a JSON object {\"Name\": \"Value\"} or a list of {\"ParameterKey\", \"ParameterValue\"}",
        )),
    }
}
