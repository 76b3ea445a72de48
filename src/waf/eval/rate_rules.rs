//! Rate-based rules: the scope-down, the aggregation key, and counting.

use super::statements::Forwarded;
use super::{Ctx, Tri};
use crate::waf::acl::{CustomKey, Position, RateKey, RateRule, Rule};
use crate::waf::decision::RateBasedEntry;
use crate::waf::inspect::clip;
use crate::waf::rate::{Count, RateState};

impl Ctx<'_> {
    pub(super) fn rate(
        &mut self,
        rule: &Rule,
        r: &RateRule,
        instance: usize,
        state: &mut RateState,
        prefix: &str,
    ) -> Tri {
        if let Some(sd) = &r.scope_down {
            let mut geo = Vec::new();
            let tri = self.statement(sd, prefix, &mut geo);
            self.add_labels(geo);
            match tri {
                Tri::No => return Tri::No,
                Tri::Unknown(reason) => {
                    return Tri::Unknown(format!("scope-down statement: {reason}"))
                }
                Tri::Yes(_) => {}
            }
        }
        let (key, shown) = match self.rate_key(&r.key, prefix) {
            Key::Omitted => return Tri::No,
            Key::Fallback(m) => return if m { Tri::Yes(Vec::new()) } else { Tri::No },
            Key::Unknown(reason) => return Tri::Unknown(reason),
            Key::Value(k, shown) => (k, shown),
        };
        match state.record(instance, &key, self.view.req.timestamp, r.limit, r.window_s) {
            Count::Within => Tri::No,
            Count::Undetermined => Tri::Unknown(
                "requests without a timestamp cannot be placed in the rate-based rule's window"
                    .into(),
            ),
            Count::Over => {
                self.rate_list.push(RateBasedEntry {
                    rate_based_rule_id: rule.name.clone(),
                    rate_based_rule_name: rule.name.clone(),
                    limit_key: r.key.log_name(),
                    max_rate_allowed: r.limit,
                    evaluation_window_sec: r.window_s.to_string(),
                    limit_value: shown,
                });
                Tri::Yes(Vec::new())
            }
        }
    }

    fn rate_key(&self, key: &RateKey, prefix: &str) -> Key {
        let req = self.view.req;
        match key {
            RateKey::Constant => Key::Value(Vec::new(), "CONSTANT".into()),
            RateKey::Ip => match req.client_ip {
                Some(ip) => Key::Value(ip.to_string().into_bytes(), ip.to_string()),
                None => Key::Unknown("the request has no clientIp".into()),
            },
            RateKey::ForwardedIp(f) => match self.forwarded_addrs(f, Position::First) {
                Forwarded::Absent => Key::Omitted,
                Forwarded::Malformed => Key::Fallback(f.fallback_match),
                Forwarded::Addrs(a) => Key::Value(a[0].to_string().into_bytes(), a[0].to_string()),
            },
            RateKey::Custom(keys) => {
                let mut bytes = Vec::new();
                let mut shown = Vec::new();
                for k in keys {
                    let part: Vec<u8> = match k {
                        CustomKey::Header { name, transforms } => match req.header(name) {
                            Some(v) => transforms.apply(v.as_bytes()).into_owned(),
                            None => return Key::Omitted,
                        },
                        CustomKey::Cookie { name, transforms } => {
                            match self.view.cookies().iter().find(|(n, _)| n == name) {
                                Some((_, v)) => transforms.apply(v.as_bytes()).into_owned(),
                                None => return Key::Omitted,
                            }
                        }
                        CustomKey::QueryArgument { name, transforms } => match self
                            .view
                            .args()
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        {
                            Some((_, v)) => transforms.apply(v.as_bytes()).into_owned(),
                            None => return Key::Omitted,
                        },
                        CustomKey::QueryString { transforms } => {
                            if req.args.is_empty() {
                                return Key::Omitted;
                            }
                            transforms.apply(req.args.as_bytes()).into_owned()
                        }
                        CustomKey::UriPath { transforms } => {
                            transforms.apply(req.uri.as_bytes()).into_owned()
                        }
                        CustomKey::HttpMethod => req.method.as_bytes().to_vec(),
                        CustomKey::Ip => match req.client_ip {
                            Some(ip) => ip.to_string().into_bytes(),
                            None => return Key::Unknown("the request has no clientIp".into()),
                        },
                        CustomKey::ForwardedIp(f) => match self.forwarded_addrs(f, Position::First)
                        {
                            Forwarded::Addrs(a) => a[0].to_string().into_bytes(),
                            _ => return Key::Omitted,
                        },
                        CustomKey::LabelNamespace(ns) => {
                            let qualified = if ns.starts_with("awswaf:") {
                                ns.clone()
                            } else {
                                format!("{prefix}{ns}")
                            };
                            if self.labels.maybe.iter().any(|m| {
                                m.starts_with(&qualified) || qualified.starts_with(m.as_str())
                            }) {
                                return Key::Unknown(format!(
                                    "labels in {qualified} may have been added by a rule whose \
                                     match is undetermined"
                                ));
                            }
                            let mut ls: Vec<&str> = self
                                .labels
                                .sure
                                .iter()
                                .filter(|l| l.starts_with(&qualified))
                                .map(String::as_str)
                                .collect();
                            if ls.is_empty() {
                                return Key::Omitted;
                            }
                            ls.sort_unstable();
                            ls.join(",").into_bytes()
                        }
                        CustomKey::Ja3 { fallback_match } | CustomKey::Ja4 { fallback_match } => {
                            let v = if matches!(k, CustomKey::Ja3 { .. }) {
                                &req.ja3
                            } else {
                                &req.ja4
                            };
                            match v {
                                Some(v) => v.as_bytes().to_vec(),
                                None if *fallback_match => Vec::new(),
                                None => return Key::Omitted,
                            }
                        }
                        CustomKey::Asn => match req.asn {
                            Some(a) => a.to_string().into_bytes(),
                            None => return Key::Unknown("the request has no asn".into()),
                        },
                    };
                    shown.push(clip(&part));
                    bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
                    bytes.extend_from_slice(&part);
                }
                Key::Value(bytes, shown.join(", "))
            }
        }
    }
}

enum Key {
    /// The request lacks a key component: the rule does not apply to it.
    Omitted,
    /// A malformed forwarded address: the fallback behaviour decides.
    Fallback(bool),
    Unknown(String),
    Value(Vec<u8>, String),
}
