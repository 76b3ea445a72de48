//! Logs through the command line: bad log inputs are errors with file and line
//! while the rest is still scanned, logs on standard input, `--format guardduty`,
//! missing lists in every format, and `deadbolt diff` over a log corpus.

mod common;
use common::Run;
use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn run_with(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = Command::cargo_bin("deadbolt").expect("binary built");
    cmd.args(args);
    if args[0] == "scan" {
        cmd.arg("--no-progress");
    }
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes);
    }
    let out = cmd.output().expect("runs");
    Run::of(out)
}

fn run(args: &[&str]) -> Run {
    run_with(args, None)
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON output: {e}\n{}", r.stdout))
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write fixture");
    p.display().to_string()
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/detect")
        .join(rel)
        .display()
        .to_string()
}

/// (file name, line, message start) of every error in a JSON report.
fn errors(v: &serde_json::Value) -> Vec<(String, u64, String)> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let file = PathBuf::from(e["file"].as_str().unwrap());
                    let name = file.file_name().unwrap().to_string_lossy().into_owned();
                    let msg: String = e["message"].as_str().unwrap().chars().take(40).collect();
                    (name, e["line"].as_u64().unwrap(), msg)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// (detection, resource, status) of every non-pass result.
fn problems(v: &serde_json::Value) -> Vec<(String, String, String)> {
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
            )
        })
        .collect()
}

const FLOW_OK: &str =
    "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 22 6 10 840 1700000000 1700000060 ACCEPT OK\n";

#[test]
fn bad_logs_are_errors_with_file_and_line_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gz = std::fs::read(fixture("ssh-brute-force/attempts.log.gz")).unwrap();
    let trunc = write(d, "trunc.log.gz", &gz[..300]);
    let few = write(
        d,
        "few.log",
        format!("{FLOW_OK}2 123456789012 eni-1 10.0.0.1\n").as_bytes(),
    );
    let header = write(
        d,
        "header.log",
        b"version account-id bogus-field srcaddr\n2 1 x 10.0.0.1\n",
    );
    let trail = write(
        d,
        "trail.json",
        br#"{"Records":[{"eventVersion":"1.08","eventName":"ConsoleLogin","eventTime":"2023-11-14T22:00:00Z"},{"eventVersion":"1.08","eventName":"#,
    );
    let list = write(d, "ips.txt", b"198.51.100.7\n10.0.0.0/33\n");
    let good = fixture("ssh-brute-force/default-v2.log");
    let r = run(&[
        "scan",
        &trunc,
        &few,
        &header,
        &trail,
        &good,
        "--threat-list",
        &format!("ips={list}"),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(
        errors(&v),
        vec![
            (
                "few.log".into(),
                2,
                "expected 14 space-separated fields (vers".into()
            ),
            (
                "header.log".into(),
                1,
                "unknown field `bogus-field` in the flow ".into()
            ),
            (
                "ips.txt".into(),
                2,
                "`10.0.0.0/33` is an invalid address or C".into()
            ),
            (
                "trail.json".into(),
                1,
                "the file ends inside this event (line 1)".into()
            ),
            (
                "trunc.log.gz".into(),
                1,
                "truncated gzip file: the compressed data".into()
            ),
        ]
    );
    // The good file's brute force is still found, and the records before each
    // error were read: the list that could not be read says so where it is needed.
    let p = problems(&v);
    assert!(p.contains(&(
        "ssh-brute-force".into(),
        "eni-0a1b2c3d4e5f60718".into(),
        "fail".into()
    )));
    let unknown: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "unknown" && r["policy"] == "malicious-ip-flow")
        .map(|r| r["message"].as_str().unwrap().to_string())
        .collect();
    assert!(!unknown.is_empty());
    // A file of which no record could be read is unknown too, never a pass.
    assert!(
        unknown.iter().all(|m| m.contains("could not be read from")
            || m == "no record of this file could be read, so nothing was checked"),
        "{unknown:?}"
    );
    assert!(unknown.iter().any(|m| m.contains("could not be read from")));
    let trunc_msg = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"].as_str().unwrap().ends_with("trunc.log.gz"))
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        trunc_msg.contains("the last complete line is line "),
        "{trunc_msg}"
    );
    // stderr names the same errors, so a human sees them without the report.
    for name in [
        "few.log:2:1",
        "header.log:1:",
        "ips.txt:2:1",
        "trail.json:1:",
        "trunc.log.gz",
    ] {
        assert!(r.stderr.contains(name), "{name} in {}", r.stderr);
    }
}

#[test]
fn an_over_long_line_is_skipped_with_its_line_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("ssh-brute-force/default-v2.log")).unwrap();
    let path = dir.path().join("long.log");
    let mut f = std::fs::File::create(&path).unwrap();
    // 17 MiB without a newline: over the 16 MiB line bound.
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..17 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\n").unwrap();
    f.write_all(good.as_bytes()).unwrap();
    drop(f);
    let p = path.display().to_string();
    let r = run(&["scan", &p, "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = json(&r);
    let e = errors(&v);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0.as_str(), e[0].1), ("long.log", 1));
    assert!(problems(&v)
        .iter()
        .any(|(d, _, s)| d == "ssh-brute-force" && s == "fail"));
    // Bounded output: the line is not copied into the report.
    assert!(r.stdout.len() < 200_000, "{} bytes", r.stdout.len());
}

#[test]
fn logs_on_standard_input_plain_and_gzip() {
    for file in [
        "ssh-brute-force/default-v2.log",
        "ssh-brute-force/attempts.log.gz",
    ] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let r = run_with(&["scan", "-", "--format", "json"], Some(bytes));
        assert_eq!(r.code, 1, "{file}: {}", r.stderr);
        let v = json(&r);
        let fails: Vec<_> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "fail")
            .map(|r| (r["policy"].as_str().unwrap(), r["file"].as_str().unwrap()))
            .collect();
        assert!(!fails.is_empty(), "{file}");
        assert!(
            fails
                .iter()
                .all(|(p, f)| *p == "ssh-brute-force" && *f == "-"),
            "{fails:?}"
        );
    }
    let trail = std::fs::read(fixture("cloudtrail/events.json")).unwrap();
    let r = run_with(&["scan", "-", "--format", "json"], Some(trail));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let fails: Vec<String> = problems(&json(&r))
        .into_iter()
        .filter(|p| p.2 == "fail")
        .map(|p| p.0)
        .collect();
    assert!(
        fails.contains(&"root-credential-usage".to_string()),
        "{fails:?}"
    );
}

#[test]
fn guardduty_format_lists_findings_unknowns_and_errors() {
    let r = run(&[
        "scan",
        &fixture("recon-portscan/default-v2.log"),
        "--format",
        "guardduty",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    let findings = v["findings"].as_array().unwrap();
    let summary: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap().to_string(),
                f["service"]["action"]["actionType"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                f["service"]["count"].as_u64().unwrap(),
                f["severity"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(!summary.is_empty());
    assert!(summary.iter().all(|(t, a, c, s)| t == "Recon:EC2/Portscan"
        && a == "PORT_PROBE"
        && *c >= 10
        && *s == 5.0));
    for f in findings {
        assert_eq!(f["schemaVersion"], "2.0");
        let id = f["id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        assert!(f["arn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/finding/{id}")));
        assert!(
            f["service"]["eventFirstSeen"].as_str().unwrap()
                <= f["service"]["eventLastSeen"].as_str().unwrap()
        );
    }
    // Detections that passed are not findings (no ACCEPTed record could be on a
    // threat list here, so nothing is unknown either), and nothing failed to load.
    assert!(v.get("unknown").is_none(), "{v:#}");
    assert!(v.get("errors").is_none());
    // The same run twice gives the same ids.
    let again = json(&run(&[
        "scan",
        &fixture("recon-portscan/default-v2.log"),
        "--format",
        "guardduty",
    ]));
    assert_eq!(v, again);

    // An unreadable input is under `errors`, never an empty passing list.
    let r = run(&["scan", "/nonexistent/flow.log", "--format", "guardduty"]);
    assert_eq!(r.code, 2);
    let v = json(&r);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);
}

#[test]
fn guardduty_findings_of_a_baseline_are_archived() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json").display().to_string();
    let log = fixture("ssh-brute-force/default-v2.log");
    let r = run(&[
        "scan",
        &log,
        "--write-baseline",
        &baseline,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1);
    let r = run(&[
        "scan",
        &log,
        "--baseline",
        &baseline,
        "--format",
        "guardduty",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    let f = v["findings"].as_array().unwrap();
    assert!(!f.is_empty());
    assert!(f.iter().all(|f| f["service"]["archived"] == true));
}

#[test]
fn a_missing_list_is_unknown_in_every_format() {
    let log = fixture("malicious-ip-flow/default-v2.log");
    let out = |format: &str| run(&["scan", &log, "--format", format]);
    let j = json(&out("json"));
    assert!(problems(&j).contains(&(
        "malicious-ip-flow".into(),
        "default-v2.log".into(),
        "unknown".into()
    )));
    let sarif = json(&out("sarif"));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "malicious-ip-flow" && r["kind"] == "review"));
    let junit = out("junit").stdout;
    assert!(junit.contains("<error type=\"unknown\" message=\"cannot be decided for 3 records: threat list `ips` was not given"));
    let github = out("github").stdout;
    assert!(github.contains(
        "title=deadbolt malicious-ip-flow (medium%2C unknown)::cannot be decided for 3 records"
    ));
    let human = out("human").stdout;
    assert!(
        human.contains("? unknown medium malicious-ip-flow default-v2.log"),
        "{human}"
    );
    let gd = json(&out("guardduty"));
    assert_eq!(gd["unknown"][0]["detection"], "malicious-ip-flow");
    // With the list the detection decides.
    let r = run(&[
        "scan",
        &log,
        "--threat-list",
        &format!("ips={}", fixture("lists/ips.txt")),
        "--format",
        "json",
    ]);
    assert!(!problems(&json(&r))
        .iter()
        .any(|p| p.0 == "malicious-ip-flow" && p.2 == "unknown"));
}

#[test]
fn a_log_of_which_nothing_was_read_is_unknown_not_a_pass() {
    // Every line of this file is an error (its header names an unknown field):
    // no detection may pass it, in any format, and the run exits 2.
    let log = "fixtures/logs/flow/unknown-header-field.log";
    let r = run(&["scan", log, "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = json(&r);
    let statuses: Vec<(String, String)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["policy"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "malicious-ip-flow",
            "rdp-brute-force",
            "recon-portscan",
            "ssh-brute-force"
        ]
        .iter()
        .map(|p| (p.to_string(), "unknown".to_string()))
        .collect::<Vec<_>>()
    );
    assert_eq!(v["summary"]["pass"], 0);
    let junit = run(&["scan", log, "--format", "junit"]).stdout;
    assert_eq!(
        junit
            .matches("message=\"no record of this file could be read, so nothing was checked\"")
            .count(),
        4,
        "{junit}"
    );
}

#[test]
fn flow_fields_of_versions_9_to_11_are_typed_in_detections() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "cleartext.policy",
        br#"detection cleartext-flow {
  title "Cleartext traffic to another VPC"
  type "Policy:EC2/Cleartext"
  severity 2.0
  action network_connection
  from flowlog as f
  where f.encryption_status == 0 and f.next_hop_vpc_id exists and f.interface_type == "interface"
  message "{f.srcaddr} to {f.dstaddr} in clear via {f.next_hop_vpc_id} ({f.resource_id})"
}
"#,
    );
    let r = run(&[
        "scan",
        "fixtures/logs/flow/encryption-next-hop-v11-header.log",
        "-p",
        &policy,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["status"], "fail");
    assert_eq!(results[0]["line"], 2);
    assert_eq!(
        results[0]["message"],
        "10.0.1.5 to 10.0.2.9 in clear via vpc-0a1b2c3d (10.0.2.9)"
    );
}

#[test]
fn diff_compares_detections_over_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/detection/ssh-brute-force.policy"),
    )
    .unwrap();
    assert!(src.contains("count() >= 20"));
    std::fs::write(old.join("ssh.policy"), &src).unwrap();
    std::fs::write(
        new.join("ssh.policy"),
        src.replace("count() >= 20", "count() >= 10"),
    )
    .unwrap();
    let r = run(&[
        "diff",
        "--old",
        old.to_str().unwrap(),
        "--new",
        new.to_str().unwrap(),
        &fixture("ssh-brute-force"),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["summary"]["newly_failing"], 2, "{v:#}");
    assert_eq!(v["summary"]["removed"], 0);
    let human = run(&[
        "diff",
        "--old",
        old.to_str().unwrap(),
        "--new",
        new.to_str().unwrap(),
        &fixture("ssh-brute-force"),
        "--color",
        "never",
    ]);
    assert!(
        human.stdout.contains("(0 policies, 1 detection)"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("124 log records in 3 log files"),
        "{}",
        human.stdout
    );
    assert!(human
        .stdout
        .contains("203.0.113.22 made 19 SSH connection attempts to 10.0.2.7"));
}
