//! Output formats, one file each.

pub mod atomic;
pub mod human;
pub mod json;
