//! Catalogue tests: every built-in policy against its fixtures in
//! `fixtures/catalog/<policy-id>/` (CloudFormation YAML, CloudFormation JSON and a
//! Terraform plan, for the resource types the policy covers).
//!
//! Each test pins every finding in a snapshot (one line per finding:
//! `file:line:column status resource (type) — message`) and also asserts the key
//! cases explicitly, so that a test fails even when snapshots are accepted blindly.

use std::path::{Path, PathBuf};

use deadbolt::eval::{evaluate, Params};
use deadbolt::result::Finding;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture files of a policy, relative to the repository.
fn fixture_files(id: &str) -> Vec<String> {
    let dir = repo().join("fixtures/catalog").join(id);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

/// Scans `fixtures/catalog/<id>/` with the built-in policy `id` only.
fn scan(id: &str) -> Vec<Finding> {
    let checked = deadbolt::scan::load_policies(&[]).expect("the built-in catalogue loads");
    assert!(
        checked.diagnostics.is_empty(),
        "the built-in catalogue has diagnostics: {:#?}",
        checked.diagnostics
    );
    let policies: Vec<_> = checked
        .policies
        .into_iter()
        .filter(|p| p.id == id)
        .collect();
    assert_eq!(
        policies.len(),
        1,
        "policy {id} is in the catalogue exactly once"
    );

    let dir: PathBuf = repo().join("fixtures/catalog").join(id);
    let loaded = deadbolt::load::load_inputs(std::slice::from_ref(&dir));
    assert!(
        loaded.errors.is_empty(),
        "load errors: {:#?}",
        loaded.errors
    );
    assert!(
        loaded.skipped.is_empty(),
        "files skipped as not a template: {:?}",
        loaded.skipped
    );
    let findings = evaluate(&policies, &loaded.templates, &Params::default(), None);

    // Every fixture file must contribute findings, or it tests nothing.
    for file in fixture_files(id) {
        assert!(
            findings
                .iter()
                .any(|f| f.file.ends_with(&format!("/{file}"))),
            "fixtures/catalog/{id}/{file} produced no finding"
        );
    }
    findings
}

fn rel(file: &str) -> &str {
    let root = repo().to_str().expect("UTF-8 path");
    file.strip_prefix(root)
        .map(|f| f.trim_start_matches('/'))
        .unwrap_or(file)
}

/// One line per finding, in output order.
fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {} {} ({}) — {}\n",
                rel(&f.file),
                f.line,
                f.column,
                f.status.as_str(),
                f.resource,
                f.resource_type,
                f.message
            )
        })
        .collect()
}

/// Whether there is a finding for `resource` with `status` at `line`.
fn has(findings: &[Finding], resource: &str, status: &str, line: u32) -> bool {
    findings
        .iter()
        .any(|f| f.resource == resource && f.status.as_str() == status && f.line == line)
}

/// The only finding for `resource` (resource ids are unique within a policy's fixtures).
fn finding<'a>(findings: &'a [Finding], resource: &str) -> &'a Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.resource == resource).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected exactly one finding for {resource}, got:\n{}",
        render(findings)
    );
    matching[0]
}

/// Whether `resource` has no finding at all (the policy does not apply to it).
fn absent(findings: &[Finding], resource: &str) -> bool {
    findings.iter().all(|f| f.resource != resource)
}

/// Asserts the (resource, status, line) triples, printing all findings on failure.
fn expect(findings: &[Finding], cases: &[(&str, &str, u32)]) {
    for &(resource, status, line) in cases {
        assert!(
            has(findings, resource, status, line),
            "expected {status} for {resource} at line {line}; findings:\n{}",
            render(findings)
        );
    }
}

/// Asserts that every finding is one of the expected cases: nothing more.
fn expect_only(findings: &[Finding], cases: &[(&str, &str, u32)]) {
    expect(findings, cases);
    assert_eq!(
        findings.len(),
        cases.len(),
        "unexpected extra findings:\n{}",
        render(findings)
    );
}

#[test]
fn ebs_volume_encryption() {
    let f = scan("ebs-volume-encryption");
    insta::assert_snapshot!(render(&f));
}
