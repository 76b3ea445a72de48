//! The JSON body as AWS WAF reads it: a forgiving parser that tolerates missing
//! commas and colons (AWS documents `{"k1":"v1""k2":"v2"}` and
//! `{"k1"::"v1"}` as valid), stops at the first real error (invalid character,
//! duplicate key, truncation, a root that is not an object or array), and keeps
//! every element it read before that point.
//!
//! Iterative, with bounded nesting, so hostile bodies cannot overflow the stack.

/// Deepest nesting read; deeper content is a parse failure.
pub const MAX_DEPTH: usize = 256;

/// One element of the parsed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonElem {
    /// JSON pointer (RFC 6901, escaped) of the value, or of the object that holds
    /// the key.
    pub path: String,
    pub is_key: bool,
    /// Key or scalar value text: strings unescaped, numbers as written,
    /// `true`/`false`/`null` as words.
    pub text: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedJson {
    pub elems: Vec<JsonElem>,
    /// False when parsing stopped at an error before the end.
    pub complete: bool,
}

enum Frame {
    Obj {
        path: String,
        keys: Vec<Vec<u8>>,
        /// Key read, waiting for its value.
        pending_key: Option<String>,
    },
    Arr {
        path: String,
        index: usize,
    },
}

pub fn parse(body: &[u8]) -> ParsedJson {
    let mut p = Parser {
        b: body,
        i: 0,
        out: Vec::new(),
    };
    let complete = p.run().is_some();
    ParsedJson {
        elems: p.out,
        complete,
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    out: Vec<JsonElem>,
}

fn escape_key(k: &[u8]) -> String {
    String::from_utf8_lossy(k)
        .replace('~', "~0")
        .replace('/', "~1")
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.i).copied()
    }

    /// `Some(())` when the whole body parsed; `None` at the first error.
    fn run(&mut self) -> Option<()> {
        let mut stack: Vec<Frame> = Vec::new();
        match self.peek()? {
            b'{' => {
                self.i += 1;
                stack.push(Frame::Obj {
                    path: String::new(),
                    keys: Vec::new(),
                    pending_key: None,
                });
            }
            b'[' => {
                self.i += 1;
                stack.push(Frame::Arr {
                    path: String::new(),
                    index: 0,
                });
            }
            _ => return None,
        }
        while let Some(top) = stack.last_mut() {
            let c = self.peek()?;
            match top {
                Frame::Obj {
                    path,
                    keys,
                    pending_key,
                } => {
                    if pending_key.is_none() {
                        match c {
                            b'}' => {
                                self.i += 1;
                                stack.pop();
                            }
                            b',' => self.i += 1,
                            b'"' => {
                                let key = self.string()?;
                                if keys.contains(&key) {
                                    return None;
                                }
                                self.out.push(JsonElem {
                                    path: path.clone(),
                                    is_key: true,
                                    text: key.clone(),
                                });
                                *pending_key = Some(format!("{path}/{}", escape_key(&key)));
                                keys.push(key);
                                // Any number of colons, including none.
                                while self.peek() == Some(b':') {
                                    self.i += 1;
                                }
                            }
                            _ => return None,
                        }
                    } else {
                        let vpath = pending_key.take().unwrap_or_default();
                        if let Some(f) = self.value(vpath)? {
                            if stack.len() >= MAX_DEPTH {
                                return None;
                            }
                            stack.push(f);
                        }
                    }
                }
                Frame::Arr { path, index } => match c {
                    b']' => {
                        self.i += 1;
                        stack.pop();
                    }
                    b',' => self.i += 1,
                    _ => {
                        let vpath = format!("{path}/{index}");
                        *index += 1;
                        if let Some(f) = self.value(vpath)? {
                            if stack.len() >= MAX_DEPTH {
                                return None;
                            }
                            stack.push(f);
                        }
                    }
                },
            }
        }
        // Trailing content after the root is an error.
        if self.peek().is_some() {
            return None;
        }
        Some(())
    }

    /// Reads a value at `path`: scalars are emitted, containers returned as the
    /// frame to push. `None` on error.
    fn value(&mut self, path: String) -> Option<Option<Frame>> {
        match self.peek()? {
            b'{' => {
                self.i += 1;
                Some(Some(Frame::Obj {
                    path,
                    keys: Vec::new(),
                    pending_key: None,
                }))
            }
            b'[' => {
                self.i += 1;
                Some(Some(Frame::Arr { path, index: 0 }))
            }
            b'"' => {
                let text = self.string()?;
                self.out.push(JsonElem {
                    path,
                    is_key: false,
                    text,
                });
                Some(None)
            }
            _ => {
                let start = self.i;
                while self.i < self.b.len()
                    && !matches!(
                        self.b[self.i],
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b':' | b'"'
                    )
                {
                    self.i += 1;
                }
                let word = &self.b[start..self.i];
                let ok = matches!(word, b"true" | b"false" | b"null") || is_number(word);
                if !ok {
                    return None;
                }
                self.out.push(JsonElem {
                    path,
                    is_key: false,
                    text: word.to_vec(),
                });
                Some(None)
            }
        }
    }

    /// A string starting at the opening quote; escapes decoded.
    fn string(&mut self) -> Option<Vec<u8>> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = *self.b.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.b.get(self.i) == Some(&b'\\')
                                && self.b.get(self.i + 1) == Some(&b'u')
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xdc00..0xe000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let s = self.b.get(self.i..self.i + 4)?;
        self.i += 4;
        let mut v = 0u32;
        for &c in s {
            v = v * 16 + super::transform::hex_val(c)? as u32;
        }
        Some(v)
    }
}

fn is_number(w: &[u8]) -> bool {
    let s = match std::str::from_utf8(w) {
        Ok(s) => s,
        Err(_) => return false,
    };
    !s.is_empty() && s.parse::<f64>().is_ok() && !s.starts_with('+') && !s.contains("inf")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &ParsedJson, keys: bool) -> Vec<String> {
        p.elems
            .iter()
            .filter(|e| e.is_key == keys)
            .map(|e| format!("{}={}", e.path, String::from_utf8_lossy(&e.text)))
            .collect()
    }

    #[test]
    fn elements_and_paths() {
        let p = parse(br#"{"a":{"c":"d","b":{"e":{"f":"g"}}},"n":[1,true,"x"]}"#);
        assert!(p.complete);
        assert_eq!(
            texts(&p, false),
            ["/a/c=d", "/a/b/e/f=g", "/n/0=1", "/n/1=true", "/n/2=x"]
        );
        assert_eq!(
            texts(&p, true),
            ["=a", "/a=c", "/a=b", "/a/b=e", "/a/b/e=f", "=n"]
        );
    }

    #[test]
    fn aws_documented_leniency() {
        let p = parse(br#"{"key1":"value1""key2":"value2"}"#);
        assert!(p.complete);
        assert_eq!(texts(&p, false), ["/key1=value1", "/key2=value2"]);
        let p = parse(br#"{"key1":"value1","key2""value2"}"#);
        assert!(p.complete);
        let p = parse(br#"{"key1"::"value1","key2""value2"}"#);
        assert!(p.complete);
        assert_eq!(p.elems.len(), 4);
    }

    #[test]
    fn failures_keep_what_came_before() {
        let p = parse(br#"{"a":"1","a":"2"}"#);
        assert!(!p.complete);
        assert_eq!(texts(&p, false), ["/a=1"]);
        let p = parse(br#"{"a":"1","b":"tru"#);
        assert!(!p.complete);
        assert_eq!(texts(&p, false), ["/a=1"]);
        assert!(!parse(b"\"just a string\"").complete);
        assert!(!parse(b"{\"a\": nope}").complete);
        assert!(!parse(b"").complete);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let body = "[".repeat(100_000);
        assert!(!parse(body.as_bytes()).complete);
    }

    #[test]
    fn escapes_and_pointer_escaping() {
        let p = parse(br#"{"a/b~":"\u0041\n"}"#);
        assert_eq!(p.elems[1].path, "/a~1b~0");
        assert_eq!(p.elems[1].text, b"A\n");
    }
}
