//! RubyGems' Gem::Version: numeric and alphabetic segments; any letter makes a
//! pre-release (`1.0.a < 1.0`); `-` means `.pre.`; trailing zeros do not count.

use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Num(String),
    Str(String),
}

#[derive(Clone, Debug)]
pub struct GemVersion {
    segments: Vec<Seg>,
}

impl GemVersion {
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        // Gem::Version::ANCHORED_VERSION_PATTERN, without the empty version.
        let valid = {
            let mut parts = t.splitn(2, '-');
            let main = parts.next().unwrap_or_default();
            let pre = parts.next();
            let mut main_parts = main.split('.');
            let first_ok = main_parts
                .next()
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            first_ok
                && main_parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
                && pre.is_none_or(|p| {
                    p.split('.').all(|s| {
                        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
                })
        };
        if !valid {
            return Err("expected digits and dots, optionally followed by letters or a -pre part (e.g. 1.2.3, 1.0.0.rc1)".into());
        }
        let normalized = t.replace('-', ".pre.");
        let mut segments = Vec::new();
        let b = normalized.as_bytes();
        let mut k = 0;
        while k < b.len() {
            if b[k].is_ascii_digit() {
                let s = k;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                segments.push(Seg::Num(
                    normalized[s..k].trim_start_matches('0').to_string(),
                ));
            } else if b[k].is_ascii_alphabetic() {
                let s = k;
                while k < b.len() && b[k].is_ascii_alphabetic() {
                    k += 1;
                }
                segments.push(Seg::Str(normalized[s..k].to_string()));
            } else {
                k += 1;
            }
        }
        // canonical_segments: drop trailing zeros of the release part and of
        // the pre-release part separately.
        let split = segments
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(segments.len());
        let (mut release, mut pre): (Vec<Seg>, Vec<Seg>) =
            (segments[..split].to_vec(), segments[split..].to_vec());
        let zero = Seg::Num(String::new());
        while release.last() == Some(&zero) {
            release.pop();
        }
        while pre.last() == Some(&zero) {
            pre.pop();
        }
        release.extend(pre);
        Ok(GemVersion { segments: release })
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num(String::new());
        for i in 0..self.segments.len().max(other.segments.len()) {
            let l = self.segments.get(i).unwrap_or(&zero);
            let r = other.segments.get(i).unwrap_or(&zero);
            let o = match (l, r) {
                (Seg::Num(a), Seg::Num(b)) => (a.len(), a).cmp(&(b.len(), b)),
                (Seg::Str(a), Seg::Str(b)) => a.cmp(b),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion {}
