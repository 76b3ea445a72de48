//! The scan pipeline as a library call: load inputs, evaluate policies, collect
//! findings and errors. The CLI is a thin layer over this.

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;

use crate::catalog;
use crate::compile::Policy;
use crate::dsl::{check_sources, Checked, PolicySource};
use crate::eval::{evaluate, Params};
use crate::load::{load_inputs, LoadError, LoadOutcome};
use crate::result::{Finding, Summary};

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
    pub templates: usize,
    pub resources: usize,
    pub skipped: usize,
}

impl ScanOutcome {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.findings)
    }
}

/// Loads `paths` and evaluates `policies` over them.
pub fn scan(
    policies: &[Policy],
    paths: &[PathBuf],
    params: &Params,
    done: Option<&AtomicUsize>,
) -> ScanOutcome {
    let LoadOutcome {
        templates,
        errors,
        skipped,
    } = load_inputs(paths);
    let findings = evaluate(policies, &templates, params, done);
    ScanOutcome {
        findings,
        load_errors: errors,
        templates: templates.len(),
        resources: templates.iter().map(|t| t.resources.len()).sum(),
        skipped: skipped.len(),
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
pub fn read_params_file(path: &str) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{path}: cannot read parameters file: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{path}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
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
                scalar(v)
                    .map(|s| (k.clone(), s))
                    .ok_or_else(|| format!("{path}: parameter {k} must be a string, number or list"))
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
                    _ => Err(format!("{path}: item {} needs ParameterKey and ParameterValue", i + 1)),
                }
            })
            .collect(),
        _ => Err(format!(
            "{path}: expected a JSON object {{\"Name\": \"Value\"}} or a list of {{\"ParameterKey\", \"ParameterValue\"}}"
        )),
    }
}
