//! Security log loaders: VPC Flow Logs, CloudTrail, Route 53 Resolver query logs.
//!
//! Logs are recognised by content ([`sniff`]), gunzipped transparently (gzip is
//! told by its magic bytes, not the name) and streamed: a file of any size is
//! read in chunks of whole records with bounded memory, parsed on rayon workers
//! while the next chunk is read or decompressed, and handed to a sink chunk by
//! chunk. Every record knows its 1-based line. A malformed record is one error
//! (file, line, what was expected) and is skipped; the rest of the file loads.
//!
//! - `flow`: typed flow log records that borrow the chunk's text (no allocation
//!   per record); formats from the header line, `--flowlog-format` or the default.
//! - `events`: CloudTrail and Route 53 events as [`crate::doc::Value`]s whose
//!   positions are positions in the log file.

mod errors;
pub mod events;
pub mod fields;
pub mod flow;
mod flowread;
mod jsonscan;
mod reader;
mod scan;
mod sniff;
pub mod time;

use std::io::Read;
use std::path::Path;

pub use events::{normalise_domain, Event};
pub use fields::{FieldType, FlowField};
pub use flow::{FlowFormat, FlowRecord, FlowStatus, FlowValue};
pub use sniff::{sniff, SNIFF_BYTES};

use crate::load::LoadError;

/// The kinds of log deadbolt reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    FlowLog,
    CloudTrail,
    Route53,
}

impl LogKind {
    /// What the log is called in messages.
    pub fn label(self) -> &'static str {
        match self {
            LogKind::FlowLog => "VPC flow log",
            LogKind::CloudTrail => "CloudTrail log",
            LogKind::Route53 => "Route 53 Resolver query log",
        }
    }
}

/// How logs are read.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// The format of flow logs without a header line (`--flowlog-format`). A
    /// header line in the file takes precedence: it is what AWS wrote.
    pub flowlog_format: Option<FlowFormat>,
    /// Size of the pieces a file is cut into for parallel parsing.
    pub chunk_bytes: usize,
    /// Longest record (a flow log line, a JSON event) read; a longer one is an
    /// error and is skipped without being held in memory.
    pub max_line_bytes: usize,
    /// Record errors listed per file; the rest are counted in one closing line.
    pub max_errors: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            flowlog_format: None,
            chunk_bytes: 4 << 20,
            max_line_bytes: 16 << 20,
            max_errors: 100,
        }
    }
}

/// A batch of records handed to the sink.
#[derive(Clone, Copy, Debug)]
pub enum Chunk<'a> {
    Flow(&'a [FlowRecord<'a>]),
    /// CloudTrail and Route 53.
    Events(&'a [Event]),
}

/// Read one log file (plain or gzip, told by its magic bytes), calling `sink`
/// for each chunk of records — from several rayon threads at once, in no
/// particular order (records carry their line; event time is in the records).
/// Returns the errors: malformed records (skipped), over-long records, a
/// truncated gzip (naming the last good line), an unreadable file.
pub fn read_log(
    path: &Path,
    display: &str,
    kind: LogKind,
    opts: &LogOptions,
    sink: &(dyn Fn(Chunk<'_>) + Sync),
) -> Vec<LoadError> {
    match std::fs::File::open(path) {
        Ok(f) => read_log_from(Box::new(f), display, kind, opts, sink),
        Err(e) => vec![LoadError::file(
            display,
            format!("cannot read the {}: {e}", kind.label()),
        )],
    }
}

/// [`read_log`] over any byte stream (stdin, memory).
pub fn read_log_from(
    r: Box<dyn Read + Send>,
    display: &str,
    kind: LogKind,
    opts: &LogOptions,
    sink: &(dyn Fn(Chunk<'_>) + Sync),
) -> Vec<LoadError> {
    let errs = errors::Errors::new(display, opts.max_errors);
    match reader::open_reader(r) {
        Ok(input) => match kind {
            LogKind::FlowLog => flowread::read_flow(input, &errs, opts, sink),
            LogKind::CloudTrail | LogKind::Route53 => {
                events::read_events(input, kind, &errs, opts, sink)
            }
        },
        Err(e) => errs.fatal(LoadError::file(
            display,
            format!("cannot read the {}: {e}", kind.label()),
        )),
    }
    errs.finish()
}

/// The first `max` bytes of a file after transparent gunzip, for [`sniff`].
/// The decompressed bytes after the first line, up to `max`: what to sniff when
/// the first line is longer than a head (a damaged first record). Streams past
/// the line in fixed buffers, however long it is.
pub fn read_head_after_first_line(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    let input = reader::open_reader(Box::new(std::fs::File::open(path)?))?;
    let mut r = std::io::BufReader::with_capacity(64 * 1024, input.reader);
    loop {
        let buf = match std::io::BufRead::fill_buf(&mut r) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) if input.gzip => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(Vec::new());
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                std::io::BufRead::consume(&mut r, i + 1);
                break;
            }
            None => {
                let n = buf.len();
                std::io::BufRead::consume(&mut r, n);
            }
        }
    }
    let mut head = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(r, max as u64), &mut head);
    Ok(head)
}

pub fn read_head(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    let input = reader::open_reader(Box::new(std::fs::File::open(path)?))?;
    let mut r = input.reader;
    let mut buf = Vec::new();
    while buf.len() < max {
        let want = max - buf.len();
        match reader::read_more(&mut *r, &mut buf, want) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A truncated gzip still has a head worth sniffing.
            Err(_) if input.gzip => break,
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}
