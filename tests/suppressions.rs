//! Inline skips, waivers and baselines through the CLI, and several report
//! formats from one run.

mod common;
use common::Run;
use std::path::Path;

use assert_cmd::Command;

fn deadbolt(dir: &Path, args: &[&str]) -> Run {
    let out = Command::cargo_bin("deadbolt")
        .expect("binary")
        .current_dir(dir)
        .env("DEADBOLT_TODAY", "2026-11-22")
        .args(args)
        .output()
        .expect("runs");
    Run::of(out)
}

/// (resource, status, skip_reason) of the ebs-volume-encryption results.
fn ebs(r: &Run) -> Vec<(String, String, Option<String>)> {
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["policy"] == "ebs-volume-encryption")
        .map(|f| {
            (
                f["resource"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["skip_reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn dir_with(name: &str, text: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(name), text).unwrap();
    d
}

const TEMPLATE: &str = "Resources:
  # deadbolt:skip ebs-volume-encryption -- scratch data, wiped nightly
  Scratch:
    Type: AWS::EC2::Volume
    Properties: {Size: 1, Encrypted: false}
  Legacy:
    Type: AWS::EC2::Volume
    Metadata:
      deadbolt:
        skip:
          - id: ebs-volume-encryption
            reason: migrated in Q3 (TICKET-42)
    Properties: {Size: 1, Encrypted: false}
  Plain:
    Type: AWS::EC2::Volume
    Properties: {Size: 1, Encrypted: false}
";

#[test]
fn inline_skips_from_comments_and_metadata() {
    let d = dir_with("t.yaml", TEMPLATE);
    let r = deadbolt(d.path(), &["scan", "t.yaml", "--format", "json"]);
    assert_eq!(r.code, 1, "Plain still fails: {}", r.stderr);
    assert_eq!(
        ebs(&r),
        vec![
            (
                "Scratch".into(),
                "skipped".into(),
                Some("inline skip: scratch data, wiped nightly".into())
            ),
            (
                "Legacy".into(),
                "skipped".into(),
                Some("inline skip: migrated in Q3 (TICKET-42)".into())
            ),
            ("Plain".into(), "fail".into(), None),
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["summary"]["skipped"], 2);
    // Skipped results appear in every format, with the reason.
    let r = deadbolt(
        d.path(),
        &["scan", "t.yaml", "--format", "human", "--color", "never"],
    );
    assert!(
        r.stdout
            .contains("- skipped high ebs-volume-encryption Scratch"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("(skipped: inline skip: scratch data, wiped nightly)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_skip_without_a_reason_is_an_error() {
    let d = dir_with(
        "t.yaml",
        &TEMPLATE.replace(" -- scratch data, wiped nightly", ""),
    );
    let r = deadbolt(d.path(), &["scan", "t.yaml", "--format", "json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("t.yaml:2:5: skip of `ebs-volume-encryption` has no reason"),
        "{}",
        r.stderr
    );
    let d = dir_with(
        "t.yaml",
        &TEMPLATE.replace("            reason: migrated in Q3 (TICKET-42)\n", ""),
    );
    let r = deadbolt(d.path(), &["scan", "t.yaml", "--format", "json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("t.yaml:11:13: skip of `ebs-volume-encryption` has no reason"),
        "{}",
        r.stderr
    );
}

const WAIVERS: &str = "waivers:
  - policy: ebs-volume-encryption
    resource: Pla*
    reason: accepted until the migration
    owner: alice@example.com
    expires: EXPIRES
";

#[test]
fn waivers_suppress_until_they_expire() {
    let d = dir_with("t.yaml", TEMPLATE);
    std::fs::write(
        d.path().join("w.yaml"),
        WAIVERS.replace("EXPIRES", "2027-01-31"),
    )
    .unwrap();
    let r = deadbolt(
        d.path(),
        &["scan", "t.yaml", "--format", "json", "--waivers", "w.yaml"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        ebs(&r)[2],
        (
            "Plain".into(),
            "skipped".into(),
            Some(
                "waived until 2027-01-31 by alice@example.com: accepted until the migration".into()
            )
        )
    );
    std::fs::write(
        d.path().join("w.yaml"),
        WAIVERS.replace("EXPIRES", "2026-11-01"),
    )
    .unwrap();
    let r = deadbolt(
        d.path(),
        &["scan", "t.yaml", "--format", "json", "--waivers", "w.yaml"],
    );
    assert_eq!(r.code, 1, "an expired waiver stops suppressing");
    assert_eq!(ebs(&r)[2].1, "fail");
    assert!(
        r.stderr.contains(
            "warning: w.yaml:2: the waiver for ebs-volume-encryption on Pla* expired on 2026-11-01"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_waiver_with_a_malformed_date_names_file_and_line() {
    let d = dir_with("t.yaml", TEMPLATE);
    std::fs::write(
        d.path().join("w.yaml"),
        WAIVERS.replace("EXPIRES", "31/01/2027"),
    )
    .unwrap();
    let r = deadbolt(d.path(), &["scan", "t.yaml", "--waivers", "w.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("w.yaml:6:14: `expires: 31/01/2027` is not a date; expected YYYY-MM-DD"),
        "{}",
        r.stderr
    );
}

#[test]
fn baselines_report_only_new_failures_and_survive_line_shifts() {
    let d = dir_with("t.yaml", TEMPLATE);
    let r = deadbolt(
        d.path(),
        &["scan", "t.yaml", "--write-baseline", "base.json"],
    );
    assert_eq!(r.code, 1);
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("base.json")).unwrap())
            .unwrap();
    assert_eq!(base["tool"], "deadbolt");
    assert_eq!(
        base["results"].as_array().unwrap().len(),
        1,
        "only Plain fails"
    );
    // Lines move and a new failing volume appears.
    let shifted = format!(
        "# a new header\n\n{TEMPLATE}  Fresh:\n    Type: AWS::EC2::Volume\n    Properties: {{Size: 1}}\n"
    );
    std::fs::write(d.path().join("t.yaml"), shifted).unwrap();
    let r = deadbolt(
        d.path(),
        &[
            "scan",
            "t.yaml",
            "--format",
            "json",
            "--baseline",
            "base.json",
        ],
    );
    assert_eq!(r.code, 1, "Fresh is new");
    let got = ebs(&r);
    assert!(
        got.contains(&(
            "Plain".into(),
            "skipped".into(),
            Some("in baseline base.json".into())
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&("Fresh".into(), "fail".into(), None)),
        "{got:?}"
    );
}

#[test]
fn a_baseline_from_another_tool_is_refused() {
    let d = dir_with("t.yaml", TEMPLATE);
    std::fs::write(
        d.path().join("other.json"),
        "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n  \"runs\": []\n}\n",
    )
    .unwrap();
    let r = deadbolt(d.path(), &["scan", "t.yaml", "--baseline", "other.json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("other.json"), "{}", r.stderr);
    assert!(r.stderr.contains("not a deadbolt baseline"), "{}", r.stderr);
}

#[test]
fn several_formats_from_one_run() {
    let d = dir_with("t.yaml", TEMPLATE);
    let r = deadbolt(
        d.path(),
        &[
            "scan",
            "t.yaml",
            "--format",
            "human",
            "--color",
            "never",
            "--sarif",
            "out.sarif",
            "--junit",
            "out.xml",
            "--json",
            "out.json",
            "--github",
            "out.txt",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("failed"), "{}", r.stdout);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let junit = std::fs::read_to_string(d.path().join("out.xml")).unwrap();
    assert!(junit.contains("<testsuites"), "{junit}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    let gh = std::fs::read_to_string(d.path().join("out.txt")).unwrap();
    assert!(gh.contains("::error file=t.yaml,line=16,col=27,"), "{gh}");
}
