//! The bundled corpora and the corpus helpers the policy language uses.

use deadbolt::waf::corpus::{attacks, benign};
use deadbolt::waf::{
    evaluate_corpus, first_not_allowed, first_not_blocked, load_web_acls, select_web_acl,
    LoadOptions, Outcome, WebAcl,
};

fn acl(path: &str) -> WebAcl {
    let text = std::fs::read_to_string(path).unwrap();
    let acls = load_web_acls(path, &text, &LoadOptions::default()).unwrap();
    select_web_acl(path, acls, None).unwrap()
}

#[test]
fn bundled_corpora_parse_and_have_every_category() {
    let a = attacks();
    let b = benign();
    assert_eq!((a.len(), b.len()), (248, 109));
    for prefix in [
        "sqli-",
        "xss-",
        "traversal-",
        "log4shell-",
        "badbot-",
        "crs-",
    ] {
        assert!(
            a.iter()
                .any(|r| r.id.as_deref().unwrap().starts_with(prefix)),
            "{prefix}"
        );
    }
    // Every request has what geo and rate rules need, so a decision is never
    // unknown for lack of it.
    for r in a.iter().chain(&b) {
        assert!(r.country.is_some() && r.timestamp.is_some() && r.client_ip.is_some());
    }
    let mut ids: Vec<_> = a.iter().chain(&b).map(|r| r.id.clone().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), a.len() + b.len(), "ids are unique");
}

#[test]
fn reference_acl_blocks_every_attack_and_allows_every_customer() {
    let acl = acl("fixtures/waf/acl/reference.yaml");
    assert_eq!(first_not_blocked(&acl, &attacks()), None);
    assert_eq!(first_not_allowed(&acl, &benign()), None);
    // And says the managed groups were approximations.
    let d = evaluate_corpus(&acl, &attacks());
    assert!(d.iter().any(|d| !d.approximations.is_empty()));
}

#[test]
fn an_acl_without_rules_names_the_first_attack_it_lets_through() {
    let acl = acl("fixtures/waf/acl/empty.yaml");
    let (i, d) = first_not_blocked(&acl, &attacks()).unwrap();
    assert_eq!(i, 0);
    assert_eq!(d.id, "sqli-001");
    assert_eq!(
        deadbolt::waf::corpus::attacks()[i].summary(),
        "sqli-001 (GET /products?id=@a%20mod%20(1)%20or%201%20union%20select%20load_file('/etc/passwd'),credit_card,passwd%20from%20users--%20-)"
    );
    assert!(deadbolt::waf::corpus::named("attacks").is_some());
    assert!(deadbolt::waf::corpus::named("nope").is_none());
    assert_eq!(d.action, Outcome::Allow);
    assert_eq!(d.terminating_rule_id, "Default_Action");
    assert_eq!(first_not_allowed(&acl, &benign()), None);
}

#[test]
fn the_shop_acl_misses_attacks_it_has_no_rule_for() {
    // shop.yaml inspects the body as text only: a JSON body's SQL injection
    // (`{"query": "((1))*(HOPE) AND 8=3", ...}`) reads differently with the
    // JSON around it, and only a JsonBody rule sees the value alone.
    let acl = acl("fixtures/waf/acl/shop.yaml");
    let (_, d) = first_not_blocked(&acl, &attacks()).unwrap();
    assert_eq!(d.id, "sqli-003");
    assert_eq!(d.action, Outcome::Allow);
}
