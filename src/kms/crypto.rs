//! AES-256-GCM, the canonical encoding of encryption contexts, and the
//! ciphertext blob format.
//!
//! # Ciphertext blob (version 1)
//!
//! What `Encrypt`, `GenerateDataKey` and `ReEncrypt` return as `CiphertextBlob`:
//!
//! | offset | length | field |
//! |---|---|---|
//! | 0 | 4 | magic `DBKM` |
//! | 4 | 1 | format version, `0x01` |
//! | 5 | 16 | key id (the UUID's 16 bytes) |
//! | 21 | 4 | backing key version, u32 big-endian (1 = the material made by `CreateKey`, +1 per rotation) |
//! | 25 | 12 | nonce (random) |
//! | 37 | n | AES-256-GCM ciphertext of the plaintext (n = plaintext length) |
//! | 37+n | 16 | GCM tag |
//!
//! The additional authenticated data is the 37 header bytes followed by the
//! canonical encoding of the encryption context, so the key id, the version and
//! the context are all authenticated: change any of them and decryption fails.
//!
//! # Canonical encryption context
//!
//! `u32 BE count`, then for each pair in ascending byte order of the keys:
//! `u32 BE key length, key bytes (UTF-8), u32 BE value length, value bytes`.
//! Every string is length-prefixed, so `{"ab":"c"}` and `{"a":"bc"}` encode
//! differently; the empty context is four zero bytes.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

use super::error::KmsError;

/// An encryption context: string pairs, kept sorted by key.
pub type EncryptionContext = BTreeMap<String, String>;

pub const BLOB_MAGIC: &[u8; 4] = b"DBKM";
pub const BLOB_VERSION: u8 = 1;
pub const BLOB_HEADER_LEN: usize = 37;
pub const TAG_LEN: usize = 16;
pub const NONCE_LEN: usize = 12;

pub fn fill_random(buf: &mut [u8]) -> Result<(), KmsError> {
    getrandom::fill(buf)
        .map_err(|e| KmsError::internal(format!("the system random number generator failed: {e}")))
}

pub fn random_bytes(n: usize) -> Result<Vec<u8>, KmsError> {
    let mut v = vec![0u8; n];
    fill_random(&mut v)?;
    Ok(v)
}

pub fn random_nonce() -> Result<[u8; NONCE_LEN], KmsError> {
    let mut n = [0u8; NONCE_LEN];
    fill_random(&mut n)?;
    Ok(n)
}

/// AES-256-GCM: ciphertext followed by the 16-byte tag.
pub fn seal(key: &[u8; 32], nonce: &[u8; NONCE_LEN], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail")
}

/// Opens what [`seal`] made; `None` when the tag does not verify.
pub fn open(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    sealed: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .ok()
        .map(Zeroizing::new)
}

/// The canonical, unambiguous encoding of an encryption context (see the module docs).
pub fn canonical_context(ctx: &EncryptionContext) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        4 + ctx
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>(),
    );
    out.extend_from_slice(&(ctx.len() as u32).to_be_bytes());
    for (k, v) in ctx {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Decodes [`canonical_context`]; `None` when the bytes are not exactly one encoding.
pub fn decode_context(mut b: &[u8]) -> Option<EncryptionContext> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (h, t) = b.split_at(n);
        *b = t;
        Some(h)
    }
    fn u32be(b: &mut &[u8]) -> Option<usize> {
        let s = take(b, 4)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }
    let n = u32be(&mut b)?;
    let mut out = EncryptionContext::new();
    let mut prev: Option<String> = None;
    for _ in 0..n {
        let kl = u32be(&mut b)?;
        let k = String::from_utf8(take(&mut b, kl)?.to_vec()).ok()?;
        let vl = u32be(&mut b)?;
        let v = String::from_utf8(take(&mut b, vl)?.to_vec()).ok()?;
        if prev.as_deref().is_some_and(|p| p >= k.as_str()) {
            return None;
        }
        prev = Some(k.clone());
        out.insert(k, v);
    }
    if !b.is_empty() {
        return None;
    }
    Some(out)
}

/// A parsed ciphertext blob, borrowing the bytes it came from.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a> {
    pub key_id: uuid::Uuid,
    pub version: u32,
    pub nonce: [u8; NONCE_LEN],
    header: &'a [u8],
    sealed: &'a [u8],
}

impl<'a> Blob<'a> {
    /// Parses the framing only; nothing is authenticated until [`Blob::open`].
    pub fn parse(bytes: &'a [u8]) -> Result<Blob<'a>, KmsError> {
        if bytes.len() < BLOB_HEADER_LEN + TAG_LEN || &bytes[..4] != BLOB_MAGIC {
            return Err(KmsError::invalid_ciphertext(
                "the ciphertext is not a ciphertext blob made by this KMS",
            ));
        }
        if bytes[4] != BLOB_VERSION {
            return Err(KmsError::invalid_ciphertext(format!(
                "unsupported ciphertext blob version {}",
                bytes[4]
            )));
        }
        let key_id = uuid::Uuid::from_slice(&bytes[5..21]).expect("16 bytes");
        let version = u32::from_be_bytes([bytes[21], bytes[22], bytes[23], bytes[24]]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[25..37]);
        Ok(Blob {
            key_id,
            version,
            nonce,
            header: &bytes[..BLOB_HEADER_LEN],
            sealed: &bytes[BLOB_HEADER_LEN..],
        })
    }

    /// Decrypts with the backing key of `self.version`; any mismatch of key,
    /// context or bytes is an `InvalidCiphertextException`.
    pub fn open(
        &self,
        backing: &[u8; 32],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let mut aad = self.header.to_vec();
        aad.extend_from_slice(&canonical_context(ctx));
        open(backing, &self.nonce, self.sealed, &aad).ok_or_else(|| {
            KmsError::invalid_ciphertext(
                "the ciphertext failed to authenticate: it was altered, or the encryption context \
                 does not match the one it was encrypted with",
            )
        })
    }
}

/// Encrypts `plaintext` into a version-1 blob.
pub fn seal_blob(
    key_id: &uuid::Uuid,
    version: u32,
    backing: &[u8; 32],
    plaintext: &[u8],
    ctx: &EncryptionContext,
) -> Result<Vec<u8>, KmsError> {
    let nonce = random_nonce()?;
    let mut out = Vec::with_capacity(BLOB_HEADER_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(BLOB_MAGIC);
    out.push(BLOB_VERSION);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&nonce);
    let mut aad = out.clone();
    aad.extend_from_slice(&canonical_context(ctx));
    out.extend_from_slice(&seal(backing, &nonce, plaintext, &aad));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn canonical_context_is_unambiguous() {
        let a = canonical_context(&ctx(&[("ab", "c")]));
        let b = canonical_context(&ctx(&[("a", "bc")]));
        assert_ne!(a, b);
        assert_eq!(canonical_context(&ctx(&[])), vec![0, 0, 0, 0]);
        let c = ctx(&[("z", "1"), ("a", "2"), ("m", "")]);
        assert_eq!(decode_context(&canonical_context(&c)), Some(c));
        assert_eq!(decode_context(&[0, 0, 0, 1]), None);
        let mut extra = canonical_context(&ctx(&[]));
        extra.push(0);
        assert_eq!(decode_context(&extra), None);
    }

    #[test]
    fn blob_round_trip_and_tamper() {
        let key = [7u8; 32];
        let id = uuid::Uuid::new_v4();
        let c = ctx(&[("purpose", "test")]);
        let blob = seal_blob(&id, 3, &key, b"hello", &c).unwrap();
        assert_eq!(blob.len(), BLOB_HEADER_LEN + 5 + TAG_LEN);
        let p = Blob::parse(&blob).unwrap();
        assert_eq!(p.key_id, id);
        assert_eq!(p.version, 3);
        assert_eq!(p.open(&key, &c).unwrap().as_slice(), b"hello");
        assert!(p.open(&key, &ctx(&[])).is_err());
        assert!(p.open(&[8u8; 32], &c).is_err());
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x01;
            let ok = Blob::parse(&t).and_then(|b| b.open(&key, &c));
            assert!(ok.is_err(), "flipping byte {i} went unnoticed");
        }
        assert!(Blob::parse(&blob[..20]).is_err());
    }
}
