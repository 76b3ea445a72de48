//! The evaluator: three-valued (pass / fail / unknown), parallel over templates.

mod context;
mod expr;
mod funcs;
mod run;
mod value;

pub use context::Params;
pub use run::{evaluate, evaluate_template};
