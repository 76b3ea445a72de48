//! CloudTrail and Route 53 Resolver query log events as documents.
//!
//! The scanner ([`super::jsonscan`]) cuts event texts out of the file; here each
//! is parsed (in parallel, positions in file coordinates), checked to be an
//! event of its kind, given its event time, and normalised: Route 53's
//! `query_name` is compared without case and without the trailing dot.

use super::errors::Errors;
use super::jsonscan::{Batch, Scanner};
use super::reader::{describe_read_error, pipeline, Input};
use super::time::parse_rfc3339_ms;
use super::{Chunk, LogKind, LogOptions};
use crate::doc::{Entry, Node, Value};
use crate::load::json::parse_json_at;
use crate::load::LoadError;

/// One event as a document value (positions are file positions).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Line of the event's opening brace.
    pub line: u32,
    /// Epoch milliseconds: CloudTrail `eventTime`, Route 53 `query_timestamp`.
    pub time: Option<i64>,
    pub value: Value,
}

pub(crate) fn read_events(
    input: Input,
    kind: LogKind,
    errs: &Errors,
    opts: &LogOptions,
    sink: &(dyn Fn(Chunk<'_>) + Sync),
) {
    let mut scanner = Scanner::new(input.reader, opts.max_line_bytes, errs);
    let target = opts.chunk_bytes.clamp(1, 1 << 20);
    {
        let produce = || scanner.next_batch(target);
        let consume = |batch: Batch| parse_batch(&batch, kind, errs, sink);
        pipeline(produce, &consume);
    }
    if let Some(e) = scanner.read_error.take() {
        let last = match scanner.last_good_line {
            0 => "no complete event was read".to_string(),
            n => format!("the last complete event ends on line {n}"),
        };
        errs.fatal(LoadError::file(
            errs.path(),
            describe_read_error(&e, input.gzip, &last),
        ));
    }
}

fn parse_batch(batch: &Batch, kind: LogKind, errs: &Errors, sink: &(dyn Fn(Chunk<'_>) + Sync)) {
    let mut events = Vec::with_capacity(batch.events.len());
    for &(a, z, pos) in &batch.events {
        let bytes = &batch.data[a..z];
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                errs.record(
                    pos,
                    format!(
                        "invalid UTF-8 in the event starting at line {}: expected JSON text",
                        pos.line
                    ),
                );
                continue;
            }
        };
        let value = match parse_json_at(text, errs.path(), pos) {
            Ok(v) => v,
            Err(e) => {
                errs.push(LoadError::new(
                    e.path,
                    e.pos,
                    format!(
                        "{}; the event starting at line {} is skipped",
                        e.message, pos.line
                    ),
                ));
                continue;
            }
        };
        // A Records object whose array is not its first key was not split by
        // the scanner: its events are taken from the parsed value.
        let values = match (kind, value) {
            (
                LogKind::CloudTrail,
                Value {
                    node: Node::Map(entries),
                    pos: p,
                },
            ) if entries
                .iter()
                .any(|e| e.key == "Records" && matches!(e.value.node, Node::Seq(_))) =>
            {
                let mut entries = entries;
                let i = entries.iter().position(|e| e.key == "Records").unwrap_or(0);
                match entries.swap_remove(i).value.node {
                    Node::Seq(items) => items,
                    _ => vec![Value::new(Node::Map(entries), p)],
                }
            }
            (_, v) => vec![v],
        };
        for value in values {
            let at = value.pos;
            let checked = match kind {
                LogKind::Route53 => route53_event(value),
                _ => cloudtrail_event(value),
            };
            match checked {
                Ok((time, value)) => events.push(Event {
                    line: at.line,
                    time,
                    value,
                }),
                Err(msg) => errs.record(at, msg),
            }
        }
    }
    if !events.is_empty() {
        sink(Chunk::Events(&events));
    }
}

/// The keys of a map, for messages.
fn keys_of(v: &Value) -> String {
    match v.as_map() {
        Some([]) => "an empty object".into(),
        Some(m) => {
            let mut ks: Vec<String> = m
                .iter()
                .take(6)
                .map(|e| super::flow::clip(&e.key))
                .collect();
            if m.len() > 6 {
                ks.push("...".into());
            }
            format!("keys {}", ks.join(", "))
        }
        None => format!("a {}", v.kind_name()),
    }
}

/// A time field, if present: RFC 3339 or an error naming the field.
fn time_field(v: &Value, key: &str) -> Result<Option<i64>, String> {
    match v.get(key) {
        None | Some(Value { node: Node::Null, .. }) => Ok(None),
        Some(t) => match t.as_str().and_then(parse_rfc3339_ms) {
            Some(ms) => Ok(Some(ms)),
            None => Err(format!(
                "{key} at line {}: expected an RFC 3339 time such as 2024-05-01T12:00:00Z, found {}",
                t.pos.line,
                match t.as_str() {
                    Some(s) => format!("\"{}\"", super::flow::clip(s)),
                    None => t.kind_name().to_string(),
                }
            )),
        },
    }
}

/// A CloudTrail event: an object naming its API call (`eventName`) or carrying
/// `eventVersion`. `sourceIPAddress` is kept whatever it holds (an IP, a DNS
/// name, `AWS Internal`, an anonymised value): it is never a reason to reject.
fn cloudtrail_event(v: Value) -> Result<(Option<i64>, Value), String> {
    let is_event = v.get("eventName").is_some() || v.get("eventVersion").is_some();
    if !is_event {
        return Err(format!(
            "not a CloudTrail event: expected an object with eventVersion, eventSource and eventName, found {}",
            keys_of(&v)
        ));
    }
    for key in ["eventName", "eventSource"] {
        if let Some(x) = v.get(key) {
            if x.as_str().is_none() {
                return Err(format!(
                    "{key} at line {}: expected a string, found a {}",
                    x.pos.line,
                    x.kind_name()
                ));
            }
        }
    }
    let time = time_field(&v, "eventTime")?;
    Ok((time, v))
}

/// A Route 53 Resolver query log record. `query_name` becomes lower case
/// without the trailing dot (DNS names compare that way); the text as logged
/// stays in `query_name_raw`. `srcport` is a string in the real format and is
/// kept so; `srcport_num` holds it as a number when it is one.
fn route53_event(mut v: Value) -> Result<(Option<i64>, Value), String> {
    let Some(name) = v.get("query_name") else {
        return Err(format!(
            "not a Route 53 Resolver query log record: expected an object with query_name, srcaddr and query_timestamp, found {}",
            keys_of(&v)
        ));
    };
    let Some(raw) = name.as_str() else {
        return Err(format!(
            "query_name at line {}: expected a string, found a {}",
            name.pos.line,
            name.kind_name()
        ));
    };
    let normal = normalise_domain(raw);
    let time = time_field(&v, "query_timestamp")?;
    let port = v.get("srcport").and_then(|p| {
        let n = match &p.node {
            Node::Str(s) => s.parse::<u16>().ok().map(i64::from),
            Node::Int(n) => Some(*n),
            _ => None,
        };
        n.map(|n| (n, p.pos))
    });
    if let Node::Map(entries) = &mut v.node {
        let i = entries
            .iter()
            .position(|e| e.key == "query_name")
            .unwrap_or(0);
        let (key_pos, pos) = (entries[i].key_pos, entries[i].value.pos);
        let original = std::mem::replace(&mut entries[i].value, Value::str(normal, pos));
        if !entries.iter().any(|e| e.key == "query_name_raw") {
            entries.insert(
                i + 1,
                Entry {
                    key: "query_name_raw".into(),
                    key_pos,
                    value: original,
                },
            );
        }
        if let Some((n, pos)) = port {
            if !entries.iter().any(|e| e.key == "srcport_num") {
                let j = entries
                    .iter()
                    .position(|e| e.key == "srcport")
                    .map_or(entries.len(), |j| j + 1);
                entries.insert(
                    j,
                    Entry {
                        key: "srcport_num".into(),
                        key_pos: pos,
                        value: Value::new(Node::Int(n), pos),
                    },
                );
            }
        }
    }
    Ok((time, v))
}

/// `Example.COM.` → `example.com` (ASCII case only: IDNs are logged in punycode).
pub fn normalise_domain(name: &str) -> String {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    trimmed.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Pos;
    use crate::load::parse_json;

    #[test]
    fn route53_names_are_normalised_and_ports_offered_as_numbers() {
        let v = parse_json(
            r#"{"version":"1.100000","query_timestamp":"2021-02-04T17:51:55Z","query_name":"Example.COM.","srcaddr":"4.5.64.102","srcport":"56067"}"#,
            "r.log",
        )
        .unwrap();
        let (time, v) = route53_event(v).unwrap();
        assert_eq!(time, Some(1_612_461_115_000));
        assert_eq!(v.get("query_name").unwrap().as_str(), Some("example.com"));
        assert_eq!(
            v.get("query_name_raw").unwrap().as_str(),
            Some("Example.COM.")
        );
        assert_eq!(v.get("srcport").unwrap().as_str(), Some("56067"));
        assert_eq!(v.get("srcport_num").unwrap().node, Node::Int(56067));
        assert_eq!(v.get("query_name").unwrap().pos, Pos::new(1, 77));
    }

    #[test]
    fn cloudtrail_checks() {
        let ok = parse_json(r#"{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventName":"StopLogging","sourceIPAddress":"AWS Internal"}"#, "c").unwrap();
        assert_eq!(cloudtrail_event(ok).unwrap().0, Some(1_704_164_645_000));
        let not = parse_json(r#"{"digestStartTime": "x"}"#, "c").unwrap();
        assert_eq!(
            cloudtrail_event(not).unwrap_err(),
            "not a CloudTrail event: expected an object with eventVersion, eventSource and eventName, found keys digestStartTime"
        );
        let bad_time = parse_json(r#"{"eventName":"X","eventTime":"yesterday"}"#, "c").unwrap();
        assert_eq!(
            cloudtrail_event(bad_time).unwrap_err(),
            "eventTime at line 1: expected an RFC 3339 time such as 2024-05-01T12:00:00Z, found \"yesterday\""
        );
    }
}
