use std::fmt;

use crate::doc::Pos;

/// A failure to load one input. It always names the file, and the position when one
/// is known, because a CI log line is only useful if a reader can jump to the spot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub path: String,
    pub pos: Option<Pos>,
    pub message: String,
}

impl LoadError {
    pub fn new(path: impl Into<String>, pos: Option<Pos>, message: impl Into<String>) -> Self {
        LoadError {
            path: path.into(),
            pos,
            message: message.into(),
        }
    }

    /// An error at a position in the file.
    pub fn at(path: impl Into<String>, pos: Pos, message: impl Into<String>) -> Self {
        LoadError::new(path, Some(pos), message)
    }

    /// An error about the file as a whole (unreadable, binary, ...).
    pub fn file(path: impl Into<String>, message: impl Into<String>) -> Self {
        LoadError::new(path, None, message)
    }

    /// Line of the error, 0 when it has no position (handy for sorting and tests).
    pub fn line(&self) -> u32 {
        self.pos.map_or(0, |p| p.line)
    }

    /// Column of the error, 0 when it has no position.
    pub fn col(&self) -> u32 {
        self.pos.map_or(0, |p| p.col)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.path, p.line, p.col, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for LoadError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_position() {
        let e = LoadError::at("a.yaml", Pos::new(3, 7), "expected a key");
        assert_eq!(e.to_string(), "a.yaml:3:7: expected a key");
        let e = LoadError::file("b.bin", "binary file, expected a JSON or YAML template");
        assert_eq!(
            e.to_string(),
            "b.bin: binary file, expected a JSON or YAML template"
        );
        assert_eq!(e.line(), 0);
    }
}
