//! `deadbolt test`: expectations, snapshots (new, matching, differing, updated,
//! hand-broken), coverage, JUnit output, and errors in test files.

mod common;
use common::Run;
use std::path::Path;

use assert_cmd::Command;

fn deadbolt(dir: &Path, args: &[&str]) -> Run {
    let out = Command::cargo_bin("deadbolt")
        .expect("binary")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    Run::of(out)
}

const POLICY: &str = r#"policy vol-enc {
  severity high
  for resource "AWS::EC2::Volume" as v
  require v.Encrypted == true else "{v.id} unencrypted"
  require v.Size < 1000 else "{v.id} too big"
}
"#;

const TESTS: &str = r#"policy: vol-enc
cases:
  - name: mixed volumes
    template: |
      Resources:
        Good:
          Type: AWS::EC2::Volume
          Properties: {Encrypted: true, Size: 10}
        Bad:
          Type: AWS::EC2::Volume
          Properties:
            Encrypted: false
    expect:
      Good: pass
      Bad: {status: fail, line: 8, message: unencrypted}
  - name: snapshot of the same
    template: |
      Resources:
        Bad:
          Type: AWS::EC2::Volume
          Properties: {Encrypted: false}
    snapshot: snapshots/bad.snap
"#;

fn project() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("pol/tests")).unwrap();
    std::fs::write(d.path().join("pol/vol-enc.policy"), POLICY).unwrap();
    std::fs::write(d.path().join("pol/tests/vol-enc.yaml"), TESTS).unwrap();
    d
}

#[test]
fn new_snapshots_are_reported_as_new_then_written_then_pass() {
    let d = project();
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 1, "a new snapshot is not a pass: {}", r.stdout);
    assert!(
        r.stdout
            .contains("new snapshot pol/tests/snapshots/bad.snap (not written"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("1 passed, 0 failed\n"), "{}", r.stdout);
    assert!(!d.path().join("pol/tests/snapshots/bad.snap").exists());

    let r = deadbolt(d.path(), &["test", "pol", "--update", "--color", "never"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let snap = std::fs::read_to_string(d.path().join("pol/tests/snapshots/bad.snap")).unwrap();
    assert_eq!(
        snap,
        "# deadbolt snapshot v1\n# case: snapshot of the same\ninline:4:18 fail vol-enc Bad (AWS::EC2::Volume) — Bad unencrypted\n"
    );
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.ends_with("2 passed, 0 failed\n"), "{}", r.stdout);
}

#[test]
fn a_changed_policy_shows_a_unified_diff_and_update_rewrites() {
    let d = project();
    assert_eq!(deadbolt(d.path(), &["test", "pol", "--update"]).code, 0);
    std::fs::write(
        d.path().join("pol/vol-enc.policy"),
        POLICY.replace("{v.id} unencrypted", "{v.id} is not encrypted"),
    )
    .unwrap();
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("snapshot pol/tests/snapshots/bad.snap differs"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("-inline:4:18 fail vol-enc Bad (AWS::EC2::Volume) — Bad unencrypted"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("+inline:4:18 fail vol-enc Bad (AWS::EC2::Volume) — Bad is not encrypted"),
        "{}",
        r.stdout
    );
    // The expectation on the message fails too, with expected vs found.
    assert!(
        r.stdout.contains("vol-enc › Bad: expected fail at line 8, found fail at line 8: Bad is not encrypted (message should contain \"unencrypted\")"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("0 passed, 2 failed\n"), "{}", r.stdout);
    // The snapshot was not touched.
    let snap = std::fs::read_to_string(d.path().join("pol/tests/snapshots/bad.snap")).unwrap();
    assert!(snap.contains("Bad unencrypted"));
    let r = deadbolt(d.path(), &["test", "pol", "--update", "--color", "never"]);
    assert!(
        r.stdout
            .contains("snapshot pol/tests/snapshots/bad.snap updated"),
        "{}",
        r.stdout
    );
    let snap = std::fs::read_to_string(d.path().join("pol/tests/snapshots/bad.snap")).unwrap();
    assert!(snap.contains("Bad is not encrypted"));
}

#[test]
fn unexpected_results_and_wrong_lines_fail() {
    let d = project();
    let tests = TESTS
        .replace("      Good: pass\n", "")
        .replace("line: 8", "line: 9");
    std::fs::write(d.path().join("pol/tests/vol-enc.yaml"), tests).unwrap();
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("vol-enc › Bad: expected fail at line 9, found fail at line 8"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("vol-enc › Good: not expected, found pass at line 2"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("pol/tests/vol-enc.yaml:3)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_typo_in_a_policy_id_names_file_and_line() {
    let d = project();
    std::fs::write(
        d.path().join("pol/tests/vol-enc.yaml"),
        TESTS.replace("policy: vol-enc", "policy: vol-encc"),
    )
    .unwrap();
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.contains(
            "pol/tests/vol-enc.yaml:1:9: no policy `vol-encc` is loaded; did you mean `vol-enc`?"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn a_bad_status_or_key_names_file_and_line() {
    let d = project();
    std::fs::write(
        d.path().join("pol/tests/vol-enc.yaml"),
        TESTS.replace("Good: pass", "Good: passed"),
    )
    .unwrap();
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .contains("vol-enc.yaml:14:13: `passed` is not a status; did you mean `pass`?"),
        "{}",
        r.stdout
    );
    std::fs::write(
        d.path().join("pol/tests/vol-enc.yaml"),
        TESTS.replace("    expect:\n      Good", "    expct:\n      Good"),
    )
    .unwrap();
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .contains("vol-enc.yaml:13:5: unknown key `expct` in the case; did you mean `expect`?"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_hand_broken_snapshot_is_an_error_with_its_line() {
    let d = project();
    assert_eq!(deadbolt(d.path(), &["test", "pol", "--update"]).code, 0);
    let path = d.path().join("pol/tests/snapshots/bad.snap");
    let snap = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, snap.replace("inline:4:18 fail", "inline:4 failed")).unwrap();
    let r = deadbolt(d.path(), &["test", "pol", "--color", "never"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .contains("pol/tests/snapshots/bad.snap:3:1: malformed snapshot line"),
        "{}",
        r.stdout
    );
}

#[test]
fn coverage_lists_untested_policies_and_clauses() {
    let d = project();
    std::fs::write(
        d.path().join("pol/other.policy"),
        "policy untested {\n  severity low\n  for resource \"AWS::SNS::Topic\" as t\n  require t.KmsMasterKeyId exists\n}\n",
    )
    .unwrap();
    assert_eq!(deadbolt(d.path(), &["test", "pol", "--update"]).code, 0);
    let r = deadbolt(d.path(), &["test", "pol", "--coverage", "--color", "never"]);
    assert_eq!(r.code, 0, "--coverage alone only reports: {}", r.stdout);
    assert!(
        r.stdout.contains("untested  pass case: no   fail case: no"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("vol-enc   pass case: yes  fail case: yes"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("never the deciding clause: [AWS::EC2::Volume] require v.Size < 1000"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("1 of 2 policies have both a passing and a failing case"),
        "{}",
        r.stdout
    );
    let r = deadbolt(
        d.path(),
        &["test", "pol", "--require-coverage", "--color", "never"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn junit_output_lists_cases() {
    let d = project();
    std::fs::write(
        d.path().join("pol/tests/vol-enc.yaml"),
        TESTS.replace("line: 8", "line: 9"),
    )
    .unwrap();
    let r = deadbolt(d.path(), &["test", "pol", "--format", "junit"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.starts_with("<?xml"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("<testsuite name=\"pol/tests/vol-enc.yaml\" tests=\"2\" failures=\"1\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("<testcase name=\"mixed volumes\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("<failure message=\"vol-enc › Bad: expected fail at line 9"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("<skipped message=\"new snapshot"),
        "{}",
        r.stdout
    );
    let _ = r.stderr;
}

#[test]
fn the_catalogue_tests_pass_with_full_coverage() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let r = deadbolt(
        root,
        &["test", "policies", "--require-coverage", "--color", "never"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let n = deadbolt::catalog::builtin_sources().len();
    assert!(n >= 25, "the catalogue has {n} policy files");
    assert!(
        r.stdout.contains(&format!(
            "{n} of {n} policies have both a passing and a failing case"
        )),
        "{}",
        r.stdout
    );
}
