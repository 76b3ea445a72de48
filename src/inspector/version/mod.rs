//! Version ordering per package ecosystem.
//!
//! Advisory ranges are only as good as the comparison behind them: Debian's
//! `1.0~rc1 < 1.0`, RPM's `1.0^git1 > 1.0`, PEP 440's `1.0.dev0 < 1.0a1`. Each
//! scheme here follows its ecosystem's own rules and is tested against that
//! ecosystem's public vectors (`fixtures/inspector/versions/`, see
//! `tests/inspector_versions.rs`). A string that is not a version of its
//! scheme is an error, never silently ordered.

mod apk;
mod gem;
mod maven;
mod rpm;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub use apk::ApkVersion;
pub use gem::GemVersion;
pub use maven::MavenVersion;
pub use rpm::{rpmvercmp, RpmVersion};

/// How versions of one ecosystem are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// dpkg ordering: epochs, `~` before everything, revisions (Debian, Ubuntu).
    Debian,
    /// rpmvercmp over epoch, version and release (AlmaLinux, Rocky, Red Hat, Amazon Linux).
    Rpm,
    /// apk-tools ordering: `_alpha`…`_p` suffixes, `~hash`, `-rN` (Alpine).
    Apk,
    /// PEP 440 (PyPI).
    Pep440,
    /// Semantic Versioning 2.0.0 precedence; build metadata ignored (npm, crates.io, OSV `SEMVER` ranges).
    Semver,
    /// Go module versions: semver with a `v` prefix (and `go1.x` for the toolchain).
    Go,
    /// Maven's ComparableVersion.
    Maven,
    /// RubyGems' Gem::Version.
    RubyGems,
}

impl Scheme {
    /// The ordering of an OSV ecosystem (`Debian:12`, `PyPI`, `Alpine:v3.19`, ...).
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Debian,
            "AlmaLinux" | "Rocky Linux" | "Red Hat" | "Amazon Linux" | "openSUSE" | "SUSE"
            | "Mageia" | "openEuler" => Scheme::Rpm,
            "Alpine" => Scheme::Apk,
            "PyPI" => Scheme::Pep440,
            "npm" | "crates.io" => Scheme::Semver,
            "Go" => Scheme::Go,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Debian => "Debian",
            Scheme::Rpm => "RPM",
            Scheme::Apk => "Alpine apk",
            Scheme::Pep440 => "PEP 440",
            Scheme::Semver => "semver",
            Scheme::Go => "Go module",
            Scheme::Maven => "Maven",
            Scheme::RubyGems => "RubyGems",
        }
    }

    /// Parse `text` as a version of this scheme.
    pub fn parse(self, text: &str) -> Result<Version, VersionError> {
        let err = |why: String| VersionError {
            scheme: self,
            version: text.to_string(),
            reason: why,
        };
        let inner = match self {
            Scheme::Debian => Inner::Debian(parse_debian(text).map_err(err)?),
            Scheme::Rpm => Inner::Rpm(RpmVersion::parse(text).map_err(err)?),
            Scheme::Apk => Inner::Apk(ApkVersion::parse(text).map_err(err)?),
            Scheme::Pep440 => Inner::Pep440(
                pep440_rs::Version::from_str(text.trim()).map_err(|e| err(e.to_string()))?,
            ),
            Scheme::Semver => Inner::Semver(parse_semver(text, &["v", "="]).map_err(err)?),
            Scheme::Go => Inner::Semver(parse_semver(text, &["go", "v"]).map_err(err)?),
            Scheme::Maven => Inner::Maven(MavenVersion::parse(text).map_err(err)?),
            Scheme::RubyGems => Inner::Gem(GemVersion::parse(text).map_err(err)?),
        };
        Ok(Version {
            scheme: self,
            inner,
        })
    }

    /// Compare two version strings of this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(a)?.cmp(&self.parse(b)?))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that is not a version of its scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError {
    pub scheme: Scheme,
    pub version: String,
    pub reason: String,
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid {} version: {}",
            self.version, self.scheme, self.reason
        )
    }
}

impl std::error::Error for VersionError {}

/// A parsed version. Versions of the same scheme are ordered by that scheme;
/// versions of different schemes (never compared by the matcher) by scheme.
#[derive(Clone, Debug)]
pub struct Version {
    scheme: Scheme,
    inner: Inner,
}

#[derive(Clone, Debug)]
enum Inner {
    Debian(debversion::Version),
    Rpm(RpmVersion),
    Apk(ApkVersion),
    Pep440(pep440_rs::Version),
    Semver(semver::Version),
    Maven(MavenVersion),
    Gem(GemVersion),
}

impl Version {
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// This (installed) version against an advisory's. An RPM version written
    /// without `EPOCH:` (as `rpm -qa` prints it) has an unknown epoch, not 0:
    /// it is compared without epochs, as other scanners of `rpm -qa` output do,
    /// so `openssl-3.0.7-27.el9` is not "older" than `1:3.0.7-16.el9_2`.
    pub fn cmp_installed(&self, advisory: &Version, epoch_written: bool) -> Ordering {
        match (&self.inner, &advisory.inner) {
            (Inner::Rpm(a), Inner::Rpm(b)) if !epoch_written => a.cmp_without_epoch(b),
            _ => self.cmp(advisory),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.inner, &other.inner) {
            (Inner::Debian(a), Inner::Debian(b)) => a.cmp(b),
            (Inner::Rpm(a), Inner::Rpm(b)) => a.cmp(b),
            (Inner::Apk(a), Inner::Apk(b)) => a.cmp(b),
            (Inner::Pep440(a), Inner::Pep440(b)) => a.cmp(b),
            (Inner::Semver(a), Inner::Semver(b)) => semver_precedence(a, b),
            (Inner::Maven(a), Inner::Maven(b)) => a.cmp(b),
            (Inner::Gem(a), Inner::Gem(b)) => a.cmp(b),
            _ => self.scheme.cmp(&other.scheme),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// dpkg's syntax checks on top of the crate's parser: the upstream part starts
/// with a digit and the characters are those Debian policy allows.
fn parse_debian(text: &str) -> Result<debversion::Version, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty version".into());
    }
    let upstream_start = match t.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        Some((epoch, _)) if !epoch.bytes().all(|b| b.is_ascii_digit()) => t,
        Some(_) => return Err("epoch is empty".into()),
        None => t,
    };
    if !upstream_start.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("the upstream version must start with a digit".into());
    }
    debversion::Version::from_str(t).map_err(|e| e.to_string())
}

fn parse_semver(text: &str, prefixes: &[&str]) -> Result<semver::Version, String> {
    let mut t = text.trim();
    for p in prefixes {
        if let Some(rest) = t.strip_prefix(p) {
            t = rest;
        }
    }
    semver::Version::parse(t).map_err(|e| e.to_string())
}

/// SemVer 2.0.0 §11: precedence ignores build metadata (the `semver` crate's
/// `Ord` orders build metadata too, to be total).
fn semver_precedence(a: &semver::Version, b: &semver::Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_map_to_schemes() {
        assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Debian));
        assert_eq!(
            Scheme::for_ecosystem("Ubuntu:22.04:LTS"),
            Some(Scheme::Debian)
        );
        assert_eq!(Scheme::for_ecosystem("Rocky Linux:9"), Some(Scheme::Rpm));
        assert_eq!(Scheme::for_ecosystem("Alpine:v3.19"), Some(Scheme::Apk));
        assert_eq!(Scheme::for_ecosystem("crates.io"), Some(Scheme::Semver));
        assert_eq!(Scheme::for_ecosystem("Hackage"), None);
    }

    #[test]
    fn debian_rejects_what_dpkg_rejects() {
        assert!(Scheme::Debian.parse("1.2.3-1").is_ok());
        assert!(Scheme::Debian.parse("a1.0").is_err());
        assert!(Scheme::Debian.parse("").is_err());
        assert!(Scheme::Debian.parse("1.0 beta").is_err());
        assert!(Scheme::Debian.parse(":1.0").is_err());
    }

    #[test]
    fn semver_prefixes() {
        let v = |s| Scheme::Go.parse(s).unwrap();
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("go1.21.0"), v("1.21.0"));
        assert!(v("v0.0.0-20230101000000-abcdef123456") < v("v0.0.1"));
        assert!(Scheme::Semver.parse("1.2").is_err());
    }
}
