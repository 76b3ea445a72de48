//! Reading request files: JSON lines in the documented request shape, or AWS WAF
//! log files (plain or gzip, one record per line or records run together as
//! Firehose writes them), whose `httpRequest` is replayed and whose recorded
//! decision is kept for comparison.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use serde_json::Value as Json;

use super::decision::Outcome;
use super::error::WafError;
use super::request::{json_kind, request_from_json, Request};

/// Largest decompressed size read from a gzip file (a guard against bombs).
pub const MAX_DECOMPRESSED: u64 = 2 << 30;

/// What a WAF log recorded for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub action: Outcome,
    pub terminating_rule_id: String,
}

/// One request of a file, with its recorded decision when it came from a log.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedRequest {
    pub request: Request,
    pub recorded: Option<Recorded>,
}

/// Reads a request file from disk (`-` for stdin); gzip is detected by content.
pub fn read_requests(path: &Path) -> Result<Vec<LoggedRequest>, WafError> {
    let shown = path.to_string_lossy();
    let mut bytes = Vec::new();
    let res = if shown == "-" {
        std::io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    res.map_err(|e| WafError::file(&*shown, format!("cannot read: {e}")))?;
    let text = decode(&shown, bytes)?;
    parse_requests(&shown, &text)
}

/// Gunzips when needed and checks the text is UTF-8.
pub fn decode(path: &str, bytes: Vec<u8>) -> Result<String, WafError> {
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        MultiGzDecoder::new(&bytes[..])
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .map_err(|e| WafError::file(path, format!("not a valid gzip file: {e}")))?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Err(WafError::file(
                path,
                "decompresses to more than 2 GiB; split the log into smaller files",
            ));
        }
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        WafError::file(
            path,
            format!("not UTF-8 text (invalid byte at offset {at}); expected JSON lines"),
        )
    })
}

/// Parses request lines. Every line is one JSON object (or several run
/// together); blank lines and lines starting with `#` are skipped. Lines are
/// parsed in parallel; the first error in file order is reported.
pub fn parse_requests(path: &str, text: &str) -> Result<Vec<LoggedRequest>, WafError> {
    use rayon::prelude::*;
    let lines: Vec<(u32, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| ((i + 1) as u32, l.trim()))
        .filter(|(_, t)| !t.is_empty() && !t.starts_with('#'))
        .collect();
    // Chunks, not lines: one result vector per 4096 lines keeps the
    // intermediate allocations few.
    let parsed: Vec<Result<Vec<LoggedRequest>, WafError>> = lines
        .par_chunks(4096)
        .map(|chunk| {
            let mut v = Vec::with_capacity(chunk.len());
            for (n, t) in chunk {
                v.extend(parse_line(path, *n, t)?);
            }
            Ok(v)
        })
        .collect();
    let mut out = Vec::with_capacity(lines.len());
    for p in parsed {
        out.extend(p?);
    }
    if out.is_empty() {
        return Err(WafError::file(
            path,
            "no requests in the file; expected JSON lines (one request or WAF log record per line)",
        ));
    }
    Ok(out)
}

fn parse_line(path: &str, line_no: u32, t: &str) -> Result<Vec<LoggedRequest>, WafError> {
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_str(t).into_iter::<Json>();
    for item in stream {
        let v = item.map_err(|e| {
            WafError::at(
                path,
                crate::doc::Pos::new(line_no, e.column() as u32),
                format!(
                    "not valid JSON ({}); expected one JSON object per line",
                    serde_message(&e)
                ),
            )
        })?;
        let Json::Object(obj) = &v else {
            return Err(WafError::line(
                path,
                line_no,
                format!(
                    "expected a JSON object (a request), found {}",
                    json_kind(&v)
                ),
            ));
        };
        let err = |m: String| WafError::line(path, line_no, m);
        let logged = match obj.get("httpRequest") {
            Some(Json::Object(http)) => {
                let mut r = request_from_json(http, false).map_err(err)?;
                r.timestamp = obj.get("timestamp").and_then(Json::as_i64).or(r.timestamp);
                if let Some(Json::String(j)) = obj.get("ja3Fingerprint") {
                    r.ja3 = Some(j.clone());
                }
                if let Some(Json::String(j)) = obj.get("ja4Fingerprint") {
                    r.ja4 = Some(j.clone());
                }
                r.line = line_no;
                let recorded = match (obj.get("action"), obj.get("terminatingRuleId")) {
                    (Some(Json::String(a)), Some(Json::String(id))) => Some(Recorded {
                        action: Outcome::parse(a).ok_or_else(|| {
                            WafError::line(
                                path,
                                line_no,
                                format!("unknown action \"{a}\" in the WAF log record"),
                            )
                        })?,
                        terminating_rule_id: id.clone(),
                    }),
                    _ => None,
                };
                LoggedRequest {
                    request: r,
                    recorded,
                }
            }
            Some(other) => {
                return Err(WafError::line(
                    path,
                    line_no,
                    format!(
                        "expected \"httpRequest\" to be an object, found {}",
                        json_kind(other)
                    ),
                ))
            }
            None => {
                let mut r = request_from_json(obj, true).map_err(err)?;
                r.line = line_no;
                LoggedRequest {
                    request: r,
                    recorded: None,
                }
            }
        };
        out.push(logged);
    }
    Ok(out)
}

/// serde_json's message without its own " at line L column C" (the error
/// carries the file's line and column already).
fn serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn fixtures_and_log_records() {
        let text = r#"{"id":"a","clientIp":"1.1.1.1","uri":"/"}

# a comment
{"timestamp":1,"action":"BLOCK","terminatingRuleId":"R","httpRequest":{"clientIp":"2.2.2.2","country":"US","headers":[],"uri":"/x","args":"","httpVersion":"HTTP/1.1","httpMethod":"GET","requestId":"rid"}}{"action":"ALLOW","terminatingRuleId":"Default_Action","httpRequest":{"clientIp":"3.3.3.3","uri":"/"}}"#;
        let rs = parse_requests("r.jsonl", text).unwrap();
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[0].request.id.as_deref(), Some("a"));
        assert_eq!(rs[1].request.id.as_deref(), Some("rid"));
        assert_eq!(rs[1].request.line, 4);
        assert_eq!(rs[1].recorded.as_ref().unwrap().action, Outcome::Block);
        assert_eq!(
            rs[2].recorded.as_ref().unwrap().terminating_rule_id,
            "Default_Action"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_requests("r.jsonl", "{\"uri\":\"/\"}\nnot json\n").unwrap_err();
        assert_eq!(e.line_no(), 2);
        assert!(e.to_string().starts_with("r.jsonl:2:"), "{e}");
        let e = parse_requests("r.jsonl", "[1]").unwrap_err();
        assert!(e.message.contains("expected a JSON object"));
        let e = parse_requests("r.jsonl", "\n\n").unwrap_err();
        assert!(e.message.contains("no requests"));
        let e = parse_requests("r.jsonl", "{}\n{\"body_base64\":\"%%%\"}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "r.jsonl:2: \"body_base64\" is not valid Base64: Invalid symbol 37, offset 0."
        );
    }

    #[test]
    fn gzip_is_detected() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"{\"uri\":\"/g\"}\n").unwrap();
        let gz = enc.finish().unwrap();
        let text = decode("l.gz", gz).unwrap();
        assert_eq!(parse_requests("l.gz", &text).unwrap()[0].request.uri, "/g");
        assert!(decode("b", vec![0x1f, 0x8b, 0, 1]).is_err());
        assert!(decode("b", vec![0xff, 0xfe]).is_err());
    }
}
