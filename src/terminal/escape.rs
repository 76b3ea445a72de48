//! A template can hold any character in a logical id or a value: `\n::add-mask::`
//! would start a GitHub Actions workflow command, an ESC sequence would drive the
//! terminal, a bidi override would reorder what a reviewer reads. Nothing from an
//! input reaches a terminal raw.

use std::borrow::Cow;

/// Characters that must not reach a terminal as they are: C0 and C1 controls,
/// DEL, and the bidirectional overrides and isolates ("Trojan Source").
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Escapes unsafe characters visibly: `\n`, `\t`, `\r`, `\e` and `\u{..}`.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters of `s`; a longer text keeps its start and says how
/// long it was, so one huge value cannot flood a report.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}… ({} characters)", &s[..cut], s.chars().count())),
    }
}

/// Replaces unsafe characters except newlines and tabs with visible placeholders
/// of the same UTF-8 length (`?`, `¿`, `�`), so byte offsets into the text stay
/// valid for snippets.
pub fn mask_controls(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c != '\n' && c != '\t' && is_unsafe(c);
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if bad(c) {
            out.push(match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => '\u{FFFD}',
            });
        } else {
            out.push(c);
        }
    }
    debug_assert_eq!(out.len(), s.len());
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_masks() {
        assert_eq!(
            escape_control("a\n::add-mask::x\u{1b}[31m\u{202e}"),
            "a\\n::add-mask::x\\e[31m\\u{202e}"
        );
        assert!(matches!(escape_control("plain é"), Cow::Borrowed(_)));
        let m = mask_controls("a\u{1b}b\u{85}c\u{202e}d\n\te");
        assert_eq!(m, "a?b¿c\u{FFFD}d\n\te");
        assert_eq!(m.len(), "a\u{1b}b\u{85}c\u{202e}d\n\te".len());
    }
}
