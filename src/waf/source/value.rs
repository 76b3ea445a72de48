//! Reading the canonical (API-shaped) web ACL document: typed accessors that
//! turn every mismatch into an error at the offending value.

use crate::doc::{Entry, Node, Pos, Value};
use crate::waf::error::WafError;

/// Errors for one file.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub path: &'a str,
}

impl<'a> Reader<'a> {
    pub fn err(&self, pos: Pos, msg: impl Into<String>) -> WafError {
        WafError::at(self.path, pos, msg)
    }

    pub fn map<'v>(&self, v: &'v Value, what: &str) -> Result<&'v [Entry], WafError> {
        v.as_map().ok_or_else(|| {
            self.err(
                v.pos,
                format!("expected {what} to be an object, found a {}", kind(v)),
            )
        })
    }

    pub fn seq<'v>(&self, v: &'v Value, what: &str) -> Result<&'v [Value], WafError> {
        v.as_seq().ok_or_else(|| {
            self.err(
                v.pos,
                format!("expected {what} to be a list, found a {}", kind(v)),
            )
        })
    }

    /// A required key of a map.
    pub fn req<'v>(&self, v: &'v Value, key: &str, what: &str) -> Result<&'v Value, WafError> {
        self.map(v, what)?;
        match v.get(key) {
            Some(x) if !matches!(x.node, Node::Null) => Ok(x),
            _ => Err(self.err(v.pos, format!("{what} has no {key}"))),
        }
    }

    pub fn opt<'v>(&self, v: &'v Value, key: &str) -> Option<&'v Value> {
        v.get(key).filter(|x| !matches!(x.node, Node::Null))
    }

    pub fn str<'v>(&self, v: &'v Value, what: &str) -> Result<&'v str, WafError> {
        match &v.node {
            Node::Str(s) => Ok(s),
            _ => Err(self.err(
                v.pos,
                format!("expected {what} to be a string, found a {}", kind(v)),
            )),
        }
    }

    /// An integer, also accepted as a string of digits (CloudFormation templates
    /// often quote numbers).
    pub fn int(&self, v: &Value, what: &str) -> Result<i64, WafError> {
        match &v.node {
            Node::Int(i) => Ok(*i),
            Node::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(*f as i64),
            Node::Str(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().unwrap_or(0)),
            _ => Err(self.err(
                v.pos,
                format!("expected {what} to be an integer, found {}", describe(v)),
            )),
        }
    }

    pub fn uint(&self, v: &Value, what: &str) -> Result<u64, WafError> {
        let i = self.int(v, what)?;
        u64::try_from(i).map_err(|_| self.err(v.pos, format!("expected {what} to be at least 0")))
    }

    /// A string that must be one of `allowed`.
    pub fn enum_str<'v>(
        &self,
        v: &'v Value,
        what: &str,
        allowed: &[&str],
    ) -> Result<&'v str, WafError> {
        let s = self.str(v, what)?;
        if allowed.contains(&s) {
            return Ok(s);
        }
        Err(self.err(
            v.pos,
            format!(
                "{what} \"{s}\" is not valid; expected one of: {}{}",
                allowed.join(", "),
                did_you_mean(s, allowed)
            ),
        ))
    }

    /// An object with exactly one of the `allowed` keys (Statement, FieldToMatch,
    /// Action): its key and value.
    pub fn one_of<'v>(
        &self,
        v: &'v Value,
        what: &str,
        allowed: &[&str],
    ) -> Result<(&'v str, &'v Value), WafError> {
        let entries = self.map(v, what)?;
        let present: Vec<&Entry> = entries
            .iter()
            .filter(|e| !matches!(e.value.node, Node::Null))
            .collect();
        if let Some(e) = present.iter().find(|e| !allowed.contains(&e.key.as_str())) {
            return Err(self.err(
                e.key_pos,
                format!(
                    "unknown {what} \"{}\"; expected one of: {}{}",
                    e.key,
                    allowed.join(", "),
                    did_you_mean(&e.key, allowed)
                ),
            ));
        }
        match present.as_slice() {
            [one] => Ok((one.key.as_str(), &one.value)),
            [] => Err(self.err(
                v.pos,
                format!("{what} is empty; expected one of: {}", allowed.join(", ")),
            )),
            [_, second, ..] => Err(self.err(
                second.key_pos,
                format!(
                    "{what} has more than one of {}; give exactly one",
                    present
                        .iter()
                        .map(|e| e.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Rejects keys not in `known` (misspelt property names would otherwise be
    /// silently ignored and change the meaning of the ACL).
    pub fn known_keys(&self, v: &Value, what: &str, known: &[&str]) -> Result<(), WafError> {
        for e in self.map(v, what)? {
            if !known.contains(&e.key.as_str()) {
                return Err(self.err(
                    e.key_pos,
                    format!(
                        "unknown property {} in {what}; expected one of: {}{}",
                        e.key,
                        known.join(", "),
                        did_you_mean(&e.key, known)
                    ),
                ));
            }
        }
        Ok(())
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    v.kind_name()
}

fn describe(v: &Value) -> String {
    match &v.node {
        Node::Str(s) => format!("\"{s}\""),
        _ => format!("a {}", kind(v)),
    }
}

pub(crate) fn did_you_mean(s: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&s.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean {c}?)"))
        .unwrap_or_default()
}
