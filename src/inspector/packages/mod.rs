//! Vulnerable packages: inventories matched against OSV advisories with each
//! ecosystem's version ordering.

pub mod ecosystem;
pub mod entries;
pub mod inventory;
pub mod osv;
pub mod scan;

use crate::doc::Pos;
use crate::inspector::ports::Severity;
use crate::inspector::version::Version;
use crate::load::LoadError;

pub use inventory::{Entry, Inventory, InventoryArg, Package};
pub use osv::{Advisories, Advisory};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackageStatus {
    /// The installed version is in an affected range (or listed).
    Vulnerable,
    /// Cannot tell: the installed version or an advisory version does not parse.
    Unknown(String),
}

/// One (resource, advisory, package) result.
#[derive(Clone, Debug)]
pub struct PackageFinding {
    pub resource: String,
    pub inventory: String,
    /// Index of the entry in `Inventory::entries`.
    pub entry: usize,
    pub package: Package,
    /// The OSV ecosystem of the matching `affected[]` entry.
    pub ecosystem: String,
    /// Index into `Advisories::advisories`.
    pub advisory: usize,
    pub advisory_id: String,
    /// The first fixed version above the installed one, if the advisory has one.
    pub fixed: Option<String>,
    pub severity: Severity,
    pub status: PackageStatus,
    pub pos: Pos,
}

impl PackageFinding {
    /// `upgrade NAME to FIXED`, or why there is no upgrade.
    pub fn remediation(&self) -> String {
        match &self.fixed {
            Some(f) => format!("upgrade {} to {f}", self.package.name),
            None => format!(
                "no fixed version of {} is published; remove the package or mitigate {}",
                self.package.name, self.advisory_id
            ),
        }
    }

    /// The Inspector v2 finding (`list-findings` shape).
    pub fn finding(&self, advisories: &Advisories) -> serde_json::Value {
        crate::inspector::finding::package_finding(self, &advisories.advisories[self.advisory])
    }
}

/// Everything a match produced.
#[derive(Clone, Debug, Default)]
pub struct PackageReport {
    /// Vulnerable and unknown results, in inventory order then advisory id.
    pub findings: Vec<PackageFinding>,
    /// Inventory lines that could not be matched (versions that do not parse,
    /// unknown managers, entries without an OS).
    pub errors: Vec<LoadError>,
    /// Packages checked.
    pub checked: usize,
    /// Packages that could not be matched at all, by entry and manager.
    pub unmatched: Vec<Unmatched>,
}

/// Packages of one entry and manager that no advisory can be matched against
/// (no OS, an unknown manager): their results are unknown.
#[derive(Clone, Debug)]
pub struct Unmatched {
    pub entry: usize,
    pub manager: String,
    pub reason: String,
    pub packages: usize,
    /// The first such package.
    pub pos: Pos,
}

/// The advisory keys and version ordering of a manager on an OS, or why none.
type Keys = Result<(Vec<String>, crate::inspector::version::Scheme), String>;

enum Verdict {
    Affected(Option<String>),
    Clear,
    Unknown(String),
}

/// Whether `v` is affected by one `affected[]` entry (OSV's evaluation: events
/// sorted by version, the last one at or below `v` decides; `limit`s bound a range).
fn evaluate(a: &osv::Affected, v: &Version, raw: &str) -> Verdict {
    use std::cmp::Ordering::{Equal, Greater, Less};
    // The installed version against an advisory version (epochs only when written).
    let epoch_written = raw.contains(':');
    let cmp = |x: &Version| v.cmp_installed(x, epoch_written);
    let listed = a
        .versions
        .iter()
        .any(|x| x == raw || a.scheme.parse(x).is_ok_and(|p| cmp(&p) == Equal));
    let mut unknown: Option<String> = None;
    let mut hit = listed;
    let mut fixed: Option<(Version, String)> = None;
    for r in &a.ranges {
        if let Some(b) = &r.broken {
            unknown.get_or_insert(b.clone());
            continue;
        }
        let mut events: Vec<&osv::Event> = r.events.iter().collect();
        events.sort_by(|x, y| match (&x.version, &y.version) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, _) => std::cmp::Ordering::Less,
            (_, None) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        });
        let limits: Vec<&Version> = events
            .iter()
            .filter(|e| e.kind == osv::EventKind::Limit)
            .filter_map(|e| e.version.as_ref())
            .collect();
        if !limits.is_empty() && !limits.iter().any(|l| cmp(l) == Less) {
            continue;
        }
        let mut vulnerable = false;
        for e in &events {
            match e.kind {
                osv::EventKind::Introduced => {
                    if e.version.as_ref().is_none_or(|x| cmp(x) != Less) {
                        vulnerable = true;
                    }
                }
                osv::EventKind::Fixed => {
                    if e.version.as_ref().is_some_and(|x| cmp(x) != Less) {
                        vulnerable = false;
                    }
                }
                osv::EventKind::LastAffected => {
                    if e.version.as_ref().is_some_and(|x| cmp(x) == Greater) {
                        vulnerable = false;
                    }
                }
                osv::EventKind::Limit => {}
            }
        }
        if vulnerable {
            hit = true;
            for e in &events {
                if let (osv::EventKind::Fixed, Some(x)) = (e.kind, &e.version) {
                    if cmp(x) == Less && fixed.as_ref().is_none_or(|(f, _)| x < f) {
                        fixed = Some((x.clone(), e.raw.clone()));
                    }
                }
            }
        }
    }
    match (hit, unknown) {
        (true, _) => Verdict::Affected(fixed.map(|(_, raw)| raw)),
        (false, Some(u)) => Verdict::Unknown(u),
        (false, None) => Verdict::Clear,
    }
}

/// Match every package of the inventory against the advisories (entries in
/// parallel; the report keeps inventory order).
pub fn check(inv: &Inventory, adv: &Advisories) -> PackageReport {
    use rayon::prelude::*;
    let parts: Vec<PackageReport> = (0..inv.entries.len())
        .into_par_iter()
        .map(|i| check_entry(inv, i, adv))
        .collect();
    let mut report = PackageReport::default();
    for p in parts {
        report.findings.extend(p.findings);
        report.errors.extend(p.errors);
        report.checked += p.checked;
        report.unmatched.extend(p.unmatched);
    }
    report
}

/// Match the packages of one entry of the inventory.
pub fn check_entry(inv: &Inventory, entry_index: usize, adv: &Advisories) -> PackageReport {
    let mut report = PackageReport::default();
    let entry = &inv.entries[entry_index];
    let mut by_manager: Vec<(String, Keys)> = Vec::new();
    for p in &entry.packages {
        report.checked += 1;
        let keys = match by_manager.iter().find(|(m, _)| *m == p.manager) {
            Some((_, k)) => k.clone(),
            None => {
                let k = ecosystem::package_keys(&p.manager, entry.os.as_deref());
                by_manager.push((p.manager.clone(), k.clone()));
                k
            }
        };
        let (keys, scheme) = match keys {
            Ok(k) => k,
            Err(why) => {
                // One error and one unknown per entry and manager, at its first package.
                match report.unmatched.iter_mut().find(|u| u.manager == p.manager) {
                    Some(u) => u.packages += 1,
                    None => report.unmatched.push(Unmatched {
                        entry: entry_index,
                        manager: p.manager.clone(),
                        reason: why,
                        packages: 1,
                        pos: p.pos,
                    }),
                }
                continue;
            }
        };
        let name = p.source.as_deref().unwrap_or(&p.name);
        let candidates: Vec<(&String, usize)> = keys
            .iter()
            .flat_map(|k| adv.lookup(k, name).iter().map(move |&i| (k, i)))
            .collect();
        let version = scheme.parse(&p.version);
        if let Err(e) = &version {
            report.errors.push(LoadError::at(
                &inv.path,
                p.pos,
                format!("{} {}: {e}", entry.resource, p.name),
            ));
        }
        let mut seen: Vec<usize> = Vec::new();
        for (_, ai) in candidates {
            let a = &adv.affected[ai];
            let verdict = match &version {
                Ok(v) => evaluate(a, v, &p.version),
                Err(e) => Verdict::Unknown(e.to_string()),
            };
            let (status, fixed) = match verdict {
                Verdict::Clear => continue,
                Verdict::Affected(f) => (PackageStatus::Vulnerable, f),
                Verdict::Unknown(u) => (PackageStatus::Unknown(u), None),
            };
            // One result per advisory and package, even when the advisory
            // lists the package twice (Ubuntu and Ubuntu:LTS).
            if seen.contains(&a.advisory) {
                continue;
            }
            seen.push(a.advisory);
            let advisory = &adv.advisories[a.advisory];
            report.findings.push(PackageFinding {
                resource: entry.resource.clone(),
                inventory: inv.path.clone(),
                entry: entry_index,
                package: p.clone(),
                ecosystem: a.ecosystem.clone(),
                advisory: a.advisory,
                advisory_id: advisory.id.clone(),
                fixed,
                severity: a.severity.unwrap_or(advisory.severity),
                status,
                pos: p.pos,
            });
        }
    }
    for u in &report.unmatched {
        let more = match u.packages {
            1 => String::new(),
            n => format!(" ({n} {} packages)", u.manager),
        };
        report.errors.push(LoadError::at(
            &inv.path,
            u.pos,
            format!("{}: {}{more}", entry.resource, u.reason),
        ));
    }
    report
}
