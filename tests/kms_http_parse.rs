//! The endpoint's request parser as a pure function over bytes
//! (`deadbolt::kms::server::http::parse_request_bytes`, also the fuzz
//! target's entry point): exact results on valid and invalid heads, and no
//! panic on a quick randomized corpus (a seeded xorshift generator; no fuzzing
//! engine needed).

use deadbolt::kms::server::http::{parse_head_bytes, parse_request, parse_request_bytes, Limits};

const VALID: &[u8] = b"POST /?x=1 HTTP/1.1\r\nHost: kms.us-east-1.amazonaws.com\r\n\
Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\n\
Content-Length: 2\r\n\r\n{}";

#[test]
fn a_valid_request_parses_exactly() {
    let r = parse_request_bytes(VALID).unwrap();
    assert_eq!(
        (
            r.method.as_str(),
            r.path.as_str(),
            r.query.as_str(),
            r.minor_version
        ),
        ("POST", "/", "x=1", 1)
    );
    assert_eq!(r.header("x-amz-target"), Some("TrentService.ListKeys"));
    assert_eq!(r.body, b"{}");
    assert!(r.keep_alive);
    // Pipelined: the first request and the bytes it took.
    let mut two = VALID.to_vec();
    two.extend_from_slice(VALID);
    let (first, used) = parse_request(&two, &Limits::default()).unwrap().unwrap();
    assert_eq!((first.body.as_slice(), used), (&b"{}"[..], VALID.len()));
    // Incomplete: the head, or the body, is not all there yet.
    assert_eq!(parse_request(&VALID[..20], &Limits::default()), Ok(None));
    assert_eq!(
        parse_request(&VALID[..VALID.len() - 1], &Limits::default()),
        Ok(None)
    );
    assert_eq!(parse_request_bytes(&VALID[..20]).unwrap_err().status, 400);
    let head = parse_head_bytes(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n", &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!((head.skipped, head.body_len), (4, 0));
    assert!(!head.request.keep_alive);
}

#[test]
fn invalid_heads_are_refused_with_the_right_status() {
    let cases: &[(&[u8], u16)] = &[
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n",
            413,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        (b"POST / HTTP/1.1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", 400),
        (b"POST /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"\xff\xfe / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"P(ST / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ];
    for (raw, status) in cases {
        let e = parse_request_bytes(raw).unwrap_err();
        assert_eq!(e.status, *status, "{}", String::from_utf8_lossy(raw));
        assert!(e.message.len() < 200, "messages stay short: {}", e.message);
    }
    let long = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(40 << 10)
    );
    assert_eq!(
        parse_request_bytes(long.as_bytes()).unwrap_err().status,
        431
    );
    // An over-long head is refused before its end arrives.
    let open = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(40 << 10));
    assert_eq!(
        parse_request(open.as_bytes(), &Limits::default())
            .unwrap_err()
            .status,
        431
    );
    let many = format!(
        "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
        "A: b\r\n".repeat(101)
    );
    assert_eq!(
        parse_request_bytes(many.as_bytes()).unwrap_err().status,
        431
    );
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutations of valid requests and random bytes: the parser answers every one
/// with a request, "incomplete", or an error — and never panics.
#[test]
fn no_panic_on_randomized_input() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let seeds: [&[u8]; 4] = [
        VALID,
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"POST http://h/p?q#f HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\nexpect: 100-continue\r\n\r\nabc",
        b"\r\n\r\n",
    ];
    let alphabet = b"\r\n :/?#%,;=\t\x00\x7f\xc3\xa9\xffHTTP1.0chunkedContent-Length0123456789";
    let small = Limits {
        max_head: 256,
        max_headers: 4,
        max_body: 16,
        ..Limits::default()
    };
    let (mut parsed, mut incomplete, mut refused) = (0, 0, 0);
    for i in 0..60_000 {
        let mut buf = seeds[i % seeds.len()].to_vec();
        for _ in 0..=rng.below(6) {
            let pos = if buf.is_empty() {
                0
            } else {
                rng.below(buf.len() + 1)
            };
            match rng.below(5) {
                0 if !buf.is_empty() => {
                    let p = pos.min(buf.len() - 1);
                    buf[p] = alphabet[rng.below(alphabet.len())];
                }
                1 if pos < buf.len() => {
                    buf.remove(pos);
                }
                2 => buf.insert(pos, alphabet[rng.below(alphabet.len())]),
                3 => {
                    let n = rng.below(64);
                    let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                    buf.splice(pos..pos, junk);
                }
                _ => buf.truncate(pos),
            }
        }
        let _ = parse_request_bytes(&buf);
        let _ = parse_head_bytes(&buf, &small);
        match parse_request(&buf, &small) {
            Ok(Some((r, used))) => {
                assert!(used <= buf.len());
                assert!(r.body.len() <= small.max_body);
                parsed += 1;
            }
            Ok(None) => incomplete += 1,
            Err(e) => {
                assert!(matches!(e.status, 400 | 411 | 413 | 431 | 505), "{e:?}");
                refused += 1;
            }
        }
    }
    // The corpus exercised every outcome.
    assert!(
        parsed > 1000 && incomplete > 1000 && refused > 1000,
        "{parsed} {incomplete} {refused}"
    );
}
