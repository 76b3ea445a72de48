//! The KMS endpoint's HTTP request parser, on raw bytes from the network.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = deadbolt::kms::server::http::parse_request_bytes(data);
});
