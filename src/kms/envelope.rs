//! Envelope encryption of files (`deadbolt kms encrypt-file` / `decrypt-file`,
//! and the data samples policies check with `kms.decrypts`).
//!
//! A fresh 256-bit data key from `GenerateDataKey` (under the KMS key, with the
//! file's encryption context) encrypts the file in 64 KiB chunks with
//! AES-256-GCM; the data key travels in the header, wrapped by the KMS key.
//! Files of any size stream through in constant memory.
//!
//! # Format (version 1)
//!
//! | field | length | contents |
//! |---|---|---|
//! | magic | 8 | `DBKMSENV` |
//! | version | 1 | `0x01` |
//! | algorithm | 1 | `0x01`: AES-256-GCM, chunked, data key of 32 bytes |
//! | chunk size | 4 | u32 BE, 65536 |
//! | context length | 4 | u32 BE, C (at most 1 MiB) |
//! | context | C | the canonical encoding of the encryption context (see [`crate::kms::crypto`]) |
//! | wrapped key length | 2 | u16 BE, W (at most 6144) |
//! | wrapped key | W | the `CiphertextBlob` of `GenerateDataKey` (names the KMS key and its backing version) |
//! | nonce prefix | 8 | random |
//! | chunks | … | each: AES-256-GCM ciphertext of up to chunk-size bytes, then its 16-byte tag |
//!
//! Chunk *i* (from 0) uses the nonce `prefix ‖ u32 BE i` and the additional
//! data `SHA-256(header) ‖ final` where `final` is `0x01` for the last chunk and
//! `0x00` for the others. Every chunk but the last holds exactly chunk-size
//! bytes; the last holds fewer (possibly none — a file whose size is a multiple
//! of the chunk size ends with an empty final chunk). So the header cannot be
//! changed, chunks cannot be reordered, dropped or repeated, and a truncated
//! file is detected.
//!
//! The context is stored so that a reader can see it; it is also bound twice:
//! as the AAD of the wrapped key (so `Decrypt` of the data key needs it) and
//! through the header hash.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::crypto::{self, canonical_context, decode_context, Blob, EncryptionContext};
use super::error::KmsError;
use super::{Caller, KeyId, Kms};

pub const MAGIC: &[u8; 8] = b"DBKMSENV";
pub const VERSION: u8 = 1;
pub const ALG_AES256_GCM_CHUNKED: u8 = 1;
pub const CHUNK_SIZE: usize = 64 * 1024;
const MAX_CONTEXT: usize = 1 << 20;
const MAX_WRAPPED: usize = 6144;

/// What an envelope's header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// The KMS key the data key is wrapped under.
    pub key_id: KeyId,
    pub context: EncryptionContext,
    pub chunk_size: usize,
    wrapped: Vec<u8>,
    nonce_prefix: [u8; 8],
    /// SHA-256 of the header bytes.
    digest: [u8; 32],
    /// Length of the header in bytes.
    pub len: usize,
}

fn bad(m: impl Into<String>) -> KmsError {
    KmsError::invalid_ciphertext(m)
}

fn io(what: &str, e: std::io::Error) -> KmsError {
    KmsError::internal(format!("{what}: {e}"))
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, KmsError> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io("cannot read the input", e)),
        }
    }
    Ok(n)
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], hdr: &mut Vec<u8>) -> Result<(), KmsError> {
    if read_full(r, buf)? != buf.len() {
        return Err(bad("not a deadbolt envelope file: the header is truncated"));
    }
    hdr.extend_from_slice(buf);
    Ok(())
}

impl EnvelopeHeader {
    /// Reads and checks the header (nothing is decrypted).
    pub fn read(r: &mut impl Read) -> Result<EnvelopeHeader, KmsError> {
        let mut hdr = Vec::new();
        let mut fixed = [0u8; 18];
        read_exact(r, &mut fixed, &mut hdr)?;
        if &fixed[..8] != MAGIC {
            return Err(bad("not a deadbolt envelope file (no DBKMSENV magic)"));
        }
        if fixed[8] != VERSION {
            return Err(bad(format!("unsupported envelope version {}", fixed[8])));
        }
        if fixed[9] != ALG_AES256_GCM_CHUNKED {
            return Err(bad(format!("unsupported envelope algorithm {}", fixed[9])));
        }
        let chunk_size = u32::from_be_bytes([fixed[10], fixed[11], fixed[12], fixed[13]]) as usize;
        if chunk_size == 0 || chunk_size > (1 << 24) {
            return Err(bad(format!("invalid chunk size {chunk_size}")));
        }
        let clen = u32::from_be_bytes([fixed[14], fixed[15], fixed[16], fixed[17]]) as usize;
        if clen > MAX_CONTEXT {
            return Err(bad("the envelope's encryption context is too large"));
        }
        let mut cbytes = vec![0u8; clen];
        read_exact(r, &mut cbytes, &mut hdr)?;
        let context = decode_context(&cbytes)
            .ok_or_else(|| bad("the envelope's encryption context is malformed"))?;
        let mut wl = [0u8; 2];
        read_exact(r, &mut wl, &mut hdr)?;
        let wlen = u16::from_be_bytes(wl) as usize;
        if wlen == 0 || wlen > MAX_WRAPPED {
            return Err(bad("the envelope's wrapped data key has an invalid length"));
        }
        let mut wrapped = vec![0u8; wlen];
        read_exact(r, &mut wrapped, &mut hdr)?;
        let key_id = KeyId(Blob::parse(&wrapped)?.key_id.to_string());
        let mut nonce_prefix = [0u8; 8];
        read_exact(r, &mut nonce_prefix, &mut hdr)?;
        Ok(EnvelopeHeader {
            key_id,
            context,
            chunk_size,
            wrapped,
            nonce_prefix,
            digest: Sha256::digest(&hdr).into(),
            len: hdr.len(),
        })
    }
}

fn chunk_nonce(prefix: &[u8; 8], i: u64) -> Result<[u8; 12], KmsError> {
    let i = u32::try_from(i).map_err(|_| bad("too many chunks"))?;
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(prefix);
    n[8..].copy_from_slice(&i.to_be_bytes());
    Ok(n)
}

fn chunk_aad(digest: &[u8; 32], last: bool) -> [u8; 33] {
    let mut a = [0u8; 33];
    a[..32].copy_from_slice(digest);
    a[32] = last as u8;
    a
}

/// Encrypts `input` to `output` under the KMS key `key_ref` with `context`.
/// Returns the key id.
pub fn encrypt_stream(
    kms: &Kms,
    caller: &Caller,
    key_ref: &str,
    context: &EncryptionContext,
    mut input: impl Read,
    mut output: impl Write,
) -> Result<KeyId, KmsError> {
    let dk = kms.generate_data_key(caller, key_ref, context, 32)?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&dk.plaintext);
    let cbytes = canonical_context(context);
    if cbytes.len() > MAX_CONTEXT {
        return Err(KmsError::validation(
            "the encryption context is too large (at most 1 MiB)",
        ));
    }
    let mut nonce_prefix = [0u8; 8];
    crypto::fill_random(&mut nonce_prefix)?;
    let mut hdr = Vec::with_capacity(64 + cbytes.len() + dk.ciphertext_blob.len());
    hdr.extend_from_slice(MAGIC);
    hdr.push(VERSION);
    hdr.push(ALG_AES256_GCM_CHUNKED);
    hdr.extend_from_slice(&(CHUNK_SIZE as u32).to_be_bytes());
    hdr.extend_from_slice(&(cbytes.len() as u32).to_be_bytes());
    hdr.extend_from_slice(&cbytes);
    hdr.extend_from_slice(&(dk.ciphertext_blob.len() as u16).to_be_bytes());
    hdr.extend_from_slice(&dk.ciphertext_blob);
    hdr.extend_from_slice(&nonce_prefix);
    let digest: [u8; 32] = Sha256::digest(&hdr).into();
    output
        .write_all(&hdr)
        .map_err(|e| io("cannot write the output", e))?;
    let mut buf = Zeroizing::new(vec![0u8; CHUNK_SIZE]);
    let mut i: u64 = 0;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        let last = n < CHUNK_SIZE;
        let sealed = crypto::seal(
            &key,
            &chunk_nonce(&nonce_prefix, i)?,
            &buf[..n],
            &chunk_aad(&digest, last),
        );
        output
            .write_all(&sealed)
            .map_err(|e| io("cannot write the output", e))?;
        if last {
            break;
        }
        i += 1;
    }
    output
        .flush()
        .map_err(|e| io("cannot write the output", e))?;
    Ok(dk.key_id)
}

/// Decrypts an envelope from `input` to `output`. With `expected`, the file's
/// encryption context must be exactly that. Output is written as it is
/// authenticated, chunk by chunk: callers that must not expose a partly
/// decrypted file write to a temporary file and keep it only on success.
pub fn decrypt_stream(
    kms: &Kms,
    caller: &Caller,
    input: impl Read,
    output: impl Write,
    expected: Option<&EncryptionContext>,
) -> Result<(KeyId, EncryptionContext), KmsError> {
    decrypt_inner(kms, caller, input, output, expected, true, None)
}

fn decrypt_inner(
    kms: &Kms,
    caller: &Caller,
    mut input: impl Read,
    mut output: impl Write,
    expected: Option<&EncryptionContext>,
    check_policy: bool,
    claimed: Option<&str>,
) -> Result<(KeyId, EncryptionContext), KmsError> {
    let h = EnvelopeHeader::read(&mut input)?;
    if let Some(c) = claimed {
        if c != h.key_id.as_str() {
            return Err(KmsError::incorrect_key(format!(
                "the data is encrypted under key {}, not under the claimed key {c}",
                h.key_id
            )));
        }
    }
    if let Some(e) = expected {
        if e != &h.context {
            return Err(bad(format!(
                "the encryption context does not match: the file was encrypted with {}, not {}",
                show_context(&h.context),
                show_context(e)
            )));
        }
    }
    let action = check_policy.then_some("Decrypt");
    let opened = kms.decrypt_checked(caller, &h.wrapped, &h.context, None, action, None)?;
    let (dk, kid) = (opened.plaintext, KeyId(opened.key_id));
    if dk.len() != 32 {
        return Err(bad("the wrapped data key is not 32 bytes"));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&dk);
    let frame = h.chunk_size + crypto::TAG_LEN;
    let mut buf = vec![0u8; frame];
    let mut i: u64 = 0;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        let last = n < frame;
        if n < crypto::TAG_LEN {
            return Err(bad("the envelope is truncated: its final chunk is missing"));
        }
        let plain = crypto::open(
            &key,
            &chunk_nonce(&h.nonce_prefix, i)?,
            &buf[..n],
            &chunk_aad(&h.digest, last),
        )
        .ok_or_else(|| {
            bad(format!(
                "chunk {i} of the envelope failed to authenticate: the file was altered or truncated"
            ))
        })?;
        output
            .write_all(&plain)
            .map_err(|e| io("cannot write the output", e))?;
        if last {
            break;
        }
        i += 1;
    }
    output
        .flush()
        .map_err(|e| io("cannot write the output", e))?;
    Ok((kid, h.context))
}

fn show_context(c: &EncryptionContext) -> String {
    if c.is_empty() {
        return "an empty context".into();
    }
    let parts: Vec<String> = c.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Envelope-encrypts bytes in memory.
pub fn encrypt_envelope(
    kms: &Kms,
    caller: &Caller,
    key_ref: &str,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<Vec<u8>, KmsError> {
    let mut out = Vec::with_capacity(plaintext.len() + plaintext.len() / 4096 + 256);
    encrypt_stream(kms, caller, key_ref, context, plaintext, &mut out)?;
    Ok(out)
}

/// Decrypts an envelope-encrypted sample whose encryption context must be
/// exactly `context`: its plaintext and the KMS key it was encrypted under.
/// Fails like `Decrypt` does: `InvalidCiphertextException` for altered,
/// truncated or foreign data or another context, `DisabledException` /
/// `KMSInvalidStateException` for an unusable key, `AccessDeniedException`
/// when the key policy does not let `caller` decrypt.
pub fn decrypt_envelope_file(
    kms: &Kms,
    caller: &Caller,
    bytes: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<(Vec<u8>, KeyId), KmsError> {
    let mut out = Vec::with_capacity(bytes.len());
    let (kid, _) = decrypt_stream(kms, caller, bytes, &mut out, Some(context))?;
    Ok((out, kid))
}

/// Checks a data sample as its owner: it must be an envelope made under the
/// key `claimed` names (key id, key ARN, alias name or alias ARN) with exactly
/// `context`, every chunk must authenticate, and the key must be usable
/// (`Enabled`). The key policy is not consulted. Returns the key id.
///
/// Errors: `NotFoundException` (no such claimed key), `IncorrectKeyException`
/// (encrypted under another key), `InvalidCiphertextException` (another
/// context, altered, truncated or not an envelope), `DisabledException` /
/// `KMSInvalidStateException` (the key is disabled / pending deletion).
pub fn verify_sample(
    kms: &Kms,
    bytes: &[u8],
    claimed: &str,
    context: &EncryptionContext,
) -> Result<KeyId, KmsError> {
    let info = kms.describe(claimed)?;
    let caller = Caller::local_admin(&info.account);
    let (kid, _) = decrypt_inner(
        kms,
        &caller,
        bytes,
        std::io::sink(),
        Some(context),
        false,
        Some(&info.key_id),
    )?;
    Ok(kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert!(EnvelopeHeader::read(&mut &b"DBKMSENV"[..]).is_err());
        let mut h = MAGIC.to_vec();
        h.extend_from_slice(&[2, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
        let e = EnvelopeHeader::read(&mut h.as_slice()).unwrap_err();
        assert!(e.message.contains("version 2"), "{e}");
        let mut h = MAGIC.to_vec();
        h.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let e = EnvelopeHeader::read(&mut h.as_slice()).unwrap_err();
        assert!(e.message.contains("chunk size"), "{e}");
        assert_eq!(chunk_nonce(&[1; 8], 2).unwrap()[8..], [0, 0, 0, 2]);
        assert!(chunk_nonce(&[1; 8], u64::from(u32::MAX) + 1).is_err());
        assert_ne!(chunk_aad(&[0; 32], true), chunk_aad(&[0; 32], false));
    }
}
