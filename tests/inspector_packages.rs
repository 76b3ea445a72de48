//! Package vulnerabilities: real OSV records (fixtures/inspector/osv/real,
//! sources in SOURCES.md) matched against an inventory, checked by hand.

use std::path::Path;

use deadbolt::inspector::packages::{check, Advisories, Inventory, PackageStatus};
use deadbolt::inspector::ports::Severity;

fn fixture(p: &str) -> String {
    format!("{}/fixtures/inspector/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn load() -> (Inventory, Advisories) {
    let inv = Inventory::read(Path::new(&fixture("inventory/inventory.json"))).unwrap();
    let adv = Advisories::load(Path::new(&fixture("osv/real")));
    assert!(adv.errors.is_empty(), "{:?}", adv.errors);
    assert_eq!((adv.files, adv.advisories.len()), (4, 4));
    (inv, adv)
}

#[test]
fn real_advisories_match_by_hand() {
    let (inv, adv) = load();
    let r = check(&inv, &adv);
    let got: Vec<String> = r
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} fixed={} {} line {} {:?}",
                f.resource,
                f.package.name,
                f.package.version,
                f.advisory_id,
                f.fixed.as_deref().unwrap_or("-"),
                f.severity.name(),
                f.pos.line,
                f.status
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // nginx 1.2.1-2.2+wheezy2 < 1.2.1-2.2+wheezy3 (Debian:7 only; no severity in a DSA).
            "Web nginx 1.2.1-2.2+wheezy2 DSA-3029-1 fixed=1.2.1-2.2+wheezy3 UNTRIAGED line 3 Vulnerable",
            // nginx-common's source package is nginx, at the fixed version: clear.
            // Jessie (debian:8) is not matched by a Debian:7 advisory.
            // 2.14.1 is in [2.13.0, 2.15.0); 2.12.2 is the fix of [2.4, 2.12.2).
            "App org.apache.logging.log4j:log4j-core 2.14.1 GHSA-jfh8-c2jp-5v3q fixed=2.15.0 CRITICAL line 10 Vulnerable",
            "App org.apache.any23:apache-any23 2.4 GHSA-838r-hvwh-24h8 fixed=2.5 CRITICAL line 12 Vulnerable",
            // PyPI names are normalized (PEP 503); 3.3.1 is in [3.2, 3.3.2).
            "App Cryptography 3.3.1 PYSEC-2021-63 fixed=3.3.2 UNTRIAGED line 13 Vulnerable",
            // A version that does not parse: unknown, never clear.
            "Broken nginx wheezy-2 DSA-3029-1 fixed=- UNTRIAGED line 17 Unknown(\"\\\"wheezy-2\\\" is not a valid Debian version: the upstream version must start with a digit\")",
        ]
    );
    assert_eq!(r.checked, 9);
    let errs: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].ends_with("inventory.json:17:5: Broken nginx: \"wheezy-2\" is not a valid Debian version: the upstream version must start with a digit"), "{}", errs[0]);
}

#[test]
fn inspector_finding_shape() {
    let (inv, adv) = load();
    let r = check(&inv, &adv);
    let f = r
        .findings
        .iter()
        .find(|f| f.advisory_id == "GHSA-jfh8-c2jp-5v3q")
        .unwrap();
    assert_eq!(f.severity, Severity::Critical);
    let mut v = f.finding(&adv);
    v["findingArn"] = "ARN".into();
    insta::assert_json_snapshot!("package_finding_log4shell", v);
}

#[test]
fn bad_advisories_are_errors_with_file_and_line() {
    let adv = Advisories::load(Path::new(&fixture("osv/bad")));
    let mut errs: Vec<String> = adv
        .errors
        .iter()
        .map(|e| {
            format!(
                "{}:{}: {}",
                Path::new(&e.path).file_name().unwrap().to_string_lossy(),
                e.line(),
                e.message
            )
        })
        .collect();
    errs.sort();
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(errs[0].starts_with("bad-version.json:18: advisory DEB-BAD-1: \"not a version!\" is not a valid Debian version"), "{}", errs[0]);
    assert!(
        errs[1].starts_with("broken.json:5: not an OSV advisory: EOF while parsing"),
        "{}",
        errs[1]
    );
    assert!(
        errs[2].starts_with("not-osv.json:4: not an OSV advisory: missing field `id`"),
        "{}",
        errs[2]
    );
    // The record with the broken version still loads; packages it names are unknown.
    assert_eq!(adv.advisories.len(), 1);
    let inv = Inventory::parse("i.json", r#"{"instances": [{"resource": "h", "os": "debian:12", "packages": [{"name": "curl", "version": "7.88.1-10", "manager": "dpkg"}]}]}"#).unwrap();
    let r = check(&inv, &adv);
    assert_eq!(r.findings.len(), 1);
    assert!(matches!(&r.findings[0].status, PackageStatus::Unknown(m) if m.contains("DEB-BAD-1")));
}

#[test]
fn inventory_not_of_the_shape() {
    let e = Inventory::parse("inv.json", "{\"hosts\": []}").unwrap_err();
    assert_eq!((e.line(), e.path.as_str()), (1, "inv.json"));
    assert!(e.message.contains("unknown field `hosts`"), "{e}");
}

#[test]
fn missing_advisories_directory_is_an_error() {
    let adv = Advisories::load(Path::new("/nonexistent/advisories"));
    assert_eq!(adv.errors.len(), 1);
    assert!(adv.errors[0].message.contains("no such advisories"));
}

/// The catalogue's OSV records (fixtures/catalog/package-vulnerability/osv/SOURCES.md).
fn catalog_advisories() -> Advisories {
    let adv = Advisories::load(Path::new(&format!(
        "{}/fixtures/catalog/package-vulnerability/osv",
        env!("CARGO_MANIFEST_DIR")
    )));
    assert!(adv.errors.is_empty(), "{:?}", adv.errors);
    adv
}

fn verdicts(inv: &str, adv: &Advisories) -> Vec<String> {
    let inv = Inventory::parse("inv.json", inv).unwrap();
    let r = check(&inv, adv);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} fixed={} {}",
                f.package.name,
                f.package.version,
                f.advisory_id,
                f.fixed.as_deref().unwrap_or("-"),
                f.severity.name()
            )
        })
        .collect()
}

#[test]
fn rpm_versions_without_an_epoch_compare_without_epochs() {
    // ALSA-2023:3722 fixes openssl in 1:3.0.7-16.el9_2; `rpm -qa` prints no epoch.
    let adv = catalog_advisories();
    let inv = r#"{"instances": [{"resource": "db", "os": "almalinux:9", "packages": [
      {"name": "openssl-libs", "version": "3.0.7-13.el9", "manager": "rpm"},
      {"name": "openssl", "version": "3.0.7-27.el9", "manager": "rpm"},
      {"name": "openssl-devel", "version": "3.0.7-16.el9_2", "manager": "rpm"},
      {"name": "openssl-perl", "version": "0:3.0.7-27.el9", "manager": "rpm"}]}]}"#;
    assert_eq!(
        verdicts(inv, &adv),
        [
            // Older than the fix whatever the epoch.
            "openssl-libs 3.0.7-13.el9 ALSA-2023:3722 fixed=1:3.0.7-16.el9_2 MEDIUM",
            // An epoch written as 0 is an epoch: 0 < 1, so older than the fix.
            "openssl-perl 0:3.0.7-27.el9 ALSA-2023:3722 fixed=1:3.0.7-16.el9_2 MEDIUM",
        ]
    );
}

#[test]
fn ubuntu_records_match_binaries_and_carry_cves_and_severities() {
    let adv = catalog_advisories();
    let usn = adv
        .advisories
        .iter()
        .find(|a| a.id == "USN-6119-1")
        .unwrap();
    // `upstream: [UBUNTU-CVE-2023-1255, UBUNTU-CVE-2023-2650]` names the CVEs.
    assert_eq!(usn.aliases, ["CVE-2023-1255", "CVE-2023-2650"]);
    let inv = r#"{"instances": [{"resource": "web", "os": "ubuntu:22.04", "packages": [
      {"name": "libssl3", "version": "3.0.2-0ubuntu1.9", "manager": "dpkg"},
      {"name": "openssl", "version": "3.0.2-0ubuntu1.10", "manager": "dpkg"},
      {"name": "libssl1.1", "version": "1.1.1f-1ubuntu2.18", "manager": "dpkg"}]}]}"#;
    // libssl3 through the record's binaries; the fixed openssl is clear; libssl1.1 is
    // a 20.04 binary, and this host is 22.04. CVSS 5.9 and 6.5 from cves_map: MEDIUM.
    assert_eq!(
        verdicts(inv, &adv),
        ["libssl3 3.0.2-0ubuntu1.9 USN-6119-1 fixed=3.0.2-0ubuntu1.10 MEDIUM"]
    );
    let lodash = adv
        .advisories
        .iter()
        .find(|a| a.id == "GHSA-35jh-r3h4-6jhm")
        .unwrap();
    assert_eq!(lodash.severity, Severity::High);
    let alsa = adv
        .advisories
        .iter()
        .find(|a| a.id == "ALSA-2023:3722")
        .unwrap();
    // "Moderate: openssl security and bug fix update".
    assert_eq!(alsa.severity, Severity::Medium);
    let dsa = adv
        .advisories
        .iter()
        .find(|a| a.id == "DSA-5514-1")
        .unwrap();
    assert_eq!(dsa.severity, Severity::Untriaged);
}
