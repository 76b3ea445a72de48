//! The request model: one HTTP request as AWS WAF sees it, in the shape of a WAF
//! log's `httpRequest` plus what a test fixture needs to say (body, timestamp,
//! tokens, geolocation of forwarded addresses).

use std::net::IpAddr;

use base64::Engine;
use serde_json::{Map, Value as Json};

/// One request header, as received (name case preserved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// What the request's `aws-waf-token` says about a CAPTCHA or a challenge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenState {
    /// No token, or the token carries no solve of this kind.
    #[default]
    Absent,
    /// A valid token whose solve is known to be unexpired.
    Valid,
    /// Solved at this epoch-millisecond time; valid while within the immunity time
    /// of the rule (or web ACL) relative to the request's timestamp.
    SolvedAt(i64),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub captcha: TokenState,
    pub challenge: TokenState,
}

/// One web request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// `id` (fixtures) or `requestId` (WAF logs).
    pub id: Option<String>,
    /// Epoch milliseconds; rate-based rules need it.
    pub timestamp: Option<i64>,
    pub client_ip: Option<IpAddr>,
    /// ISO 3166 alpha-2 country of `client_ip`; `None` when the input does not
    /// say (geo rules are then unknown), `Some("-")` when AWS could not tell.
    pub country: Option<String>,
    /// ISO 3166-2 region (`US-OR`) of `client_ip`, when given.
    pub region: Option<String>,
    /// Country and region of the first forwarded address (deadbolt has no GeoIP
    /// database, so a fixture that uses ForwardedIPConfig geo rules says them).
    pub forwarded_country: Option<String>,
    pub forwarded_region: Option<String>,
    /// Autonomous system number of `client_ip`, for AsnMatchStatement.
    pub asn: Option<u32>,
    pub method: String,
    /// The path, as received (no query string).
    pub uri: String,
    /// The query string, without the `?`.
    pub args: String,
    pub http_version: String,
    pub headers: Vec<Header>,
    pub body: Option<Vec<u8>>,
    pub fragment: Option<String>,
    pub ja3: Option<String>,
    pub ja4: Option<String>,
    /// Labels already on the request when the web ACL starts (for testing label
    /// rules in isolation).
    pub labels: Vec<String>,
    pub tokens: Tokens,
    /// 1-based line of the request in its file (0 for requests built in code).
    pub line: u32,
}

impl Request {
    /// A GET request from an address, for building requests in code.
    pub fn get(client_ip: &str, uri: &str) -> Request {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        Request {
            client_ip: client_ip.parse().ok(),
            method: "GET".into(),
            uri: path.into(),
            args: query.into(),
            http_version: "HTTP/1.1".into(),
            ..Request::default()
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push(Header {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// A short description for messages: `id (METHOD /path?query)`, bounded and
    /// with control characters escaped.
    pub fn summary(&self) -> String {
        let who = match (&self.id, self.line) {
            (Some(id), _) => id.clone(),
            (None, l) if l > 0 => format!("line {l}"),
            _ => "request".into(),
        };
        let mut target = self.uri.clone();
        if !self.args.is_empty() {
            target.push('?');
            target.push_str(&self.args);
        }
        let s = format!("{who} ({} {target})", self.method);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i >= 160 {
                out.push('…');
                break;
            }
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Values of every header with this name (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The header's value; repeated headers are joined with ", " (RFC 9110).
    pub fn header(&self, name: &str) -> Option<String> {
        let mut it = self.header_values(name);
        let first = it.next()?;
        let mut out = first.to_string();
        for v in it {
            out.push_str(", ");
            out.push_str(v);
        }
        Some(out)
    }
}

/// Keys a request line may have (besides the WAF log record keys).
pub const REQUEST_KEYS: &[&str] = &[
    "id",
    "requestId",
    "timestamp",
    "clientIp",
    "country",
    "region",
    "forwardedCountry",
    "forwardedRegion",
    "asn",
    "headers",
    "uri",
    "args",
    "httpMethod",
    "method",
    "httpVersion",
    "body",
    "body_base64",
    "fragment",
    "ja3Fingerprint",
    "ja4Fingerprint",
    "labels",
    "tokens",
    // Present in WAF logs' httpRequest; accepted and ignored.
    "scheme",
    "host",
];

/// Builds a request from a JSON object in the documented shape. Errors are short
/// phrases; the caller adds the file and line.
#[allow(clippy::field_reassign_with_default)] // one field per line reads best here
pub fn request_from_json(obj: &Map<String, Json>, strict: bool) -> Result<Request, String> {
    if strict {
        if let Some(k) = obj.keys().find(|k| !REQUEST_KEYS.contains(&k.as_str())) {
            let hint = strsim_hint(k, REQUEST_KEYS);
            return Err(format!("unknown request field \"{k}\"{hint}"));
        }
    }
    let mut r = Request::default();
    r.id = opt_string(obj, "id")?.or(opt_string(obj, "requestId")?);
    r.timestamp = match obj.get("timestamp") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or("expected \"timestamp\" to be epoch milliseconds (an integer)")?,
        ),
    };
    r.client_ip = match opt_string(obj, "clientIp")? {
        None => None,
        Some(s) => Some(s.trim().parse::<IpAddr>().map_err(|_| {
            format!("expected \"clientIp\" to be an IPv4 or IPv6 address, found \"{s}\"")
        })?),
    };
    r.country = opt_string(obj, "country")?;
    r.region = opt_string(obj, "region")?;
    r.forwarded_country = opt_string(obj, "forwardedCountry")?;
    r.forwarded_region = opt_string(obj, "forwardedRegion")?;
    r.asn = match obj.get("asn") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("expected \"asn\" to be an autonomous system number")?,
        ),
    };
    r.method = opt_string(obj, "httpMethod")?
        .or(opt_string(obj, "method")?)
        .unwrap_or_else(|| "GET".into());
    let uri = opt_string(obj, "uri")?.unwrap_or_else(|| "/".into());
    match opt_string(obj, "args")? {
        Some(a) => {
            r.uri = uri;
            r.args = a;
        }
        None => {
            let (p, q) = uri.split_once('?').unwrap_or((&uri, ""));
            r.args = q.to_string();
            r.uri = p.to_string();
        }
    }
    r.http_version = opt_string(obj, "httpVersion")?.unwrap_or_else(|| "HTTP/1.1".into());
    if let Some(h) = obj.get("headers") {
        r.headers = headers(h)?;
    }
    r.body = body(obj)?;
    r.fragment = opt_string(obj, "fragment")?;
    r.ja3 = opt_string(obj, "ja3Fingerprint")?;
    r.ja4 = opt_string(obj, "ja4Fingerprint")?;
    if let Some(l) = obj.get("labels") {
        r.labels = labels(l)?;
    }
    if let Some(t) = obj.get("tokens") {
        r.tokens = tokens(t)?;
    }
    Ok(r)
}

fn strsim_hint(k: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|c| (strsim::jaro_winkler(k, c), c))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("; did you mean \"{c}\"?"))
        .unwrap_or_else(|| format!("; expected one of: {}", known[..21].join(", ")))
}

fn opt_string(obj: &Map<String, Json>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(Json::Number(n)) if key == "id" || key == "requestId" => Ok(Some(n.to_string())),
        Some(other) => Err(format!(
            "expected \"{key}\" to be a string, found {}",
            json_kind(other)
        )),
    }
}

pub(crate) fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn headers(v: &Json) -> Result<Vec<Header>, String> {
    const EXPECTED: &str =
        "expected \"headers\" to be a list of {\"name\": ..., \"value\": ...} objects";
    let Json::Array(items) = v else {
        return Err(EXPECTED.into());
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, h) in items.iter().enumerate() {
        let Json::Object(o) = h else {
            return Err(format!("{EXPECTED}; item {} is {}", i + 1, json_kind(h)));
        };
        let name = match o.get("name") {
            Some(Json::String(s)) => s.clone(),
            _ => return Err(format!("header {} has no \"name\" string", i + 1)),
        };
        let value = match o.get("value") {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            None | Some(Json::Null) => String::new(),
            Some(other) => {
                return Err(format!(
                    "header \"{name}\": expected \"value\" to be a string, found {}",
                    json_kind(other)
                ))
            }
        };
        out.push(Header { name, value });
    }
    Ok(out)
}

fn body(obj: &Map<String, Json>) -> Result<Option<Vec<u8>>, String> {
    match (obj.get("body"), obj.get("body_base64")) {
        (Some(b), Some(_)) if !b.is_null() => {
            Err("give either \"body\" or \"body_base64\", not both".into())
        }
        (_, Some(Json::String(s))) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map(Some)
            .map_err(|e| format!("\"body_base64\" is not valid Base64: {e}")),
        (_, Some(other)) if !other.is_null() => Err(format!(
            "expected \"body_base64\" to be a string, found {}",
            json_kind(other)
        )),
        (Some(Json::String(s)), _) => Ok(Some(s.as_bytes().to_vec())),
        // A JSON body given as JSON: its compact text is the body.
        (Some(v @ (Json::Object(_) | Json::Array(_))), _) => Ok(Some(v.to_string().into_bytes())),
        (Some(Json::Null) | None, _) => Ok(None),
        (Some(other), _) => Err(format!(
            "expected \"body\" to be a string (or a JSON object), found {}",
            json_kind(other)
        )),
    }
}

fn labels(v: &Json) -> Result<Vec<String>, String> {
    let Json::Array(items) = v else {
        return Err("expected \"labels\" to be a list of label names".into());
    };
    items
        .iter()
        .map(|l| match l {
            Json::String(s) => Ok(s.clone()),
            Json::Object(o) => match o.get("name") {
                Some(Json::String(s)) => Ok(s.clone()),
                _ => Err("expected each label to be a string or {\"name\": ...}".to_string()),
            },
            _ => Err("expected each label to be a string or {\"name\": ...}".to_string()),
        })
        .collect()
}

fn tokens(v: &Json) -> Result<Tokens, String> {
    const EXPECTED: &str = "expected \"tokens\" to be a list such as [\"captcha\", \"challenge\"] \
         or an object {\"captcha\": SOLVE_TIME_MS, \"challenge\": SOLVE_TIME_MS}";
    let mut t = Tokens::default();
    let set = |t: &mut Tokens, kind: &str, state: TokenState| -> Result<(), String> {
        match kind {
            "captcha" => t.captcha = state,
            "challenge" => t.challenge = state,
            other => {
                return Err(format!(
                    "unknown token kind \"{other}\"; expected \"captcha\" or \"challenge\""
                ))
            }
        }
        Ok(())
    };
    match v {
        Json::Array(items) => {
            for it in items {
                let Json::String(s) = it else {
                    return Err(EXPECTED.into());
                };
                set(&mut t, s, TokenState::Valid)?;
            }
        }
        Json::Object(o) => {
            for (k, val) in o {
                let state = match val {
                    Json::Bool(true) => TokenState::Valid,
                    Json::Bool(false) | Json::Null => TokenState::Absent,
                    Json::Number(n) => TokenState::SolvedAt(n.as_i64().ok_or(EXPECTED)?),
                    _ => return Err(EXPECTED.into()),
                };
                set(&mut t, k, state)?;
            }
        }
        _ => return Err(EXPECTED.into()),
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Request, String> {
        let v: Json = serde_json::from_str(s).unwrap();
        request_from_json(v.as_object().unwrap(), true)
    }

    #[test]
    fn log_shape_and_fixture_extras() {
        let r = parse(
            r#"{"clientIp":"1.2.3.4","country":"US","headers":[{"name":"Host","value":"a"},{"name":"X","value":"1"},{"name":"x","value":"2"}],
                "uri":"/p","args":"a=1","httpMethod":"POST","httpVersion":"HTTP/2.0","body":"{}","tokens":["captcha"],"timestamp":5}"#,
        )
        .unwrap();
        assert_eq!(r.client_ip.unwrap().to_string(), "1.2.3.4");
        assert_eq!(r.header("x").unwrap(), "1, 2");
        assert_eq!(r.body.as_deref(), Some(&b"{}"[..]));
        assert_eq!(r.tokens.captcha, TokenState::Valid);
        assert_eq!(r.timestamp, Some(5));
    }

    #[test]
    fn summary_is_bounded_and_escaped() {
        let mut r = Request::get("1.1.1.1", "/a?b=\n");
        r.id = Some("x".into());
        assert_eq!(r.summary(), "x (GET /a?b=\\n)");
        r.uri = "/".repeat(500);
        assert!(r.summary().chars().count() <= 161);
    }

    #[test]
    fn uri_with_query_is_split() {
        let r = parse(r#"{"uri":"/s?q=1&b=2","method":"GET"}"#).unwrap();
        assert_eq!((r.uri.as_str(), r.args.as_str()), ("/s", "q=1&b=2"));
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(parse(r#"{"clientIp":"999.1.1.1"}"#)
            .unwrap_err()
            .contains("IPv4 or IPv6"));
        assert!(parse(r#"{"body_base64":"!!"}"#)
            .unwrap_err()
            .contains("not valid Base64"));
        assert_eq!(
            parse(r#"{"heders":[]}"#).unwrap_err(),
            "unknown request field \"heders\"; did you mean \"headers\"?"
        );
    }
}
