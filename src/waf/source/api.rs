//! The JSON the WAFv2 API prints: `aws wafv2 get-web-acl` (`{"WebACL": {...},
//! "LockToken": ...}`), a bare WebACL object, or a JSON list of such outputs
//! together with `get-ip-set`, `get-regex-pattern-set` and `get-rule-group`
//! outputs for the sets and groups the web ACL references. SearchString is
//! Base64 in this JSON.

use crate::doc::{Node, Value};
use crate::waf::acl::WebAcl;
use crate::waf::error::WafError;

use super::build::Builder;
use super::refs::{RefKind, RefTable, ResourceDef};
use super::LoadOptions;

const WRAPPERS: &[(&str, RefKind)] = &[
    ("WebACL", RefKind::WebAcl),
    ("IPSet", RefKind::IpSet),
    ("RegexPatternSet", RefKind::RegexPatternSet),
    ("RuleGroup", RefKind::RuleGroup),
];

/// Whether a parsed JSON document looks like WAFv2 API output.
pub fn looks_like_api(root: &Value) -> bool {
    let one = |v: &Value| WRAPPERS.iter().any(|(k, _)| v.get(k).is_some()) || is_bare_acl(v);
    match &root.node {
        Node::Seq(items) => !items.is_empty() && items.iter().all(one),
        Node::Map(_) => one(root),
        _ => false,
    }
}

fn is_bare_acl(v: &Value) -> bool {
    v.get("DefaultAction").is_some()
        && v.get("Name").is_some()
        && v.get("VisibilityConfig").is_some()
}

pub fn web_acls(path: &str, root: &Value, opts: &LoadOptions) -> Vec<Result<WebAcl, WafError>> {
    let docs: Vec<&Value> = match &root.node {
        Node::Seq(items) => items.iter().collect(),
        _ => vec![root],
    };
    let mut refs = RefTable::default();
    let mut acls = Vec::new();
    for d in docs {
        let found = WRAPPERS
            .iter()
            .find_map(|(k, kind)| d.get(k).map(|v| (*kind, v)))
            .or_else(|| is_bare_acl(d).then_some((RefKind::WebAcl, d)));
        let Some((kind, v)) = found else { continue };
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let def = ResourceDef {
            kind,
            id: s("Id")
                .or_else(|| s("Name"))
                .unwrap_or_else(|| "web-acl".into()),
            name: s("Name"),
            arn: s("ARN"),
            props: v.clone(),
            pos: v.pos,
        };
        if kind == RefKind::WebAcl {
            acls.push(def);
        } else {
            refs.defs.push(def);
        }
    }
    acls.into_iter()
        .map(|d| {
            let b = Builder::new(path, &refs, opts, true);
            let id = d.name.clone().unwrap_or(d.id.clone());
            b.web_acl(&id, d.arn.clone(), &d.props, d.pos)
        })
        .collect()
}
