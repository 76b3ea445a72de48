//! Which OSV ecosystem a package's advisories come from: OS packages by the
//! OS release (an OS package matches only advisories of its own release),
//! language packages by their manager whatever the OS.

use crate::inspector::version::Scheme;

/// Index key of an OSV `affected[].package.ecosystem`. Red Hat ecosystems name
/// a CPE (`Red Hat:enterprise_linux:9::appstream`); they are keyed by the RHEL
/// major version they name (`Red Hat:9`), everything else by itself.
pub fn advisory_key(ecosystem: &str) -> String {
    if let Some(cpe) = ecosystem.strip_prefix("Red Hat:") {
        let mut parts = cpe.split(':');
        let product = parts.next().unwrap_or_default();
        let version = parts.next().unwrap_or_default();
        if product == "enterprise_linux" || product.starts_with("rhel") {
            if let Some(major) = version.split('.').next().filter(|m| !m.is_empty()) {
                return format!("Red Hat:{major}");
            }
        }
        return format!("Red Hat:?{cpe}");
    }
    ecosystem.to_string()
}

/// The advisory keys a package of `manager` on `os` is matched against, and
/// the version ordering to use; or why it cannot be matched.
pub fn package_keys(manager: &str, os: Option<&str>) -> Result<(Vec<String>, Scheme), String> {
    let lang = |e: &str, s: Scheme| Ok((vec![e.to_string()], s));
    match manager {
        "npm" | "yarn" | "pnpm" => return lang("npm", Scheme::Semver),
        "pip" | "pypi" | "python" | "poetry" | "pipenv" => return lang("PyPI", Scheme::Pep440),
        "cargo" | "crates.io" => return lang("crates.io", Scheme::Semver),
        "gem" | "rubygems" | "bundler" => return lang("RubyGems", Scheme::RubyGems),
        "maven" | "jar" | "gradle" => return lang("Maven", Scheme::Maven),
        "go" | "gomod" | "gobinary" => return lang("Go", Scheme::Go),
        "dpkg" | "deb" | "apt" | "rpm" | "yum" | "dnf" | "apk" => {}
        other => {
            return Err(format!(
                "unknown package manager {other:?} (expected dpkg, rpm, apk, npm, pip, cargo, gem, maven or go)"
            ))
        }
    }
    let Some(os) = os else {
        return Err(format!("the OS of the inventory entry is not known, so its {manager} packages cannot be matched to a release (give \"os\": \"debian:12\" or similar)"));
    };
    let (id, version) = os.split_once(':').ok_or_else(|| {
        format!("os {os:?} is not ID:VERSION as in /etc/os-release (e.g. debian:12)")
    })?;
    let id = id.trim().to_ascii_lowercase();
    let version = version.trim();
    let major = version.split('.').next().unwrap_or(version);
    let family = match manager {
        "dpkg" | "deb" | "apt" => "dpkg",
        "apk" => "apk",
        _ => "rpm",
    };
    let (keys, scheme, want): (Vec<String>, Scheme, &str) = match id.as_str() {
        "debian" => (vec![format!("Debian:{major}")], Scheme::Debian, "dpkg"),
        "ubuntu" => (vec![format!("Ubuntu:{version}"), format!("Ubuntu:{version}:LTS")], Scheme::Debian, "dpkg"),
        "almalinux" => (vec![format!("AlmaLinux:{major}")], Scheme::Rpm, "rpm"),
        "rocky" => (vec![format!("Rocky Linux:{major}")], Scheme::Rpm, "rpm"),
        "rhel" => (vec![format!("Red Hat:{major}")], Scheme::Rpm, "rpm"),
        "amzn" | "amazonlinux" | "amazon" => (vec![format!("Amazon Linux:{version}")], Scheme::Rpm, "rpm"),
        "alpine" => {
            let mm: Vec<&str> = version.split('.').take(2).collect();
            (vec![format!("Alpine:v{}", mm.join("."))], Scheme::Apk, "apk")
        }
        other => {
            return Err(format!(
                "OS {other:?} is not supported (debian, ubuntu, almalinux, rocky, rhel, amazonlinux, alpine)"
            ))
        }
    };
    if want != family {
        return Err(format!("{manager} packages do not belong on {os}"));
    }
    Ok((keys, scheme))
}

/// Package names as the ecosystem compares them (PEP 503 for PyPI).
pub fn normalize_name(key: &str, name: &str) -> String {
    if key == "PyPI" {
        let mut out = String::with_capacity(name.len());
        let mut sep = false;
        for c in name.chars() {
            if c == '-' || c == '_' || c == '.' {
                sep = true;
            } else {
                if sep && !out.is_empty() {
                    out.push('-');
                }
                sep = false;
                out.push(c.to_ascii_lowercase());
            }
        }
        out
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_mapping_as_the_issue_says() {
        let k = |m, os| package_keys(m, Some(os)).unwrap().0;
        assert_eq!(k("dpkg", "debian:12"), ["Debian:12"]);
        assert_eq!(
            k("dpkg", "ubuntu:22.04"),
            ["Ubuntu:22.04", "Ubuntu:22.04:LTS"]
        );
        assert_eq!(k("rpm", "almalinux:9.3"), ["AlmaLinux:9"]);
        assert_eq!(k("rpm", "rocky:9"), ["Rocky Linux:9"]);
        assert_eq!(k("rpm", "rhel:9"), ["Red Hat:9"]);
        assert_eq!(k("rpm", "amazonlinux:2023"), ["Amazon Linux:2023"]);
        assert_eq!(k("apk", "alpine:3.19.1"), ["Alpine:v3.19"]);
        assert_eq!(k("pip", "debian:12"), ["PyPI"]);
        assert!(package_keys("dpkg", Some("almalinux:9")).is_err());
        assert!(package_keys("dpkg", None).is_err());
        assert_eq!(
            advisory_key("Red Hat:enterprise_linux:9::appstream"),
            "Red Hat:9"
        );
        assert_eq!(advisory_key("Red Hat:rhel_eus:9.2::baseos"), "Red Hat:9");
        assert_eq!(advisory_key("Debian:12"), "Debian:12");
        assert_eq!(normalize_name("PyPI", "Foo__Bar.baz"), "foo-bar-baz");
    }
}
