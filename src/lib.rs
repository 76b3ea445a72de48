//! deadbolt — policy-as-code compliance scanner for AWS security.
//!
//! Data flows one way: load → compile → evaluate → report.
//! - [`load`] turns CloudFormation and Terraform plan files into [`doc`] values
//!   that know their line and column;
//! - [`dsl`] parses and checks policies, [`compile`] lowers them to an IR;
//! - [`eval`] runs the IR over the documents in parallel (pass / fail / unknown);
//! - [`report`] renders the [`result`]s.

pub mod catalog;
pub mod compile;
pub mod detect;
pub mod doc;
pub mod dsl;
pub mod eval;
pub mod harness;
pub mod inspector;
pub mod kms;
pub mod load;
pub mod report;
pub mod result;
pub mod scan;
pub mod schema;
pub mod secrets;
pub mod sql;
pub mod suppress;
pub mod terminal;
pub mod waf;
