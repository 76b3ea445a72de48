//! CloudFormation: web ACLs and the IP sets, regex pattern sets and rule groups
//! they reference in the same template. Intrinsic functions in their properties
//! are resolved statically (parameters with defaults, pseudo parameters,
//! `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::If`, `Fn::FindInMap`, ...); a
//! reference to a WAFv2 resource of the template (`!Ref`, `!GetAtt X.Arn`)
//! becomes a marker the builder looks up. Anything that cannot be known from the
//! template (a parameter without a default, `Fn::ImportValue`) is an error that
//! names it.

use base64::Engine;

use crate::doc::{Entry, Node, Pos, Template, Value};
use crate::waf::acl::WebAcl;
use crate::waf::error::WafError;

use super::build::Builder;
use super::refs::{ref_marker, RefKind, RefTable, ResourceDef};
use super::value::Reader;
use super::LoadOptions;

pub const WEB_ACL: &str = "AWS::WAFv2::WebACL";

/// Nesting followed before giving up: values within values (the YAML loader
/// already bounds documents at 256 levels) and intrinsics within intrinsics
/// (conditions referring to conditions, and so on).
const MAX_DEPTH: usize = 320;

fn kind_of(rtype: &str) -> Option<RefKind> {
    Some(match rtype {
        "AWS::WAFv2::IPSet" => RefKind::IpSet,
        "AWS::WAFv2::RegexPatternSet" => RefKind::RegexPatternSet,
        "AWS::WAFv2::RuleGroup" => RefKind::RuleGroup,
        WEB_ACL => RefKind::WebAcl,
        _ => return None,
    })
}

/// Every web ACL of a CloudFormation template, compiled.
pub fn web_acls(t: &Template, opts: &LoadOptions) -> Vec<Result<WebAcl, WafError>> {
    let res = Resolver {
        t,
        r: Reader { path: &t.path },
        opts,
    };
    let mut refs = RefTable::default();
    let mut out = Vec::new();
    let mut acls = Vec::new();
    for rsc in &t.resources {
        let Some(kind) = kind_of(&rsc.rtype) else {
            continue;
        };
        let empty = Value::new(Node::Map(Vec::new()), rsc.props_pos);
        let props = match res.resolve(rsc.props.as_ref().unwrap_or(&empty), 0) {
            Ok(p) => p.unwrap_or(empty),
            Err(e) => {
                if kind == RefKind::WebAcl {
                    out.push(Err(e));
                }
                // A broken IP set is reported by the web ACL that uses it.
                continue;
            }
        };
        let name = props
            .get("Name")
            .and_then(Value::as_str)
            .map(str::to_string);
        if kind == RefKind::WebAcl {
            acls.push((rsc.id.clone(), props, rsc.pos));
        } else {
            refs.defs.push(ResourceDef {
                kind,
                id: rsc.id.clone(),
                name,
                arn: None,
                props,
                pos: rsc.pos,
            });
        }
    }
    for (id, props, pos) in acls {
        let b = Builder::new(&t.path, &refs, opts, false);
        out.push(b.web_acl(&id, None, &props, pos));
    }
    out
}

struct Resolver<'a> {
    t: &'a Template,
    r: Reader<'a>,
    opts: &'a LoadOptions,
}

impl Resolver<'_> {
    fn err(&self, pos: Pos, msg: impl Into<String>) -> WafError {
        self.r.err(pos, msg)
    }

    /// The value with every intrinsic resolved; `None` for `AWS::NoValue`.
    fn resolve(&self, v: &Value, depth: usize) -> Result<Option<Value>, WafError> {
        if depth > MAX_DEPTH {
            return Err(self.err(v.pos, "the value nests too deeply to resolve (intrinsics or conditions referring to each other?)"));
        }
        if let Some((f, arg)) = v.intrinsic() {
            return self.intrinsic(f, arg, v.pos, depth);
        }
        Ok(Some(match &v.node {
            Node::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for e in entries {
                    if let Some(val) = self.resolve(&e.value, depth + 1)? {
                        out.push(Entry {
                            key: e.key.clone(),
                            key_pos: e.key_pos,
                            value: val,
                        });
                    }
                }
                Value::new(Node::Map(out), v.pos)
            }
            Node::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    if let Some(val) = self.resolve(it, depth + 1)? {
                        out.push(val);
                    }
                }
                Value::new(Node::Seq(out), v.pos)
            }
            _ => v.clone(),
        }))
    }

    fn scalar(&self, v: &Value, depth: usize, what: &str) -> Result<String, WafError> {
        let resolved = self
            .resolve(v, depth + 1)?
            .ok_or_else(|| self.err(v.pos, format!("{what} resolves to AWS::NoValue")))?;
        match &resolved.node {
            Node::Str(s) => Ok(s.clone()),
            Node::Int(i) => Ok(i.to_string()),
            Node::Float(f) => Ok(f.to_string()),
            Node::Bool(b) => Ok(b.to_string()),
            _ => Err(self.err(
                v.pos,
                format!(
                    "expected {what} to be a string, found a {}",
                    resolved.kind_name()
                ),
            )),
        }
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        Some(match name {
            "AWS::Region" => self.opts.region.clone(),
            "AWS::AccountId" => self.opts.account_id.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::StackName" => "stack".into(),
            "AWS::StackId" => format!(
                "arn:aws:cloudformation:{}:{}:stack/stack/00000000-0000-0000-0000-000000000000",
                self.opts.region, self.opts.account_id
            ),
            _ => return None,
        })
    }

    fn parameter(&self, name: &str, pos: Pos, depth: usize) -> Result<Value, WafError> {
        let p = &self.t.parameters[name];
        match &p.default {
            Some(d) => Ok(self.resolve(d, depth + 1)?.unwrap_or_else(|| d.clone())),
            None => Err(self.err(
                pos,
                format!(
                    "parameter {name} has no Default, so its value cannot be known from the \
                     template; give it a Default to evaluate the web ACL"
                ),
            )),
        }
    }

    fn intrinsic(
        &self,
        f: &str,
        arg: &Value,
        pos: Pos,
        depth: usize,
    ) -> Result<Option<Value>, WafError> {
        match f {
            "Ref" => {
                let name = self.scalar(arg, depth, "the Ref target")?;
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                if let Some(s) = self.pseudo(&name) {
                    return Ok(Some(Value::str(s, pos)));
                }
                if self.t.parameters.contains_key(&name) {
                    return self.parameter(&name, pos, depth).map(Some);
                }
                if self.t.resource_index(&name).is_some() {
                    return Ok(Some(Value::str(ref_marker(&name), pos)));
                }
                Err(self.err(
                    arg.pos,
                    format!("Ref {name}: no parameter or resource of that name in the template"),
                ))
            }
            "Fn::GetAtt" => {
                let (res, attr) = match &arg.node {
                    Node::Str(s) => match s.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => (s.clone(), String::new()),
                    },
                    Node::Seq(items) if items.len() == 2 => (
                        self.scalar(&items[0], depth, "the GetAtt resource")?,
                        self.scalar(&items[1], depth, "the GetAtt attribute")?,
                    ),
                    _ => return Err(self.err(
                        arg.pos,
                        "expected Fn::GetAtt to be \"Resource.Attribute\" or [Resource, Attribute]",
                    )),
                };
                if self.t.resource_index(&res).is_none() {
                    return Err(self.err(
                        arg.pos,
                        format!("Fn::GetAtt {res}.{attr}: no resource {res} in the template"),
                    ));
                }
                Ok(Some(Value::str(ref_marker(&res), pos)))
            }
            "Fn::Sub" => self.sub(arg, pos, depth).map(Some),
            "Fn::Join" => {
                let items = arg.as_seq().filter(|s| s.len() == 2).ok_or_else(|| {
                    self.err(arg.pos, "expected Fn::Join to be [delimiter, [values]]")
                })?;
                let delim = self.scalar(&items[0], depth, "the Fn::Join delimiter")?;
                let list = self
                    .resolve(&items[1], depth + 1)?
                    .ok_or_else(|| self.err(items[1].pos, "Fn::Join of AWS::NoValue"))?;
                let parts = list
                    .as_seq()
                    .ok_or_else(|| self.err(items[1].pos, "expected a list to join"))?
                    .iter()
                    .map(|p| self.scalar(p, depth, "a Fn::Join value"))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Value::str(parts.join(&delim), pos)))
            }
            "Fn::Select" => {
                let items = arg.as_seq().filter(|s| s.len() == 2).ok_or_else(|| {
                    self.err(arg.pos, "expected Fn::Select to be [index, [values]]")
                })?;
                let idx: usize = self
                    .scalar(&items[0], depth, "the Fn::Select index")?
                    .parse()
                    .map_err(|_| self.err(items[0].pos, "the Fn::Select index is not a number"))?;
                let list = self
                    .resolve(&items[1], depth + 1)?
                    .ok_or_else(|| self.err(items[1].pos, "Fn::Select of AWS::NoValue"))?;
                let seq = list
                    .as_seq()
                    .ok_or_else(|| self.err(items[1].pos, "expected a list to select from"))?;
                seq.get(idx).cloned().map(Some).ok_or_else(|| {
                    self.err(arg.pos, format!("Fn::Select index {idx} is out of range"))
                })
            }
            "Fn::Split" => {
                let items = arg.as_seq().filter(|s| s.len() == 2).ok_or_else(|| {
                    self.err(arg.pos, "expected Fn::Split to be [delimiter, string]")
                })?;
                let delim = self.scalar(&items[0], depth, "the Fn::Split delimiter")?;
                let s = self.scalar(&items[1], depth, "the string to split")?;
                Ok(Some(Value::new(
                    Node::Seq(
                        s.split(delim.as_str())
                            .map(|p| Value::str(p, pos))
                            .collect(),
                    ),
                    pos,
                )))
            }
            "Fn::If" => {
                let items = arg.as_seq().filter(|s| s.len() == 3).ok_or_else(|| {
                    self.err(
                        arg.pos,
                        "expected Fn::If to be [condition, value if true, value if false]",
                    )
                })?;
                let cond = self.scalar(&items[0], depth, "the Fn::If condition")?;
                let branch = if self.condition(&cond, items[0].pos, depth)? {
                    &items[1]
                } else {
                    &items[2]
                };
                self.resolve(branch, depth + 1)
            }
            "Fn::FindInMap" => {
                let items = arg.as_seq().filter(|s| s.len() >= 3).ok_or_else(|| {
                    self.err(
                        arg.pos,
                        "expected Fn::FindInMap to be [map, top key, second key]",
                    )
                })?;
                let keys = items[..3]
                    .iter()
                    .map(|k| self.scalar(k, depth, "a Fn::FindInMap key"))
                    .collect::<Result<Vec<_>, _>>()?;
                let found = self
                    .t
                    .mappings
                    .as_ref()
                    .and_then(|m| m.get(&keys[0]))
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]));
                match found {
                    Some(v) => self.resolve(v, depth + 1),
                    None => Err(self.err(
                        arg.pos,
                        format!(
                            "Fn::FindInMap: no {}/{}/{} in Mappings",
                            keys[0], keys[1], keys[2]
                        ),
                    )),
                }
            }
            "Fn::Base64" => {
                let s = self.scalar(arg, depth, "the Fn::Base64 value")?;
                Ok(Some(Value::str(
                    base64::engine::general_purpose::STANDARD.encode(s),
                    pos,
                )))
            }
            "Condition" => Ok(Some(Value::new(
                Node::Map(vec![Entry {
                    key: "Condition".into(),
                    key_pos: pos,
                    value: arg.clone(),
                }]),
                pos,
            ))),
            other => Err(self.err(
                pos,
                format!(
                    "{other} cannot be resolved from the template alone, so deadbolt cannot \
                     know this value of the web ACL"
                ),
            )),
        }
    }

    fn sub(&self, arg: &Value, pos: Pos, depth: usize) -> Result<Value, WafError> {
        let (text, vars) = match &arg.node {
            Node::Str(s) => (s.clone(), None),
            Node::Seq(items) if items.len() == 2 => (
                self.scalar(&items[0], depth, "the Fn::Sub string")?,
                Some(&items[1]),
            ),
            _ => {
                return Err(self.err(
                    arg.pos,
                    "expected Fn::Sub to be a string or [string, {variables}]",
                ))
            }
        };
        let mut out = String::new();
        let mut rest = text.as_str();
        let mut only_ref: Option<String> = None;
        let mut pieces = 0;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            if start > 0 {
                pieces += 1;
            }
            let after = &rest[start + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                out.push_str("${");
                rest = lit;
                pieces += 1;
                continue;
            }
            let end = after
                .find('}')
                .ok_or_else(|| self.err(arg.pos, "Fn::Sub has an unclosed ${"))?;
            let name = &after[..end];
            rest = &after[end + 1..];
            pieces += 1;
            if let Some(v) = vars.and_then(|m| m.get(name)) {
                out.push_str(&self.scalar(v, depth, name)?);
            } else if let Some(s) = self.pseudo(name) {
                out.push_str(&s);
            } else if self.t.parameters.contains_key(name) {
                let v = self.parameter(name, pos, depth)?;
                out.push_str(&self.scalar(&v, depth, name)?);
            } else {
                let res = name.split('.').next().unwrap_or(name);
                if self.t.resource_index(res).is_some() {
                    only_ref = Some(res.to_string());
                    out.push_str(&ref_marker(res));
                } else {
                    return Err(self.err(
                        arg.pos,
                        format!("Fn::Sub: ${{{name}}} names no parameter or resource"),
                    ));
                }
            }
        }
        out.push_str(rest);
        if !rest.is_empty() {
            pieces += 1;
        }
        match only_ref {
            Some(res) if pieces == 1 => Ok(Value::str(ref_marker(&res), pos)),
            Some(res) => Err(self.err(
                arg.pos,
                format!(
                    "Fn::Sub builds a string from resource {res}'s attributes, which are known \
                     only after deployment"
                ),
            )),
            None => Ok(Value::str(out, pos)),
        }
    }

    fn condition(&self, name: &str, pos: Pos, depth: usize) -> Result<bool, WafError> {
        let c = self.t.conditions.get(name).ok_or_else(|| {
            self.err(
                pos,
                format!("no condition {name} in the template's Conditions"),
            )
        })?;
        self.truth(c, depth + 1)
    }

    fn truth(&self, v: &Value, depth: usize) -> Result<bool, WafError> {
        if depth > MAX_DEPTH {
            return Err(self.err(v.pos, "conditions nest too deeply to resolve"));
        }
        let Some((f, arg)) = v.intrinsic() else {
            return match &v.node {
                Node::Bool(b) => Ok(*b),
                Node::Str(s) if s == "true" || s == "false" => Ok(s == "true"),
                _ => Err(self.err(v.pos, "expected a condition")),
            };
        };
        let items = || {
            arg.as_seq()
                .ok_or_else(|| self.err(arg.pos, format!("expected {f} to have a list")))
        };
        match f {
            "Fn::Equals" => {
                let it = items()?;
                if it.len() != 2 {
                    return Err(self.err(arg.pos, "Fn::Equals compares two values"));
                }
                Ok(self.scalar(&it[0], depth, "a compared value")?
                    == self.scalar(&it[1], depth, "a compared value")?)
            }
            "Fn::And" => {
                for c in items()? {
                    if !self.truth(c, depth + 1)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            "Fn::Or" => {
                for c in items()? {
                    if self.truth(c, depth + 1)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            "Fn::Not" => {
                let it = items()?;
                Ok(!self.truth(
                    it.first()
                        .ok_or_else(|| self.err(arg.pos, "Fn::Not of nothing"))?,
                    depth + 1,
                )?)
            }
            "Condition" => {
                let name = self.scalar(arg, depth, "a condition name")?;
                self.condition(&name, arg.pos, depth)
            }
            other => Err(self.err(v.pos, format!("{other} is not a condition function"))),
        }
    }
}
