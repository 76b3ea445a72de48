//! One client connection: reads requests (keep-alive, pipelining,
//! `Content-Length` bodies, `Expect: 100-continue`) under the deadlines of
//! [`Limits`], and writes responses.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::parse::{
    find_head_end, leading_blank_lines, parse_head_bytes, HttpError, Limits, Request,
};

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

fn timeout(what: &str) -> ReadOutcome {
    ReadOutcome::Reject(HttpError::new(
        408,
        "RequestTimeoutException",
        format!("the request {what} was not received in time"),
    ))
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

    /// Reads the next request. The head must arrive within
    /// `limits.head_timeout` of its first byte, the whole request within
    /// `limits.request_timeout`; before the first byte, `idle` decides.
    pub fn read_request(&mut self, limits: &Limits, idle: &dyn IdlePolicy) -> ReadOutcome {
        let waiting_since = Instant::now();
        let started_with = |buf: &[u8]| leading_blank_lines(buf) < buf.len();
        let mut started: Option<Instant> = started_with(&self.buf).then(Instant::now);
        let mut scanned = 0;
        // The head.
        let head = loop {
            let blank = leading_blank_lines(&self.buf);
            if blank > 0 {
                self.buf.drain(..blank);
                scanned = 0;
            }
            // Parse only once the head is complete (or too long): bytes that
            // trickle in are scanned for the blank line once each.
            let complete = find_head_end(&self.buf, scanned).is_some();
            scanned = self.buf.len();
            if complete || self.buf.len() > limits.max_head {
                match parse_head_bytes(&self.buf, limits) {
                    Ok(Some(h)) => break h,
                    Ok(None) => {}
                    Err(e) => return ReadOutcome::Reject(e),
                }
            }
            match self.fill() {
                Ok(Some(0)) | Err(_) => return ReadOutcome::Closed,
                Ok(Some(_)) => {
                    if started.is_none() && started_with(&self.buf) {
                        started = Some(Instant::now());
                    }
                }
                Ok(None) => match started {
                    None => {
                        if idle.give_up(waiting_since.elapsed()) {
                            return ReadOutcome::Closed;
                        }
                    }
                    Some(t) if t.elapsed() > limits.head_timeout => return timeout("head"),
                    Some(_) => {}
                },
            }
        };
        let started = started.unwrap_or_else(Instant::now);
        let mut req = head.request;
        let (body_start, len) = (head.body_start, head.body_len);
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
                        return timeout("body");
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
