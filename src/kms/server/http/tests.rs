use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::*;

fn limits() -> Limits {
    Limits {
        max_body: 64,
        max_head: 512,
        max_headers: 8,
        idle_timeout: Duration::from_secs(1),
        head_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        tick: Duration::from_millis(20),
    }
}

/// Sends `bytes` from a client socket, then reads requests on the server side.
fn serve(bytes: &'static [u8], n: usize) -> (Vec<ReadOutcome>, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    client.write_all(bytes).unwrap();
    let (s, _) = l.accept().unwrap();
    let mut conn = Conn::new(s, Duration::from_millis(20)).unwrap();
    let never = |_: Duration| false;
    let give_up = |d: Duration| d > Duration::from_millis(100);
    let out = (0..n)
        .map(|i| conn.read_request(&limits(), if i + 1 < n { &never } else { &give_up }))
        .collect();
    (out, client)
}

fn request(o: &ReadOutcome) -> &Request {
    match o {
        ReadOutcome::Request(r) => r,
        ReadOutcome::Closed => panic!("closed"),
        ReadOutcome::Reject(e) => panic!("rejected: {e:?}"),
    }
}

fn rejected(o: &ReadOutcome) -> &HttpError {
    match o {
        ReadOutcome::Reject(e) => e,
        _ => panic!("not rejected"),
    }
}

#[test]
fn keep_alive_and_pipelining() {
    let (out, _c) = serve(
        b"POST /?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}\
          POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\nConnection: close\r\n\r\nabc",
        3,
    );
    let a = request(&out[0]);
    assert_eq!(
        (a.method.as_str(), a.path.as_str(), a.query.as_str()),
        ("POST", "/", "a=1")
    );
    assert_eq!((a.body.as_slice(), a.keep_alive), (&b"{}"[..], true));
    let b = request(&out[1]);
    assert_eq!((b.body.as_slice(), b.keep_alive), (&b"abc"[..], false));
    assert!(matches!(out[2], ReadOutcome::Closed));
}

#[test]
fn http_1_0_closes_by_default() {
    let (out, _c) = serve(b"GET / HTTP/1.0\r\n\r\n", 1);
    assert!(!request(&out[0]).keep_alive);
    let (out, _c) = serve(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1);
    assert!(request(&out[0]).keep_alive);
}

#[test]
fn refusals() {
    let cases: [(&'static [u8], u16); 10] = [
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n",
            413,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            411,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        (b"POST / HTTP/1.1\r\n\r\n", 400),
        (b"POST  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", 417),
        (b"POST / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400),
    ];
    for (bytes, status) in cases {
        let (out, _c) = serve(bytes, 1);
        assert_eq!(
            rejected(&out[0]).status,
            status,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    let many: &'static [u8] = Box::leak(
        format!(
            "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
            "X-A: b\r\n".repeat(9)
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let (out, _c) = serve(many, 1);
    assert_eq!(rejected(&out[0]).status, 431);
    let huge: &'static [u8] = Box::leak(
        format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX-A: {}\r\n\r\n",
            "b".repeat(600)
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let (out, _c) = serve(huge, 1);
    assert_eq!(rejected(&out[0]).status, 431);
}

#[test]
fn slow_request_times_out_and_idle_connection_closes() {
    let (out, _c) = serve(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab",
        1,
    );
    assert_eq!(rejected(&out[0]).status, 408);
    let (out, _c) = serve(b"", 1);
    assert!(matches!(out[0], ReadOutcome::Closed));
}

#[test]
fn expect_100_continue() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    client
        .write_all(
            b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        )
        .unwrap();
    let (s, _) = l.accept().unwrap();
    let t = std::thread::spawn(move || {
        let mut conn = Conn::new(s, Duration::from_millis(20)).unwrap();
        match conn.read_request(&limits(), &|_: Duration| false) {
            ReadOutcome::Request(r) => r.body,
            _ => panic!(),
        }
    });
    let mut got = [0u8; 25];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"HTTP/1.1 100 Continue\r\n\r\n");
    client.write_all(b"body").unwrap();
    assert_eq!(t.join().unwrap(), b"body");
}

#[test]
fn response_bytes() {
    let r = Response {
        status: 413,
        headers: vec![("Content-Type", "application/x-amz-json-1.1".into())],
        body: b"{}".to_vec(),
    };
    assert_eq!(
        String::from_utf8(r.to_bytes(true, false, "D")).unwrap(),
        "HTTP/1.1 413 Content Too Large\r\nDate: D\r\nContent-Length: 2\r\nContent-Type: application/x-amz-json-1.1\r\nConnection: close\r\n\r\n{}"
    );
}
