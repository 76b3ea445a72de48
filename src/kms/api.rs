//! The typed API for in-process use (the policy engine, benchmarks, tests).
//! Every call shares the semantics of [`Kms::call`]: the same resolution of key
//! references, key policies, grants, key states and errors.

use zeroize::Zeroizing;

use super::crypto::EncryptionContext;
use super::error::KmsError;
use super::model::KeyInfo;
use super::store::View;
use super::{Caller, DataKey, KeyId, Kms};

impl Kms {
    /// The key a key id, key ARN, alias name or alias ARN names, with its
    /// aliases, policy, tags and rotation schedule. No permission is checked
    /// (this is the keystore owner's view). `NotFoundException` when there is
    /// no such key (deleted keys included; an `alias/aws/...` AWS managed key
    /// exists only once something has used it).
    pub fn describe(&self, key_ref: &str) -> Result<KeyInfo, KmsError> {
        let (st, id) = self.resolve_ref(key_ref)?;
        let rec = st.key(&id).expect("resolved");
        Ok(self.key_info(&st.config, st.as_ref(), rec))
    }

    /// Every key that is not yet deleted, of every region, in key id order
    /// (keys whose stored record is damaged are left out: see
    /// [`Kms::damaged_keys`]).
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>, KmsError> {
        let st = self.snapshot()?;
        let now = self.now();
        Ok(st
            .keys
            .values()
            .filter(|k| !k.is_deleted(now))
            .map(|k| self.key_info(&st.config, st.as_ref(), k))
            .collect())
    }

    /// The keys whose stored record is damaged or was altered: key id and what
    /// is wrong (with the file's path; for the keystore's owner).
    pub fn damaged_keys(&self) -> Result<Vec<(String, String)>, KmsError> {
        let st = self.snapshot()?;
        Ok(st
            .damaged
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Whether the key's policy and grants let `principal` perform `action`
    /// (`kms:Decrypt` or `Decrypt`) with this encryption context. `principal`
    /// is an IAM/STS ARN, a 12-digit account id (its root), or a service
    /// principal. Key state is not considered (see [`KeyInfo::state`]).
    pub fn policy_allows(
        &self,
        key_ref: &str,
        principal: &str,
        action: &str,
        context: &EncryptionContext,
    ) -> Result<bool, KmsError> {
        let caller = Caller::from_principal(principal);
        self.caller_allowed(&caller, key_ref, action, context)
    }

    /// [`Kms::policy_allows`] for a full [`Caller`] (with `kms:ViaService`).
    pub fn caller_allowed(
        &self,
        caller: &Caller,
        key_ref: &str,
        action: &str,
        context: &EncryptionContext,
    ) -> Result<bool, KmsError> {
        let action = action.strip_prefix("kms:").unwrap_or(action);
        self.decide_for(caller, key_ref, action, Some(context))
    }

    /// `Encrypt`: a ciphertext blob of `plaintext` (1–4096 bytes).
    pub fn encrypt(
        &self,
        caller: &Caller,
        key_ref: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        Ok(self
            .encrypt_raw(caller, key_ref, plaintext, context, None)?
            .0)
    }

    /// `Decrypt`: the plaintext of a ciphertext blob and the key it was made
    /// under. `key_ref`, when given, must name that key
    /// (`IncorrectKeyException` otherwise).
    pub fn decrypt_blob(
        &self,
        caller: &Caller,
        blob: &[u8],
        context: &EncryptionContext,
        key_ref: Option<&str>,
    ) -> Result<(Zeroizing<Vec<u8>>, KeyId), KmsError> {
        let (plain, id, _) = self.decrypt_raw(caller, blob, context, key_ref, "Decrypt", None)?;
        Ok((plain, KeyId(id)))
    }

    /// `GenerateDataKey` with `NumberOfBytes = len` (1–1024; 32 for AES-256).
    pub fn generate_data_key(
        &self,
        caller: &Caller,
        key_ref: &str,
        context: &EncryptionContext,
        len: usize,
    ) -> Result<DataKey, KmsError> {
        self.typed_data_key(caller, key_ref, context, len)
    }
}
