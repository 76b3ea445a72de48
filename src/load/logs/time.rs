//! RFC 3339 timestamps (CloudTrail `eventTime`, Route 53 `query_timestamp`) to
//! epoch milliseconds, without a date-time dependency.

/// Epoch milliseconds of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. `t`/`z`
/// and a space instead of `T` are accepted (RFC 3339 allows them); a leap
/// second (`:60`) counts as the last second of its minute. None when the text is
/// not such a timestamp or names an impossible date.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        let mut n = 0i64;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(d - b'0');
        }
        Some(n)
    };
    let year = num(0, 4)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (month, day) = (num(5, 2)?, num(8, 2)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + min * 60 + sec.min(59) - offset_min * 60;
    Some(secs * 1_000 + millis)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        // `date -u -d 2021-02-04T17:51:55Z +%s` = 1612461115
        assert_eq!(
            parse_rfc3339_ms("2021-02-04T17:51:55Z"),
            Some(1_612_461_115_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2021-02-04T17:51:55.123456Z"),
            Some(1_612_461_115_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2021-02-04T19:51:55.5+02:00"),
            Some(1_612_461_115_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2021-02-04t12:51:55-05:00"),
            Some(1_612_461_115_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59Z"), Some(-1_000));
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2021-02-04",
            "2021-02-04T17:51:55",
            "2021-13-04T17:51:55Z",
            "2023-02-29T00:00:00Z",
            "2021-02-04T24:00:00Z",
            "2021-02-04T17:51:55.Z",
            "2021-02-04T17:51:55+0200",
            "2021-02-04T17:51:55Zjunk",
            "2021/02/04T17:51:55Z",
            "２０２１-02-04T17:51:55Z",
        ] {
            assert_eq!(parse_rfc3339_ms(s), None, "{s}");
        }
    }
}
