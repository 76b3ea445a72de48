//! RPM ordering: `rpmvercmp` segment comparison over epoch, version, release.

use std::cmp::Ordering;

/// `[EPOCH:]VERSION[-RELEASE]`, as RPM and OSV write it.
#[derive(Clone, Debug)]
pub struct RpmVersion {
    pub epoch: u64,
    pub version: String,
    pub release: Option<String>,
}

impl RpmVersion {
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty version".into());
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("versions contain no spaces or control characters".into());
        }
        let (epoch, rest) = match t.split_once(':') {
            Some((e, rest)) => {
                let epoch = e
                    .parse::<u64>()
                    .map_err(|_| format!("epoch {e:?} is not a number"))?;
                (epoch, rest)
            }
            None => (0, t),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (rest, None),
        };
        if version.is_empty() {
            return Err("the version part is empty".into());
        }
        if release == Some("") {
            return Err("the release after '-' is empty".into());
        }
        Ok(RpmVersion {
            epoch,
            version: version.to_string(),
            release: release.map(str::to_string),
        })
    }
}

impl RpmVersion {
    /// Version, then release (when both have one), ignoring epochs.
    pub fn cmp_without_epoch(&self, other: &Self) -> Ordering {
        rpmvercmp(&self.version, &other.version).then_with(|| {
            match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                _ => Ordering::Equal,
            }
        })
    }
}

impl Ord for RpmVersion {
    /// Epoch, then version, then release — the release only when both sides
    /// have one, as rpm compares a dependency `foo >= 1.2` against `1.2-3`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                _ => Ordering::Equal,
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

/// rpm's `rpmvercmp`: alternating runs of digits and letters, separators
/// ignored, `~` sorts before everything (even the end), `^` after the end but
/// before any further segment; numeric runs beat alphabetic ones.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca.is_none() || cb.is_none() {
            break;
        }
        let numeric = a[i].is_ascii_digit();
        let run = |s: &[u8], mut k: usize| {
            while k < s.len()
                && if numeric {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                }
            {
                k += 1;
            }
            k
        };
        let (ei, ej) = (run(a, i), run(b, j));
        if ej == j {
            // Different kinds of segment: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[i..ei], &b[j..ej]);
        if numeric {
            while sa.len() > 1 && sa[0] == b'0' {
                sa = &sa[1..];
            }
            while sb.len() > 1 && sb[0] == b'0' {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
        i = ei;
        j = ej;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evr() {
        let v = |s| RpmVersion::parse(s).unwrap();
        assert!(v("1:1.0-1") > v("2.0-1"));
        assert!(v("3.0.7-27.el9") > v("3.0.7-24.el9"));
        assert_eq!(v("0:3.0.7-27.el9"), v("3.0.7-27.el9"));
        assert_eq!(v("3.0.7"), v("3.0.7-27.el9"));
        assert!(RpmVersion::parse("x:1.0").is_err());
        assert!(RpmVersion::parse("1.0-").is_err());
    }
}
