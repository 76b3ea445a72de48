//! The policy language: syntax tree, parser, checker and diagnostics.

pub mod ast;
pub mod check;
pub mod diag;
pub mod lexer;
pub mod parser;

pub use check::{check_sources, Checked};
pub use diag::{Diag, Level, PolicySource};
