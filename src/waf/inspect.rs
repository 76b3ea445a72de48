//! The tests of the inspecting statements, applied to one transformed value:
//! byte match with positional constraints, SQL injection and XSS (libinjection),
//! size constraints and regular expressions.

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
        Test::Xss => XssDetector::new()
            .detect(value)
            .is_injection()
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

fn sqli(value: &[u8], high: bool) -> Option<Detail> {
    if value.is_empty() {
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
    fn clip_bounds_output() {
        assert_eq!(clip(&[b'a'; 500]).chars().count(), MATCHED_DATA_MAX + 1);
    }
}
