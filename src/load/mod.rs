//! Input loaders: every format becomes the common [`crate::doc`] model.
//!
//! `yaml` and `json` turn text into position-carrying [`Value`]s; `cfn` and
//! `terraform` recognise templates and plans in those values; `discover` walks the
//! paths given on the command line and ties the rest together.

pub mod cfn;
pub mod discover;
pub mod error;
pub mod fields;
pub mod foreach;
pub mod json;
pub mod logs;
pub mod samples;
pub mod sniff;
pub mod terraform;
pub mod yaml;

pub use cfn::{cfn_template, looks_like_cfn};
pub use discover::{
    decode, load_inputs, load_inputs_with, load_source, load_source_all, load_source_with,
    process_inputs, LoadOutcome, LogFile, Processed,
};
pub use error::LoadError;
pub use json::parse_json;
pub use terraform::{looks_like_plan, plan_template};
pub use yaml::parse_yaml;

use std::collections::BTreeMap;

use crate::doc::Entry;

/// What loading may need to know beyond the files: `--param` values decide
/// `Fn::ForEach` collections that are parameters.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub params: BTreeMap<String, String>,
}

/// The first repeated key of a map, as (index of first use, index of repeat) with
/// the repeat as early as possible, so the error points at the first mistake.
pub(crate) fn find_duplicate_key(entries: &[Entry]) -> Option<(usize, usize)> {
    if entries.len() <= 16 {
        for j in 1..entries.len() {
            if let Some(i) = entries[..j].iter().position(|e| e.key == entries[j].key) {
                return Some((i, j));
            }
        }
        return None;
    }
    // Sorting indices avoids copying keys into a hash set for large objects.
    let mut idx: Vec<usize> = (0..entries.len()).collect();
    idx.sort_by(|&a, &b| entries[a].key.cmp(&entries[b].key).then(a.cmp(&b)));
    let mut best: Option<(usize, usize)> = None;
    let mut k = 0;
    while k < idx.len() {
        let mut end = k + 1;
        while end < idx.len() && entries[idx[end]].key == entries[idx[k]].key {
            end += 1;
        }
        if end - k > 1 {
            let pair = (idx[k], idx[k + 1]);
            if best.is_none_or(|b| pair.1 < b.1) {
                best = Some(pair);
            }
        }
        k = end;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Node, Pos, Value};

    fn entries(keys: &[&str]) -> Vec<Entry> {
        keys.iter()
            .map(|k| Entry {
                key: k.to_string(),
                key_pos: Pos::default(),
                value: Value::new(Node::Null, Pos::default()),
            })
            .collect()
    }

    #[test]
    fn duplicates_small_and_large() {
        assert_eq!(find_duplicate_key(&entries(&["a", "b", "a"])), Some((0, 2)));
        assert_eq!(find_duplicate_key(&entries(&["a", "b", "c"])), None);
        let mut keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        keys[30] = "k5".into();
        keys[35] = "k2".into();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(find_duplicate_key(&entries(&refs)), Some((5, 30)));
    }
}
