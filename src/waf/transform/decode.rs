//! Decoding transformations: URL, HTML entities, Base64, hex, escape sequences,
//! JavaScript and CSS escapes, UTF-8 to `%u` notation.

use super::hex_val;

/// ModSecurity's `x2c`: two characters read as hex digits without validation
/// (callers validate where the reference does).
fn x2c(a: u8, b: u8) -> u8 {
    let d = |c: u8| -> u8 {
        if c >= b'A' {
            (c & 0xdf).wrapping_sub(b'A').wrapping_add(10)
        } else {
            c.wrapping_sub(b'0')
        }
    };
    d(a).wrapping_mul(16).wrapping_add(d(b))
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn is_odigit(b: Option<&u8>) -> bool {
    matches!(b, Some(b'0'..=b'7'))
}

/// URL_DECODE (non-strict: invalid `%` sequences stay as they are, `+` is a
/// space) and, with `uni`, URL_DECODE_UNI's `%uHHHH` (the low byte, full-width
/// ASCII U+FF01..U+FF5E folded to ASCII).
pub fn url(input: &[u8], uni: bool) -> Option<Vec<u8>> {
    if !input.iter().any(|&b| b == b'%' || b == b'+') {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let c = input[i];
        if c == b'%' {
            if uni && i + 1 < n && (input[i + 1] == b'u' || input[i + 1] == b'U') {
                if i + 5 < n && input[i + 2..i + 6].iter().all(|&b| is_hex(b)) {
                    let mut d = x2c(input[i + 4], input[i + 5]);
                    let full_width =
                        matches!(input[i + 2], b'f' | b'F') && matches!(input[i + 3], b'f' | b'F');
                    if d > 0 && d < 0x5f && full_width {
                        d += 0x20;
                    }
                    out.push(d);
                    i += 6;
                } else {
                    out.extend_from_slice(&input[i..i + 2]);
                    i += 2;
                }
            } else if i + 2 < n && is_hex(input[i + 1]) && is_hex(input[i + 2]) {
                out.push(x2c(input[i + 1], input[i + 2]));
                i += 3;
            } else {
                out.push(b'%');
                i += 1;
            }
        } else {
            out.push(if c == b'+' { b' ' } else { c });
            i += 1;
        }
    }
    Some(out)
}

/// HTML_ENTITY_DECODE: `&quot; &amp; &lt; &gt; &nbsp;` (case-insensitive, the
/// semicolon optional), `&#NNN;` and `&#xHH;`. A numeric entity above 0xFF
/// becomes the UTF-8 encoding of that character ("the corresponding character"
/// in AWS's words); one that is not a character keeps its low byte.
pub fn html_entity(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'&') {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        if input[i] == b'&' && i + 1 < n {
            let mut j = i + 1;
            if input[j] == b'#' {
                j += 1;
                let hex = j < n && (input[j] == b'x' || input[j] == b'X');
                if hex {
                    j += 1;
                }
                let start = j;
                let mut value: u64 = 0;
                while j < n
                    && (if hex {
                        is_hex(input[j])
                    } else {
                        input[j].is_ascii_digit()
                    })
                {
                    let digit = hex_val(input[j]).unwrap_or(0) as u64;
                    value = value
                        .saturating_mul(if hex { 16 } else { 10 })
                        .saturating_add(digit);
                    j += 1;
                }
                if j > start {
                    push_code_point(&mut out, value);
                    i = if j < n && input[j] == b';' { j + 1 } else { j };
                    continue;
                }
                // Not an entity: copy `&#` (and the `x`) and go on after them.
                out.extend_from_slice(&input[i..start]);
                i = start;
                continue;
            }
            let start = j;
            while j < n && input[j].is_ascii_alphanumeric() {
                j += 1;
            }
            if j > start {
                let name = &input[start..j];
                let decoded: Option<&[u8]> = if name.eq_ignore_ascii_case(b"quot") {
                    Some(b"\"")
                } else if name.eq_ignore_ascii_case(b"amp") {
                    Some(b"&")
                } else if name.eq_ignore_ascii_case(b"lt") {
                    Some(b"<")
                } else if name.eq_ignore_ascii_case(b"gt") {
                    Some(b">")
                } else if name.eq_ignore_ascii_case(b"nbsp") {
                    Some(&[0xa0])
                } else {
                    None
                };
                if let Some(d) = decoded {
                    out.extend_from_slice(d);
                    i = if j < n && input[j] == b';' { j + 1 } else { j };
                    continue;
                }
                out.extend_from_slice(&input[i..j]);
                i = j;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    Some(out)
}

fn push_code_point(out: &mut Vec<u8>, value: u64) {
    if value <= 0xff {
        out.push(value as u8);
        return;
    }
    match u32::try_from(value).ok().and_then(char::from_u32) {
        Some(c) => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        None => out.push(value as u8),
    }
}

fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Packs 6-bit values into bytes, dropping a trailing partial byte.
fn pack_sextets(values: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for v in values {
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// BASE64_DECODE: strict standard alphabet. Decoding stops at a NUL byte (the
/// reference treats the value as a C string); trailing padding is optional and
/// line breaks are ignored; anything else that is not Base64 makes the result
/// empty, as in ModSecurity.
pub fn base64(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() {
        return None;
    }
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let data = &input[..end];
    let mut values = Vec::with_capacity(data.len());
    let mut padding = 0;
    for &b in data {
        match b {
            b'\r' | b'\n' | b' ' => continue,
            b'=' => padding += 1,
            _ => match b64_value(b) {
                Some(v) if padding == 0 => values.push(v),
                _ => return Some(Vec::new()),
            },
        }
    }
    if padding > 2 || values.len() % 4 == 1 {
        return Some(Vec::new());
    }
    Some(pack_sextets(values.into_iter()))
}

/// BASE64_DECODE_EXT: forgiving; characters outside the alphabet are skipped.
pub fn base64_forgiving(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() {
        return None;
    }
    Some(pack_sextets(input.iter().filter_map(|&b| b64_value(b))))
}

/// HEX_DECODE: pairs of characters to bytes; an odd last character is dropped.
pub fn hex(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() {
        return None;
    }
    Some(input.chunks_exact(2).map(|p| x2c(p[0], p[1])).collect())
}

/// SQL_HEX_DECODE: `0x414243` becomes `ABC`; a `0x` without two hex digits
/// after it stays.
pub fn sql_hex(input: &[u8]) -> Option<Vec<u8>> {
    let has = input
        .windows(4)
        .any(|w| w[0] == b'0' && (w[1] | 0x20) == b'x' && is_hex(w[2]) && is_hex(w[3]));
    if !has {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        if input[i] == b'0'
            && i + 3 < n
            && (input[i + 1] | 0x20) == b'x'
            && is_hex(input[i + 2])
            && is_hex(input[i + 3])
        {
            i += 2;
            while i + 1 < n && is_hex(input[i]) && is_hex(input[i + 1]) {
                out.push(x2c(input[i], input[i + 1]));
                i += 2;
            }
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Up to three octal digits after `input[i]` (the backslash), as ModSecurity
/// reads them; `cap_byte` keeps only two when three would exceed one byte.
fn octal(input: &[u8], i: usize, cap_byte: bool) -> (u32, usize) {
    let mut j = 0;
    while i + 1 + j < input.len() && j < 3 {
        j += 1;
        if !is_odigit(input.get(i + 1 + j)) {
            break;
        }
    }
    if cap_byte && j == 3 && input[i + 1] > b'3' {
        j = 2;
    }
    let v = input[i + 1..i + 1 + j]
        .iter()
        .fold(0u32, |acc, &d| acc * 8 + (d - b'0') as u32);
    (v, j)
}

fn c_escape(c: u8) -> Option<u8> {
    Some(match c {
        b'a' => 0x07,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0b,
        b'\\' => b'\\',
        b'?' => b'?',
        b'\'' => b'\'',
        b'"' => b'"',
        _ => return None,
    })
}

/// ESCAPE_SEQ_DECODE: ANSI C escapes `\a \b \f \n \r \t \v \\ \? \' \"`,
/// `\xHH` and `\OOO`; an unrecognised escape loses its backslash.
pub fn escape_seq(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'\\') {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        if input[i] == b'\\' && i + 1 < n {
            let next = input[i + 1];
            if let Some(c) = c_escape(next) {
                out.push(c);
                i += 2;
            } else if (next == b'x' || next == b'X')
                && i + 3 < n
                && is_hex(input[i + 2])
                && is_hex(input[i + 3])
            {
                out.push(x2c(input[i + 2], input[i + 3]));
                i += 4;
            } else if is_odigit(Some(&next)) {
                let (v, j) = octal(input, i, false);
                out.push(v as u8);
                i += 1 + j;
            } else {
                out.push(next);
                i += 2;
            }
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// JS_DECODE: `\uHHHH` (low byte; full-width ASCII folded), `\xHH`, `\OOO`
/// (one byte at most) and the single-character escapes.
pub fn js(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'\\') {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        if i + 5 < n && input[i + 1] == b'u' && input[i + 2..i + 6].iter().all(|&b| is_hex(b)) {
            let mut d = x2c(input[i + 4], input[i + 5]);
            let full_width =
                matches!(input[i + 2], b'f' | b'F') && matches!(input[i + 3], b'f' | b'F');
            if d > 0 && d < 0x5f && full_width {
                d += 0x20;
            }
            out.push(d);
            i += 6;
        } else if i + 3 < n && input[i + 1] == b'x' && is_hex(input[i + 2]) && is_hex(input[i + 3])
        {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if i + 1 < n && is_odigit(input.get(i + 1)) {
            let (v, j) = octal(input, i, true);
            out.push(v as u8);
            i += 1 + j;
        } else if i + 1 < n {
            let next = input[i + 1];
            out.push(match next {
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            });
            i += 2;
        } else {
            out.extend_from_slice(&input[i..]);
            break;
        }
    }
    Some(out)
}

/// CSS_DECODE: CSS 2.x escapes. One to six hex digits after a backslash give a
/// byte from the last two of them (full-width ASCII folded), one whitespace
/// after a hex escape is swallowed, `\` + newline is a continuation, and `\c`
/// is `c`.
pub fn css(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'\\') {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        if i + 1 >= n {
            // A lone trailing backslash is dropped.
            i += 1;
            continue;
        }
        i += 1;
        let mut j = 0;
        while j < 6 && i + j < n && is_hex(input[i + j]) {
            j += 1;
        }
        if j > 0 {
            let last2 = |k: usize| x2c(input[k], input[k + 1]);
            let mut fullcheck = false;
            let mut d = match j {
                1 => hex_val(input[i]).unwrap_or(0),
                2 | 3 => last2(i + j - 2),
                4 => {
                    fullcheck = true;
                    last2(i + j - 2)
                }
                5 => {
                    fullcheck = input[i] == b'0';
                    last2(i + j - 2)
                }
                _ => {
                    fullcheck = input[i] == b'0' && input[i + 1] == b'0';
                    last2(i + j - 2)
                }
            };
            if fullcheck
                && d > 0
                && d < 0x5f
                && matches!(input[i + j - 3], b'f' | b'F')
                && matches!(input[i + j - 4], b'f' | b'F')
            {
                d += 0x20;
            }
            out.push(d);
            if i + j < n && is_c_space(input[i + j]) {
                j += 1;
            }
            i += j;
        } else if input[i] == b'\n' {
            i += 1;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// C `isspace` in the C locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// UTF8_TO_UNICODE: every valid multi-byte UTF-8 sequence becomes `%uHHHH`
/// (lower-case hex, at least four digits); ASCII and invalid bytes are copied.
pub fn utf8_to_unicode(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_ascii() {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n * 2);
    let mut i = 0;
    let cont = |k: usize| k < n && input[k] & 0xc0 == 0x80;
    while i < n {
        let c = input[i];
        let (len, lead_bits) = if c & 0xe0 == 0xc0 {
            (2, (c & 0x1f) as u32)
        } else if c & 0xf0 == 0xe0 {
            (3, (c & 0x0f) as u32)
        } else if c & 0xf8 == 0xf0 && c < 0xf5 {
            (4, (c & 0x07) as u32)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        if !(1..len).all(|k| cont(i + k)) {
            out.push(c);
            i += 1;
            continue;
        }
        let mut d = lead_bits;
        for k in 1..len {
            d = (d << 6) | (input[i + k] & 0x3f) as u32;
        }
        out.extend_from_slice(format!("%u{d:04x}").as_bytes());
        i += len;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Option<Vec<u8>>, input: &[u8]) -> Vec<u8> {
        v.unwrap_or_else(|| input.to_vec())
    }

    #[test]
    fn url_decoding() {
        let f = |i: &[u8]| s(url(i, false), i);
        assert_eq!(f(b"a%20b+c"), b"a b c");
        assert_eq!(f(b"%2527"), b"%27");
        assert_eq!(f(b"%zz%4"), b"%zz%4");
        let u = |i: &[u8]| s(url(i, true), i);
        assert_eq!(u(b"%u0041%uff01"), b"A!");
        assert_eq!(u(b"%u00"), b"%u00");
    }

    #[test]
    fn html_entities() {
        let f = |i: &[u8]| s(html_entity(i), i);
        assert_eq!(f(b"&lt;script&gt;"), b"<script>");
        assert_eq!(f(b"&#60;&#x3c;&#X3C"), b"<<<");
        assert_eq!(f(b"&foo; &"), b"&foo; &");
        assert_eq!(f("&#x263A;".as_bytes()), "\u{263a}".as_bytes());
    }

    #[test]
    fn base64_variants() {
        assert_eq!(base64(b"PHNjcmlwdD4=").unwrap(), b"<script>");
        assert_eq!(base64(b"PHNjcmlwdD4").unwrap(), b"<script>");
        assert_eq!(base64(b"P.HNj").unwrap(), b"");
        assert_eq!(base64_forgiving(b"P.HNjcmlwdD4=").unwrap(), b"<script>");
    }

    #[test]
    fn hex_and_sql_hex() {
        assert_eq!(hex(b"414243").unwrap(), b"ABC");
        assert_eq!(sql_hex(b"SELECT 0x414243").unwrap(), b"SELECT ABC");
        assert!(sql_hex(b"0xZZ").is_none());
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_seq(br"a\x41\101\n\q").unwrap(), b"aAA\nq");
        assert_eq!(js(br"\u0041\x42\103").unwrap(), b"ABC");
        assert_eq!(css(br"ja\vascript").unwrap(), b"javascript");
        assert_eq!(css(br"\6a \61 vascript").unwrap(), b"javascript");
    }

    #[test]
    fn utf8() {
        assert_eq!(utf8_to_unicode("é".as_bytes()).unwrap(), b"%u00e9");
        assert_eq!(utf8_to_unicode(&[0xff, b'a']).unwrap(), vec![0xff, b'a']);
    }
}
