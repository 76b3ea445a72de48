//! The AWS KMS operations: [`Kms::call`] (JSON in, JSON out) and the typed
//! functions behind it, which the typed API shares.
//!
//! Checks run in AWS's order: the request's members (`SerializationException`,
//! `ValidationException`), the key (`NotFoundException`), the caller's
//! permission (`AccessDeniedException`), the key's state (`DisabledException`,
//! `KMSInvalidStateException`), then the operation itself.
//!
//! Key-less operations (`CreateKey`, `ListKeys`, `ListAliases`,
//! `GenerateRandom`, `ListRetirableGrants`) are allowed to every principal of
//! the store's account (AWS would consult IAM policies; there are none here)
//! and refused to other accounts. Operations on a key consult its key policy,
//! then its grants.
//!
//! Every operation runs in one region (the caller's, else the home region):
//! keys and aliases of other regions do not exist for it, as in AWS.
//!
//! Operations that take `DryRun` make every check (members, key, permission,
//! key state, and for `Decrypt`/`ReEncrypt` the ciphertext unless
//! `DryRunModifiers` has `IGNORE_CIPHERTEXT`) and then answer
//! `DryRunOperationException` without doing anything.

mod aliases;
mod authz;
mod crypto_ops;
mod grants;
mod keys;
mod members;
mod policies;
mod refs;
mod rotation;
mod tags;
#[cfg(test)]
mod tests;
mod typed;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::input::Input;
use super::{Caller, Kms};
use crate::kms::error::KmsError;
use crate::kms::store::{State, Tx, View};

use authz::*;
use members::*;
use refs::*;
use tags::parse_tags;

/// A data key's plaintext, its blob, the key id and the key ARN.
pub(super) type RawDataKey = (Zeroizing<Vec<u8>>, Vec<u8>, String, String);

pub(super) const DAY: f64 = 86_400.0;
pub(super) const DEFAULT_ROTATION_DAYS: u32 = 365;
/// How many times a key may be rotated on demand (AWS's limit, per the
/// `RotateKeyOnDemand` API reference).
pub const MAX_ON_DEMAND_ROTATIONS: usize = 10;
pub(super) const MAX_TAGS: usize = 50;

/// The operations this KMS implements.
pub const OPERATIONS: &[&str] = &[
    "CancelKeyDeletion",
    "CreateAlias",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateRandom",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncrypt",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateKeyDescription",
];

/// AWS KMS operations that exist but need features this KMS does not have
/// (custom key stores, multi-Region keys, data key pairs, public keys, key
/// usage statistics): `UnsupportedOperationException`.
pub(super) const UNSUPPORTED: &[&str] = &[
    "ConnectCustomKeyStore",
    "CreateCustomKeyStore",
    "DeleteCustomKeyStore",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GetKeyLastUsage",
    "GetPublicKey",
    "ReplicateKey",
    "UpdateCustomKeyStore",
    "UpdatePrimaryRegion",
];

/// Operations on asymmetric, HMAC or KEM keys: on this KMS's keys (symmetric,
/// `ENCRYPT_DECRYPT`) AWS answers `InvalidKeyUsageException`.
pub(super) const OTHER_KEY_USAGE: &[&str] = &[
    "Decapsulate",
    "DeriveSharedSecret",
    "Encapsulate",
    "GenerateMac",
    "Sign",
    "Verify",
    "VerifyMac",
];

/// Operations on imported key material: on this KMS's keys (origin `AWS_KMS`)
/// AWS answers `UnsupportedOperationException` naming the origin.
pub(super) const IMPORT_OPS: &[&str] = &[
    "DeleteImportedKeyMaterial",
    "GetParametersForImport",
    "ImportKeyMaterial",
];

impl Kms {
    /// One AWS KMS operation with AWS JSON 1.1 semantics: `op` is the name after
    /// `TrentService.` (e.g. `Encrypt`), `input` the request JSON (blobs in
    /// base64), the result the response JSON (blobs in base64, timestamps as
    /// epoch seconds).
    pub fn call(&self, op: &str, caller: &Caller, input: Value) -> Result<Value, KmsError> {
        let empty = Map::new();
        let map = match &input {
            Value::Object(m) => m,
            Value::Null => &empty,
            _ => {
                return Err(KmsError::serialization(
                    "the request body must be a JSON object",
                ))
            }
        };
        let inp = Input(map);
        match op {
            "CreateKey" => self.op_create_key(caller, &inp),
            "DescribeKey" => self.op_describe_key(caller, &inp),
            "ListKeys" => self.op_list_keys(caller, &inp),
            "UpdateKeyDescription" => self.op_update_description(caller, &inp),
            "CreateAlias" => self.op_create_alias(caller, &inp),
            "UpdateAlias" => self.op_update_alias(caller, &inp),
            "DeleteAlias" => self.op_delete_alias(caller, &inp),
            "ListAliases" => self.op_list_aliases(caller, &inp),
            "Encrypt" => self.op_encrypt(caller, &inp),
            "Decrypt" => self.op_decrypt(caller, &inp),
            "ReEncrypt" => self.op_re_encrypt(caller, &inp),
            "GenerateDataKey" => self.op_generate_data_key(caller, &inp, true),
            "GenerateDataKeyWithoutPlaintext" => self.op_generate_data_key(caller, &inp, false),
            "GenerateRandom" => self.op_generate_random(caller, &inp),
            "EnableKey" => self.op_set_enabled(caller, &inp, true),
            "DisableKey" => self.op_set_enabled(caller, &inp, false),
            "ScheduleKeyDeletion" => self.op_schedule_deletion(caller, &inp),
            "CancelKeyDeletion" => self.op_cancel_deletion(caller, &inp),
            "EnableKeyRotation" => self.op_enable_rotation(caller, &inp),
            "DisableKeyRotation" => self.op_disable_rotation(caller, &inp),
            "GetKeyRotationStatus" => self.op_rotation_status(caller, &inp),
            "RotateKeyOnDemand" => self.op_rotate_on_demand(caller, &inp),
            "ListKeyRotations" => self.op_list_rotations(caller, &inp),
            "GetKeyPolicy" => self.op_get_policy(caller, &inp),
            "PutKeyPolicy" => self.op_put_policy(caller, &inp),
            "ListKeyPolicies" => self.op_list_policies(caller, &inp),
            "CreateGrant" => self.op_create_grant(caller, &inp),
            "ListGrants" => self.op_list_grants(caller, &inp),
            "ListRetirableGrants" => self.op_list_retirable(caller, &inp),
            "RetireGrant" => self.op_retire_grant(caller, &inp),
            "RevokeGrant" => self.op_revoke_grant(caller, &inp),
            "TagResource" => self.op_tag(caller, &inp),
            "UntagResource" => self.op_untag(caller, &inp),
            "ListResourceTags" => self.op_list_tags(caller, &inp),
            _ if OTHER_KEY_USAGE.contains(&op) || IMPORT_OPS.contains(&op) => {
                self.op_wrong_key_type(op, caller, &inp)
            }
            _ if UNSUPPORTED.contains(&op) => Err(KmsError::unsupported(format!(
                "{op} is not supported: this KMS has symmetric encryption keys (SYMMETRIC_DEFAULT) only"
            ))),
            _ => Err(KmsError::new(
                "UnknownOperationException",
                format!("unknown operation {op:?}"),
            )),
        }
    }

    // ----- plumbing -----

    /// A write transaction; due automatic rotations are made first.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let now = self.now();
        self.store().write(now, |tx| {
            for id in tx.key_ids() {
                if tx.key(&id).is_some_and(|k| k.rotation_due(now)) {
                    self.rotate_in(tx, &id, "AUTOMATIC")?;
                }
            }
            f(tx)
        })
    }

    pub(crate) fn snapshot(&self) -> Result<std::sync::Arc<State>, KmsError> {
        self.store().snapshot()
    }
}

/// The answer to a `DryRun` request that would have succeeded.
pub(super) fn dry_run() -> KmsError {
    KmsError::new(
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
    )
}

/// The `DryRun` member.
pub(super) fn is_dry_run(inp: &Input<'_>) -> Result<bool, KmsError> {
    Ok(inp.opt_bool("DryRun")?.unwrap_or(false))
}
