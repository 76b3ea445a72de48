//! AWS Signature Version 4 (`AWS4-HMAC-SHA256` in the `Authorization` header):
//! verification for the server, and signing for clients of it (tests, benches).
//!
//! The canonical request is built as AWS's non-S3 services build it (and as
//! botocore signs): the path with dot segments removed and URI-encoded once more,
//! the query decoded and re-encoded with AWS's unreserved set and sorted by name
//! then value, the signed headers lower-cased with their values trimmed and inner
//! runs of spaces collapsed, repeated headers joined with `,`, and the hex SHA-256
//! of the body. `x-amz-content-sha256`, when sent, must be that hash: the body of
//! an AWS JSON request *is* the operation, so an unsigned payload is never taken.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's `X-Amz-Date` may be from the server's clock (AWS's value).
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// Why a request's authentication was refused; each maps to the AWS error
/// (`__type`) that a real endpoint returns, all with HTTP status 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header at all.
    Missing,
    /// An `Authorization` header that cannot be understood, or lacks a part.
    Incomplete(String),
    /// The access key id is not configured.
    UnrecognizedClient,
    /// A well-formed signature that does not verify (or is out of date).
    InvalidSignature(String),
}

/// AWS's message for a signature that does not match.
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the \
signature you provided. Check your AWS Secret Access Key and signing method. Consult the service \
documentation for details.";

impl AuthError {
    /// The AWS error type (`__type`).
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationTokenException",
            AuthError::Incomplete(_) => "IncompleteSignatureException",
            AuthError::UnrecognizedClient => "UnrecognizedClientException",
            AuthError::InvalidSignature(_) => "InvalidSignatureException",
        }
    }

    pub fn message(&self) -> String {
        match self {
            AuthError::Missing => "Missing Authentication Token".into(),
            AuthError::Incomplete(m) | AuthError::InvalidSignature(m) => m.clone(),
            AuthError::UnrecognizedClient => {
                "The security token included in the request is invalid.".into()
            }
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key: &'a str,
    /// `YYYYMMDD` of the credential scope.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// Lower-cased, in the order given.
    pub signed_headers: Vec<String>,
    pub signature: &'a str,
}

impl Authorization<'_> {
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// Parses the value of an `Authorization` header.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} is accepted)"
        )));
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, val)) = part.split_once('=') else {
            return Err(AuthError::Incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'."
            )));
        };
        let slot = match name.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => {
                return Err(AuthError::Incomplete(format!(
                    "unknown parameter '{other}' in the Authorization header"
                )))
            }
        };
        if slot.replace(val.trim()).is_some() {
            return Err(AuthError::Incomplete(format!(
                "parameter '{}' appears twice in the Authorization header",
                name.trim()
            )));
        }
    }
    let mut missing = String::new();
    for (name, v) in [
        ("Credential", &credential),
        ("Signature", &signature),
        ("SignedHeaders", &signed),
    ] {
        if v.is_none_or(|v| v.is_empty()) {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if !missing.is_empty() {
        missing.push_str(&format!("Authorization={value}"));
        return Err(AuthError::Incomplete(missing));
    }
    let (credential, signed, signature) = (
        credential.unwrap_or_default(),
        signed.unwrap_or_default(),
        signature.unwrap_or_default(),
    );
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope[..] else {
        return Err(AuthError::Incomplete(format!(
            "Credential '{credential}' is not of the form ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request"
        )));
    };
    if access_key.is_empty() {
        return Err(AuthError::Incomplete(
            "Credential has an empty access key id".into(),
        ));
    }
    if terminator != "aws4_request" {
        return Err(AuthError::InvalidSignature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::Incomplete(format!(
            "Credential date '{date}' is not of the form YYYYMMDD"
        )));
    }
    if region.is_empty() {
        return Err(AuthError::InvalidSignature(
            "Credential should be scoped to a valid region.".into(),
        ));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_ascii_lowercase).collect();
    if signed_headers.iter().any(|h| h.is_empty()) {
        return Err(AuthError::Incomplete(format!(
            "SignedHeaders '{signed}' has an empty header name"
        )));
    }
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// The request as the server received it (or as a client will send it).
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The request target's path, as sent on the wire (already percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?` (empty when there is none).
    pub query: &'a str,
    /// Header names in any case, values as received.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> RequestParts<'a> {
    /// All values of a header, in order (name compared case-insensitively).
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn single(&self, name: &str) -> Result<Option<&'a str>, AuthError> {
        let mut it = self.values(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(AuthError::Incomplete(format!(
                "the request has more than one '{name}' header"
            )));
        }
        Ok(first)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// AWS URI encoding: every byte except `A-Za-z0-9-_.~` becomes `%XX` (upper
/// case); `/` is kept when `keep_slash`.
pub fn uri_encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The canonical URI: dot segments and empty segments removed (a trailing `/`
/// kept), then each byte of the wire form URI-encoded again, as botocore does
/// for every service but S3.
pub fn canonical_uri(path: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut normal = String::from("/");
    normal.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normal.push('/');
    }
    uri_encode(normal.as_bytes(), true)
}

/// The canonical query string: `name=value` pairs decoded, re-encoded, sorted.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value with leading/trailing white space removed and inner runs of
/// white space collapsed to one space.
fn trim_all(v: &str) -> String {
    v.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request. `signed_headers` are lower-case names; each must be
/// present in the request.
pub fn canonical_request(
    req: &RequestParts<'_>,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, AuthError> {
    let mut names: Vec<&str> = signed_headers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = String::with_capacity(256 + req.path.len() + req.query.len());
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    for name in &names {
        let values: Vec<String> = req.values(name).map(trim_all).collect();
        if values.is_empty() {
            return Err(AuthError::InvalidSignature(format!(
                "The header '{name}' is listed in SignedHeaders but is not in the request."
            )));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The hex signature of a string to sign.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(signing_key, string_to_sign.as_bytes()))
}

/// What the server checks a request against.
pub struct Verifier<'k> {
    /// The service name required in the credential scope (`kms`).
    pub service: &'k str,
    /// The server's clock, in seconds since the Unix epoch.
    pub now: i64,
}

impl Verifier<'_> {
    /// Verifies the request's signature. `secret_of` looks up an access key id's
    /// secret. Returns the access key id that signed the request.
    pub fn verify<'r, S: AsRef<str>>(
        &self,
        req: &'r RequestParts<'r>,
        secret_of: impl FnOnce(&str) -> Option<S>,
    ) -> Result<&'r str, AuthError> {
        let header = req.single("authorization")?.ok_or(AuthError::Missing)?;
        let auth = parse_authorization(header)?;
        if auth.service != self.service {
            return Err(AuthError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{}'.",
                self.service
            )));
        }
        let secret = secret_of(auth.access_key).ok_or(AuthError::UnrecognizedClient)?;

        let amz_date = req.single("x-amz-date")?.ok_or_else(|| {
            AuthError::Incomplete(
                "Authorization header requires existence of an 'X-Amz-Date' header.".into(),
            )
        })?;
        let amz_date = amz_date.trim();
        let Some(when) = parse_amz_date(amz_date) else {
            return Err(AuthError::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}' (expected YYYYMMDD'T'HHMMSS'Z')."
            )));
        };
        if &amz_date[..8] != auth.date {
            return Err(AuthError::InvalidSignature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                &amz_date[..8]
            )));
        }
        if when < self.now - MAX_SKEW_SECS {
            return Err(AuthError::InvalidSignature(format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
                format_amz_date(self.now - MAX_SKEW_SECS),
                format_amz_date(self.now)
            )));
        }
        if when > self.now + MAX_SKEW_SECS {
            return Err(AuthError::InvalidSignature(format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
                format_amz_date(self.now + MAX_SKEW_SECS),
                format_amz_date(self.now)
            )));
        }
        // What the signature must cover: the host, the date, and the operation.
        for (name, required) in [
            ("host", true),
            ("x-amz-date", true),
            ("x-amz-target", req.values("x-amz-target").next().is_some()),
        ] {
            if required && !auth.signed_headers.iter().any(|h| h == name) {
                return Err(AuthError::Incomplete(format!(
                    "'{name}' must be a 'SignedHeader' in the AWS Authorization."
                )));
            }
        }

        let body_hash = sha256_hex(req.body);
        if let Some(claimed) = req.single("x-amz-content-sha256")? {
            if !claimed.trim().eq_ignore_ascii_case(&body_hash) {
                return Err(AuthError::InvalidSignature(
                    "The provided 'x-amz-content-sha256' header does not match what was computed (an unsigned or streaming payload is not accepted)."
                        .into(),
                ));
            }
        }
        let provided = match hex::decode(auth.signature) {
            Ok(b) if b.len() == 32 => b,
            _ => return Err(AuthError::InvalidSignature(SIGNATURE_MISMATCH.into())),
        };
        let creq = canonical_request(req, &auth.signed_headers, &body_hash)?;
        let sts = string_to_sign(amz_date, &auth.scope(), &creq);
        let key = signing_key(secret.as_ref(), auth.date, auth.region, auth.service);
        let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(sts.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&provided)
            .map_err(|_| AuthError::InvalidSignature(SIGNATURE_MISMATCH.into()))?;
        Ok(auth.access_key)
    }
}

/// Client side: the `Authorization` header value for a request, signing every
/// header in `req.headers` (which must include `host` and `x-amz-date`).
pub fn authorization_header(
    req: &RequestParts<'_>,
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
) -> String {
    let amz_date = req
        .values("x-amz-date")
        .next()
        .expect("x-amz-date header to sign")
        .trim()
        .to_string();
    let date = &amz_date[..8.min(amz_date.len())];
    let mut signed: Vec<String> = req
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    signed.sort();
    signed.dedup();
    let creq = canonical_request(req, &signed, &sha256_hex(req.body))
        .expect("every signed header is present");
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let sig = signature(&signing_key(secret, date, region, service), &sts);
    format!(
        "{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={}, Signature={sig}",
        signed.join(";")
    )
}

// ---- time ---------------------------------------------------------------

/// Seconds since the Unix epoch, now.
pub fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses `YYYYMMDDTHHMMSSZ` into seconds since the epoch.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se)
}

/// Formats seconds since the epoch as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86400));
    let s = t.rem_euclid(86400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Formats seconds since the epoch as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn format_http_date(t: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = t.div_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let s = t.rem_euclid(86400);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests;
