//! OSV advisories (https://ossf.github.io/osv-schema/): a directory of JSON
//! files, read in parallel and one at a time (never all in memory), indexed by
//! (ecosystem, package name).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;

use super::ecosystem::{advisory_key, normalize_name};
use crate::doc::Pos;
use crate::inspector::cvss;
use crate::inspector::ports::Severity;
use crate::inspector::version::{Scheme, Version};
use crate::load::LoadError;

/// How much of an advisory's `details` is kept for finding descriptions.
pub const MAX_DETAILS: usize = 2000;

#[derive(Deserialize)]
struct RawRecord {
    id: String,
    #[allow(dead_code)] // required by the schema: a record without it is not OSV
    modified: String,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    /// OSV 1.7: the upstream records this one derives from (Ubuntu's
    /// `UBUNTU-CVE-2023-2650`), which name the CVEs when `aliases` does not.
    #[serde(default)]
    upstream: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
    #[serde(default)]
    ecosystem_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub kind: EventKind,
    pub raw: String,
    /// None for `introduced: "0"` (before every version).
    pub version: Option<Version>,
}

#[derive(Clone, Debug)]
pub struct Range {
    pub events: Vec<Event>,
    /// Why this range cannot be evaluated (a version that does not parse).
    pub broken: Option<String>,
}

/// One `affected[]` entry.
#[derive(Clone, Debug)]
pub struct Affected {
    pub advisory: usize,
    pub ecosystem: String,
    pub name: String,
    pub scheme: Scheme,
    pub ranges: Vec<Range>,
    pub versions: Vec<String>,
    pub severity: Option<Severity>,
    /// Binary packages built from `name` (Ubuntu's `ecosystem_specific.binaries`).
    pub binaries: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct CvssEntry {
    pub version: String,
    pub vector: String,
    pub base_score: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub severity: Severity,
    pub cvss: Vec<CvssEntry>,
    pub references: Vec<String>,
    pub file: String,
    pub pos: Pos,
}

/// Every advisory of a directory, indexed for matching.
#[derive(Debug, Default)]
pub struct Advisories {
    pub advisories: Vec<Advisory>,
    pub affected: Vec<Affected>,
    index: HashMap<(String, String), Vec<usize>>,
    /// Files read.
    pub files: usize,
    /// Files that are not OSV, and versions that do not parse (the rest is still loaded).
    pub errors: Vec<LoadError>,
    pub withdrawn: usize,
}

struct Parsed {
    advisory: Advisory,
    affected: Vec<Affected>,
    errors: Vec<LoadError>,
}

/// The highest severity of the CVEs an Ubuntu record lists per ecosystem
/// (`database_specific.cves_map.cves[].severity[]`: CVSS vectors and Ubuntu
/// priorities), the CVSS score winning over the priority for each CVE.
fn cves_map_severity(db: Option<&serde_json::Value>) -> Option<Severity> {
    let cves = db?.get("cves_map")?.get("cves")?.as_array()?;
    cves.iter()
        .filter_map(|c| {
            let sev = c.get("severity")?.as_array()?;
            let score = |kind: &str| {
                sev.iter()
                    .filter(|s| s.get("type").and_then(|t| t.as_str()) == Some(kind))
                    .filter_map(|s| s.get("score").and_then(|x| x.as_str()))
                    .collect::<Vec<_>>()
            };
            let cvss = score("CVSS_V3")
                .into_iter()
                .chain(score("CVSS_V4"))
                .filter_map(|v| cvss::parse_v3(v).ok())
                .map(|c| cvss::rating(c.base_score))
                .max();
            cvss.or_else(|| {
                score("Ubuntu")
                    .into_iter()
                    .filter_map(Severity::parse)
                    .max()
            })
        })
        .max()
}

/// Severity of a label such as `HIGH`, `MODERATE`, or an Ubuntu priority.
fn label(v: Option<&serde_json::Value>) -> Option<Severity> {
    v?.get("severity")?.as_str().and_then(Severity::parse)
}

fn cvss_entries(sev: &[RawSeverity]) -> Vec<CvssEntry> {
    sev.iter()
        .filter(|s| s.kind.starts_with("CVSS"))
        .map(|s| {
            let v3 = cvss::parse_v3(&s.score).ok();
            CvssEntry {
                version: v3
                    .as_ref()
                    .map(|c| c.version.clone())
                    .unwrap_or_else(|| s.kind.trim_start_matches("CVSS_V").to_string()),
                vector: s.score.clone(),
                base_score: v3.map(|c| c.base_score),
            }
        })
        .collect()
}

/// The line of the first occurrence of `needle` in `text` (for errors about a
/// value deep in a record, whose exact position serde does not keep).
fn line_of(text: &str, needle: &str) -> Pos {
    match text.find(needle) {
        Some(off) => {
            let line = text[..off].bytes().filter(|b| *b == b'\n').count() as u32 + 1;
            let col = (off - text[..off].rfind('\n').map_or(0, |n| n + 1)) as u32 + 1;
            Pos::new(line, col)
        }
        None => Pos::new(1, 1),
    }
}

fn parse_record(path: &str, text: &str, value: RawRecord, index: usize) -> Parsed {
    let mut errors = Vec::new();
    let pos = line_of(text, &format!("\"{}\"", value.id));
    let db_sev = label(value.database_specific.as_ref());
    let cvss = cvss_entries(&value.severity);
    let ubuntu = value
        .severity
        .iter()
        .find(|s| s.kind == "Ubuntu")
        .and_then(|s| Severity::parse(&s.score));
    let computed = cvss
        .iter()
        .filter_map(|c| c.base_score)
        .map(cvss::rating)
        .max();
    // AlmaLinux and Rocky Linux keep Red Hat's rating in the summary
    // ("Important: kernel security update").
    let rated_summary = value
        .summary
        .as_deref()
        .and_then(|s| s.split_once(':'))
        .filter(|(w, _)| matches!(*w, "Low" | "Moderate" | "Important" | "Critical"))
        .and_then(|(w, _)| Severity::parse(w));
    let severity = db_sev
        .or(computed)
        .or(ubuntu)
        .or(rated_summary)
        .unwrap_or(Severity::Untriaged);
    let mut affected = Vec::new();
    for a in value.affected {
        let Some(pkg) = a.package else { continue };
        let Some(scheme) = Scheme::for_ecosystem(&pkg.ecosystem) else {
            continue; // an ecosystem no inventory manager maps to
        };
        let mut ranges = Vec::new();
        for r in a.ranges {
            let range_scheme = match r.kind.as_str() {
                "SEMVER" => Scheme::Semver,
                "ECOSYSTEM" => scheme,
                _ => continue, // GIT ranges name commits, not versions
            };
            let mut events = Vec::new();
            let mut broken = None;
            for e in r.events {
                for (k, v) in e {
                    let kind = match k.as_str() {
                        "introduced" => EventKind::Introduced,
                        "fixed" => EventKind::Fixed,
                        "last_affected" => EventKind::LastAffected,
                        "limit" => EventKind::Limit,
                        _ => continue,
                    };
                    let Some(raw) = v.as_str() else { continue };
                    let version = if kind == EventKind::Introduced && raw == "0" {
                        None
                    } else if kind == EventKind::Limit && raw == "*" {
                        continue;
                    } else {
                        match range_scheme.parse(raw.trim_start_matches(
                            if range_scheme == Scheme::Semver {
                                "v"
                            } else {
                                ""
                            },
                        )) {
                            Ok(v) => Some(v),
                            Err(e) => {
                                errors.push(LoadError::at(
                                    path,
                                    line_of(text, &format!("\"{raw}\"")),
                                    format!("advisory {}: {e}", value.id),
                                ));
                                broken = Some(format!(
                                    "advisory {} has a {} version that does not parse ({raw:?})",
                                    value.id, range_scheme
                                ));
                                None
                            }
                        }
                    };
                    events.push(Event {
                        kind,
                        raw: raw.to_string(),
                        version,
                    });
                }
            }
            ranges.push(Range { events, broken });
        }
        let aff_sev = label(a.database_specific.as_ref())
            .or(label(a.ecosystem_specific.as_ref()))
            .or(cvss_entries(&a.severity)
                .iter()
                .filter_map(|c| c.base_score)
                .map(cvss::rating)
                .max())
            .or(cves_map_severity(a.database_specific.as_ref()));
        // Ubuntu names the binary packages each source package builds
        // (`libssl3` of `openssl`): a `dpkg-query -W` listing without the
        // source column still matches.
        let binaries: Vec<String> = a
            .ecosystem_specific
            .as_ref()
            .and_then(|e| e.get("binaries"))
            .and_then(|b| b.as_array())
            .map(|list| {
                list.iter()
                    .filter_map(|b| b.get("binary_name").and_then(|n| n.as_str()))
                    .filter(|n| *n != pkg.name)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        affected.push(Affected {
            advisory: index,
            ecosystem: pkg.ecosystem.clone(),
            name: pkg.name,
            scheme,
            ranges,
            versions: a.versions,
            severity: aff_sev,
            binaries,
        });
    }
    let details = value.details.map(|d| {
        if d.len() > MAX_DETAILS {
            let mut cut = MAX_DETAILS;
            while !d.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}…", &d[..cut])
        } else {
            d
        }
    });
    Parsed {
        advisory: Advisory {
            id: value.id,
            aliases: {
                let mut a = value.aliases;
                for u in value.upstream {
                    let cve = u.find("CVE-").map(|i| u[i..].to_string()).unwrap_or(u);
                    if !a.contains(&cve) {
                        a.push(cve);
                    }
                }
                a
            },
            summary: value.summary,
            details,
            severity,
            cvss,
            references: value.references.into_iter().filter_map(|r| r.url).collect(),
            file: path.to_string(),
            pos,
        },
        affected,
        errors,
    }
}

/// Parse one file: an OSV record, or a JSON list of records.
fn parse_file(path: &str, text: &str) -> Result<Vec<(RawRecord, bool)>, LoadError> {
    let expected = "expected an OSV record (an object with \"id\" and \"modified\", see ossf.github.io/osv-schema)";
    let err = |e: serde_json::Error| {
        LoadError::at(
            path,
            Pos::new(e.line().max(1) as u32, e.column().max(1) as u32),
            format!("not an OSV advisory: {e}; {expected}"),
        )
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let list: Vec<RawRecord> = serde_json::from_str(text).map_err(err)?;
        Ok(list.into_iter().map(|r| (r, true)).collect())
    } else if trimmed.starts_with('{') {
        let r: RawRecord = serde_json::from_str(text).map_err(err)?;
        Ok(vec![(r, false)])
    } else {
        Err(LoadError::file(
            path,
            format!("not an OSV advisory: not JSON; {expected}"),
        ))
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) => {
                errors.push(LoadError::file(
                    d.to_string_lossy(),
                    format!("cannot read the advisories directory: {e}"),
                ));
                continue;
            }
        };
        for entry in rd.flatten() {
            let p = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(_) if p.extension().is_some_and(|e| e == "json") => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
}

impl Advisories {
    /// Load every `*.json` under `dir` (or the one file `dir` names).
    pub fn load(dir: &Path) -> Advisories {
        Advisories::load_many(std::slice::from_ref(&dir.to_path_buf()))
    }

    /// Load every `*.json` under each of `dirs` (directories or files) into
    /// one index: Debian's and GitHub's advisories side by side.
    pub fn load_many(dirs: &[PathBuf]) -> Advisories {
        let mut errors = Vec::new();
        let mut files = Vec::new();
        for dir in dirs {
            let before = files.len();
            let errors_before = errors.len();
            if dir.is_file() {
                files.push(dir.to_path_buf());
            } else if dir.is_dir() {
                walk(dir, &mut files, &mut errors);
            } else {
                errors.push(LoadError::file(
                    dir.to_string_lossy(),
                    "no such advisories file or directory",
                ));
            }
            if files.len() == before && errors.len() == errors_before {
                errors.push(LoadError::file(
                    dir.to_string_lossy(),
                    "the advisories directory holds no .json files",
                ));
            }
        }
        files.sort();
        files.dedup();
        let parsed: Vec<Result<(Vec<Parsed>, usize), LoadError>> = files
            .par_iter()
            .map(|p| {
                let display = p.to_string_lossy().into_owned();
                let text = std::fs::read_to_string(p)
                    .map_err(|e| LoadError::file(&display, format!("cannot read: {e}")))?;
                let records = parse_file(&display, &text)?;
                let withdrawn = records
                    .iter()
                    .filter(|(r, _)| r.withdrawn.is_some())
                    .count();
                let parsed = records
                    .into_iter()
                    .filter(|(r, _)| r.withdrawn.is_none())
                    .map(|(r, _)| parse_record(&display, &text, r, 0))
                    .collect();
                Ok((parsed, withdrawn))
            })
            .collect();
        let mut out = Advisories {
            files: files.len(),
            errors,
            ..Default::default()
        };
        for r in parsed {
            match r {
                Ok((list, withdrawn)) => {
                    out.withdrawn += withdrawn;
                    for p in list {
                        out.add(p);
                    }
                }
                Err(e) => out.errors.push(e),
            }
        }
        out
    }

    /// Advisories from in-memory text (one file).
    pub fn from_text(path: &str, text: &str) -> Advisories {
        let mut out = Advisories {
            files: 1,
            ..Default::default()
        };
        match parse_file(path, text) {
            Ok(list) => {
                for (r, _) in list {
                    if r.withdrawn.is_some() {
                        out.withdrawn += 1;
                        continue;
                    }
                    let p = parse_record(path, text, r, 0);
                    out.add(p);
                }
            }
            Err(e) => out.errors.push(e),
        }
        out
    }

    fn add(&mut self, p: Parsed) {
        self.errors.extend(p.errors);
        let index = self.advisories.len();
        self.advisories.push(p.advisory);
        for mut a in p.affected {
            a.advisory = index;
            let key = advisory_key(&a.ecosystem);
            for name in std::iter::once(&a.name).chain(a.binaries.iter()) {
                let list = self
                    .index
                    .entry((key.clone(), normalize_name(&key, name)))
                    .or_default();
                if !list.contains(&self.affected.len()) {
                    list.push(self.affected.len());
                }
            }
            self.affected.push(a);
        }
    }

    /// `affected` entries for a package in an ecosystem key.
    pub fn lookup(&self, key: &str, name: &str) -> &[usize] {
        self.index
            .get(&(key.to_string(), normalize_name(key, name)))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}
