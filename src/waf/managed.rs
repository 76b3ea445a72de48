//! Approximations of the AWS managed rule groups people use most. AWS publishes
//! each group's rules, labels, actions and the request components they inspect,
//! but not their patterns; deadbolt rebuilds every documented rule from that
//! description (same names, labels, components, actions and oversize handling)
//! with its own patterns. Every decision that goes through one of these groups
//! says so (`approximations`). Other managed groups are not modelled: requests
//! that reach them get an undetermined (UNKNOWN) decision.

use std::sync::Arc;

use regex::bytes::Regex;

use super::acl::{
    Action, Comparison, FieldToMatch, GroupKind, Inspection, IpSet, KeyPattern, MatchScope,
    Oversize, Positional, Rule, RuleBody, RuleGroup, Statement, Test,
};
use super::source::LoadOptions;
use super::transform::{TransformType as T, Transforms};

pub const COMMON: &str = "AWSManagedRulesCommonRuleSet";
pub const SQLI: &str = "AWSManagedRulesSQLiRuleSet";
pub const KNOWN_BAD_INPUTS: &str = "AWSManagedRulesKnownBadInputsRuleSet";
pub const IP_REPUTATION: &str = "AWSManagedRulesAmazonIpReputationList";

/// The groups deadbolt models.
pub const MODELLED: &[&str] = &[COMMON, SQLI, KNOWN_BAD_INPUTS, IP_REPUTATION];

/// User agents of scanners and attack tools (CommonRuleSet's UserAgent_BadBots).
const BAD_BOTS: &str = r"nessus|nmap|nikto|sqlmap|masscan|zgrab|dirbuster|gobuster|wpscan|acunetix|netsparker|w3af|havij|openvas|nuclei|fimap|arachni|zmeu|jorgee|morfeus|whatweb|wfuzz|ffuf|feroxbuster|skipfish|webshag|paros|grabber|fuzz faster u fool|commix|x-scan|bsqlbf|pangolin|nsauditor|brutus|hydra";

/// What an approximation note says, per group.
pub fn note(name: &str) -> &'static str {
    match name {
        COMMON => "AWSManagedRulesCommonRuleSet is approximated: every documented rule, label, component and size limit, with deadbolt's own patterns (AWS does not publish its patterns)",
        SQLI => "AWSManagedRulesSQLiRuleSet is approximated: SQLi_* rules as SqliMatch LOW, SQLiExtendedPatterns_* as SqliMatch HIGH (libinjection), on the documented components",
        KNOWN_BAD_INPUTS => "AWSManagedRulesKnownBadInputsRuleSet is approximated: documented rules and components, with deadbolt's own Log4j, Java deserialization, localhost and exploitable-path patterns",
        IP_REPUTATION => "AWSManagedRulesAmazonIpReputationList is approximated: Amazon's lists are not public, so AWSManagedIPReputationList matches only the addresses given with --ip-reputation (none by default)",
        _ => "not modelled",
    }
}

/// The rule group for a ManagedRuleGroupStatement.
pub fn group(vendor: &str, name: &str, opts: &LoadOptions) -> RuleGroup {
    let managed = |ns: &str, rules: Vec<Rule>| RuleGroup {
        name: name.to_string(),
        id: format!("{vendor}#{name}"),
        kind: GroupKind::Managed {
            vendor: vendor.to_string(),
            name: name.to_string(),
        },
        rules,
        label_prefix: format!("awswaf:managed:aws:{ns}:"),
        rate_rules: 0,
    };
    if vendor != "AWS" {
        return unmodelled(vendor, name);
    }
    match name {
        COMMON => managed("core-rule-set", common_rules()),
        SQLI => managed("sql-database", sqli_rules()),
        KNOWN_BAD_INPUTS => managed("known-bad-inputs", bad_input_rules()),
        IP_REPUTATION => managed("amazon-ip-list", ip_reputation_rules(opts)),
        _ => unmodelled(vendor, name),
    }
}

fn unmodelled(vendor: &str, name: &str) -> RuleGroup {
    RuleGroup {
        name: name.to_string(),
        id: format!("{vendor}#{name}"),
        kind: GroupKind::Unmodelled {
            vendor: vendor.to_string(),
            name: name.to_string(),
        },
        rules: Vec::new(),
        label_prefix: "awswaf:managed:".to_string(),
        rate_rules: 0,
    }
}

fn rule(
    name: &str,
    priority: i64,
    label: &str,
    ns: &str,
    action: Action,
    statement: Statement,
) -> Rule {
    Rule {
        name: name.to_string(),
        priority,
        pos: Default::default(),
        body: RuleBody::Match { statement, action },
        labels: vec![format!("awswaf:managed:aws:{ns}:{label}")],
        captcha_immunity_s: None,
        challenge_immunity_s: None,
        block_response_code: None,
    }
}

fn inspect(field: FieldToMatch, transforms: &[T], test: Test) -> Statement {
    Statement::Inspect(Box::new(Inspection {
        field,
        transforms: Transforms::of(transforms),
        test,
    }))
}

fn re(pattern: &str) -> Test {
    Test::Regex(Arc::new(
        Regex::new(pattern).expect("managed rule patterns are valid"),
    ))
}

fn size_gt(field: FieldToMatch, n: u64) -> Statement {
    inspect(
        field,
        &[],
        Test::Size {
            op: Comparison::Gt,
            size: n,
        },
    )
}

fn body() -> FieldToMatch {
    FieldToMatch::Body {
        oversize: Oversize::Continue,
    }
}

fn cookie_values() -> FieldToMatch {
    FieldToMatch::Cookies {
        pattern: KeyPattern::All,
        scope: MatchScope::Value,
        oversize: Oversize::Continue,
    }
}

fn all_headers() -> FieldToMatch {
    FieldToMatch::Headers {
        pattern: KeyPattern::All,
        scope: MatchScope::All,
        oversize: Oversize::Continue,
    }
}

const DECODE: &[T] = &[T::UrlDecodeUni, T::HtmlEntityDecode, T::Lowercase];
const DECODE_TWICE: &[T] = &[
    T::UrlDecodeUni,
    T::UrlDecodeUni,
    T::HtmlEntityDecode,
    T::Lowercase,
];
/// Log4j lookups hide in JSON and JavaScript escapes too (`$\u007B`).
const DECODE_JS: &[T] = &[
    T::UrlDecodeUni,
    T::JsDecode,
    T::HtmlEntityDecode,
    T::Lowercase,
];

fn common_rules() -> Vec<Rule> {
    let ns = "core-rule-set";
    let ssrf = r"169\.254\.169\.254|fd00:ec2::254|2852039166|0xa9fea9fe|0251\.0376\.0251\.0376|instance-data\.ec2\.internal";
    let lfi = r"(?:^|[/\\=\s\x22'])\.\.[/\\]|[/\\]\.\.(?:$|[/\\])";
    let ext = r"\.(?:log|ini|bak|backup|cfg|conf|config|env|sql|swp|old|orig|inc|htaccess|htpasswd|pem|key)(?:$|[?#;])";
    let rfi = r"(?:https?|ftps?|file)://\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}";
    let xss_t: &[T] = &[T::UrlDecode, T::HtmlEntityDecode];
    let mut p = 0;
    let mut next = || {
        p += 1;
        p
    };
    let b = Action::Block;
    vec![
        rule(
            "NoUserAgent_HEADER",
            next(),
            "NoUserAgent_Header",
            ns,
            b,
            Statement::Not(Box::new(size_gt(
                FieldToMatch::SingleHeader("user-agent".into()),
                0,
            ))),
        ),
        rule(
            "UserAgent_BadBots_HEADER",
            next(),
            "BadBots_Header",
            ns,
            b,
            inspect(
                FieldToMatch::SingleHeader("user-agent".into()),
                &[T::Lowercase],
                re(BAD_BOTS),
            ),
        ),
        rule(
            "SizeRestrictions_QUERYSTRING",
            next(),
            "SizeRestrictions_QueryString",
            ns,
            b,
            size_gt(FieldToMatch::QueryString, 2048),
        ),
        rule(
            "SizeRestrictions_Cookie_HEADER",
            next(),
            "SizeRestrictions_Cookie_Header",
            ns,
            b,
            size_gt(FieldToMatch::SingleHeader("cookie".into()), 10240),
        ),
        rule(
            "SizeRestrictions_BODY",
            next(),
            "SizeRestrictions_Body",
            ns,
            b,
            size_gt(
                FieldToMatch::Body {
                    oversize: Oversize::Match,
                },
                8192,
            ),
        ),
        rule(
            "SizeRestrictions_URIPATH",
            next(),
            "SizeRestrictions_URIPath",
            ns,
            b,
            size_gt(FieldToMatch::UriPath, 1024),
        ),
        rule(
            "EC2MetaDataSSRF_BODY",
            next(),
            "EC2MetaDataSSRF_Body",
            ns,
            b,
            inspect(body(), DECODE, re(ssrf)),
        ),
        rule(
            "EC2MetaDataSSRF_COOKIE",
            next(),
            "EC2MetaDataSSRF_Cookie",
            ns,
            b,
            inspect(cookie_values(), DECODE, re(ssrf)),
        ),
        rule(
            "EC2MetaDataSSRF_URIPATH",
            next(),
            "EC2MetaDataSSRF_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, DECODE, re(ssrf)),
        ),
        rule(
            "EC2MetaDataSSRF_QUERYARGUMENTS",
            next(),
            "EC2MetaDataSSRF_QueryArguments",
            ns,
            b,
            inspect(FieldToMatch::AllQueryArguments, DECODE, re(ssrf)),
        ),
        rule(
            "GenericLFI_QUERYARGUMENTS",
            next(),
            "GenericLFI_QueryArguments",
            ns,
            b,
            inspect(FieldToMatch::AllQueryArguments, DECODE_TWICE, re(lfi)),
        ),
        rule(
            "GenericLFI_URIPATH",
            next(),
            "GenericLFI_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, DECODE_TWICE, re(lfi)),
        ),
        rule(
            "GenericLFI_BODY",
            next(),
            "GenericLFI_Body",
            ns,
            b,
            inspect(body(), DECODE_TWICE, re(lfi)),
        ),
        rule(
            "RestrictedExtensions_URIPATH",
            next(),
            "RestrictedExtensions_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, DECODE, re(ext)),
        ),
        rule(
            "RestrictedExtensions_QUERYARGUMENTS",
            next(),
            "RestrictedExtensions_QueryArguments",
            ns,
            b,
            inspect(FieldToMatch::AllQueryArguments, DECODE, re(ext)),
        ),
        rule(
            "GenericRFI_QUERYARGUMENTS",
            next(),
            "GenericRFI_QueryArguments",
            ns,
            b,
            inspect(FieldToMatch::AllQueryArguments, DECODE, re(rfi)),
        ),
        rule(
            "GenericRFI_BODY",
            next(),
            "GenericRFI_Body",
            ns,
            b,
            inspect(body(), DECODE, re(rfi)),
        ),
        rule(
            "GenericRFI_URIPATH",
            next(),
            "GenericRFI_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, DECODE, re(rfi)),
        ),
        rule(
            "CrossSiteScripting_COOKIE",
            next(),
            "CrossSiteScripting_Cookie",
            ns,
            b,
            inspect(cookie_values(), xss_t, Test::Xss),
        ),
        rule(
            "CrossSiteScripting_QUERYARGUMENTS",
            next(),
            "CrossSiteScripting_QueryArguments",
            ns,
            b,
            inspect(FieldToMatch::AllQueryArguments, xss_t, Test::Xss),
        ),
        rule(
            "CrossSiteScripting_BODY",
            next(),
            "CrossSiteScripting_Body",
            ns,
            b,
            inspect(body(), xss_t, Test::Xss),
        ),
        rule(
            "CrossSiteScripting_URIPATH",
            next(),
            "CrossSiteScripting_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, xss_t, Test::Xss),
        ),
    ]
}

fn sqli_rules() -> Vec<Rule> {
    let ns = "sql-database";
    let t: &[T] = &[T::UrlDecode, T::HtmlEntityDecode];
    let sqli = |high| Test::Sqli { high };
    let b = Action::Block;
    vec![
        rule(
            "SQLi_QUERYARGUMENTS",
            1,
            "SQLi_QueryArguments",
            ns,
            b,
            inspect(FieldToMatch::AllQueryArguments, t, sqli(false)),
        ),
        rule(
            "SQLiExtendedPatterns_QUERYARGUMENTS",
            2,
            "SQLiExtendedPatterns_QueryArguments",
            ns,
            b,
            inspect(FieldToMatch::AllQueryArguments, t, sqli(true)),
        ),
        rule(
            "SQLi_BODY",
            3,
            "SQLi_Body",
            ns,
            b,
            inspect(body(), t, sqli(false)),
        ),
        rule(
            "SQLiExtendedPatterns_BODY",
            4,
            "SQLiExtendedPatterns_Body",
            ns,
            b,
            inspect(body(), t, sqli(true)),
        ),
        rule(
            "SQLi_COOKIE",
            5,
            "SQLi_Cookie",
            ns,
            b,
            inspect(cookie_values(), t, sqli(false)),
        ),
    ]
}

fn bad_input_rules() -> Vec<Rule> {
    let ns = "known-bad-inputs";
    let java = r"java\.lang\.(?:runtime|processbuilder|class)|getruntime\(\)|\.exec\(|class\.module\.classloader|spring\.cloud\.function\.routing-expression|t\(java\.|java\.io\.|ysoserial|rO0AB";
    let log4j = r"\$\{(?:\s*j\s*n\s*d\s*i|[^}]{0,40}\$\{)";
    let paths = r"/(?:web-inf|meta-inf)(?:/|$)|/\.(?:git|svn|hg|aws|ssh)/|/\.env$|/wp-config\.php";
    let host = r"^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)(?::\d+)?$";
    let b = Action::Block;
    let qs = FieldToMatch::QueryString;
    vec![
        rule(
            "JavaDeserializationRCE_HEADER",
            1,
            "JavaDeserializationRCE_Header",
            ns,
            b,
            inspect(all_headers(), DECODE, re(java)),
        ),
        rule(
            "JavaDeserializationRCE_BODY",
            2,
            "JavaDeserializationRCE_Body",
            ns,
            b,
            inspect(body(), DECODE, re(java)),
        ),
        rule(
            "JavaDeserializationRCE_URIPATH",
            3,
            "JavaDeserializationRCE_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, DECODE, re(java)),
        ),
        rule(
            "JavaDeserializationRCE_QUERYSTRING",
            4,
            "JavaDeserializationRCE_QueryString",
            ns,
            b,
            inspect(qs.clone(), DECODE, re(java)),
        ),
        rule(
            "Host_localhost_HEADER",
            5,
            "Host_Localhost_Header",
            ns,
            b,
            inspect(
                FieldToMatch::SingleHeader("host".into()),
                &[T::Lowercase, T::Trim],
                re(host),
            ),
        ),
        rule(
            "PROPFIND_METHOD",
            6,
            "Propfind_Method",
            ns,
            b,
            inspect(
                FieldToMatch::Method,
                &[T::Uppercase],
                Test::Bytes {
                    constraint: Positional::Exactly,
                    needle: b"PROPFIND".to_vec(),
                },
            ),
        ),
        rule(
            "ExploitablePaths_URIPATH",
            7,
            "ExploitablePaths_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, DECODE, re(paths)),
        ),
        rule(
            "Log4JRCE_HEADER",
            8,
            "Log4JRCE_Header",
            ns,
            b,
            inspect(all_headers(), DECODE_JS, re(log4j)),
        ),
        rule(
            "Log4JRCE_QUERYSTRING",
            9,
            "Log4JRCE_QueryString",
            ns,
            b,
            inspect(qs, DECODE_TWICE, re(log4j)),
        ),
        rule(
            "Log4JRCE_BODY",
            10,
            "Log4JRCE_Body",
            ns,
            b,
            inspect(body(), DECODE_JS, re(log4j)),
        ),
        rule(
            "Log4JRCE_URIPATH",
            11,
            "Log4JRCE_URIPath",
            ns,
            b,
            inspect(FieldToMatch::UriPath, DECODE_TWICE, re(log4j)),
        ),
    ]
}

fn ip_reputation_rules(opts: &LoadOptions) -> Vec<Rule> {
    let ns = "amazon-ip-list";
    let set = |name: &str, nets| Statement::IpSet {
        set: Arc::new(IpSet {
            name: name.to_string(),
            nets,
        }),
        forwarded: None,
    };
    vec![
        rule(
            "AWSManagedIPReputationList",
            1,
            "AWSManagedIPReputationList",
            ns,
            Action::Block,
            set("AWSManagedIPReputationList", opts.ip_reputation.clone()),
        ),
        rule(
            "AWSManagedReconnaissanceList",
            2,
            "AWSManagedReconnaissanceList",
            ns,
            Action::Block,
            set("AWSManagedReconnaissanceList", Vec::new()),
        ),
        rule(
            "AWSManagedIPDDoSList",
            3,
            "AWSManagedIPDDoSList",
            ns,
            Action::Count,
            set("AWSManagedIPDDoSList", Vec::new()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modelled_groups_build_and_unknown_ones_are_unmodelled() {
        let opts = LoadOptions::default();
        for name in MODELLED {
            let g = group("AWS", name, &opts);
            assert!(matches!(g.kind, GroupKind::Managed { .. }), "{name}");
            assert!(!g.rules.is_empty());
            for r in &g.rules {
                assert!(r.labels[0].starts_with(&g.label_prefix), "{}", r.labels[0]);
            }
        }
        assert!(matches!(
            group("AWS", "AWSManagedRulesBotControlRuleSet", &opts).kind,
            GroupKind::Unmodelled { .. }
        ));
        assert_eq!(group("AWS", COMMON, &opts).rules.len(), 22);
    }
}
