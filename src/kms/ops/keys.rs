//! Keys: create, describe, list, update the description, enable/disable, scheduled deletion,
//! and the AWS managed keys made on first use.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::*;
use crate::kms::crypto::{self};
use crate::kms::error::KmsError;
use crate::kms::input::{check_len, Input};
use crate::kms::model::{BackingVersion, KeyManager, KeyRecord, KeyState, StoreConfig};
use crate::kms::policy::{self};
use crate::kms::store::{State, View};
use crate::kms::{Caller, Kms};

impl Kms {
    /// Resolves a key for a cryptographic operation, making a due automatic
    /// rotation (or an AWS managed key named by `alias/aws/...`) first.
    pub(super) fn crypto_key(
        &self,
        caller: &Caller,
        key_ref: &str,
    ) -> Result<(std::sync::Arc<State>, String), KmsError> {
        let now = self.now();
        let st = self.snapshot()?;
        let id = match resolve(st.as_ref(), caller, key_ref, true, now) {
            Ok(id) => id,
            Err(e) => {
                if aws_managed_alias(key_ref).is_some() && caller.account == st.config.account {
                    self.provision_aws_managed(caller, key_ref)?;
                    let st = self.snapshot()?;
                    let id = resolve(st.as_ref(), caller, key_ref, true, now)?;
                    return Ok((st, id));
                }
                return Err(e);
            }
        };
        if st.key(&id).is_some_and(|k| k.rotation_due(now)) {
            self.write(|_| Ok(()))?;
            let st = self.snapshot()?;
            return Ok((st, id));
        }
        Ok((st, id))
    }

    /// Makes the AWS managed key `alias/aws/SERVICE` names, if it is not there yet.
    pub(super) fn provision_aws_managed(
        &self,
        caller: &Caller,
        key_ref: &str,
    ) -> Result<(), KmsError> {
        let Some(alias) = aws_managed_alias(key_ref) else {
            return Ok(());
        };
        let svc = alias.trim_start_matches("alias/aws/").to_string();
        let via = AWS_MANAGED
            .iter()
            .find(|(s, _)| *s == svc)
            .map(|(_, v)| *v)
            .unwrap_or("");
        self.write(|tx| {
            let cfg = tx.config().clone();
            let region = aws_managed_region(&cfg, caller, key_ref);
            if tx.aliases(&region)?.contains_key(&alias) {
                return Ok(());
            }
            let policy = json!({
                "Version": "2012-10-17",
                "Id": format!("auto-{svc}"),
                "Statement": [
                    {"Sid": format!("Allow access through {svc} for all principals in the account that are authorized to use {svc}"),
                     "Effect": "Allow", "Principal": {"AWS": "*"},
                     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                     "Resource": "*",
                     "Condition": {"StringEquals": {"kms:CallerAccount": cfg.account, "kms:ViaService": format!("{via}.{region}.amazonaws.com")}}},
                    {"Sid": "Allow direct access to key metadata to the account",
                     "Effect": "Allow", "Principal": {"AWS": root_arn(&cfg.account)},
                     "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                     "Resource": "*"}
                ]
            });
            let rec = self.new_key_record(
                tx.now,
                &region,
                format!("Default key that protects my {svc} data when no other key is defined"),
                serde_json::to_string_pretty(&policy).expect("json"),
                KeyManager::Aws,
            )?;
            let id = rec.key_id.clone();
            let mut rec = rec;
            rec.rotation_enabled = true;
            rec.rotation_period_days = Some(DEFAULT_ROTATION_DAYS);
            rec.next_rotation = Some(round_ms(tx.now + DEFAULT_ROTATION_DAYS as f64 * DAY));
            tx.put_key(rec);
            let now = tx.now;
            tx.aliases_mut(&region)?.insert(
                alias.clone(),
                crate::kms::model::AliasRecord {
                    target: id,
                    created: now,
                    updated: now,
                },
            );
            Ok(())
        })
    }

    pub(super) fn new_key_record(
        &self,
        now: f64,
        region: &str,
        description: String,
        policy: String,
        manager: KeyManager,
    ) -> Result<KeyRecord, KmsError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut material = Zeroizing::new([0u8; 32]);
        crypto::fill_random(material.as_mut())?;
        let sealed = self.store().seal_material(&id, 1, &material)?;
        Ok(KeyRecord {
            format: crate::kms::store::STORE_FORMAT,
            key_id: id,
            region: region.to_string(),
            created: now,
            description,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            manager,
            origin: "AWS_KMS".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            policy,
            tags: BTreeMap::new(),
            rotation_enabled: false,
            rotation_period_days: None,
            next_rotation: None,
            rotations: Vec::new(),
            versions: vec![BackingVersion {
                version: 1,
                created: now,
                material: sealed,
            }],
            grants: Vec::new(),
            parsed_policy: Default::default(),
        })
    }

    /// A resolved key in a read snapshot (for management reads).
    pub(super) fn read_key(
        &self,
        caller: &Caller,
        key_ref: &str,
        allow_alias: bool,
    ) -> Result<(std::sync::Arc<State>, String), KmsError> {
        let st = self.snapshot()?;
        let id = resolve(st.as_ref(), caller, key_ref, allow_alias, self.now())?;
        Ok((st, id))
    }

    // ----- keys -----

    pub(crate) fn key_metadata(&self, cfg: &StoreConfig, k: &KeyRecord) -> Value {
        let mut m = json!({
            "AWSAccountId": cfg.account,
            "KeyId": k.key_id,
            "Arn": rec_arn(cfg, k),
            "CreationDate": k.created,
            "Enabled": k.state == KeyState::Enabled,
            "Description": k.description,
            "KeyUsage": k.usage,
            "KeyState": k.state.as_str(),
            "Origin": k.origin,
            "KeyManager": k.manager.as_str(),
            "CustomerMasterKeySpec": k.spec,
            "KeySpec": k.spec,
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            "MultiRegion": false,
            "CurrentKeyMaterialId": self.store().material_id(&k.key_id, k.current_version()),
        });
        if let Some(d) = k.deletion_date {
            m["DeletionDate"] = json!(d);
        }
        m
    }

    pub(super) fn op_create_key(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let description = inp
            .opt_str_len("Description", 0, 8192)?
            .unwrap_or("")
            .to_string();
        let spec = inp
            .opt_str("KeySpec")?
            .or(inp.opt_str("CustomerMasterKeySpec")?)
            .unwrap_or("SYMMETRIC_DEFAULT");
        let usage = inp.opt_str("KeyUsage")?;
        check_key_spec_and_usage(spec, usage)?;
        match inp.opt_str("Origin")? {
            None | Some("AWS_KMS") => {}
            Some(o @ ("EXTERNAL" | "AWS_CLOUDHSM" | "EXTERNAL_KEY_STORE")) => {
                return Err(KmsError::unsupported(format!(
                    "Origin {o} is not supported: this KMS makes its own key material (AWS_KMS)"
                )))
            }
            Some(o) => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{o}' at 'origin' failed to satisfy constraint: Member must satisfy enum value set: [AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE]"
                )))
            }
        }
        if inp.opt_bool("MultiRegion")? == Some(true) {
            return Err(KmsError::unsupported("multi-Region keys are not supported"));
        }
        if inp.opt_str("CustomKeyStoreId")?.is_some() || inp.opt_str("XksKeyId")?.is_some() {
            return Err(KmsError::unsupported("custom key stores are not supported"));
        }
        let tags = parse_tags(inp)?;
        if tags.len() > MAX_TAGS {
            return Err(KmsError::tag("Too many tags"));
        }
        let bypass = inp
            .opt_bool("BypassPolicyLockoutSafetyCheck")?
            .unwrap_or(false);
        let policy_doc = inp.opt_str("Policy")?;
        if let Some(p) = policy_doc {
            check_len("Policy", p.len(), 1, policy::MAX_POLICY_BYTES, None)?;
        }
        let cfg = self.snapshot()?.config.clone();
        account_level(&cfg, caller, "CreateKey")?;
        let policy_doc = match policy_doc {
            Some(p) => p.to_string(),
            None => policy::default_policy(&cfg.account),
        };
        let now = self.now();
        let region = region_of(&cfg, caller).to_string();
        let mut rec =
            self.new_key_record(now, &region, description, policy_doc, KeyManager::Customer)?;
        rec.policy()
            .map_err(|e| KmsError::malformed_policy(e.message.clone()))?;
        if !bypass {
            lockout_check(&cfg, &rec, caller)?;
        }
        rec.tags = tags.into_iter().collect();
        let meta = self.key_metadata(&cfg, &rec);
        self.write(|tx| {
            tx.put_key(rec);
            Ok(())
        })?;
        Ok(json!({ "KeyMetadata": meta }))
    }

    pub(super) fn op_describe_key(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let st = self.snapshot()?;
        let (st, id) = match resolve(st.as_ref(), caller, key_ref, true, self.now()) {
            Ok(id) => (st, id),
            Err(e)
                if aws_managed_alias(key_ref).is_some() && caller.account == st.config.account =>
            {
                let _ = e;
                self.provision_aws_managed(caller, key_ref)?;
                self.read_key(caller, key_ref, true)?
            }
            Err(e) => return Err(e),
        };
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, "DescribeKey", None, &[])?;
        Ok(json!({ "KeyMetadata": self.key_metadata(&st.config, rec) }))
    }

    pub(super) fn op_list_keys(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let limit = inp.limit(1000, 100)?;
        let st = self.snapshot()?;
        account_level(&st.config, caller, "ListKeys")?;
        let now = self.now();
        let region = region_of(&st.config, caller);
        // Keys with a damaged record are left out (their region is unknown);
        // the keystore's log names them.
        let items: Vec<(String, Value)> = st
            .keys
            .values()
            .filter(|k| !k.is_deleted(now) && k.region == region)
            .map(|k| {
                (
                    k.key_id.clone(),
                    json!({"KeyId": k.key_id, "KeyArn": rec_arn(&st.config, k)}),
                )
            })
            .collect();
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Keys".into(), Value::Array(page));
        Ok(page_json(out, next))
    }

    pub(super) fn op_update_description(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let desc = inp
            .opt_str_len("Description", 0, 8192)?
            .ok_or_else(|| KmsError::missing("Description"))?
            .to_string();
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(&cfg, rec, caller, "UpdateKeyDescription", None, &[])?;
            not_pending_deletion(&cfg, rec)?;
            customer_managed(&cfg, rec, "UpdateKeyDescription")?;
            tx.key_mut(&id).expect("resolved").description = desc;
            Ok(json!({}))
        })
    }

    pub(super) fn op_set_enabled(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
        enable: bool,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let op = if enable { "EnableKey" } else { "DisableKey" };
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(&cfg, rec, caller, op, None, &[])?;
            not_pending_deletion(&cfg, rec)?;
            if rec.manager == KeyManager::Aws {
                return Err(KmsError::invalid_state(format!(
                    "{} is an AWS managed key: it cannot be enabled or disabled",
                    rec_arn(&cfg, rec)
                )));
            }
            let want = if enable {
                KeyState::Enabled
            } else {
                KeyState::Disabled
            };
            if rec.state != want {
                tx.key_mut(&id).expect("resolved").state = want;
            }
            Ok(json!({}))
        })
    }

    pub(super) fn op_schedule_deletion(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let days = inp
            .opt_int_range("PendingWindowInDays", 7, 30)?
            .unwrap_or(30);
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(
                &cfg,
                rec,
                caller,
                "ScheduleKeyDeletion",
                None,
                &[(
                    "kms:ScheduleKeyDeletionPendingWindowInDays",
                    vec![days.to_string()],
                )],
            )?;
            not_pending_deletion(&cfg, rec)?;
            if rec.manager == KeyManager::Aws {
                return Err(KmsError::invalid_state(format!(
                    "{} is an AWS managed key: it cannot be scheduled for deletion",
                    rec_arn(&cfg, rec)
                )));
            }
            let date = round_ms(tx.now + days as f64 * DAY);
            let rec = tx.key_mut(&id).expect("resolved");
            rec.state = KeyState::PendingDeletion;
            rec.deletion_date = Some(date);
            rec.pending_window_days = Some(days as u32);
            Ok(json!({
                "KeyId": rec_arn(&cfg, rec),
                "DeletionDate": date,
                "KeyState": "PendingDeletion",
                "PendingWindowInDays": days,
            }))
        })
    }

    pub(super) fn op_cancel_deletion(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(&cfg, rec, caller, "CancelKeyDeletion", None, &[])?;
            if rec.state != KeyState::PendingDeletion {
                return Err(KmsError::invalid_state(format!(
                    "{} is not pending deletion.",
                    rec_arn(&cfg, rec)
                )));
            }
            let rec = tx.key_mut(&id).expect("resolved");
            rec.state = KeyState::Disabled;
            rec.deletion_date = None;
            rec.pending_window_days = None;
            Ok(json!({ "KeyId": rec_arn(&cfg, rec) }))
        })
    }
}

/// `KeySpec` and `KeyUsage` of `CreateKey`, refused with AWS's messages; only
/// `SYMMETRIC_DEFAULT` / `ENCRYPT_DECRYPT` keys are made here.
fn check_key_spec_and_usage(spec: &str, usage: Option<&str>) -> Result<(), KmsError> {
    // The enum lists as AWS printed them in the responses LocalStack recorded.
    const SPEC_ENUM: &str = "[RSA_2048, ECC_NIST_P384, ECC_NIST_P256, ECC_NIST_P521, HMAC_384, \
                             RSA_3072, ECC_SECG_P256K1, RSA_4096, SYMMETRIC_DEFAULT, HMAC_256, \
                             HMAC_224, HMAC_512]";
    const USAGE_ENUM: &str = "[ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC]";
    const SPECS: &[&str] = &[
        "SYMMETRIC_DEFAULT",
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
        "HMAC_224",
        "HMAC_256",
        "HMAC_384",
        "HMAC_512",
        "SM2",
        "ML_DSA_44",
        "ML_DSA_65",
        "ML_DSA_87",
        "ECC_NIST_EDWARDS25519",
        "ML_KEM_512",
        "ML_KEM_768",
        "ML_KEM_1024",
    ];
    const USAGES: &[&str] = &[
        "ENCRYPT_DECRYPT",
        "SIGN_VERIFY",
        "GENERATE_VERIFY_MAC",
        "KEY_AGREEMENT",
        "ENCAPSULATE_DECAPSULATE",
    ];
    if !SPECS.contains(&spec) {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{spec}' at 'keySpec' failed to satisfy \
             constraint: Member must satisfy enum value set: {SPEC_ENUM}"
        )));
    }
    if let Some(u) = usage.filter(|u| !USAGES.contains(u)) {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{u}' at 'keyUsage' failed to satisfy \
             constraint: Member must satisfy enum value set: {USAGE_ENUM}"
        )));
    }
    if spec == "SYMMETRIC_DEFAULT" {
        return match usage {
            None | Some("ENCRYPT_DECRYPT") => Ok(()),
            Some(u) => Err(KmsError::validation(format!(
                "KeyUsage {u} is not compatible with KeySpec SYMMETRIC_DEFAULT"
            ))),
        };
    }
    if usage.is_none() {
        return Err(KmsError::validation(
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
        ));
    }
    Err(KmsError::unsupported(format!(
        "KeySpec {spec} is not supported: this KMS makes SYMMETRIC_DEFAULT keys only"
    )))
}
