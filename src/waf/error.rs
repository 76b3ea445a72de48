use std::fmt;

use crate::doc::Pos;
use crate::load::LoadError;

/// A problem with a web ACL or a request file. It names the file and, when known,
/// the line (and column) so that a CI log points at the spot; the message says
/// what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WafError {
    pub path: String,
    pub pos: Option<Pos>,
    pub message: String,
}

impl WafError {
    pub fn new(path: impl Into<String>, pos: Option<Pos>, message: impl Into<String>) -> Self {
        WafError {
            path: path.into(),
            pos,
            message: message.into(),
        }
    }

    pub fn at(path: impl Into<String>, pos: Pos, message: impl Into<String>) -> Self {
        WafError::new(path, Some(pos), message)
    }

    /// An error on a line of a line-oriented file (column unknown).
    pub fn line(path: impl Into<String>, line: u32, message: impl Into<String>) -> Self {
        WafError::new(path, Some(Pos::new(line, 0)), message)
    }

    pub fn file(path: impl Into<String>, message: impl Into<String>) -> Self {
        WafError::new(path, None, message)
    }

    /// 0 when the error has no position.
    pub fn line_no(&self) -> u32 {
        self.pos.map_or(0, |p| p.line)
    }
}

impl fmt::Display for WafError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) if p.line > 0 && p.col > 0 => {
                write!(f, "{}:{}:{}: {}", self.path, p.line, p.col, self.message)
            }
            Some(p) if p.line > 0 => write!(f, "{}:{}: {}", self.path, p.line, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for WafError {}

impl From<LoadError> for WafError {
    fn from(e: LoadError) -> Self {
        WafError {
            path: e.path,
            pos: e.pos,
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        assert_eq!(
            WafError::at("acl.yaml", Pos::new(3, 9), "bad").to_string(),
            "acl.yaml:3:9: bad"
        );
        assert_eq!(
            WafError::line("r.jsonl", 4, "bad").to_string(),
            "r.jsonl:4: bad"
        );
        assert_eq!(WafError::file("r.jsonl", "bad").to_string(), "r.jsonl: bad");
    }
}
