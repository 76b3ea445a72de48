//! The AWS JSON 1.1 layer: authenticates a request, finds its operation, parses
//! its body, calls the KMS, and shapes the answer as AWS does.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Instant;

use serde_json::Value;

use super::access_keys::AccessKeys;
use super::http::{HttpError, Request, Response};
use super::sigv4::{self, AuthError, RequestParts, Verifier};
use crate::kms::regions::Regions;
use crate::kms::{Caller, Kms, KmsError};

/// The `X-Amz-Target` prefix of AWS KMS operations.
pub const TARGET_PREFIX: &str = "TrentService.";
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub struct Service {
    pub kms: Kms,
    pub keys: AccessKeys,
    /// Local-use mode: unsigned requests, and requests signed with an access
    /// key id that `keys` does not have, act as the account root (their
    /// signature is not checked). Requests signed with a configured access key
    /// are verified as always.
    pub allow_unsigned: bool,
    /// The account those requests act in (the keystore's).
    pub account: String,
    /// The region an unsigned request is served in.
    pub region: String,
    /// The keystore's home region (always served).
    pub home_region: String,
    /// The regions a credential scope may name.
    pub regions: Regions,
    pub log_requests: bool,
}

/// An error answer: HTTP status, AWS `__type`, message; and what the server
/// logs about it (never sent).
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

impl ApiError {
    fn bad(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            kind,
            message: message.into(),
            detail: None,
        }
    }
}

impl From<KmsError> for ApiError {
    fn from(e: KmsError) -> Self {
        ApiError {
            status: e.status,
            kind: e.kind,
            message: e.message,
            detail: e.detail,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::bad(e.kind(), e.message())
    }
}

impl From<HttpError> for ApiError {
    fn from(e: HttpError) -> Self {
        ApiError {
            status: e.status,
            kind: e.kind,
            message: e.message,
            detail: None,
        }
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A JSON answer with AWS's headers.
pub fn json_response(status: u16, body: &Value, extra: Option<(&'static str, String)>) -> Response {
    let mut headers = vec![
        ("x-amzn-RequestId", request_id()),
        ("Content-Type", CONTENT_TYPE.to_string()),
    ];
    headers.extend(extra);
    Response {
        status,
        headers,
        body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// An AWS error answer: `{"__type": …, "message": …}` and `x-amzn-ErrorType`.
pub fn error_response(e: &ApiError) -> Response {
    json_response(
        e.status,
        &serde_json::json!({"__type": e.kind, "message": e.message}),
        Some(("x-amzn-ErrorType", e.kind.to_string())),
    )
}

/// The operation name of an `X-Amz-Target` header.
fn operation(req: &Request) -> Result<&str, ApiError> {
    let target = req.header("x-amz-target").ok_or_else(|| {
        ApiError::bad(
            "UnknownOperationException",
            "missing X-Amz-Target header (expected TrentService.<Operation>, e.g. TrentService.Encrypt)",
        )
    })?;
    match target.strip_prefix(TARGET_PREFIX) {
        Some(op) if !op.is_empty() && op.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(op),
        _ => Err(ApiError::bad(
            "UnknownOperationException",
            format!("unknown operation {target:?}: this endpoint serves AWS KMS (X-Amz-Target: TrentService.<Operation>)"),
        )),
    }
}

fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let ct = req.header("content-type").unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case(CONTENT_TYPE)
        || media.eq_ignore_ascii_case("application/x-amz-json-1.0")
    {
        return Ok(());
    }
    Err(ApiError::bad(
        "UnknownOperationException",
        if ct.is_empty() {
            format!("missing Content-Type header (AWS KMS speaks {CONTENT_TYPE})")
        } else {
            format!("unsupported Content-Type {ct:?} (AWS KMS speaks {CONTENT_TYPE})")
        },
    ))
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::bad(
            "SerializationException",
            "the request body is not a JSON object",
        )),
        Err(e) => Err(ApiError::bad(
            "SerializationException",
            format!("the request body is not valid JSON: {e}"),
        )),
    }
}

impl Service {
    /// Who is calling, and in which region: the verified signer in its
    /// credential scope's region, or (in local-use mode) the account root.
    fn authenticate(&self, req: &Request) -> Result<Caller, ApiError> {
        let root = || Caller::local_admin(&self.account);
        let Some(header) = req.header("authorization") else {
            if self.allow_unsigned {
                return Ok(root().in_region(self.region.clone()));
            }
            return Err(AuthError::Missing.into());
        };
        let auth = sigv4::parse_authorization(header)?;
        if auth.service != "kms" {
            return Err(AuthError::InvalidSignature(
                "Credential should be scoped to correct service: 'kms'.".into(),
            )
            .into());
        }
        if !self.regions.allows(auth.region, &self.home_region) {
            return Err(AuthError::InvalidSignature(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                auth.region
            ))
            .into());
        }
        let region = auth.region.to_string();
        let Some(key) = self.keys.get(auth.access_key) else {
            if self.allow_unsigned {
                return Ok(root().in_region(region));
            }
            return Err(AuthError::UnrecognizedClient.into());
        };
        let parts = RequestParts {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        };
        let verifier = Verifier {
            service: "kms",
            now: sigv4::now_epoch(),
        };
        verifier.verify(&parts, |_| Some(key.secret.as_str()))?;
        Ok(Caller {
            principal: key.principal.clone(),
            account: key.account.clone(),
            via_service: None,
            region: Some(region),
        })
    }

    fn route(
        &self,
        req: &Request,
        who: &mut String,
        op_name: &mut String,
    ) -> Result<Value, ApiError> {
        if req.method != "POST" {
            return Err(ApiError {
                status: 405,
                kind: "UnknownOperationException",
                message: format!(
                    "{} is not accepted: AWS KMS requests are POST / with X-Amz-Target: TrentService.<Operation>",
                    req.method
                ),
                detail: None,
            });
        }
        let caller = self.authenticate(req)?;
        who.clone_from(&caller.principal);
        let op = operation(req)?;
        op_name.push_str(op);
        check_content_type(req)?;
        let input = parse_body(&req.body)?;
        Ok(self.kms.call(op, &caller, input)?)
    }

    /// Answers one request.
    pub fn handle(&self, req: &Request, peer: SocketAddr) -> Response {
        let t0 = Instant::now();
        let (mut who, mut op) = (String::new(), String::new());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.route(req, &mut who, &mut op)
        }))
        .unwrap_or_else(|_| {
            Err(ApiError {
                status: 500,
                kind: "KMSInternalException",
                message: "internal error while serving the request".into(),
                detail: Some("a panic while serving the request (a bug: please report it)".into()),
            })
        });
        let (resp, kind, detail) = match result {
            Ok(v) => (json_response(200, &v, None), "", None),
            Err(e) => {
                let mut r = error_response(&e);
                if e.status == 405 {
                    r.headers.push(("Allow", "POST".into()));
                }
                (r, e.kind, e.detail)
            }
        };
        let op = if op.is_empty() { "-" } else { op.as_str() };
        let who = if who.is_empty() { "-" } else { who.as_str() };
        // What went wrong inside the server is always logged, with its
        // detail (paths, OS errors); the client only ever saw the message.
        if resp.status >= 500 || (self.log_requests && detail.is_some()) {
            if let Some(d) = &detail {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "{} {peer} {op} {} {kind}: {}",
                    sigv4::format_amz_date(sigv4::now_epoch()),
                    resp.status,
                    crate::kms::text::escape_control(d)
                );
            }
        }
        if self.log_requests {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{} {peer} {op} {} {kind} {who} {:.1}ms",
                sigv4::format_amz_date(sigv4::now_epoch()),
                resp.status,
                t0.elapsed().as_secs_f64() * 1e3
            );
        }
        resp
    }

    /// Logs (under `log_requests`) a request or connection refused before any
    /// operation: 400, 408, 413, 431, 503.
    pub fn log_rejection(&self, peer: SocketAddr, e: &ApiError, took: std::time::Duration) {
        if self.log_requests {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{} {peer} - {} {} - {:.1}ms ({})",
                sigv4::format_amz_date(sigv4::now_epoch()),
                e.status,
                e.kind,
                took.as_secs_f64() * 1e3,
                crate::kms::text::escape_control(&e.message)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &[u8]) -> Request {
        Request {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            minor_version: 1,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
            keep_alive: true,
        }
    }

    #[test]
    fn operations() {
        assert_eq!(
            operation(&req(&[("X-Amz-Target", "TrentService.Encrypt")], b"")).unwrap(),
            "Encrypt"
        );
        for bad in [
            "",
            "TrentService.",
            "DynamoDB_20120810.ListTables",
            "TrentService.En crypt",
        ] {
            let e = operation(&req(&[("X-Amz-Target", bad)], b"")).unwrap_err();
            assert_eq!(
                (e.status, e.kind),
                (400, "UnknownOperationException"),
                "{bad}"
            );
        }
        let e = operation(&req(&[], b"")).unwrap_err();
        assert!(e.message.contains("missing X-Amz-Target"));
    }

    #[test]
    fn content_types() {
        for ok in [
            "application/x-amz-json-1.1",
            "application/x-amz-json-1.0",
            "Application/X-Amz-Json-1.1; charset=utf-8",
        ] {
            assert!(
                check_content_type(&req(&[("Content-Type", ok)], b"")).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
        ] {
            let e = check_content_type(&req(&[("Content-Type", bad)], b"")).unwrap_err();
            assert_eq!(e.kind, "UnknownOperationException");
            assert!(e.message.contains(bad), "{}", e.message);
        }
        assert!(check_content_type(&req(&[], b""))
            .unwrap_err()
            .message
            .contains("missing Content-Type"));
    }

    #[test]
    fn bodies() {
        assert_eq!(parse_body(b"").unwrap(), serde_json::json!({}));
        assert_eq!(parse_body(b" \n").unwrap(), serde_json::json!({}));
        assert_eq!(parse_body(br#"{"KeyId":"k"}"#).unwrap()["KeyId"], "k");
        for bad in [&b"{"[..], b"[]", b"\"KeyId\"", b"{\"a\":1}x", b"\xff"] {
            assert_eq!(parse_body(bad).unwrap_err().kind, "SerializationException");
        }
    }

    #[test]
    fn error_bodies_are_aws_json() {
        let r = error_response(&ApiError::bad(
            "NotFoundException",
            "Key 'x' does not exist",
        ));
        assert_eq!(r.status, 400);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"__type": "NotFoundException", "message": "Key 'x' does not exist"})
        );
        let h = |n: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("content-type"), Some(CONTENT_TYPE));
        assert_eq!(h("x-amzn-errortype"), Some("NotFoundException"));
        assert_eq!(
            uuid::Uuid::parse_str(h("x-amzn-requestid").unwrap())
                .unwrap()
                .get_version_num(),
            4
        );
    }
}
