//! Key policies: get, put, list; the lockout safety check.

use serde_json::{json, Value};

use super::*;
use crate::kms::error::KmsError;
use crate::kms::input::{check_len, Input};
use crate::kms::model::KeyManager;
use crate::kms::policy::{self, KeyPolicy};
use crate::kms::store::View;
use crate::kms::{Caller, Kms};

impl Kms {
    // ----- policies -----

    pub(super) fn op_get_policy(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        check_policy_name(inp)?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        same_account_only(&st.config, caller, rec)?;
        authorize(&st.config, rec, caller, "GetKeyPolicy", None, &[])?;
        Ok(json!({ "Policy": rec.policy, "PolicyName": "default" }))
    }

    pub(super) fn op_list_policies(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        inp.limit(1000, 100)?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        same_account_only(&st.config, caller, rec)?;
        authorize(&st.config, rec, caller, "ListKeyPolicies", None, &[])?;
        Ok(json!({ "PolicyNames": ["default"], "Truncated": false }))
    }

    pub(super) fn op_put_policy(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        check_policy_name(inp)?;
        let doc = inp.str("Policy")?;
        check_len("Policy", doc.len(), 1, policy::MAX_POLICY_BYTES, None)?;
        let bypass = inp
            .opt_bool("BypassPolicyLockoutSafetyCheck")?
            .unwrap_or(false);
        KeyPolicy::parse(doc)?;
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(
                &cfg,
                rec,
                caller,
                "PutKeyPolicy",
                None,
                &[(
                    "kms:BypassPolicyLockoutSafetyCheck",
                    vec![bypass.to_string()],
                )],
            )?;
            if rec.manager == KeyManager::Aws {
                return Err(KmsError::unsupported(format!(
                    "the key policy of AWS managed key {} cannot be changed",
                    rec_arn(&cfg, rec)
                )));
            }
            let mut next = rec.clone();
            next.set_policy(doc.to_string());
            if !bypass {
                lockout_check(&cfg, &next, caller)?;
            }
            tx.key_mut(&id)
                .expect("resolved")
                .set_policy(doc.to_string());
            Ok(json!({}))
        })
    }
}

pub(super) fn check_policy_name(inp: &Input<'_>) -> Result<(), KmsError> {
    match inp.opt_str("PolicyName")? {
        None | Some("default") => Ok(()),
        Some(other) => Err(KmsError::not_found(format!(
            "No such policy exists: {other:?} (a key has one policy, \"default\")"
        ))),
    }
}
