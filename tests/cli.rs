//! The command line end to end: exit codes, formats, and bad inputs that must give
//! a clear error (file, line, what was expected) and exit 2 — never a panic.

mod common;
use common::Run;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn deadbolt() -> Command {
    Command::cargo_bin("deadbolt").expect("binary built")
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write fixture");
    p
}

fn run(args: &[&str]) -> Run {
    let out = deadbolt().args(args).output().expect("runs");
    Run::of(out)
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON output: {e}\n{}", r.stdout))
}

/// (policy, resource, status, line) of every non-pass result.
fn problems(v: &serde_json::Value) -> Vec<(String, String, String, u64)> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] != "pass")
        .map(|r| {
            (
                r["policy"].as_str().unwrap().to_string(),
                r["resource"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

const VOLUME: &str = "Resources:\n  Plain:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: 10\n      Encrypted: false\n";

#[test]
fn examples_scan_reports_exact_findings() {
    let r = run(&["scan", "fixtures/examples", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["version"], 1);
    let p = problems(&v);
    let has = |policy: &str, res: &str, status: &str, line: u64| {
        p.iter()
            .any(|(a, b, c, d)| a == policy && b == res && c == status && *d == line)
    };
    assert!(
        has("ebs-volume-encryption", "ScratchVolume", "fail", 92),
        "{p:#?}"
    );
    assert!(has("s3-bucket-sse-kms", "LogsBucket", "fail", 77), "{p:#?}");
    assert!(
        has(
            "sg-no-public-admin-ports",
            "AdminSecurityGroup",
            "fail",
            117
        ),
        "{p:#?}"
    );
    assert!(
        has("alb-listener-tls-policy", "HttpsListener", "fail", 165),
        "{p:#?}"
    );
    assert!(
        has("kms-key-policy-no-wildcard", "LegacyKey", "fail", 40),
        "{p:#?}"
    );
    assert!(
        has("cloudfront-viewer-https", "Distribution", "fail", 26),
        "{p:#?}"
    );
    assert!(
        !p.iter()
            .any(|(_, res, _, _)| res == "DataVolume" || res == "AssetsBucket"),
        "{p:#?}"
    );
    let s = &v["summary"];
    let total = v["results"].as_array().unwrap().len() as u64;
    assert_eq!(
        s["pass"].as_u64().unwrap() + s["fail"].as_u64().unwrap() + s["unknown"].as_u64().unwrap(),
        total
    );
}

#[test]
fn output_is_identical_for_one_and_many_threads() {
    let one = run(&["scan", "fixtures", "--format", "json", "--threads", "1"]);
    let many = run(&["scan", "fixtures", "--format", "json", "--threads", "4"]);
    assert_eq!(one.stdout, many.stdout);
}

#[test]
fn clean_template_exits_zero_and_fail_on_filters_by_severity() {
    let d = tmp();
    let f = write(
        d.path(),
        "ok.yaml",
        b"Resources:\n  V:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: 1\n      Encrypted: true\n",
    );
    assert_eq!(run(&["scan", f.to_str().unwrap()]).code, 0);
    let bad = write(
        d.path(),
        "topic.yaml",
        b"Resources:\n  T:\n    Type: AWS::SNS::Topic\n",
    );
    // sns-topic-encryption is medium: fails the gate at medium, not at high.
    assert_eq!(
        run(&["scan", bad.to_str().unwrap(), "--fail-on", "medium"]).code,
        1
    );
    assert_eq!(
        run(&["scan", bad.to_str().unwrap(), "--fail-on", "high"]).code,
        0
    );
}

#[test]
fn params_override_defaults_and_decide_unknowns() {
    let d = tmp();
    let f = write(
        d.path(),
        "p.yaml",
        b"Parameters:\n  Enc:\n    Type: String\nResources:\n  V:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: 1\n      Encrypted: !Ref Enc\n",
    );
    let path = f.to_str().unwrap();
    let r = run(&["scan", path, "--format", "json"]);
    assert_eq!(r.code, 0, "unknown does not fail the gate by default");
    let p = problems(&json(&r));
    assert_eq!(
        p,
        vec![(
            "ebs-volume-encryption".into(),
            "V".into(),
            "unknown".into(),
            9
        )]
    );
    assert_eq!(run(&["scan", path, "--fail-on-unknown"]).code, 1);
    assert_eq!(run(&["scan", path, "--param", "Enc=true"]).code, 0);
    assert_eq!(run(&["scan", path, "--param", "Enc=false"]).code, 1);
    let pf = write(
        d.path(),
        "params.json",
        br#"[{"ParameterKey": "Enc", "ParameterValue": "false"}]"#,
    );
    assert_eq!(
        run(&["scan", path, "--params-file", pf.to_str().unwrap()]).code,
        1
    );
}

#[test]
fn stdin_is_read_with_dash() {
    let out = deadbolt()
        .args(["scan", "-", "--format", "json"])
        .write_stdin(VOLUME)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = problems(&v);
    assert_eq!(
        p,
        vec![(
            "ebs-volume-encryption".into(),
            "Plain".into(),
            "fail".into(),
            6
        )]
    );
    assert_eq!(v["results"][0]["file"], "-");
}

#[test]
fn output_file_is_written_whole() {
    let d = tmp();
    let out = d.path().join("report.json");
    let r = run(&[
        "scan",
        "fixtures/examples",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    // No temporary files are left beside it.
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
}

/// Runs a scan of one bad file and returns the error text.
fn bad_input(name: &str, content: &[u8]) -> String {
    let d = tmp();
    let f = write(d.path(), name, content);
    let good = write(d.path(), "good.yaml", VOLUME.as_bytes());
    let r = run(&[
        "scan",
        f.to_str().unwrap(),
        good.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2, "exit 2 for {name}; stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let v = json(&r);
    // The rest of the scan still ran.
    assert!(
        problems(&v).iter().any(|(_, res, _, _)| res == "Plain"),
        "{}",
        r.stdout
    );
    let errors = v["errors"].as_array().expect("errors").clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert!(e["file"].as_str().unwrap().ends_with(name));
    format!(
        "{}:{}: {}",
        e["line"].as_u64().unwrap_or(0),
        e["column"].as_u64().unwrap_or(0),
        e["message"].as_str().unwrap()
    )
}

#[test]
fn malformed_yaml_is_a_clear_error() {
    let e = bad_input(
        "broken.yaml",
        b"Resources:\n  V:\n    Type: [unclosed\n    Properties: {}\n",
    );
    assert!(
        e.starts_with("3:") || e.starts_with("4:") || e.starts_with("5:"),
        "{e}"
    );
}

#[test]
fn malformed_json_is_a_clear_error() {
    let e = bad_input(
        "broken.json",
        b"{\n  \"Resources\": {\n    \"V\": {\"Type\": \"AWS::EC2::Volume\",}\n  }\n}\n",
    );
    assert!(e.starts_with("3:"), "{e}");
}

#[test]
fn tab_indentation_names_the_line() {
    let e = bad_input("tabs.yaml", b"Resources:\n  V:\n\tType: AWS::EC2::Volume\n");
    assert!(e.starts_with("3:"), "{e}");
    assert!(e.to_lowercase().contains("tab"), "{e}");
}

#[test]
fn alias_bomb_is_refused() {
    let mut y = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
    let mut prev = "a";
    for n in names {
        y.push_str(&format!(
            "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n;
    }
    y.push_str("Resources:\n  V:\n    Type: AWS::EC2::Volume\n");
    let e = bad_input("bomb.yaml", y.as_bytes());
    assert!(e.contains("alias"), "{e}");
}

#[test]
fn deep_nesting_is_refused_without_crashing() {
    let depth = 10_000;
    let yaml = format!("Resources: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let e = bad_input("deep.yaml", yaml.as_bytes());
    assert!(e.contains("nesting") || e.contains("deep"), "{e}");
    let json = format!(
        "{{\"Resources\": {}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let e = bad_input("deep.json", json.as_bytes());
    assert!(e.contains("nesting") || e.contains("deep"), "{e}");
}

#[test]
fn binary_file_is_refused() {
    let e = bad_input(
        "blob.yaml",
        &[0x7f, b'E', b'L', b'F', 0, 1, 2, 3, 0xff, 0xfe, 0],
    );
    assert!(e.contains("binary"), "{e}");
}

#[test]
fn missing_input_is_an_error() {
    let r = run(&["scan", "no/such/path.yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no/such/path.yaml"), "{}", r.stderr);
}

#[test]
fn policy_syntax_error_at_last_character() {
    let d = tmp();
    let p = write(
        d.path(),
        "cut.policy",
        b"policy cut {\n  severity high\n  for resource \"AWS::EC2::Volume\" as v\n  require v.Encrypted == true\n",
    );
    let r = run(&["check", p.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cut.policy:4:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("expected '}' to close policy `cut`"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "scan",
        "fixtures/examples",
        "--policies",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "a scan with an invalid policy exits 2");
}

#[test]
fn unknown_property_is_reported_with_suggestion() {
    let d = tmp();
    let p = write(
        d.path(),
        "typo.policy",
        b"policy typo {\n  severity high\n  for resource \"AWS::EC2::Volume\" as v\n  require v.Encryptd == true\n}\n",
    );
    let r = run(&["check", p.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("unknown property `Encryptd` of AWS::EC2::Volume"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("did you mean `Encrypted`?"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("typo.policy:4:13"), "{}", r.stderr);
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(run(&["scan", "--fail-on", "severe"]).code, 2);
    assert_eq!(
        run(&["scan", "--threads", "0", "fixtures/examples"]).code,
        2
    );
    assert_eq!(run(&["frobnicate"]).code, 2);
    assert_eq!(run(&["explain", "no-such-policy"]).code, 2);
}

#[test]
fn explain_and_list() {
    let r = run(&["explain", "s3-bucket-sse-kms"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("severity:    high"), "{}", r.stdout);
    assert!(
        r.stdout.contains("AWS::S3::Bucket, aws_s3_bucket"),
        "{}",
        r.stdout
    );
    let r = run(&["list"]);
    assert_eq!(r.code, 0);
    // One line per built-in policy or detection (one per catalogue file).
    let n = deadbolt::catalog::builtin_sources().len();
    assert!(n >= 25, "the catalogue has {n} policy files");
    assert_eq!(r.stdout.lines().count(), n, "{}", r.stdout);
}

#[test]
fn check_builtin_catalogue_is_clean() {
    let r = run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = deadbolt::scan::load_policies(&[]).unwrap();
    assert!(
        r.stdout.contains(&format!(
            "{} policies and {} detections compiled",
            c.policies.len(),
            c.detections.len()
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn diff_reports_changes_and_fails_on_change() {
    let args = [
        "diff",
        "--old",
        "fixtures/diff/old",
        "--new",
        "fixtures/diff/new",
        "fixtures/diff/corpus",
    ];
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("3 added, 2 removed, 5 changed, 5 unchanged"),
        "{}",
        r.stdout
    );
    let mut strict = args.to_vec();
    strict.push("--fail-on-change");
    assert_eq!(run(&strict).code, 1);
    let mut as_json = args.to_vec();
    as_json.extend(["--format", "json"]);
    let v = json(&run(&as_json));
    assert_eq!(v["summary"]["newly_failing"], 2);
    let same = run(&[
        "diff",
        "--old",
        "fixtures/diff/old",
        "--new",
        "fixtures/diff/old",
        "fixtures/diff/corpus",
        "--fail-on-change",
    ]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    assert_eq!(
        run(&["diff", "fixtures/diff/corpus"]).code,
        2,
        "no old policies given"
    );
}

// ---- a CI gate never passes on nothing (issue 7) ----

/// The `errors` entries of a JSON report as `file:line:col: message`.
fn errors(v: &serde_json::Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}: {}",
                e["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                e["line"],
                e["column"],
                e["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn files_named_that_are_not_templates_are_errors_with_a_hint() {
    let d = tmp();
    let state = write(
        d.path(),
        "terraform.tfstate",
        br#"{"version": 4, "terraform_version": "1.9.5", "serial": 7, "lineage": "4f1c", "outputs": {}, "resources": []}"#,
    );
    let shown = write(d.path(), "state.json", br#"{"format_version": "1.0", "terraform_version": "1.9.5", "values": {"root_module": {}}}"#);
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00".to_vec();
    zip.extend_from_slice(&[0u8; 32]);
    let binplan = write(d.path(), "plan.out", &zip);
    let empty = write(d.path(), "empty.yaml", b"");
    let random = write(
        d.path(),
        "package.json",
        br#"{"name": "web", "version": "1.0.0", "scripts": {}}"#,
    );
    let hcl = write(
        d.path(),
        "main.tf",
        b"resource \"aws_s3_bucket\" \"b\" {}\n",
    );
    let good = write(d.path(), "vol.yaml", VOLUME.as_bytes());
    let paths: Vec<&str> = [&state, &shown, &binplan, &empty, &random, &hcl, &good]
        .iter()
        .map(|p| p.to_str().unwrap())
        .collect();
    let mut args = vec!["scan", "--format", "json"];
    args.extend(paths);
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = json(&r);
    let hint = "run `terraform plan -out plan.out && terraform show -json plan.out > plan.json` and scan plan.json";
    assert_eq!(
        errors(&v),
        [
            "empty.yaml:1:1: empty file, expected a CloudFormation template or a Terraform plan (`terraform show -json`)".to_string(),
            format!("main.tf:1:1: Terraform configuration (HCL) is not read directly; {hint}"),
            "package.json:1:1: JSON with keys name, version, scripts, but neither a CloudFormation template (no Resources section whose resources have a Type such as AWS::S3::Bucket) nor a Terraform plan (no format_version and planned_values)".to_string(),
            format!("plan.out:1:1: binary file: a zip archive, as Terraform writes binary plan files; deadbolt reads the JSON form: {hint}"),
            format!("state.json:1:1: this is Terraform state, not a plan; {hint}"),
            format!("terraform.tfstate:1:1: this is Terraform state, not a plan; {hint}"),
        ]
    );
    // The good file is still scanned.
    assert_eq!(
        problems(&v),
        [(
            "ebs-volume-encryption".to_string(),
            "Plain".to_string(),
            "fail".to_string(),
            6
        )]
    );
}

#[test]
fn a_scan_with_nothing_to_evaluate_is_an_error() {
    let d = tmp();
    write(d.path(), "workflow.yaml", b"on: push\njobs: {}\n");
    write(d.path(), "notes.txt", b"hello");
    let r = run(&["scan", d.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let e = errors(&json(&r));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].ends_with(&format!(
            "nothing to scan: no CloudFormation template, Terraform plan or log found in {} (1 file was read and is not a template or plan); name the files or directories that hold them",
            d.path().display()
        )),
        "{e:?}"
    );
    // Human output says so too, and exits 2.
    let r = run(&["scan", d.path().to_str().unwrap(), "--color", "never"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nothing to scan"), "{}", r.stderr);
}

#[test]
fn non_utf8_candidates_in_a_walk_are_errors_other_files_stay_quiet() {
    let d = tmp();
    write(
        d.path(),
        "latin1.yaml",
        b"Description: caf\xe9\nResources: {}\n",
    );
    write(d.path(), "logo.png", b"\x89PNG\r\n\x1a\n\x00\x00");
    write(d.path(), "vol.yaml", VOLUME.as_bytes());
    let r = run(&["scan", d.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 2);
    let e = errors(&json(&r));
    assert_eq!(
        e,
        ["latin1.yaml:1:1: binary file, expected a JSON or YAML template or a Terraform plan in JSON (not valid UTF-8 at byte 16)"]
    );
}

#[test]
fn invalid_policies_are_in_every_report() {
    let d = tmp();
    let vol = write(d.path(), "vol.yaml", VOLUME.as_bytes());
    let pol = write(
        d.path(),
        "bad.policy",
        b"policy p {\n  severity high\n  for resource \"AWS::EC2::Volume\" as v\n  require v.Encryptd == true\n}\n",
    );
    let sarif = d.path().join("o.sarif");
    let junit = d.path().join("o.xml");
    let r = run(&[
        "scan",
        vol.to_str().unwrap(),
        "-p",
        pol.to_str().unwrap(),
        "--format",
        "json",
        "--sarif",
        sarif.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    let e = errors(&json(&r));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("bad.policy:4:13: invalid policy: error[unknown-property]:"),
        "{e:?}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let n = &s["runs"][0]["invocations"][0];
    assert_eq!(n["executionSuccessful"], false);
    let note = &n["toolExecutionNotifications"][0];
    assert!(note["message"]["text"]
        .as_str()
        .unwrap()
        .contains("unknown-property"));
    let loc = &note["locations"][0]["physicalLocation"];
    assert!(loc["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .ends_with("bad.policy"));
    assert_eq!(loc["region"]["startLine"], 4);
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("invalid policy: error[unknown-property]"), "{x}");
}

// ---- output that scales, inputs a fuzzer found (issue 7) ----

#[test]
fn a_finding_in_a_one_line_plan_prints_a_window_not_the_line() {
    // As `terraform show -json` writes it: the whole plan on one line, the
    // failing value past column 65,535 (miette panicked there).
    let mut resources = Vec::new();
    for i in 0..400 {
        resources.push(serde_json::json!({"address": format!("aws_ebs_volume.v{i}"), "mode": "managed",
            "type": "aws_ebs_volume", "name": format!("v{i}"),
            "values": {"encrypted": i != 399, "size": 10, "availability_zone": "us-east-1a", "tags": {"pad": "x".repeat(200)}}}));
    }
    let plan = serde_json::json!({"format_version": "1.2", "planned_values": {"root_module": {"resources": resources}}});
    let text = serde_json::to_string(&plan).unwrap();
    assert!(text.len() > 100_000 && !text.contains('\n'));
    let d = tmp();
    let p = write(d.path(), "plan.json", text.as_bytes());
    let r = run(&["scan", p.to_str().unwrap(), "--color", "never"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let col = text.rfind("\"encrypted\":false").unwrap() + 1;
    assert!(col > 65_535);
    assert!(
        r.stdout
            .contains(&format!("aws_ebs_volume.v399 (aws_ebs_volume) at 1:{col}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("[{}:1:{col}]", p.display())),
        "{}",
        r.stdout
    );
    let widest = r.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest < 300, "a line of {widest} characters");
    assert!(r.stdout.len() < 4_000, "{} bytes of output", r.stdout.len());
}

#[test]
fn check_renders_a_window_of_a_very_wide_policy_line() {
    let d = tmp();
    let wide = format!(
        "policy wide {{ severity high for resource \"AWS::EC2::Volume\" as v {} require v.Encryptd == true }}\n",
        " ".repeat(70_000)
    );
    let p = write(d.path(), "wide.policy", wide.as_bytes());
    let r = run(&["check", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown property `Encryptd`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "wide.policy:1:{}]",
            wide.find("Encryptd").unwrap() + 1
        )),
        "{}",
        r.stderr
    );
    let widest = r.stderr.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest < 300, "a line of {widest} characters");
}

#[test]
fn many_documents_many_failures_and_many_diagnostics_stay_linear() {
    // Quadratic before: 16,000 documents took 19.5 s, 4,000 human failures 12.9 s.
    let d = tmp();
    let docs: Vec<String> = (0..16_000)
        .map(|i| format!("Resources:\n  V{i}:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: 1\n      Encrypted: false\n"))
        .collect();
    let p = write(d.path(), "many.yaml", docs.join("---\n").as_bytes());
    let r = run(&[
        "scan",
        p.to_str().unwrap(),
        "--color",
        "never",
        "-p",
        "policies/encryption-at-rest/ebs-volume-encryption.policy",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout.matches("✗ fail").count(), 16_000);
    assert!(
        r.stdout.contains("16000 failed, 0 unknown, 0 passed"),
        "{}",
        &r.stdout[r.stdout.len() - 300..]
    );
    // Thousands of diagnostics in one policy file, and a huge unknown type name.
    let mut pol = String::new();
    for i in 0..3_000 {
        pol.push_str(&format!("policy p{i} {{ severity low for resource \"AWS::EC2::Volume\" as v require frob{i}(v) }}\n"));
    }
    pol.push_str(&format!(
        "policy long {{ severity low for resource \"AWS::{}\" as v require v.x }}\n",
        "Q".repeat(200_000)
    ));
    let pp = write(d.path(), "many.policy", pol.as_bytes());
    let r = run(&["check", pp.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.matches("unknown function `frob").count(), 3_000);
    assert!(
        r.stderr.contains("unknown resource type"),
        "{}",
        &r.stderr[r.stderr.len() - 2000..]
    );
}

#[test]
fn stdin_that_is_not_utf8_is_an_error_entry_and_the_rest_is_scanned() {
    let d = tmp();
    let p = write(d.path(), "vol.yaml", VOLUME.as_bytes());
    let out = deadbolt()
        .args(["scan", "-", p.to_str().unwrap(), "--format", "json"])
        .write_stdin(b"Resources: caf\xe9\xff\n".to_vec())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        errors(&v),
        ["-:1:1: binary file, expected a JSON or YAML template or a Terraform plan in JSON (not valid UTF-8 at byte 14)"]
    );
    assert_eq!(v["summary"]["fail"], 1);
}

#[test]
fn control_characters_from_templates_never_reach_the_terminal_raw() {
    let d = tmp();
    let t = "{\"Resources\": {\"Evil\\n::add-mask::secret\\u001b[2J\": {\"Type\": \"AWS::EC2::Volume\", \"Properties\": {\"Size\": 1, \"Encrypted\": false, \"Note\": \"bell\\u0007\"}}}}";
    let p = write(d.path(), "evil.json", t.as_bytes());
    let r = run(&["scan", p.to_str().unwrap(), "--color", "never"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stdout.contains('\u{1b}'), "raw ESC in output");
    assert!(
        !r.stdout.lines().any(|l| l.trim_start().starts_with("::")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Evil\\n::add-mask::secret\\e[2J (AWS::EC2::Volume)"),
        "{}",
        r.stdout
    );
}

#[test]
fn malformed_option_files_still_give_a_json_report() {
    let d = tmp();
    let p = write(d.path(), "vol.yaml", VOLUME.as_bytes());
    let bad_json = write(d.path(), "bad.json", b"{\"a\": ");
    let bad_yaml = write(d.path(), "bad.yaml", b"waivers: [\n");
    for (flag, file, expect) in [
        (
            "--params-file",
            &bad_json,
            "bad.json:1:6: invalid JSON in parameters file",
        ),
        ("--waivers", &bad_yaml, "bad.yaml:"),
        ("--baseline", &bad_json, "bad.json:"),
        ("--samples", &bad_yaml, "bad.yaml:"),
    ] {
        let r = run(&[
            "scan",
            p.to_str().unwrap(),
            flag,
            file.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 2, "{flag}");
        let v = json(&r);
        let e = errors(&v);
        assert_eq!(e.len(), 1, "{flag}: {e:?}");
        assert!(e[0].starts_with(expect), "{flag}: {e:?}");
        assert_eq!(v["summary"]["fail"], 1, "{flag}: the scan still ran");
    }
}

#[test]
fn kms_alias_cycles_are_unknown_and_the_scan_goes_on() {
    let d = tmp();
    let t = "\
Resources:
  SelfAlias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/a, TargetKeyId: alias/a}
  LoopB:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/b, TargetKeyId: alias/c}
  LoopC:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/c, TargetKeyId: !Ref LoopB}
  Vol:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: true, KmsKeyId: alias/b}
  Plain:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: false}
";
    let p = write(d.path(), "cycle.yaml", t.as_bytes());
    let plan = r#"{"format_version": "1.2", "planned_values": {"root_module": {"resources": [
 {"address": "aws_kms_alias.a", "mode": "managed", "type": "aws_kms_alias", "name": "a", "values": {"name": "alias/x", "target_key_id": "alias/x"}},
 {"address": "aws_ebs_volume.v", "mode": "managed", "type": "aws_ebs_volume", "name": "v", "values": {"encrypted": true, "kms_key_id": "alias/x"}}]}}}"#;
    let q = write(d.path(), "cycle.json", plan.as_bytes());
    let r = run(&[
        "scan",
        p.to_str().unwrap(),
        q.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    let vol = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["policy"] == "kms-claimed-key-usable" && x["resource"] == "Vol")
        .unwrap();
    assert_eq!(vol["status"], "unknown");
    assert_eq!(
        vol["message"],
        "cannot be decided: the KMS aliases form a cycle (alias/b → alias/c → alias/b) and name no key"
    );
    let tf = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["policy"] == "kms-claimed-key-usable" && x["resource"] == "aws_ebs_volume.v")
        .unwrap();
    assert_eq!(tf["status"], "unknown");
    assert!(problems(&v).contains(&(
        "ebs-volume-encryption".into(),
        "Plain".into(),
        "fail".into(),
        16
    )));
}
