//! `deadbolt waf eval` end to end: the worked example's output, JSON, replaying
//! WAF logs (plain and gzip) with --compare, and errors that exit 2.

mod common;
use common::run;

const SHOP: &str = "fixtures/waf/acl/shop.yaml";
const MIXED: &str = "fixtures/waf/requests/mixed.jsonl";

#[test]
fn human_output_is_the_worked_example() {
    let r = run(&["waf", "eval", "--acl", SHOP, "--requests", MIXED]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn json_output_has_decisions_in_the_waf_log_shape_and_rules() {
    let r = run(&[
        "waf",
        "eval",
        "--acl",
        SHOP,
        "--requests",
        MIXED,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["decisions"].as_array().unwrap().len(), 8);
    assert_eq!(v["rules"].as_array().unwrap().len(), 11);
    assert_eq!(v["summary"]["block"], 5);
    // One decision in full: the rule group terminating on Log4j.
    insta::assert_json_snapshot!(v["decisions"][5]);
    let sqli = &v["decisions"][2];
    assert_eq!(sqli["terminatingRuleId"], "SQLiQuery");
    assert_eq!(
        sqli["terminatingRuleMatchDetails"][0]["conditionType"],
        "SQL_INJECTION"
    );
}

#[test]
fn compare_replays_a_gzip_waf_log() {
    for log in [
        "fixtures/waf/logs/shop-waf.log.gz",
        "fixtures/waf/logs/shop-waf.log",
    ] {
        let r = run(&[
            "waf",
            "eval",
            "--acl",
            SHOP,
            "--requests",
            log,
            "--compare",
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 1, "changes exit 1: {}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let changes = v["changes"].as_array().unwrap();
        let summary: Vec<String> = changes
            .iter()
            .map(|c| {
                format!(
                    "line {}: {} {} -> {} {}",
                    c["line"],
                    c["recordedAction"],
                    c["recordedRuleId"],
                    c["action"],
                    c["terminatingRuleId"]
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "line 2: \"ALLOW\" \"Default_Action\" -> \"BLOCK\" \"SQLiQuery\"",
                "line 4: \"ALLOW\" \"Default_Action\" -> \"BLOCK\" \"BlockScanners\""
            ]
        );
    }
}

#[test]
fn compare_needs_log_records() {
    let r = run(&[
        "waf",
        "eval",
        "--acl",
        SHOP,
        "--requests",
        MIXED,
        "--compare",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--compare needs WAF log records"),
        "{}",
        r.stderr
    );
}

#[test]
fn errors_exit_2_with_file_and_line() {
    let cases = [
        (
            vec![
                "--acl",
                "fixtures/waf/bad/priority-clash.yaml",
                "--requests",
                MIXED,
            ],
            "fixtures/waf/bad/priority-clash.yaml:14:11: rules First and Second",
        ),
        (
            vec![
                "--acl",
                SHOP,
                "--requests",
                "fixtures/waf/bad/requests-not-json.jsonl",
            ],
            "fixtures/waf/bad/requests-not-json.jsonl:2:47: not valid JSON",
        ),
        (
            vec![
                "--acl",
                SHOP,
                "--requests",
                "fixtures/waf/bad/requests-bad-base64.jsonl",
            ],
            "fixtures/waf/bad/requests-bad-base64.jsonl:2: \"body_base64\" is not valid Base64",
        ),
        (
            vec![
                "--acl",
                "fixtures/waf/acl/intrinsics.yaml",
                "--requests",
                MIXED,
            ],
            "choose one with --acl-name",
        ),
        (
            vec!["--acl", "no/such/file.yaml", "--requests", MIXED],
            "no/such/file.yaml: cannot read",
        ),
        (
            vec![
                "--acl",
                SHOP,
                "--requests",
                "fixtures/waf/bad/not-an-acl.yaml",
            ],
            "not valid JSON",
        ),
    ];
    for (args, want) in cases {
        let mut full = vec!["waf", "eval"];
        full.extend(args);
        let r = run(&full);
        assert_eq!(r.code, 2, "{full:?}: {}", r.stdout);
        assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
        assert!(r.stderr.contains(want), "{full:?}\n{}", r.stderr);
    }
}

#[test]
fn ip_reputation_list_feeds_the_managed_group() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("rep.txt");
    std::fs::write(&list, "# bad actors\n203.0.113.0/24\n").unwrap();
    let acl = dir.path().join("acl.yaml");
    std::fs::write(
        &acl,
        "Resources:\n  A:\n    Type: AWS::WAFv2::WebACL\n    Properties:\n      Name: a\n      Scope: REGIONAL\n      DefaultAction: { Allow: {} }\n      Rules:\n        - Name: Rep\n          Priority: 0\n          OverrideAction: { None: {} }\n          Statement: { ManagedRuleGroupStatement: { VendorName: AWS, Name: AWSManagedRulesAmazonIpReputationList } }\n",
    )
    .unwrap();
    let a = acl.to_str().unwrap();
    let with = run(&[
        "waf",
        "eval",
        "--acl",
        a,
        "--requests",
        MIXED,
        "--ip-reputation",
        list.to_str().unwrap(),
        "-f",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&with.stdout).unwrap();
    assert_eq!(v["summary"]["block"], 7, "all but the 100.64.0.20 request");
    let without = run(&["waf", "eval", "--acl", a, "--requests", MIXED, "-f", "json"]);
    let v: serde_json::Value = serde_json::from_str(&without.stdout).unwrap();
    assert_eq!(v["summary"]["block"], 0);
    assert!(v["webAcl"]["approximations"][0]["note"]
        .as_str()
        .unwrap()
        .contains("--ip-reputation"));
}
