//! The package side of one scan: every inventory given, the advisories, and
//! the match of each inventory against them, computed once when the scan
//! starts and then read by the policies (`vulnerabilities(r)`), per entry.

use std::collections::HashMap;
use std::ops::Range;

use super::{check, Advisories, Inventory, PackageFinding, PackageReport, Unmatched};
use crate::load::LoadError;

/// Where an entry is: (inventory index, entry index).
pub type EntryRef = (usize, usize);

#[derive(Debug, Default)]
pub struct PackageScan {
    pub inventories: Vec<Inventory>,
    /// `None` when no advisories were given: nothing can be matched, and every
    /// result that needs a match is unknown.
    pub advisories: Option<Advisories>,
    /// One report per inventory (empty without advisories).
    reports: Vec<PackageReport>,
    /// Per inventory, per entry: its findings in `reports[i].findings`.
    ranges: Vec<Vec<Range<usize>>>,
    by_resource: HashMap<String, Vec<EntryRef>>,
}

impl PackageScan {
    /// Matches every inventory against the advisories (entries in parallel).
    pub fn new(inventories: Vec<Inventory>, advisories: Option<Advisories>) -> PackageScan {
        let reports: Vec<PackageReport> = match &advisories {
            Some(adv) => inventories.iter().map(|inv| check(inv, adv)).collect(),
            None => inventories
                .iter()
                .map(|_| PackageReport::default())
                .collect(),
        };
        let ranges = inventories
            .iter()
            .zip(&reports)
            .map(|(inv, rep)| {
                // Findings come in entry order, so each entry's are one run.
                let mut out = vec![0..0; inv.entries.len()];
                let mut i = 0;
                while i < rep.findings.len() {
                    let start = i;
                    let e = rep.findings[i].entry;
                    while i < rep.findings.len() && rep.findings[i].entry == e {
                        i += 1;
                    }
                    if let Some(r) = out.get_mut(e) {
                        *r = start..i;
                    }
                }
                out
            })
            .collect();
        let mut by_resource: HashMap<String, Vec<EntryRef>> = HashMap::new();
        for (ii, inv) in inventories.iter().enumerate() {
            for (ei, e) in inv.entries.iter().enumerate() {
                by_resource
                    .entry(e.resource.clone())
                    .or_default()
                    .push((ii, ei));
            }
        }
        PackageScan {
            inventories,
            advisories,
            reports,
            ranges,
            by_resource,
        }
    }

    /// Inventory lines that could not be matched (versions that do not parse,
    /// entries without an OS, unknown managers) and advisory files that are not
    /// OSV: load errors of the scan.
    pub fn errors(&self) -> impl Iterator<Item = &LoadError> {
        self.advisories
            .iter()
            .flat_map(|a| a.errors.iter())
            .chain(self.reports.iter().flat_map(|r| r.errors.iter()))
    }

    /// The vulnerable and unknown packages of one entry.
    pub fn findings(&self, (inv, entry): EntryRef) -> &[PackageFinding] {
        match (
            self.reports.get(inv),
            self.ranges.get(inv).and_then(|r| r.get(entry)),
        ) {
            (Some(rep), Some(range)) => &rep.findings[range.clone()],
            _ => &[],
        }
    }

    /// Packages of the entry that could not be matched at all.
    pub fn unmatched(&self, (inv, entry): EntryRef) -> impl Iterator<Item = &Unmatched> {
        self.reports
            .get(inv)
            .into_iter()
            .flat_map(|r| r.unmatched.iter())
            .filter(move |u| u.entry == entry)
    }

    /// The entries that name `resource`, in every inventory.
    pub fn entries_for(&self, resource: &str) -> &[EntryRef] {
        self.by_resource
            .get(resource)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The inventory read from `path`.
    pub fn inventory_at(&self, path: &str) -> Option<usize> {
        self.inventories.iter().position(|i| i.path == path)
    }

    pub fn entry_count(&self) -> usize {
        self.inventories.iter().map(|i| i.entries.len()).sum()
    }

    pub fn package_count(&self) -> usize {
        self.inventories
            .iter()
            .flat_map(|i| i.entries.iter())
            .map(|e| e.packages.len())
            .sum()
    }
}
