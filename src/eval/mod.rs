//! The evaluator: three-valued (pass / fail / unknown), parallel over templates.

mod context;
pub mod engines;
mod expr;
mod funcs;
mod keystore;
mod kms_fns;
mod run;
mod secrets_fns;
mod value;

pub use context::Params;
pub use run::{evaluate, evaluate_template};
