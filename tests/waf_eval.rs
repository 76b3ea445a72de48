//! AWS WAFv2 evaluation semantics, statement by statement: every statement
//! type, request component, rule action, labels, rule groups and rate-based
//! rules, each checked on the exact rule that decided and why.

use deadbolt::waf::request::{Header, TokenState};
use deadbolt::waf::{
    evaluate_corpus, load_web_acls, select_web_acl, LoadOptions, Outcome, Request, RuleType, WebAcl,
};

const PRELUDE: &str = r#"
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

fn build(scope: &str, default: &str, rules: &str) -> WebAcl {
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

fn acl(rules: &str) -> WebAcl {
    build("REGIONAL", "Allow", rules)
}

fn get(uri: &str) -> Request {
    let mut r = Request::get("203.0.113.9", uri).with_header("User-Agent", "Mozilla/5.0");
    r.country = Some("US".into());
    r
}

/// (action, terminating rule) for one request.
fn decide(acl: &WebAcl, r: &Request) -> (Outcome, String) {
    let d = acl.evaluate(r, &mut acl.new_rate_state());
    (d.action, d.terminating_rule_id)
}

fn blocked_by(rule: &str) -> (Outcome, String) {
    (Outcome::Block, rule.to_string())
}

fn allowed() -> (Outcome, String) {
    (Outcome::Allow, "Default_Action".to_string())
}

/// One rule blocking on a byte match of `field` (YAML) with `constraint`.
fn byte_rule(name: &str, field: &str, search: &str, constraint: &str, transforms: &str) -> String {
    format!(
        "- Name: {name}\n  Priority: 1\n  Action: {{ Block: {{}} }}\n  Statement: {{ ByteMatchStatement: {{ SearchString: \"{search}\", FieldToMatch: {field}, TextTransformations: {transforms}, PositionalConstraint: {constraint} }} }}\n"
    )
}

const NONE: &str = "[{ Priority: 0, Type: NONE }]";

#[test]
fn byte_match_positional_constraints() {
    let cases = [
        ("EXACTLY", "/a", "/a", true),
        ("EXACTLY", "/a", "/ab", false),
        ("STARTS_WITH", "/adm", "/admin", true),
        ("STARTS_WITH", "/adm", "/x/admin", false),
        ("ENDS_WITH", ".php", "/x.php", true),
        ("ENDS_WITH", ".php", "/x.php5", false),
        ("CONTAINS", "etc", "/x/etc/y", true),
        ("CONTAINS", "ETC", "/x/etc/y", false),
        ("CONTAINS_WORD", "cmd", "/run/cmd/x", true),
        ("CONTAINS_WORD", "cmd", "/run/cmdx", false),
    ];
    for (constraint, search, uri, hit) in cases {
        let a = acl(&byte_rule("R", "{ UriPath: {} }", search, constraint, NONE));
        let want = if hit { blocked_by("R") } else { allowed() };
        assert_eq!(
            decide(&a, &get(uri)),
            want,
            "{constraint} {search:?} on {uri}"
        );
    }
}

#[test]
fn transformations_apply_in_priority_order() {
    // LOWERCASE (priority 2) after URL_DECODE (priority 1): %41 -> A -> a.
    let t = "[{ Priority: 2, Type: LOWERCASE }, { Priority: 1, Type: URL_DECODE }]";
    let a = acl(&byte_rule("R", "{ QueryString: {} }", "x=a", "EXACTLY", t));
    assert_eq!(decide(&a, &get("/?x=%41")), blocked_by("R"));
    // Reversed priorities: lowercase first leaves "%41" -> "A", no match.
    let t = "[{ Priority: 1, Type: LOWERCASE }, { Priority: 2, Type: URL_DECODE }]";
    let a = acl(&byte_rule("R", "{ QueryString: {} }", "x=a", "EXACTLY", t));
    assert_eq!(decide(&a, &get("/?x=%41")), allowed());
}

#[test]
fn every_field_to_match() {
    let mut r = get("/Path/x?Name=alice&name=bob&other=1");
    r.method = "PUT".into();
    r.headers.push(Header {
        name: "X-Trace".into(),
        value: "abc".into(),
    });
    r.headers.push(Header {
        name: "Cookie".into(),
        value: "sid=s3cr3t; Pref=dark".into(),
    });
    r.body = Some(br#"{"user":{"name":"mallory","tags":["x"]}}"#.to_vec());
    r.ja3 = Some("773906b0efdefa24a7f2b8eb6985bf37".into());
    r.fragment = Some("section-2".into());
    let cases: &[(&str, &str, &str, bool)] = &[
        ("{ SingleHeader: { Name: x-trace } }", "abc", "EXACTLY", true),
        ("{ SingleHeader: { Name: x-missing } }", "", "EXACTLY", false),
        ("{ SingleQueryArgument: { Name: NAME } }", "bob", "EXACTLY", true),
        ("{ SingleQueryArgument: { Name: name } }", "carol", "EXACTLY", false),
        ("{ AllQueryArguments: {} }", "1", "EXACTLY", true),
        ("{ AllQueryArguments: {} }", "other", "EXACTLY", false),
        ("{ UriPath: {} }", "/Path/x", "EXACTLY", true),
        ("{ QueryString: {} }", "Name=alice&name=bob&other=1", "EXACTLY", true),
        ("{ Method: {} }", "PUT", "EXACTLY", true),
        ("{ Body: { OversizeHandling: CONTINUE } }", "mallory", "CONTAINS", true),
        ("{ JsonBody: { MatchPattern: { IncludedPaths: [/user/name] }, MatchScope: VALUE } }", "mallory", "EXACTLY", true),
        ("{ JsonBody: { MatchPattern: { IncludedPaths: [/user/tags] }, MatchScope: VALUE } }", "mallory", "EXACTLY", false),
        ("{ JsonBody: { MatchPattern: { All: {} }, MatchScope: KEY } }", "tags", "EXACTLY", true),
        ("{ JsonBody: { MatchPattern: { All: {} }, MatchScope: VALUE } }", "tags", "EXACTLY", false),
        ("{ Headers: { MatchPattern: { IncludedHeaders: [X-TRACE] }, MatchScope: VALUE, OversizeHandling: CONTINUE } }", "abc", "EXACTLY", true),
        ("{ Headers: { MatchPattern: { ExcludedHeaders: [x-trace] }, MatchScope: VALUE, OversizeHandling: CONTINUE } }", "abc", "EXACTLY", false),
        ("{ Headers: { MatchPattern: { All: {} }, MatchScope: KEY, OversizeHandling: CONTINUE } }", "X-Trace", "EXACTLY", true),
        ("{ Cookies: { MatchPattern: { IncludedCookies: [sid] }, MatchScope: VALUE, OversizeHandling: CONTINUE } }", "s3cr3t", "EXACTLY", true),
        ("{ Cookies: { MatchPattern: { IncludedCookies: [SID] }, MatchScope: VALUE, OversizeHandling: CONTINUE } }", "s3cr3t", "EXACTLY", false),
        ("{ Cookies: { MatchPattern: { All: {} }, MatchScope: KEY, OversizeHandling: CONTINUE } }", "Pref", "EXACTLY", true),
        ("{ HeaderOrder: { OversizeHandling: CONTINUE } }", "User-Agent:X-Trace:Cookie", "EXACTLY", true),
        ("{ JA3Fingerprint: { FallbackBehavior: NO_MATCH } }", "773906b0efdefa24a7f2b8eb6985bf37", "EXACTLY", true),
        ("{ UriFragment: { FallbackBehavior: NO_MATCH } }", "section-2", "EXACTLY", true),
    ];
    for (field, search, constraint, hit) in cases {
        let a = acl(&byte_rule("R", field, search, constraint, NONE));
        let want = if *hit { blocked_by("R") } else { allowed() };
        assert_eq!(decide(&a, &r), want, "{field} {search:?}");
    }
    // Missing JA3 and fragment: the fallback decides.
    let bare = get("/");
    let a = acl(&byte_rule(
        "R",
        "{ JA3Fingerprint: { FallbackBehavior: MATCH } }",
        "x",
        "EXACTLY",
        NONE,
    ));
    assert_eq!(decide(&a, &bare), blocked_by("R"));
    let a = acl(&byte_rule(
        "R",
        "{ UriFragment: { FallbackBehavior: NO_MATCH } }",
        "",
        "EXACTLY",
        NONE,
    ));
    assert_eq!(decide(&a, &bare), allowed());
}

#[test]
fn body_oversize_limits_by_scope() {
    let field = |o: &str| format!("{{ Body: {{ OversizeHandling: {o} }} }}");
    let mut r = get("/upload");
    r.method = "POST".into();
    // 10 KB body with the marker after 9 KB: past the regional 8 KB limit but
    // within CloudFront's 16 KB.
    let mut body = vec![b'a'; 9 * 1024];
    body.extend_from_slice(b"MARKER");
    body.extend(vec![b'a'; 1024]);
    r.body = Some(body);
    let regional = |o| acl(&byte_rule("R", &field(o), "MARKER", "CONTAINS", NONE));
    assert_eq!(
        decide(&regional("CONTINUE"), &r),
        allowed(),
        "only 8 KB inspected"
    );
    assert_eq!(decide(&regional("MATCH"), &r), blocked_by("R"));
    assert_eq!(decide(&regional("NO_MATCH"), &r), allowed());
    let cf = build(
        "CLOUDFRONT",
        "Allow",
        &byte_rule("R", &field("NO_MATCH"), "MARKER", "CONTAINS", NONE),
    );
    assert_eq!(cf.body_limit, 16 * 1024);
    assert_eq!(
        decide(&cf, &r),
        blocked_by("R"),
        "16 KB inspected on CloudFront"
    );
    let d = regional("MATCH").evaluate(&r, &mut Default::default());
    assert_eq!(d.oversize_fields, ["REQUEST_BODY"]);
}

#[test]
fn cloudfront_body_limit_is_configurable() {
    let text = std::fs::read_to_string("fixtures/waf/acl/cloudfront-64k.yaml").unwrap();
    let acls = load_web_acls("cf.yaml", &text, &LoadOptions::default()).unwrap();
    let a = select_web_acl("cf.yaml", acls, None).unwrap();
    assert_eq!((a.scope.name(), a.body_limit), ("CLOUDFRONT", 64 * 1024));
}

#[test]
fn json_body_invalid_fallback_and_oversize() {
    let rule = |fallback: &str| {
        let fb = if fallback.is_empty() {
            String::new()
        } else {
            format!(", InvalidFallbackBehavior: {fallback}")
        };
        acl(&byte_rule(
            "R",
            &format!("{{ JsonBody: {{ MatchPattern: {{ All: {{}} }}, MatchScope: VALUE{fb}, OversizeHandling: MATCH }} }}"),
            "attack",
            "CONTAINS",
            NONE,
        ))
    };
    let mut early = get("/api");
    early.body = Some(br#"{"a":"attack", "b": tru"#.to_vec());
    let mut late = get("/api");
    late.body = Some(br#"{"a":"x", "b": tru "c":"attack"}"#.to_vec());
    // No fallback: what parsed before the error is inspected.
    assert_eq!(decide(&rule(""), &early), blocked_by("R"));
    assert_eq!(decide(&rule(""), &late), allowed());
    assert_eq!(decide(&rule("MATCH"), &late), blocked_by("R"));
    assert_eq!(decide(&rule("NO_MATCH"), &early), allowed());
    assert_eq!(decide(&rule("EVALUATE_AS_STRING"), &late), blocked_by("R"));
    // Oversize MATCH without looking.
    let mut big = get("/api");
    big.body = Some(format!("{{\"a\":\"{}\"}}", "x".repeat(9000)).into_bytes());
    assert_eq!(decide(&rule(""), &big), blocked_by("R"));
}

#[test]
fn sqli_sensitivity_and_xss() {
    let sqli = |level: &str| {
        acl(&format!(
            "- Name: Sqli\n  Priority: 1\n  Action: {{ Block: {{}} }}\n  Statement: {{ SqliMatchStatement: {{ FieldToMatch: {{ SingleQueryArgument: {{ Name: user }} }}, TextTransformations: [{{ Priority: 0, Type: URL_DECODE }}], SensitivityLevel: {level} }} }}"
        ))
    };
    let tautology = get("/login?user=1%27%20or%20%271%27%3D%271");
    let comment = get("/login?user=admin%27--");
    let name = get("/login?user=O%27Reilly");
    assert_eq!(decide(&sqli("HIGH"), &tautology), blocked_by("Sqli"));
    assert_eq!(decide(&sqli("LOW"), &tautology), blocked_by("Sqli"));
    assert_eq!(decide(&sqli("HIGH"), &comment), blocked_by("Sqli"));
    assert_eq!(
        decide(&sqli("LOW"), &comment),
        allowed(),
        "LOW ignores keyword-free fragments"
    );
    assert_eq!(decide(&sqli("HIGH"), &name), allowed());
    let d = sqli("HIGH").evaluate(&tautology, &mut Default::default());
    let m = &d.terminating_rule_match_details[0];
    assert_eq!(
        (
            m.condition_type,
            m.sensitivity_level,
            m.location,
            m.field_name.as_deref()
        ),
        (
            "SQL_INJECTION",
            Some("HIGH"),
            "SINGLE_QUERY_ARG",
            Some("user")
        )
    );

    let xss = acl("- Name: Xss\n  Priority: 1\n  Action: { Block: {} }\n  Statement: { XssMatchStatement: { FieldToMatch: { AllQueryArguments: {} }, TextTransformations: [{ Priority: 0, Type: URL_DECODE }, { Priority: 1, Type: HTML_ENTITY_DECODE }] } }");
    assert_eq!(
        decide(&xss, &get("/s?q=%3Cscript%3Ealert(1)%3C/script%3E")),
        blocked_by("Xss")
    );
    assert_eq!(
        decide(&xss, &get("/s?q=&lt;img%20src=x%20onerror=alert(1)&gt;")),
        blocked_by("Xss")
    );
    assert_eq!(decide(&xss, &get("/s?q=fish+%26+chips+%3C3")), allowed());
}

#[test]
fn size_constraint_comparisons() {
    for (op, size, hit) in [
        ("GT", 9, true),
        ("GT", 10, false),
        ("GE", 10, true),
        ("EQ", 10, true),
        ("NE", 10, false),
        ("LT", 11, true),
        ("LE", 9, false),
    ] {
        let a = acl(&format!("- Name: Size\n  Priority: 1\n  Action: {{ Block: {{}} }}\n  Statement: {{ SizeConstraintStatement: {{ FieldToMatch: {{ UriPath: {{}} }}, ComparisonOperator: {op}, Size: {size}, TextTransformations: [{{ Priority: 0, Type: NONE }}] }} }}"));
        let want = if hit { blocked_by("Size") } else { allowed() };
        assert_eq!(decide(&a, &get("/123456789")), want, "{op} {size}");
    }
}

#[test]
fn geo_match_labels_and_forwarded_addresses() {
    let a = acl(r#"
- Name: GeoCount
  Priority: 1
  Action: { Count: {} }
  Statement: { GeoMatchStatement: { CountryCodes: [CN, RU] } }
- Name: BlockOregon
  Priority: 2
  Action: { Block: {} }
  Statement: { LabelMatchStatement: { Scope: LABEL, Key: "awswaf:clientip:geo:region:US-OR" } }
- Name: GeoXff
  Priority: 3
  Action: { Block: {} }
  Statement: { GeoMatchStatement: { CountryCodes: [KP], ForwardedIPConfig: { HeaderName: X-Forwarded-For, FallbackBehavior: MATCH } } }
"#);
    let mut r = get("/");
    r.country = Some("CN".into());
    let d = a.evaluate(&r, &mut Default::default());
    assert_eq!(d.action, Outcome::Allow);
    assert_eq!(d.non_terminating_matching_rules[0].rule_id, "GeoCount");
    assert_eq!(
        d.label_names().collect::<Vec<_>>(),
        [
            "awswaf:clientip:geo:country:CN",
            "awswaf:clientip:geo:region:CN-XX"
        ]
    );
    // Geo labels are added whether or not the country matches.
    let mut or = get("/");
    or.region = Some("US-OR".into());
    assert_eq!(decide(&a, &or), blocked_by("BlockOregon"));
    // Forwarded address: header missing -> rule not applied; malformed ->
    // fallback; valid -> forwardedCountry.
    let mut xff = get("/");
    xff.headers.push(Header {
        name: "x-forwarded-for".into(),
        value: "not-an-ip".into(),
    });
    assert_eq!(decide(&a, &xff), blocked_by("GeoXff"));
    xff.headers[1].value = "198.51.100.1, 10.0.0.1".into();
    xff.forwarded_country = Some("KP".into());
    assert_eq!(decide(&a, &xff), blocked_by("GeoXff"));
    xff.forwarded_country = Some("FR".into());
    assert_eq!(decide(&a, &xff), allowed());
    // No country for the client address: undetermined, and said so.
    let mut nc = get("/");
    nc.country = None;
    let d = a.evaluate(&nc, &mut Default::default());
    assert_eq!(d.action, Outcome::Unknown, "BlockOregon may match");
    assert_eq!(d.undetermined[0].rule_id, "GeoCount");
}

#[test]
fn ip_sets_v4_v6_and_forwarded_positions() {
    let rule = |cfg: &str| {
        acl(&format!(
            "- Name: Office\n  Priority: 1\n  Action: {{ Block: {{}} }}\n  Statement: {{ IPSetReferenceStatement: {{ Arn: !GetAtt Office.Arn{cfg} }} }}\n- Name: Partners\n  Priority: 2\n  Action: {{ Block: {{}} }}\n  Statement: {{ IPSetReferenceStatement: {{ Arn: !Ref Partners }} }}"
        ))
    };
    let plain = rule("");
    assert_eq!(
        decide(&plain, &Request::get("10.1.200.3", "/")),
        blocked_by("Office")
    );
    assert_eq!(
        decide(&plain, &Request::get("192.0.2.7", "/")),
        blocked_by("Office")
    );
    assert_eq!(decide(&plain, &Request::get("192.0.2.8", "/")), allowed());
    assert_eq!(
        decide(&plain, &Request::get("2001:db8::1", "/")),
        blocked_by("Partners")
    );
    assert_eq!(decide(&plain, &Request::get("2001:db9::1", "/")), allowed());
    let xff = |v: &str| Request::get("198.51.100.1", "/").with_header("X-Forwarded-For", v);
    let cfg = |pos: &str, fb: &str| {
        format!(", IPSetForwardedIPConfig: {{ HeaderName: x-forwarded-for, FallbackBehavior: {fb}, Position: {pos} }}")
    };
    let chain = "10.1.0.5, 172.16.0.1, 172.16.0.2";
    assert_eq!(
        decide(&rule(&cfg("FIRST", "NO_MATCH")), &xff(chain)),
        blocked_by("Office")
    );
    assert_eq!(
        decide(&rule(&cfg("LAST", "NO_MATCH")), &xff(chain)),
        allowed()
    );
    assert_eq!(
        decide(&rule(&cfg("LAST", "NO_MATCH")), &xff("1.1.1.1, 10.1.9.9")),
        blocked_by("Office")
    );
    assert_eq!(
        decide(
            &rule(&cfg("ANY", "NO_MATCH")),
            &xff("1.1.1.1, 10.1.9.9, 2.2.2.2")
        ),
        blocked_by("Office")
    );
    // ANY looks at the last 10 addresses only.
    let many = format!("10.1.0.1, {}", ["8.8.8.8"; 10].join(", "));
    assert_eq!(
        decide(&rule(&cfg("ANY", "NO_MATCH")), &xff(&many)),
        allowed()
    );
    assert_eq!(
        decide(&rule(&cfg("FIRST", "MATCH")), &xff("garbage")),
        blocked_by("Office")
    );
    assert_eq!(
        decide(&rule(&cfg("FIRST", "NO_MATCH")), &xff("garbage")),
        allowed()
    );
    // No header: the rule does not apply, whatever the fallback.
    assert_eq!(
        decide(
            &rule(&cfg("FIRST", "MATCH")),
            &Request::get("10.1.0.1", "/")
        ),
        allowed()
    );
}

#[test]
fn regex_match_and_pattern_sets() {
    let a = acl(r#"
- Name: Regex
  Priority: 1
  Action: { Block: {} }
  Statement: { RegexMatchStatement: { RegexString: "(?i)^/api/v[0-9]+/admin", FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }] } }
- Name: Patterns
  Priority: 2
  Action: { Block: {} }
  Statement: { RegexPatternSetReferenceStatement: { Arn: !GetAtt BadPaths.Arn, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }] } }
"#);
    assert_eq!(decide(&a, &get("/API/v2/Admin/users")), blocked_by("Regex"));
    assert_eq!(decide(&a, &get("/wp-admin/")), blocked_by("Patterns"));
    assert_eq!(decide(&a, &get("/index.php")), blocked_by("Patterns"));
    assert_eq!(decide(&a, &get("/index.php5")), allowed());
}

#[test]
fn logical_statements() {
    let a = acl(r#"
- Name: PostToLoginNotFromOffice
  Priority: 1
  Action: { Block: {} }
  Statement:
    AndStatement:
      Statements:
        - ByteMatchStatement: { SearchString: POST, FieldToMatch: { Method: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY }
        - OrStatement:
            Statements:
              - ByteMatchStatement: { SearchString: /login, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY }
              - ByteMatchStatement: { SearchString: /signin, FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY }
        - NotStatement:
            Statement: { IPSetReferenceStatement: { Arn: !GetAtt Office.Arn } }
"#);
    let post = |ip: &str, uri: &str| {
        let mut r = Request::get(ip, uri);
        r.method = "POST".into();
        r
    };
    assert_eq!(
        decide(&a, &post("1.2.3.4", "/login")),
        blocked_by("PostToLoginNotFromOffice")
    );
    assert_eq!(
        decide(&a, &post("1.2.3.4", "/signin")),
        blocked_by("PostToLoginNotFromOffice")
    );
    assert_eq!(decide(&a, &post("10.1.0.1", "/login")), allowed());
    assert_eq!(decide(&a, &post("1.2.3.4", "/other")), allowed());
    assert_eq!(decide(&a, &Request::get("1.2.3.4", "/login")), allowed());
}

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

fn rate_acl(key: &str, extra: &str) -> WebAcl {
    acl(&format!(
        "- Name: Rate\n  Priority: 1\n  Action: {{ Block: {{}} }}\n  RuleLabels: [{{ Name: \"rate:limited\" }}]\n  Statement: {{ RateBasedStatement: {{ Limit: 10, EvaluationWindowSec: 60, AggregateKeyType: {key}{extra} }} }}"
    ))
}

fn at(ip: &str, uri: &str, t: i64) -> Request {
    let mut r = Request::get(ip, uri);
    r.timestamp = Some(t);
    r
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
fn asn_match_and_ja4() {
    let a = acl("- Name: Hosting\n  Priority: 1\n  Action: { Block: {} }\n  Statement: { AsnMatchStatement: { AsnList: [16509, 14061] } }\n- Name: Ja4\n  Priority: 2\n  Action: { Block: {} }\n  Statement: { ByteMatchStatement: { SearchString: t13d1516h2_8daaf6152771_e5627efa2ab1, FieldToMatch: { JA4Fingerprint: { FallbackBehavior: NO_MATCH } }, TextTransformations: [{ Priority: 0, Type: NONE }], PositionalConstraint: EXACTLY } }");
    let mut r = get("/");
    r.asn = Some(14061);
    assert_eq!(decide(&a, &r), blocked_by("Hosting"));
    r.asn = Some(3320);
    assert_eq!(decide(&a, &r), allowed());
    r.ja4 = Some("t13d1516h2_8daaf6152771_e5627efa2ab1".into());
    assert_eq!(decide(&a, &r), blocked_by("Ja4"));
    // No ASN in the request: the ASN rule is undetermined, and it decides.
    let d = a.evaluate(&get("/"), &mut Default::default());
    assert_eq!(
        (d.action, d.undetermined[0].rule_id.as_str()),
        (Outcome::Unknown, "Hosting")
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
