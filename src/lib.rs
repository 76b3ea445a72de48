//! deadbolt — policy-as-code compliance scanner for AWS security.
//!
//! Data flows one way: load → compile → evaluate → report.

pub mod doc;
pub mod load;
pub mod schema;
