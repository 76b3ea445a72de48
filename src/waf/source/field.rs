//! Compiling FieldToMatch and TextTransformations.

use crate::doc::Value;
use crate::waf::acl::{FieldToMatch, JsonFallback, KeyPattern, MatchScope, Oversize};
use crate::waf::error::WafError;
use crate::waf::transform::{TransformType, Transforms, UNSUPPORTED};

use super::build::Builder;

const FIELDS: &[&str] = &[
    "SingleHeader",
    "SingleQueryArgument",
    "AllQueryArguments",
    "UriPath",
    "QueryString",
    "Body",
    "Method",
    "JsonBody",
    "Headers",
    "Cookies",
    "HeaderOrder",
    "JA3Fingerprint",
    "JA4Fingerprint",
    "UriFragment",
];

impl Builder<'_> {
    pub(crate) fn field_to_match(&self, v: &Value) -> Result<FieldToMatch, WafError> {
        let r = self.r;
        let (kind, f) = r.one_of(v, "FieldToMatch", FIELDS)?;
        let name = |what: &str| -> Result<String, WafError> {
            let n = r.str(r.req(f, "Name", what)?, "Name")?;
            if n.is_empty() {
                return Err(r.err(f.pos, format!("{what} has an empty Name")));
            }
            Ok(n.to_ascii_lowercase())
        };
        Ok(match kind {
            "SingleHeader" => FieldToMatch::SingleHeader(name(kind)?),
            "SingleQueryArgument" => FieldToMatch::SingleQueryArgument(name(kind)?),
            "AllQueryArguments" => FieldToMatch::AllQueryArguments,
            "UriPath" => FieldToMatch::UriPath,
            "QueryString" => FieldToMatch::QueryString,
            "Method" => FieldToMatch::Method,
            "Body" => {
                r.known_keys(f, kind, &["OversizeHandling"])?;
                FieldToMatch::Body {
                    oversize: self.oversize(f)?,
                }
            }
            "JsonBody" => {
                r.known_keys(
                    f,
                    kind,
                    &[
                        "MatchPattern",
                        "MatchScope",
                        "InvalidFallbackBehavior",
                        "OversizeHandling",
                    ],
                )?;
                let mp = r.req(f, "MatchPattern", kind)?;
                let (pk, pv) = r.one_of(mp, "MatchPattern", &["All", "IncludedPaths"])?;
                let paths = if pk == "All" {
                    None
                } else {
                    let mut out = Vec::new();
                    for p in r.seq(pv, "IncludedPaths")? {
                        let s = r.str(p, "a JSON pointer")?;
                        if !(s.is_empty() || s.starts_with('/')) {
                            return Err(r.err(
                                p.pos,
                                format!(
                                    "\"{s}\" is not a JSON pointer (RFC 6901); pointers start \
                                     with / as in /user/name"
                                ),
                            ));
                        }
                        out.push(s.to_string());
                    }
                    Some(out)
                };
                let invalid_fallback = match r.opt(f, "InvalidFallbackBehavior") {
                    None => None,
                    Some(b) => Some(
                        match r.enum_str(
                            b,
                            "InvalidFallbackBehavior",
                            &["MATCH", "NO_MATCH", "EVALUATE_AS_STRING"],
                        )? {
                            "MATCH" => JsonFallback::Match,
                            "NO_MATCH" => JsonFallback::NoMatch,
                            _ => JsonFallback::EvaluateAsString,
                        },
                    ),
                };
                FieldToMatch::JsonBody {
                    paths,
                    scope: self.scope(f, kind)?,
                    invalid_fallback,
                    oversize: self.oversize(f)?,
                }
            }
            "Headers" | "Cookies" => {
                r.known_keys(f, kind, &["MatchPattern", "MatchScope", "OversizeHandling"])?;
                let (inc, exc) = if kind == "Headers" {
                    ("IncludedHeaders", "ExcludedHeaders")
                } else {
                    ("IncludedCookies", "ExcludedCookies")
                };
                let mp = r.req(f, "MatchPattern", kind)?;
                let (pk, pv) = r.one_of(mp, "MatchPattern", &["All", inc, exc])?;
                let names = |v: &Value| -> Result<Vec<String>, WafError> {
                    r.seq(v, pk)?
                        .iter()
                        .map(|n| r.str(n, "a name").map(str::to_string))
                        .collect()
                };
                let pattern = if pk == "All" {
                    KeyPattern::All
                } else if pk == inc {
                    KeyPattern::Included(names(pv)?)
                } else {
                    KeyPattern::Excluded(names(pv)?)
                };
                let scope = self.scope(f, kind)?;
                let oversize = self.oversize(f)?;
                if kind == "Headers" {
                    FieldToMatch::Headers {
                        pattern,
                        scope,
                        oversize,
                    }
                } else {
                    FieldToMatch::Cookies {
                        pattern,
                        scope,
                        oversize,
                    }
                }
            }
            "HeaderOrder" => FieldToMatch::HeaderOrder {
                oversize: self.oversize(f)?,
            },
            "JA3Fingerprint" => FieldToMatch::Ja3 {
                fallback_match: self.fallback(f, kind)?,
            },
            "JA4Fingerprint" => FieldToMatch::Ja4 {
                fallback_match: self.fallback(f, kind)?,
            },
            _ => {
                if r.opt(f, "MatchPattern").is_some() {
                    return Err(r.err(
                        f.pos,
                        "UriFragment with a MatchPattern is not supported by deadbolt yet",
                    ));
                }
                FieldToMatch::UriFragment {
                    fallback_match: match r.opt(f, "FallbackBehavior") {
                        Some(_) => self.fallback(f, kind)?,
                        None => false,
                    },
                }
            }
        })
    }

    fn oversize(&self, f: &Value) -> Result<Oversize, WafError> {
        let r = self.r;
        Ok(match r.opt(f, "OversizeHandling") {
            None => Oversize::Continue,
            Some(v) => {
                match r.enum_str(v, "OversizeHandling", &["CONTINUE", "MATCH", "NO_MATCH"])? {
                    "MATCH" => Oversize::Match,
                    "NO_MATCH" => Oversize::NoMatch,
                    _ => Oversize::Continue,
                }
            }
        })
    }

    fn scope(&self, f: &Value, kind: &str) -> Result<MatchScope, WafError> {
        let r = self.r;
        Ok(
            match r.enum_str(
                r.req(f, "MatchScope", kind)?,
                "MatchScope",
                &["ALL", "KEY", "VALUE"],
            )? {
                "KEY" => MatchScope::Key,
                "VALUE" => MatchScope::Value,
                _ => MatchScope::All,
            },
        )
    }

    fn fallback(&self, f: &Value, kind: &str) -> Result<bool, WafError> {
        let r = self.r;
        let v = r.req(f, "FallbackBehavior", kind)?;
        Ok(r.enum_str(v, "FallbackBehavior", &["MATCH", "NO_MATCH"])? == "MATCH")
    }

    pub(crate) fn transforms(&self, v: &Value) -> Result<Transforms, WafError> {
        let r = self.r;
        let mut steps: Vec<(i64, TransformType)> = Vec::new();
        let mut seen: Vec<(i64, u32)> = Vec::new();
        for t in r.seq(v, "TextTransformations")? {
            r.known_keys(t, "a text transformation", &["Priority", "Type"])?;
            let pv = r.req(t, "Priority", "a text transformation")?;
            let p = r.int(pv, "Priority")?;
            if p < 0 {
                return Err(r.err(
                    pv.pos,
                    "a text transformation's Priority must be at least 0",
                ));
            }
            if let Some((_, line)) = seen.iter().find(|(q, _)| *q == p) {
                return Err(r.err(
                    pv.pos,
                    format!(
                        "two text transformations have Priority {p} (the other at line {line}); \
                         priorities must be different"
                    ),
                ));
            }
            seen.push((p, pv.pos.line));
            let tv = r.req(t, "Type", "a text transformation")?;
            let name = r.str(tv, "Type")?;
            let ty = match TransformType::from_name(name) {
                Some(ty) => ty,
                None if UNSUPPORTED.contains(&name) => {
                    return Err(r.err(
                        tv.pos,
                        format!(
                            "text transformation {name} is not supported by deadbolt (AWS does \
                             not document what it does)"
                        ),
                    ))
                }
                None => {
                    let all: Vec<&str> = TransformType::all_names().collect();
                    return Err(r.err(
                        tv.pos,
                        format!(
                            "unknown text transformation {name}; expected one of: {}{}",
                            all.join(", "),
                            super::value::did_you_mean(name, &all)
                        ),
                    ));
                }
            };
            steps.push((p, ty));
        }
        Ok(Transforms::new(steps))
    }
}
