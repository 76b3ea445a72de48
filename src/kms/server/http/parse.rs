//! The request-head parser as pure functions over bytes: no I/O, no clock, no
//! panic on any input (the fuzz target and `tests/kms_http_parse.rs` feed it
//! arbitrary bytes). [`Conn`](super::Conn) uses the same functions on what it
//! has read so far.

/// Bounds on what one request may make the server hold or wait for.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted body (`Content-Length`); larger is refused with 413.
    pub max_body: usize,
    /// Largest request line + headers; larger is refused with 431.
    pub max_head: usize,
    /// Most header lines.
    pub max_headers: usize,
    /// How long a kept-alive connection may sit idle between requests.
    pub idle_timeout: std::time::Duration,
    /// How long a client may take to send a request head: from its first byte,
    /// and on a new connection from the accept (408 beyond, or closed when
    /// nothing came).
    pub head_timeout: std::time::Duration,
    /// How long a client may take to send one whole request (head and body).
    pub request_timeout: std::time::Duration,
    /// How often a blocked read wakes to check for shutdown and deadlines.
    pub tick: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        use std::time::Duration;
        Limits {
            max_body: 1 << 20,
            max_head: 32 << 10,
            max_headers: 100,
            idle_timeout: Duration::from_secs(20),
            head_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            tick: Duration::from_millis(100),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path of the request target, as sent (percent-encoded).
    pub path: String,
    /// The query string without `?`.
    pub query: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Names and values as received (values without surrounding white space).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the client wants the connection kept open after the response.
    pub keep_alive: bool,
}

impl Request {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An error that ends the connection after an answer: HTTP status, AWS error
/// type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl HttpError {
    pub(super) fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            kind,
            message: message.into(),
        }
    }
}

fn bad(message: impl Into<String>) -> HttpError {
    HttpError::new(400, "BadRequest", message)
}

/// A request head found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The request, without its body.
    pub request: Request,
    /// Bytes before the head (blank lines, which RFC 9112 §2.2 lets a server ignore).
    pub skipped: usize,
    /// Where the body starts, from the start of the buffer.
    pub body_start: usize,
    /// The body's length (`Content-Length`, 0 without one).
    pub body_len: usize,
}

/// The number of leading CR and LF bytes.
pub fn leading_blank_lines(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// Where the head in `buf` ends: (end of its last line, start of the body),
/// searching from byte `from` on (so a caller reading a little at a time scans
/// each byte a bounded number of times).
pub fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from.saturating_sub(2).min(buf.len());
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

/// The head at the start of `buf`: `Ok(None)` while it is incomplete (and
/// still within `limits.max_head`), an error for what must be refused.
pub fn parse_head_bytes(buf: &[u8], limits: &Limits) -> Result<Option<Head>, HttpError> {
    let skipped = leading_blank_lines(buf);
    let rest = &buf[skipped..];
    let found = find_head_end(rest, 0);
    if found.map_or(rest.len(), |(end, _)| end) > limits.max_head {
        return Err(HttpError::new(
            431,
            "RequestHeaderFieldsTooLarge",
            format!(
                "the request line and headers exceed {} bytes",
                limits.max_head
            ),
        ));
    }
    let Some((end, body)) = found else {
        return Ok(None);
    };
    let request = parse_head(&rest[..end], limits)?;
    let body_len = body_length(&request, limits)?;
    Ok(Some(Head {
        request,
        skipped,
        body_start: skipped + body,
        body_len,
    }))
}

/// One whole request at the start of `buf` and the bytes it took: `Ok(None)`
/// while head or body is incomplete.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<(Request, usize)>, HttpError> {
    let Some(head) = parse_head_bytes(buf, limits)? else {
        return Ok(None);
    };
    let Some(end) = head.body_start.checked_add(head.body_len) else {
        return Ok(None);
    };
    let Some(body) = buf.get(head.body_start..end) else {
        return Ok(None);
    };
    let mut req = head.request;
    req.body = body.to_vec();
    Ok(Some((req, end)))
}

/// A complete request in `bytes` (default [`Limits`]); an incomplete one is a
/// 400. What the fuzz target calls: it never panics.
pub fn parse_request_bytes(bytes: &[u8]) -> Result<Request, HttpError> {
    match parse_request(bytes, &Limits::default())? {
        Some((req, _)) => Ok(req),
        None => Err(bad("the request is incomplete")),
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_head(head: &[u8], limits: &Limits) -> Result<Request, HttpError> {
    let head = std::str::from_utf8(head).map_err(|_| bad("the request head is not UTF-8"))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(format!("malformed request line {:?}", clip(line))));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(bad(format!("malformed method {:?}", clip(method))));
    }
    let minor_version = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => {
            return Err(HttpError::new(
                505,
                "HTTPVersionNotSupported",
                format!("{} is not supported (HTTP/1.1 and HTTP/1.0 are)", clip(v)),
            ))
        }
        _ => return Err(bad(format!("malformed request line {:?}", clip(line)))),
    };
    // origin-form, or absolute-form (`http://host/path?q`).
    let origin = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        rest.find('/').map_or("/", |i| &rest[i..])
    } else if target.starts_with('/') || target == "*" {
        target
    } else {
        return Err(bad(format!("malformed request target {:?}", clip(target))));
    };
    if origin.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad(
            "the request target contains white space or control characters",
        ));
    }
    let origin = origin.split_once('#').map_or(origin, |(o, _)| o);
    let (path, query) = origin.split_once('?').unwrap_or((origin, ""));

    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(bad("obsolete header line folding is not accepted"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("malformed header line {:?}", clip(line))));
        };
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(bad(format!("malformed header name {:?}", clip(name))));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Err(bad(format!(
                "control characters in header {:?}",
                clip(name)
            )));
        }
        headers.push((name.to_string(), value.to_string()));
        if headers.len() > limits.max_headers {
            return Err(HttpError::new(
                431,
                "RequestHeaderFieldsTooLarge",
                format!("more than {} header lines", limits.max_headers),
            ));
        }
    }
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        minor_version,
        headers,
        body: Vec::new(),
        keep_alive: false,
    };
    let connection: Vec<String> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    req.keep_alive = if minor_version == 1 {
        !connection.iter().any(|t| t == "close")
    } else {
        connection.iter().any(|t| t == "keep-alive")
    };
    if minor_version == 1 && req.header("host").is_none() {
        return Err(bad("an HTTP/1.1 request needs a Host header"));
    }
    Ok(req)
}

/// At most 64 characters of `s`, for messages (a head can be 32 KiB long).
fn clip(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn body_length(req: &Request, limits: &Limits) -> Result<usize, HttpError> {
    if req.header("transfer-encoding").is_some() {
        return Err(HttpError::new(
            411,
            "LengthRequired",
            "chunked (Transfer-Encoding) request bodies are not accepted: send Content-Length",
        ));
    }
    let mut len: Option<u64> = None;
    for (_, v) in req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        for item in v.split(',') {
            let item = item.trim();
            if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("malformed Content-Length {:?}", clip(v))));
            }
            let n: u64 = item.parse().unwrap_or(u64::MAX);
            if len.is_some_and(|l| l != n) {
                return Err(bad("conflicting Content-Length headers"));
            }
            len = Some(n);
        }
    }
    let len = len.unwrap_or(0);
    if len > limits.max_body as u64 {
        return Err(HttpError::new(
            413,
            "RequestEntityTooLargeException",
            format!(
                "the request body of {len} bytes exceeds the limit of {} bytes",
                limits.max_body
            ),
        ));
    }
    Ok(len as usize)
}
