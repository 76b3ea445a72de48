//! Compiling rule statements: the inspecting statements, IP sets, geography,
//! labels, regexes, logical combinations and rate-based statements.

use std::sync::Arc;

use ipnet::IpNet;
use regex::bytes::{Regex, RegexBuilder};

use crate::doc::{Node, Value};
use crate::waf::acl::{
    Comparison, CustomKey, ForwardedIp, Inspection, IpSet, LabelScope, Position, Positional,
    RateKey, RateRule, Statement, Test,
};
use crate::waf::error::WafError;

use super::build::{Builder, MAX_STATEMENT_DEPTH};
use super::refs::RefKind;

pub(crate) const STATEMENTS: &[&str] = &[
    "ByteMatchStatement",
    "SqliMatchStatement",
    "XssMatchStatement",
    "SizeConstraintStatement",
    "GeoMatchStatement",
    "RuleGroupReferenceStatement",
    "IPSetReferenceStatement",
    "RegexPatternSetReferenceStatement",
    "RateBasedStatement",
    "AndStatement",
    "OrStatement",
    "NotStatement",
    "ManagedRuleGroupStatement",
    "LabelMatchStatement",
    "RegexMatchStatement",
    "AsnMatchStatement",
];

/// Rate-based rule evaluation windows AWS accepts (seconds).
pub const EVALUATION_WINDOWS: &[u64] = &[60, 120, 300, 600];

/// Regexes are compiled with a size bound so a hostile pattern cannot take the
/// process's memory.
const REGEX_SIZE_LIMIT: usize = 4 << 20;

impl Builder<'_> {
    pub(crate) fn statement(&mut self, v: &Value, depth: usize) -> Result<Statement, WafError> {
        let r = self.r;
        if depth > MAX_STATEMENT_DEPTH {
            return Err(r.err(
                v.pos,
                format!("statements are nested more than {MAX_STATEMENT_DEPTH} deep"),
            ));
        }
        let (kind, s) = r.one_of(v, "statement", STATEMENTS)?;
        Ok(match kind {
            "ByteMatchStatement" => {
                r.known_keys(
                    s,
                    kind,
                    &[
                        "SearchString",
                        "SearchStringBase64",
                        "FieldToMatch",
                        "TextTransformations",
                        "PositionalConstraint",
                        "PreParseTextTransformations",
                    ],
                )?;
                let needle = self.search_string(s)?;
                let pc = r.req(s, "PositionalConstraint", kind)?;
                let constraint = match r.enum_str(
                    pc,
                    "PositionalConstraint",
                    &[
                        "EXACTLY",
                        "STARTS_WITH",
                        "ENDS_WITH",
                        "CONTAINS",
                        "CONTAINS_WORD",
                    ],
                )? {
                    "EXACTLY" => Positional::Exactly,
                    "STARTS_WITH" => Positional::StartsWith,
                    "ENDS_WITH" => Positional::EndsWith,
                    "CONTAINS" => Positional::Contains,
                    _ => Positional::ContainsWord,
                };
                self.inspection(s, kind, Test::Bytes { constraint, needle })?
            }
            "SqliMatchStatement" => {
                r.known_keys(
                    s,
                    kind,
                    &[
                        "FieldToMatch",
                        "TextTransformations",
                        "SensitivityLevel",
                        "PreParseTextTransformations",
                    ],
                )?;
                let high = match r.opt(s, "SensitivityLevel") {
                    None => false,
                    Some(l) => r.enum_str(l, "SensitivityLevel", &["LOW", "HIGH"])? == "HIGH",
                };
                self.inspection(s, kind, Test::Sqli { high })?
            }
            "XssMatchStatement" => {
                r.known_keys(
                    s,
                    kind,
                    &[
                        "FieldToMatch",
                        "TextTransformations",
                        "PreParseTextTransformations",
                    ],
                )?;
                self.inspection(s, kind, Test::Xss)?
            }
            "SizeConstraintStatement" => {
                r.known_keys(
                    s,
                    kind,
                    &[
                        "FieldToMatch",
                        "ComparisonOperator",
                        "Size",
                        "TextTransformations",
                        "PreParseTextTransformations",
                    ],
                )?;
                let op = match r.enum_str(
                    r.req(s, "ComparisonOperator", kind)?,
                    "ComparisonOperator",
                    &["EQ", "NE", "LE", "LT", "GE", "GT"],
                )? {
                    "EQ" => Comparison::Eq,
                    "NE" => Comparison::Ne,
                    "LE" => Comparison::Le,
                    "LT" => Comparison::Lt,
                    "GE" => Comparison::Ge,
                    _ => Comparison::Gt,
                };
                let size = r.uint(r.req(s, "Size", kind)?, "Size")?;
                self.inspection(s, kind, Test::Size { op, size })?
            }
            "RegexMatchStatement" => {
                r.known_keys(
                    s,
                    kind,
                    &[
                        "RegexString",
                        "FieldToMatch",
                        "TextTransformations",
                        "PreParseTextTransformations",
                    ],
                )?;
                let rv = r.req(s, "RegexString", kind)?;
                let re = self.regex(rv)?;
                self.inspection(s, kind, Test::Regex(Arc::new(re)))?
            }
            "RegexPatternSetReferenceStatement" => {
                r.known_keys(
                    s,
                    kind,
                    &[
                        "ARN",
                        "Arn",
                        "FieldToMatch",
                        "TextTransformations",
                        "PreParseTextTransformations",
                    ],
                )?;
                let def = self
                    .refs
                    .lookup(self.arn(s, kind)?, RefKind::RegexPatternSet, &r)?;
                let name = def.name.clone().unwrap_or_else(|| def.id.clone());
                let props = def.props.clone();
                let list = r.req(
                    &props,
                    "RegularExpressionList",
                    &format!("regex pattern set {name}"),
                )?;
                let mut regexes = Vec::new();
                for item in r.seq(list, "RegularExpressionList")? {
                    let rv = match &item.node {
                        Node::Map(_) => r.req(item, "RegexString", "a regular expression")?,
                        _ => item,
                    };
                    regexes.push(self.regex(rv)?);
                }
                self.inspection(
                    s,
                    kind,
                    Test::RegexSet {
                        name,
                        regexes: Arc::new(regexes),
                    },
                )?
            }
            "GeoMatchStatement" => {
                r.known_keys(s, kind, &["CountryCodes", "ForwardedIPConfig"])?;
                let codes = r.req(s, "CountryCodes", kind)?;
                let mut countries = Vec::new();
                for c in r.seq(codes, "CountryCodes")? {
                    let code = r.str(c, "a country code")?;
                    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                        return Err(r.err(
                            c.pos,
                            format!(
                                "\"{code}\" is not an ISO 3166 alpha-2 country code (two \
                                 upper-case letters such as US)"
                            ),
                        ));
                    }
                    countries.push(code.to_string());
                }
                Statement::Geo {
                    countries,
                    forwarded: self.forwarded(r.opt(s, "ForwardedIPConfig"))?,
                }
            }
            "IPSetReferenceStatement" => {
                r.known_keys(s, kind, &["ARN", "Arn", "IPSetForwardedIPConfig"])?;
                let def = self.refs.lookup(self.arn(s, kind)?, RefKind::IpSet, &r)?;
                let set = self.ip_set(
                    def.name.clone().unwrap_or(def.id.clone()),
                    &def.props.clone(),
                )?;
                let forwarded = match r.opt(s, "IPSetForwardedIPConfig") {
                    None => None,
                    Some(f) => {
                        let pos = r.req(f, "Position", "IPSetForwardedIPConfig")?;
                        let pos = match r.enum_str(pos, "Position", &["FIRST", "LAST", "ANY"])? {
                            "FIRST" => Position::First,
                            "LAST" => Position::Last,
                            _ => Position::Any,
                        };
                        let fw = self.forwarded(Some(f))?.unwrap_or(ForwardedIp {
                            header: String::new(),
                            fallback_match: false,
                        });
                        Some((fw, pos))
                    }
                };
                Statement::IpSet {
                    set: Arc::new(set),
                    forwarded,
                }
            }
            "LabelMatchStatement" => {
                r.known_keys(s, kind, &["Scope", "Key"])?;
                let scope =
                    match r.enum_str(r.req(s, "Scope", kind)?, "Scope", &["LABEL", "NAMESPACE"])? {
                        "LABEL" => LabelScope::Label,
                        _ => LabelScope::Namespace,
                    };
                let key = r.str(r.req(s, "Key", kind)?, "Key")?.to_string();
                Statement::Label { scope, key }
            }
            "AsnMatchStatement" => {
                r.known_keys(s, kind, &["AsnList", "ForwardedIPConfig"])?;
                let list = r.req(s, "AsnList", kind)?;
                let mut asns = Vec::new();
                for a in r.seq(list, "AsnList")? {
                    let n = r.uint(a, "an ASN")?;
                    asns.push(
                        u32::try_from(n)
                            .map_err(|_| r.err(a.pos, "an ASN is at most 4294967295"))?,
                    );
                }
                Statement::Asn {
                    asns,
                    forwarded: self.forwarded(r.opt(s, "ForwardedIPConfig"))?,
                }
            }
            "AndStatement" | "OrStatement" => {
                r.known_keys(s, kind, &["Statements"])?;
                let list = r.req(s, "Statements", kind)?;
                let items = r.seq(list, "Statements")?;
                if items.is_empty() {
                    return Err(r.err(list.pos, format!("{kind} needs at least one statement")));
                }
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    out.push(self.statement(it, depth + 1)?);
                }
                if kind == "AndStatement" {
                    Statement::And(out)
                } else {
                    Statement::Or(out)
                }
            }
            "NotStatement" => {
                r.known_keys(s, kind, &["Statement"])?;
                let inner = r.req(s, "Statement", kind)?;
                Statement::Not(Box::new(self.statement(inner, depth + 1)?))
            }
            other => {
                return Err(r.err(
                    v.pos,
                    format!(
                        "{other} cannot be nested; it is only allowed as the top statement of \
                         a {}",
                        if other == "RateBasedStatement" {
                            "rule"
                        } else {
                            "web ACL rule"
                        }
                    ),
                ))
            }
        })
    }

    /// The reference of a *ReferenceStatement: `ARN` in the API, `Arn` in
    /// CloudFormation.
    pub(crate) fn arn<'v>(&self, s: &'v Value, kind: &str) -> Result<&'v Value, WafError> {
        let r = self.r;
        match r.opt(s, "ARN").or_else(|| r.opt(s, "Arn")) {
            Some(v) => Ok(v),
            None => Err(r.err(s.pos, format!("{kind} has no ARN (Arn in CloudFormation)"))),
        }
    }

    fn inspection(&mut self, s: &Value, kind: &str, test: Test) -> Result<Statement, WafError> {
        let r = self.r;
        if let Some(p) = r.opt(s, "PreParseTextTransformations") {
            return Err(r.err(
                p.pos,
                "PreParseTextTransformations are not supported by deadbolt yet",
            ));
        }
        let field = self.field_to_match(r.req(s, "FieldToMatch", kind)?)?;
        let transforms = match r.opt(s, "TextTransformations") {
            Some(t) => self.transforms(t)?,
            None => {
                return Err(r.err(
                    s.pos,
                    format!("{kind} has no TextTransformations; give at least [{{Priority: 0, Type: NONE}}]"),
                ))
            }
        };
        Ok(Statement::Inspect(Box::new(Inspection {
            field,
            transforms,
            test,
        })))
    }

    fn search_string(&self, s: &Value) -> Result<Vec<u8>, WafError> {
        use base64::Engine;
        let r = self.r;
        let b64 = |v: &Value| -> Result<Vec<u8>, WafError> {
            let text = r.str(v, "SearchString")?;
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| {
                    r.err(
                        v.pos,
                        format!("SearchString is not valid Base64 ({e}); the WAFv2 API's JSON gives it Base64-encoded"),
                    )
                })
        };
        match (r.opt(s, "SearchString"), r.opt(s, "SearchStringBase64")) {
            (Some(_), Some(b)) => {
                Err(r.err(b.pos, "give SearchString or SearchStringBase64, not both"))
            }
            (None, Some(b)) => b64(b),
            (Some(v), None) if self.base64_search => b64(v),
            (Some(v), None) => Ok(r.str(v, "SearchString")?.as_bytes().to_vec()),
            (None, None) => Err(r.err(
                s.pos,
                "ByteMatchStatement has no SearchString (or SearchStringBase64)",
            )),
        }
    }

    pub(crate) fn regex(&self, v: &Value) -> Result<Regex, WafError> {
        let r = self.r;
        let pattern = r.str(v, "RegexString")?;
        let build = |unicode: bool| {
            RegexBuilder::new(pattern)
                .unicode(unicode)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
        };
        build(false).or_else(|_| build(true)).map_err(|e| {
            let msg = e.to_string();
            let hint = if msg.contains("look-around") || msg.contains("backreferences") {
                " (look-around and backreferences are not supported by deadbolt's regex engine)"
            } else {
                ""
            };
            r.err(
                v.pos,
                format!(
                    "invalid regular expression {pattern:?}{hint}: {}",
                    msg.lines().last().unwrap_or(&msg).trim()
                ),
            )
        })
    }

    pub(crate) fn ip_set(&self, name: String, props: &Value) -> Result<IpSet, WafError> {
        let r = self.r;
        let list = r.req(props, "Addresses", &format!("IP set {name}"))?;
        let version = match r.opt(props, "IPAddressVersion") {
            Some(v) => Some(r.enum_str(v, "IPAddressVersion", &["IPV4", "IPV6"])?),
            None => None,
        };
        let mut nets = Vec::new();
        for a in r.seq(list, "Addresses")? {
            let text = r.str(a, "an address")?.trim();
            let net: IpNet = match text.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => match text.parse::<std::net::IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(r.err(
                            a.pos,
                            format!(
                                "\"{text}\" in IP set {name} is not an IP address range in CIDR \
                                 notation (such as 192.0.2.0/24 or 2001:db8::/32)"
                            ),
                        ))
                    }
                },
            };
            if net.prefix_len() == 0 {
                return Err(r.err(
                    a.pos,
                    format!("\"{text}\": AWS WAF does not accept /0 ranges in IP sets"),
                ));
            }
            let is_v4 = matches!(net, IpNet::V4(_));
            if let Some(ver) = version {
                if (ver == "IPV4") != is_v4 {
                    return Err(r.err(
                        a.pos,
                        format!("\"{text}\" is not an {ver} address, but IP set {name} is {ver}"),
                    ));
                }
            }
            nets.push(net);
        }
        Ok(IpSet { name, nets })
    }

    fn forwarded(&self, v: Option<&Value>) -> Result<Option<ForwardedIp>, WafError> {
        let r = self.r;
        let Some(v) = v else { return Ok(None) };
        let header = r
            .str(r.req(v, "HeaderName", "ForwardedIPConfig")?, "HeaderName")?
            .to_string();
        let fb = r.req(v, "FallbackBehavior", "ForwardedIPConfig")?;
        let fallback_match = r.enum_str(fb, "FallbackBehavior", &["MATCH", "NO_MATCH"])? == "MATCH";
        Ok(Some(ForwardedIp {
            header,
            fallback_match,
        }))
    }

    pub(crate) fn rate_statement(&mut self, s: &Value) -> Result<RateRule, WafError> {
        let r = self.r;
        let kind = "RateBasedStatement";
        r.known_keys(
            s,
            kind,
            &[
                "Limit",
                "EvaluationWindowSec",
                "AggregateKeyType",
                "ScopeDownStatement",
                "ForwardedIPConfig",
                "CustomKeys",
            ],
        )?;
        let lv = r.req(s, "Limit", kind)?;
        let limit = r.uint(lv, "Limit")?;
        if limit < 10 {
            return Err(r.err(
                lv.pos,
                format!("Limit {limit} is below AWS WAF's minimum of 10"),
            ));
        }
        let window_s = match r.opt(s, "EvaluationWindowSec") {
            None => 300,
            Some(w) => {
                let n = r.uint(w, "EvaluationWindowSec")?;
                if !EVALUATION_WINDOWS.contains(&n) {
                    return Err(r.err(
                        w.pos,
                        format!(
                            "EvaluationWindowSec {n} is not valid; expected 60, 120, 300 or 600"
                        ),
                    ));
                }
                n
            }
        };
        let akt = r.req(s, "AggregateKeyType", kind)?;
        let key = match r.enum_str(
            akt,
            "AggregateKeyType",
            &["IP", "FORWARDED_IP", "CUSTOM_KEYS", "CONSTANT"],
        )? {
            "IP" => RateKey::Ip,
            "FORWARDED_IP" => match self.forwarded(r.opt(s, "ForwardedIPConfig"))? {
                Some(f) => RateKey::ForwardedIp(f),
                None => {
                    return Err(r.err(
                        akt.pos,
                        "AggregateKeyType FORWARDED_IP needs a ForwardedIPConfig",
                    ))
                }
            },
            "CONSTANT" => {
                if r.opt(s, "ScopeDownStatement").is_none() {
                    return Err(r.err(
                        akt.pos,
                        "AggregateKeyType CONSTANT needs a ScopeDownStatement",
                    ));
                }
                RateKey::Constant
            }
            _ => {
                let keys = r.req(s, "CustomKeys", kind)?;
                let fwd = self.forwarded(r.opt(s, "ForwardedIPConfig"))?;
                let mut out = Vec::new();
                for k in r.seq(keys, "CustomKeys")? {
                    out.push(self.custom_key(k, fwd.as_ref())?);
                }
                if out.is_empty() {
                    return Err(r.err(keys.pos, "CustomKeys needs at least one key"));
                }
                RateKey::Custom(out)
            }
        };
        let scope_down = match r.opt(s, "ScopeDownStatement") {
            Some(sd) => Some(self.statement(sd, 0)?),
            None => None,
        };
        let instance = self.rate_count;
        self.rate_count += 1;
        Ok(RateRule {
            limit,
            window_s,
            key,
            scope_down,
            instance,
        })
    }

    fn custom_key(&mut self, v: &Value, fwd: Option<&ForwardedIp>) -> Result<CustomKey, WafError> {
        let r = self.r;
        let (kind, k) = r.one_of(
            v,
            "custom key",
            &[
                "Header",
                "Cookie",
                "QueryArgument",
                "QueryString",
                "HTTPMethod",
                "ForwardedIP",
                "IP",
                "LabelNamespace",
                "UriPath",
                "JA3Fingerprint",
                "JA4Fingerprint",
                "ASN",
            ],
        )?;
        let name = |b: &Self| -> Result<String, WafError> {
            Ok(b.r.str(b.r.req(k, "Name", kind)?, "Name")?.to_string())
        };
        let tt = |b: &mut Self| -> Result<crate::waf::transform::Transforms, WafError> {
            match b.r.opt(k, "TextTransformations") {
                Some(t) => b.transforms(t),
                None => Ok(crate::waf::transform::Transforms::none()),
            }
        };
        Ok(match kind {
            "Header" => CustomKey::Header {
                name: name(self)?,
                transforms: tt(self)?,
            },
            "Cookie" => CustomKey::Cookie {
                name: name(self)?,
                transforms: tt(self)?,
            },
            "QueryArgument" => CustomKey::QueryArgument {
                name: name(self)?,
                transforms: tt(self)?,
            },
            "QueryString" => CustomKey::QueryString {
                transforms: tt(self)?,
            },
            "UriPath" => CustomKey::UriPath {
                transforms: tt(self)?,
            },
            "HTTPMethod" => CustomKey::HttpMethod,
            "IP" => CustomKey::Ip,
            "ForwardedIP" => match fwd {
                Some(f) => CustomKey::ForwardedIp(f.clone()),
                None => return Err(r.err(
                    k.pos,
                    "a ForwardedIP custom key needs the rate-based statement's ForwardedIPConfig",
                )),
            },
            "LabelNamespace" => CustomKey::LabelNamespace(
                r.str(r.req(k, "Namespace", kind)?, "Namespace")?
                    .to_string(),
            ),
            "JA3Fingerprint" | "JA4Fingerprint" => {
                let fb = r.req(k, "FallbackBehavior", kind)?;
                let fallback_match =
                    r.enum_str(fb, "FallbackBehavior", &["MATCH", "NO_MATCH"])? == "MATCH";
                if kind == "JA3Fingerprint" {
                    CustomKey::Ja3 { fallback_match }
                } else {
                    CustomKey::Ja4 { fallback_match }
                }
            }
            _ => CustomKey::Asn,
        })
    }
}
