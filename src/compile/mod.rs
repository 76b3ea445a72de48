//! Compilation of checked policies into the IR the evaluator runs.

pub mod funcs;
pub mod ir;
mod lower;

pub use ir::{Policy, Severity};
pub use lower::{line_of, lower_detection, lower_policy, severity_of_score, Defs};
