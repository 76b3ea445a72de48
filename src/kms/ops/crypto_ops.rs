//! Cryptographic operations: Encrypt, Decrypt, ReEncrypt, data keys, random bytes.

use base64::Engine;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::*;
use crate::kms::crypto::{self, Blob, EncryptionContext};
use crate::kms::error::KmsError;
use crate::kms::input::{check_len, Input};
use crate::kms::model::{KeyRecord, B64};
use crate::kms::store::View;
use crate::kms::{Caller, Kms};

impl Kms {
    // ----- cryptography -----

    /// Encrypt: `(ciphertext blob, key id)`.
    pub(crate) fn encrypt_raw(
        &self,
        caller: &Caller,
        key_ref: &str,
        plaintext: &[u8],
        ctx: &EncryptionContext,
        inp: Option<&Input<'_>>,
    ) -> Result<(Vec<u8>, String, String), KmsError> {
        check_len("Plaintext", plaintext.len(), 1, 4096, None)?;
        let (st, id) = self.crypto_key(caller, key_ref)?;
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let rec = st.key(&id).expect("resolved");
        authorize(
            &st.config,
            rec,
            caller,
            "Encrypt",
            Some(ctx),
            &[("kms:EncryptionAlgorithm", vec!["SYMMETRIC_DEFAULT".into()])],
        )?;
        usable(&st.config, rec)?;
        let blob = self.seal_with_current(rec, plaintext, ctx)?;
        Ok((blob, id.clone(), key_arn(&st.config, &id)))
    }

    pub(super) fn seal_with_current(
        &self,
        rec: &KeyRecord,
        plaintext: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let version = rec.current_version();
        let material = self
            .store()
            .material(rec, version)?
            .ok_or_else(|| KmsError::internal("the key has no current material"))?;
        let uuid = uuid::Uuid::parse_str(&rec.key_id)
            .map_err(|_| KmsError::internal("the key id is not a UUID"))?;
        crypto::seal_blob(&uuid, version, &material, plaintext, ctx)
    }

    pub(super) fn op_encrypt(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let plaintext = Zeroizing::new(inp.blob("Plaintext", 1, 4096)?);
        let ctx = inp.context("EncryptionContext")?;
        check_algorithm(inp, "EncryptionAlgorithm")?;
        let (blob, _, arn) = self.encrypt_raw(caller, key_ref, &plaintext, &ctx, Some(inp))?;
        Ok(json!({
            "CiphertextBlob": B64.encode(blob),
            "KeyId": arn,
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    /// Decrypt: `(plaintext, key id, key ARN)`; `action` is `Decrypt` or `ReEncryptFrom`.
    pub(crate) fn decrypt_raw(
        &self,
        caller: &Caller,
        blob_bytes: &[u8],
        ctx: &EncryptionContext,
        key_ref: Option<&str>,
        action: &str,
        inp: Option<&Input<'_>>,
    ) -> Result<(Zeroizing<Vec<u8>>, String, String), KmsError> {
        self.decrypt_checked(caller, blob_bytes, ctx, key_ref, Some(action), inp)
    }

    /// Decrypt; `action: None` skips the key policy (the keystore owner's check
    /// of a data sample) but not the key's state.
    pub(crate) fn decrypt_checked(
        &self,
        caller: &Caller,
        blob_bytes: &[u8],
        ctx: &EncryptionContext,
        key_ref: Option<&str>,
        action: Option<&str>,
        inp: Option<&Input<'_>>,
    ) -> Result<(Zeroizing<Vec<u8>>, String, String), KmsError> {
        check_len("CiphertextBlob", blob_bytes.len(), 1, 6144, None)?;
        let blob = Blob::parse(blob_bytes)?;
        let st = self.snapshot()?;
        let now = self.now();
        let blob_id = blob.key_id.to_string();
        if let Some(r) = key_ref {
            let id = resolve(st.as_ref(), caller, r, true, now)?;
            if id != blob_id {
                return Err(KmsError::incorrect_key(format!(
                    "The key ID in the request does not identify a key that can decrypt the ciphertext: \
                     it was encrypted under {}",
                    key_arn(&st.config, &blob_id)
                )));
            }
        }
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let rec = match st.key(&blob_id) {
            Some(k) if !k.is_deleted(now) => k,
            _ => {
                return Err(KmsError::invalid_ciphertext(format!(
                "the ciphertext was made under key {blob_id}, which this keystore does not have \
                     (never created here, or deleted)"
            )))
            }
        };
        if let Some(action) = action {
            authorize(
                &st.config,
                rec,
                caller,
                action,
                Some(ctx),
                &[("kms:EncryptionAlgorithm", vec!["SYMMETRIC_DEFAULT".into()])],
            )?;
        }
        usable(&st.config, rec)?;
        let material = self.store().material(rec, blob.version)?.ok_or_else(|| {
            KmsError::invalid_ciphertext(format!(
                "the ciphertext names backing key version {} of {blob_id}, which does not exist",
                blob.version
            ))
        })?;
        let plain = blob.open(&material, ctx)?;
        Ok((plain, blob_id.clone(), key_arn(&st.config, &blob_id)))
    }

    pub(super) fn op_decrypt(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let blob = inp.blob("CiphertextBlob", 1, 6144)?;
        let ctx = inp.context("EncryptionContext")?;
        check_algorithm(inp, "EncryptionAlgorithm")?;
        if inp.get("Recipient").is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves) is not supported",
            ));
        }
        let key_ref = inp.opt_str("KeyId")?;
        let (plain, _, arn) =
            self.decrypt_raw(caller, &blob, &ctx, key_ref, "Decrypt", Some(inp))?;
        Ok(json!({
            "KeyId": arn,
            "Plaintext": B64.encode(plain.as_slice()),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    pub(super) fn op_re_encrypt(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let blob = inp.blob("CiphertextBlob", 1, 6144)?;
        let src_ctx = inp.context("SourceEncryptionContext")?;
        let dst_ctx = inp.context("DestinationEncryptionContext")?;
        let dst_ref = inp.str("DestinationKeyId")?;
        check_algorithm(inp, "SourceEncryptionAlgorithm")?;
        check_algorithm(inp, "DestinationEncryptionAlgorithm")?;
        let src_ref = inp.opt_str("SourceKeyId")?;
        let (plain, src_id, src_arn) =
            self.decrypt_raw(caller, &blob, &src_ctx, src_ref, "ReEncryptFrom", Some(inp))?;
        let (st, dst_id) = self.crypto_key(caller, dst_ref)?;
        let rec = st.key(&dst_id).expect("resolved");
        authorize(
            &st.config,
            rec,
            caller,
            "ReEncryptTo",
            Some(&dst_ctx),
            &[(
                "kms:ReEncryptOnSameKey",
                vec![(src_id == dst_id).to_string()],
            )],
        )?;
        usable(&st.config, rec)?;
        let out = self.seal_with_current(rec, &plain, &dst_ctx)?;
        Ok(json!({
            "CiphertextBlob": B64.encode(out),
            "SourceKeyId": src_arn,
            "KeyId": key_arn(&st.config, &dst_id),
            "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    /// GenerateDataKey: a fresh random key of `len` bytes and its blob.
    pub(crate) fn data_key_raw(
        &self,
        caller: &Caller,
        key_ref: &str,
        ctx: &EncryptionContext,
        len: usize,
        op: &str,
        inp: Option<&Input<'_>>,
    ) -> Result<RawDataKey, KmsError> {
        let (st, id) = self.crypto_key(caller, key_ref)?;
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, op, Some(ctx), &[])?;
        usable(&st.config, rec)?;
        let mut key = Zeroizing::new(vec![0u8; len]);
        crypto::fill_random(&mut key)?;
        let blob = self.seal_with_current(rec, &key, ctx)?;
        Ok((key, blob, id.clone(), key_arn(&st.config, &id)))
    }

    pub(super) fn op_generate_data_key(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
        with_plaintext: bool,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let ctx = inp.context("EncryptionContext")?;
        let n = inp.opt_int_range("NumberOfBytes", 1, 1024)?;
        let spec = inp.opt_str("KeySpec")?;
        let len = match (spec, n) {
            (Some(_), Some(_)) => {
                return Err(KmsError::validation(
                    "KeySpec and NumberOfBytes cannot both be specified: give exactly one",
                ))
            }
            (None, None) => {
                return Err(KmsError::validation(
                    "Please specify either number of bytes or key spec.",
                ))
            }
            (None, Some(n)) => n as usize,
            (Some("AES_256"), None) => 32,
            (Some("AES_128"), None) => 16,
            (Some(s), None) => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{s}' at 'keySpec' failed to satisfy constraint: \
                     Member must satisfy enum value set: [AES_256, AES_128]"
                )))
            }
        };
        if inp.get("Recipient").is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves) is not supported",
            ));
        }
        let op = if with_plaintext {
            "GenerateDataKey"
        } else {
            "GenerateDataKeyWithoutPlaintext"
        };
        let (key, blob, _, arn) = self.data_key_raw(caller, key_ref, &ctx, len, op, Some(inp))?;
        let mut out = json!({ "CiphertextBlob": B64.encode(blob), "KeyId": arn });
        if with_plaintext {
            out["Plaintext"] = json!(B64.encode(key.as_slice()));
        }
        Ok(out)
    }

    pub(super) fn op_generate_random(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let n = inp
            .opt_int_range("NumberOfBytes", 1, 1024)?
            .ok_or_else(|| KmsError::missing("NumberOfBytes"))?;
        if inp.get("CustomKeyStoreId").is_some() {
            return Err(KmsError::unsupported("custom key stores are not supported"));
        }
        if inp.get("Recipient").is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves) is not supported",
            ));
        }
        let cfg = self.snapshot()?.config.clone();
        account_level(&cfg, caller, "GenerateRandom")?;
        let bytes = Zeroizing::new(crypto::random_bytes(n as usize)?);
        Ok(json!({ "Plaintext": B64.encode(bytes.as_slice()) }))
    }
}
