//! Rust regular expressions rewritten in the syntax that means the same to RE2
//! (DuckDB), Java (Spark) and Joni with Java syntax (Trino, Athena).
//!
//! The pattern is parsed into regex-syntax's high-level IR, where Unicode
//! classes, case folding (`(?i)`) and `.` are already explicit character
//! sets, and printed back: every class as ranges of literal characters, `^`
//! and `$` as `\A` and `\z` (Java's `$` also matches before a final newline),
//! groups as non-capturing. What the engines read differently — word
//! boundaries, multi-line anchors, byte classes — is refused.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Longest counted repetition RE2 accepts.
const MAX_REPEAT: u32 = 1000;

/// The pattern for the SQL engines, or why it cannot be written.
pub fn translate(pattern: &str) -> Result<String, String> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("the regular expression does not parse: {e}"))?;
    let mut out = String::new();
    emit(&hir, &mut out)?;
    Ok(out)
}

fn emit(h: &Hir, out: &mut String) -> Result<(), String> {
    match h.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0)
                .map_err(|_| "the regular expression matches raw bytes".to_string())?;
            for c in text.chars() {
                push_char(c, out)?;
            }
        }
        HirKind::Class(Class::Unicode(cls)) => {
            let ranges: Vec<(char, char)> =
                cls.ranges().iter().map(|r| (r.start(), r.end())).collect();
            emit_class(&ranges, out)?;
        }
        HirKind::Class(Class::Bytes(_)) => {
            return Err("the regular expression uses a byte class ((?-u)), which SQL engines read as characters".into())
        }
        HirKind::Look(look) => match look {
            Look::Start => out.push_str("\\A"),
            Look::End => out.push_str("\\z"),
            other => {
                return Err(format!(
                    "the regular expression uses {}, which RE2 and Java define differently",
                    match other {
                        Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF =>
                            "a multi-line anchor ((?m)^ or $)",
                        _ => "a word boundary (\\b, \\B, \\< or \\>)",
                    }
                ))
            }
        },
        HirKind::Repetition(rep) => {
            if rep.min > MAX_REPEAT || rep.max.is_some_and(|m| m > MAX_REPEAT) {
                return Err(format!(
                    "the regular expression repeats more than {MAX_REPEAT} times, more than RE2 allows"
                ));
            }
            out.push_str("(?:");
            emit(&rep.sub, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (m, None) => out.push_str(&format!("{{{m},}}")),
                (m, Some(n)) if m == n => out.push_str(&format!("{{{m}}}")),
                (m, Some(n)) => out.push_str(&format!("{{{m},{n}}}")),
            }
            if !rep.greedy {
                out.push('?');
            }
        }
        HirKind::Capture(cap) => {
            out.push_str("(?:");
            emit(&cap.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(items) => {
            for i in items {
                emit(i, out)?;
            }
        }
        HirKind::Alternation(items) => {
            out.push_str("(?:");
            for (k, i) in items.iter().enumerate() {
                if k > 0 {
                    out.push('|');
                }
                emit(i, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// A class as ranges, or as the complement of its complement when that is the
/// one whose characters can be written (`.` is `[^\x0A]`).
fn emit_class(ranges: &[(char, char)], out: &mut String) -> Result<(), String> {
    let direct = class_text(ranges, false);
    if let Ok(t) = direct {
        out.push_str(&t);
        return Ok(());
    }
    let comp = complement(ranges);
    if comp.is_empty() {
        out.push_str("[\\s\\S]");
        return Ok(());
    }
    match class_text(&comp, true) {
        Ok(t) => {
            out.push_str(&t);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn class_text(ranges: &[(char, char)], negated: bool) -> Result<String, String> {
    if ranges.is_empty() {
        // A class that matches nothing.
        return Ok("[^\\s\\S]".to_string());
    }
    let mut s = String::from(if negated { "[^" } else { "[" });
    for &(a, b) in ranges {
        push_char(a, &mut s)?;
        if b != a {
            s.push('-');
            push_char(b, &mut s)?;
        }
    }
    s.push(']');
    Ok(s)
}

fn complement(ranges: &[(char, char)]) -> Vec<(char, char)> {
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for &(a, b) in ranges {
        let a = a as u32;
        if a > next {
            push_range(&mut out, next, a - 1);
        }
        next = b as u32 + 1;
    }
    if next <= 0x10FFFF {
        push_range(&mut out, next, 0x10FFFF);
    }
    out
}

/// Adds `lo..=hi` without the surrogates, which are not characters.
fn push_range(out: &mut Vec<(char, char)>, lo: u32, hi: u32) {
    let parts = [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)];
    for (a, b) in parts {
        if a <= b {
            if let (Some(a), Some(b)) = (char::from_u32(a), char::from_u32(b)) {
                out.push((a, b));
            }
        }
    }
}

/// One character, in a form all three engines read the same, inside or
/// outside a class.
fn push_char(c: char, out: &mut String) -> Result<(), String> {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else if c.is_ascii_punctuation() {
        out.push('\\');
        out.push(c);
    } else if c.is_ascii() {
        out.push_str(&format!("\\x{:02X}", c as u32));
    } else if printable(c) {
        out.push(c);
    } else {
        return Err(format!(
            "the regular expression matches U+{:04X}, which cannot be written the same way for RE2 and Java",
            c as u32
        ));
    }
    Ok(())
}

/// Non-ASCII characters written as themselves: not controls, spaces,
/// invisible formatting or private-use characters.
fn printable(c: char) -> bool {
    let n = c as u32;
    !c.is_control()
        && !c.is_whitespace()
        && !(0x200B..=0x200F).contains(&n)
        && !(0x2028..=0x202E).contains(&n)
        && !(0x2060..=0x206F).contains(&n)
        && !(0xE000..=0xF8FF).contains(&n)
        && !(0xFE00..=0xFE0F).contains(&n)
        && n != 0xFEFF
        && !(0xFFF0..=0xFFFF).contains(&n)
        && n < 0xE0000
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn anchors_classes_and_case_folding() {
        assert_eq!(
            translate("(?i)/i-[0-9a-f]{8,17}$").unwrap(),
            "\\/[Ii]\\-(?:[0-9A-Fa-f]){8,17}\\z"
        );
        assert_eq!(translate("^a.b").unwrap(), "\\Aa[^\\x0A]b");
        assert_eq!(translate("(?s)a.").unwrap(), "a[\\s\\S]");
        assert_eq!(translate("x|y+?").unwrap(), "(?:x|(?:y)+?)");
        // Unicode case folding is explicit: `k` also matches the Kelvin sign.
        assert_eq!(translate("(?i)k").unwrap(), "[Kk\u{212A}]");
    }

    #[test]
    fn what_engines_read_differently_is_refused() {
        assert!(translate("\\bword\\b")
            .unwrap_err()
            .contains("word boundary"));
        assert!(translate("(?m)^a$").unwrap_err().contains("multi-line"));
        assert!(translate("a{2000}").unwrap_err().contains("RE2"));
        assert!(translate("(").unwrap_err().contains("does not parse"));
    }
}
