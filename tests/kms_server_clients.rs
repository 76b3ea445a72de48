//! The endpoint under clients that misbehave or expect more: slow clients
//! that trickle their request heads, connection caps per client address,
//! HTTP/1.0 keep-alive, SigV4 credential-scope regions, local-use
//! credentials, and a damaged key file — over raw HTTP from std sockets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use deadbolt::kms::regions::Regions;
use deadbolt::kms::server::sigv4::{
    authorization_header, format_amz_date, now_epoch, RequestParts,
};
use deadbolt::kms::server::{start, ServeOptions, ServerHandle};
use deadbolt::kms::RootKey;

const ACCOUNT: &str = "111122223333";
const ADMIN: (&str, &str) = ("AKIAADMIN00000000001", "admin-secret");
const ROOT_KEY: &str = "101112131415161718191a1b1c1d1e1f000102030405060708090a0b0c0d0e0f";

struct Server {
    handle: ServerHandle,
    dir: tempfile::TempDir,
}

fn server(configure: impl FnOnce(&mut ServeOptions)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("access-keys.json");
    std::fs::write(
        &keys,
        json!({ADMIN.0: {"secret": ADMIN.1, "principal": format!("arn:aws:iam::{ACCOUNT}:root")}})
            .to_string(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut o = ServeOptions::new(dir.path().join("ks"), RootKey::from_hex(ROOT_KEY).unwrap());
    o.addr = "127.0.0.1:0".into();
    o.access_keys = Some(keys);
    configure(&mut o);
    let handle = start(o).expect("server starts");
    Server { handle, dir }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: Value,
}

/// A KMS request, signed with `key` for `region` when given.
fn request(
    addr: SocketAddr,
    op: &str,
    body: &Value,
    key: Option<(&str, &str)>,
    region: &str,
) -> Vec<u8> {
    let body = body.to_string();
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), addr.to_string()),
        ("Content-Type".into(), "application/x-amz-json-1.1".into()),
        ("X-Amz-Date".into(), format_amz_date(now_epoch())),
        ("X-Amz-Target".into(), format!("TrentService.{op}")),
    ];
    if let Some((id, secret)) = key {
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let auth = authorization_header(&parts, id, secret, region, "kms");
        headers.push(("Authorization".into(), auth));
    }
    let mut raw = b"POST / HTTP/1.1\r\n".to_vec();
    for (n, v) in &headers {
        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    raw
}

/// Reads one response (Content-Length framed).
fn read_response(s: &mut TcpStream) -> Resp {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk).expect("a response in time");
        assert!(n > 0, "closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    while buf.len() < head_end + 4 + len {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed in a body");
        buf.extend_from_slice(&chunk[..n]);
    }
    Resp {
        status: head[9..12].parse().unwrap(),
        body: serde_json::from_slice(&buf[head_end + 4..head_end + 4 + len]).unwrap_or(Value::Null),
        head,
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    s
}

fn call(addr: SocketAddr, op: &str, body: Value, key: Option<(&str, &str)>, region: &str) -> Resp {
    let mut s = connect(addr);
    s.write_all(&request(addr, op, &body, key, region)).unwrap();
    read_response(&mut s)
}

fn kind(r: &Resp) -> (u16, &str, &str) {
    (
        r.status,
        r.body["__type"].as_str().unwrap_or(""),
        r.body["message"].as_str().unwrap_or(""),
    )
}

/// 64 connections each trickle a request head, one byte every 300 ms (each
/// holds its connection for seconds); with 2 workers, a normal request is
/// still answered at once — long before the trickling heads time out.
#[test]
fn trickling_connections_do_not_starve_a_normal_request() {
    let s = server(|o| o.threads = 2);
    let addr = s.handle.addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut slow = Vec::new();
    for _ in 0..64 {
        let stop = stop.clone();
        slow.push(std::thread::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            for b in b"POST / HTTP/1.1\r\nHost: x\r\n".iter().cycle() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) || c.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }));
    }
    // Let every trickler connect and start.
    let t = std::time::Instant::now();
    while s.handle.open_connections() < 64 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(s.handle.open_connections(), 64);
    std::thread::sleep(Duration::from_millis(700));
    // The read timeout (8 s) is below the head deadline the trickling
    // connections would have to reach to free a worker (10 s).
    for _ in 0..5 {
        let r = call(addr, "ListKeys", json!({}), Some(ADMIN), "us-east-1");
        assert_eq!(r.status, 200, "{r:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for h in slow {
        h.join().unwrap();
    }
}

#[test]
fn connections_per_address_are_capped() {
    let s = server(|o| o.max_connections_per_address = 4);
    let addr = s.handle.addr();
    let idle: Vec<TcpStream> = (0..4).map(|_| connect(addr)).collect();
    let t = std::time::Instant::now();
    while s.handle.open_connections() < 4 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The fifth from the same address is answered 503 and closed.
    let mut fifth = connect(addr);
    let _ = fifth.write_all(&request(
        addr,
        "ListKeys",
        &json!({}),
        Some(ADMIN),
        "us-east-1",
    ));
    let r = read_response(&mut fifth);
    assert_eq!(
        (r.status, r.body["__type"].as_str().unwrap()),
        (503, "ServiceUnavailableException")
    );
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("this client address"));
    // Once one closes, the address may connect again.
    drop(idle);
    let t = std::time::Instant::now();
    while s.handle.open_connections() > 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let r = call(addr, "ListKeys", json!({}), Some(ADMIN), "us-east-1");
    assert_eq!(r.status, 200);
}

#[test]
fn a_slow_head_is_answered_408() {
    let s = server(|o| o.head_timeout = Duration::from_millis(600));
    let addr = s.handle.addr();
    let mut c = connect(addr);
    c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let r = read_response(&mut c);
    assert_eq!(kind(&r).0, 408);
    assert_eq!(kind(&r).1, "RequestTimeoutException");
    // A connection that sends nothing is closed after the head deadline.
    let mut quiet = connect(addr);
    let mut b = [0u8; 1];
    assert!(matches!(quiet.read(&mut b), Ok(0) | Err(_)));
}

#[test]
fn http_1_0_keep_alive_is_answered_keep_alive() {
    let s = server(|o| o.allow_unsigned = true);
    let addr = s.handle.addr();
    let req = |conn: &str| {
        format!(
            "POST / HTTP/1.0\r\nX-Amz-Target: TrentService.ListKeys\r\n\
             Content-Type: application/x-amz-json-1.1\r\n{conn}Content-Length: 2\r\n\r\n{{}}"
        )
    };
    let mut c = connect(addr);
    for _ in 0..3 {
        c.write_all(req("Connection: keep-alive\r\n").as_bytes())
            .unwrap();
        let r = read_response(&mut c);
        assert_eq!(r.status, 200);
        assert!(r.head.contains("\r\nConnection: keep-alive"), "{}", r.head);
    }
    c.write_all(req("").as_bytes()).unwrap();
    let r = read_response(&mut c);
    assert!(r.head.contains("\r\nConnection: close"), "{}", r.head);
    let mut b = [0u8; 1];
    assert!(
        matches!(c.read(&mut b), Ok(0) | Err(_)),
        "closed after an HTTP/1.0 request without keep-alive"
    );
}

#[test]
fn the_credential_scope_names_the_region() {
    let s = server(|_| {});
    let addr = s.handle.addr();
    let r = call(addr, "CreateKey", json!({}), Some(ADMIN), "eu-west-1");
    assert_eq!(r.status, 200, "{r:?}");
    let arn = r.body["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    let id = r.body["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    assert_eq!(arn, format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{id}"));
    let r = call(
        addr,
        "DescribeKey",
        json!({"KeyId": id}),
        Some(ADMIN),
        "us-east-1",
    );
    assert_eq!(
        kind(&r),
        (
            400,
            "NotFoundException",
            format!("Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}' does not exist").as_str()
        )
    );
    let r = call(
        addr,
        "DescribeKey",
        json!({"KeyId": arn}),
        Some(ADMIN),
        "eu-west-1",
    );
    assert_eq!(r.status, 200);
    // A made-up region is refused as AWS refuses it.
    let r = call(addr, "ListKeys", json!({}), Some(ADMIN), "xx-fake-9");
    assert_eq!(
        kind(&r),
        (
            400,
            "InvalidSignatureException",
            "Credential should be scoped to a valid region, not 'xx-fake-9'."
        )
    );
    // --regions narrows what is served (the home region always is).
    let only = server(|o| o.regions = Regions::parse_list("eu-central-1").unwrap());
    let a = only.handle.addr();
    assert_eq!(
        call(a, "ListKeys", json!({}), Some(ADMIN), "eu-central-1").status,
        200
    );
    assert_eq!(
        call(a, "ListKeys", json!({}), Some(ADMIN), "us-east-1").status,
        200
    );
    assert_eq!(
        kind(&call(a, "ListKeys", json!({}), Some(ADMIN), "eu-west-1")).1,
        "InvalidSignatureException"
    );
}

#[test]
fn local_use_mode_takes_any_credentials_but_verifies_known_ones() {
    let s = server(|o| o.allow_unsigned = true);
    let addr = s.handle.addr();
    // AWS_ACCESS_KEY_ID=test, as LocalStack and moto users write it.
    let r = call(
        addr,
        "CreateKey",
        json!({}),
        Some(("test", "test")),
        "us-west-2",
    );
    assert_eq!(r.status, 200, "{r:?}");
    let arn = r.body["KeyMetadata"]["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with(&format!("arn:aws:kms:us-west-2:{ACCOUNT}:key/")),
        "{arn}"
    );
    // Unsigned: the home region.
    let r = call(addr, "ListKeys", json!({}), None, "");
    assert_eq!(r.status, 200);
    assert!(
        r.body["Keys"].as_array().unwrap().is_empty(),
        "the key is in us-west-2"
    );
    // A configured key with a wrong secret is still refused.
    let r = call(
        addr,
        "ListKeys",
        json!({}),
        Some((ADMIN.0, "wrong")),
        "us-east-1",
    );
    assert_eq!(kind(&r).1, "InvalidSignatureException");
    assert_eq!(
        call(addr, "ListKeys", json!({}), Some(ADMIN), "us-east-1").status,
        200
    );
    // Without local-use mode an unknown key is refused.
    let strict = server(|_| {});
    let r = call(
        strict.handle.addr(),
        "ListKeys",
        json!({}),
        Some(("test", "test")),
        "us-east-1",
    );
    assert_eq!(kind(&r).1, "UnrecognizedClientException");
    // Local-use mode needs no access keys file at all.
    let bare = server(|o| {
        o.access_keys = None;
        o.allow_unsigned = true;
    });
    let r = call(
        bare.handle.addr(),
        "ListKeys",
        json!({}),
        Some(("AKIAANYTHING", "x")),
        "us-east-1",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn a_damaged_key_file_answers_only_for_that_key_and_names_no_path() {
    let s = server(|_| {});
    let addr = s.handle.addr();
    let key = |r: Resp| r.body["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let good = key(call(addr, "CreateKey", json!({}), Some(ADMIN), "us-east-1"));
    let bad = key(call(addr, "CreateKey", json!({}), Some(ADMIN), "us-east-1"));
    let ks = s.dir.path().join("ks");
    std::fs::write(
        ks.join("keys").join(format!("{bad}.json")),
        b"{\"format\": 2",
    )
    .unwrap();
    std::fs::write(ks.join("GENERATION"), b"500\n").unwrap();
    let r = call(
        addr,
        "Encrypt",
        json!({"KeyId": bad, "Plaintext": "eA=="}),
        Some(ADMIN),
        "us-east-1",
    );
    assert_eq!((r.status, kind(&r).1), (500, "KMSInternalException"));
    let text = r.body.to_string();
    assert!(
        !text.contains(&*ks.to_string_lossy()) && !text.contains(".json"),
        "{text}"
    );
    let r = call(addr, "ListKeys", json!({}), Some(ADMIN), "us-east-1");
    let ids: Vec<&str> = r.body["Keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["KeyId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [good.as_str()]);
    let plaintext = base64::engine::general_purpose::STANDARD.encode(b"fine");
    let r = call(
        addr,
        "Encrypt",
        json!({"KeyId": good, "Plaintext": plaintext}),
        Some(ADMIN),
        "us-east-1",
    );
    assert_eq!(r.status, 200);
    // A full disk or any other I/O failure names no path either.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let keys_dir = ks.join("keys");
        std::fs::set_permissions(&keys_dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        let writable = std::fs::File::create(keys_dir.join("probe")).is_ok();
        let r = call(addr, "CreateKey", json!({}), Some(ADMIN), "us-east-1");
        std::fs::set_permissions(&keys_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        if !writable {
            assert_eq!(
                (r.status, kind(&r).1),
                (500, "KMSInternalException"),
                "{r:?}"
            );
            let text = r.body.to_string();
            assert!(!text.contains(&*ks.to_string_lossy()), "{text}");
        }
    }
}

/// `deadbolt kms serve --log-requests` logs the requests and connections it
/// refuses before any operation (400, 408, 413, 431, 503), and says at
/// start-up how it authenticates.
#[cfg(unix)]
#[test]
fn refusals_are_logged_under_log_requests() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_deadbolt"))
        .args([
            "kms",
            "serve",
            "--allow-unsigned",
            "--log-requests",
            "--addr",
            "127.0.0.1:0",
        ])
        .args([
            "--head-timeout",
            "1",
            "--max-body",
            "100",
            "--max-connections-per-address",
            "3",
        ])
        .arg("--keystore")
        .arg(dir.path().join("ks"))
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    let addr: SocketAddr = loop {
        let mut l = String::new();
        assert!(err.read_line(&mut l).unwrap() > 0, "{lines:?}");
        if let Some(a) = l.trim().strip_prefix("listening on http://") {
            break a.parse().unwrap();
        }
        lines.push(l);
    };
    assert!(
        lines.iter().any(
            |l| l.starts_with("authentication: local-use mode (--allow-unsigned)")
                && l.contains("act as arn:aws:iam::111122223333:root, unverified")
        ),
        "{lines:?}"
    );
    // Each refused connection lingers briefly on the server after its answer
    // (so the client gets it): give it time to close, as only 3 may be open.
    let send = |raw: &[u8]| {
        let mut c = connect(addr);
        let _ = c.write_all(raw);
        let status = read_response(&mut c).status;
        drop(c);
        std::thread::sleep(Duration::from_millis(400));
        status
    };
    assert_eq!(send(b"BAD\r\n\r\n"), 400);
    assert_eq!(
        send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n"),
        413
    );
    let big = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(40 << 10)
    );
    assert_eq!(send(big.as_bytes()), 431);
    assert_eq!(send(b"POST / HTTP/1.1\r\nHost: h\r\n"), 408);
    // Three kept-alive connections (each answered once, then idle: well within
    // the idle timeout) fill this address's share.
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = connect(addr);
            c.write_all(&request(addr, "ListKeys", &json!({}), None, ""))
                .unwrap();
            assert_eq!(read_response(&mut c).status, 200);
            c
        })
        .collect();
    assert_eq!(send(b"POST / HTTP/1.1\r\nHost: h\r\n\r\n"), 503);
    drop(held);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    for (status, kind) in [
        ("400", "BadRequest"),
        ("413", "RequestEntityTooLargeException"),
        ("431", "RequestHeaderFieldsTooLarge"),
        ("408", "RequestTimeoutException"),
        ("503", "ServiceUnavailableException"),
    ] {
        assert!(
            rest.lines()
                .any(|l| l.contains(&format!(" - {status} {kind} - "))),
            "{status} {kind} not logged:\n{rest}"
        );
    }
}

/// A request body nested as deep as JSON parsing allows is refused on the
/// connection's own (small) thread stack without harm.
#[test]
fn deeply_nested_json_is_refused_not_a_crash() {
    let s = server(|o| o.allow_unsigned = true);
    let addr = s.handle.addr();
    for depth in [100usize, 127, 128, 5000] {
        let body = format!("{{\"KeyId\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
        let raw = format!(
            "POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Target: TrentService.DescribeKey\r\n\
             Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut c = connect(addr);
        c.write_all(raw.as_bytes()).unwrap();
        let r = read_response(&mut c);
        assert_eq!(
            (r.status, r.body["__type"].as_str().unwrap()),
            (400, "SerializationException"),
            "depth {depth}"
        );
    }
    assert_eq!(call(addr, "ListKeys", json!({}), None, "").status, 200);
}
