//! Authenticated documents (format 2): each key file and the alias table is
//!
//! ```json
//! {"format": 2, "kind": "key", "mac": "<64 hex digits>", "body": "<the record as JSON text>"}
//! ```
//!
//! `mac` is HMAC-SHA256, under a key derived from the root key, of
//! `deadbolt-kms/v2/<kind>/<store id>/<name>\n` followed by the exact bytes of
//! `body` (`name` is the key id, or `aliases`). The body is kept as text so the
//! bytes that were authenticated are the bytes that are read back: no
//! re-serialisation, no float formatting, no field order can make a genuine
//! record fail, and any change to a policy, state, grant, tag or alias — or a
//! record copied from another key or another store — makes it fail. (Replacing
//! a record with an *older* genuine version of itself is not detected.)

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

pub(super) const SIGNED_FORMAT: u32 = 2;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedFile {
    format: u32,
    kind: String,
    mac: String,
    body: String,
}

fn mac_of(key: &[u8; 32], kind: &str, store_id: &str, name: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(format!("deadbolt-kms/v2/{kind}/{store_id}/{name}\n").as_bytes());
    m.update(body);
    m
}

/// The file bytes of a document.
pub(super) fn seal<T: Serialize>(
    key: &Zeroizing<[u8; 32]>,
    kind: &str,
    store_id: &str,
    name: &str,
    body: &T,
) -> Vec<u8> {
    let body = serde_json::to_string_pretty(body).expect("serializable");
    let mac = hex::encode(
        mac_of(key, kind, store_id, name, body.as_bytes())
            .finalize()
            .into_bytes(),
    );
    let file = SignedFile {
        format: SIGNED_FORMAT,
        kind: kind.to_string(),
        mac,
        body,
    };
    let mut out = serde_json::to_vec_pretty(&file).expect("serializable");
    out.push(b'\n');
    out
}

/// Why a document was refused (worded for the owner's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refused {
    /// Not a format-2 document at all (invalid JSON, a format-1 file, ...).
    Unreadable(String),
    /// Well-formed, but the MAC does not verify: altered, or not from here.
    Altered,
    /// Authentic, but the body is not a valid record.
    BadBody(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Unreadable(e) => write!(f, "it is not a keystore document: {e}"),
            Refused::Altered => f.write_str(
                "its contents do not authenticate under the root key: the file was altered, \
                 or copied from another key or keystore",
            ),
            Refused::BadBody(e) => write!(f, "its record is not valid: {e}"),
        }
    }
}

/// The record in a document, once its MAC verifies.
pub(super) fn open<T: for<'de> Deserialize<'de>>(
    key: &Zeroizing<[u8; 32]>,
    kind: &str,
    store_id: &str,
    name: &str,
    bytes: &[u8],
) -> Result<T, Refused> {
    let file: SignedFile =
        serde_json::from_slice(bytes).map_err(|e| Refused::Unreadable(e.to_string()))?;
    if file.format != SIGNED_FORMAT || file.kind != kind {
        return Err(Refused::Unreadable(format!(
            "expected a format-{SIGNED_FORMAT} {kind} document, found format {} {}",
            file.format, file.kind
        )));
    }
    let tag = hex::decode(&file.mac).map_err(|_| Refused::Altered)?;
    mac_of(key, kind, store_id, name, file.body.as_bytes())
        .verify_slice(&tag)
        .map_err(|_| Refused::Altered)?;
    serde_json::from_str(&file.body).map_err(|e| Refused::BadBody(e.to_string()))
}

/// HMAC of a short text (the store configuration's fields), hex.
pub(super) fn mac_text(key: &Zeroizing<[u8; 32]>, text: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).expect("any key length");
    m.update(text.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn key(b: u8) -> Zeroizing<[u8; 32]> {
        Zeroizing::new([b; 32])
    }

    #[test]
    fn round_trip_and_every_change_is_refused() {
        let body: BTreeMap<String, f64> = [("a".to_string(), 0.1 + 0.2)].into();
        let bytes = seal(&key(1), "key", "store", "id1", &body);
        let back: BTreeMap<String, f64> = open(&key(1), "key", "store", "id1", &bytes).unwrap();
        assert_eq!(back, body);
        for (k, kind, store, name) in [
            (key(2), "key", "store", "id1"),
            (key(1), "aliases", "store", "id1"),
            (key(1), "key", "other", "id1"),
            (key(1), "key", "store", "id2"),
        ] {
            let r: Result<BTreeMap<String, f64>, _> = open(&k, kind, store, name, &bytes);
            assert!(r.is_err(), "{kind} {store} {name}");
        }
        // Flip each byte of the body text: refused (or unreadable), never accepted.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let start = text.find("\"body\"").unwrap();
        for i in start + 8..bytes.len() - 3 {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            let r: Result<BTreeMap<String, f64>, _> = open(&key(1), "key", "store", "id1", &t);
            assert!(r.is_err(), "flipping byte {i} went unnoticed");
        }
        let r: Result<BTreeMap<String, f64>, _> = open(&key(1), "key", "store", "id1", b"{}");
        assert!(matches!(r, Err(Refused::Unreadable(_))));
    }
}
