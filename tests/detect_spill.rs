//! Groups moved to disk give the same results as groups kept in memory: the
//! whole detection catalogue over every log fixture, once as usual and once
//! with every group spilled after each chunk (`DEADBOLT_SPILL_ENTRIES=1`).

use assert_cmd::Command;

fn scan(spill: Option<&str>, threads: &str) -> (i32, serde_json::Value) {
    let lists = "fixtures/detect/lists";
    let mut cmd = Command::cargo_bin("deadbolt").expect("binary built");
    cmd.args(["scan", "--no-progress", "--format", "json", "-j", threads])
        .args(["--policies", "policies/detection"])
        .arg("--threat-list")
        .arg(format!("ips={lists}/ips.txt"))
        .arg("--threat-list")
        .arg(format!("crypto-domains={lists}/crypto-domains.txt"))
        .arg("--threat-list")
        .arg(format!("c2-domains={lists}/c2-domains.txt"))
        .arg("--trusted-list")
        .arg(format!("{lists}/trusted.txt"))
        .arg("--aws-ip-ranges")
        .arg(format!("{lists}/ip-ranges.json"))
        .args(["fixtures/detect", "fixtures/logs"]);
    match spill {
        Some(n) => cmd.env("DEADBOLT_SPILL_ENTRIES", n),
        None => cmd.env_remove("DEADBOLT_SPILL_ENTRIES"),
    };
    let out = cmd.output().expect("runs");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

fn failed(v: &serde_json::Value) -> usize {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == "fail")
        .count()
}

#[test]
fn spilled_groups_give_the_same_alerts() {
    let (code, memory) = scan(None, "1");
    // Every windowed detection alerts somewhere in the fixtures, so the
    // comparison covers groups of one record and groups of many.
    assert!(failed(&memory) >= 30, "{} alerts", failed(&memory));
    for (spill, threads) in [("1", "1"), ("1", "2"), ("7", "2")] {
        let (c, disk) = scan(Some(spill), threads);
        assert_eq!(c, code, "exit code, spill {spill}, {threads} threads");
        assert_eq!(
            disk["results"], memory["results"],
            "spill {spill}, {threads} threads"
        );
        assert_eq!(disk["errors"], memory["errors"]);
    }
}
