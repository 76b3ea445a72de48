//! Policy warnings on the command line: shown by `check`, `scan` and `test`,
//! never changing the exit code of a scan or a test run; `check
//! --deny-warnings` turns them into exit 1.

mod common;
use common::Run;
use std::path::Path;

use assert_cmd::Command;

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = Command::cargo_bin("deadbolt")
        .expect("binary built")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    Run::of(out)
}

const POLICY: &str = r#"policy volumes-encrypted {
  severity high
  for resource "AWS::EC2::Volume" as v
  let size = v.Size
  require v.Encrypted == true
}
"#;

const TEMPLATE: &str =
    "Resources:\n  Plain:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: 10\n      Encrypted: false\n  Safe:\n    Type: AWS::EC2::Volume\n    Properties:\n      Encrypted: true\n";

const TESTS: &str = r#"policy: volumes-encrypted
cases:
  - name: both
    files: [../t.yaml]
    expect:
      Plain: {status: fail, line: 6}
      Safe: {status: pass, line: 7}
"#;

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("temp dir");
    std::fs::write(d.path().join("v.policy"), POLICY).unwrap();
    std::fs::write(d.path().join("t.yaml"), TEMPLATE).unwrap();
    std::fs::create_dir(d.path().join("tests")).unwrap();
    std::fs::write(d.path().join("tests/v.yaml"), TESTS).unwrap();
    d
}

const WARNING: &str = "v.policy:4:7: warning[unused-let]: `size` is never used";

#[test]
fn check_shows_warnings_and_deny_warnings_fails() {
    let d = setup();
    let r = run(d.path(), &["check", "v.policy"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("ok: 1 policy compiled, 1 warning"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("deadbolt::unused-let"), "{}", r.stderr);
    assert!(r.stderr.contains("`size` is never used"), "{}", r.stderr);
    let r = run(d.path(), &["check", "--deny-warnings", "v.policy"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 warning (--deny-warnings)"),
        "{}",
        r.stderr
    );
}

#[test]
fn scan_shows_warnings_without_changing_its_exit_code() {
    let d = setup();
    // One failure: exit 1, as without the warning.
    let r = run(d.path(), &["scan", "-p", "v.policy", "t.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("`size` is never used"), "{}", r.stderr);
    // Only the safe volume: exit 0 despite the warning.
    let safe = TEMPLATE.replace("Encrypted: false", "Encrypted: true");
    std::fs::write(d.path().join("t.yaml"), safe).unwrap();
    let r = run(
        d.path(),
        &["scan", "-p", "v.policy", "t.yaml", "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("`size` is never used"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["summary"]["fail"], 0);
    assert!(
        v.get("errors")
            .is_none_or(|e| e.as_array().is_some_and(|a| a.is_empty())),
        "a warning is not an input error: {}",
        r.stdout
    );
}

#[test]
fn test_runs_show_warnings_and_still_pass() {
    let d = setup();
    let r = run(d.path(), &["test", "."]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(WARNING), "{}", r.stdout);
    assert!(r.stdout.contains("1 passed, 0 failed"), "{}", r.stdout);
    let r = run(d.path(), &["test", ".", "--format", "junit"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(WARNING), "{}", r.stderr);
}
