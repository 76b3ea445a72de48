//! Baselines: record today's failures so that CI reports only new ones.
//! Entries are keyed by fingerprint, which ignores line shifts.

use serde::{Deserialize, Serialize};

use crate::load::{parse_json, LoadError};
use crate::result::{Finding, Status};

const TOOL: &str = "deadbolt";
const VERSION: u64 = 1;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Entry {
    pub fingerprint: String,
    pub policy: String,
    pub resource: String,
    pub file: String,
}

#[derive(Serialize)]
struct File<'a> {
    tool: &'static str,
    version: u64,
    results: &'a [Entry],
}

/// The baseline file for the current failures (sorted, so it diffs well).
pub fn render(findings: &[Finding]) -> String {
    let mut entries: Vec<Entry> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| Entry {
            fingerprint: f.fingerprint.clone(),
            policy: f.policy.clone(),
            resource: f.resource.clone(),
            file: f.file.clone(),
        })
        .collect();
    entries
        .sort_by(|a, b| (&a.file, &a.policy, &a.resource).cmp(&(&b.file, &b.policy, &b.resource)));
    entries.dedup();
    let mut s = serde_json::to_string_pretty(&File {
        tool: TOOL,
        version: VERSION,
        results: &entries,
    })
    .expect("baseline serializes");
    s.push('\n');
    s
}

/// Reads a baseline written by `--write-baseline`. Anything else is an error that
/// names the file and the line.
pub fn read(path: &str) -> Result<Vec<Entry>, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(path, format!("cannot read the baseline: {e}")))?;
    parse(path, &text)
}

pub fn parse(path: &str, text: &str) -> Result<Vec<Entry>, LoadError> {
    let hint = "not a deadbolt baseline; write one with `deadbolt scan ... --write-baseline FILE`";
    let root = parse_json(text, path)
        .map_err(|e| LoadError::new(path, e.pos, format!("{hint} ({})", e.message)))?;
    match root.entry("tool") {
        Some(t) if t.value.as_str() == Some(TOOL) => {}
        Some(t) => {
            return Err(LoadError::at(
                path,
                t.value.pos,
                format!(
                    "baseline written by `{}`, {hint}",
                    t.value.as_str().unwrap_or("?")
                ),
            ))
        }
        None => {
            return Err(LoadError::at(
                path,
                root.pos,
                format!("no \"tool\": \"deadbolt\" field: {hint}"),
            ))
        }
    }
    match root.entry("version") {
        Some(v) if matches!(v.value.node, crate::doc::Node::Int(1)) => {}
        Some(v) => {
            return Err(LoadError::at(
                path,
                v.value.pos,
                "unsupported baseline version; this deadbolt reads version 1",
            ))
        }
        None => {
            return Err(LoadError::at(
                path,
                root.pos,
                format!("no \"version\" field: {hint}"),
            ))
        }
    }
    let list = root
        .get("results")
        .and_then(|r| r.as_seq())
        .ok_or_else(|| LoadError::at(path, root.pos, "expected \"results\": a list of entries"))?;
    let mut out = Vec::new();
    for item in list {
        let field = |k: &str| item.get(k).and_then(|v| v.as_str()).map(str::to_string);
        match (
            field("fingerprint"),
            field("policy"),
            field("resource"),
            field("file"),
        ) {
            (Some(fingerprint), Some(policy), Some(resource), Some(file)) => out.push(Entry {
                fingerprint,
                policy,
                resource,
                file,
            }),
            _ => {
                return Err(LoadError::at(
                    path,
                    item.pos,
                    "expected an entry with fingerprint, policy, resource and file",
                ))
            }
        }
    }
    Ok(out)
}

/// Marks failures (and unknowns) already in the baseline as skipped.
pub fn apply(findings: &mut [Finding], baseline: &[Entry], origin: &str) {
    let known: std::collections::HashSet<&str> =
        baseline.iter().map(|e| e.fingerprint.as_str()).collect();
    for f in findings
        .iter_mut()
        .filter(|f| matches!(f.status, Status::Fail | Status::Unknown))
    {
        if known.contains(f.fingerprint.as_str()) {
            super::skip(f, format!("in baseline {origin}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_tools_file_is_refused_with_its_line() {
        let sarif = "{\n  \"version\": \"2.1.0\",\n  \"runs\": []\n}\n";
        let e = parse("b.json", sarif).unwrap_err();
        assert!(
            e.message.contains("not a deadbolt baseline"),
            "{}",
            e.message
        );
        let other = "{\n  \"tool\": \"checkov\",\n  \"version\": 1\n}\n";
        let e = parse("b.json", other).unwrap_err();
        assert_eq!(e.line(), 2);
        assert!(e.message.contains("checkov"), "{}", e.message);
        let garbage = "not json at all";
        assert!(parse("b.json", garbage)
            .unwrap_err()
            .message
            .contains("not a deadbolt baseline"));
    }
}
