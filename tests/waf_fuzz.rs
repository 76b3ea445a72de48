//! Mangled web ACLs and request files never panic: every outcome is a web ACL or
//! an error with a position.

use deadbolt::waf::{load_web_acls, parse_requests, select_web_acl, LoadOptions, Request};

const ACLS: &[&str] = &[
    "fixtures/waf/acl/shop.yaml",
    "fixtures/waf/acl/intrinsics.yaml",
    "fixtures/waf/plan/main.plan.json",
    "fixtures/waf/api/get-web-acl.json",
];

/// Deterministic mutations: truncations, deleted lines, swapped characters.
fn mutations(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let step = (chars.len() / 40).max(1);
    for cut in (0..chars.len()).step_by(step) {
        out.push(chars[..cut].iter().collect());
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in (0..lines.len()).step_by((lines.len() / 30).max(1)) {
        out.push(
            lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    for (i, repl) in [(7usize, '{'), (13, ']'), (29, ':'), (31, '"'), (47, '-')] {
        let mut c = chars.clone();
        for k in (i..c.len()).step_by(97) {
            c[k] = repl;
        }
        out.push(c.into_iter().collect());
    }
    out
}

#[test]
fn mangled_web_acls_never_panic() {
    let req = Request::get("192.0.2.1", "/?q=1").with_header("User-Agent", "x");
    let mut loaded = 0;
    for path in ACLS {
        let text = std::fs::read_to_string(path).unwrap();
        for m in mutations(&text) {
            match load_web_acls(path, &m, &LoadOptions::default()) {
                Ok(acls) => {
                    for a in acls.into_iter().flatten() {
                        loaded += 1;
                        let _ = a.evaluate(&req, &mut a.new_rate_state());
                    }
                }
                Err(e) => assert!(e.to_string().starts_with(path), "{e}"),
            }
        }
    }
    assert!(loaded > 10);
}

#[test]
fn hostile_nesting_is_an_error_not_a_stack_overflow() {
    let mut stmt = String::from("{ GeoMatchStatement: { CountryCodes: [KP] } }");
    for _ in 0..40 {
        stmt = format!("{{ NotStatement: {{ Statement: {stmt} }} }}");
    }
    let text = format!(
        "Resources:\n  A:\n    Type: AWS::WAFv2::WebACL\n    Properties:\n      Name: a\n      Scope: REGIONAL\n      DefaultAction: {{ Allow: {{}} }}\n      Rules:\n        - Name: R\n          Priority: 0\n          Action: {{ Block: {{}} }}\n          Statement: {stmt}\n"
    );
    let acls = load_web_acls("deep.yaml", &text, &LoadOptions::default()).unwrap();
    let e = select_web_acl("deep.yaml", acls, None).unwrap_err();
    assert!(e.message.contains("nested more than 32 deep"), "{e}");
    // A body nested 100,000 deep is a JSON parse failure, not a crash.
    let text = std::fs::read_to_string("fixtures/waf/acl/reference.yaml").unwrap();
    let acl = select_web_acl(
        "r",
        load_web_acls("r", &text, &LoadOptions::default()).unwrap(),
        None,
    )
    .unwrap();
    let mut r = Request::get("192.0.2.1", "/api").with_header("User-Agent", "x");
    r.body = Some("[".repeat(100_000).into_bytes());
    let _ = acl.evaluate(&r, &mut acl.new_rate_state());
}

#[test]
fn mangled_request_lines_never_panic() {
    let text = std::fs::read_to_string("fixtures/waf/requests/mixed.jsonl").unwrap();
    for m in mutations(&text) {
        if let Err(e) = parse_requests("r.jsonl", &m) {
            assert!(e.to_string().starts_with("r.jsonl"), "{e}");
        }
    }
}
