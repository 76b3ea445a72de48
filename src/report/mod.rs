//! Output formats, one file each.

pub mod atomic;
pub mod github;
pub mod guardduty;
pub mod human;
pub mod inspector;
pub mod json;
pub mod junit;
pub mod sarif;
