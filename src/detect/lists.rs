//! Threat lists, the trusted list and AWS's IP ranges: sets of addresses,
//! networks and domains that detections test membership in.
//!
//! Networks are kept as sorted, merged intervals (one for IPv4, one for IPv6),
//! so a lookup is a binary search whatever the list's size; a listed domain
//! matches itself and its subdomains at a label boundary (`evil.com` matches
//! `a.evil.com`, not `notevil.com`).

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::doc::Pos;
use crate::load::LoadError;

/// Sorted, non-overlapping inclusive ranges.
#[derive(Clone, Debug, Default)]
struct Ranges<T> {
    ranges: Vec<(T, T)>,
}

impl<T: Ord + Copy + Into<u128> + TryFrom<u128>> Ranges<T> {
    fn build(mut items: Vec<(T, T)>) -> Self {
        items.sort();
        let mut ranges: Vec<(T, T)> = Vec::with_capacity(items.len());
        for (lo, hi) in items {
            match ranges.last_mut() {
                // Merge overlapping or adjacent ranges.
                Some(last) if lo.into() <= last.1.into().saturating_add(1) => {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                }
                _ => ranges.push((lo, hi)),
            }
        }
        Ranges { ranges }
    }

    fn contains(&self, x: T) -> bool {
        let i = self.ranges.partition_point(|(lo, _)| *lo <= x);
        i > 0 && x <= self.ranges[i - 1].1
    }

    fn len(&self) -> usize {
        self.ranges.len()
    }
}

/// A set of addresses and networks, IPv4 and IPv6.
#[derive(Clone, Debug, Default)]
pub struct IpSet {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
}

impl IpSet {
    pub fn from_nets(nets: impl IntoIterator<Item = IpNet>) -> IpSet {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for n in nets {
            match n {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        IpSet {
            v4: Ranges::build(v4),
            v6: Ranges::build(v6),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            // An IPv4-mapped IPv6 address is the IPv4 address.
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.v4.contains(u32::from(v4)),
                None => self.v6.contains(u128::from(a)),
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        self.v4.len() == 0 && self.v6.len() == 0
    }

    /// The IPv4 ranges, merged, sorted, inclusive.
    pub fn v4_ranges(&self) -> &[(u32, u32)] {
        &self.v4.ranges
    }

    /// The IPv6 ranges, merged, sorted, inclusive.
    pub fn v6_ranges(&self) -> &[(u128, u128)] {
        &self.v6.ranges
    }
}

/// A threat list (GuardDuty ThreatIntelSet TXT): addresses, networks and domains.
#[derive(Clone, Debug, Default)]
pub struct ThreatList {
    pub name: String,
    pub ips: IpSet,
    domains: HashSet<String>,
    pub entries: usize,
}

impl ThreatList {
    /// Parses the TXT format: one IP, CIDR or domain a line; `#` starts a
    /// comment; blank lines are ignored. A line that is none of these is an
    /// error naming its line.
    pub fn parse(name: &str, path: &str, text: &str) -> Result<ThreatList, LoadError> {
        let mut nets = Vec::new();
        let mut domains = HashSet::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let pos = Pos::new(
                i as u32 + 1,
                (raw.len() - raw.trim_start().len()) as u32 + 1,
            );
            if let Ok(n) = line.parse::<IpNet>() {
                nets.push(n.trunc());
            } else if let Ok(a) = line.parse::<IpAddr>() {
                nets.push(IpNet::from(a));
            } else if let Some(d) = normalise_domain(line) {
                domains.insert(d);
            } else {
                let hint =
                    if line.contains('/') || line.chars().all(|c| c.is_ascii_digit() || c == '.') {
                        "an invalid address or CIDR"
                    } else {
                        "neither an IP address, a CIDR nor a domain name"
                    };
                return Err(LoadError::at(
                    path,
                    pos,
                    format!("`{}` is {hint}; threat lists hold one IP, CIDR or domain a line (`#` for comments)", crate::terminal::clip(line, 80)),
                ));
            }
        }
        let entries = nets.len() + domains.len();
        Ok(ThreatList {
            name: name.to_string(),
            ips: IpSet::from_nets(nets),
            domains,
            entries,
        })
    }

    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.ips.contains(ip)
    }

    /// The listed domains (normalised: lower case, no final dot).
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.domains.iter().map(String::as_str)
    }

    /// Whether the domain or one of its parents (at a label boundary) is listed.
    pub fn contains_domain(&self, name: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let Some(d) = normalise_domain(name) else {
            return false;
        };
        let mut rest = d.as_str();
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => return false,
            }
        }
    }

    /// Membership of a value: an address or network in the IP ranges, anything
    /// else as a domain.
    pub fn contains_text(&self, s: &str) -> bool {
        match s.trim().parse::<IpAddr>() {
            Ok(ip) => self.contains_ip(ip),
            Err(_) => self.contains_domain(s),
        }
    }
}

/// Lower case, without a trailing dot; `None` unless it looks like a domain name.
pub fn normalise_domain(s: &str) -> Option<String> {
    let d = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then_some(d)
}

/// AWS's published ranges (`ip-ranges.json`), IPv4 and IPv6.
pub fn parse_aws_ranges(path: &str, text: &str) -> Result<IpSet, LoadError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        LoadError::at(
            path,
            Pos::new(e.line() as u32, e.column().max(1) as u32),
            format!("invalid JSON: {e}"),
        )
    })?;
    let mut nets = Vec::new();
    for (list, key) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
        let Some(items) = v.get(list).and_then(|x| x.as_array()) else {
            return Err(LoadError::file(
                path,
                format!("expected AWS's ip-ranges.json with `{list}` (https://ip-ranges.amazonaws.com/ip-ranges.json)"),
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let s = item.get(key).and_then(|x| x.as_str()).unwrap_or("");
            match s.parse::<IpNet>() {
                Ok(n) => nets.push(n.trunc()),
                Err(_) => {
                    return Err(LoadError::file(
                        path,
                        format!(
                            "{list}[{i}].{key} is `{}`, not a CIDR",
                            crate::terminal::clip(s, 60)
                        ),
                    ))
                }
            }
        }
    }
    Ok(IpSet::from_nets(nets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_cidrs_and_domains() {
        let l = ThreatList::parse(
            "ips",
            "l.txt",
            "# comment\n198.51.100.7\n203.0.113.0/24  # a network\n2001:db8::/32\nevil.com\nBad.Example.\n\n",
        )
        .unwrap();
        assert_eq!(l.entries, 5);
        assert!(l.contains_text("198.51.100.7"));
        assert!(!l.contains_text("198.51.100.8"));
        assert!(l.contains_text("203.0.113.255"));
        assert!(l.contains_text("2001:db8::1"));
        assert!(l.contains_text("::ffff:203.0.113.9"));
        assert!(l.contains_domain("evil.com"));
        assert!(l.contains_domain("a.b.EVIL.com."));
        assert!(!l.contains_domain("notevil.com"));
        assert!(l.contains_domain("x.bad.example"));
        let e = ThreatList::parse("ips", "l.txt", "10.0.0.0/8\n10.0.0.300/8\n").unwrap_err();
        assert_eq!(e.to_string(), "l.txt:2:1: `10.0.0.300/8` is an invalid address or CIDR; threat lists hold one IP, CIDR or domain a line (`#` for comments)");
    }

    #[test]
    fn ranges_merge_and_search() {
        let s = IpSet::from_nets(
            [
                "10.0.0.0/9",
                "10.128.0.0/9",
                "10.0.5.0/24",
                "192.168.1.1/32",
            ]
            .iter()
            .map(|n| n.parse().unwrap()),
        );
        assert_eq!(s.v4.len(), 2);
        assert!(s.contains("10.255.255.255".parse().unwrap()));
        assert!(!s.contains("11.0.0.0".parse().unwrap()));
        assert!(s.contains("192.168.1.1".parse().unwrap()));
        assert!(!s.contains("192.168.1.2".parse().unwrap()));
    }
}
