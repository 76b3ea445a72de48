//! The common document model every loader produces and every policy reads.
//!
//! Values keep their 1-based source position so that a finding can point at the
//! exact offending line and column, whatever format the input came from.

mod template;
mod value;

pub use template::{Memo, Parameter, Resource, Source, Template, TemplateKind};
pub use value::{Entry, Node, Pos, Value};
