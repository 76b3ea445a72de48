//! Token-level parsers (whitespace, comments, identifiers, literals) built with nom.
//! Spans are byte offsets computed from the position of a slice inside the source.

use std::borrow::Cow;

use nom::error::{ErrorKind, ParseError};
use nom::IResult;

use super::ast::{Ident, Span, StrLit};

/// A parse error: where, and what was expected there.
#[derive(Debug, Clone)]
pub struct PErr<'a> {
    pub input: &'a str,
    pub expected: Cow<'static, str>,
    /// An extra label, e.g. where an unclosed block started.
    pub note: Option<(Span, String)>,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, kind: ErrorKind) -> Self {
        PErr {
            input,
            expected: Cow::Owned(format!("{kind:?}").to_lowercase()),
            note: None,
        }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
    /// Of two failed alternatives keep the one that got further: its message is
    /// about the real mistake, not about the first thing that was tried.
    fn or(self, other: Self) -> Self {
        if other.input.len() <= self.input.len() {
            other
        } else {
            self
        }
    }
}

pub type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// A recoverable error (another alternative may match).
pub fn error<'a, T>(input: &'a str, expected: impl Into<Cow<'static, str>>) -> PResult<'a, T> {
    Err(nom::Err::Error(PErr {
        input,
        expected: expected.into(),
        note: None,
    }))
}

/// A committed error: this is the mistake, stop trying alternatives.
pub fn failure<'a, T>(input: &'a str, expected: impl Into<Cow<'static, str>>) -> PResult<'a, T> {
    Err(nom::Err::Failure(PErr {
        input,
        expected: expected.into(),
        note: None,
    }))
}

/// Turns a recoverable error into a committed one with a better message.
pub fn commit<'a, T>(r: PResult<'a, T>, at: &'a str, expected: &'static str) -> PResult<'a, T> {
    match r {
        Err(nom::Err::Error(e)) => {
            // Keep a message produced further in (it is more precise).
            if e.input.len() < at.len() {
                Err(nom::Err::Failure(e))
            } else {
                failure(at, expected)
            }
        }
        other => other,
    }
}

/// Skips whitespace and `#` comments.
pub fn ws(mut i: &str) -> &str {
    loop {
        let t = i.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            i = rest.find('\n').map_or("", |n| &rest[n..]);
        } else if let Some(rest) = t.strip_prefix("//") {
            i = rest.find('\n').map_or("", |n| &rest[n..]);
        } else {
            return t;
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Byte offsets of slices inside one source text.
#[derive(Clone, Copy)]
pub struct Src<'s> {
    pub text: &'s str,
}

impl<'s> Src<'s> {
    pub fn offset(&self, i: &str) -> usize {
        (i.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }

    pub fn span(&self, start: &str, end: &str) -> Span {
        Span::new(self.offset(start), self.offset(end))
    }

    /// The next word (identifier characters) after whitespace, without consuming.
    pub fn peek_word(&self, i: &'s str) -> &'s str {
        let i = ws(i);
        let end = i.find(|c: char| !is_ident_char(c)).unwrap_or(i.len());
        &i[..end]
    }

    pub fn ident(&self, i: &'s str) -> PResult<'s, Ident> {
        let i = ws(i);
        match i.chars().next() {
            Some(c) if is_ident_start(c) => {
                let end = i.find(|c: char| !is_ident_char(c)).unwrap_or(i.len());
                let (name, rest) = i.split_at(end);
                Ok((
                    rest,
                    Ident {
                        name: name.to_string(),
                        span: self.span(i, rest),
                    },
                ))
            }
            _ => error(i, "an identifier"),
        }
    }

    /// A policy id: letters, digits, `-`, `_`, `.`.
    pub fn policy_id(&self, i: &'s str) -> PResult<'s, Ident> {
        let i = ws(i);
        let end = i
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(i.len());
        if end == 0 {
            return error(i, "a policy id (letters, digits, '-', '_' or '.')");
        }
        let (name, rest) = i.split_at(end);
        Ok((
            rest,
            Ident {
                name: name.to_string(),
                span: self.span(i, rest),
            },
        ))
    }

    /// A keyword: the exact word, not a prefix of a longer identifier.
    pub fn keyword(&self, i: &'s str, word: &'static str) -> PResult<'s, Span> {
        let t = ws(i);
        if let Some(rest) = t.strip_prefix(word) {
            if !rest.starts_with(is_ident_char) {
                return Ok((rest, self.span(t, rest)));
            }
        }
        error(t, word)
    }

    pub fn is_keyword(&self, i: &'s str, word: &'static str) -> bool {
        self.keyword(i, word).is_ok()
    }

    pub fn symbol(&self, i: &'s str, sym: &'static str) -> PResult<'s, Span> {
        let t = ws(i);
        match t.strip_prefix(sym) {
            Some(rest) => Ok((rest, self.span(t, rest))),
            None => error(t, sym),
        }
    }

    pub fn is_symbol(&self, i: &'s str, sym: &'static str) -> bool {
        ws(i).starts_with(sym)
    }

    /// A double-quoted string. Returns the literal and the raw text between quotes.
    pub fn string_raw(&self, i: &'s str) -> PResult<'s, (StrLit, &'s str)> {
        let t = ws(i);
        let Some(body) = t.strip_prefix('"') else {
            return error(t, "a string in double quotes");
        };
        let mut escaped = false;
        for (n, c) in body.char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' => escaped = true,
                '"' => {
                    let raw = &body[..n];
                    let rest = &body[n + 1..];
                    let lit = StrLit {
                        value: unescape(raw),
                        span: self.span(t, rest),
                    };
                    return Ok((rest, (lit, raw)));
                }
                '\n' => {
                    return Err(nom::Err::Failure(PErr {
                        input: &body[n..],
                        expected: "a closing '\"' before the end of the line".into(),
                        note: Some((
                            Span::new(self.offset(t), self.offset(t) + 1),
                            "string starts here".into(),
                        )),
                    }))
                }
                _ => {}
            }
        }
        Err(nom::Err::Failure(PErr {
            input: &body[body.len()..],
            expected: "a closing '\"'".into(),
            note: Some((
                Span::new(self.offset(t), self.offset(t) + 1),
                "string starts here".into(),
            )),
        }))
    }

    pub fn string(&self, i: &'s str) -> PResult<'s, StrLit> {
        self.string_raw(i).map(|(r, (lit, _))| (r, lit))
    }

    /// A decimal number (the sign is a separate operator).
    pub fn number(&self, i: &'s str) -> PResult<'s, (f64, Span)> {
        let t = ws(i);
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut end = digits(t);
        if end == 0 {
            return error(t, "a number");
        }
        if t[end..].starts_with('.') && t[end + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            end += 1 + digits(&t[end + 1..]);
        }
        let (text, rest) = t.split_at(end);
        match text.parse::<f64>() {
            Ok(n) => Ok((rest, (n, self.span(t, rest)))),
            Err(_) => failure(t, "a number"),
        }
    }
}

/// Resolves `\"`, `\\`, `\n`, `\t`, `\r`; other backslashes are kept as written so
/// that regular expressions such as `"\d+"` read naturally.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_whitespace_are_skipped() {
        assert_eq!(ws("  # note\n  // other\n x"), "x");
    }

    #[test]
    fn unescape_keeps_regex_backslashes() {
        assert_eq!(unescape(r#"a\"b\\c\d"#), "a\"b\\c\\d");
    }

    #[test]
    fn keyword_needs_word_boundary() {
        let src = Src {
            text: "policy policyx",
        };
        assert!(src.keyword(src.text, "policy").is_ok());
        assert!(src.keyword(&src.text[6..], "policy").is_err());
    }
}
