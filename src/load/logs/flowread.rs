//! Reading one flow log file: pick the format (header line, `--flowlog-format`,
//! or the default), then parse chunks of lines in parallel into batches of
//! records handed to the sink.

use super::errors::Errors;
use super::flow::{clip, looks_like_header, FlowFormat, FlowRecord, FlowStatus, FlowValue, Layout};
use super::reader::{
    describe_read_error, pipeline, BufferPool, Input, LineChunker, Piece, TextChunk,
};
use super::{Chunk, LogOptions};
use crate::doc::Pos;

/// Records handed to the sink at once: small enough that their values stay in
/// cache between parsing and evaluation.
const BATCH: usize = 1024;

/// The format a file is read with, and the header line it came from.
struct Plan {
    layout: Layout,
    max_line: usize,
    header: Option<(u64, String)>,
    assumed_default: bool,
    /// Lines start with a CloudWatch Logs export timestamp, set aside.
    timestamp_prefix: bool,
}

pub(crate) fn read_flow(
    input: Input,
    errs: &Errors,
    opts: &LogOptions,
    sink: &(dyn Fn(Chunk<'_>) + Sync),
) {
    let pool = BufferPool::default();
    let mut chunker = LineChunker::new(input.reader, opts.chunk_bytes, opts.max_line_bytes, &pool);
    let gzip = input.gzip;
    let on_piece = |piece: Piece| -> Option<TextChunk> {
        match piece {
            Piece::Chunk(c) => Some(c),
            Piece::LongLine { line, bytes } => {
                errs.record(
                    Pos::new(saturate(line), 1),
                    long_line_message(bytes, opts.max_line_bytes),
                );
                None
            }
            Piece::Failed {
                error,
                last_line: good,
            } => {
                let last = if good == 0 {
                    "no complete line was read".to_string()
                } else {
                    format!("the last complete line is line {good}")
                };
                errs.fatal(crate::load::LoadError::file(
                    errs.path(),
                    describe_read_error(&error, gzip, &last),
                ));
                None
            }
        }
    };
    // The first chunk decides the format.
    let mut first = None;
    while let Some(piece) = chunker.next_piece() {
        if let Some(c) = on_piece(piece) {
            first = Some(c);
            break;
        }
    }
    let Some(first) = first else { return };
    if first.bytes().starts_with(b"PAR1") {
        errs.fatal(crate::load::LoadError::file(
            errs.path(),
            "an Apache Parquet flow log: deadbolt reads flow logs in the text format (the default when AWS delivers them to S3 or CloudWatch Logs); deliver the logs as text or convert the file",
        ));
        return;
    }
    let head = &first.bytes()[..first.len.min(8192)];
    if let Some(at) = memchr::memchr(0, head) {
        errs.fatal(crate::load::LoadError::file(
            errs.path(),
            format!("binary data (a NUL byte at offset {at}), not a text flow log"),
        ));
        return;
    }
    let plan = match plan(&first, opts) {
        Ok(p) => p,
        Err((pos, msg)) => {
            errs.fatal(crate::load::LoadError::at(errs.path(), pos, msg));
            return;
        }
    };
    let mut first = Some(first);
    let produce = || {
        if let Some(c) = first.take() {
            return Some(c);
        }
        while let Some(piece) = chunker.next_piece() {
            if let Some(c) = on_piece(piece) {
                return Some(c);
            }
        }
        None
    };
    let consume = |chunk: TextChunk| {
        parse_chunk(&chunk, &plan, errs, sink);
        pool.give(chunk.data);
    };
    pipeline(produce, &consume);
}

pub(crate) fn long_line_message(bytes: u64, max: usize) -> String {
    format!(
        "line of {} is longer than the {} limit for one record; skipped without reading it into memory",
        human_bytes(bytes),
        human_bytes(max as u64)
    )
}

pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn saturate(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// The first non-blank line of the file: a header decides the format,
/// otherwise `--flowlog-format` or the default version-2 format. Lines exported
/// from CloudWatch Logs to S3 carry the event's timestamp before the record;
/// when the first line does, every line's leading timestamp is set aside.
fn plan(first: &TextChunk, opts: &LogOptions) -> Result<Plan, (Pos, String)> {
    let mut line_no = first.first_line;
    let mut first_data = None;
    for raw in first.bytes().split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            line_no += 1;
            continue;
        }
        if looks_like_header(text) {
            return match FlowFormat::parse_header(text) {
                Ok(f) => Ok(Plan {
                    layout: Layout::new(f),
                    max_line: opts.max_line_bytes,
                    header: Some((line_no, text.to_string())),
                    assumed_default: false,
                    timestamp_prefix: false,
                }),
                Err(msg) => {
                    let col = bad_token_column(text);
                    Err((Pos::new(saturate(line_no), col), msg))
                }
            };
        }
        first_data = Some(text.to_string());
        break;
    }
    let (format, assumed_default) = match &opts.flowlog_format {
        Some(f) => (f.clone(), false),
        None => (FlowFormat::default_v2(), true),
    };
    let layout = Layout::new(format);
    let timestamp_prefix = first_data.is_some_and(|line| {
        let mut scratch = Vec::new();
        layout.parse_line(&line, &mut scratch).is_err()
            && strip_timestamp(&line)
                .is_some_and(|(_, rest)| layout.parse_line(rest, &mut scratch).is_ok())
    });
    Ok(Plan {
        layout,
        max_line: opts.max_line_bytes,
        header: None,
        assumed_default: assumed_default && !timestamp_prefix,
        timestamp_prefix,
    })
}

/// `2024-03-01T00:00:00.000Z rest` → (bytes before `rest`, `rest`), when the
/// line starts with an RFC 3339 timestamp.
pub(crate) fn strip_timestamp(line: &str) -> Option<(usize, &str)> {
    let end = line.find([' ', '\t'])?;
    super::time::parse_rfc3339_ms(&line[..end])?;
    let rest = line[end..].trim_start_matches([' ', '\t']);
    Some((line.len() - rest.len(), rest))
}

/// Column of the first token of a header line that is not a field name.
fn bad_token_column(line: &str) -> u32 {
    let mut seen = Vec::new();
    for tok in line.split_ascii_whitespace() {
        let name = tok
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(tok);
        let field = super::fields::FlowField::from_name(name);
        if field.is_none() || seen.contains(&field) {
            let start = tok.as_ptr() as usize - line.as_ptr() as usize;
            return col_of(line, start);
        }
        seen.push(field);
    }
    1
}

fn col_of(line: &str, byte: usize) -> u32 {
    let chars = line.get(..byte).map_or(byte, |s| s.chars().count());
    u32::try_from(chars + 1).unwrap_or(u32::MAX)
}

/// Parse one chunk of whole lines and hand its records to the sink in batches.
fn parse_chunk(chunk: &TextChunk, plan: &Plan, errs: &Errors, sink: &(dyn Fn(Chunk<'_>) + Sync)) {
    let layout = &plan.layout;
    let n = layout.len().max(1);
    let mut values: Vec<FlowValue<'_>> = Vec::with_capacity(BATCH * n);
    let mut meta: Vec<(u32, FlowStatus, &str)> = Vec::with_capacity(BATCH);
    let whole = std::str::from_utf8(chunk.bytes()).ok();
    let mut line_no = chunk.first_line;
    let mut start = 0;
    let data = chunk.bytes();
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let raw = &data[start..end];
        let this_line = line_no;
        line_no += 1;
        start = end + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Blank lines are skipped; checking the first byte first keeps this cheap.
        if raw.first().is_none_or(|&b| b == b' ' || b == b'\t')
            && raw.iter().all(|&b| b == b' ' || b == b'\t')
        {
            continue;
        }
        if raw.len() > plan.max_line {
            // Read whole with its neighbours, but over the bound all the same.
            errs.record(
                Pos::new(saturate(this_line), 1),
                long_line_message(raw.len() as u64, plan.max_line),
            );
            continue;
        }
        let text = match whole {
            // Slicing at newline boundaries of valid UTF-8 stays valid.
            Some(w) => &w[raw.as_ptr() as usize - data.as_ptr() as usize..][..raw.len()],
            None => match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(e) => {
                    let col = String::from_utf8_lossy(&raw[..e.valid_up_to()])
                        .chars()
                        .count()
                        + 1;
                    errs.record(
                        Pos::new(saturate(this_line), u32::try_from(col).unwrap_or(u32::MAX)),
                        "invalid UTF-8 in the line: expected a text flow log record",
                    );
                    continue;
                }
            },
        };
        if let Some((hl, header)) = &plan.header {
            if this_line == *hl || text == header {
                // The header itself, or a copy of it where files were concatenated.
                continue;
            }
        }
        let (offset, record) = match plan.timestamp_prefix {
            true => strip_timestamp(text).unwrap_or((0, text)),
            false => (0, text),
        };
        match layout.parse_line(record, &mut values) {
            Ok(status) => {
                meta.push((saturate(this_line), status, text));
                if meta.len() == BATCH {
                    flush(&mut values, &mut meta, layout, sink);
                }
            }
            Err(e) => {
                let (col, mut msg) = match &e {
                    super::flow::LineError::Value { start, .. } => (
                        col_of(text, offset + *start),
                        layout.describe(record, &e, plan.assumed_default),
                    ),
                    super::flow::LineError::Count { .. } => {
                        (1, layout.describe(record, &e, plan.assumed_default))
                    }
                };
                if looks_like_header(text) {
                    msg = format!(
                        "a header line in the middle of the file, naming other fields than the file's format ({}); flow logs of different formats must be read as separate files: \"{}\"",
                        layout.format.summary(),
                        clip(text)
                    );
                }
                errs.record(Pos::new(saturate(this_line), col), msg);
            }
        }
    }
    flush(&mut values, &mut meta, layout, sink);
}

fn flush<'t>(
    values: &mut Vec<FlowValue<'t>>,
    meta: &mut Vec<(u32, FlowStatus, &'t str)>,
    layout: &Layout,
    sink: &(dyn Fn(Chunk<'_>) + Sync),
) {
    if meta.is_empty() {
        return;
    }
    let records: Vec<FlowRecord<'_>> = meta
        .iter()
        .zip(values.chunks_exact(layout.len().max(1)))
        .map(|(&(line, status, raw), vals)| FlowRecord::new(line, status, raw, vals, &layout.slots))
        .collect();
    sink(Chunk::Flow(&records));
    drop(records);
    values.clear();
    meta.clear();
}
