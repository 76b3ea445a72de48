//! Finding the events of a JSON log without parsing the whole file.
//!
//! CloudTrail delivers `{"Records": [ ... ]}` files (often one line of many
//! megabytes); exports and Route 53 write one event per line; people also
//! keep a JSON array of events or a single event. The scanner walks the bytes
//! once, tracking only strings and brackets, and cuts out each event's text with
//! the file position of its opening brace. Parsing the events into documents
//! happens elsewhere, in parallel. Memory holds one event at a time (bounded),
//! never the Records array.
//!
//! A broken event is one error; the scanner resynchronises on the next event
//! (the next line for one-event-per-line files, the next `{"eventVersion"`-like
//! start inside arrays) so the events after it still load.

use std::io::{self, Read};

use super::errors::Errors;
use super::reader::read_more;
use crate::doc::Pos;
use crate::load::json::MAX_JSON_DEPTH;

/// Event texts cut from the stream, with the position of each opening brace.
#[derive(Default)]
pub(crate) struct Batch {
    pub data: Vec<u8>,
    pub events: Vec<(usize, usize, Pos)>,
}

/// Where the scanner is in the file's structure.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    /// Between top-level values (events, arrays, Records wrappers).
    Top,
    /// Inside a top-level array of events.
    Array,
    /// Inside the array of a `{"Records": [`.
    Records,
    /// Inside a Records wrapper object, after its array.
    WrapperRest,
}

/// Why scanning a value stopped early.
enum Stop {
    /// The stream ended (or failed to read) inside the value.
    Eof,
    /// Structurally broken at `pos`.
    Broken(Pos, String),
}

pub(crate) struct Scanner<'e> {
    r: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    /// Start of the event being cut out, in `buf`; bytes from here are kept.
    cap: Option<usize>,
    /// The event being cut out outgrew the bound: scanned to its end, not kept.
    oversized: bool,
    eof: bool,
    pub read_error: Option<io::Error>,
    line: u64,
    col: u64,
    max_event: usize,
    ctx: Vec<Ctx>,
    /// In an array: an element (or the closing bracket) comes next.
    expect_elem: bool,
    /// One event per line: an event still open at the end of its line is broken.
    line_mode: Option<bool>,
    /// The first key of the first good event (`eventVersion`), to resynchronise on.
    first_key: Option<Vec<u8>>,
    /// Line on which the last complete event ended.
    pub last_good_line: u64,
    started: bool,
    /// The stream ended inside an event (already reported).
    ended_in_event: bool,
    errs: &'e Errors<'e>,
}

impl<'e> Scanner<'e> {
    pub fn new(r: Box<dyn Read + Send>, max_event: usize, errs: &'e Errors<'e>) -> Self {
        Scanner {
            r,
            buf: Vec::new(),
            pos: 0,
            cap: None,
            oversized: false,
            eof: false,
            read_error: None,
            line: 1,
            col: 1,
            max_event: max_event.max(1),
            ctx: vec![Ctx::Top],
            expect_elem: false,
            line_mode: None,
            first_key: None,
            last_good_line: 0,
            started: false,
            ended_in_event: false,
            errs,
        }
    }

    fn here(&self) -> Pos {
        Pos::new(sat(self.line), sat(self.col))
    }

    fn error(&self, pos: Pos, msg: impl Into<String>) {
        self.errs.record(pos, msg);
    }

    /// Make `buf[pos + ahead]` available; false at the end of the stream.
    fn fill(&mut self, ahead: usize) -> bool {
        while self.pos + ahead >= self.buf.len() {
            if self.eof {
                return false;
            }
            let keep = self.cap.unwrap_or(self.pos);
            if keep > 0 && (keep >= self.buf.len() / 2 || self.buf.len() > (1 << 20)) {
                self.buf.drain(..keep);
                self.pos -= keep;
                if let Some(c) = self.cap.as_mut() {
                    *c = 0;
                }
            }
            match read_more(&mut *self.r, &mut self.buf, 256 * 1024) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => {
                    self.eof = true;
                    self.read_error = Some(e);
                }
            }
        }
        true
    }

    fn peek(&mut self) -> Option<u8> {
        if self.fill(0) {
            Some(self.buf[self.pos])
        } else {
            None
        }
    }

    fn peek_at(&mut self, ahead: usize) -> Option<u8> {
        if self.fill(ahead) {
            Some(self.buf[self.pos + ahead])
        } else {
            None
        }
    }

    #[inline]
    fn bump(&mut self, c: u8) {
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if c & 0xC0 != 0x80 {
            self.col += 1;
        }
        if let Some(cap) = self.cap {
            if self.pos - cap > self.max_event {
                // Keep scanning to the event's end, but stop holding it.
                self.cap = None;
                self.oversized = true;
            }
        }
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.bump(c);
            } else {
                break;
            }
        }
    }

    /// Cut out the events of the stream until about `target` bytes are batched.
    /// None when the stream is done.
    pub fn next_batch(&mut self, target: usize) -> Option<Batch> {
        let mut batch = Batch::default();
        while batch.data.len() < target && batch.events.len() < 4096 {
            if !self.step(&mut batch) {
                break;
            }
        }
        if batch.events.is_empty() && self.peek().is_none() {
            return None;
        }
        Some(batch)
    }

    /// One step of the structure: an event, a bracket, a separator. False at the end.
    fn step(&mut self, batch: &mut Batch) -> bool {
        if !self.started {
            self.started = true;
            if self.peek() == Some(0xEF)
                && self.peek_at(1) == Some(0xBB)
                && self.peek_at(2) == Some(0xBF)
            {
                self.pos += 3;
            }
        }
        self.skip_ws();
        let ctx = *self.ctx.last().unwrap_or(&Ctx::Top);
        let Some(c) = self.peek() else {
            if ctx != Ctx::Top && self.read_error.is_none() && !self.ended_in_event {
                let what = match ctx {
                    Ctx::Records | Ctx::WrapperRest => "the Records object (expected ']' and '}')",
                    _ => "the array of events (expected ']')",
                };
                self.error(
                    self.here(),
                    format!("the file ends inside {what}; the events before this point were read"),
                );
            }
            return false;
        };
        match ctx {
            Ctx::Top => match c {
                b'{' => {
                    if self.records_wrapper_ahead() {
                        self.ctx.push(Ctx::Records);
                        self.expect_elem = true;
                    } else {
                        self.event(batch, Ctx::Top);
                    }
                }
                b'[' => {
                    self.bump(c);
                    self.ctx.push(Ctx::Array);
                    self.expect_elem = true;
                }
                _ => {
                    let found = self.found();
                    self.error(
                        self.here(),
                        format!("expected an event (a JSON object), an array of events or a {{\"Records\": [...]}} object, {found}"),
                    );
                    self.resync_line();
                }
            },
            Ctx::Array | Ctx::Records => match c {
                b']' => {
                    self.bump(c);
                    self.ctx.pop();
                    if ctx == Ctx::Records {
                        self.ctx.push(Ctx::WrapperRest);
                    }
                }
                b',' if !self.expect_elem => {
                    self.bump(c);
                    self.expect_elem = true;
                }
                b'{' if self.expect_elem => self.event(batch, ctx),
                _ if self.expect_elem => {
                    let found = self.found();
                    self.error(
                        self.here(),
                        format!("expected an event (a JSON object) in the array, {found}"),
                    );
                    match self.scan_value() {
                        Ok(()) => self.expect_elem = false,
                        Err(_) => self.resync_array(),
                    }
                }
                _ => {
                    let found = self.found();
                    self.error(
                        self.here(),
                        format!("expected ',' or ']' after an event, {found}"),
                    );
                    self.resync_array();
                }
            },
            Ctx::WrapperRest => match c {
                b'}' => {
                    self.bump(c);
                    self.ctx.pop();
                }
                b',' => {
                    // Another key of the wrapper: skip its value unread.
                    self.bump(c);
                    self.skip_ws();
                    let ok = self.scan_value().is_ok() && {
                        self.skip_ws();
                        self.peek() == Some(b':')
                    };
                    if ok {
                        self.bump(b':');
                        self.skip_ws();
                        if self.scan_value().is_err() {
                            self.ctx.pop();
                        }
                    } else {
                        self.error(
                            self.here(),
                            "expected a key and value after ',' in the Records object",
                        );
                        self.ctx.pop();
                        self.resync_line();
                    }
                }
                _ => {
                    let found = self.found();
                    self.error(
                        self.here(),
                        format!("expected '}}' to close the Records object, {found}"),
                    );
                    self.ctx.pop();
                    self.resync_line();
                }
            },
        }
        true
    }

    fn found(&mut self) -> String {
        match self.peek() {
            None => "found end of input".into(),
            Some(c) if c.is_ascii_graphic() || c == b' ' => format!("found '{}'", c as char),
            Some(c) => format!("found byte 0x{c:02X}"),
        }
    }

    /// At a `{`: is it `{"Records": [`? If so, consume through the `[`.
    fn records_wrapper_ahead(&mut self) -> bool {
        let mut k = 1;
        let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        let skip = |s: &mut Self, k: &mut usize| {
            while s.peek_at(*k).is_some_and(ws) && *k < 4096 {
                *k += 1;
            }
        };
        skip(self, &mut k);
        for &b in b"\"Records\"" {
            if self.peek_at(k) != Some(b) {
                return false;
            }
            k += 1;
        }
        skip(self, &mut k);
        if self.peek_at(k) != Some(b':') {
            return false;
        }
        k += 1;
        skip(self, &mut k);
        if self.peek_at(k) != Some(b'[') {
            return false;
        }
        for _ in 0..=k {
            let c = self.buf[self.pos];
            self.bump(c);
        }
        true
    }

    /// Cut out the event object at the cursor.
    fn event(&mut self, batch: &mut Batch, ctx: Ctx) {
        let start = self.here();
        self.cap = Some(self.pos);
        self.oversized = false;
        let res = self.scan_value();
        let cap = self.cap.take();
        match res {
            Ok(()) => {
                self.expect_elem = false;
                if self.oversized {
                    self.error(
                        start,
                        format!(
                            "event larger than the {} limit for one record; skipped without reading it into memory",
                            super::flowread::human_bytes(self.max_event as u64)
                        ),
                    );
                } else if let Some(cap) = cap {
                    let text = &self.buf[cap..self.pos];
                    if self.first_key.is_none() {
                        self.first_key = first_key(text);
                    }
                    let at = batch.data.len();
                    batch.data.extend_from_slice(text);
                    batch.events.push((at, batch.data.len(), start));
                }
                if ctx == Ctx::Top && self.line_mode.is_none() {
                    self.line_mode = Some(u64::from(start.line) == self.line);
                }
                self.last_good_line = self.line;
            }
            Err(Stop::Eof) => {
                self.ended_in_event = true;
                if self.read_error.is_none() {
                    self.error(
                        start,
                        format!(
                            "the file ends inside this event (line {}): expected the rest of the event and its closing '}}'",
                            start.line
                        ),
                    );
                }
            }
            Err(Stop::Broken(pos, msg)) => {
                self.error(
                    pos,
                    format!(
                        "{msg}; the event starting at line {} is skipped",
                        start.line
                    ),
                );
                match ctx {
                    Ctx::Top => self.resync_line(),
                    _ => self.resync_array(),
                }
            }
        }
    }

    /// Scan one JSON value structurally (strings and brackets only).
    fn scan_value(&mut self) -> Result<(), Stop> {
        let Some(c) = self.peek() else {
            return Err(Stop::Eof);
        };
        if c != b'{' && c != b'[' {
            // A scalar: up to the next delimiter.
            if c == b'"' {
                return self.scan_string();
            }
            while let Some(c) = self.peek() {
                if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | b':') {
                    return Ok(());
                }
                self.bump(c);
            }
            return Ok(());
        }
        let top_line = self.line;
        let in_line_mode = self.line_mode == Some(true) && self.ctx.last() == Some(&Ctx::Top);
        let mut stack: Vec<u8> = Vec::with_capacity(16);
        loop {
            let Some(c) = self.peek() else {
                return Err(Stop::Eof);
            };
            match c {
                b'"' => self.scan_string()?,
                b'{' | b'[' => {
                    if stack.len() >= MAX_JSON_DEPTH {
                        return Err(Stop::Broken(
                            self.here(),
                            format!("nesting deeper than {MAX_JSON_DEPTH} levels"),
                        ));
                    }
                    stack.push(if c == b'{' { b'}' } else { b']' });
                    self.bump(c);
                }
                b'}' | b']' => {
                    if stack.pop() != Some(c) {
                        let want = if c == b'}' { "']'" } else { "'}'" };
                        return Err(Stop::Broken(
                            self.here(),
                            format!(
                                "mismatched '{}': expected {want} or more of the value",
                                c as char
                            ),
                        ));
                    }
                    self.bump(c);
                    if stack.is_empty() {
                        return Ok(());
                    }
                }
                b'\n' if in_line_mode && self.line == top_line => {
                    let here = self.here();
                    // The next line is the next event: resynchronise right there.
                    self.bump(c);
                    return Err(Stop::Broken(
                        here,
                        "the event is not closed at the end of its line (expected '}')".into(),
                    ));
                }
                _ => self.bump(c),
            }
        }
    }

    /// A string; the cursor is on the opening quote.
    fn scan_string(&mut self) -> Result<(), Stop> {
        let open = self.here();
        self.bump(b'"');
        loop {
            if !self.fill(0) {
                return Err(Stop::Eof);
            }
            let rest = &self.buf[self.pos..];
            match memchr::memchr3(b'"', b'\\', b'\n', rest) {
                None => {
                    let n = rest.len();
                    self.advance_run(n);
                }
                Some(i) => {
                    self.advance_run(i);
                    let c = self.buf[self.pos];
                    match c {
                        b'"' => {
                            self.bump(c);
                            return Ok(());
                        }
                        b'\\' => {
                            self.bump(c);
                            match self.peek() {
                                Some(b'\n') | None => {}
                                Some(e) => self.bump(e),
                            }
                        }
                        _ => {
                            return Err(Stop::Broken(
                                open,
                                "unterminated string: expected a closing '\"' before the end of the line".into(),
                            ))
                        }
                    }
                }
            }
        }
    }

    /// Advance over `n` bytes known to hold no newline.
    fn advance_run(&mut self, n: usize) {
        let run = &self.buf[self.pos..self.pos + n];
        let chars = run.iter().filter(|&&b| (b as i8) >= -0x40).count();
        self.col += chars as u64;
        self.pos += n;
        if let Some(cap) = self.cap {
            if self.pos - cap > self.max_event {
                self.cap = None;
                self.oversized = true;
            }
        }
    }

    /// After a broken top-level value: skip to the next line that starts a value.
    fn resync_line(&mut self) {
        // To the end of this line (a newline just consumed counts as one).
        let at_line_start = self.col == 1;
        if !at_line_start {
            while let Some(c) = self.peek() {
                self.bump(c);
                if c == b'\n' {
                    break;
                }
            }
        }
        loop {
            // Skip leading whitespace of the line; stop at a line starting '{' or '['.
            while let Some(c) = self.peek() {
                if c == b' ' || c == b'\t' || c == b'\r' {
                    self.bump(c);
                } else {
                    break;
                }
            }
            match self.peek() {
                None | Some(b'{') | Some(b'[') => return,
                Some(_) => {
                    while let Some(c) = self.peek() {
                        self.bump(c);
                        if c == b'\n' {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// After a broken event inside an array: find where the next event starts —
    /// `{` followed by the first key of the events read so far, else `}` `,` `{`.
    fn resync_array(&mut self) {
        self.expect_elem = true;
        let key = self.first_key.clone();
        loop {
            let Some(c) = self.peek() else { return };
            match (c, &key) {
                (b'{', Some(k)) => {
                    let mut j = 1;
                    while self
                        .peek_at(j)
                        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
                        && j < 256
                    {
                        j += 1;
                    }
                    if (0..k.len()).all(|i| self.peek_at(j + i) == Some(k[i])) {
                        return;
                    }
                }
                (b'}', None) => {
                    self.bump(c);
                    self.skip_ws();
                    if self.peek() == Some(b',') {
                        self.bump(b',');
                        self.skip_ws();
                        if self.peek() == Some(b'{') {
                            return;
                        }
                    }
                    continue;
                }
                // Perhaps the end of the array: let the caller close it.
                (b']', _) if self.array_end_ahead() => {
                    self.expect_elem = false;
                    return;
                }
                _ => {}
            }
            self.bump(c);
        }
    }

    /// At a `]`: is it the end of the events array? For a Records file `]`
    /// `}` then the end of the stream or the next value; for a plain array the
    /// end of the stream or the next value. (`]}` alone is common inside events.)
    fn array_end_ahead(&mut self) -> bool {
        let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        let mut j = 1;
        while self.peek_at(j).is_some_and(ws) && j < 4096 {
            j += 1;
        }
        if self.ctx.last() == Some(&Ctx::Records) {
            if self.peek_at(j) != Some(b'}') {
                return false;
            }
            j += 1;
            while self.peek_at(j).is_some_and(ws) && j < 4096 {
                j += 1;
            }
        }
        matches!(self.peek_at(j), None | Some(b'{') | Some(b'['))
    }
}

/// The first key of an object's text, quotes included (`"eventVersion"`).
fn first_key(text: &[u8]) -> Option<Vec<u8>> {
    let i = text.iter().skip(1).position(|c| !c.is_ascii_whitespace())? + 1;
    if text.get(i) != Some(&b'"') {
        return None;
    }
    let end = memchr::memchr(b'"', &text[i + 1..])? + i + 1;
    let key = &text[i..=end];
    (key.len() > 2 && !key.contains(&b'\\')).then(|| key.to_vec())
}

fn sat(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str, max: usize) -> (Vec<(String, Pos)>, Vec<String>) {
        let errs = Errors::new("t.json", 100);
        let mut events = Vec::new();
        {
            let mut s = Scanner::new(
                Box::new(io::Cursor::new(text.as_bytes().to_vec())),
                max,
                &errs,
            );
            while let Some(b) = s.next_batch(7) {
                for &(a, z, p) in &b.events {
                    events.push((String::from_utf8(b.data[a..z].to_vec()).unwrap(), p));
                }
            }
        }
        let errors = errs.finish().into_iter().map(|e| e.to_string()).collect();
        (events, errors)
    }

    #[test]
    fn records_wrapper_on_one_line() {
        let (ev, errs) = scan(
            r#"{"Records":[{"eventVersion":"1.08","a":"}]"},{"eventVersion":"1.08","é":[1,{"x":2}]}]}"#,
            1000,
        );
        assert_eq!(errs, Vec::<String>::new());
        assert_eq!(ev.len(), 2);
        assert_eq!(
            ev[0],
            (
                r#"{"eventVersion":"1.08","a":"}]"}"#.to_string(),
                Pos::new(1, 13)
            )
        );
        assert_eq!(ev[1].1, Pos::new(1, 46));
    }

    #[test]
    fn arrays_lines_and_single_events() {
        let (ev, errs) = scan("[\n  {\"a\": 1},\n  {\"b\": [2]}\n]\n", 1000);
        assert!(errs.is_empty());
        assert_eq!(
            ev.iter().map(|e| e.1).collect::<Vec<_>>(),
            vec![Pos::new(2, 3), Pos::new(3, 3)]
        );
        let (ev, _) = scan("{\"a\": 1}\n{\"b\": 2}\n\n{\"c\": 3}", 1000);
        assert_eq!(
            ev.iter().map(|e| e.1.line).collect::<Vec<_>>(),
            vec![1, 2, 4]
        );
        let (ev, _) = scan("\u{feff}{\n \"a\": {\"b\": 1}\n}\n", 1000);
        assert_eq!(ev.len(), 1);
    }

    #[test]
    fn broken_events_are_skipped_and_the_rest_loads() {
        // One event per line; the second is not closed on its line.
        let (ev, errs) = scan("{\"a\": 1}\n{\"b\": [2\n{\"c\": 3}\n", 1000);
        assert_eq!(ev.iter().map(|e| e.1.line).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(errs, vec!["t.json:2:9: the event is not closed at the end of its line (expected '}'); the event starting at line 2 is skipped"]);
        // Inside a Records array: a mismatched bracket, resynchronised on the next event.
        let text = "{\"Records\": [\n{\"eventVersion\": \"1\", \"x\": [1}, \n{\"eventVersion\": \"2\"},\n{\"eventVersion\": \"3\"}]}";
        let (ev, errs) = scan(text, 1000);
        assert_eq!(ev.iter().map(|e| e.1.line).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("t.json:2:30: mismatched '}'"),
            "{errs:?}"
        );
        // Truncated in the middle of an event.
        let (ev, errs) = scan("{\"Records\": [{\"a\": 1}, {\"b\": ", 1000);
        assert_eq!(ev.len(), 1);
        assert_eq!(errs, vec!["t.json:1:24: the file ends inside this event (line 1): expected the rest of the event and its closing '}'"]);
    }

    #[test]
    fn oversized_events_are_skipped() {
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(100));
        let (ev, errs) = scan(&format!("{{\"ok\": 1}}\n{big}\n{{\"ok\": 2}}\n"), 50);
        assert_eq!(ev.iter().map(|e| e.1.line).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(errs, vec!["t.json:2:1: event larger than the 50 bytes limit for one record; skipped without reading it into memory"]);
    }

    #[test]
    fn garbage_between_events() {
        let (ev, errs) = scan("{\"a\": 1}\nnot json at all\n{\"b\": 2}\n", 1000);
        assert_eq!(ev.len(), 2);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("t.json:2:1: expected an event"),
            "{errs:?}"
        );
    }
}
