//! The typed views behind the in-process API (`api.rs`).

use super::*;
use crate::kms::crypto::EncryptionContext;
use crate::kms::error::KmsError;
use crate::kms::model::{KeyInfo, KeyRecord, KeyState, StoreConfig};
use crate::kms::policy::Decision;
use crate::kms::store::{State, View};
use crate::kms::{Caller, DataKey, KeyId, Kms};

impl Kms {
    // ----- typed views -----

    pub(crate) fn key_info(cfg: &StoreConfig, st: &dyn View, rec: &KeyRecord) -> KeyInfo {
        let aliases = st
            .aliases()
            .iter()
            .filter(|(_, a)| a.target == rec.key_id)
            .map(|(n, _)| n.clone())
            .collect();
        KeyInfo {
            key_id: rec.key_id.clone(),
            arn: key_arn(cfg, &rec.key_id),
            account: cfg.account.clone(),
            state: rec.state,
            enabled: rec.state == KeyState::Enabled,
            manager: rec.manager,
            spec: rec.spec.clone(),
            usage: rec.usage.clone(),
            origin: rec.origin.clone(),
            description: rec.description.clone(),
            rotation_enabled: rec.rotation_enabled,
            rotation_period_days: rec
                .rotation_enabled
                .then(|| rec.rotation_period_days.unwrap_or(DEFAULT_ROTATION_DAYS)),
            next_rotation: rec.next_rotation,
            backing_versions: rec.versions.len() as u32,
            aliases,
            policy: Some(rec.policy.clone()),
            tags: rec.tags.clone(),
            created: rec.created,
            deletion_date: rec.deletion_date,
        }
    }

    /// Resolves a key id, key ARN, alias name or alias ARN (as the account root).
    pub(crate) fn resolve_ref(
        &self,
        key_ref: &str,
    ) -> Result<(std::sync::Arc<State>, String), KmsError> {
        let st = self.snapshot()?;
        let caller = super::Caller::local_admin(&st.config.account);
        let id = resolve(st.as_ref(), &caller, key_ref, true, self.now())?;
        Ok((st, id))
    }

    pub(crate) fn decide_for(
        &self,
        caller: &Caller,
        key_ref: &str,
        action: &str,
        ctx: Option<&EncryptionContext>,
    ) -> Result<bool, KmsError> {
        let (st, id) = self.resolve_ref(key_ref)?;
        let rec = st.key(&id).expect("resolved");
        Ok(decide(&st.config, rec, caller, action, ctx, &[])? == Decision::Allow)
    }

    pub(crate) fn typed_data_key(
        &self,
        caller: &Caller,
        key_ref: &str,
        ctx: &EncryptionContext,
        len: usize,
    ) -> Result<DataKey, KmsError> {
        if !(1..=1024).contains(&len) {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{len}' at 'numberOfBytes' failed to satisfy constraint: \
                 Member must have value between 1 and 1024"
            )));
        }
        let (plaintext, ciphertext_blob, id, _) =
            self.data_key_raw(caller, key_ref, ctx, len, "GenerateDataKey", None)?;
        Ok(DataKey {
            plaintext,
            ciphertext_blob,
            key_id: KeyId(id),
        })
    }
}
