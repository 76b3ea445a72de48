//! SigV4 against AWS's published test suite (`get-vanilla`, `post-vanilla`,
//! `get-vanilla-query-order-key-case`) and against signatures computed by
//! botocore 1.44 (`SigV4Auth` with the clock fixed at 2015-08-30T12:36:00Z).

use super::*;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20150830T123600Z";
const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn headers(h: &[(&str, &str)]) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn parts<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(String, String)],
    body: &'a [u8],
) -> RequestParts<'a> {
    RequestParts {
        method,
        path,
        query,
        headers,
        body,
    }
}

fn now() -> i64 {
    parse_amz_date(DATE).unwrap()
}

fn verifier(service: &str) -> Verifier<'_> {
    Verifier {
        service,
        now: now(),
    }
}

fn lookup(k: &str) -> Option<&'static str> {
    (k == AKID).then_some(SECRET)
}

#[test]
fn get_vanilla_from_the_aws_test_suite() {
    let h = headers(&[("Host", "example.amazonaws.com"), ("X-Amz-Date", DATE)]);
    let req = parts("GET", "/", "", &h, b"");
    let creq = canonical_request(&req, &["host".into(), "x-amz-date".into()], EMPTY).unwrap();
    assert_eq!(
        creq,
        format!(
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:{DATE}\n\nhost;x-amz-date\n{EMPTY}"
        )
    );
    let sts = string_to_sign(DATE, "20150830/us-east-1/service/aws4_request", &creq);
    assert_eq!(
        sts,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
    let key = signing_key(SECRET, "20150830", "us-east-1", "service");
    assert_eq!(
        signature(&key, &sts),
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
    assert_eq!(
        authorization_header(&req, AKID, SECRET, "us-east-1", "service"),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

#[test]
fn post_vanilla_and_query_order_from_the_aws_test_suite() {
    let h = headers(&[("Host", "example.amazonaws.com"), ("X-Amz-Date", DATE)]);
    let auth = authorization_header(
        &parts("POST", "/", "", &h, b""),
        AKID,
        SECRET,
        "us-east-1",
        "service",
    );
    assert!(auth
        .ends_with("Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
    let req = parts("GET", "/", "Param2=value2&Param1=value1", &h, b"");
    let auth = authorization_header(&req, AKID, SECRET, "us-east-1", "service");
    assert!(auth
        .ends_with("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

/// A KMS Encrypt request as boto3 sends it; the signature is botocore's.
fn boto_encrypt() -> Vec<(String, String)> {
    headers(&[
        ("Host", "127.0.0.1:4599"),
        ("X-Amz-Target", "TrentService.Encrypt"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Date", DATE),
        ("User-Agent", "Boto3/1.44.5 (not signed)"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
             Signature=a2120149506446a6d1df4a35fbdbf50c7731192eaaa26bdd58c0762c17a5dea4",
        ),
    ])
}

const ENCRYPT_BODY: &[u8] = br#"{"KeyId": "alias/app", "Plaintext": "aGVsbG8="}"#;

#[test]
fn verifies_a_botocore_signed_kms_request() {
    let h = boto_encrypt();
    let req = parts("POST", "/", "", &h, ENCRYPT_BODY);
    assert_eq!(verifier("kms").verify(&req, lookup), Ok(AKID));
    // The client-side signer agrees with botocore.
    let signed: Vec<_> = h[..4].to_vec();
    let auth = authorization_header(
        &parts("POST", "/", "", &signed, ENCRYPT_BODY),
        AKID,
        SECRET,
        "us-east-1",
        "kms",
    );
    assert_eq!(auth, h[5].1);
}

#[test]
fn botocore_path_query_and_header_canonicalisation() {
    // botocore: GET https://example.amazonaws.com/a/./b/../c//d%20e/?b=2&a=x%2Fy&a=0
    // with `My-Header: "  a   b  "`.
    let h = headers(&[
        ("Host", "example.amazonaws.com"),
        ("My-Header", "  a   b  "),
        ("X-Amz-Date", DATE),
    ]);
    let req = parts("GET", "/a/./b/../c//d%20e/", "b=2&a=x%2Fy&a=0", &h, b"");
    let creq = canonical_request(
        &req,
        &["host".into(), "my-header".into(), "x-amz-date".into()],
        EMPTY,
    )
    .unwrap();
    assert!(
        creq.starts_with(
            "GET\n/a/c/d%2520e/\na=0&a=x%2Fy&b=2\nhost:example.amazonaws.com\nmy-header:a b\n"
        ),
        "{creq}"
    );
    let auth = authorization_header(&req, AKID, SECRET, "us-east-1", "service");
    assert!(
        auth.ends_with(
            "Signature=4f3606ec5f69bc156f9101403dbf3bf4c80c2eed366f1cddf8208b002f23ae13"
        ),
        "{auth}"
    );
}

#[test]
fn canonical_uri_edge_cases() {
    assert_eq!(canonical_uri(""), "/");
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri("//example//"), "/example/");
    assert_eq!(canonical_uri("/../.."), "/");
    assert_eq!(canonical_uri("/-._~az09/"), "/-._~az09/");
    assert_eq!(canonical_uri("/a b"), "/a%20b");
}

fn tampered(h: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case(name) {
                (n.clone(), value.to_string())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect()
}

#[test]
fn rejects_tampering_with_body_target_and_signature() {
    let h = boto_encrypt();
    let v = verifier("kms");
    let bad_sig = |r: Result<&str, AuthError>| {
        assert_eq!(
            r,
            Err(AuthError::InvalidSignature(SIGNATURE_MISMATCH.into()))
        );
    };
    bad_sig(v.verify(
        &parts(
            "POST",
            "/",
            "",
            &h,
            br#"{"KeyId": "alias/other", "Plaintext": "aGVsbG8="}"#,
        ),
        lookup,
    ));
    let t = tampered(&h, "x-amz-target", "TrentService.Decrypt");
    bad_sig(v.verify(&parts("POST", "/", "", &t, ENCRYPT_BODY), lookup));
    bad_sig(v.verify(&parts("POST", "/x", "", &h, ENCRYPT_BODY), lookup));
    let auth = h[5].1.replace("Signature=a", "Signature=b");
    let t = tampered(&h, "authorization", &auth);
    bad_sig(v.verify(&parts("POST", "/", "", &t, ENCRYPT_BODY), lookup));
    let auth = h[5].1.replace("Signature=a2", "Signature=zz");
    let t = tampered(&h, "authorization", &auth);
    bad_sig(v.verify(&parts("POST", "/", "", &t, ENCRYPT_BODY), lookup));
    // The wrong secret for the right key id.
    bad_sig(v.verify(&parts("POST", "/", "", &h, ENCRYPT_BODY), |_| {
        Some("not the secret")
    }));
}

#[test]
fn maps_failures_to_aws_errors() {
    let h = boto_encrypt();
    let body = ENCRYPT_BODY;
    let v = verifier("kms");
    // Unknown access key.
    let e = v
        .verify(&parts("POST", "/", "", &h, body), |_| None::<&str>)
        .unwrap_err();
    assert_eq!(e, AuthError::UnrecognizedClient);
    assert_eq!(e.kind(), "UnrecognizedClientException");
    // No Authorization header.
    let e = v
        .verify(&parts("POST", "/", "", &h[..5], body), lookup)
        .unwrap_err();
    assert_eq!(e.kind(), "MissingAuthenticationTokenException");
    // Wrong service in the scope.
    let e = verifier("s3")
        .verify(&parts("POST", "/", "", &h, body), lookup)
        .unwrap_err();
    assert_eq!(e.kind(), "InvalidSignatureException");
    assert!(e.message().contains("correct service: 's3'"));
    // Malformed Authorization headers.
    for auth in [
        "AWS4-HMAC-SHA512 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 garbage",
        "Bearer abc",
    ] {
        let t = tampered(&h, "authorization", auth);
        let e = v.verify(&parts("POST", "/", "", &t, body), lookup).unwrap_err();
        assert_eq!(e.kind(), "IncompleteSignatureException", "{auth}: {e:?}");
    }
    // Missing date; a host, date or target that is not signed.
    let no_date: Vec<_> = h
        .iter()
        .filter(|(n, _)| n != "X-Amz-Date")
        .cloned()
        .collect();
    let e = v
        .verify(&parts("POST", "/", "", &no_date, body), lookup)
        .unwrap_err();
    assert_eq!(e.kind(), "IncompleteSignatureException");
    let auth = h[5].1.replace(
        "content-type;host;x-amz-date;x-amz-target",
        "content-type;host;x-amz-date",
    );
    let t = tampered(&h, "authorization", &auth);
    let e = v
        .verify(&parts("POST", "/", "", &t, body), lookup)
        .unwrap_err();
    assert!(
        e.message()
            .contains("'x-amz-target' must be a 'SignedHeader'"),
        "{e:?}"
    );
    // A signed header that is not in the request.
    let auth = h[5]
        .1
        .replace("x-amz-target,", "x-amz-target;x-custom,")
        .replace("x-amz-target, Sig", "x-amz-target;x-custom, Sig");
    let t = tampered(&h, "authorization", &auth);
    let e = v
        .verify(&parts("POST", "/", "", &t, body), lookup)
        .unwrap_err();
    assert!(e.message().contains("'x-custom'"), "{e:?}");
    // A scope date that is not the request's date.
    let auth = h[5].1.replace("/20150830/", "/20150831/");
    let t = tampered(&h, "authorization", &auth);
    let e = v
        .verify(&parts("POST", "/", "", &t, body), lookup)
        .unwrap_err();
    assert!(
        e.message()
            .contains("Date in Credential scope does not match"),
        "{e:?}"
    );
}

#[test]
fn clock_skew_of_fifteen_minutes() {
    let h = boto_encrypt();
    let req = parts("POST", "/", "", &h, ENCRYPT_BODY);
    for (delta, ok) in [
        (0, true),
        (900, true),
        (-900, true),
        (901, false),
        (-901, false),
    ] {
        let v = Verifier {
            service: "kms",
            now: now() + delta,
        };
        let r = v.verify(&req, lookup);
        assert_eq!(r.is_ok(), ok, "{delta}: {r:?}");
        if let Err(e) = r {
            assert_eq!(e.kind(), "InvalidSignatureException");
            let m = e.message();
            assert!(
                m.starts_with(if delta > 0 {
                    "Signature expired: 20150830T123600Z is now earlier than"
                } else {
                    "Signature not yet current"
                }),
                "{m}"
            );
        }
    }
}

#[test]
fn content_sha256_header_must_match_the_body() {
    let mut h = boto_encrypt();
    h.push(("X-Amz-Content-SHA256".into(), "UNSIGNED-PAYLOAD".into()));
    let e = verifier("kms")
        .verify(&parts("POST", "/", "", &h, ENCRYPT_BODY), lookup)
        .unwrap_err();
    assert!(e.message().contains("x-amz-content-sha256"), "{e:?}");
    h.last_mut().unwrap().1 = sha256_hex(ENCRYPT_BODY);
    assert_eq!(
        verifier("kms").verify(&parts("POST", "/", "", &h, ENCRYPT_BODY), lookup),
        Ok(AKID)
    );
}

#[test]
fn dates() {
    assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
    assert_eq!(parse_amz_date(DATE), Some(1440938160));
    assert_eq!(format_amz_date(1440938160), DATE);
    assert_eq!(
        parse_amz_date("20240229T235959Z")
            .map(format_amz_date)
            .as_deref(),
        Some("20240229T235959Z")
    );
    for bad in [
        "20230229T000000Z",
        "20150830T243600Z",
        "20150830 123600Z",
        "2015-08-30T12:36:00Z",
        "20150830T123600",
        "+0150830T123600Z",
    ] {
        assert_eq!(parse_amz_date(bad), None, "{bad}");
    }
    assert_eq!(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}
