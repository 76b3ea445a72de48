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

    pub(crate) fn key_info(&self, cfg: &StoreConfig, st: &dyn View, rec: &KeyRecord) -> KeyInfo {
        // A damaged alias table shows no aliases (the store's log says why).
        let aliases = st
            .aliases(&rec.region)
            .map(|a| {
                a.iter()
                    .filter(|(_, a)| a.target == rec.key_id)
                    .map(|(n, _)| n.clone())
                    .collect()
            })
            .unwrap_or_default();
        KeyInfo {
            key_id: rec.key_id.clone(),
            arn: rec_arn(cfg, rec),
            account: cfg.account.clone(),
            region: rec.region.clone(),
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
            current_key_material_id: self.store().material_id(&rec.key_id, rec.current_version()),
            aliases,
            policy: Some(rec.policy.clone()),
            tags: rec.tags.clone(),
            created: rec.created,
            deletion_date: rec.deletion_date,
        }
    }

    /// Resolves a key id, key ARN, alias name or alias ARN (as the account
    /// root, with no region of its own: a key id or ARN is found in any
    /// region, an alias name in the home region).
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
