//! Cryptographic operations: Encrypt, Decrypt, ReEncrypt, data keys, random bytes.
//!
//! `InvalidCiphertextException` carries AWS's empty message (a client learns
//! nothing about why a ciphertext was refused); the reason is in the error's
//! detail, which the server logs and the command line prints.

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

/// What `Decrypt` opened: the plaintext, the key and its backing version.
pub(crate) struct Opened {
    pub plaintext: Zeroizing<Vec<u8>>,
    pub key_id: String,
    pub arn: String,
    pub version: u32,
}

/// AWS's `InvalidCiphertextException` (empty message), with the reason as detail.
fn bad_ciphertext(why: impl Into<String>) -> KmsError {
    KmsError::invalid_ciphertext("").with_detail(why)
}

/// AWS's `IncorrectKeyException`.
fn incorrect_key(why: String) -> KmsError {
    KmsError::incorrect_key(
        "The key ID in the request does not identify a CMK that can perform this operation.",
    )
    .with_detail(why)
}

impl Kms {
    /// Encrypt: `(ciphertext blob, key id, key ARN)`; with `dry`, every check
    /// and then `DryRunOperationException`.
    pub(crate) fn encrypt_raw(
        &self,
        caller: &Caller,
        key_ref: &str,
        plaintext: &[u8],
        ctx: &EncryptionContext,
        inp: Option<&Input<'_>>,
    ) -> Result<(Vec<u8>, String, String), KmsError> {
        check_len("Plaintext", plaintext.len(), 1, 4096, None)?;
        let dry = inp.map(is_dry_run).transpose()?.unwrap_or(false);
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
        if dry {
            return Err(dry_run());
        }
        let blob = self.seal_with_current(rec, plaintext, ctx)?;
        Ok((blob, id.clone(), rec_arn(&st.config, rec)))
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
        let o = self.decrypt_checked(caller, blob_bytes, ctx, key_ref, Some(action), inp)?;
        Ok((o.plaintext, o.key_id, o.arn))
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
    ) -> Result<Opened, KmsError> {
        check_len("CiphertextBlob", blob_bytes.len(), 1, 6144, None)?;
        let blob = Blob::parse(blob_bytes).map_err(|e| bad_ciphertext(e.message))?;
        let st = self.snapshot()?;
        let now = self.now();
        let blob_id = blob.key_id.to_string();
        if let Some(r) = key_ref {
            let id = resolve(st.as_ref(), caller, r, true, now)?;
            if id != blob_id {
                return Err(incorrect_key(format!(
                    "the ciphertext was made under key {blob_id}, not under {r}"
                )));
            }
        }
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let region = region_of(&st.config, caller);
        let rec = match st.key(&blob_id) {
            Some(k) if !k.is_deleted(now) => k,
            None if st.damage(&blob_id).is_some() => {
                return Err(damaged_key(
                    &key_arn(region, &st.config.account, &blob_id),
                    st.damage(&blob_id).unwrap_or_default(),
                ))
            }
            _ => {
                return Err(bad_ciphertext(format!(
                    "the ciphertext was made under key {blob_id}, which this keystore does not \
                     have (never created here, or deleted)"
                )))
            }
        };
        if caller.region.is_some() && rec.region != region {
            return Err(bad_ciphertext(format!(
                "the ciphertext was made under key {blob_id} of region {}; the request was sent \
                 to region {region}",
                rec.region
            )));
        }
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
            bad_ciphertext(format!(
                "the ciphertext names backing key version {} of {blob_id}, which does not exist",
                blob.version
            ))
        })?;
        let plaintext = blob
            .open(&material, ctx)
            .map_err(|e| bad_ciphertext(e.message))?;
        Ok(Opened {
            plaintext,
            arn: rec_arn(&st.config, rec),
            key_id: blob_id,
            version: blob.version,
        })
    }

    /// `DryRun` with `DryRunModifiers: [IGNORE_CIPHERTEXT]`: checks the
    /// permission to use the key without looking at the ciphertext, and ends in
    /// `DryRunOperationException`; `Ok` when the request asks for no such thing.
    fn dry_run_ignoring_ciphertext(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
        key_member: &str,
        blob: &[u8],
        action: &str,
    ) -> Result<(), KmsError> {
        let modifiers = inp.opt_str_list("DryRunModifiers")?.unwrap_or_default();
        for m in &modifiers {
            if m != "IGNORE_CIPHERTEXT" {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '[{m}]' at 'dryRunModifiers' failed to \
                     satisfy constraint: Member must satisfy constraint: [Member must satisfy \
                     enum value set: [IGNORE_CIPHERTEXT]]"
                )));
            }
        }
        if modifiers.is_empty() || !is_dry_run(inp)? {
            return Ok(());
        }
        let key_ref = match inp.opt_str(key_member)? {
            Some(r) => r.to_string(),
            None => Blob::parse(blob)
                .map(|b| b.key_id.to_string())
                .map_err(|_| KmsError::missing(key_member))?,
        };
        let (st, id) = self.crypto_key(caller, &key_ref)?;
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, action, None, &[])?;
        usable(&st.config, rec)?;
        Err(dry_run())
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
        let dry = is_dry_run(inp)?;
        self.dry_run_ignoring_ciphertext(caller, inp, "KeyId", &blob, "Decrypt")?;
        let key_ref = inp.opt_str("KeyId")?;
        let o = self.decrypt_checked(caller, &blob, &ctx, key_ref, Some("Decrypt"), Some(inp))?;
        if dry {
            return Err(dry_run());
        }
        Ok(json!({
            "KeyId": o.arn,
            "Plaintext": B64.encode(o.plaintext.as_slice()),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "KeyMaterialId": self.store().material_id(&o.key_id, o.version),
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
        let dry = is_dry_run(inp)?;
        self.dry_run_ignoring_ciphertext(caller, inp, "SourceKeyId", &blob, "ReEncryptFrom")?;
        let src_ref = inp.opt_str("SourceKeyId")?;
        let src = self.decrypt_checked(
            caller,
            &blob,
            &src_ctx,
            src_ref,
            Some("ReEncryptFrom"),
            Some(inp),
        )?;
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
                vec![(src.key_id == dst_id).to_string()],
            )],
        )?;
        usable(&st.config, rec)?;
        if dry {
            return Err(dry_run());
        }
        let out = self.seal_with_current(rec, &src.plaintext, &dst_ctx)?;
        Ok(json!({
            "CiphertextBlob": B64.encode(out),
            "SourceKeyId": src.arn,
            "KeyId": rec_arn(&st.config, rec),
            "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "SourceKeyMaterialId": self.store().material_id(&src.key_id, src.version),
            "DestinationKeyMaterialId": self.store().material_id(&dst_id, rec.current_version()),
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
        let dry = inp.map(is_dry_run).transpose()?.unwrap_or(false);
        let (st, id) = self.crypto_key(caller, key_ref)?;
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, op, Some(ctx), &[])?;
        usable(&st.config, rec)?;
        if dry {
            return Err(dry_run());
        }
        let mut key = Zeroizing::new(vec![0u8; len]);
        crypto::fill_random(&mut key)?;
        let blob = self.seal_with_current(rec, &key, ctx)?;
        Ok((key, blob, id.clone(), rec_arn(&st.config, rec)))
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
        let (key, blob, id, arn) = self.data_key_raw(caller, key_ref, &ctx, len, op, Some(inp))?;
        let version = Blob::parse(&blob).map(|b| b.version).unwrap_or(1);
        let mut out = json!({
            "CiphertextBlob": B64.encode(&blob),
            "KeyId": arn,
            "KeyMaterialId": self.store().material_id(&id, version),
        });
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
            .ok_or_else(|| KmsError::validation("NumberOfBytes is required."))?;
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

    /// Operations on other key types or on imported material, answered as AWS
    /// answers them for a symmetric `ENCRYPT_DECRYPT` key of origin `AWS_KMS`
    /// (after the key is found and the caller is allowed to use it).
    pub(super) fn op_wrong_key_type(
        &self,
        op: &str,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let (st, id) = self.read_key(caller, key_ref, !IMPORT_OPS.contains(&op))?;
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, op, None, &[])?;
        let arn = rec_arn(&st.config, rec);
        if IMPORT_OPS.contains(&op) {
            return Err(KmsError::unsupported(format!(
                "{arn} origin is {} which is not valid for this operation.",
                rec.origin
            )));
        }
        Err(KmsError::new(
            "InvalidKeyUsageException",
            format!(
                "{arn} key usage is {} which is not valid for {op}.",
                rec.usage
            ),
        ))
    }
}
