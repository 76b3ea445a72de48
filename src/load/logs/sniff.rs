//! Recognising a log by its first bytes, as templates are recognised.

use std::io::Read;

use super::flow::{looks_like_header, FlowFormat, Layout};
use super::reader::is_gzip;
use super::LogKind;

/// How many decompressed bytes sniffing looks at, at most.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The kind of log whose first bytes are `head` (gzip is decompressed as far
/// as `head` goes). `path` is only for symmetry with the template sniffers:
/// the name never decides.
pub fn sniff(_path: &str, head: &[u8]) -> Option<LogKind> {
    let owned;
    let head = if is_gzip(head) {
        owned = gunzip_prefix(head, SNIFF_BYTES);
        &owned[..]
    } else {
        &head[..head.len().min(SNIFF_BYTES)]
    };
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|c| !c.is_ascii_whitespace())?;
    let body = &head[start..];
    match body[0] {
        b'{' | b'[' => sniff_json(body),
        _ => sniff_flow(body),
    }
}

/// Whatever prefix of the decompressed data `gz` (possibly cut short) yields.
fn gunzip_prefix(gz: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(gz);
    let mut buf = [0u8; 8192];
    while out.len() < max {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out.truncate(max);
    out
}

fn has_key(body: &[u8], key: &str) -> bool {
    let pat = format!("\"{key}\"");
    memchr::memmem::find_iter(body, pat.as_bytes()).any(|i| {
        body[i + pat.len()..]
            .iter()
            .find(|c| !c.is_ascii_whitespace())
            .is_some_and(|&c| c == b':')
    })
}

fn sniff_json(body: &[u8]) -> Option<LogKind> {
    let after_brace = body[1..]
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map(|i| &body[1 + i..]);
    if body[0] == b'{' && after_brace.is_some_and(|r| r.starts_with(b"\"Records\"")) {
        return Some(LogKind::CloudTrail);
    }
    // Only the first event matters: later text may be another kind of log.
    let first = first_value(body);
    if has_key(first, "query_name")
        && (has_key(first, "srcaddr")
            || has_key(first, "query_timestamp")
            || has_key(first, "vpc_id"))
    {
        return Some(LogKind::Route53);
    }
    let ct = |k| has_key(first, k);
    if (ct("eventVersion")
        && (ct("eventSource") || ct("eventName") || ct("eventTime") || ct("userIdentity")))
        || (ct("eventSource") && ct("eventName"))
    {
        return Some(LogKind::CloudTrail);
    }
    None
}

/// The text of the first object in `body` (the whole of `body` if it does not
/// end within it), skipping an opening `[`.
fn first_value(body: &[u8]) -> &[u8] {
    let start = if body[0] == b'[' {
        match body.iter().position(|&c| c == b'{') {
            Some(i) => i,
            None => return body,
        }
    } else {
        0
    };
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    for (i, &c) in body.iter().enumerate().skip(start) {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &body[start..=i];
                }
            }
            _ => {}
        }
    }
    &body[start..]
}

fn sniff_flow(body: &[u8]) -> Option<LogKind> {
    let end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    let line = std::str::from_utf8(&body[..end])
        .ok()?
        .trim_end_matches('\r');
    if looks_like_header(line) {
        return Some(LogKind::FlowLog);
    }
    // Exported from CloudWatch Logs: the event's timestamp, then the record.
    let line = super::flowread::strip_timestamp(line).map_or(line, |(_, rest)| rest);
    if Layout::new(FlowFormat::default_v2())
        .parse_line(line, &mut Vec::new())
        .is_ok()
    {
        return Some(LogKind::FlowLog);
    }
    looks_like_custom_record(line).then_some(LogKind::FlowLog)
}

/// A headerless custom-format record: only flow-log-like tokens, an address,
/// and an action or log status.
fn looks_like_custom_record(line: &str) -> bool {
    let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
    if tokens.len() < 3 {
        return false;
    }
    let tokenish = |t: &str| {
        t.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b':' | b'_' | b'/' | b'%')
        })
    };
    tokens.iter().all(|t| tokenish(t))
        && tokens.iter().any(|t| t.parse::<std::net::IpAddr>().is_ok())
        && tokens
            .iter()
            .any(|t| matches!(*t, "ACCEPT" | "REJECT" | "NODATA" | "SKIPDATA"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_kind() {
        let flow = b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n";
        assert_eq!(sniff("x", flow), Some(LogKind::FlowLog));
        assert_eq!(
            sniff("x", b"version account-id interface-id srcaddr\n1 2"),
            Some(LogKind::FlowLog)
        );
        assert_eq!(
            sniff("x", b"- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 ACCEPT\n"),
            Some(LogKind::FlowLog)
        );
        // As exported from CloudWatch Logs to S3: timestamp, then the record.
        assert_eq!(
            sniff("x", b"2024-03-01T00:00:05.000Z 2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA\n"),
            Some(LogKind::FlowLog)
        );
        assert_eq!(
            sniff("x", b"{\"Records\": [{\"eventVersion\""),
            Some(LogKind::CloudTrail)
        );
        assert_eq!(
            sniff("x", b"  {\n  \"Records\" :[]}"),
            Some(LogKind::CloudTrail)
        );
        assert_eq!(
            sniff("x", b"[{\"eventVersion\": \"1.08\", \"userIdentity\": {\"type\": \"Root\"}, \"eventSource\": \"s3.amazonaws.com\"}]"),
            Some(LogKind::CloudTrail)
        );
        assert_eq!(
            sniff("x", b"{\"version\":\"1.100000\",\"account_id\":\"1\",\"query_name\":\"a.com.\",\"srcaddr\":\"10.0.0.1\"}\n"),
            Some(LogKind::Route53)
        );
        assert_eq!(
            sniff("x", b"{\"AWSTemplateFormatVersion\": \"2010-09-09\"}"),
            None
        );
        assert_eq!(sniff("x", b"Resources:\n  A: 1\n"), None);
        assert_eq!(sniff("x", b""), None);
        assert_eq!(
            sniff("x", b"Jan 1 00:00:01 host sshd[1]: Accepted from 1.2.3.4"),
            None
        );
    }

    #[test]
    fn sees_through_gzip() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(b"{\"Records\":[]}").unwrap();
        let gz = e.finish().unwrap();
        assert_eq!(sniff("x.gz", &gz), Some(LogKind::CloudTrail));
        // A cut-short head still sniffs.
        assert_eq!(
            sniff("x.gz", &gz[..gz.len() - 4]),
            Some(LogKind::CloudTrail)
        );
    }
}
