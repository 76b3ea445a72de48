//! The tests of the inspecting statements, applied to one transformed value:
//! byte match with positional constraints, SQL injection and XSS (libinjection),
//! size constraints and regular expressions.

use std::collections::HashSet;
use std::sync::OnceLock;

use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;
use libinjectionrs::{SqliFlags, SqliState, XssDetector};

use super::acl::{Positional, Test};
use super::decision::MatchDetail;

/// Characters of matched data kept in match details.
pub const MATCHED_DATA_MAX: usize = 100;

/// Fingerprint token types that SqliMatch LOW requires, besides libinjection's
/// verdict: a UNION, a statement keyword (SELECT, INSERT, ...), a logic operator
/// (AND/OR), GROUP BY-like clauses, a T-SQL keyword, a function call or any
/// other SQL keyword. So LOW never flags what HIGH does not, and ignores the
/// keyword-free fragments (`admin'--`, `1'#`) that HIGH reports.
pub const SQLI_LOW_TOKENS: &[u8] = b"UE&BTfk";

/// Whether `value` passes `test`; with the details when it does.
pub fn test_value(test: &Test, value: &[u8]) -> Option<Detail> {
    match test {
        Test::Bytes { constraint, needle } => byte_match(*constraint, needle, value)
            .then(|| Detail::new("BYTE_MATCH", None, vec![clip(value)])),
        Test::Sqli { high } => sqli(value, *high),
        Test::Xss => (!xss_impossible(value) && XssDetector::new().detect(value).is_injection())
            .then(|| Detail::new("XSS", None, vec![clip(value)])),
        Test::Size { op, size } => op.holds(value.len() as u64, *size).then(|| {
            Detail::new(
                "SIZE_CONSTRAINT",
                None,
                vec![format!("{} bytes", value.len())],
            )
        }),
        Test::Regex(re) => re
            .find(value)
            .map(|m| Detail::new("REGEX", None, vec![clip(m.as_bytes())])),
        Test::RegexSet { regexes, .. } => regexes.iter().find_map(|re| {
            re.find(value)
                .map(|m| Detail::new("REGEX_PATTERN_SET", None, vec![clip(m.as_bytes())]))
        }),
    }
}

/// A match detail before the location is known.
pub struct Detail {
    pub condition_type: &'static str,
    pub sensitivity: Option<&'static str>,
    pub matched_data: Vec<String>,
}

impl Detail {
    fn new(
        condition_type: &'static str,
        sensitivity: Option<&'static str>,
        data: Vec<String>,
    ) -> Self {
        Detail {
            condition_type,
            sensitivity,
            matched_data: data,
        }
    }

    pub fn at(self, location: &'static str, field_name: Option<String>) -> MatchDetail {
        MatchDetail {
            condition_type: self.condition_type,
            sensitivity_level: self.sensitivity,
            location,
            field_name,
            matched_data: self.matched_data,
        }
    }
}

/// Text for match details: lossy UTF-8, at most [`MATCHED_DATA_MAX`] characters.
pub fn clip(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() <= MATCHED_DATA_MAX {
        s.into_owned()
    } else {
        let mut out: String = s.chars().take(MATCHED_DATA_MAX).collect();
        out.push('…');
        out
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// ByteMatchStatement's positional constraints (case-sensitive).
pub fn byte_match(constraint: Positional, needle: &[u8], value: &[u8]) -> bool {
    match constraint {
        Positional::Exactly => value == needle,
        Positional::StartsWith => value.starts_with(needle),
        Positional::EndsWith => value.ends_with(needle),
        Positional::Contains => needle.is_empty() || memmem(value, needle).next().is_some(),
        Positional::ContainsWord => {
            if needle.is_empty() {
                return false;
            }
            memmem(value, needle).any(|at| {
                let before = at == 0 || !is_word_byte(value[at - 1]);
                let end = at + needle.len();
                let after = end == value.len() || !is_word_byte(value[end]);
                before && after
            })
        }
    }
}

/// Start offsets of every occurrence of `needle` in `hay`.
fn memmem<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    memchr::memmem::find_iter(hay, needle)
}

/// Words that libinjection's tokenizer reads as something other than a plain
/// word: every keyword, function, operator word and type of its table, and the
/// first word of each multi-word keyword (`UNION ALL`), upper-cased.
fn sql_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut set = HashSet::new();
        for k in SQL_KEYWORDS.iter().filter(|k| k.token_type != b'F') {
            set.insert(k.word);
            if let Some((first, _)) = k.word.split_once(' ') {
                set.insert(first);
            }
        }
        set
    })
}

/// Whether libinjection cannot report SQL injection for `value`, decided
/// without running it: the value is only words, numbers and whitespace, and
/// no word is an SQL word. Its tokens are then all barewords and numbers, and
/// no fingerprint made only of those is in libinjection's blacklist (checked
/// against the blacklist in the tests). Plain text is most of what a web ACL
/// inspects, and libinjection is the expensive part of inspecting it.
pub fn sqli_impossible(value: &[u8]) -> bool {
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    if !value.iter().all(|&b| word_byte(b) || space(b)) {
        return false;
    }
    let words = sql_words();
    let mut buf = [0u8; 32];
    for run in value.split(|&b| space(b)).filter(|r| !r.is_empty()) {
        if run.iter().all(u8::is_ascii_digit) {
            continue;
        }
        // A run that starts with a digit but is not a number splits into a
        // number and a word in ways that depend on the tokenizer: not decided here.
        if run[0].is_ascii_digit() || run.len() > buf.len() {
            return false;
        }
        let upper = &mut buf[..run.len()];
        upper.copy_from_slice(run);
        upper.make_ascii_uppercase();
        // All bytes are ASCII, so this is valid UTF-8.
        let word = std::str::from_utf8(upper).unwrap_or("");
        if words.contains(word) {
            return false;
        }
    }
    true
}

/// Whether libinjection cannot report XSS for `value`: every XSS verdict needs
/// a tag, doctype or comment (`<`) or an attribute value (`=`).
pub fn xss_impossible(value: &[u8]) -> bool {
    !value.iter().any(|&b| b == b'<' || b == b'=')
}

fn sqli(value: &[u8], high: bool) -> Option<Detail> {
    if value.is_empty() || sqli_impossible(value) {
        return None;
    }
    let mut state = SqliState::new(value, SqliFlags::FLAG_NONE);
    if !state.detect() {
        return None;
    }
    let fingerprint = state.fingerprint_string();
    if !high && !fingerprint.bytes().any(|b| SQLI_LOW_TOKENS.contains(&b)) {
        return None;
    }
    let tokens: Vec<String> = state
        .tokens
        .iter()
        .take(fingerprint.len())
        .map(|t| {
            let n = t.len.min(t.val.len());
            String::from_utf8_lossy(&t.val[..n]).into_owned()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let data = if tokens.is_empty() {
        vec![clip(value)]
    } else {
        tokens
    };
    Some(Detail::new(
        "SQL_INJECTION",
        Some(if high { "HIGH" } else { "LOW" }),
        data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_constraints() {
        use Positional::*;
        assert!(byte_match(Exactly, b"abc", b"abc"));
        assert!(!byte_match(Exactly, b"abc", b"abcd"));
        assert!(byte_match(StartsWith, b"/admin", b"/admin/x"));
        assert!(byte_match(EndsWith, b".php", b"/x.php"));
        assert!(byte_match(Contains, b"bot", b"a bot here"));
        assert!(!byte_match(Contains, b"Bot", b"a bot here"));
        // CONTAINS_WORD: AWS's four cases, and non-matches inside words.
        assert!(byte_match(ContainsWord, b"BadBot", b"BadBot"));
        assert!(byte_match(ContainsWord, b"BadBot", b"BadBot;"));
        assert!(byte_match(ContainsWord, b"BadBot", b";BadBot"));
        assert!(byte_match(ContainsWord, b"BadBot", b"-BadBot;"));
        assert!(!byte_match(ContainsWord, b"BadBot", b"BadBot_x"));
        assert!(!byte_match(ContainsWord, b"BadBot", b"xBadBot"));
        assert!(byte_match(ContainsWord, b"BadBot", b"xBadBot BadBot"));
    }

    #[test]
    fn sqli_levels() {
        let hit = sqli(b"1' OR '1'='1", true).unwrap();
        assert_eq!(hit.condition_type, "SQL_INJECTION");
        assert!(sqli(b"1' OR '1'='1", false).is_some());
        assert!(sqli(b"O'Reilly", true).is_none());
        assert!(sqli(b"10 AND 1=1", true)
            .unwrap()
            .matched_data
            .contains(&"AND".to_string()));
    }

    #[test]
    fn no_blacklisted_fingerprint_is_only_words_and_numbers() {
        // sqli_impossible relies on this: barewords (n), numbers (1) and
        // variables (v) alone never make a blacklisted fingerprint.
        let only_plain = SQL_KEYWORDS
            .iter()
            .filter(|k| k.token_type == b'F')
            .filter(|k| k.word[1..].bytes().all(|b| matches!(b, b'N' | b'1' | b'V')))
            .count();
        assert_eq!(only_plain, 0);
    }

    #[test]
    fn prefilters() {
        assert!(sqli_impossible(b"red shoes size 10"));
        assert!(!sqli_impossible(b"red union shoes"));
        assert!(!sqli_impossible(b"1 or 1"));
        assert!(!sqli_impossible(b"it's"));
        assert!(!sqli_impossible(b"1union"));
        assert!(xss_impossible(b"javascript alert 1"));
        assert!(!xss_impossible(b"x onerror=alert(1)"));
    }

    #[test]
    fn clip_bounds_output() {
        assert_eq!(clip(&[b'a'; 500]).chars().count(), MATCHED_DATA_MAX + 1);
    }
}
