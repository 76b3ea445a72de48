//! Who may do what: key policies, then grants; account checks; key states.

use std::collections::BTreeMap;

use super::*;
use crate::kms::crypto::EncryptionContext;
use crate::kms::error::KmsError;
use crate::kms::model::{GrantRecord, KeyManager, KeyRecord, KeyState, StoreConfig};
use crate::kms::policy::{self, Decision, Request};
use crate::kms::Caller;

/// The condition keys every request on `rec` carries.
pub(super) fn conditions(
    caller: &Caller,
    rec: &KeyRecord,
    ctx: Option<&EncryptionContext>,
    extra: &[(&str, Vec<String>)],
) -> BTreeMap<String, Vec<String>> {
    let mut c: BTreeMap<String, Vec<String>> = BTreeMap::new();
    c.insert("kms:calleraccount".into(), vec![caller.account.clone()]);
    c.insert("aws:principalarn".into(), vec![caller.principal.clone()]);
    c.insert("aws:principalaccount".into(), vec![caller.account.clone()]);
    if let Some(v) = &caller.via_service {
        c.insert("kms:viaservice".into(), vec![v.clone()]);
    }
    c.insert("kms:keyspec".into(), vec![rec.spec.clone()]);
    c.insert("kms:keyusage".into(), vec![rec.usage.clone()]);
    c.insert("kms:keyorigin".into(), vec![rec.origin.clone()]);
    c.insert(
        "kms:keymanager".into(),
        vec![rec.manager.as_str().to_string()],
    );
    for (k, v) in &rec.tags {
        c.insert(
            format!("aws:resourcetag/{}", k.to_lowercase()),
            vec![v.clone()],
        );
    }
    if let Some(ctx) = ctx {
        for (k, v) in ctx {
            c.entry(format!("kms:encryptioncontext:{}", k.to_lowercase()))
                .or_default()
                .push(v.clone());
        }
        if !ctx.is_empty() {
            c.insert(
                "kms:encryptioncontextkeys".into(),
                ctx.keys().cloned().collect(),
            );
        }
    }
    for (k, v) in extra {
        c.insert(k.to_lowercase(), v.clone());
    }
    c
}

pub(super) fn principal_is(spec: &str, caller: &Caller) -> bool {
    policy::principal_spec_matches(spec, &caller.principal, &caller.account)
}

/// A grant on `rec` that lets `caller` perform `op` with `ctx`.
pub(super) fn grant_for<'r>(
    rec: &'r KeyRecord,
    caller: &Caller,
    op: &str,
    ctx: Option<&EncryptionContext>,
) -> Option<&'r GrantRecord> {
    rec.grants.iter().find(|g| {
        g.operations.iter().any(|o| o == op)
            && principal_is(&g.grantee, caller)
            && g.constraints.as_ref().is_none_or(|c| c.allow(ctx))
    })
}

pub(super) fn access_denied(caller: &Caller, action: &str, arn: &str, explicit: bool) -> KmsError {
    let why = if explicit {
        "with an explicit deny in a resource-based policy".to_string()
    } else {
        format!("because no resource-based policy allows the kms:{action} action")
    };
    KmsError::access_denied(format!(
        "User: {} is not authorized to perform: kms:{action} on resource: {arn} {why}",
        caller.principal
    ))
}

/// Key policy, then grants. `action` is the operation name (`Encrypt`,
/// `ReEncryptFrom`, ...).
pub(super) fn authorize(
    cfg: &StoreConfig,
    rec: &KeyRecord,
    caller: &Caller,
    action: &str,
    ctx: Option<&EncryptionContext>,
    extra: &[(&str, Vec<String>)],
) -> Result<(), KmsError> {
    match decide(cfg, rec, caller, action, ctx, extra)? {
        Decision::Allow => Ok(()),
        d => Err(access_denied(
            caller,
            action,
            &rec_arn(cfg, rec),
            d == Decision::Deny,
        )),
    }
}

pub(super) fn decide(
    cfg: &StoreConfig,
    rec: &KeyRecord,
    caller: &Caller,
    action: &str,
    ctx: Option<&EncryptionContext>,
    extra: &[(&str, Vec<String>)],
) -> Result<Decision, KmsError> {
    let arn = rec_arn(cfg, rec);
    let conds = conditions(caller, rec, ctx, extra);
    let full = format!("kms:{action}");
    let req = Request {
        principal: &caller.principal,
        account: &caller.account,
        action: &full,
        resource: &arn,
        conditions: &conds,
    };
    let policy = rec.policy().map_err(|e| {
        KmsError::internal(format!(
            "the stored key policy of {} is invalid: {}",
            rec.key_id, e.message
        ))
    })?;
    Ok(match policy.evaluate(&req) {
        Decision::NotAllowed if grant_for(rec, caller, action, ctx).is_some() => Decision::Allow,
        d => d,
    })
}

/// Operations on a key that AWS does not allow across accounts.
pub(super) fn same_account_only(
    cfg: &StoreConfig,
    caller: &Caller,
    rec: &KeyRecord,
) -> Result<(), KmsError> {
    if caller.account != cfg.account {
        return Err(KmsError::not_found(format!(
            "Key '{}' does not exist",
            rec_arn(cfg, rec)
        )));
    }
    Ok(())
}

pub(super) fn account_level(cfg: &StoreConfig, caller: &Caller, op: &str) -> Result<(), KmsError> {
    if caller.account != cfg.account {
        return Err(KmsError::access_denied(format!(
            "User: {} is not authorized to perform: kms:{op}: the keystore belongs to account {}",
            caller.principal, cfg.account
        )));
    }
    Ok(())
}

/// Cryptographic operations need an `Enabled` key.
pub(super) fn usable(cfg: &StoreConfig, rec: &KeyRecord) -> Result<(), KmsError> {
    let arn = rec_arn(cfg, rec);
    match rec.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::disabled(format!("{arn} is disabled."))),
        KeyState::PendingDeletion => Err(KmsError::invalid_state(format!(
            "{arn} is pending deletion."
        ))),
    }
}

pub(super) fn not_pending_deletion(cfg: &StoreConfig, rec: &KeyRecord) -> Result<(), KmsError> {
    if rec.state == KeyState::PendingDeletion {
        return Err(KmsError::invalid_state(format!(
            "{} is pending deletion.",
            rec_arn(cfg, rec)
        )));
    }
    Ok(())
}

pub(super) fn customer_managed(
    cfg: &StoreConfig,
    rec: &KeyRecord,
    op: &str,
) -> Result<(), KmsError> {
    if rec.manager == KeyManager::Aws {
        return Err(KmsError::unsupported(format!(
            "{op} is not supported on AWS managed key {}",
            rec_arn(cfg, rec)
        )));
    }
    Ok(())
}

/// AWS refuses a key policy that would stop its caller from changing it later.
pub(super) fn lockout_check(
    cfg: &StoreConfig,
    rec: &KeyRecord,
    caller: &Caller,
) -> Result<(), KmsError> {
    let policy = rec.policy()?;
    let conds = conditions(caller, rec, None, &[]);
    let arn = rec_arn(cfg, rec);
    let req = Request {
        principal: &caller.principal,
        account: &caller.account,
        action: "kms:PutKeyPolicy",
        resource: &arn,
        conditions: &conds,
    };
    if policy.evaluate(&req) != Decision::Allow {
        return Err(KmsError::malformed_policy(format!(
            "The new key policy will not allow you to update the key policy in the future \
             ({} could not call kms:PutKeyPolicy); set BypassPolicyLockoutSafetyCheck to proceed anyway",
            caller.principal
        )));
    }
    Ok(())
}
