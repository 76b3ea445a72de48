//! The AWS JSON 1.1 endpoint (`deadbolt kms serve`).
//!
//! AWS SDKs and the AWS CLI talk to it as to AWS KMS (`endpoint_url`): a `POST /`
//! with `X-Amz-Target: TrentService.<Operation>`, `Content-Type:
//! application/x-amz-json-1.1`, a JSON body (blobs in base64, timestamps in epoch
//! seconds), signed with AWS Signature Version 4. Answers are JSON with an
//! `x-amzn-RequestId`; errors are `{"__type": "NotFoundException", "message": …}`
//! with HTTP 400 (500 for `KMSInternalException`), as AWS answers.
//!
//! - **Authentication**: each access key of the `--access-keys` file maps to a
//!   principal ARN, so key policies and grants apply to the caller
//!   ([`access_keys`], [`sigv4`]). With `allow_unsigned`, a request without an
//!   `Authorization` header acts as the account root; a signed one is still
//!   verified.
//! - **Bounds**: loopback only unless `allow_remote`; bodies up to `max_body`
//!   (413 beyond); a fixed pool of worker threads, each serving one connection at
//!   a time (kept alive between requests while no other connection waits);
//!   slow or idle clients are timed out ([`http::Limits`]).
//! - **Shutdown**: [`ServerHandle::shutdown`] (or SIGTERM/SIGINT under
//!   [`serve`]) stops accepting, finishes the requests in flight, then returns.
//!
//! ```no_run
//! use deadbolt::kms::server::{start, ServeOptions};
//! use deadbolt::kms::RootKey;
//! let root = RootKey::from_hex(&"00".repeat(32)).unwrap();
//! let mut opts = ServeOptions::new("/tmp/keystore", root);
//! opts.addr = "127.0.0.1:0".into();
//! opts.allow_unsigned = true;
//! let server = start(opts).unwrap();
//! println!("KMS at {}", server.url());
//! server.shutdown();
//! ```

pub mod access_keys;
mod dispatch;
pub mod http;
mod pool;
mod serve;
pub mod sigv4;

pub use access_keys::AccessKeys;
pub use pool::ServerHandle;
pub use serve::{
    default_threads, serve, start, ServeOptions, DEFAULT_ADDR, DEFAULT_HEAD_TIMEOUT,
    DEFAULT_MAX_BODY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
};

#[cfg(test)]
mod tests;
