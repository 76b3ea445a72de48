//! The README's "Detections over logs" shows real output of the bundled
//! fixtures; these tests run the same commands and compare, so the section
//! cannot drift from the binary. Abridged blocks (`…` lines) must still be made
//! of lines the command really prints, in order.

use std::path::Path;

use assert_cmd::Command;

fn section() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let start = readme
        .find("\n## Detections over logs\n")
        .expect("README has a section \"Detections over logs\"");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// The body of the first fenced block that opens after the line containing
/// `marker` (the marker may itself sit in a block: the command before its output).
fn block_after(text: &str, marker: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let m = lines
        .iter()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("README section lacks {marker:?}"));
    let mut open: Option<(usize, String)> = None;
    for (i, l) in lines.iter().enumerate() {
        match &mut open {
            None if l.starts_with("```") => open = Some((i, String::new())),
            Some((at, body)) if l.starts_with("```") => {
                if *at > m {
                    return std::mem::take(body);
                }
                open = None;
            }
            Some((_, body)) => {
                body.push_str(l);
                body.push('\n');
            }
            None => {}
        }
    }
    panic!("no block after {marker:?}")
}

fn run(args: &[&str]) -> (i32, String) {
    let mut cmd = Command::cargo_bin("deadbolt").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.args(args);
    if args[0] == "scan" {
        cmd.args(["--no-progress", "--color", "never"]);
    }
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every line of `shown` other than `…` is a line of `real`, in the same order.
fn assert_abridged(shown: &str, real: &str) {
    let real: Vec<&str> = real.lines().map(str::trim_end).collect();
    let mut at = 0;
    let mut compared = 0;
    for line in shown.lines().map(str::trim_end) {
        if line == "…" || line.is_empty() {
            continue;
        }
        compared += 1;
        match real[at..].iter().position(|r| *r == line) {
            Some(i) => at += i + 1,
            None => panic!(
                "README line not in the output (or out of order):\n{line}\n--- output ---\n{}",
                real.join("\n")
            ),
        }
    }
    assert!(compared >= 2, "nothing compared: {shown:?}");
}

const LISTS: &str = "fixtures/detect/lists";

#[test]
fn worked_example_scan_output() {
    let list = |f: &str| format!("{LISTS}/{f}");
    let args = [
        "scan".to_string(),
        "fixtures/detect".to_string(),
        "--threat-list".to_string(),
        format!("ips={}", list("ips.txt")),
        "--threat-list".to_string(),
        format!("crypto-domains={}", list("crypto-domains.txt")),
        "--threat-list".to_string(),
        format!("c2-domains={}", list("c2-domains.txt")),
        "--trusted-list".to_string(),
        list("trusted.txt"),
        "--aws-ip-ranges".to_string(),
        list("ip-ranges.json"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = run(&args);
    assert_eq!(code, 1, "{out}");
    let s = section();
    let shown = block_after(&s, "--aws-ip-ranges $L/ip-ranges.json");
    assert_abridged(&shown, &out);
}

#[test]
fn worked_example_guardduty_json() {
    let (code, out) = run(&[
        "scan",
        "fixtures/detect/recon-portscan/default-v2.log",
        "--format",
        "guardduty",
    ]);
    assert_eq!(code, 1);
    let real: serde_json::Value = serde_json::from_str(&out).expect("guardduty JSON");
    let s = section();
    let shown = block_after(
        &s,
        "deadbolt scan fixtures/detect/recon-portscan/default-v2.log --format guardduty",
    );
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("README JSON parses");
    assert_eq!(
        shown, real,
        "README's GuardDuty finding differs from the binary's"
    );
}

#[test]
fn missing_list_example() {
    let (code, out) = run(&["scan", "fixtures/logs/flow/default-v2.log"]);
    assert_eq!(code, 0, "an unknown alone does not fail the gate");
    let s = section();
    let shown = block_after(&s, "judge, naming the flag, in every format");
    assert_abridged(&shown, &out);
}

#[test]
fn catalogue_table_lists_every_detection_with_its_type_and_severity() {
    let s = section();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/detection");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("policies/detection") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("policy") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("policy");
        let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("detection "))
            .and_then(|l| l.split_whitespace().next())
        else {
            continue;
        };
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(k).map(|v| v.trim().trim_matches('"')))
                .unwrap_or_else(|| panic!("{id} has no {k}"))
                .to_string()
        };
        let (ty, sev) = (field("type "), field("severity "));
        let row = s
            .lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("the catalogue table lacks {id}"));
        assert!(
            row.contains(&format!("| {ty} |")),
            "{id}: type {ty} not in {row}"
        );
        assert!(
            row.contains(&format!("| {sev} (")),
            "{id}: severity {sev} not in {row}"
        );
        n += 1;
    }
    assert_eq!(n, 14, "detections in policies/detection");
}
