//! Alpine apk ordering: `digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}`,
//! token by token as apk-tools compares them.

use std::cmp::Ordering;

/// Token kinds in apk-tools' order; a version that stops earlier than the
/// other is newer unless the other continues with a pre-release suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
}

/// `_alpha` < `_beta` < `_pre` < `_rc` < (none) < `_cvs` < `_svn` < `_git` < `_hg` < `_p`.
const SUFFIXES: &[&str] = &[
    "alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p",
];
const SUFFIX_NONE: usize = 4;

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    /// The token's text (digits, letter, suffix name or hash).
    text: String,
    number: u64,
    suffix: usize,
}

#[derive(Clone, Debug)]
pub struct ApkVersion {
    tokens: Vec<Token>,
}

impl ApkVersion {
    pub fn parse(text: &str) -> Result<Self, String> {
        let s = text.trim().as_bytes();
        let mut tokens = Vec::new();
        let mut k = 0usize;
        let digits = |k: &mut usize| -> Result<(String, u64), String> {
            let start = *k;
            while *k < s.len() && s[*k].is_ascii_digit() {
                *k += 1;
            }
            if *k == start {
                return Err(format!("expected a digit at offset {start}"));
            }
            let t = std::str::from_utf8(&s[start..*k]).unwrap_or_default();
            // apk reads numbers into 64 bits; longer runs still compare by text.
            Ok((t.to_string(), t.parse().unwrap_or(u64::MAX)))
        };
        let (t, n) = digits(&mut k)?;
        tokens.push(Token {
            kind: Kind::InitialDigit,
            text: t,
            number: n,
            suffix: 0,
        });
        let mut last = Kind::InitialDigit;
        while k < s.len() {
            let c = s[k];
            let at = k;
            let bad = |why: &str| format!("{why} at offset {at}");
            let tok = match c {
                b'a'..=b'z' => {
                    if last > Kind::Digit {
                        return Err(bad("a letter may only follow a number"));
                    }
                    k += 1;
                    Token {
                        kind: Kind::Letter,
                        text: (c as char).to_string(),
                        number: 0,
                        suffix: 0,
                    }
                }
                b'.' | b'0'..=b'9' => {
                    if c == b'.' {
                        if last > Kind::Digit {
                            return Err(bad("'.' may only follow a number"));
                        }
                        k += 1;
                    }
                    let kind = match last {
                        Kind::InitialDigit | Kind::Digit => Kind::Digit,
                        Kind::Suffix => Kind::SuffixNo,
                        _ => return Err(bad("a number cannot follow here")),
                    };
                    let (t, n) = digits(&mut k)?;
                    Token {
                        kind,
                        text: t,
                        number: n,
                        suffix: 0,
                    }
                }
                b'_' => {
                    if last > Kind::SuffixNo {
                        return Err(bad("a suffix cannot follow here"));
                    }
                    k += 1;
                    let start = k;
                    while k < s.len() && s[k].is_ascii_lowercase() {
                        k += 1;
                    }
                    let name = std::str::from_utf8(&s[start..k]).unwrap_or_default();
                    let suffix = SUFFIXES
                        .iter()
                        .position(|x| !x.is_empty() && *x == name)
                        .ok_or_else(|| {
                            format!(
                                "unknown suffix _{name} (expected _alpha, _beta, _pre, _rc, _cvs, _svn, _git, _hg or _p)"
                            )
                        })?;
                    Token {
                        kind: Kind::Suffix,
                        text: name.to_string(),
                        number: 0,
                        suffix,
                    }
                }
                b'~' => {
                    if last >= Kind::CommitHash {
                        return Err(bad("a commit hash cannot follow here"));
                    }
                    k += 1;
                    let start = k;
                    while k < s.len() && matches!(s[k], b'0'..=b'9' | b'a'..=b'f') {
                        k += 1;
                    }
                    if k == start {
                        return Err(bad("expected a hexadecimal commit hash after '~'"));
                    }
                    Token {
                        kind: Kind::CommitHash,
                        text: String::from_utf8_lossy(&s[start..k]).into_owned(),
                        number: 0,
                        suffix: 0,
                    }
                }
                b'-' => {
                    if last >= Kind::RevisionNo || s.get(k + 1) != Some(&b'r') {
                        return Err(bad("expected -rN (the package revision)"));
                    }
                    k += 2;
                    let (t, n) = digits(&mut k)?;
                    Token {
                        kind: Kind::RevisionNo,
                        text: t,
                        number: n,
                        suffix: 0,
                    }
                }
                _ => return Err(bad(&format!("unexpected character {:?}", c as char))),
            };
            last = tok.kind;
            tokens.push(tok);
        }
        Ok(ApkVersion { tokens })
    }

    /// apk's `~` operator: `self` equals `prefix` on all of `prefix`'s tokens.
    pub fn fuzzy_matches(&self, prefix: &ApkVersion) -> bool {
        compare(self, prefix, true) == Ordering::Equal
    }
}

fn token_cmp(a: &Token, b: &Token) -> Ordering {
    let by_text = || {
        // apk_blob_sort: bytewise, then the shorter first.
        a.text.as_bytes().cmp(b.text.as_bytes())
    };
    match a.kind {
        Kind::Digit if a.text.starts_with('0') || b.text.starts_with('0') => by_text(),
        Kind::InitialDigit | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
            if a.number == u64::MAX || b.number == u64::MAX {
                (a.text.len(), a.text.as_str()).cmp(&(b.text.len(), b.text.as_str()))
            } else {
                a.number.cmp(&b.number)
            }
        }
        Kind::Letter => by_text(),
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        Kind::CommitHash | Kind::End => by_text(),
    }
}

fn compare(a: &ApkVersion, b: &ApkVersion, fuzzy: bool) -> Ordering {
    let end = Token {
        kind: Kind::End,
        text: String::new(),
        number: 0,
        suffix: 0,
    };
    let mut i = 0;
    loop {
        let ta = a.tokens.get(i).unwrap_or(&end);
        let tb = b.tokens.get(i).unwrap_or(&end);
        if ta.kind != tb.kind || ta.kind == Kind::End {
            if ta.kind == tb.kind {
                return Ordering::Equal;
            }
            if tb.kind == Kind::End && fuzzy {
                return Ordering::Equal;
            }
            // Equal so far: the longer one is newer, unless it goes on with a
            // pre-release suffix (1.0_rc1 < 1.0).
            if ta.kind == Kind::Suffix && ta.suffix < SUFFIX_NONE {
                return Ordering::Less;
            }
            if tb.kind == Kind::Suffix && tb.suffix < SUFFIX_NONE {
                return Ordering::Greater;
            }
            return tb.kind.cmp(&ta.kind);
        }
        match token_cmp(ta, tb) {
            Ordering::Equal => i += 1,
            other => return other,
        }
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self, other, false)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}
