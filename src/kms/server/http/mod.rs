//! A small HTTP/1.1 server side: a pure parser of request heads over bytes
//! ([`parse_request_bytes`], [`parse_head_bytes`]), a connection reader with
//! deadlines ([`Conn`]: keep-alive, pipelining, `Content-Length` bodies,
//! `Expect: 100-continue`), and responses. Chunked request bodies are refused
//! (411): AWS SDKs always send a `Content-Length` for JSON operations.

mod conn;
mod parse;
mod response;

pub use conn::{Conn, IdlePolicy, ReadOutcome};
pub use parse::{
    find_head_end, leading_blank_lines, parse_head_bytes, parse_request, parse_request_bytes, Head,
    HttpError, Limits, Request,
};
pub use response::{reason, Response};

#[cfg(test)]
mod tests;
