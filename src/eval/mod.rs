//! The evaluator: three-valued (pass / fail / unknown), parallel over templates.

mod context;
pub mod engines;
mod expr;
mod funcs;
mod inspector_fns;
mod keystore;
mod kms_fns;
pub mod records;
mod run;
mod secrets_fns;
mod value;
mod waf_fns;

pub use context::Params;
pub use run::{evaluate, evaluate_resources_parallel, evaluate_template};
pub use value::{LogFields, LogValue};
