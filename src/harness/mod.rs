//! The harness around policies: unit tests, snapshots, coverage and diffs.
pub mod diff;
pub mod git;
pub mod snapshot;
pub mod test;
pub mod test_report;
pub mod testfile;
