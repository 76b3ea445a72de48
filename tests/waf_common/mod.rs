//! Helpers shared by the WAF evaluation tests: a template with IP sets, a
//! regex pattern set and a rule group, and one-line request builders.

#![allow(dead_code)]

use deadbolt::waf::{load_web_acls, select_web_acl, LoadOptions, Outcome, Request, WebAcl};

pub const PRELUDE: &str = r#"
Resources:
  Office:
    Type: AWS::WAFv2::IPSet
    Properties: { Name: office, Scope: REGIONAL, IPAddressVersion: IPV4, Addresses: [10.1.0.0/16, 192.0.2.7/32] }
  Partners:
    Type: AWS::WAFv2::IPSet
    Properties: { Name: partners, Scope: REGIONAL, IPAddressVersion: IPV6, Addresses: ["2001:db8::/32"] }
  BadPaths:
    Type: AWS::WAFv2::RegexPatternSet
    Properties: { Name: bad-paths, Scope: REGIONAL, RegularExpressionList: ["^/wp-admin", "\\.php$"] }
  Group:
    Type: AWS::WAFv2::RuleGroup
    Properties:
      Name: shared
      Scope: REGIONAL
      Capacity: 100
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: g }
      Rules:
        - Name: GroupCountsAdmin
          Priority: 1
          Action: { Count: {} }
          RuleLabels: [{ Name: "path:admin" }]
          Statement: { ByteMatchStatement: { SearchString: /admin, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: STARTS_WITH } }
        - Name: GroupBlocksEvil
          Priority: 2
          Action: { Block: {} }
          Statement: { ByteMatchStatement: { SearchString: evil, FieldToMatch: { QueryString: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: CONTAINS } }
        - Name: GroupSeesOwnLabel
          Priority: 3
          Action: { Block: {} }
          Statement: { AndStatement: { Statements: [ { LabelMatchStatement: { Scope: LABEL, Key: "path:admin" } }, { ByteMatchStatement: { SearchString: delete, FieldToMatch: { QueryString: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: CONTAINS } } ] } }
  Acl:
    Type: AWS::WAFv2::WebACL
    Properties:
      Name: test
      Scope: SCOPE
      DefaultAction: { DEFAULT }
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: t }
      Rules:
"#;

pub fn build(scope: &str, default: &str, rules: &str) -> WebAcl {
    let default = if default.contains(':') {
        default.to_string()
    } else {
        format!("{default}: {{}}")
    };
    let text = PRELUDE.replace("SCOPE", scope).replace("DEFAULT", &default)
        + &rules
            .lines()
            .map(|l| format!("        {l}\n"))
            .collect::<String>();
    let acls = load_web_acls("t.yaml", &text, &LoadOptions::default()).unwrap();
    select_web_acl("t.yaml", acls, Some("Acl")).unwrap_or_else(|e| panic!("{e}"))
}

pub fn acl(rules: &str) -> WebAcl {
    build("REGIONAL", "Allow", rules)
}

pub fn get(uri: &str) -> Request {
    let mut r = Request::get("203.0.113.9", uri).with_header("User-Agent", "Mozilla/5.0");
    r.country = Some("US".into());
    r
}

/// (action, terminating rule) for one request.
pub fn decide(acl: &WebAcl, r: &Request) -> (Outcome, String) {
    let d = acl.evaluate(r, &mut acl.new_rate_state());
    (d.action, d.terminating_rule_id)
}

pub fn blocked_by(rule: &str) -> (Outcome, String) {
    (Outcome::Block, rule.to_string())
}

pub fn allowed() -> (Outcome, String) {
    (Outcome::Allow, "Default_Action".to_string())
}

/// One rule blocking on a byte match of `field` (YAML) with `constraint`.
pub fn byte_rule(
    name: &str,
    field: &str,
    search: &str,
    constraint: &str,
    transforms: &str,
) -> String {
    format!(
        "- Name: {name}\n  Priority: 1\n  Action: {{ Block: {{}} }}\n  Statement: {{ ByteMatchStatement: {{ SearchString: \"{search}\", FieldToMatch: {field}, TextTransformations: {transforms}, PositionalConstraint: {constraint} }} }}\n"
    )
}

pub const NONE: &str = "[{ Priority: 0, Type: NONE }]";

pub fn rate_acl(key: &str, extra: &str) -> WebAcl {
    acl(&format!(
        "- Name: Rate\n  Priority: 1\n  Action: {{ Block: {{}} }}\n  RuleLabels: [{{ Name: \"rate:limited\" }}]\n  Statement: {{ RateBasedStatement: {{ Limit: 10, EvaluationWindowSec: 60, AggregateKeyType: {key}{extra} }} }}"
    ))
}

pub fn at(ip: &str, uri: &str, t: i64) -> Request {
    let mut r = Request::get(ip, uri);
    r.timestamp = Some(t);
    r
}
