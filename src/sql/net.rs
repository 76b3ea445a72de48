//! Addresses and domains in SQL: IPv4 and IPv6 text parsed into numbers (as
//! Rust's `IpAddr` parser accepts it), printed back in Rust's canonical form
//! (RFC 5952, `::ffff:a.b.c.d` for mapped addresses), tested against the list
//! tables' ranges; domains normalised and matched at a label boundary.
//!
//! The parse is spread over several query stages (CTEs) so that each step
//! reads the columns of the one before instead of repeating its expression.

use super::dialect::Dialect;
use super::query::Stages;

/// IPv4 text without leading zeros, as Rust's parser accepts it.
const OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";

pub fn ipv4_pattern() -> String {
    format!("\\A{OCTET}(?:\\.{OCTET}){{3}}\\z")
}

/// IPv6 text as Rust's parser accepts it: eight groups of one to four hex
/// digits, or fewer around one `::` standing for at least one zero group, the
/// last two groups optionally written as an IPv4 address.
pub fn ipv6_pattern() -> String {
    let h = "[0-9A-Fa-f]{1,4}";
    let v4 = format!("{OCTET}(?:\\.{OCTET}){{3}}");
    // Up to `n` groups (`n` slots), the last two slots possibly an IPv4 address.
    let tail = |n: usize| -> String {
        let mut alts = Vec::new();
        if n >= 1 {
            alts.push(format!("{h}(?::{h}){{0,{}}}", n - 1));
        }
        if n >= 2 {
            if n >= 3 {
                alts.push(format!("(?:{h}:){{1,{}}}{v4}", n - 2));
            }
            alts.push(v4.clone());
        }
        if alts.is_empty() {
            String::new()
        } else {
            format!("(?:{})?", alts.join("|"))
        }
    };
    let mut forms = vec![
        format!("{h}(?::{h}){{7}}"),
        format!("{h}(?::{h}){{5}}:{v4}"),
    ];
    for left in 0..=7usize {
        let l = if left == 0 {
            String::new()
        } else {
            format!("{h}(?::{h}){{{}}}", left - 1)
        };
        forms.push(format!("{l}::{}", tail(7 - left)));
    }
    format!("\\A(?:{})\\z", forms.join("|"))
}

/// The columns a parsed address leaves in the query.
#[derive(Clone, Debug)]
pub struct IpCols {
    pub p: String,
    /// The stage after which the columns exist.
    pub level: usize,
}

impl IpCols {
    /// Whether the text is an address.
    pub fn ok(&self) -> String {
        format!("{}_ok", self.p)
    }
    /// Rust's canonical text of the address; NULL when not an address.
    pub fn text(&self) -> String {
        format!("{}_txt", self.p)
    }
    pub fn fam(&self) -> String {
        format!("{}_fam", self.p)
    }
    pub fn hi(&self) -> String {
        format!("{}_hi", self.p)
    }
    pub fn lo(&self) -> String {
        format!("{}_lo", self.p)
    }
}

/// Parses the text `input` (placeable at stage `level`) as an address.
pub fn hoist_ip(st: &mut Stages, dia: &dyn Dialect, input: &str, level: usize) -> IpCols {
    let key = format!("ip:{input}");
    if let Some(c) = st.cached_ip(&key) {
        return c;
    }
    let p = st.fresh("ip");
    let c = |n: &str| format!("{p}_{n}");
    let x = c("x");
    st.add(level, &x, input.to_string());
    let a = level + 1;
    st.add(
        a,
        &c("v4"),
        format!("COALESCE({}, FALSE)", dia.regex_like(&x, &ipv4_pattern())),
    );
    st.add(
        a,
        &c("v6"),
        format!("COALESCE({}, FALSE)", dia.regex_like(&x, &ipv6_pattern())),
    );
    st.add(
        a,
        &c("c"),
        format!("length({x}) - length(replace({x}, ':', ''))"),
    );
    st.add(a, &c("d"), format!("{} > 0", dia.strpos(&x, "'.'")));
    let (v4, v6, colons, dotted) = (c("v4"), c("v6"), c("c"), c("d"));
    // `::` at either end gets a zero group beside it, so it always sits between groups.
    st.add(
        a + 1,
        &c("y"),
        format!("CASE WHEN {v6} THEN (CASE WHEN substr({x}, 1, 2) = '::' THEN '0' || {x} ELSE {x} END) END"),
    );
    let y = c("y");
    let z = format!("(CASE WHEN substr({y}, length({y}) - 1) = '::' THEN {y} || '0' ELSE {y} END)");
    st.add(
        a + 2,
        &c("e"),
        format!(
            "CASE WHEN {} > 0 THEN replace({z}, '::', ':' || substr('0:0:0:0:0:0:0:0:', 1, 2 * (8 - {colons} - (CASE WHEN {dotted} THEN 1 ELSE 0 END)))) ELSE {z} END",
            dia.strpos(&z, "'::'")
        ),
    );
    let e = c("e");
    for i in 1..=8 {
        st.add(
            a + 3,
            &c(&format!("t{i}")),
            format!("split_part({e}, ':', {i})"),
        );
    }
    for k in 1..=4 {
        st.add(
            a + 3,
            &c(&format!("o{k}")),
            format!(
                "CASE WHEN {v4} THEN TRY_CAST(split_part({x}, '.', {k}) AS BIGINT) \
                 WHEN {v6} AND {dotted} THEN TRY_CAST(split_part(split_part({e}, ':', 7), '.', {k}) AS BIGINT) END"
            ),
        );
    }
    for i in 1..=8 {
        let t = c(&format!("t{i}"));
        let hex = hexval(dia, &t);
        let sql = match i {
            7 => format!(
                "CASE WHEN {dotted} THEN {} * 256 + {} ELSE {hex} END",
                c("o1"),
                c("o2")
            ),
            8 => format!(
                "CASE WHEN {dotted} THEN {} * 256 + {} ELSE {hex} END",
                c("o3"),
                c("o4")
            ),
            _ => hex,
        };
        st.add(
            a + 4,
            &c(&format!("n{i}")),
            format!("CASE WHEN {v6} THEN {sql} END"),
        );
    }
    let n = |i: usize| c(&format!("n{i}"));
    let dec = |x: &str| format!("CAST({x} AS DECIMAL(20,0))");
    st.add(
        a + 5,
        &c("fam"),
        format!("CASE WHEN {v4} THEN 4 WHEN {v6} THEN 6 END"),
    );
    st.add(
        a + 5,
        &c("hi"),
        format!(
            "CAST(CASE WHEN {v4} THEN 0 WHEN {v6} THEN {} * 281474976710656 + {} * 4294967296 + {} * 65536 + {} END AS DECIMAL(20,0))",
            dec(&n(1)), dec(&n(2)), dec(&n(3)), dec(&n(4))
        ),
    );
    st.add(
        a + 5,
        &c("lo"),
        format!(
            "CAST(CASE WHEN {v4} THEN {} * 16777216 + {} * 65536 + {} * 256 + {} WHEN {v6} THEN {} * 281474976710656 + {} * 4294967296 + {} * 65536 + {} END AS DECIMAL(20,0))",
            dec(&c("o1")), c("o2"), c("o3"), c("o4"),
            dec(&n(5)), dec(&n(6)), dec(&n(7)), n(8)
        ),
    );
    st.add(
        a + 5,
        &c("mapped"),
        format!(
            "COALESCE({v6} AND {} = 0 AND {} = 0 AND {} = 0 AND {} = 0 AND {} = 0 AND {} = 65535, FALSE)",
            n(1), n(2), n(3), n(4), n(5), n(6)
        ),
    );
    for i in 1..=8 {
        st.add(a + 5, &c(&format!("h{i}")), hextext(&n(i)));
    }
    let mapped = c("mapped");
    let h = |i: usize| c(&format!("h{i}"));
    let mut runs = String::new();
    for len in (2..=8usize).rev() {
        for s in 1..=(9 - len) {
            let zero: Vec<String> = (s..s + len).map(|i| format!("{} = 0", n(i))).collect();
            let left: Vec<String> = (1..s).map(h).collect();
            let right: Vec<String> = (s + len..=8).map(h).collect();
            runs.push_str(&format!(
                " WHEN {} THEN {}'::'{}",
                zero.join(" AND "),
                if left.is_empty() {
                    String::new()
                } else {
                    format!("{} || ", left.join(" || ':' || "))
                },
                if right.is_empty() {
                    String::new()
                } else {
                    format!(" || {}", right.join(" || ':' || "))
                },
            ));
        }
    }
    let all: Vec<String> = (1..=8).map(h).collect();
    let byte = |i: usize, high: bool| {
        if high {
            dia.cast_text(&format!("CAST(floor({} / 256e0) AS BIGINT)", n(i)))
        } else {
            dia.cast_text(&format!("{} % 256", n(i)))
        }
    };
    st.add(
        a + 6,
        &c("txt"),
        format!(
            "CASE WHEN {v4} THEN {x} WHEN {v6} THEN (CASE WHEN {mapped} THEN '::ffff:' || {} || '.' || {} || '.' || {} || '.' || {}{runs} ELSE {} END) END",
            byte(7, true), byte(7, false), byte(8, true), byte(8, false),
            all.join(" || ':' || ")
        ),
    );
    st.add(a + 6, &c("ok"), format!("({v4} OR {v6})"));
    // Membership treats an IPv4-mapped IPv6 address as the IPv4 address.
    st.add(
        a + 6,
        &c("mfam"),
        format!("CASE WHEN {v4} OR {mapped} THEN 4 WHEN {v6} THEN 6 END"),
    );
    st.add(
        a + 6,
        &c("mhi"),
        format!(
            "CASE WHEN {mapped} THEN CAST(0 AS DECIMAL(20,0)) ELSE {} END",
            c("hi")
        ),
    );
    st.add(
        a + 6,
        &c("mlo"),
        format!(
            "CASE WHEN {mapped} THEN CAST({} * 65536 + {} AS DECIMAL(20,0)) ELSE {} END",
            n(7),
            n(8),
            c("lo")
        ),
    );
    let cols = IpCols { p, level: a + 7 };
    st.remember_ip(key, cols.clone());
    cols
}

/// The value of one to four hex digits (validated by the pattern).
fn hexval(dia: &dyn Dialect, t: &str) -> String {
    let padded = format!("lpad({t}, 4, '0')");
    let digit = |k: usize| {
        format!(
            "({} - 1)",
            dia.strpos(
                "'0123456789abcdef'",
                &format!("lower(substr({padded}, {k}, 1))")
            )
        )
    };
    format!(
        "({} * 4096 + {} * 256 + {} * 16 + {})",
        digit(1),
        digit(2),
        digit(3),
        digit(4)
    )
}

/// Lower-case hex without leading zeros, as Rust prints a group.
fn hextext(n: &str) -> String {
    let d = |div: u32| {
        let q = if div == 1 {
            format!("{n} % 16")
        } else {
            format!("CAST(floor({n} / {div}e0) AS BIGINT) % 16")
        };
        format!("substr('0123456789abcdef', {q} + 1, 1)")
    };
    format!(
        "CASE WHEN {n} < 16 THEN {} WHEN {n} < 256 THEN {} || {} WHEN {n} < 4096 THEN {} || {} || {} ELSE {} || {} || {} || {} END",
        d(1),
        d(16), d(1),
        d(256), d(16), d(1),
        d(4096), d(256), d(16), d(1)
    )
}

/// Characters Rust's `str::trim` removes besides ASCII whitespace.
const UNICODE_SPACES: [u32; 18] = [
    0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
    0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
];

/// `s.trim()` for parsing: the text without leading and trailing whitespace.
/// Whitespace inside becomes a space, which no address or domain contains.
pub fn trim_for_parse(dia: &dyn Dialect, s: &str) -> String {
    let mut from: Vec<String> = UNICODE_SPACES.iter().map(|&cp| dia.chr(cp)).collect();
    from.push(dia.chr(0x3000));
    let spaces = " ".repeat(from.len());
    let swapped = format!("translate({s}, {}, '{spaces}')", from.join(" || "));
    let lead = dia.regex_replace(&swapped, "\\A[\\x09-\\x0D\\x20]+", "");
    dia.regex_replace(&lead, "[\\x09-\\x0D\\x20]+\\z", "")
}

/// The columns of a normalised domain name.
#[derive(Clone, Debug)]
pub struct DomainCols {
    pub p: String,
    pub level: usize,
}

impl DomainCols {
    pub fn name(&self) -> String {
        format!("{}_dom", self.p)
    }
    /// Whether the text is a domain name (`normalise_domain` is `Some`).
    pub fn ok(&self) -> String {
        format!("{}_dok", self.p)
    }
}

/// `normalise_domain`: trimmed, without trailing dots, ASCII lower case; a
/// domain when every label is 1 to 63 letters, digits, `-` or `_` and the
/// whole at most 253 characters.
pub fn hoist_domain(st: &mut Stages, dia: &dyn Dialect, trimmed: &str, level: usize) -> DomainCols {
    let key = format!("dom:{trimmed}");
    if let Some(c) = st.cached_domain(&key) {
        return c;
    }
    let p = st.fresh("dn");
    let dom = format!("{p}_dom");
    st.add(
        level,
        &dom,
        super::layout::lower_ascii(&dia.regex_replace(trimmed, "\\.+\\z", "")),
    );
    st.add(
        level + 1,
        &format!("{p}_dok"),
        format!(
            "COALESCE(length({dom}) BETWEEN 1 AND 253 AND {}, FALSE)",
            dia.regex_like(&dom, "\\A[a-z0-9_\\-]{1,63}(?:\\.[a-z0-9_\\-]{1,63})*\\z")
        ),
    );
    let cols = DomainCols {
        p,
        level: level + 2,
    };
    st.remember_domain(key, cols.clone());
    cols
}

/// Whether the address is in a list's ranges (`kind`, `name`).
pub fn in_networks(
    st: &mut Stages,
    dia: &dyn Dialect,
    table: &str,
    kind: &str,
    name: &str,
    ip: &IpCols,
) -> String {
    let (fam, hi, lo) = (
        format!("{}_mfam", ip.p),
        format!("{}_mhi", ip.p),
        format!("{}_mlo", ip.p),
    );
    let (kind, name) = (dia.lit(kind), dia.lit(name));
    match dia.collected_networks(table, &kind, &name) {
        Some(query) => {
            let col = st.constant(&query, "nets");
            dia.in_network_array(&col, &fam, &hi, &lo)
        }
        None => dia.in_networks(table, &kind, &name, &fam, &hi, &lo),
    }
}

/// Whether the domain, or a parent at a label boundary, is in a list.
pub fn in_domains(
    st: &mut Stages,
    dia: &dyn Dialect,
    table: &str,
    kind: &str,
    name: &str,
    d: &DomainCols,
) -> String {
    let (kind, name) = (dia.lit(kind), dia.lit(name));
    let test = match dia.collected_domains(table, &kind, &name) {
        Some(query) => {
            let col = st.constant(&query, "doms");
            dia.in_domain_array(&col, &d.name())
        }
        None => dia.in_domains(table, &kind, &name, &d.name()),
    };
    format!("({} AND {test})", d.ok())
}

/// Whether the list was given to the run.
pub fn list_given(dia: &dyn Dialect, table: &str, kind: &str, name: &str) -> String {
    dia.list_given(table, &dia.lit(kind), &dia.lit(name))
}

/// `is_private_ip` of a parsed address: RFC 1918, loopback, link-local,
/// unique-local (the ranges of `eval::funcs::is_private`).
pub fn is_private(ip: &IpCols) -> String {
    let (fam, hi, lo) = (ip.fam(), ip.hi(), ip.lo());
    let v4: [(&str, u32); 5] = [
        ("10.0.0.0", 8),
        ("172.16.0.0", 12),
        ("192.168.0.0", 16),
        ("127.0.0.0", 8),
        ("169.254.0.0", 16),
    ];
    let mut alts: Vec<String> = v4
        .iter()
        .map(|(a, len)| {
            let start = u32::from(
                a.parse::<std::net::Ipv4Addr>()
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            );
            let end = start | (u32::MAX >> len);
            format!("({fam} = 4 AND {lo} BETWEEN {start} AND {end})")
        })
        .collect();
    // fc00::/7 and fe80::/10 by the upper 64 bits; ::1 exactly.
    for (start, len) in [(0xfc00u64 << 48, 7u32), (0xfe80u64 << 48, 10u32)] {
        let end = start | (u64::MAX >> len);
        alts.push(format!("({fam} = 6 AND {hi} BETWEEN {start} AND {end})"));
    }
    alts.push(format!("({fam} = 6 AND {hi} = 0 AND {lo} = 1)"));
    format!("COALESCE({}, FALSE)", alts.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The patterns accept what Rust's parser accepts (checked with the regex
    /// crate, whose syntax here is the same as RE2's and Java's).
    #[test]
    fn patterns_agree_with_rusts_parser() {
        let v4 =
            regex::Regex::new(&ipv4_pattern().replace("\\A", "^").replace("\\z", "$")).unwrap();
        let v6 =
            regex::Regex::new(&ipv6_pattern().replace("\\A", "^").replace("\\z", "$")).unwrap();
        let cases = [
            "1.2.3.4",
            "01.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "::",
            "::1",
            "1::",
            "2001:DB8::1",
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            "::1.2.3.4",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "00001::",
            "1::2::3",
            ":1::",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::ffff:01.2.3.4",
            "fe80::1%eth0",
            " ::1",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1::2:3:4:5:6:7",
            "1:2::3:4:5:6:7",
            "1::2:3:4:5:6:1.2.3.4",
            "1::2:3:4:5:1.2.3.4",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
            "a:b:c:d:e:f:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "",
            "::ffff:1.2.3.4.5",
        ];
        for s in cases {
            let rust = s.parse::<std::net::IpAddr>();
            let sql = v4.is_match(s) || v6.is_match(s);
            assert_eq!(rust.is_ok(), sql, "{s:?}");
            if let Ok(a) = rust {
                assert_eq!(a.is_ipv4(), v4.is_match(s), "{s:?}");
            }
        }
    }
}
