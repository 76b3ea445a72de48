//! Terraform plans: `aws_wafv2_web_acl` and the `aws_wafv2_ip_set`,
//! `aws_wafv2_regex_pattern_set` and `aws_wafv2_rule_group` it references,
//! converted from the provider's nested blocks (lists of one object, snake_case)
//! to the API's shape, so one compiler serves every input format.

use crate::doc::{Entry, Node, Template, Value};
use crate::waf::acl::WebAcl;
use crate::waf::error::WafError;

use super::build::Builder;
use super::refs::{RefKind, RefTable, ResourceDef};
use super::LoadOptions;

pub const WEB_ACL: &str = "aws_wafv2_web_acl";

/// Blocks that repeat (stay lists); every other block has at most one item.
const LIST_BLOCKS: &[&str] = &[
    "rule",
    "text_transformation",
    "custom_key",
    "rule_action_override",
    "rule_label",
    "excluded_rule",
    "regular_expression",
    "custom_response_body",
    "managed_rule_group_configs",
    "insert_header",
    "response_header",
];

/// Attributes that are lists of scalars.
const LIST_ATTRS: &[&str] = &[
    "country_codes",
    "included_paths",
    "included_headers",
    "excluded_headers",
    "included_cookies",
    "excluded_cookies",
    "addresses",
    "token_domains",
    "asn_list",
];

fn kind_of(rtype: &str) -> Option<RefKind> {
    Some(match rtype {
        "aws_wafv2_ip_set" => RefKind::IpSet,
        "aws_wafv2_regex_pattern_set" => RefKind::RegexPatternSet,
        "aws_wafv2_rule_group" => RefKind::RuleGroup,
        WEB_ACL => RefKind::WebAcl,
        _ => return None,
    })
}

/// Every web ACL of a plan, compiled.
pub fn web_acls(t: &Template, opts: &LoadOptions) -> Vec<Result<WebAcl, WafError>> {
    let mut refs = RefTable::default();
    let mut acls = Vec::new();
    let mut out = Vec::new();
    for rsc in &t.resources {
        let Some(kind) = kind_of(&rsc.rtype) else {
            continue;
        };
        let empty = Value::new(Node::Map(Vec::new()), rsc.props_pos);
        let values = rsc.props.as_ref().unwrap_or(&empty);
        let mut props = convert(values, None);
        if kind == RefKind::WebAcl || kind == RefKind::RuleGroup {
            if let Err(e) = merge_rule_json(&mut props, values, &t.path) {
                out.push(Err(e));
                continue;
            }
        }
        let name = values
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string);
        let arn = values
            .get("arn")
            .and_then(Value::as_str)
            .map(str::to_string);
        if kind == RefKind::WebAcl {
            acls.push((rsc.id.clone(), arn, props, rsc.pos));
        } else {
            refs.defs.push(ResourceDef {
                kind,
                id: rsc.id.clone(),
                name,
                arn,
                props,
                pos: rsc.pos,
            });
        }
    }
    for (id, arn, props, pos) in acls {
        if let Some(e) = separate_rules(t, &id, arn.as_deref()) {
            out.push(Err(e));
            continue;
        }
        let b = Builder::new(&t.path, &refs, opts, false);
        out.push(b.web_acl(&id, arn, &props, pos));
    }
    out
}

/// Resources that add rules to a web ACL from outside it
/// (`aws_wafv2_web_acl_rule_group_association`, `aws_wafv2_web_acl_rule`): the
/// web ACL's own block would be missing them, so evaluating it is refused.
fn separate_rules(t: &Template, acl_id: &str, acl_arn: Option<&str>) -> Option<WafError> {
    t.resources
        .iter()
        .filter(|r| r.rtype.starts_with("aws_wafv2_web_acl_rule"))
        .find(|r| {
            let Some(props) = &r.props else { return false };
            let Some(arn) = props.get("web_acl_arn") else {
                return false;
            };
            match &arn.node {
                Node::Str(s) => Some(s.as_str()) == acl_arn,
                Node::Computed { refs, .. } => refs
                    .iter()
                    .any(|rf| rf == acl_id || rf.starts_with(&format!("{acl_id}."))),
                _ => false,
            }
        })
        .map(|r| {
            WafError::at(
                &*t.path,
                r.pos,
                format!(
                    "{} adds rules to {acl_id} from outside its definition; deadbolt does not                      evaluate {} yet, so it cannot tell what the web ACL does",
                    r.id, r.rtype
                ),
            )
        })
}

/// `rule_json` (provider 5.x): the rules as the API's JSON, in a string.
fn merge_rule_json(props: &mut Value, values: &Value, path: &str) -> Result<(), WafError> {
    let Some(rj) = values.get("rule_json") else {
        return Ok(());
    };
    let Some(text) = rj.as_str().filter(|s| !s.trim().is_empty()) else {
        return Ok(());
    };
    let parsed = crate::load::parse_json(text, path).map_err(|e| {
        WafError::at(
            path,
            rj.pos,
            format!("rule_json is not valid JSON: {}", e.message),
        )
    })?;
    // Positions inside the string are relative to it; point at the attribute.
    let parsed = repos(parsed, rj.pos);
    if let Node::Map(entries) = &mut props.node {
        entries.retain(|e| e.key != "Rules");
        entries.push(Entry {
            key: "Rules".into(),
            key_pos: rj.pos,
            value: parsed,
        });
    }
    Ok(())
}

fn repos(v: Value, pos: crate::doc::Pos) -> Value {
    let node = match v.node {
        Node::Map(es) => Node::Map(
            es.into_iter()
                .map(|e| Entry {
                    key: e.key,
                    key_pos: pos,
                    value: repos(e.value, pos),
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.into_iter().map(|i| repos(i, pos)).collect()),
        other => other,
    };
    Value::new(node, pos)
}

/// The API name of a Terraform attribute or block, given its parent block.
fn api_key(key: &str, parent: Option<&str>) -> String {
    let special = match key {
        "arn" => "ARN",
        "ip_set_reference_statement" => "IPSetReferenceStatement",
        "ip_set_forwarded_ip_config" => "IPSetForwardedIPConfig",
        "forwarded_ip_config" => "ForwardedIPConfig",
        "text_transformation" => "TextTransformations",
        "rule_action_override" => "RuleActionOverrides",
        "rule_label" => "RuleLabels",
        "excluded_rule" => "ExcludedRules",
        "custom_key" => "CustomKeys",
        "http_method" => "HTTPMethod",
        "forwarded_ip" => "ForwardedIP",
        "ip" => "IP",
        "ja3_fingerprint" => "JA3Fingerprint",
        "ja4_fingerprint" => "JA4Fingerprint",
        "asn" => "ASN",
        "ip_address_version" => "IPAddressVersion",
        "regular_expression" => "RegularExpressionList",
        "custom_response_body" => "CustomResponseBodies",
        "managed_rule_group_configs" => "ManagedRuleGroupConfigs",
        "sqli_match_statement" => "SqliMatchStatement",
        "xss_match_statement" => "XssMatchStatement",
        "rule" => "Rules",
        "statement" => match parent {
            Some("and_statement") | Some("or_statement") => "Statements",
            _ => "Statement",
        },
        _ => "",
    };
    if !special.is_empty() {
        return special.to_string();
    }
    if parent == Some("request_body") {
        // Resource types are enum keys in the API: CLOUDFRONT, API_GATEWAY, ...
        return key.to_ascii_uppercase();
    }
    key.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Converts a Terraform block's values to the API's shape.
fn convert(v: &Value, parent: Option<&str>) -> Value {
    match &v.node {
        Node::Map(entries) => {
            let mut out = Vec::new();
            for e in entries {
                if e.key == "rule_json"
                    || e.key == "visibility_config"
                    || e.key == "tags"
                    || e.key == "tags_all"
                {
                    continue;
                }
                let list_block = LIST_BLOCKS.contains(&e.key.as_str())
                    || (e.key == "statement"
                        && matches!(parent, Some("and_statement" | "or_statement")));
                let value = match &e.value.node {
                    Node::Null => continue,
                    // An empty list attribute is an unset one.
                    Node::Seq(items) if LIST_ATTRS.contains(&e.key.as_str()) => {
                        if items.is_empty() {
                            continue;
                        }
                        Value::new(Node::Seq(items.clone()), e.value.pos)
                    }
                    Node::Seq(items) if list_block && items.is_empty() => continue,
                    Node::Seq(items) if list_block => Value::new(
                        Node::Seq(items.iter().map(|i| convert(i, Some(&e.key))).collect()),
                        e.value.pos,
                    ),
                    Node::Seq(items) => match items.first() {
                        // An absent nested block.
                        None => continue,
                        Some(first) if matches!(first.node, Node::Map(_)) => {
                            convert(first, Some(&e.key))
                        }
                        Some(_) => e.value.clone(),
                    },
                    _ => e.value.clone(),
                };
                out.push(Entry {
                    key: api_key(&e.key, parent),
                    key_pos: e.key_pos,
                    value,
                });
            }
            Value::new(Node::Map(out), v.pos)
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names() {
        assert_eq!(api_key("byte_match_statement", None), "ByteMatchStatement");
        assert_eq!(api_key("statement", Some("not_statement")), "Statement");
        assert_eq!(api_key("statement", Some("and_statement")), "Statements");
        assert_eq!(api_key("cloudfront", Some("request_body")), "CLOUDFRONT");
        assert_eq!(api_key("text_transformation", None), "TextTransformations");
    }

    #[test]
    fn blocks_unwrap_and_absent_blocks_vanish() {
        let v = crate::load::parse_json(
            r#"{"default_action": [{"allow": [{}], "block": []}],
                "rule": [{"name": "r", "priority": 1,
                          "statement": [{"geo_match_statement": [{"country_codes": ["US"], "forwarded_ip_config": []}]}]}]}"#,
            "p.json",
        )
        .unwrap();
        let c = convert(&v, None);
        assert!(c.get("DefaultAction").unwrap().get("Allow").is_some());
        assert!(c.get("DefaultAction").unwrap().get("Block").is_none());
        let rule = &c.get("Rules").unwrap().as_seq().unwrap()[0];
        let geo = rule
            .get("Statement")
            .unwrap()
            .get("GeoMatchStatement")
            .unwrap();
        assert_eq!(geo.get("CountryCodes").unwrap().as_seq().unwrap().len(), 1);
        assert!(geo.get("ForwardedIPConfig").is_none());
    }
}
