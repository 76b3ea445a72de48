//! `waf.first_not_blocked` and `waf.first_not_allowed`: the policy side of the
//! WAFv2 engine. A web ACL of the template is compiled with its IP sets, regex
//! pattern sets and rule groups, and evaluated over a request corpus with AWS
//! WAF's semantics; the first request it gets wrong names itself.

use std::rc::Rc;

use super::context::{scalar_text, Ctx};
use super::value::{It, V};
use crate::doc::{Entry, Node, Pos, Value};
use crate::waf::{self, Decision, Request, WebAcl};

fn text(s: &str, pos: Pos) -> Value {
    Value::new(Node::Str(s.to_string()), pos)
}

fn entry(key: &str, value: Value) -> Entry {
    Entry {
        key: key.to_string(),
        key_pos: value.pos,
        value,
    }
}

/// The compiled web ACL for a resource of the template.
fn acl_of<'d>(ctx: &Ctx<'d>, arg: &It<'d>, pos: Pos) -> Result<WebAcl, It<'d>> {
    let Some(i) = arg.resource() else {
        return Err(It::unknown(
            "waf functions need a web ACL resource (the `for resource` variable)",
            pos,
        ));
    };
    let r = &ctx.tpl.resources[i];
    if !matches!(r.rtype.as_str(), "AWS::WAFv2::WebACL" | "aws_wafv2_web_acl") {
        return Err(It::unknown(
            format!("{} is a {}, not a WAFv2 web ACL", r.id, r.rtype),
            pos,
        ));
    }
    let mut opts = waf::LoadOptions::default();
    if let Some(a) = ctx.params.values.get("AWS::AccountId") {
        opts.account_id = a.clone();
    }
    if let Some(rg) = ctx.params.values.get("AWS::Region") {
        opts.region = rg.clone();
    }
    let acls = waf::web_acls_in_template(ctx.tpl, &opts);
    for a in acls {
        match a {
            Ok(acl) if acl.id == r.id => return Ok(acl),
            Err(e) if same_resource(ctx, i, e.pos) => {
                return Err(It::unknown(
                    format!("the web ACL cannot be evaluated: {}", e.message),
                    pos,
                ))
            }
            _ => {}
        }
    }
    Err(It::unknown(
        format!("web ACL {} could not be compiled", r.id),
        pos,
    ))
}

/// Whether a position lies inside resource `i` (before the next resource).
fn same_resource(ctx: &Ctx<'_>, i: usize, p: Option<Pos>) -> bool {
    let Some(p) = p else { return false };
    let start = ctx.tpl.resources[i].pos;
    let end = ctx
        .tpl
        .resources
        .iter()
        .map(|r| r.pos)
        .filter(|q| *q > start)
        .min();
    p >= start && end.is_none_or(|e| p < e)
}

fn corpus<'d>(name: &It<'d>, pos: Pos) -> Result<Vec<Request>, It<'d>> {
    let n = scalar_text(&name.v).unwrap_or_default();
    waf::corpus::named(&n).ok_or_else(|| {
        It::unknown(
            format!(
                "no request corpus `{n}` (bundled corpora: {})",
                waf::corpus::NAMES.join(", ")
            ),
            pos,
        )
    })
}

/// The first request of `corpus` for which `wrong` holds, as a map: `request`,
/// `action`, `rule`, `index`, `approximations`; missing when there is none.
fn first<'d>(ctx: &Ctx<'d>, args: &[It<'d>], pos: Pos, wrong: fn(&Decision) -> bool) -> It<'d> {
    let acl = match acl_of(ctx, &args[0], pos) {
        Ok(a) => a,
        Err(u) => return u,
    };
    let requests = match corpus(&args[1], pos) {
        Ok(r) => r,
        Err(u) => return u,
    };
    let decisions = waf::evaluate_corpus(&acl, &requests);
    let Some((i, d)) = decisions.iter().enumerate().find(|(_, d)| wrong(d)) else {
        return It::missing(pos);
    };
    if d.action == waf::Outcome::Unknown {
        let why: Vec<String> = d
            .undetermined
            .iter()
            .map(|u| format!("{}: {}", u.rule_id, u.reason))
            .collect();
        return It::unknown(
            format!(
                "the web ACL's decision on {} cannot be known ({})",
                requests[i].summary(),
                why.join("; ")
            ),
            pos,
        );
    }
    let approximations: Vec<String> = acl.approximations.iter().map(|a| a.rule.clone()).collect();
    let approx = if approximations.is_empty() {
        String::new()
    } else {
        format!(
            " (managed rule groups evaluated by approximation: {})",
            approximations.join(", ")
        )
    };
    let map = Value::new(
        Node::Map(vec![
            entry("request", text(&requests[i].summary(), pos)),
            entry(
                "action",
                text(&format!("{:?}", d.action).to_ascii_uppercase(), pos),
            ),
            entry("rule", text(&d.terminating_rule_id, pos)),
            entry("index", Value::new(Node::Int(i as i64 + 1), pos)),
            entry("approximations", text(&approx, pos)),
        ]),
        pos,
    );
    It::new(V::Owned(Rc::new(map)), pos)
}

pub fn first_not_blocked<'d>(ctx: &Ctx<'d>, args: &[It<'d>], pos: Pos) -> It<'d> {
    first(ctx, args, pos, |d| !d.is_stopped())
}

pub fn first_not_allowed<'d>(ctx: &Ctx<'d>, args: &[It<'d>], pos: Pos) -> It<'d> {
    first(ctx, args, pos, |d| !d.is_allowed())
}
