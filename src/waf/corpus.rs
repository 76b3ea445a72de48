//! Evaluating a corpus of requests, and the corpora bundled with deadbolt.

use rayon::prelude::*;

use super::acl::WebAcl;
use super::decision::Decision;
use super::rate::RateState;
use super::request::Request;
use super::requests_file::parse_requests;

/// Attack requests: SQL injection, XSS, path traversal, Log4Shell-style lookups,
/// scanners' user agents (see `src/waf/corpus/README.md` for sources).
pub const ATTACKS_JSONL: &str = include_str!("corpus/attacks.jsonl");
/// Ordinary customer requests, including tricky-but-benign ones.
pub const BENIGN_JSONL: &str = include_str!("corpus/benign.jsonl");

/// The bundled attack corpus.
pub fn attacks() -> Vec<Request> {
    bundled("attacks.jsonl", ATTACKS_JSONL)
}

/// The bundled benign corpus.
pub fn benign() -> Vec<Request> {
    bundled("benign.jsonl", BENIGN_JSONL)
}

/// Names of the bundled corpora, for policies that name one.
pub const NAMES: &[&str] = &["attacks", "benign"];

/// A bundled corpus by name (`attacks`, `benign`).
pub fn named(name: &str) -> Option<Vec<Request>> {
    match name {
        "attacks" => Some(attacks()),
        "benign" => Some(benign()),
        _ => None,
    }
}

fn bundled(name: &str, text: &str) -> Vec<Request> {
    // The bundled files are checked by the test suite; a failure here is a
    // build defect, reported rather than hidden.
    match parse_requests(name, text) {
        Ok(rs) => rs.into_iter().map(|r| r.request).collect(),
        Err(e) => panic!("bundled corpus {name} is invalid: {e}"),
    }
}

/// Decisions for every request, in input order. Rate-based rules see the
/// requests in timestamp order (stable; a request without a timestamp takes
/// the time of the one before it), sharing one rate state; web ACLs without
/// rate-based rules are evaluated in parallel.
pub fn evaluate_corpus(acl: &WebAcl, requests: &[Request]) -> Vec<Decision> {
    if acl.rate_instances == 0 {
        return requests
            .par_iter()
            .map(|r| acl.evaluate(r, &mut RateState::new(0)))
            .collect();
    }
    let mut last = i64::MIN;
    let mut order: Vec<(i64, usize)> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if let Some(t) = r.timestamp {
                last = t;
            }
            (last, i)
        })
        .collect();
    order.sort();
    let mut state = RateState::new(acl.rate_instances);
    let mut out: Vec<Option<Decision>> = vec![None; requests.len()];
    for (_, i) in order {
        out[i] = Some(acl.evaluate(&requests[i], &mut state));
    }
    out.into_iter().flatten().collect()
}

/// The first request (in input order) the web ACL does not block, with its
/// decision. An UNKNOWN decision counts as not blocked: it is not proven.
pub fn first_not_blocked(acl: &WebAcl, requests: &[Request]) -> Option<(usize, Decision)> {
    first_where(acl, requests, |d| !d.is_blocked())
}

/// The first request the web ACL does not allow (blocked, CAPTCHA, challenge,
/// or UNKNOWN).
pub fn first_not_allowed(acl: &WebAcl, requests: &[Request]) -> Option<(usize, Decision)> {
    first_where(acl, requests, |d| !d.is_allowed())
}

fn first_where(
    acl: &WebAcl,
    requests: &[Request],
    pred: impl Fn(&Decision) -> bool,
) -> Option<(usize, Decision)> {
    evaluate_corpus(acl, requests)
        .into_iter()
        .enumerate()
        .find(|(_, d)| pred(d))
}
