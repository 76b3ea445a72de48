//! Version ordering against each ecosystem's public test vectors
//! (fixtures/inspector/versions/, extracted by tools/inspector_vectors.py; each
//! file names its source).

use std::cmp::Ordering;

use deadbolt::inspector::version::{rpmvercmp, ApkVersion, Scheme};

fn lines(name: &str) -> Vec<(usize, String)> {
    let path = format!(
        "{}/fixtures/inspector/versions/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

/// `A OP B` cases; returns (line, a, op, b).
fn cases(name: &str) -> Vec<(usize, String, String, String)> {
    let out: Vec<_> = lines(name)
        .into_iter()
        .map(|(n, l)| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(parts.len(), 3, "{name}:{n}: expected `A OP B`");
            (
                n,
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].to_string(),
            )
        })
        .collect();
    assert!(out.len() > 5, "{name}: too few cases");
    out
}

fn op_ordering(op: &str) -> Ordering {
    match op {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        other => panic!("unknown op {other}"),
    }
}

fn check_scheme(scheme: Scheme, file: &str) -> usize {
    let mut n = 0;
    for (line, a, op, b) in cases(file) {
        let want = op_ordering(&op);
        let got = scheme
            .compare(&a, &b)
            .unwrap_or_else(|e| panic!("{file}:{line}: {e}"));
        assert_eq!(got, want, "{file}:{line}: {a} {op} {b}");
        // Every case holds in both directions.
        assert_eq!(
            scheme.compare(&b, &a).unwrap(),
            want.reverse(),
            "{file}:{line} reversed"
        );
        n += 1;
    }
    n
}

#[test]
fn debian_against_apt_vectors() {
    assert_eq!(check_scheme(Scheme::Debian, "debian.txt"), 64);
}

#[test]
fn rpm_against_rpmvercmp_at() {
    let mut n = 0;
    for (line, a, op, b) in cases("rpm.txt") {
        assert_eq!(
            rpmvercmp(&a, &b),
            op_ordering(&op),
            "rpm.txt:{line}: {a} {op} {b}"
        );
        n += 1;
    }
    assert_eq!(n, 91);
}

#[test]
fn apk_against_apk_tools_vectors() {
    let mut checked = 0;
    let mut skipped = Vec::new();
    for (line, a, op, b) in cases("apk.txt") {
        let (Ok(va), Ok(vb)) = (ApkVersion::parse(&a), ApkVersion::parse(&b)) else {
            // apk compares invalid versions as plain strings; we reject them
            // (an inventory line or advisory with such a version is an error).
            skipped.push(line);
            continue;
        };
        let (negate, op) = match op.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, op.as_str()),
        };
        let ord = va.cmp(&vb);
        let mut ok = op.chars().any(|c| match c {
            '<' => ord == Ordering::Less,
            '>' => ord == Ordering::Greater,
            '=' => ord == Ordering::Equal,
            '~' => va.fuzzy_matches(&vb),
            _ => panic!("apk.txt:{line}: unknown op {op}"),
        });
        if negate {
            ok = !ok;
        }
        assert!(ok, "apk.txt:{line}: {a} {op} {b} (got {ord:?})");
        checked += 1;
    }
    assert_eq!(skipped, SKIPPED_APK_LINES, "lines with an invalid version");
    assert_eq!(checked, 754 - SKIPPED_APK_LINES.len());
}

/// `23_foo > 4_beta`, `1.0 < 1.0bc`, and two with `_post1` (no such suffix in apk).
const SKIPPED_APK_LINES: &[usize] = &[5, 6, 746, 757];

#[test]
fn apk_validity() {
    for (line, l) in lines("apk_validity.txt") {
        let (valid, v) = l.split_at(1);
        let parsed = ApkVersion::parse(v);
        assert_eq!(
            parsed.is_ok(),
            valid == "+",
            "apk_validity.txt:{line}: {v:?} -> {parsed:?}"
        );
    }
}

#[test]
fn pep440_sorted_list_from_packaging() {
    let versions: Vec<String> = lines("pep440_sorted.txt")
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(versions.len(), 92);
    let parsed: Vec<_> = versions
        .iter()
        .map(|v| Scheme::Pep440.parse(v).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    for i in 0..parsed.len() {
        for j in 0..parsed.len() {
            assert_eq!(
                parsed[i].cmp(&parsed[j]),
                i.cmp(&j),
                "{} vs {}",
                versions[i],
                versions[j]
            );
        }
    }
}

#[test]
fn pep440_invalid_and_normalized() {
    for (line, v) in lines("pep440_invalid.txt") {
        let v = unescape(&v);
        assert!(
            Scheme::Pep440.parse(&v).is_err(),
            "pep440_invalid.txt:{line}: {v:?} parsed"
        );
    }
    assert_eq!(check_scheme(Scheme::Pep440, "pep440_normalized.txt"), 100);
}

/// The invalid list is written with Python's repr escapes (\uXXXX).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn semver_spec_precedence() {
    assert_eq!(check_scheme(Scheme::Semver, "semver.txt"), 15);
}

#[test]
fn maven_comparable_version() {
    assert_eq!(check_scheme(Scheme::Maven, "maven.txt"), 101);
}

#[test]
fn rubygems_versions() {
    assert_eq!(check_scheme(Scheme::RubyGems, "rubygems.txt"), 15);
}

#[test]
fn unparsable_versions_are_errors() {
    let e = Scheme::Pep440.parse("french toast").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("\"french toast\" is not a valid PEP 440 version"),
        "{e}"
    );
    assert!(Scheme::Debian.parse("not-a-version").is_err());
    assert!(Scheme::Apk.parse("1.0-r").is_err());
    assert!(Scheme::Semver.parse("1.0").is_err());
    assert!(Scheme::RubyGems.parse("junk").is_err());
    assert!(Scheme::Rpm.parse("").is_err());
}
