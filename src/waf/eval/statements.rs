//! Statement evaluation: inspections, geography, IP sets, labels, ASNs and the
//! logical combinations, three-valued.

use std::net::IpAddr;

use super::{Ctx, Tri};
use crate::waf::acl::{ForwardedIp, Inspection, Position, Statement};
use crate::waf::fields::Extract;
use crate::waf::inspect::{clip, test_value};
use crate::waf::labels::Has;

/// Most addresses of a forwarded header inspected with position ANY (AWS: the
/// last 10).
const FORWARDED_ANY_MAX: usize = 10;

impl Ctx<'_> {
    pub(super) fn statement(
        &mut self,
        s: &Statement,
        prefix: &str,
        geo: &mut Vec<(String, bool)>,
    ) -> Tri {
        match s {
            Statement::Inspect(i) => self.inspect(i),
            Statement::Geo {
                countries,
                forwarded,
            } => self.geo(countries, forwarded.as_ref(), geo),
            Statement::IpSet { set, forwarded } => {
                let addrs = match forwarded {
                    None => match self.view.req.client_ip {
                        Some(ip) => vec![ip],
                        None => return Tri::Unknown("the request has no clientIp".into()),
                    },
                    Some((f, pos)) => match self.forwarded_addrs(f, *pos) {
                        Forwarded::Absent => return Tri::No,
                        Forwarded::Malformed => return fallback(f),
                        Forwarded::Addrs(a) => a,
                    },
                };
                if addrs.iter().any(|ip| set.contains(ip)) {
                    Tri::Yes(Vec::new())
                } else {
                    Tri::No
                }
            }
            Statement::Label { scope, key } => match self.labels.lookup(*scope, key, prefix) {
                Has::Yes => Tri::Yes(Vec::new()),
                Has::No => Tri::No,
                Has::Maybe => Tri::Unknown(format!(
                    "label \"{key}\" may have been added by a rule whose match is undetermined"
                )),
            },
            Statement::Asn { asns, forwarded } => {
                if forwarded.is_some() {
                    return Tri::Unknown(
                        "the ASN of a forwarded address is not known to deadbolt".into(),
                    );
                }
                match self.view.req.asn {
                    Some(a) if asns.contains(&a) => Tri::Yes(Vec::new()),
                    Some(_) => Tri::No,
                    None => Tri::Unknown("the request has no asn".into()),
                }
            }
            Statement::And(items) => {
                let mut details = Vec::new();
                let mut unknown = None;
                for it in items {
                    match self.statement(it, prefix, geo) {
                        Tri::No => return Tri::No,
                        Tri::Yes(d) => details.extend(d),
                        Tri::Unknown(r) => {
                            unknown.get_or_insert(r);
                        }
                    }
                }
                match unknown {
                    Some(r) => Tri::Unknown(r),
                    None => Tri::Yes(details),
                }
            }
            Statement::Or(items) => {
                let mut unknown = None;
                for it in items {
                    match self.statement(it, prefix, geo) {
                        Tri::Yes(d) => return Tri::Yes(d),
                        Tri::No => {}
                        Tri::Unknown(r) => {
                            unknown.get_or_insert(r);
                        }
                    }
                }
                match unknown {
                    Some(r) => Tri::Unknown(r),
                    None => Tri::No,
                }
            }
            Statement::Not(inner) => match self.statement(inner, prefix, geo) {
                Tri::Yes(_) => Tri::No,
                Tri::No => Tri::Yes(Vec::new()),
                u @ Tri::Unknown(_) => u,
            },
        }
    }

    fn inspect(&self, i: &Inspection) -> Tri {
        let location = i.field.location();
        match self.view.extract(&i.field) {
            Extract::Verdict(true) => Tri::Yes(Vec::new()),
            Extract::Verdict(false) => Tri::No,
            Extract::Items(items) => {
                for item in items {
                    let value = i.transforms.apply(&item.value);
                    if let Some(d) = test_value(&i.test, &value) {
                        let name = item.name.map(|n| clip(n.as_bytes()));
                        return Tri::Yes(vec![d.at(location, name)]);
                    }
                }
                Tri::No
            }
        }
    }

    fn geo(
        &self,
        countries: &[String],
        forwarded: Option<&ForwardedIp>,
        labels: &mut Vec<(String, bool)>,
    ) -> Tri {
        let req = self.view.req;
        let (source, country, region) = match forwarded {
            Some(f) => {
                match self.forwarded_addrs(f, Position::First) {
                    Forwarded::Absent => return Tri::No,
                    Forwarded::Malformed => return fallback(f),
                    Forwarded::Addrs(_) => {}
                }
                ("forwardedip", &req.forwarded_country, &req.forwarded_region)
            }
            None => ("clientip", &req.country, &req.region),
        };
        let Some(country) = country else {
            labels.push((format!("awswaf:{source}:geo:"), false));
            return Tri::Unknown(if source == "clientip" {
                "the request has no country (WAF logs always do; add \"country\" to the fixture)"
                    .into()
            } else {
                "the request has no forwardedCountry for its forwarded address".into()
            });
        };
        let code = if country.is_empty() || country == "-" {
            "XX"
        } else {
            country.as_str()
        };
        labels.push((format!("awswaf:{source}:geo:country:{code}"), true));
        let region = match region {
            Some(r) if r.contains('-') => r.clone(),
            Some(r) => format!("{code}-{r}"),
            None => format!("{code}-XX"),
        };
        labels.push((format!("awswaf:{source}:geo:region:{region}"), true));
        if countries.iter().any(|c| c == code) {
            Tri::Yes(Vec::new())
        } else {
            Tri::No
        }
    }

    pub(super) fn forwarded_addrs(&self, f: &ForwardedIp, pos: Position) -> Forwarded {
        let Some(value) = self.view.req.header(&f.header) else {
            return Forwarded::Absent;
        };
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let pick: Vec<&str> = match pos {
            Position::First => parts.first().copied().into_iter().collect(),
            Position::Last => parts.last().copied().into_iter().collect(),
            Position::Any => {
                let skip = parts.len().saturating_sub(FORWARDED_ANY_MAX);
                parts[skip..].to_vec()
            }
        };
        let mut addrs = Vec::new();
        let mut malformed = false;
        for p in pick {
            match p.parse::<IpAddr>() {
                Ok(ip) => addrs.push(ip),
                Err(_) => malformed = true,
            }
        }
        if addrs.is_empty() || (malformed && pos != Position::Any) {
            Forwarded::Malformed
        } else {
            Forwarded::Addrs(addrs)
        }
    }
}

pub(super) enum Forwarded {
    Absent,
    Malformed,
    Addrs(Vec<IpAddr>),
}

pub(super) fn fallback(f: &ForwardedIp) -> Tri {
    if f.fallback_match {
        Tri::Yes(Vec::new())
    } else {
        Tri::No
    }
}
