//! Input loaders: every format becomes the common [`crate::doc`] model.
