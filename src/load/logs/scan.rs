//! Fast scanning of flow log lines: field boundaries found eight bytes at a
//! time, and numbers and IPv4 addresses parsed from known bounds.
//!
//! A flow log is mostly digits, dots and spaces; at ten million lines a second
//! the byte-at-a-time loops dominate, so separators are located with word-wide
//! bit tricks (SWAR) and long numbers (epoch times, byte counts) converted eight
//! digits at once (as in Lemire's fast_float). Everything here is safe code.

use std::net::Ipv4Addr;

const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const SPACES: u64 = 0x2020_2020_2020_2020;
const TABS: u64 = 0x0909_0909_0909_0909;

/// The high bit of each byte of `v` that is zero (exact: no false positives).
#[inline]
fn zero_bytes(v: u64) -> u64 {
    !(((v & LO7).wrapping_add(LO7)) | v | LO7)
}

/// The high bit of each byte that is a space or a tab.
#[inline]
fn separators(w: u64) -> u64 {
    zero_bytes(w ^ SPACES) | zero_bytes(w ^ TABS)
}

/// Eight bytes from `at`, little-endian; past the end they read as spaces.
#[inline]
fn load8(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8) {
        Some(s) => u64::from_le_bytes(s.try_into().unwrap_or([b' '; 8])),
        None => {
            let mut pad = [b' '; 8];
            let rest = &b[at.min(b.len())..];
            pad[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(pad)
        }
    }
}

/// The fields of a line: `(start, end)` of each run of bytes between spaces or
/// tabs (runs of separators count as one).
pub(crate) struct Tokens<'a> {
    b: &'a [u8],
    /// Offset of the next word to load.
    next: usize,
    /// Offset of the word `mask` was computed from.
    base: usize,
    mask: u64,
    /// Where the current field starts.
    start: usize,
    done: bool,
}

impl<'a> Tokens<'a> {
    #[inline]
    pub fn new(b: &'a [u8]) -> Self {
        Tokens {
            b,
            next: 0,
            base: 0,
            mask: 0,
            start: 0,
            done: false,
        }
    }
}

impl Iterator for Tokens<'_> {
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            while self.mask != 0 {
                let p = self.base + (self.mask.trailing_zeros() / 8) as usize;
                self.mask &= self.mask - 1;
                if p >= self.b.len() {
                    self.mask = 0;
                    break;
                }
                let s = self.start;
                self.start = p + 1;
                if p > s {
                    return Some((s, p));
                }
            }
            if self.next >= self.b.len() {
                if self.done {
                    return None;
                }
                self.done = true;
                let s = self.start;
                return (self.b.len() > s).then_some((s, self.b.len()));
            }
            self.base = self.next;
            self.mask = separators(load8(self.b, self.next));
            self.next += 8;
        }
    }
}

/// Eight ASCII digits (little-endian word, first digit lowest) as a number,
/// or None if any byte is not a digit.
#[inline]
fn eight_digits(w: u64) -> Option<u64> {
    // Every byte in '0'..='9': no byte below 0x30 and none above 0x39.
    if ((w.wrapping_add(0x4646_4646_4646_4646)) | (w.wrapping_sub(0x3030_3030_3030_3030)))
        & 0x8080_8080_8080_8080
        != 0
    {
        return None;
    }
    let mut v = w - 0x3030_3030_3030_3030;
    v = v.wrapping_mul(10) + (v >> 8);
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    Some(
        ((v & MASK)
            .wrapping_mul(MUL1)
            .wrapping_add(((v >> 16) & MASK).wrapping_mul(MUL2)))
            >> 32,
    )
}

/// A non-negative decimal integer of at most 19 digits (fits an i64).
#[inline]
pub(crate) fn parse_uint(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    let mut rest = t;
    while rest.len() >= 8 {
        let (head, tail) = rest.split_at(8);
        let w = u64::from_le_bytes(head.try_into().ok()?);
        v = v * 100_000_000 + eight_digits(w)?;
        rest = tail;
    }
    for &c in rest {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// A dotted-quad IPv4 address filling all of `t`. No leading zeros:
/// `010.0.0.1` is octal to some tools and decimal to others.
#[inline]
pub(crate) fn parse_ipv4(t: &[u8]) -> Option<Ipv4Addr> {
    if t.len() < 7 || t.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut v: u32 = 0;
    let mut digits = 0;
    for &c in t {
        if c == b'.' {
            if digits == 0 || n == 3 || v > 255 {
                return None;
            }
            octets[n] = v as u8;
            n += 1;
            v = 0;
            digits = 0;
        } else {
            let d = c.wrapping_sub(b'0');
            if d > 9 || digits == 3 || (digits == 1 && v == 0) {
                return None;
            }
            v = v * 10 + u32::from(d);
            digits += 1;
        }
    }
    if n != 3 || digits == 0 || v > 255 {
        return None;
    }
    octets[3] = v as u8;
    Some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<&str> {
        Tokens::new(s.as_bytes()).map(|(a, z)| &s[a..z]).collect()
    }

    #[test]
    fn tokens_split_on_runs_of_spaces_and_tabs() {
        assert_eq!(tokens("a bb  ccc\tdddd "), vec!["a", "bb", "ccc", "dddd"]);
        assert_eq!(tokens("  lead"), vec!["lead"]);
        assert_eq!(tokens(""), Vec::<&str>::new());
        assert_eq!(tokens("        "), Vec::<&str>::new());
        assert_eq!(tokens("exactly8"), vec!["exactly8"]);
        assert_eq!(tokens("exactly8 x"), vec!["exactly8", "x"]);
        // Every split position against a reference.
        let line = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
        for cut in 0..line.len() {
            let s = &line[..cut];
            let want: Vec<&str> = s.split([' ', '\t']).filter(|t| !t.is_empty()).collect();
            assert_eq!(tokens(s), want, "{s:?}");
        }
        // Non-ASCII bytes are never separators.
        assert_eq!(tokens("é ü\u{a0}x"), vec!["é", "ü\u{a0}x"]);
    }

    #[test]
    fn integers_agree_with_std() {
        let mut state: u64 = 0x243F_6A88_85A3_08D3;
        for len in 1..=19 {
            for _ in 0..200 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let digits: String = (0..len)
                    .map(|i| char::from(b'0' + ((state >> (i % 60)) % 10) as u8))
                    .collect();
                assert_eq!(
                    parse_uint(digits.as_bytes()),
                    digits.parse::<u64>().ok(),
                    "{digits}"
                );
            }
        }
        assert_eq!(parse_uint(b"9223372036854775807"), Some(i64::MAX as u64));
        assert_eq!(
            parse_uint(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            &b""[..],
            b"12345678901234567890",
            b"1234567a",
            b"12345678/",
            b"-1",
            b"+1",
            b"1 2",
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
        ] {
            assert_eq!(parse_uint(bad), None, "{bad:?}");
        }
        // Each non-digit at each position of an eight-digit word is caught.
        for pos in 0..8 {
            for c in [b'/', b':', b' ', b'a', 0u8, 0x80, 0xff] {
                let mut t = *b"12345678";
                t[pos] = c;
                assert_eq!(parse_uint(&t), None, "{t:?}");
            }
        }
    }

    #[test]
    fn ipv4_agrees_with_std() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "172.31.16.139",
            "1.2.3.4",
            "100.200.250.255",
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()), s.parse().ok(), "{s}");
        }
        for s in [
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.04",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.4a",
            "1.2.3.999",
            "1234.1.1.1",
            "1.300.1.1",
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()), None, "{s}");
            assert!(s.parse::<Ipv4Addr>().is_err(), "{s}");
        }
    }
}
