//! The lists a run is given, as rows of the list tables (`deadbolt_lists`,
//! `deadbolt_networks`, `deadbolt_domains`), written as tab-separated files
//! with a header line: what deadbolt's own list parser read, merged ranges
//! included, so the SQL tests membership in exactly the native sets.

use crate::detect::lists::{IpSet, ThreatList};
use crate::eval::engines::Engines;

/// The three tables' contents.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListRows {
    pub lists: String,
    pub networks: String,
    pub domains: String,
}

/// Rows for the lists in `engines` (threat lists, the trusted list, AWS's ranges).
pub fn rows(engines: &Engines, sources: &[(String, String)]) -> Result<ListRows, String> {
    let mut out = ListRows {
        lists: "kind\tlist_name\tentries\tsource\n".into(),
        networks: "kind\tlist_name\tfamily\tstart_hi\tstart_lo\tend_hi\tend_lo\n".into(),
        domains: "kind\tlist_name\tdomain\n".into(),
    };
    let source_of = |kind: &str, name: &str| {
        sources
            .iter()
            .find(|(k, _)| k == &format!("{kind}:{name}"))
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };
    let mut add = |kind: &str,
                   name: &str,
                   entries: usize,
                   ips: &IpSet,
                   list: Option<&ThreatList>|
     -> Result<(), String> {
        for field in [kind, name] {
            if field.contains(['\t', '\n', '\r']) {
                return Err(format!(
                    "list name `{}` contains a tab or a line break",
                    crate::terminal::clip(name, 40)
                ));
            }
        }
        out.lists.push_str(&format!(
            "{kind}\t{name}\t{entries}\t{}\n",
            clean(&source_of(kind, name))
        ));
        for (lo, hi) in ips.v4_ranges() {
            out.networks
                .push_str(&format!("{kind}\t{name}\t4\t0\t{lo}\t0\t{hi}\n"));
        }
        for (lo, hi) in ips.v6_ranges() {
            out.networks.push_str(&format!(
                "{kind}\t{name}\t6\t{}\t{}\t{}\t{}\n",
                lo >> 64,
                lo & u128::from(u64::MAX),
                hi >> 64,
                hi & u128::from(u64::MAX)
            ));
        }
        if let Some(l) = list {
            let mut ds: Vec<&str> = l.domains().collect();
            ds.sort_unstable();
            for d in ds {
                out.domains.push_str(&format!("{kind}\t{name}\t{d}\n"));
            }
        }
        Ok(())
    };
    for (name, l) in &engines.threat_lists {
        add("threat", name, l.entries, &l.ips, Some(l))?;
    }
    if let Some(t) = &engines.trusted {
        add("trusted", "trusted", t.entries, &t.ips, Some(t))?;
    }
    if let Some(r) = &engines.aws_ranges {
        add(
            "aws",
            "aws-ip-ranges",
            r.v4_ranges().len() + r.v6_ranges().len(),
            r,
            None,
        )?;
    }
    Ok(out)
}

/// A path in a TSV field: tabs and line breaks become spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect()
}
