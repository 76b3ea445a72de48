//! AWS WAFv2 rule semantics: actions and priority order, CAPTCHA and Challenge
//! tokens, labels across rules, rule groups and their overrides, managed groups,
//! rate-based rules, and undetermined outcomes.

mod waf_common;

use deadbolt::waf::request::TokenState;
use deadbolt::waf::{evaluate_corpus, Outcome, Request, RuleType};
use waf_common::*;

#[test]
fn count_labels_are_seen_by_later_rules() {
    let a = acl(r#"
- Name: TagBot
  Priority: 1
  Action: { Count: {} }
  RuleLabels: [{ Name: "client:bot:crawler" }]
  Statement: { ByteMatchStatement: { SearchString: bot, FieldToMatch: { SingleHeader: { Name: user-agent } }, TextTransformations: [{ Priority: 0, Type: LOWERCASE }], PositionalConstraint: CONTAINS } }
- Name: BlockBotNamespace
  Priority: 2
  Action: { Block: {} }
  Statement:
    AndStatement:
      Statements:
        - LabelMatchStatement: { Scope: NAMESPACE, Key: "client:bot:" }
        - ByteMatchStatement: { SearchString: /checkout, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: STARTS_WITH }
- Name: BlockCrawlerLabel
  Priority: 3
  Action: { Block: {} }
  Statement: { LabelMatchStatement: { Scope: LABEL, Key: "bot:crawler" } }
"#);
    let bot = |uri: &str| Request::get("1.2.3.4", uri).with_header("User-Agent", "SomeBot/1.0");
    let d = a.evaluate(&bot("/checkout/pay"), &mut Default::default());
    assert_eq!(
        (d.action, d.terminating_rule_id.as_str()),
        (Outcome::Block, "BlockBotNamespace")
    );
    assert_eq!(
        d.label_names().collect::<Vec<_>>(),
        ["awswaf:123456789012:webacl:test:client:bot:crawler"]
    );
    assert_eq!(decide(&a, &bot("/")), blocked_by("BlockCrawlerLabel"));
    assert_eq!(decide(&a, &get("/checkout")), allowed());
    // A label already on the request (fixture `labels`) counts too.
    let mut pre = get("/");
    pre.labels
        .push("awswaf:123456789012:webacl:test:x:bot:crawler".into());
    assert_eq!(decide(&a, &pre), blocked_by("BlockCrawlerLabel"));
}

#[test]
fn rule_group_exclusions_overrides_and_count_override() {
    let with = |stmt_extra: &str, override_action: &str| {
        acl(&format!(
            "- Name: Shared\n  Priority: 5\n  OverrideAction: {{ {override_action}: {{}} }}\n  Statement: {{ RuleGroupReferenceStatement: {{ Arn: !GetAtt Group.Arn{stmt_extra} }} }}"
        ))
    };
    let evil = get("/?q=evil");
    let plain = with("", "None");
    let d = plain.evaluate(&evil, &mut Default::default());
    assert_eq!(
        (
            d.action,
            d.terminating_rule_id.as_str(),
            d.terminating_rule_type
        ),
        (Outcome::Block, "Shared", RuleType::Group)
    );
    assert_eq!(
        d.rule_group_list[0]
            .terminating_rule
            .as_ref()
            .unwrap()
            .rule_id,
        "GroupBlocksEvil"
    );
    // An excluded rule counts instead of blocking.
    let excluded = with(", ExcludedRules: [{ Name: GroupBlocksEvil }]", "None");
    let d = excluded.evaluate(&evil, &mut Default::default());
    assert_eq!(
        (d.action, d.terminating_rule_id.as_str()),
        (Outcome::Allow, "Default_Action")
    );
    let g = &d.rule_group_list[0];
    assert_eq!(
        g.non_terminating_matching_rules[0].rule_id,
        "GroupBlocksEvil"
    );
    assert_eq!(
        g.excluded_rules.as_ref().unwrap()[0].rule_id,
        "GroupBlocksEvil"
    );
    // RuleActionOverrides: any action.
    let captcha = with(
        ", RuleActionOverrides: [{ Name: GroupBlocksEvil, ActionToUse: { Captcha: {} } }]",
        "None",
    );
    let d = captcha.evaluate(&evil, &mut Default::default());
    assert_eq!(
        (d.action, d.response_code_sent),
        (Outcome::Captcha, Some(405))
    );
    let t = d.rule_group_list[0].terminating_rule.as_ref().unwrap();
    assert_eq!(
        (t.action.name(), t.overridden_action.map(|a| a.name())),
        ("CAPTCHA", Some("BLOCK"))
    );
    // OverrideAction Count: the group's block is only counted.
    let counted = with("", "Count");
    let d = counted.evaluate(&evil, &mut Default::default());
    assert_eq!(d.action, Outcome::Allow);
    assert_eq!(d.non_terminating_matching_rules[0].rule_id, "Shared");
    // Labels inside the group carry the group's prefix and are visible to its
    // later rules.
    let d = plain.evaluate(&get("/admin?q=delete"), &mut Default::default());
    assert_eq!(
        d.rule_group_list[0]
            .terminating_rule
            .as_ref()
            .unwrap()
            .rule_id,
        "GroupSeesOwnLabel"
    );
    assert_eq!(
        d.label_names().collect::<Vec<_>>(),
        ["awswaf:123456789012:rulegroup:shared:path:admin"]
    );
}

#[test]
fn captcha_and_challenge_with_tokens() {
    let a = acl(r#"
- Name: CaptchaLogin
  Priority: 1
  Action: { Captcha: {} }
  CaptchaConfig: { ImmunityTimeProperty: { ImmunityTime: 60 } }
  Statement: { ByteMatchStatement: { SearchString: /login, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY } }
- Name: ChallengeAll
  Priority: 2
  Action: { Challenge: {} }
  Statement: { NotStatement: { Statement: { ByteMatchStatement: { SearchString: /health, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY } } } }
"#);
    let mut r = get("/login");
    r.timestamp = Some(1_000_000);
    let d = a.evaluate(&r, &mut Default::default());
    assert_eq!(
        (
            d.action,
            d.terminating_rule_id.as_str(),
            d.response_code_sent
        ),
        (Outcome::Captcha, "CaptchaLogin", Some(405))
    );
    assert_eq!(
        d.captcha_response.as_ref().unwrap().failure_reason,
        Some("TOKEN_MISSING")
    );
    // Solved 30 s ago: valid for CAPTCHA (60 s), then the challenge stops it.
    r.tokens.captcha = TokenState::SolvedAt(970_000);
    let d = a.evaluate(&r, &mut Default::default());
    assert_eq!(
        (
            d.action,
            d.terminating_rule_id.as_str(),
            d.response_code_sent
        ),
        (Outcome::Challenge, "ChallengeAll", Some(202))
    );
    assert_eq!(d.non_terminating_matching_rules[0].action.name(), "CAPTCHA");
    r.tokens.challenge = TokenState::Valid;
    assert_eq!(decide(&a, &r), allowed());
    // Solved 61 s ago: expired.
    r.tokens.captcha = TokenState::SolvedAt(939_000);
    let d = a.evaluate(&r, &mut Default::default());
    assert_eq!(
        d.captcha_response.as_ref().unwrap().failure_reason,
        Some("TOKEN_EXPIRED")
    );
}

#[test]
fn default_action_block_and_allow_terminates() {
    let a = build("REGIONAL", "Block", "- Name: AllowHealth\n  Priority: 0\n  Action: { Allow: {} }\n  Statement: { ByteMatchStatement: { SearchString: /health, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY } }\n- Name: BlockAll\n  Priority: 1\n  Action: { Block: {} }\n  Statement: { ByteMatchStatement: { SearchString: /, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: STARTS_WITH } }");
    assert_eq!(
        decide(&a, &get("/health")),
        (Outcome::Allow, "AllowHealth".into())
    );
    assert_eq!(decide(&a, &get("/x")), blocked_by("BlockAll"));
    let none = build("REGIONAL", "Block", "[]");
    assert_eq!(
        decide(&none, &get("/x")),
        (Outcome::Block, "Default_Action".into())
    );
}

#[test]
fn rules_run_in_priority_order_not_file_order() {
    let a = acl("- Name: Second\n  Priority: 20\n  Action: { Block: {} }\n  Statement: { ByteMatchStatement: { SearchString: /, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: STARTS_WITH } }\n- Name: First\n  Priority: 10\n  Action: { Allow: {} }\n  Statement: { ByteMatchStatement: { SearchString: /, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: STARTS_WITH } }");
    assert_eq!(decide(&a, &get("/")), (Outcome::Allow, "First".into()));
}

#[test]
fn rate_limit_blocks_exactly_the_requests_over_the_limit() {
    let a = rate_acl("IP", "");
    // 12 requests in the same 60 s window from one address, 1 s apart: the 11th
    // and 12th are over the limit of 10.
    let mut reqs: Vec<Request> = (0..12).map(|i| at("1.1.1.1", "/", i * 1000)).collect();
    // At t = 60 s the first request (t = 0) has left the window: 10 left plus
    // this one = 11 (1 s .. 60 s): still over.
    reqs.push(at("1.1.1.1", "/", 60_000));
    // At t = 72 s, requests at 12 s .. 60 s remain (1 of them) plus this one.
    reqs.push(at("1.1.1.1", "/", 72_000));
    // Another address is counted on its own.
    reqs.push(at("2.2.2.2", "/", 5_000));
    let d = evaluate_corpus(&a, &reqs);
    let actions: Vec<&str> = d.iter().map(|d| d.action.name()).collect();
    assert_eq!(
        actions,
        [
            "ALLOW", "ALLOW", "ALLOW", "ALLOW", "ALLOW", "ALLOW", "ALLOW", "ALLOW", "ALLOW",
            "ALLOW", "BLOCK", "BLOCK", "BLOCK", "ALLOW", "ALLOW"
        ]
    );
    let blocked = &d[10];
    assert_eq!(blocked.terminating_rule_type, RuleType::RateBased);
    assert_eq!(blocked.rate_based_rule_list[0].limit_value, "1.1.1.1");
    assert_eq!(blocked.rate_based_rule_list[0].max_rate_allowed, 10);
    assert_eq!(
        blocked.label_names().next(),
        Some("awswaf:123456789012:webacl:test:rate:limited")
    );
    // Input order does not matter: the corpus is evaluated in timestamp order.
    let mut shuffled = reqs.clone();
    shuffled.reverse();
    let d2 = evaluate_corpus(&a, &shuffled);
    let mut back: Vec<&str> = d2.iter().map(|d| d.action.name()).collect();
    back.reverse();
    assert_eq!(back, actions);
}

#[test]
fn rate_keys_and_scope_down() {
    // Scope-down: only /login is counted and limited.
    let a = rate_acl("IP", ", ScopeDownStatement: { ByteMatchStatement: { SearchString: /login, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY } }");
    let mut reqs: Vec<Request> = (0..11).map(|i| at("1.1.1.1", "/login", i)).collect();
    reqs.push(at("1.1.1.1", "/other", 20));
    let d = evaluate_corpus(&a, &reqs);
    assert_eq!(
        (d[10].action, d[11].action),
        (Outcome::Block, Outcome::Allow)
    );

    // FORWARDED_IP: aggregates on the header's first address; requests without
    // the header are not counted.
    let a = rate_acl(
        "FORWARDED_IP",
        ", ForwardedIPConfig: { HeaderName: X-Forwarded-For, FallbackBehavior: NO_MATCH }",
    );
    let reqs: Vec<Request> = (0..11)
        .map(|i| {
            at(&format!("10.0.0.{i}"), "/", i).with_header("X-Forwarded-For", "7.7.7.7, 10.0.0.1")
        })
        .chain((0..11).map(|i| at("9.9.9.9", "/", 100 + i)))
        .collect();
    let d = evaluate_corpus(&a, &reqs);
    assert_eq!(d[10].action, Outcome::Block);
    assert_eq!(d[10].rate_based_rule_list[0].limit_value, "7.7.7.7");
    assert!(d[11..].iter().all(|d| d.action == Outcome::Allow));

    // CONSTANT: every request matching the scope-down shares one counter.
    let a = rate_acl("CONSTANT", ", ScopeDownStatement: { ByteMatchStatement: { SearchString: /api, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: STARTS_WITH } }");
    let reqs: Vec<Request> = (0..11)
        .map(|i| at(&format!("10.0.1.{i}"), "/api/x", i))
        .collect();
    assert_eq!(evaluate_corpus(&a, &reqs)[10].action, Outcome::Block);

    // CUSTOM_KEYS: header and query argument (with a transformation).
    let a = rate_acl("CUSTOM_KEYS", ", CustomKeys: [{ Header: { Name: x-api-key, TextTransformations: [{ Priority: 0, Type: NONE }] } }, { QueryArgument: { Name: city, TextTransformations: [{ Priority: 0, Type: LOWERCASE }] } }]");
    let req = |i: i64, city: &str| {
        at(&format!("10.0.2.{i}"), &format!("/?city={city}"), i).with_header("X-Api-Key", "k1")
    };
    let mut reqs: Vec<Request> = (0..10).map(|i| req(i, "Paris")).collect();
    reqs.push(req(10, "PARIS"));
    reqs.push(req(11, "Rome"));
    reqs.push(at("10.0.2.99", "/?city=paris", 12));
    let d = evaluate_corpus(&a, &reqs);
    assert_eq!(d[10].action, Outcome::Block, "paris and PARIS share a key");
    assert_eq!(d[11].action, Outcome::Allow);
    assert_eq!(d[12].action, Outcome::Allow, "no x-api-key: not counted");
}

#[test]
fn rate_limit_without_timestamps_is_undetermined_only_when_it_matters() {
    let a = rate_acl("IP", "");
    let reqs: Vec<Request> = (0..11).map(|_| Request::get("1.1.1.1", "/")).collect();
    let d = evaluate_corpus(&a, &reqs);
    assert!(d[..10].iter().all(|d| d.action == Outcome::Allow));
    assert_eq!(d[10].action, Outcome::Unknown);
    assert!(d[10].undetermined[0].reason.contains("timestamp"));
}

#[test]
fn managed_groups_are_labelled_approximations_and_unmodelled_ones_unknown() {
    let a = acl("- Name: Common\n  Priority: 1\n  OverrideAction: { None: {} }\n  Statement: { ManagedRuleGroupStatement: { VendorName: AWS, Name: AWSManagedRulesCommonRuleSet, RuleActionOverrides: [{ Name: NoUserAgent_HEADER, ActionToUse: { Count: {} } }] } }\n- Name: Bots\n  Priority: 2\n  OverrideAction: { None: {} }\n  Statement: { ManagedRuleGroupStatement: { VendorName: AWS, Name: AWSManagedRulesBotControlRuleSet } }");
    assert_eq!(a.approximations.len(), 2);
    let d = a.evaluate(
        &get("/download?file=../../etc/passwd"),
        &mut Default::default(),
    );
    assert_eq!(
        (d.action, d.terminating_rule_type),
        (Outcome::Block, RuleType::ManagedRuleGroup)
    );
    assert_eq!(
        d.rule_group_list[0]
            .terminating_rule
            .as_ref()
            .unwrap()
            .rule_id,
        "GenericLFI_QUERYARGUMENTS"
    );
    assert_eq!(
        d.label_names().last(),
        Some("awswaf:managed:aws:core-rule-set:GenericLFI_QueryArguments")
    );
    assert_eq!(
        d.approximations,
        ["Common: AWS/AWSManagedRulesCommonRuleSet (approximation)"]
    );
    // Overridden to Count: no user agent is counted, then Bot Control is unknown.
    let d = a.evaluate(&Request::get("1.2.3.4", "/"), &mut Default::default());
    assert_eq!(d.action, Outcome::Unknown);
    assert_eq!(d.undetermined[0].rule_id, "Bots");
    let nt = &d.rule_group_list[0].non_terminating_matching_rules[0];
    assert_eq!(
        (
            nt.rule_id.as_str(),
            nt.action.name(),
            nt.overridden_action.map(|a| a.name())
        ),
        ("NoUserAgent_HEADER", "COUNT", Some("BLOCK"))
    );
}

#[test]
fn undetermined_rules_do_not_matter_when_every_outcome_agrees() {
    // The geo rule cannot be decided without a country, but whether it blocks or
    // not, the SQLi rule after it blocks this request.
    let a = acl("- Name: Geo\n  Priority: 1\n  Action: { Block: {} }\n  Statement: { GeoMatchStatement: { CountryCodes: [RU] } }\n- Name: Sqli\n  Priority: 2\n  Action: { Block: {} }\n  Statement: { SqliMatchStatement: { FieldToMatch: { QueryString: {} }, TextTransformations: [{ Priority: 0, Type: URL_DECODE }], SensitivityLevel: HIGH } }");
    let r = Request::get(
        "1.2.3.4",
        "/?id=1%20UNION%20SELECT%20password%20FROM%20users",
    );
    let d = a.evaluate(&r, &mut Default::default());
    assert_eq!(
        (d.action, d.terminating_rule_id.as_str()),
        (Outcome::Block, "Sqli")
    );
    assert_eq!(d.undetermined[0].rule_id, "Geo");
    // A benign request: blocked by Geo or allowed by default: unknown.
    assert_eq!(
        decide(&a, &Request::get("1.2.3.4", "/")).0,
        Outcome::Unknown
    );
}

#[test]
fn custom_block_responses_are_reported() {
    let a = build(
        "REGIONAL",
        "Block",
        "- Name: TooMany\n  Priority: 1\n  Action: { Block: { CustomResponse: { ResponseCode: 429 } } }\n  Statement: { ByteMatchStatement: { SearchString: /api, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: STARTS_WITH } }",
    );
    let d = a.evaluate(&get("/api/x"), &mut Default::default());
    assert_eq!(
        (d.action, d.response_code_sent),
        (Outcome::Block, Some(429))
    );
    let d = a.evaluate(&get("/"), &mut Default::default());
    assert_eq!(
        (d.terminating_rule_id.as_str(), d.response_code_sent),
        ("Default_Action", None)
    );
    let b = build(
        "REGIONAL",
        "Block: { CustomResponse: { ResponseCode: 451 } }",
        "[]",
    );
    let d = b.evaluate(&get("/"), &mut Default::default());
    assert_eq!(
        (d.terminating_rule_id.as_str(), d.response_code_sent),
        ("Default_Action", Some(451))
    );
}
