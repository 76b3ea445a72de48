//! The built-in KMS keystore as the evaluator's [`KeyDirectory`].

use std::collections::BTreeMap;

use super::engines::{Decryption, KeyDirectory, KeyView};
use crate::kms::{verify_sample, Kms};

impl KeyDirectory for Kms {
    fn describe(&self, key_ref: &str) -> Result<Option<KeyView>, String> {
        match Kms::describe(self, key_ref) {
            Ok(k) => Ok(Some(KeyView {
                id: k.key_id,
                arn: k.arn,
                state: k.state.as_str().to_string(),
                manager: k.manager.as_str().to_string(),
                spec: k.spec,
                usage: k.usage,
                origin: k.origin,
                rotation_enabled: k.rotation_enabled,
                aliases: k.aliases,
            })),
            Err(e) if e.kind == "NotFoundException" => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn allows(&self, key_ref: &str, principal: &str, action: &str) -> Result<bool, String> {
        self.policy_allows(key_ref, principal, action, &BTreeMap::new())
            .map_err(|e| e.to_string())
    }

    fn decrypts(
        &self,
        bytes: &[u8],
        key_ref: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<Decryption, String> {
        match verify_sample(self, bytes, key_ref, context) {
            Ok(_) => Ok(Decryption::Decrypts),
            // The keystore is the authority on which keys exist.
            Err(e) if e.kind == "NotFoundException" => Ok(Decryption::Fails(format!(
                "the claimed key {key_ref} does not exist in the keystore"
            ))),
            Err(e) => Ok(Decryption::Fails(e.to_string())),
        }
    }
}
