//! Character-level transformations: case, whitespace, NULs, comments, command
//! line normalisation.

use super::decode::is_c_space;

const NBSP: u8 = 0xa0;

pub fn lowercase(input: &[u8]) -> Option<Vec<u8>> {
    input
        .iter()
        .any(u8::is_ascii_uppercase)
        .then(|| input.to_ascii_lowercase())
}

pub fn uppercase(input: &[u8]) -> Option<Vec<u8>> {
    input
        .iter()
        .any(u8::is_ascii_lowercase)
        .then(|| input.to_ascii_uppercase())
}

/// COMPRESS_WHITE_SPACE: runs of `\f \t \n \r \v`, space and non-breaking space
/// (0xA0) become one space.
pub fn compress_whitespace(input: &[u8]) -> Option<Vec<u8>> {
    let ws = |b: u8| is_c_space(b) || b == NBSP;
    let needed =
        input.windows(2).any(|w| ws(w[0]) && ws(w[1])) || input.iter().any(|&b| ws(b) && b != b' ');
    if !needed {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut in_ws = false;
    for &b in input {
        if ws(b) {
            if !in_ws {
                out.push(b' ');
                in_ws = true;
            }
        } else {
            out.push(b);
            in_ws = false;
        }
    }
    Some(out)
}

/// REMOVE_WHITESPACE: drops all whitespace, including 0xA0 and 0xC2 (the lead
/// byte of a UTF-8 non-breaking space), as ModSecurity's removeWhitespace.
pub fn remove_whitespace(input: &[u8]) -> Option<Vec<u8>> {
    let ws = |b: u8| is_c_space(b) || b == NBSP || b == 0xc2;
    input
        .iter()
        .any(|&b| ws(b))
        .then(|| input.iter().copied().filter(|&b| !ws(b)).collect())
}

pub fn trim(input: &[u8], left: bool, right: bool) -> Option<Vec<u8>> {
    let mut s = input;
    if left {
        while let [first, rest @ ..] = s {
            if !is_c_space(*first) {
                break;
            }
            s = rest;
        }
    }
    if right {
        while let [rest @ .., last] = s {
            if !is_c_space(*last) {
                break;
            }
            s = rest;
        }
    }
    (s.len() != input.len()).then(|| s.to_vec())
}

pub fn remove_nulls(input: &[u8]) -> Option<Vec<u8>> {
    input
        .contains(&0)
        .then(|| input.iter().copied().filter(|&b| b != 0).collect())
}

pub fn replace_nulls(input: &[u8]) -> Option<Vec<u8>> {
    input.contains(&0).then(|| {
        input
            .iter()
            .map(|&b| if b == 0 { b' ' } else { b })
            .collect()
    })
}

/// REPLACE_COMMENTS: each `/* ... */` becomes one space; an unterminated comment
/// runs to the end and also becomes a space; a lone `*/` stays.
pub fn replace_comments(input: &[u8]) -> Option<Vec<u8>> {
    if !input.windows(2).any(|w| w == b"/*") {
        return None;
    }
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut in_comment = false;
    let mut i = 0;
    while i < n {
        if !in_comment {
            if input[i] == b'/' && i + 1 < n && input[i + 1] == b'*' {
                in_comment = true;
                i += 2;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else if input[i] == b'*' && i + 1 < n && input[i + 1] == b'/' {
            in_comment = false;
            out.push(b' ');
            i += 2;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    Some(out)
}

/// REMOVE_COMMENTS_CHAR: removes the comment markers `/*`, `*/`, `<!--`, `-->`,
/// `--` and `#` (not the text between them).
pub fn remove_comment_chars(input: &[u8]) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let rest = &input[i..];
        if rest.starts_with(b"/*") || rest.starts_with(b"*/") {
            i += 2;
        } else if rest.starts_with(b"<!--") {
            i += 4;
        } else if rest.starts_with(b"-->") {
            i += 3;
        } else if rest.starts_with(b"--") {
            i += 2;
        } else if rest[0] == b'#' {
            i += 1;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    (out.len() != n).then_some(out)
}

/// CMD_LINE: deletes `\ " ' ^`, deletes spaces before `/` and `(`, turns `,` `;`
/// and whitespace into one space, and lower-cases.
pub fn cmd_line(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut space = false;
    for &b in input {
        match b {
            b'"' | b'\'' | b'\\' | b'^' => {}
            b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(b);
            }
            _ => {
                out.push(b.to_ascii_lowercase());
                space = false;
            }
        }
    }
    (out != input).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_line_examples() {
        assert_eq!(cmd_line(b"C^OMMAND /C DIR").unwrap(), b"command/c dir");
        assert_eq!(cmd_line(b"cmd,/c DiR").unwrap(), b"cmd/c dir");
        assert!(cmd_line(b"ls").is_none());
    }

    #[test]
    fn whitespace() {
        assert_eq!(compress_whitespace(b"a \t\n b").unwrap(), b"a b");
        assert!(compress_whitespace(b"a b").is_none());
        assert_eq!(compress_whitespace(&[b'a', 0xa0, b'b']).unwrap(), b"a b");
        assert_eq!(remove_whitespace(b" a b ").unwrap(), b"ab");
        assert_eq!(trim(b"  a  ", true, false).unwrap(), b"a  ");
        assert_eq!(trim(b"  a  ", false, true).unwrap(), b"  a");
    }

    #[test]
    fn comments() {
        assert_eq!(
            replace_comments(b"UNION/**/SELECT").unwrap(),
            b"UNION SELECT"
        );
        assert_eq!(replace_comments(b"a/* open").unwrap(), b"a ");
        assert_eq!(remove_comment_chars(b"a/*b*/c--d#e").unwrap(), b"abcde");
    }
}
