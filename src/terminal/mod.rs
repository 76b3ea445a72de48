//! Text that reaches a terminal: control characters escaped, and source snippets
//! bounded to a window of the line, whatever the input holds.

mod escape;
mod source;

pub use escape::{clip, escape_control, mask_controls};
pub use source::BoundedSource;
