//! AWS WAFv2 evaluation semantics, statement by statement: every statement
//! type and request component, each checked on the exact rule that decided.

mod waf_common;

use deadbolt::waf::request::Header;
use deadbolt::waf::{load_web_acls, select_web_acl, LoadOptions, Outcome, Request};
use waf_common::*;

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
