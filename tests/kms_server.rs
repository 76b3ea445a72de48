//! The KMS endpoint end to end, over raw HTTP from a std `TcpStream`, with
//! requests signed by hand (AWS Signature Version 4): the server runs in-process
//! on a free loopback port with a fresh keystore.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use deadbolt::kms::server::sigv4::{
    authorization_header, format_amz_date, now_epoch, RequestParts,
};
use deadbolt::kms::server::{start, ServeOptions, ServerHandle};
use deadbolt::kms::RootKey;

const ACCOUNT: &str = "111122223333";
const ADMIN: (&str, &str) = ("AKIAADMIN00000000001", "admin-secret/with+chars");
const APP: (&str, &str) = ("AKIAAPP0000000000002", "app-secret");
const ROOT_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

struct Server {
    handle: Option<ServerHandle>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn addr(&self) -> SocketAddr {
        self.handle.as_ref().unwrap().addr()
    }
}

fn write_keys(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("access-keys.json");
    let keys = json!({
        ADMIN.0: {"secret": ADMIN.1, "principal": format!("arn:aws:iam::{ACCOUNT}:root")},
        APP.0: {"secret": APP.1, "principal": format!("arn:aws:iam::{ACCOUNT}:user/app")},
    });
    std::fs::write(&p, keys.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

fn server_with(configure: impl FnOnce(&mut ServeOptions)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut o = ServeOptions::new(
        dir.path().join("keystore"),
        RootKey::from_hex(ROOT_KEY).unwrap(),
    );
    o.addr = "127.0.0.1:0".into();
    o.access_keys = Some(write_keys(dir.path()));
    o.threads = 4;
    configure(&mut o);
    let handle = start(o).expect("server starts");
    Server {
        handle: Some(handle),
        _dir: dir,
    }
}

fn server() -> Server {
    server_with(|_| {})
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn error_type(&self) -> String {
        self.json()["__type"].as_str().unwrap_or("").to_string()
    }
}

/// A keep-alive HTTP/1.1 client connection; it reconnects when the server's
/// last answer said `Connection: close`.
struct Client {
    addr: SocketAddr,
    stream: TcpStream,
    buf: Vec<u8>,
    reconnect: bool,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Client {
            addr,
            stream,
            buf: Vec::new(),
            reconnect: false,
        }
    }

    fn send(&mut self, raw: &[u8]) -> Resp {
        if self.reconnect {
            *self = Client::connect(self.addr);
        }
        self.stream.write_all(raw).unwrap();
        self.read_response()
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).unwrap();
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    fn read_response(&mut self) -> Resp {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            assert!(self.fill() > 0, "connection closed before a response");
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status: u16 = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("Content-Length");
        while self.buf.len() < head_end + 4 + len {
            assert!(self.fill() > 0, "connection closed in a body");
        }
        let body = self.buf[head_end + 4..head_end + 4 + len].to_vec();
        self.buf.drain(..head_end + 4 + len);
        self.reconnect = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("connection") && v == "close");
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Whether the server has closed the connection.
    fn closed(&mut self) -> bool {
        self.buf.is_empty() && matches!(self.stream.read(&mut [0u8; 1]), Ok(0) | Err(_))
    }
}

/// Raw request bytes for a KMS operation; signed when `key` is given.
fn kms_request(
    addr: SocketAddr,
    op: &str,
    body: &[u8],
    key: Option<(&str, &str)>,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), addr.to_string()),
        ("Content-Type".into(), "application/x-amz-json-1.1".into()),
        ("X-Amz-Date".into(), format_amz_date(now_epoch())),
        ("X-Amz-Target".into(), format!("TrentService.{op}")),
    ];
    headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    if let Some((id, secret)) = key {
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        let auth = authorization_header(&parts, id, secret, "us-east-1", "kms");
        headers.push(("Authorization".into(), auth));
    }
    let mut raw = b"POST / HTTP/1.1\r\n".to_vec();
    for (n, v) in &headers {
        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    raw.extend_from_slice(body);
    raw
}

fn call(
    c: &mut Client,
    addr: SocketAddr,
    op: &str,
    body: Value,
    key: Option<(&str, &str)>,
) -> Resp {
    c.send(&kms_request(
        addr,
        op,
        body.to_string().as_bytes(),
        key,
        &[],
    ))
}

fn create_key(c: &mut Client, addr: SocketAddr) -> String {
    let r = call(
        c,
        addr,
        "CreateKey",
        json!({"Description": "test"}),
        Some(ADMIN),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn signed_requests_are_served_as_aws_json() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let r = call(&mut c, s.addr(), "CreateKey", json!({}), Some(ADMIN));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let rid = r.header("x-amzn-requestid").expect("a request id");
    assert_eq!(uuid::Uuid::parse_str(rid).unwrap().get_version_num(), 4);
    let meta = &r.json()["KeyMetadata"];
    let key = meta["KeyId"].as_str().unwrap().to_string();
    assert!(
        meta["Arn"].as_str().unwrap().starts_with("arn:aws:kms:"),
        "{meta}"
    );

    // Encrypt and decrypt over the same kept-alive connection, as the app user.
    let r = call(
        &mut c,
        s.addr(),
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"hello")}),
        Some(ADMIN),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    let blob = r.json()["CiphertextBlob"].as_str().unwrap().to_string();
    let r = call(
        &mut c,
        s.addr(),
        "Decrypt",
        json!({"CiphertextBlob": blob}),
        Some(ADMIN),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(unb64(r.json()["Plaintext"].as_str().unwrap()), b"hello");
    assert!(r.header("connection").is_none(), "kept alive");
}

#[test]
fn unsigned_requests_are_refused_without_allow_unsigned() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let r = call(&mut c, s.addr(), "CreateKey", json!({}), None);
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "MissingAuthenticationTokenException")
    );
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    assert!(r.header("x-amzn-requestid").is_some());
}

#[test]
fn allow_unsigned_acts_as_the_account_root_and_still_verifies_signatures() {
    let s = server_with(|o| o.allow_unsigned = true);
    let mut c = Client::connect(s.addr());
    let r = call(&mut c, s.addr(), "CreateKey", json!({}), None);
    assert_eq!(r.status, 200, "{:?}", r.json());
    let arn = r.json()["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    assert!(arn.contains(&format!(":{ACCOUNT}:key/")), "{arn}");
    let r = call(
        &mut c,
        s.addr(),
        "CreateKey",
        json!({}),
        Some((ADMIN.0, "wrong")),
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "InvalidSignatureException")
    );
}

#[test]
fn bad_signature_and_unknown_access_key_are_refused() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let r = call(
        &mut c,
        s.addr(),
        "CreateKey",
        json!({}),
        Some((ADMIN.0, "not-the-secret")),
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "InvalidSignatureException")
    );
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("signature we calculated does not match"));
    let r = call(
        &mut c,
        s.addr(),
        "CreateKey",
        json!({}),
        Some(("AKIAUNKNOWN000000003", "x")),
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnrecognizedClientException")
    );

    // A body changed after signing.
    let mut raw = kms_request(
        s.addr(),
        "CreateKey",
        br#"{"Description":"a"}"#,
        Some(ADMIN),
        &[],
    );
    let n = raw.len();
    raw[n - 3] = b'b';
    let r = c.send(&raw);
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "InvalidSignatureException")
    );

    // A malformed Authorization header.
    let raw = kms_request(
        s.addr(),
        "CreateKey",
        b"{}",
        None,
        &[("Authorization", "AWS4-HMAC-SHA256 Signature=abc")],
    );
    let r = c.send(&raw);
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "IncompleteSignatureException")
    );
}

#[test]
fn requests_signed_too_long_ago_are_refused() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let old = format_amz_date(now_epoch() - 16 * 60);
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), s.addr().to_string()),
        ("Content-Type".into(), "application/x-amz-json-1.1".into()),
        ("X-Amz-Date".into(), old),
        ("X-Amz-Target".into(), "TrentService.ListKeys".into()),
    ];
    let parts = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: b"{}",
    };
    let auth = authorization_header(&parts, ADMIN.0, ADMIN.1, "us-east-1", "kms");
    headers.push(("Authorization".into(), auth));
    let mut raw = b"POST / HTTP/1.1\r\n".to_vec();
    for (n, v) in &headers {
        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
    let r = c.send(&raw);
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "InvalidSignatureException")
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired"),
        "{:?}",
        r.json()
    );
}

#[test]
fn oversized_bodies_get_413() {
    let s = server_with(|o| o.max_body = 1000);
    // Announced but not sent: answered without reading it.
    let mut c = Client::connect(s.addr());
    let r = c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (413, "RequestEntityTooLargeException")
    );
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());

    // Sent in full (2 MiB): the answer still arrives.
    let body = format!("{{\"Plaintext\": \"{}\"}}", "A".repeat(2 << 20));
    let raw = kms_request(s.addr(), "Encrypt", body.as_bytes(), Some(ADMIN), &[]);
    let mut c = Client::connect(s.addr());
    let writer = {
        let mut w = c.stream.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&raw);
        })
    };
    let r = c.read_response();
    assert_eq!(r.status, 413);
    writer.join().unwrap();

    // At the limit it is read (and then judged by the KMS).
    let mut c = Client::connect(s.addr());
    let body = format!(
        "{{\"KeyId\": \"alias/none\", \"Plaintext\": \"{}\"}}",
        "A".repeat(1000 - 40)
    );
    assert_eq!(body.len(), 1000);
    let r = c.send(&kms_request(
        s.addr(),
        "Encrypt",
        body.as_bytes(),
        Some(ADMIN),
        &[],
    ));
    assert_ne!(r.status, 413);
}

#[test]
fn expect_100_continue_is_honoured() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let raw = kms_request(
        s.addr(),
        "CreateKey",
        b"{}",
        Some(ADMIN),
        &[("Expect", "100-continue")],
    );
    let split = raw.len() - 2;
    c.stream.write_all(&raw[..split]).unwrap();
    let mut interim = [0u8; 25];
    c.stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    let r = c.send(&raw[split..]);
    assert_eq!(r.status, 200, "{:?}", r.json());
}

/// Raw unsigned request bytes with exactly these headers (plus Host and Content-Length).
fn raw_request(addr: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut raw = format!("POST / HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    for (n, v) in headers {
        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    raw.extend_from_slice(body);
    raw
}

#[test]
fn unknown_operations_targets_and_content_types() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let r = call(&mut c, s.addr(), "Bogus", json!({}), Some(ADMIN));
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnknownOperationException"),
        "{:?}",
        r.json()
    );

    // The target is signed: changing it breaks the signature.
    let raw = kms_request(s.addr(), "CreateKey", b"{}", Some(ADMIN), &[]);
    let raw = String::from_utf8(raw)
        .unwrap()
        .replace("TrentService.CreateKey", "TrentService.ListKeys");
    let r = c.send(raw.as_bytes());
    assert_eq!(r.error_type(), "InvalidSignatureException");

    let s = server_with(|o| o.allow_unsigned = true);
    let mut c = Client::connect(s.addr());
    let json11 = ("Content-Type", "application/x-amz-json-1.1");
    let r = c.send(&raw_request(s.addr(), &[json11], b"{}"));
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnknownOperationException")
    );
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("X-Amz-Target"));

    let r = c.send(&raw_request(
        s.addr(),
        &[json11, ("X-Amz-Target", "DynamoDB_20120810.ListTables")],
        b"{}",
    ));
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnknownOperationException")
    );

    let target = ("X-Amz-Target", "TrentService.ListKeys");
    let r = c.send(&raw_request(
        s.addr(),
        &[target, ("Content-Type", "text/plain")],
        b"{}",
    ));
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnknownOperationException")
    );
    assert!(r.json()["message"].as_str().unwrap().contains("text/plain"));

    let r = c.send(&raw_request(s.addr(), &[target, json11], b"{not json"));
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "SerializationException")
    );

    let r = c.send(&raw_request(s.addr(), &[target, json11], b""));
    assert_eq!(
        r.status,
        200,
        "an empty body is an empty request: {:?}",
        r.json()
    );

    let r = c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (405, "UnknownOperationException")
    );
    assert_eq!(r.header("allow"), Some("POST"));
}

#[test]
fn malformed_http_is_answered_and_closed() {
    let s = server();
    for raw in [
        &b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        b"NOT HTTP\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
    ] {
        let mut c = Client::connect(s.addr());
        let r = c.send(raw);
        assert!(
            matches!(r.status, 400 | 411),
            "{}: {r:?}",
            String::from_utf8_lossy(raw)
        );
        assert!(!r.error_type().is_empty());
        assert!(c.closed());
    }
}

#[test]
fn key_policies_apply_to_the_signing_principal() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let key = create_key(&mut c, s.addr());
    // The default key policy trusts the account: the app user may encrypt.
    let r = call(
        &mut c,
        s.addr(),
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x")}),
        Some(APP),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "NotApp", "Effect": "Deny", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/app")}, "Action": "kms:*", "Resource": "*"}
        ]
    });
    let r = call(
        &mut c,
        s.addr(),
        "PutKeyPolicy",
        json!({"KeyId": key, "PolicyName": "default", "Policy": policy.to_string()}),
        Some(ADMIN),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    let r = call(
        &mut c,
        s.addr(),
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x")}),
        Some(APP),
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "AccessDeniedException")
    );
    let r = call(
        &mut c,
        s.addr(),
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x")}),
        Some(ADMIN),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn concurrent_clients() {
    let s = server();
    let addr = s.addr();
    let key = create_key(&mut Client::connect(addr), addr);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let key = key.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                for i in 0..20 {
                    let msg = format!("thread {t} message {i}");
                    let r = call(
                        &mut c,
                        addr,
                        "Encrypt",
                        json!({"KeyId": key, "Plaintext": b64(msg.as_bytes())}),
                        Some(ADMIN),
                    );
                    assert_eq!(r.status, 200, "{:?}", r.json());
                    let blob = r.json()["CiphertextBlob"].as_str().unwrap().to_string();
                    let r = call(
                        &mut c,
                        addr,
                        "Decrypt",
                        json!({"CiphertextBlob": blob}),
                        Some(APP),
                    );
                    assert_eq!(r.status, 200, "{:?}", r.json());
                    assert_eq!(
                        unb64(r.json()["Plaintext"].as_str().unwrap()),
                        msg.as_bytes()
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn idle_kept_alive_connections_hold_no_worker() {
    // One worker; a client that keeps its connection open and idle does not
    // stop a second client from being served, and stays usable itself.
    let s = server_with(|o| o.threads = 1);
    let mut idle = Client::connect(s.addr());
    let r = call(&mut idle, s.addr(), "ListKeys", json!({}), Some(ADMIN));
    assert_eq!(r.status, 200, "{:?}", r.json());
    let mut other = Client::connect(s.addr());
    let r = call(&mut other, s.addr(), "ListKeys", json!({}), Some(ADMIN));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), None, "kept alive");
    let r = call(&mut idle, s.addr(), "ListKeys", json!({}), Some(ADMIN));
    assert_eq!(r.status, 200);
    assert_eq!(s.handle.as_ref().unwrap().open_connections(), 2);
}

#[test]
fn shutdown_finishes_requests_already_sent() {
    let mut s = server();
    let addr = s.addr();
    let mut c = Client::connect(addr);
    create_key(&mut c, addr);
    let mut fresh = Client::connect(addr);
    fresh
        .stream
        .write_all(&kms_request(addr, "ListKeys", b"{}", Some(ADMIN), &[]))
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let handle = s.handle.take().unwrap();
    let stopper = std::thread::spawn(move || handle.shutdown());
    let r = fresh.read_response();
    assert_eq!(r.status, 200, "{:?}", r.json());
    stopper.join().unwrap();
    assert!(c.closed(), "idle connections are closed");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "no longer listening"
    );
}

/// `deadbolt kms serve`, the binary: root key from `DEADBOLT_KMS_ROOT_KEY`,
/// port 0, the address printed and written to `--port-file`, SIGTERM → exit 0.
#[cfg(unix)]
#[test]
fn the_binary_serves_until_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let keys = write_keys(dir.path());
    let port_file = dir.path().join("addr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_deadbolt"))
        .args(["kms", "serve", "--addr", "127.0.0.1:0", "--keystore"])
        .arg(dir.path().join("keystore"))
        .arg("--access-keys")
        .arg(&keys)
        .arg("--port-file")
        .arg(&port_file)
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut mode = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no address printed"
        );
        if line.starts_with("authentication: ") {
            mode = line.clone();
        }
        if line.starts_with("listening on ") {
            break;
        }
    }
    assert!(
        mode.contains("one of the 2 configured access keys are verified")
            && mode.contains("every request must be signed"),
        "{mode}"
    );
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    let addr: SocketAddr = url.strip_prefix("http://").unwrap().parse().unwrap();
    assert_ne!(addr.port(), 0);
    assert_eq!(
        std::fs::read_to_string(&port_file).unwrap().trim(),
        addr.to_string()
    );

    let mut c = Client::connect(addr);
    create_key(&mut c, addr);
    let r = call(&mut c, addr, "ListKeys", json!({}), Some(APP));
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["Keys"].as_array().unwrap().len(), 1);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "exit {status:?}; stderr: {rest}");
    assert!(
        rest.contains("SIGTERM") && rest.contains("stopped"),
        "{rest}"
    );
    assert!(c.closed(), "connections are closed on shutdown");
}

#[test]
fn the_binary_refuses_a_remote_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deadbolt"))
        .args([
            "kms",
            "serve",
            "--allow-unsigned",
            "--addr",
            "0.0.0.0:0",
            "--keystore",
        ])
        .arg(dir.path().join("keystore"))
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--allow-remote"),
        "{err}"
    );
}
