//! Text from a keystore or a client shown to a terminal or a log: every control
//! character escaped, so a key description, alias, tag or request line can
//! neither move the cursor, change colours (ESC), start a new log line, nor
//! turn a line into a CI workflow command (`\n::add-mask::`).

use std::borrow::Cow;

/// Whether `c` is escaped: C0 controls, DEL, C1 controls, and the Unicode
/// bidirectional overrides and isolates (which reorder what a terminal shows).
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with `\n`, `\r`, `\t` written as such and every other unsafe character
/// as `\u{XX}`; borrowed when there is nothing to escape.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_text_is_kept() {
        assert!(matches!(escape_control("app data é"), Cow::Borrowed(_)));
        assert_eq!(
            escape_control("a\nb\r\t\u{1b}[31mred\u{7f}\u{9b}\u{202e}"),
            "a\\nb\\r\\t\\u{1b}[31mred\\u{7f}\\u{9b}\\u{202e}"
        );
        assert_eq!(
            escape_control("x\n::add-mask::secret"),
            "x\\n::add-mask::secret"
        );
    }
}
