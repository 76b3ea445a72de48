//! Record errors of one file, collected from parallel chunks with bounded memory.
//!
//! A log applied with the wrong format can make every one of ten million lines
//! an error; the report keeps the earliest `max` (by line) and one closing line
//! counting the rest, so output stays bounded and still says how bad it is.

use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::doc::Pos;
use crate::load::LoadError;

/// Orders errors by position so the heap can drop the latest one.
struct ByPos(LoadError);

impl ByPos {
    fn key(&self) -> (u32, u32) {
        (self.0.line(), self.0.col())
    }
}

impl PartialEq for ByPos {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for ByPos {}
impl PartialOrd for ByPos {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByPos {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

pub(crate) struct Errors<'a> {
    path: &'a str,
    max: usize,
    total: AtomicU64,
    kept: Mutex<BinaryHeap<ByPos>>,
    /// File-level errors (truncated gzip, unreadable file): always kept.
    fatal: Mutex<Vec<LoadError>>,
}

impl<'a> Errors<'a> {
    pub fn new(path: &'a str, max: usize) -> Self {
        Errors {
            path,
            max: max.max(1),
            total: AtomicU64::new(0),
            kept: Mutex::new(BinaryHeap::new()),
            fatal: Mutex::new(Vec::new()),
        }
    }

    pub fn path(&self) -> &'a str {
        self.path
    }

    /// A malformed record at `pos`.
    pub fn record(&self, pos: Pos, message: impl Into<String>) {
        self.push(LoadError::at(self.path, pos, message));
    }

    pub fn push(&self, e: LoadError) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < self.max {
            kept.push(ByPos(e));
        } else if kept.peek().is_some_and(|top| ByPos(e.clone()) < *top) {
            kept.pop();
            kept.push(ByPos(e));
        }
    }

    /// An error about the file as a whole, never dropped by the cap.
    pub fn fatal(&self, e: LoadError) {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    /// The errors by line, the closing count line when some were dropped, then
    /// the file-level errors.
    pub fn finish(self) -> Vec<LoadError> {
        let total = self.total.load(Ordering::Relaxed);
        let mut out: Vec<LoadError> = self
            .kept
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_sorted_vec()
            .into_iter()
            .map(|b| b.0)
            .collect();
        let shown = out.len() as u64;
        if total > shown {
            out.push(LoadError::file(
                self.path,
                format!(
                    "{} more malformed records not shown ({total} in this file; the first {shown} are listed)",
                    total - shown
                ),
            ));
        }
        out.extend(self.fatal.into_inner().unwrap_or_else(|p| p.into_inner()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_earliest_and_counts_the_rest() {
        let errs = Errors::new("f.log", 3);
        for line in [9, 4, 7, 1, 8, 2] {
            errs.record(Pos::new(line, 1), format!("bad {line}"));
        }
        errs.fatal(LoadError::file("f.log", "truncated"));
        let out = errs.finish();
        let lines: Vec<u32> = out.iter().map(LoadError::line).collect();
        assert_eq!(lines, vec![1, 2, 4, 0, 0]);
        assert_eq!(
            out[3].message,
            "3 more malformed records not shown (6 in this file; the first 3 are listed)"
        );
        assert_eq!(out[4].message, "truncated");
    }
}
