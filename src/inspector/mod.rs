//! Inspector-style checks, before deployment.
//!
//! Two questions Amazon Inspector answers after deployment, answered from
//! templates and inventories:
//! - [`network`]: which instances can the internet reach, on which ports, by
//!   which path (internet gateway → route table → network ACL → security group
//!   → interface → instance, or through an internet-facing load balancer);
//! - [`packages`]: which installed packages have known vulnerabilities (OSV
//!   advisories, compared with each ecosystem's own version ordering).
//!
//! Both report [`finding`]s in the shape of `aws inspector2 list-findings`.

pub mod cvss;
pub mod finding;
pub mod network;
pub mod packages;
pub mod ports;
pub mod resolve;
pub mod version;
