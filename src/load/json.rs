//! A span-aware JSON parser (RFC 8259).
//!
//! serde_json does not report where values are, and findings must point at a line
//! and column, so we parse by hand. The parser is iterative (an explicit stack, so
//! hostile nesting cannot overflow the thread stack), works on bytes, and counts
//! columns incrementally so that a 50 MB single-line `terraform show -json` plan
//! stays linear.

use super::error::LoadError;
use super::find_duplicate_key;
use crate::doc::{Entry, Node, Pos, Value};

/// Deepest nesting of arrays/objects accepted (the same bound as YAML).
pub const MAX_JSON_DEPTH: usize = 256;

/// Parse one JSON text. A leading UTF-8 BOM is ignored. Numbers written without
/// fraction or exponent that fit an i64 become `Int`, all others `Float`.
pub fn parse_json(src: &str, path: &str) -> Result<Value, LoadError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    JsonParser::new(src, path).parse()
}

/// Parse one JSON text that sits at `start` inside a larger file (an event of a
/// log), so that every position — values and errors — is a position in that file.
/// No BOM is skipped: the text is a slice from the middle of the file.
pub fn parse_json_at(src: &str, path: &str, start: Pos) -> Result<Value, LoadError> {
    let mut p = JsonParser::new(src, path);
    p.line = start.line.max(1);
    p.first_col = start.col.max(1);
    p.col = p.first_col;
    p.parse()
}

enum Frame {
    Arr {
        items: Vec<Value>,
        pos: Pos,
    },
    Obj {
        entries: Vec<Entry>,
        pos: Pos,
        key: String,
        key_pos: Pos,
    },
}

struct JsonParser<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    path: &'a str,
    line: u32,
    line_start: usize,
    /// Column cache: byte offset on the current line and its 1-based char column.
    col_at: usize,
    col: u32,
    /// Column of the text's first character: 1 unless the text starts mid-line
    /// in a larger file ([`parse_json_at`]).
    first_col: u32,
}

const VALUE_EXPECTED: &str =
    "expected a JSON value (object, array, string, number, true, false or null)";

impl<'a> JsonParser<'a> {
    fn new(src: &'a str, path: &'a str) -> Self {
        JsonParser {
            src,
            b: src.as_bytes(),
            i: 0,
            path,
            line: 1,
            line_start: 0,
            col_at: 0,
            col: 1,
            first_col: 1,
        }
    }

    /// Position of byte offset `at`, which must be on the current line. Offsets are
    /// asked for in increasing order, so counting from the cache keeps this linear.
    fn pos_at(&mut self, at: usize) -> Pos {
        if self.col_at < self.line_start || at < self.col_at {
            self.col_at = self.line_start;
            self.col = if self.line_start == 0 {
                self.first_col
            } else {
                1
            };
        }
        let at = at.min(self.b.len());
        let chars = self.b[self.col_at..at]
            .iter()
            .filter(|&&c| (c & 0xC0) != 0x80)
            .count();
        self.col = self
            .col
            .saturating_add(u32::try_from(chars).unwrap_or(u32::MAX));
        self.col_at = at;
        Pos::new(self.line, self.col)
    }

    fn err_at(&mut self, at: usize, message: impl Into<String>) -> LoadError {
        let pos = self.pos_at(at);
        LoadError::at(self.path, pos, message)
    }

    /// "found 'x'" / "found end of input", for messages.
    fn found(&self, at: usize) -> String {
        match self.src.get(at..).and_then(|s| s.chars().next()) {
            None => "found end of input".to_string(),
            Some(c) if c.is_control() => format!("found {c:?}"),
            Some(c) => format!("found '{c}'"),
        }
    }

    fn expected(&mut self, at: usize, what: &str) -> LoadError {
        let found = self.found(at);
        self.err_at(at, format!("{what}, {found}"))
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                    self.col_at = self.i;
                    self.col = 1;
                }
                _ => break,
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn parse(mut self) -> Result<Value, LoadError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            self.skip_ws();
            let start = self.i;
            let pos = self.pos_at(start);
            let mut value = match self.peek() {
                Some(b'{') | Some(b'[') => {
                    if stack.len() >= MAX_JSON_DEPTH {
                        return Err(self.err_at(
                            start,
                            format!("nesting deeper than {MAX_JSON_DEPTH} levels"),
                        ));
                    }
                    let is_obj = self.peek() == Some(b'{');
                    self.i += 1;
                    self.skip_ws();
                    if is_obj {
                        if self.peek() == Some(b'}') {
                            self.i += 1;
                            Value::new(Node::Map(Vec::new()), pos)
                        } else {
                            let (key, key_pos) = self.key(
                                "expected '\"' to start an object key or '}' to end the object",
                            )?;
                            stack.push(Frame::Obj {
                                entries: Vec::new(),
                                pos,
                                key,
                                key_pos,
                            });
                            continue 'value;
                        }
                    } else if self.peek() == Some(b']') {
                        self.i += 1;
                        Value::new(Node::Seq(Vec::new()), pos)
                    } else {
                        stack.push(Frame::Arr {
                            items: Vec::new(),
                            pos,
                        });
                        continue 'value;
                    }
                }
                Some(b'"') => Value::new(Node::Str(self.string()?), pos),
                Some(b't') => self.literal(b"true", Node::Bool(true), pos)?,
                Some(b'f') => self.literal(b"false", Node::Bool(false), pos)?,
                Some(b'n') => self.literal(b"null", Node::Null, pos)?,
                Some(b'-' | b'0'..=b'9') => Value::new(self.number()?, pos),
                Some(b']') if matches!(stack.last(), Some(Frame::Arr { .. })) => {
                    return Err(self.err_at(
                        start,
                        "trailing comma: expected another array element after ','",
                    ))
                }
                _ => return Err(self.expected(start, VALUE_EXPECTED)),
            };
            // Attach the finished value to its parents, closing containers as we go.
            loop {
                let Some(top) = stack.last_mut() else {
                    self.skip_ws();
                    if self.i < self.b.len() {
                        return Err(self.expected(
                            self.i,
                            "expected end of input after the JSON value (trailing characters)",
                        ));
                    }
                    return Ok(value);
                };
                match top {
                    Frame::Arr { items, .. } => {
                        items.push(value);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                continue 'value;
                            }
                            Some(b']') => {
                                self.i += 1;
                                let Some(Frame::Arr { items, pos }) = stack.pop() else {
                                    unreachable!("top of stack is an array")
                                };
                                value = Value::new(Node::Seq(items), pos);
                            }
                            _ => {
                                return Err(self
                                    .expected(self.i, "expected ',' or ']' after array element"))
                            }
                        }
                    }
                    Frame::Obj {
                        entries,
                        key,
                        key_pos,
                        ..
                    } => {
                        entries.push(Entry {
                            key: std::mem::take(key),
                            key_pos: *key_pos,
                            value,
                        });
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                self.skip_ws();
                                let (k, kp) = if self.peek() == Some(b'}') {
                                    return Err(self.err_at(
                                        self.i,
                                        "trailing comma: expected another object member after ','",
                                    ));
                                } else {
                                    self.key("expected '\"' to start an object key after ','")?
                                };
                                if let Some(Frame::Obj { key, key_pos, .. }) = stack.last_mut() {
                                    *key = k;
                                    *key_pos = kp;
                                }
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.i += 1;
                                let Some(Frame::Obj { entries, pos, .. }) = stack.pop() else {
                                    unreachable!("top of stack is an object")
                                };
                                if let Some((a, b)) = find_duplicate_key(&entries) {
                                    let (first, dup) = (&entries[a], &entries[b]);
                                    return Err(LoadError::at(
                                        self.path,
                                        dup.key_pos,
                                        format!(
                                            "duplicate key \"{}\" in object (first at line {}, column {})",
                                            dup.key, first.key_pos.line, first.key_pos.col
                                        ),
                                    ));
                                }
                                value = Value::new(Node::Map(entries), pos);
                            }
                            _ => {
                                return Err(self
                                    .expected(self.i, "expected ',' or '}' after object member"))
                            }
                        }
                    }
                }
            }
        }
    }

    /// An object key and the ':' after it; the cursor is on the opening quote.
    fn key(&mut self, expected: &str) -> Result<(String, Pos), LoadError> {
        if self.peek() != Some(b'"') {
            return Err(self.expected(self.i, expected));
        }
        let key_pos = self.pos_at(self.i);
        let key = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.expected(self.i, "expected ':' after object key"));
        }
        self.i += 1;
        Ok((key, key_pos))
    }

    fn literal(&mut self, word: &[u8], node: Node, pos: Pos) -> Result<Value, LoadError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(Value::new(node, pos))
        } else {
            Err(self.expected(self.i, VALUE_EXPECTED))
        }
    }

    fn number(&mut self) -> Result<Node, LoadError> {
        let start = self.i;
        let b = self.b;
        let mut i = self.i;
        if b[i] == b'-' {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    return Err(self.err_at(start, "invalid number: leading zeros are not allowed"));
                }
            }
            Some(b'1'..=b'9') => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return Err(self.expected(i, "invalid number: expected a digit after '-'")),
        }
        let mut integral = true;
        if b.get(i) == Some(&b'.') {
            integral = false;
            i += 1;
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(self.expected(i, "invalid number: expected a digit after '.'"));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integral = false;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(self.expected(i, "invalid number: expected a digit in the exponent"));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.i = i;
        let text = &self.src[start..i];
        if integral {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Node::Int(n));
            }
        }
        match text.parse::<f64>() {
            Ok(f) => Ok(Node::Float(f)),
            Err(_) => Err(self.err_at(start, "invalid number")),
        }
    }

    /// A string; the cursor is on the opening quote. Unescaped runs are copied as
    /// whole slices.
    fn string(&mut self) -> Result<String, LoadError> {
        let open = self.i;
        let b = self.b;
        let mut i = open + 1;
        let mut run = i;
        let mut out: Option<String> = None;
        loop {
            while i < b.len() && b[i] != b'"' && b[i] != b'\\' && b[i] >= 0x20 {
                i += 1;
            }
            let Some(&c) = b.get(i) else {
                return Err(self.err_at(open, "unterminated string: expected a closing '\"'"));
            };
            match c {
                b'"' => {
                    self.i = i + 1;
                    return Ok(match out {
                        None => self.src[run..i].to_string(),
                        Some(mut s) => {
                            s.push_str(&self.src[run..i]);
                            s
                        }
                    });
                }
                b'\\' => {
                    let s = out.get_or_insert_with(String::new);
                    s.push_str(&self.src[run..i]);
                    let esc_at = i;
                    let ch = match b.get(i + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4(i + 2, esc_at)?;
                            i += 6;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if b.get(i) != Some(&b'\\') || b.get(i + 1) != Some(&b'u') {
                                    return Err(self.err_at(
                                        esc_at,
                                        format!("unpaired surrogate \\u{hi:04X} in string: expected a following \\uDC00-\\uDFFF escape"),
                                    ));
                                }
                                let lo = self.hex4(i + 2, i)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err_at(
                                        i,
                                        format!("invalid low surrogate \\u{lo:04X} in string: expected \\uDC00-\\uDFFF after \\u{hi:04X}"),
                                    ));
                                }
                                i += 6;
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err_at(
                                    esc_at,
                                    format!("unpaired surrogate \\u{hi:04X} in string: a low surrogate must follow a high one"),
                                ));
                            } else {
                                hi
                            };
                            // Surrogates are handled above, so this is a valid scalar.
                            if let Some(ch) = char::from_u32(code) {
                                out.get_or_insert_with(String::new).push(ch);
                            }
                            run = i;
                            continue;
                        }
                        Some(_) => {
                            let found = self.found(i + 1);
                            return Err(self.err_at(
                                esc_at,
                                format!("invalid escape in string: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, {found}"),
                            ));
                        }
                        None => {
                            return Err(
                                self.err_at(open, "unterminated string: expected a closing '\"'")
                            )
                        }
                    };
                    s.push(ch);
                    i += 2;
                    run = i;
                }
                _ => {
                    let msg = if c == b'\n' || c == b'\r' {
                        "unterminated string: expected a closing '\"' before the end of the line"
                            .to_string()
                    } else {
                        format!(
                            "control character U+{c:04X} in string must be escaped (e.g. \\u{c:04X})"
                        )
                    };
                    return Err(self.err_at(i, msg));
                }
            }
        }
    }

    fn hex4(&mut self, at: usize, esc_at: usize) -> Result<u32, LoadError> {
        let digits = self.b.get(at..at + 4);
        match digits {
            Some(d) if d.iter().all(u8::is_ascii_hexdigit) => {
                let s = std::str::from_utf8(d).unwrap_or("0");
                Ok(u32::from_str_radix(s, 16).unwrap_or(0))
            }
            _ => Err(self.err_at(
                esc_at,
                "invalid \\u escape in string: expected 4 hexadecimal digits",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Value {
        parse_json(src, "t.json").unwrap()
    }

    fn err(src: &str) -> LoadError {
        parse_json(src, "t.json").unwrap_err()
    }

    #[test]
    fn scalars_and_numbers() {
        let v = ok(
            r#"{"a": 1, "b": -2.5, "c": 1e3, "d": 9223372036854775808, "e": true, "f": false, "g": null, "h": -0}"#,
        );
        assert_eq!(v.get("a").unwrap().node, Node::Int(1));
        assert_eq!(v.get("b").unwrap().node, Node::Float(-2.5));
        assert_eq!(v.get("c").unwrap().node, Node::Float(1000.0));
        assert_eq!(
            v.get("d").unwrap().node,
            Node::Float(9_223_372_036_854_775_808.0)
        );
        assert_eq!(v.get("e").unwrap().node, Node::Bool(true));
        assert_eq!(v.get("f").unwrap().node, Node::Bool(false));
        assert_eq!(v.get("g").unwrap().node, Node::Null);
        assert_eq!(v.get("h").unwrap().node, Node::Int(0));
    }

    #[test]
    fn string_escapes() {
        let v = ok(r#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u4e2d", "\ud83d\ude00", "plain"]"#);
        let s = v.as_seq().unwrap();
        assert_eq!(s[0].as_str(), Some("a\"b\\c/d\u{8}\u{c}\n\r\t"));
        assert_eq!(s[1].as_str(), Some("é中"));
        assert_eq!(s[2].as_str(), Some("😀"));
        assert_eq!(s[3].as_str(), Some("plain"));
    }

    #[test]
    fn positions_count_characters() {
        let v = ok("{\n  \"é\": \"ü\", \"k\": [1,\n    {\"x\": 2}]\n}");
        assert_eq!(v.pos, Pos::new(1, 1));
        let e = v.entry("é").unwrap();
        assert_eq!(e.key_pos, Pos::new(2, 3));
        assert_eq!(e.value.pos, Pos::new(2, 8));
        let k = v.entry("k").unwrap();
        assert_eq!(k.key_pos, Pos::new(2, 13));
        assert_eq!(k.value.pos, Pos::new(2, 18));
        let inner = &k.value.as_seq().unwrap()[1];
        assert_eq!(inner.pos, Pos::new(3, 5));
        assert_eq!(inner.entry("x").unwrap().key_pos, Pos::new(3, 6));
        assert_eq!(inner.get("x").unwrap().pos, Pos::new(3, 11));
    }

    #[test]
    fn error_messages() {
        let cases: &[(&str, (u32, u32), &str)] = &[
            (
                "{\"a\": 1 \"b\": 2}",
                (1, 9),
                "expected ',' or '}' after object member",
            ),
            ("[1 2]", (1, 4), "expected ',' or ']' after array element"),
            ("{\"a\" 1}", (1, 6), "expected ':' after object key"),
            ("{a: 1}", (1, 2), "expected '\"' to start an object key"),
            ("{\"a\": 1,}", (1, 9), "trailing comma"),
            ("[1,]", (1, 4), "trailing comma"),
            ("{\"a\": tru}", (1, 7), "expected a JSON value"),
            ("\"abc", (1, 1), "unterminated string"),
            ("\"a\nb\"", (1, 3), "unterminated string"),
            ("\"\\x\"", (1, 2), "invalid escape"),
            ("\"\\ud800\"", (1, 2), "unpaired surrogate"),
            ("\"\\u12\"", (1, 2), "4 hexadecimal digits"),
            ("01", (1, 1), "leading zeros"),
            ("-x", (1, 2), "expected a digit after '-'"),
            ("1.", (1, 3), "expected a digit after '.'"),
            ("1e", (1, 3), "exponent"),
            ("{} x", (1, 4), "trailing characters"),
            ("", (1, 1), "found end of input"),
            ("{\"a\": 1, \"a\": 2}", (1, 10), "duplicate key \"a\""),
            ("\n\n   ]", (3, 4), "expected a JSON value"),
        ];
        for (src, (line, col), msg) in cases {
            let e = err(src);
            assert_eq!(e.pos, Some(Pos::new(*line, *col)), "{src:?}: {e}");
            assert!(e.message.contains(msg), "{src:?}: {e}");
        }
    }

    #[test]
    fn depth_is_bounded_without_overflow() {
        for n in [10_000usize, 100_000] {
            let e = err(&format!("{}{}", "[".repeat(n), "]".repeat(n)));
            assert_eq!(e.message, "nesting deeper than 256 levels");
            assert_eq!(e.pos, Some(Pos::new(1, 257)));
            let e = err(&"{\"a\":".repeat(n));
            assert_eq!(e.message, "nesting deeper than 256 levels");
        }
        let ok_depth = format!("{}{}", "[".repeat(256), "]".repeat(256));
        assert!(parse_json(&ok_depth, "t").is_ok());
    }

    #[test]
    fn positions_offset_into_a_larger_file() {
        let v = parse_json_at("{\"a\": 1,\n \"b\": 2}", "t.json", Pos::new(7, 30)).unwrap();
        assert_eq!(v.pos, Pos::new(7, 30));
        assert_eq!(v.entry("a").unwrap().key_pos, Pos::new(7, 31));
        assert_eq!(v.get("a").unwrap().pos, Pos::new(7, 36));
        assert_eq!(v.entry("b").unwrap().key_pos, Pos::new(8, 2));
        let e = parse_json_at("{\"a\" 1}", "t.json", Pos::new(3, 10)).unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(3, 15)));
    }

    #[test]
    fn bom_is_skipped() {
        let v = ok("\u{feff}{\"a\": 1}");
        assert_eq!(v.entry("a").unwrap().key_pos, Pos::new(1, 2));
    }

    #[test]
    fn agrees_with_serde_json_on_valid_input() {
        let src = r#"{"a": [1, 2.5, "x\u0041", {"b": null}], "c": {"d": true}}"#;
        let ours = ok(src);
        let theirs: serde_json::Value = serde_json::from_str(src).unwrap();
        fn same(v: &Value, j: &serde_json::Value) -> bool {
            match (&v.node, j) {
                (Node::Null, serde_json::Value::Null) => true,
                (Node::Bool(a), serde_json::Value::Bool(b)) => a == b,
                (Node::Int(a), serde_json::Value::Number(n)) => n.as_i64() == Some(*a),
                (Node::Float(a), serde_json::Value::Number(n)) => n.as_f64() == Some(*a),
                (Node::Str(a), serde_json::Value::String(b)) => a == b,
                (Node::Seq(a), serde_json::Value::Array(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
                }
                (Node::Map(a), serde_json::Value::Object(b)) => {
                    a.len() == b.len()
                        && a.iter()
                            .all(|e| b.get(&e.key).is_some_and(|y| same(&e.value, y)))
                }
                _ => false,
            }
        }
        assert!(same(&ours, &theirs));
    }

    #[test]
    fn fuzz_random_input_never_panics() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        let alphabet: &[u8] = b"{}[]:,\"\\u0123456789abcdefE.+-tnrl \n\t\0";
        for _ in 0..5000 {
            let len = (next() % 48) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if next() % 5 == 0 {
                        (next() % 256) as u8
                    } else {
                        alphabet[(next() as usize) % alphabet.len()]
                    }
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse_json(&s, "fuzz.json");
        }
    }
}
