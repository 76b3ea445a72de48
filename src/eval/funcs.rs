//! Built-in functions.

use std::borrow::Cow;
use std::net::IpAddr;
use std::rc::Rc;

use ipnet::IpNet;

use super::context::{scalar_text, Ctx};
use super::expr::num_of;
use super::value::{It, SetRef, V};
use crate::compile::ir::Func;
use crate::doc::Pos;

pub fn call<'d>(ctx: &Ctx<'d>, f: Func, args: Vec<It<'d>>, here: Pos) -> It<'d> {
    let pos = args.first().map(|a| a.pos).unwrap_or(here);
    // Unknown arguments make unknown results, except where existence is the point;
    // functions about resources take references, whose target is known.
    // What a `Fn::Sub`/`Fn::Join` with deploy-time parts is known to start with,
    // end with or contain (`com.amazonaws.${AWS::Region}.s3` ends with `.s3`).
    if let (Func::StartsWith | Func::EndsWith | Func::Contains, Some(a), Some(b)) =
        (f, args.first(), args.get(1))
    {
        if let (
            V::Unknown {
                shape: Some(shape), ..
            },
            Some(needle),
        ) = (&a.v, scalar_text(&b.v))
        {
            return match shaped_text_test(f, shape, &needle) {
                Some(found) => It {
                    v: V::Bool(found),
                    pos,
                    specific: false,
                },
                None => a.clone(),
            };
        }
    }
    let takes_refs = matches!(
        f,
        Func::Deref
            | Func::Json
            | Func::KmsKey
            | Func::KmsAllows
            | Func::KmsSample
            | Func::WafFirstNotBlocked
            | Func::WafFirstNotAllowed
            | Func::Reachable
            | Func::Vulnerabilities
    );
    if !matches!(
        f,
        Func::Coalesce
            | Func::RefersTo
            | Func::ToList
            | Func::Known
            | Func::Configured
            | Func::SecretsFind
    ) {
        if let Some(u) = args
            .iter()
            .find(|a| matches!(a.v, V::Unknown { .. }) && !(takes_refs && a.resource().is_some()))
        {
            return u.clone();
        }
    }
    let s = |i: usize| args.get(i).and_then(|a| scalar_text(&a.v));
    // A yes/no computed by a function is not itself an offending value: when a
    // condition fails, the value it tested is the more specific place to point at.
    let boolean = |b: bool| It {
        v: V::Bool(b),
        pos,
        specific: false,
    };
    let string = |t: String| It::new(V::Str(Cow::Owned(t)), pos);
    match f {
        Func::Len => {
            if let V::List(items) = &args[0].v {
                // A filter that could not decide an item cannot count it either.
                if let Some(u) = items.iter().find(|i| matches!(i.v, V::Unknown { .. })) {
                    return u.clone();
                }
            }
            let n = match &args[0].v {
                V::Str(s) => s.chars().count(),
                V::List(l) => l.len(),
                V::Seq(l) => l.len(),
                V::Map(m) => m.len(),
                V::Owned(o) => o
                    .as_seq()
                    .map(|s| s.len())
                    .or(o.as_map().map(|m| m.len()))
                    .unwrap_or(0),
                V::Missing | V::Null => 0,
                _ => 1,
            };
            It::new(V::Num(n as f64), pos)
        }
        Func::Lower => s(0).map_or_else(|| It::missing(pos), |t| string(t.to_lowercase())),
        Func::Upper => s(0).map_or_else(|| It::missing(pos), |t| string(t.to_uppercase())),
        Func::StartsWith => {
            boolean(matches!((s(0), s(1)), (Some(a), Some(b)) if a.starts_with(&b)))
        }
        Func::EndsWith => boolean(matches!((s(0), s(1)), (Some(a), Some(b)) if a.ends_with(&b))),
        Func::Contains => {
            let needle = s(1);
            let found = match &args[0].v {
                V::Str(h) => needle.is_some_and(|n| h.contains(n.as_str())),
                V::List(_) | V::Seq(_) | V::Owned(_) => {
                    let items = ctx.list_items(args[0].clone()).unwrap_or_default();
                    items
                        .iter()
                        .any(|i| scalar_text(&i.v).is_some() && scalar_text(&i.v) == needle)
                }
                _ => false,
            };
            boolean(found)
        }
        Func::ToNumber => match num_of(&args[0].v) {
            Some(n) => It::new(V::Num(n), pos),
            None => It::missing(pos),
        },
        Func::ToString => s(0).map_or_else(|| It::missing(pos), string),
        Func::ToList => match &args[0].v {
            V::List(_) | V::Seq(_) => args[0].clone(),
            V::Owned(o) if o.as_seq().is_some() => args[0].clone(),
            V::Missing => It::list(vec![], pos),
            _ => It::list(vec![args[0].clone()], pos),
        },
        Func::Keys => match &args[0].v {
            V::Map(m) => It::list(
                m.iter()
                    .map(|e| It::new(V::Str(Cow::Borrowed(e.key.as_str())), e.key_pos))
                    .collect(),
                pos,
            ),
            V::Owned(o) => It::list(
                o.as_map()
                    .unwrap_or(&[])
                    .iter()
                    .map(|e| It::new(V::Str(Cow::Owned(e.key.clone())), e.key_pos))
                    .collect(),
                pos,
            ),
            _ => It::list(vec![], pos),
        },
        Func::Values => {
            let mut ev = super::expr::Eval {
                ctx,
                env: vec![],
                aggs: vec![],
            };
            match &args[0].v {
                V::Map(_) | V::Owned(_) => match ev.items(args[0].clone()) {
                    Ok(items) => It::list(items, pos),
                    Err(u) => u,
                },
                _ => It::list(vec![], pos),
            }
        }
        Func::Json if matches!(args[0].v, V::Unknown { .. }) => match args[0].resource() {
            Some(i) => It::unknown(
                format!(
                    "the document is computed from resource {} at apply time",
                    ctx.resource_id(i)
                ),
                pos,
            ),
            None => args[0].clone(),
        },
        Func::Json => match &args[0].v {
            V::Str(text) => match crate::load::parse_json(text, "<json>") {
                Ok(mut v) => {
                    // Positions inside the string mean nothing in the file: every
                    // value of the document is reported at the string itself.
                    relocate(&mut v, pos);
                    It::new(V::Owned(Rc::new(v)), pos)
                }
                Err(_) => It::unknown("the string is not valid JSON", pos),
            },
            V::Res(i) => It::unknown(
                format!(
                    "the document is computed from resource {} at apply time",
                    ctx.resource_id(*i)
                ),
                pos,
            ),
            _ => args[0].clone(),
        },
        Func::CidrContains => match (s(0).and_then(|a| net(&a)), s(1).and_then(|b| net(&b))) {
            (Some(a), Some(b)) => boolean(a.contains(&b)),
            _ => It::missing(pos),
        },
        Func::CidrOverlaps => match (s(0).and_then(|a| net(&a)), s(1).and_then(|b| net(&b))) {
            (Some(a), Some(b)) => boolean(a.contains(&b.network()) || b.contains(&a.network())),
            _ => It::missing(pos),
        },
        Func::CidrIsWorld => match s(0).and_then(|a| net(&a)) {
            Some(n) => boolean(n.prefix_len() == 0),
            None => boolean(false),
        },
        Func::CidrPrefix => match s(0).and_then(|a| net(&a)) {
            Some(n) => It::new(V::Num(n.prefix_len() as f64), pos),
            None => It::missing(pos),
        },
        Func::IsPrivateIp => match s(0).and_then(|a| net(&a)) {
            Some(n) => boolean(is_private(&n)),
            None => boolean(false),
        },
        Func::Resources => {
            let types: Vec<String> = (0..args.len()).filter_map(s).collect();
            let items = ctx
                .tpl
                .resources
                .iter()
                .enumerate()
                .filter(|(_, r)| types.contains(&r.rtype))
                // A resource whose Condition is false in this run does not exist.
                .filter(|(_, r)| {
                    r.condition
                        .as_deref()
                        .is_none_or(|c| ctx.condition_in_run(c))
                })
                .map(|(i, r)| It::new(V::Res(i), r.pos))
                .collect();
            It::new(V::List(Rc::new(items)), here)
        }
        Func::RefersTo => match args[1].resource() {
            Some(target) => refers_to(ctx, &args[0], target, pos),
            None => boolean(false),
        },
        Func::Deref => match args[0].resource() {
            Some(i) => It::new(V::Res(i), args[0].pos),
            None => args[0].clone(),
        },
        Func::KmsKey => super::kms_fns::key(ctx, &args[0], pos),
        Func::KmsAllows => super::kms_fns::allows(ctx, &args, pos),
        Func::KmsDecrypts => super::kms_fns::decrypts(ctx, &args, pos),
        Func::KmsSample => super::kms_fns::sample(ctx, &args[0], pos),
        Func::ThreatList => {
            let name = s(0).unwrap_or_default();
            match ctx.params.engines.threat_lists.get(&name) {
                Some(list) => It::new(
                    V::Set(SetRef::Threat {
                        list: list.clone(),
                        trusted: ctx.params.engines.trusted.clone(),
                    }),
                    pos,
                ),
                None => {
                    It::unknown(
                        match ctx.params.engines.unreadable_lists.get(&name) {
                            Some(path) => format!(
                            "threat list `{name}` could not be read from {path} (see its error)"
                        ),
                            None => {
                                format!("threat list `{name}` was not given (--threat-list {name}=PATH)")
                            }
                        },
                        pos,
                    )
                }
            }
        }
        Func::AwsIpRanges => match &ctx.params.engines.aws_ranges {
            Some(r) => It::new(V::Set(SetRef::Aws(r.clone())), here),
            None => It::unknown(
                "AWS's IP ranges were not given (--aws-ip-ranges ip-ranges.json)",
                here,
            ),
        },
        Func::Entropy => match s(0) {
            Some(t) => It::new(V::Num(entropy(&t)), pos),
            None => It::missing(pos),
        },
        Func::UrlDecode => s(0).map_or_else(|| It::missing(pos), |t| string(url_decode(&t))),
        Func::FirstLabel => s(0).map_or_else(
            || It::missing(pos),
            |t| {
                string(
                    t.trim_end_matches('.')
                        .split('.')
                        .next()
                        .unwrap_or("")
                        .to_string(),
                )
            },
        ),
        Func::ParentDomain => match s(0) {
            Some(t) => match t.trim_end_matches('.').split_once('.') {
                Some((_, parent)) => string(parent.to_ascii_lowercase()),
                None => It::missing(pos),
            },
            None => It::missing(pos),
        },
        Func::IsIp => boolean(s(0).is_some_and(|t| t.trim().parse::<IpAddr>().is_ok())),
        Func::WafFirstNotBlocked => super::waf_fns::first_not_blocked(ctx, &args, pos),
        Func::WafFirstNotAllowed => super::waf_fns::first_not_allowed(ctx, &args, pos),
        Func::SecretsFind => super::secrets_fns::find(ctx, &args, here),
        Func::SecretsEntropy => super::secrets_fns::entropy(&args[0], pos),
        Func::Unknown => It::unknown(s(0).unwrap_or_default(), here),
        Func::Reachable => super::inspector_fns::reachable(ctx, &args[0], pos),
        Func::Vulnerabilities => super::inspector_fns::vulnerabilities(ctx, &args[0], pos),
        Func::Known => boolean(!matches!(args[0].v, V::Unknown { .. })),
        Func::Configured => boolean(!matches!(
            args[0].v,
            V::Missing | V::Null | V::Unknown { unset: true, .. }
        )),
        Func::Coalesce => args
            .iter()
            .find(|a| !matches!(a.v, V::Missing | V::Null))
            .cloned()
            .unwrap_or_else(|| It::missing(pos)),
    }
}

/// The literal parts of a `Fn::Sub` template, around its `${...}` placeholders.
fn shape_segments(shape: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = shape;
    while let Some(start) = rest.find("${") {
        out.push(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push(rest);
    out
}

/// `starts_with`, `ends_with` or `contains` on a partly known string: `Some`
/// when its literal parts decide, `None` when the deploy-time parts could.
fn shaped_text_test(f: Func, shape: &str, needle: &str) -> Option<bool> {
    let segs = shape_segments(shape);
    let (first, last) = (segs[0], segs[segs.len() - 1]);
    match f {
        Func::StartsWith if first.starts_with(needle) => Some(true),
        Func::StartsWith if needle.starts_with(first) => None,
        Func::StartsWith => Some(false),
        Func::EndsWith if last.ends_with(needle) => Some(true),
        Func::EndsWith if needle.ends_with(last) => None,
        Func::EndsWith => Some(false),
        _ if segs.iter().any(|s| s.contains(needle)) => Some(true),
        _ => None,
    }
}

/// The resource names a `Fn::Sub`/`Fn::Join` template splices in: `${Dist}`,
/// `${Dist.Id}`.
fn shape_refs(shape: &str) -> impl Iterator<Item = &str> {
    shape.split("${").skip(1).filter_map(|p| {
        let inner = p.split('}').next()?;
        Some(inner.split('.').next().unwrap_or(inner).trim())
    })
}

fn refers_to<'d>(ctx: &Ctx<'d>, v: &It<'d>, target: usize, pos: Pos) -> It<'d> {
    if let Some(i) = v.resource() {
        return It::new(V::Bool(i == target), pos);
    }
    match &v.v {
        V::List(_) | V::Seq(_) => {
            let items = ctx.list_items(v.clone()).unwrap_or_default();
            let mut unknown = None;
            for it in &items {
                let r = refers_to(ctx, it, target, pos);
                match r.v {
                    V::Bool(true) => return r,
                    V::Unknown { .. } => unknown = Some(r),
                    _ => {}
                }
            }
            unknown.unwrap_or_else(|| It::new(V::Bool(false), pos))
        }
        // A literal name or ARN: the same text as the resource's id or name.
        V::Str(s) => {
            let r = &ctx.tpl.resources[target];
            let named = r.props.as_ref().and_then(|p| p.as_map()).is_some_and(|m| {
                m.iter().any(|e| {
                    matches!(
                        e.key.as_str(),
                        "BucketName" | "bucket" | "Name" | "name" | "arn" | "id"
                    ) && e.value.as_str() == Some(s)
                })
            });
            It::new(V::Bool(named || r.id == *s), pos)
        }
        // `!Sub arn:aws:cloudfront::${AWS::AccountId}:distribution/${Dist}` names
        // Dist. A template whose every placeholder is a pseudo parameter, a
        // parameter or another resource cannot name it: those are all known
        // before (or apart from) the resource's own id.
        V::Unknown { shape: Some(t), .. } => {
            let id = &ctx.tpl.resources[target].id;
            let mut names = shape_refs(t).peekable();
            if names.peek().is_none() {
                return v.clone();
            }
            let mut other = true;
            for name in names {
                if name == id {
                    return It::new(V::Bool(true), pos);
                }
                other &= name.starts_with("AWS::")
                    || ctx.tpl.parameters.contains_key(name)
                    || ctx.tpl.resources.iter().any(|r| r.id == name);
            }
            if other {
                It::new(V::Bool(false), pos)
            } else {
                v.clone()
            }
        }
        V::Unknown { .. } => v.clone(),
        _ => It::new(V::Bool(false), pos),
    }
}

/// Shannon entropy of the characters of `s`, in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

/// Percent-decoding (`%2F` → `/`, `+` → space); invalid escapes are kept.
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// An address or a network; a bare address is a /32 or /128.
fn net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn is_private(n: &IpNet) -> bool {
    let private: [&str; 8] = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    ];
    private
        .iter()
        .filter_map(|p| p.parse::<IpNet>().ok())
        .any(|p| p.contains(n))
}

fn relocate(v: &mut crate::doc::Value, pos: Pos) {
    use crate::doc::Node;
    v.pos = pos;
    match &mut v.node {
        Node::Seq(items) => items.iter_mut().for_each(|i| relocate(i, pos)),
        Node::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_pos = pos;
            relocate(&mut e.value, pos);
        }),
        _ => {}
    }
}
