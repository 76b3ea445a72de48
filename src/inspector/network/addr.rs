//! Sets of IP addresses as sorted, disjoint inclusive ranges, one family at a
//! time (IPv4 addresses are the low 32 bits). Every operation is linear in the
//! number of ranges.

use ipnet::IpNet;

use super::model::Family;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrSet {
    ranges: Vec<(u128, u128)>,
}

impl AddrSet {
    pub fn empty() -> Self {
        AddrSet { ranges: Vec::new() }
    }

    pub fn all(f: Family) -> Self {
        AddrSet {
            ranges: vec![(0, max(f))],
        }
    }

    pub fn net(n: &IpNet) -> Self {
        let (lo, hi) = bounds(n);
        AddrSet {
            ranges: vec![(lo, hi)],
        }
    }

    /// Addresses a packet from the internet can come from: public unicast
    /// space (IPv4 without private, shared, loopback, link-local, multicast and
    /// reserved blocks; IPv6 global unicast 2000::/3).
    pub fn internet(f: Family) -> Self {
        match f {
            Family::V4 => {
                let mut s = AddrSet::all(Family::V4);
                for n in [
                    "0.0.0.0/8",
                    "10.0.0.0/8",
                    "100.64.0.0/10",
                    "127.0.0.0/8",
                    "169.254.0.0/16",
                    "172.16.0.0/12",
                    "192.168.0.0/16",
                    "224.0.0.0/3",
                ] {
                    s = s.minus(&AddrSet::net(&n.parse().expect("static block")));
                }
                s
            }
            Family::V6 => AddrSet::net(&"2000::/3".parse().expect("static block")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn union(&self, other: &AddrSet) -> AddrSet {
        let mut all: Vec<(u128, u128)> = self.ranges.iter().chain(&other.ranges).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        AddrSet { ranges: out }
    }

    pub fn intersect(&self, other: &AddrSet) -> AddrSet {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = (self.ranges[i], other.ranges[j]);
            let lo = a.0.max(b.0);
            let hi = a.1.min(b.1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        AddrSet { ranges: out }
    }

    pub fn minus(&self, other: &AddrSet) -> AddrSet {
        let mut out = Vec::new();
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            let mut cur = lo;
            let mut done = false;
            while j < other.ranges.len() && other.ranges[j].1 < cur {
                j += 1;
            }
            let mut k = j;
            while k < other.ranges.len() && other.ranges[k].0 <= hi {
                let (olo, ohi) = other.ranges[k];
                if olo > cur {
                    out.push((cur, olo - 1));
                }
                if ohi >= hi {
                    done = true;
                    break;
                }
                cur = cur.max(ohi + 1);
                k += 1;
            }
            if !done {
                out.push((cur, hi));
            }
        }
        AddrSet { ranges: out }
    }

    pub fn intersects(&self, other: &AddrSet) -> bool {
        !self.intersect(other).is_empty()
    }

    pub fn contains_set(&self, other: &AddrSet) -> bool {
        other.minus(self).is_empty()
    }
}

fn max(f: Family) -> u128 {
    match f {
        Family::V4 => u32::MAX as u128,
        Family::V6 => u128::MAX,
    }
}

fn bounds(n: &IpNet) -> (u128, u128) {
    match n {
        IpNet::V4(v4) => (
            u32::from(v4.network()) as u128,
            u32::from(v4.broadcast()) as u128,
        ),
        IpNet::V6(v6) => (u128::from(v6.network()), u128::from(v6.broadcast())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> AddrSet {
        AddrSet::net(&s.parse().unwrap())
    }

    #[test]
    fn set_algebra() {
        let a = n("10.0.0.0/8").union(&n("11.0.0.0/8"));
        assert_eq!(a, n("10.0.0.0/7"));
        let b = a.minus(&n("10.1.0.0/16"));
        assert!(!b.intersects(&n("10.1.2.0/24")));
        assert!(b.intersects(&n("10.2.0.0/24")));
        assert!(b.contains_set(&n("11.0.0.0/9")));
        assert!(AddrSet::internet(Family::V4).intersects(&n("0.0.0.0/0")));
        assert!(!AddrSet::internet(Family::V4).intersects(&n("10.0.0.0/8")));
        assert!(!AddrSet::internet(Family::V4).intersects(&n("192.168.1.0/24")));
        assert!(AddrSet::internet(Family::V4).contains_set(&n("8.8.8.0/24")));
        assert!(AddrSet::all(Family::V4)
            .minus(&AddrSet::all(Family::V4))
            .is_empty());
        assert!(!AddrSet::internet(Family::V6).intersects(&n("fd00::/8")));
    }
}
