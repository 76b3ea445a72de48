//! A small HTTP/1.1 server side: reads requests from a connection (keep-alive,
//! pipelining, `Content-Length` bodies, `Expect: 100-continue`) and writes
//! responses. Chunked request bodies are refused (411): AWS SDKs always send a
//! `Content-Length` for JSON operations.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

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
    pub idle_timeout: Duration,
    /// How long a client may take to send one request once it has started.
    pub request_timeout: Duration,
    /// How often a blocked read wakes to check for shutdown and idle limits.
    pub tick: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            max_head: 32 << 10,
            max_headers: 100,
            idle_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            tick: Duration::from_millis(100),
        }
    }
}

#[derive(Debug)]
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
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            kind,
            message: message.into(),
        }
    }
}

pub enum ReadOutcome {
    Request(Request),
    /// The connection is done: closed by the client, idle, or stopped.
    Closed,
    /// A malformed, oversized or too slow request: answer it, then close.
    Reject(HttpError),
}

/// What a connection waiting for its next request should do when idle.
pub trait IdlePolicy {
    /// Called on every tick while no byte of the next request has arrived;
    /// `idle` is how long the connection has waited. `true` closes it.
    fn give_up(&self, idle: Duration) -> bool;
}

impl<F: Fn(Duration) -> bool> IdlePolicy for F {
    fn give_up(&self, idle: Duration) -> bool {
        self(idle)
    }
}

/// One client connection with its read buffer (which may hold the start of a
/// pipelined next request).
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    // Returns (end of the head's last line, start of the body).
    let mut i = 0;
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

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl Conn {
    pub fn new(stream: TcpStream, tick: Duration) -> io::Result<Conn> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(tick))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Reads into the buffer. `Ok(None)`: a tick passed with nothing new.
    fn fill(&mut self) -> io::Result<Option<usize>> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(Some(n))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the next request.
    pub fn read_request(&mut self, limits: &Limits, idle: &dyn IdlePolicy) -> ReadOutcome {
        let waiting_since = Instant::now();
        let mut started: Option<Instant> = (!self.buf.is_empty()).then(Instant::now);
        // The head.
        let (head_end, body_start) = loop {
            // Blank lines before a request line are ignored (RFC 9112 §2.2).
            let blank = self
                .buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            self.buf.drain(..blank);
            let found = find_head_end(&self.buf);
            if found.map_or(self.buf.len(), |(end, _)| end) > limits.max_head {
                return ReadOutcome::Reject(HttpError::new(
                    431,
                    "RequestHeaderFieldsTooLarge",
                    format!(
                        "the request line and headers exceed {} bytes",
                        limits.max_head
                    ),
                ));
            }
            if let Some(found) = found {
                break found;
            }
            match self.fill() {
                Ok(Some(0)) | Err(_) => return ReadOutcome::Closed,
                Ok(Some(_)) => {
                    if started.is_none() && self.buf.iter().any(|&b| b != b'\r' && b != b'\n') {
                        started = Some(Instant::now());
                    }
                }
                Ok(None) => match started {
                    None => {
                        if idle.give_up(waiting_since.elapsed()) {
                            return ReadOutcome::Closed;
                        }
                    }
                    Some(t) if t.elapsed() > limits.request_timeout => {
                        return ReadOutcome::Reject(HttpError::new(
                            408,
                            "RequestTimeoutException",
                            "the request was not received in time",
                        ));
                    }
                    Some(_) => {}
                },
            }
        };
        let started = started.unwrap_or_else(Instant::now);
        let mut req = match parse_head(&self.buf[..head_end], limits) {
            Ok(r) => r,
            Err(e) => return ReadOutcome::Reject(e),
        };
        let len = match body_length(&req, limits) {
            Ok(n) => n,
            Err(e) => return ReadOutcome::Reject(e),
        };
        if let Some(expect) = req.header("expect") {
            if !expect.eq_ignore_ascii_case("100-continue") {
                return ReadOutcome::Reject(HttpError::new(
                    417,
                    "ExpectationFailed",
                    format!("unsupported expectation {expect:?} (only 100-continue)"),
                ));
            }
            if req.minor_version == 1
                && self.buf.len() < body_start + len
                && self
                    .stream
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .is_err()
            {
                return ReadOutcome::Closed;
            }
        }
        // The body.
        while self.buf.len() < body_start + len {
            match self.fill() {
                Ok(Some(0)) | Err(_) => return ReadOutcome::Closed,
                Ok(Some(_)) => {}
                Ok(None) => {
                    if started.elapsed() > limits.request_timeout {
                        return ReadOutcome::Reject(HttpError::new(
                            408,
                            "RequestTimeoutException",
                            "the request body was not received in time",
                        ));
                    }
                }
            }
        }
        req.body = self.buf[body_start..body_start + len].to_vec();
        self.buf.drain(..body_start + len);
        ReadOutcome::Request(req)
    }

    /// Writes a response.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Closes after an error response without losing it: stops sending, then
    /// reads and discards what the client is still sending for a short while
    /// (closing with unread data would reset the connection, and the client
    /// could lose the response).
    pub fn linger_close(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut discarded = 0usize;
        let mut chunk = [0u8; 16 * 1024];
        while Instant::now() < deadline && discarded < 64 << 20 {
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => discarded += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => break,
            }
        }
    }
}

fn bad(message: impl Into<String>) -> HttpError {
    HttpError::new(400, "BadRequest", message)
}

fn parse_head(head: &[u8], limits: &Limits) -> Result<Request, HttpError> {
    let head = std::str::from_utf8(head).map_err(|_| bad("the request head is not UTF-8"))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(format!("malformed request line {line:?}")));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(bad(format!("malformed method {method:?}")));
    }
    let minor_version = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => {
            return Err(HttpError::new(
                505,
                "HTTPVersionNotSupported",
                format!("{v} is not supported (HTTP/1.1 and HTTP/1.0 are)"),
            ))
        }
        _ => return Err(bad(format!("malformed request line {line:?}"))),
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
        return Err(bad(format!("malformed request target {target:?}")));
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
            return Err(bad(format!("malformed header line {line:?}")));
        };
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(bad(format!("malformed header name {name:?}")));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Err(bad(format!("control characters in header {name:?}")));
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
    let tokens = |name: &str| -> Vec<String> {
        req.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect()
    };
    let connection = tokens("connection");
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
                return Err(bad(format!("malformed Content-Length {v:?}")));
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

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A response ready to be written.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The bytes on the wire; `close` adds `Connection: close`.
    pub fn to_bytes(&self, close: bool, date: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\nDate: {date}\r\nContent-Length: {}\r\n",
            self.status,
            reason(self.status),
            self.body.len()
        );
        for (n, v) in &self.headers {
            let _ = write!(out, "{n}: {v}\r\n");
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn limits() -> Limits {
        Limits {
            max_body: 64,
            max_head: 512,
            max_headers: 8,
            idle_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_millis(500),
            tick: Duration::from_millis(20),
        }
    }

    /// Sends `bytes` from a client socket, then reads requests on the server side.
    fn serve(bytes: &'static [u8], n: usize) -> (Vec<ReadOutcome>, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        client.write_all(bytes).unwrap();
        let (s, _) = l.accept().unwrap();
        let mut conn = Conn::new(s, Duration::from_millis(20)).unwrap();
        let never = |_: Duration| false;
        let give_up = |d: Duration| d > Duration::from_millis(100);
        let out = (0..n)
            .map(|i| conn.read_request(&limits(), if i + 1 < n { &never } else { &give_up }))
            .collect();
        (out, client)
    }

    fn request(o: &ReadOutcome) -> &Request {
        match o {
            ReadOutcome::Request(r) => r,
            ReadOutcome::Closed => panic!("closed"),
            ReadOutcome::Reject(e) => panic!("rejected: {e:?}"),
        }
    }

    fn rejected(o: &ReadOutcome) -> &HttpError {
        match o {
            ReadOutcome::Reject(e) => e,
            _ => panic!("not rejected"),
        }
    }

    #[test]
    fn keep_alive_and_pipelining() {
        let (out, _c) = serve(
            b"POST /?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}\
              POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\nConnection: close\r\n\r\nabc",
            3,
        );
        let a = request(&out[0]);
        assert_eq!(
            (a.method.as_str(), a.path.as_str(), a.query.as_str()),
            ("POST", "/", "a=1")
        );
        assert_eq!((a.body.as_slice(), a.keep_alive), (&b"{}"[..], true));
        let b = request(&out[1]);
        assert_eq!((b.body.as_slice(), b.keep_alive), (&b"abc"[..], false));
        assert!(matches!(out[2], ReadOutcome::Closed));
    }

    #[test]
    fn http_1_0_closes_by_default() {
        let (out, _c) = serve(b"GET / HTTP/1.0\r\n\r\n", 1);
        assert!(!request(&out[0]).keep_alive);
        let (out, _c) = serve(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1);
        assert!(request(&out[0]).keep_alive);
    }

    #[test]
    fn refusals() {
        let cases: [(&'static [u8], u16); 10] = [
            (
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n",
                413,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                411,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
                400,
            ),
            (b"POST / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
            (b"POST / HTTP/1.1\r\n\r\n", 400),
            (b"POST  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", 417),
            (b"POST / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400),
        ];
        for (bytes, status) in cases {
            let (out, _c) = serve(bytes, 1);
            assert_eq!(
                rejected(&out[0]).status,
                status,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        let many: &'static [u8] = Box::leak(
            format!(
                "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
                "X-A: b\r\n".repeat(9)
            )
            .into_bytes()
            .into_boxed_slice(),
        );
        let (out, _c) = serve(many, 1);
        assert_eq!(rejected(&out[0]).status, 431);
        let huge: &'static [u8] = Box::leak(
            format!(
                "GET / HTTP/1.1\r\nHost: h\r\nX-A: {}\r\n\r\n",
                "b".repeat(600)
            )
            .into_bytes()
            .into_boxed_slice(),
        );
        let (out, _c) = serve(huge, 1);
        assert_eq!(rejected(&out[0]).status, 431);
    }

    #[test]
    fn slow_request_times_out_and_idle_connection_closes() {
        let (out, _c) = serve(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab",
            1,
        );
        assert_eq!(rejected(&out[0]).status, 408);
        let (out, _c) = serve(b"", 1);
        assert!(matches!(out[0], ReadOutcome::Closed));
    }

    #[test]
    fn expect_100_continue() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        client
            .write_all(
                b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
            )
            .unwrap();
        let (s, _) = l.accept().unwrap();
        let t = std::thread::spawn(move || {
            let mut conn = Conn::new(s, Duration::from_millis(20)).unwrap();
            match conn.read_request(&limits(), &|_: Duration| false) {
                ReadOutcome::Request(r) => r.body,
                _ => panic!(),
            }
        });
        let mut got = [0u8; 25];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"HTTP/1.1 100 Continue\r\n\r\n");
        client.write_all(b"body").unwrap();
        assert_eq!(t.join().unwrap(), b"body");
    }

    #[test]
    fn response_bytes() {
        let r = Response {
            status: 413,
            headers: vec![("Content-Type", "application/x-amz-json-1.1".into())],
            body: b"{}".to_vec(),
        };
        assert_eq!(
            String::from_utf8(r.to_bytes(true, "D")).unwrap(),
            "HTTP/1.1 413 Content Too Large\r\nDate: D\r\nContent-Length: 2\r\nContent-Type: application/x-amz-json-1.1\r\nConnection: close\r\n\r\n{}"
        );
    }
}
