//! VPC flow log formats and typed records.
//!
//! A record is a line of space-separated fields in the order of its format: the
//! default version-2 format, the header line AWS writes at the top of files
//! delivered to S3, or `--flowlog-format '${version} ${srcaddr} ...'`. Records
//! borrow the text of the chunk they were read from: parsing allocates nothing
//! per record.

use std::net::IpAddr;

pub use super::fields::{FieldType, FlowField, FIELD_COUNT};
use super::scan::{parse_ipv4, parse_uint, Tokens};
use crate::dsl::diag::did_you_mean;

/// The fields of a flow log, in the order they appear on each line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowFormat {
    pub fields: Vec<FlowField>,
}

impl FlowFormat {
    /// The default format (version 2): `version account-id interface-id srcaddr
    /// dstaddr srcport dstport protocol packets bytes start end action log-status`.
    pub fn default_v2() -> Self {
        FlowFormat {
            fields: FlowField::ALL[..14].to_vec(),
        }
    }

    /// A format as given to AWS (`${version} ${srcaddr} ...`, the flow log's
    /// LogFormat). Bare names (`version srcaddr`) are accepted too.
    pub fn parse_template(s: &str) -> Result<Self, String> {
        parse_fields(s, "flow log format")
    }

    /// The header line of a flow log file (`version account-id ...`).
    pub fn parse_header(line: &str) -> Result<Self, String> {
        parse_fields(line, "flow log header")
    }

    /// The highest version among the fields (what AWS writes in `version`).
    pub fn version(&self) -> u8 {
        self.fields.iter().map(|f| f.version()).max().unwrap_or(2)
    }

    /// Position of each field on the line, by [`FlowField::index`]; NONE if absent.
    pub(crate) fn slots(&self) -> [u8; FIELD_COUNT] {
        let mut slots = [NONE; FIELD_COUNT];
        for (i, f) in self.fields.iter().enumerate() {
            slots[f.index()] = i as u8;
        }
        slots
    }

    /// `version account-id ... log-status`, for messages.
    pub(crate) fn summary(&self) -> String {
        let names: Vec<&str> = self.fields.iter().map(|f| f.name()).collect();
        if names.len() <= 8 {
            names.join(" ")
        } else {
            format!(
                "{} {} {} ... {}",
                names[0],
                names[1],
                names[2],
                names[names.len() - 1]
            )
        }
    }
}

pub(crate) const NONE: u8 = u8::MAX;

fn parse_fields(s: &str, what: &str) -> Result<FlowFormat, String> {
    let mut fields: Vec<FlowField> = Vec::new();
    for tok in s.split_ascii_whitespace() {
        let name = match tok.strip_prefix("${") {
            Some(rest) => rest.strip_suffix('}').ok_or_else(|| {
                format!(
                    "malformed field `{}` in the {what}: expected `${{name}}`",
                    clip(tok)
                )
            })?,
            None if tok.contains(['$', '{', '}']) => {
                return Err(format!(
                    "malformed field `{}` in the {what}: expected `${{name}}`",
                    clip(tok)
                ))
            }
            None => tok,
        };
        let field = FlowField::from_name(name).ok_or_else(|| unknown_field(name, what))?;
        if fields.contains(&field) {
            return Err(format!("field `{name}` appears twice in the {what}"));
        }
        fields.push(field);
    }
    if fields.is_empty() {
        return Err(format!(
            "empty {what}: expected field names such as `${{version}} ${{srcaddr}} ${{dstaddr}}`"
        ));
    }
    Ok(FlowFormat { fields })
}

fn unknown_field(name: &str, what: &str) -> String {
    let names = FlowField::ALL.iter().map(|f| f.name());
    let hint = did_you_mean(name, names.clone())
        .or_else(|| did_you_mean(&name.replace('_', "-"), names.clone()))
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    format!(
        "unknown field `{}` in the {what}{hint}; known fields: {}",
        clip(name),
        names.collect::<Vec<_>>().join(", ")
    )
}

/// A value for a message: at most 40 characters, control characters escaped.
pub(crate) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().nth(40).is_some() {
        out.push_str("...");
    }
    out
}

/// One field's value. `-` (not applicable, or not computed) is `Absent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowValue<'a> {
    Absent,
    /// Int and Time fields (epoch seconds for `start` and `end`).
    Int(i64),
    Ip(IpAddr),
    /// action (ACCEPT/REJECT), log-status, interface-id, flow-direction, ...
    Str(&'a str),
}

impl<'a> FlowValue<'a> {
    pub fn as_int(self) -> Option<i64> {
        match self {
            FlowValue::Int(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_ip(self) -> Option<IpAddr> {
        match self {
            FlowValue::Ip(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_str(self) -> Option<&'a str> {
        match self {
            FlowValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_absent(self) -> bool {
        matches!(self, FlowValue::Absent)
    }
}

/// `log-status`: NODATA (no traffic in the interval) and SKIPDATA (records
/// skipped during the interval) records are kept, marked as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowStatus {
    Ok,
    NoData,
    SkipData,
}

/// One flow log record: typed values by field, borrowing the chunk's text.
#[derive(Clone, Copy, Debug)]
pub struct FlowRecord<'a> {
    /// 1-based line in the file.
    pub line: u32,
    status: FlowStatus,
    raw: &'a str,
    values: &'a [FlowValue<'a>],
    slots: &'a [u8; FIELD_COUNT],
}

impl<'a> FlowRecord<'a> {
    pub(crate) fn new(
        line: u32,
        status: FlowStatus,
        raw: &'a str,
        values: &'a [FlowValue<'a>],
        slots: &'a [u8; FIELD_COUNT],
    ) -> Self {
        FlowRecord {
            line,
            status,
            raw,
            values,
            slots,
        }
    }

    /// The field's value; `Absent` when it is `-` or not in the file's format.
    #[inline]
    pub fn get(&self, f: FlowField) -> FlowValue<'a> {
        match self.slots[f.index()] {
            NONE => FlowValue::Absent,
            i => self.values[i as usize],
        }
    }

    /// Whether the file's format has the field at all (as opposed to `-`).
    pub fn has(&self, f: FlowField) -> bool {
        self.slots[f.index()] != NONE
    }

    pub fn status(&self) -> FlowStatus {
        self.status
    }

    /// Event time: `start` in epoch seconds, else `end`.
    pub fn time(&self) -> Option<i64> {
        self.get(FlowField::Start)
            .as_int()
            .or_else(|| self.get(FlowField::End).as_int())
    }

    /// The line as written (without its line ending).
    pub fn raw(&self) -> &'a str {
        self.raw
    }
}

/// What is wrong with a line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineError {
    /// Wrong number of fields.
    Count { found: usize },
    /// Field `index` (its text at `start..end` of the line) is not a valid value.
    Value {
        index: usize,
        start: usize,
        end: usize,
    },
}

/// A format ready for parsing: per position, the field and how to read it.
pub(crate) struct Layout {
    pub format: FlowFormat,
    pub slots: [u8; FIELD_COUNT],
    kinds: Vec<(Kind, i64)>,
    action: Option<usize>,
    status: Option<usize>,
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Ip,
    Str,
}

impl Layout {
    pub fn new(format: FlowFormat) -> Self {
        let kinds = format
            .fields
            .iter()
            .map(|f| {
                let k = match f.ty() {
                    FieldType::Int | FieldType::Time => Kind::Int,
                    FieldType::Ip => Kind::Ip,
                    FieldType::Str => Kind::Str,
                };
                (k, f.max_int())
            })
            .collect();
        let pos = |f: FlowField| format.fields.iter().position(|&g| g == f);
        Layout {
            slots: format.slots(),
            action: pos(FlowField::Action),
            status: pos(FlowField::LogStatus),
            kinds,
            format,
        }
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Parse `line` (no line ending), appending one value per field to `out`.
    /// On error nothing is appended.
    #[inline]
    pub fn parse_line<'t>(
        &self,
        line: &'t str,
        out: &mut Vec<FlowValue<'t>>,
    ) -> Result<FlowStatus, LineError> {
        let b = line.as_bytes();
        let base = out.len();
        let mut tokens = Tokens::new(b);
        for (k, &(kind, max)) in self.kinds.iter().enumerate() {
            let Some((start, end)) = tokens.next() else {
                out.truncate(base);
                return Err(LineError::Count { found: k });
            };
            let t = &b[start..end];
            let value = if t == b"-" {
                Some(FlowValue::Absent)
            } else {
                match kind {
                    Kind::Int => parse_uint(t)
                        .filter(|&v| v <= max as u64)
                        .map(|v| FlowValue::Int(v as i64)),
                    Kind::Ip => match parse_ipv4(t) {
                        Some(a) => Some(FlowValue::Ip(IpAddr::V4(a))),
                        None => parse_other_ip(&line[start..end]),
                    },
                    Kind::Str => Some(FlowValue::Str(&line[start..end])),
                }
            };
            match value {
                Some(v) => out.push(v),
                None => {
                    out.truncate(base);
                    return Err(LineError::Value {
                        index: k,
                        start,
                        end,
                    });
                }
            }
        }
        let extra = tokens.count();
        if extra > 0 {
            out.truncate(base);
            return Err(LineError::Count {
                found: self.kinds.len() + extra,
            });
        }
        let values = &out[base..];
        if let Some(a) = self.action {
            if !matches!(
                values[a],
                FlowValue::Absent | FlowValue::Str("ACCEPT") | FlowValue::Str("REJECT")
            ) {
                let err = self.value_error(line, a);
                out.truncate(base);
                return Err(err);
            }
        }
        let status = match self.status.map(|s| values[s]) {
            None | Some(FlowValue::Absent) | Some(FlowValue::Str("OK")) => FlowStatus::Ok,
            Some(FlowValue::Str("NODATA")) => FlowStatus::NoData,
            Some(FlowValue::Str("SKIPDATA")) => FlowStatus::SkipData,
            Some(_) => {
                let err = self.value_error(line, self.status.unwrap_or(0));
                out.truncate(base);
                return Err(err);
            }
        };
        Ok(status)
    }

    /// The error for field `index` of `line` (located by splitting again:
    /// only on the error path).
    fn value_error(&self, line: &str, index: usize) -> LineError {
        let base = line.as_ptr() as usize;
        match line.split([' ', '\t']).filter(|t| !t.is_empty()).nth(index) {
            Some(tok) => {
                let start = tok.as_ptr() as usize - base;
                LineError::Value {
                    index,
                    start,
                    end: start + tok.len(),
                }
            }
            None => LineError::Value {
                index,
                start: 0,
                end: 0,
            },
        }
    }

    /// The message for a line error.
    pub fn describe(&self, line: &str, err: &LineError, assumed_default: bool) -> String {
        match *err {
            LineError::Count { found } => {
                let mut msg = format!(
                    "expected {} space-separated fields ({}), found {found}",
                    self.len(),
                    self.format.summary()
                );
                if assumed_default {
                    msg.push_str(
                        "; this file has no header line, so the default version-2 format was assumed: for a custom format keep the header line AWS writes or pass --flowlog-format '${version} ${srcaddr} ...'",
                    );
                }
                msg
            }
            LineError::Value { index, start, end } => {
                let field = self.format.fields[index];
                let found = clip(line.get(start..end).unwrap_or(""));
                let expected = match field {
                    FlowField::Action => "ACCEPT, REJECT or -",
                    FlowField::LogStatus => "OK, NODATA or SKIPDATA",
                    f => f.expected(),
                };
                format!(
                    "field {field} (field {} of {}): expected {expected}, found \"{found}\"",
                    index + 1,
                    self.len()
                )
            }
        }
    }
}

/// An address that is not a plain dotted quad: IPv6 (or nothing valid).
fn parse_other_ip(t: &str) -> Option<FlowValue<'_>> {
    if t.contains(':') {
        t.parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|a| FlowValue::Ip(IpAddr::V6(a)))
    } else {
        None
    }
}

/// Whether a line reads as a header (field names, not data): every token is a
/// lowercase word and at least half are known field names, so a header with a
/// misspelt field is still recognised (and reported) as a header.
pub(crate) fn looks_like_header(line: &str) -> bool {
    let mut tokens = 0;
    let mut known = 0;
    for tok in line.split_ascii_whitespace() {
        let name = tok
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(tok);
        let word = name.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
        if !word {
            return false;
        }
        tokens += 1;
        if FlowField::from_name(name).is_some() {
            known += 1;
        }
    }
    tokens > 0 && known * 2 >= tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn parse<'t>(layout: &Layout, line: &'t str) -> Result<Vec<FlowValue<'t>>, LineError> {
        let mut out = Vec::new();
        layout.parse_line(line, &mut out).map(|_| out)
    }

    #[test]
    fn default_format_line() {
        let l = Layout::new(FlowFormat::default_v2());
        // AWS's example: SSH accepted (VPC user guide, flow log record examples).
        let v = parse(&l, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK").unwrap();
        assert_eq!(v[0], FlowValue::Int(2));
        assert_eq!(v[1], FlowValue::Str("123456789010"));
        assert_eq!(v[3], FlowValue::Ip("172.31.16.139".parse().unwrap()));
        assert_eq!(v[6], FlowValue::Int(22));
        assert_eq!(v[10], FlowValue::Int(1_418_530_010));
        assert_eq!(v[12], FlowValue::Str("ACCEPT"));
    }

    #[test]
    fn nodata_ipv6_and_errors() {
        let l = Layout::new(FlowFormat::default_v2());
        let mut out = Vec::new();
        let s = l
            .parse_line(
                "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
                &mut out,
            )
            .unwrap();
        assert_eq!(s, FlowStatus::NoData);
        assert_eq!(out[3], FlowValue::Absent);
        let v = parse(&l, "2 123456789010 eni-1 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK").unwrap();
        assert_eq!(
            v[3],
            FlowValue::Ip(IpAddr::V6(
                "2001:db8:1234:a100:8d6e:3477:df66:f105"
                    .parse::<Ipv6Addr>()
                    .unwrap()
            ))
        );
        assert_eq!(
            parse(&l, "2 1 eni-1 1.2.3.4"),
            Err(LineError::Count { found: 4 })
        );
        let line = "2 1 eni-1 1.2.3.4 5.6.7.8 99999 22 6 1 1 1 2 ACCEPT OK";
        let e = parse(&l, line).unwrap_err();
        assert_eq!(
            e,
            LineError::Value {
                index: 5,
                start: 26,
                end: 31
            }
        );
        assert_eq!(
            l.describe(line, &e, false),
            "field srcport (field 6 of 14): expected a port number 0-65535, found \"99999\""
        );
        for bad in [
            "2 1 eni-1 1.2.3 5.6.7.8 1 22 6 1 1 1 2 ACCEPT OK",
            "2 1 eni-1 1.2.3.256 5.6.7.8 1 22 6 1 1 1 2 ACCEPT OK",
            "2 1 eni-1 01.2.3.4 5.6.7.8 1 22 6 1 1 1 2 ACCEPT OK",
            "2 1 eni-1 1.2.3.4 5.6.7.8 -1 22 6 1 1 1 2 ACCEPT OK",
            "2 1 eni-1 1.2.3.4 5.6.7.8 1 22 6 1 1 1 2 ALLOW OK",
            "2 1 eni-1 1.2.3.4 5.6.7.8 1 22 6 1 1 1 2 ACCEPT FINE",
            "2 1 eni-1 1.2.3.4 5.6.7.8 1 22 6 1 99999999999999999999 1 2 ACCEPT OK",
        ] {
            assert!(
                matches!(parse(&l, bad), Err(LineError::Value { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn templates_headers_and_unknown_fields() {
        let f =
            FlowFormat::parse_template("${version} ${srcaddr}  ${pkt-dst-aws-service}").unwrap();
        assert_eq!(
            f.fields,
            vec![
                FlowField::Version,
                FlowField::Srcaddr,
                FlowField::PktDstAwsService
            ]
        );
        assert_eq!(f.version(), 5);
        assert_eq!(
            FlowFormat::parse_header("version srcaddr pkt-dst-aws-service").unwrap(),
            f
        );
        let e = FlowFormat::parse_header("version srcaddr dstprt").unwrap_err();
        assert!(e.starts_with("unknown field `dstprt` in the flow log header (did you mean `dstport`?); known fields: version, account-id,"), "{e}");
        let e = FlowFormat::parse_template("${version} ${srcaddr").unwrap_err();
        assert_eq!(
            e,
            "malformed field `${srcaddr` in the flow log format: expected `${name}`"
        );
        assert!(FlowFormat::parse_template("${version} ${version}")
            .unwrap_err()
            .contains("appears twice"));
        assert!(FlowFormat::parse_template("  ")
            .unwrap_err()
            .starts_with("empty flow log format"));
        assert!(FlowFormat::parse_template("${pkt_srcaddr}")
            .unwrap_err()
            .contains("did you mean `pkt-srcaddr`"));
    }

    #[test]
    fn header_recognition() {
        assert!(looks_like_header("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"));
        assert!(looks_like_header("version srcaddr dstprt"));
        assert!(!looks_like_header(
            "2 123456789010 eni-1 - - - - - - - 1 2 - NODATA"
        ));
        assert!(!looks_like_header("vpc-abc subnet-def i-0123"));
        assert!(!looks_like_header(""));
    }
}
