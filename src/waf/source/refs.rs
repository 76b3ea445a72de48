//! The IP sets, regex pattern sets and rule groups a web ACL can reference, as
//! found in the same input (template resources, plan resources, or
//! `get-ip-set`-style API output), and looking a reference up among them.

use crate::doc::{Node, Pos, Value};
use crate::waf::error::WafError;

use super::value::Reader;

/// A reference resolved to a resource of the same document: a `!Ref` or
/// `!GetAtt X.Arn` becomes this prefix followed by the logical id.
pub(crate) const REF_MARK: &str = "\u{1}deadbolt-ref:";

pub(crate) fn ref_marker(id: &str) -> String {
    format!("{REF_MARK}{id}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefKind {
    IpSet,
    RegexPatternSet,
    RuleGroup,
    WebAcl,
}

impl RefKind {
    pub fn noun(self) -> &'static str {
        match self {
            RefKind::IpSet => "IP set",
            RefKind::RegexPatternSet => "regex pattern set",
            RefKind::RuleGroup => "rule group",
            RefKind::WebAcl => "web ACL",
        }
    }

    /// The resource type segment of a WAFv2 ARN.
    fn arn_segment(self) -> &'static str {
        match self {
            RefKind::IpSet => "ipset",
            RefKind::RegexPatternSet => "regexpatternset",
            RefKind::RuleGroup => "rulegroup",
            RefKind::WebAcl => "webacl",
        }
    }

    fn cli(self) -> &'static str {
        match self {
            RefKind::IpSet => "get-ip-set",
            RefKind::RegexPatternSet => "get-regex-pattern-set",
            RefKind::RuleGroup => "get-rule-group",
            RefKind::WebAcl => "get-web-acl",
        }
    }
}

/// One referenceable resource, its properties in the API's shape.
#[derive(Clone, Debug)]
pub(crate) struct ResourceDef {
    pub kind: RefKind,
    /// Logical id, Terraform address, or the API's Id.
    pub id: String,
    pub name: Option<String>,
    pub arn: Option<String>,
    pub props: Value,
    pub pos: Pos,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct RefTable {
    pub defs: Vec<ResourceDef>,
}

/// `arn:aws:wafv2:REGION:ACCOUNT:SCOPE/TYPE/NAME/ID` → (TYPE, NAME).
fn arn_type_and_name(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let resource = rest.splitn(5, ':').nth(4)?;
    let mut parts = resource.split('/');
    let _scope = parts.next()?;
    let ty = parts.next()?;
    let name = parts.next()?;
    Some((ty, name))
}

impl RefTable {
    /// The resource a reference (`ARN` property) names.
    pub fn lookup<'t>(
        &'t self,
        v: &Value,
        kind: RefKind,
        r: &Reader,
    ) -> Result<&'t ResourceDef, WafError> {
        let check = |d: &'t ResourceDef| -> Result<&'t ResourceDef, WafError> {
            if d.kind == kind {
                Ok(d)
            } else {
                Err(r.err(
                    v.pos,
                    format!(
                        "{} is a {}, but a {} is expected here",
                        d.id,
                        d.kind.noun(),
                        kind.noun()
                    ),
                ))
            }
        };
        match &v.node {
            Node::Str(s) if s.starts_with(REF_MARK) => {
                let id = &s[REF_MARK.len()..];
                match self.defs.iter().find(|d| d.id == id) {
                    Some(d) => check(d),
                    None => Err(r.err(
                        v.pos,
                        format!("{id} is not a WAFv2 {} defined in this file", kind.noun()),
                    )),
                }
            }
            Node::Str(arn) => {
                if let Some(d) = self.defs.iter().find(|d| d.arn.as_deref() == Some(arn)) {
                    return check(d);
                }
                if let Some((ty, name)) = arn_type_and_name(arn) {
                    if ty == kind.arn_segment() {
                        if let Some(d) = self
                            .defs
                            .iter()
                            .find(|d| d.kind == kind && d.name.as_deref() == Some(name))
                        {
                            return Ok(d);
                        }
                    }
                }
                Err(r.err(
                    v.pos,
                    format!(
                        "the {} {arn} is not defined in {}: deadbolt needs its contents to \
                         evaluate the rule. Define it in the same template or plan, or add the \
                         output of `aws wafv2 {}` to the file (a JSON list of API outputs)",
                        kind.noun(),
                        r.path,
                        kind.cli()
                    ),
                ))
            }
            Node::Computed { refs, .. } => {
                let found = refs.iter().find_map(|rf| {
                    self.defs
                        .iter()
                        .find(|d| *rf == d.id || rf.starts_with(&format!("{}.", d.id)))
                });
                match found {
                    Some(d) => check(d),
                    None => Err(r.err(
                        v.pos,
                        format!(
                            "the {} reference is known only after apply and names no {} in this \
                             plan ({})",
                            kind.noun(),
                            kind.noun(),
                            if refs.is_empty() {
                                "no references recorded".to_string()
                            } else {
                                refs.join(", ")
                            }
                        ),
                    )),
                }
            }
            _ => Err(r.err(
                v.pos,
                format!(
                    "expected the {} ARN to be a string, found a {}",
                    kind.noun(),
                    v.kind_name()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parts() {
        assert_eq!(
            arn_type_and_name("arn:aws:wafv2:us-east-1:123456789012:regional/ipset/blocked/a1b2"),
            Some(("ipset", "blocked"))
        );
        assert_eq!(arn_type_and_name("not-an-arn"), None);
    }
}
