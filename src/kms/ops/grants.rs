//! Grants: create, list, retire, revoke.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::*;
use crate::kms::crypto::{self, EncryptionContext};
use crate::kms::error::KmsError;
use crate::kms::input::{check_len, context_from_map, Input};
use crate::kms::model::{GrantConstraints, GrantRecord, KeyRecord, StoreConfig};
use crate::kms::policy::{Decision, Request};
use crate::kms::store::View;
use crate::kms::{Caller, Kms};

/// Grant operations valid for a symmetric encryption key.
pub(super) const GRANT_OPS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
];
/// Grant operations of other key types (valid names, wrong key).
pub(super) const OTHER_GRANT_OPS: &[&str] = &[
    "Sign",
    "Verify",
    "GetPublicKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];
/// Grant operations that take an encryption context (constraints apply).
pub(super) const CONTEXT_GRANT_OPS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
];

pub(super) fn grant_constraints(inp: &Input<'_>) -> Result<Option<GrantConstraints>, KmsError> {
    let Some(m) = inp.opt_object("Constraints")? else {
        return Ok(None);
    };
    let ci = Input(m);
    let subset = ci
        .opt_object("EncryptionContextSubset")?
        .map(|m| context_from_map("EncryptionContextSubset", m))
        .transpose()?;
    let equals = ci
        .opt_object("EncryptionContextEquals")?
        .map(|m| context_from_map("EncryptionContextEquals", m))
        .transpose()?;
    if subset.is_none() && equals.is_none() {
        return Ok(None);
    }
    Ok(Some(GrantConstraints {
        encryption_context_subset: subset,
        encryption_context_equals: equals,
    }))
}

pub(super) fn constraints_json(c: &GrantConstraints) -> Value {
    let mut m = Map::new();
    if let Some(s) = &c.encryption_context_subset {
        m.insert("EncryptionContextSubset".into(), json!(s));
    }
    if let Some(e) = &c.encryption_context_equals {
        m.insert("EncryptionContextEquals".into(), json!(e));
    }
    Value::Object(m)
}

impl Kms {
    // ----- grants -----

    pub(super) fn op_create_grant(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let grantee = inp.str_len("GranteePrincipal", 1, 256)?.to_string();
        let retiring = inp
            .opt_str_len("RetiringPrincipal", 1, 256)?
            .map(str::to_string);
        let ops = inp
            .opt_str_list("Operations")?
            .ok_or_else(|| KmsError::missing("Operations"))?;
        if ops.is_empty() {
            return Err(KmsError::validation(
                "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        for o in &ops {
            if OTHER_GRANT_OPS.contains(&o.as_str()) {
                return Err(KmsError::validation(format!(
                    "Grant operation {o} is not valid for a SYMMETRIC_DEFAULT encryption key"
                )));
            }
            if !GRANT_OPS.contains(&o.as_str()) {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{o}' at 'operations' failed to satisfy constraint: \
                     Member must satisfy enum value set"
                )));
            }
        }
        let mut ops_sorted = ops.clone();
        ops_sorted.sort();
        ops_sorted.dedup();
        let constraints = grant_constraints(inp)?;
        if constraints.is_some() {
            if let Some(o) = ops
                .iter()
                .find(|o| !CONTEXT_GRANT_OPS.contains(&o.as_str()))
            {
                return Err(KmsError::validation(format!(
                    "Grant constraints are not allowed with operation {o}: it does not take an encryption context"
                )));
            }
        }
        let name = inp.opt_str_len("Name", 1, 256)?.map(str::to_string);
        if let Some(n) = &name {
            if !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-'))
            {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'name' failed to satisfy constraint: \
                     Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
                )));
            }
        }
        let dry = is_dry_run(inp)?;
        self.write(|tx| {
            check_grant_tokens(inp, tx)?;
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            let ctype = match &constraints {
                Some(c) if c.encryption_context_equals.is_some() => {
                    vec!["EncryptionContextEquals".to_string()]
                }
                Some(_) => vec!["EncryptionContextSubset".to_string()],
                None => vec![],
            };
            let mut extra: Vec<(&str, Vec<String>)> = vec![
                ("kms:GranteePrincipal", vec![grantee.clone()]),
                ("kms:GrantOperations", ops_sorted.clone()),
                (
                    "kms:GrantIsForAWSResource",
                    vec![caller.via_service.is_some().to_string()],
                ),
            ];
            if let Some(r) = &retiring {
                extra.push(("kms:RetiringPrincipal", vec![r.clone()]));
            }
            if !ctype.is_empty() {
                extra.push(("kms:GrantConstraintType", ctype));
            }
            let conds_ctx = constraints.as_ref().and_then(|c| {
                c.encryption_context_equals
                    .clone()
                    .or(c.encryption_context_subset.clone())
            });
            let arn = rec_arn(&cfg, rec);
            let conds = conditions(caller, rec, conds_ctx.as_ref(), &extra);
            let full = "kms:CreateGrant";
            let req = Request {
                principal: &caller.principal,
                account: &caller.account,
                action: full,
                resource: &arn,
                conditions: &conds,
            };
            let decision = rec
                .policy()
                .map_err(|e| KmsError::internal(e.message.clone()))?
                .evaluate(&req);
            match decision {
                Decision::Allow => {}
                Decision::Deny => return Err(access_denied(caller, "CreateGrant", &arn, true)),
                Decision::NotAllowed => {
                    // A grant with CreateGrant may pass on (a subset of) its own operations.
                    let parent = rec.grants.iter().find(|g| {
                        g.operations.iter().any(|o| o == "CreateGrant")
                            && principal_is(&g.grantee, caller)
                            && ops_sorted.iter().all(|o| g.operations.contains(o))
                            && match &g.constraints {
                                None => true,
                                Some(pc) => constraints
                                    .as_ref()
                                    .is_some_and(|c| at_least_as_strict(c, pc)),
                            }
                    });
                    if parent.is_none() {
                        return Err(access_denied(caller, "CreateGrant", &arn, false));
                    }
                }
            }
            usable(&cfg, rec)?;
            if dry {
                return Err(dry_run());
            }
            if let Some(n) = &name {
                if let Some(g) = rec.grants.iter().find(|g| {
                    g.name.as_deref() == Some(n.as_str())
                        && g.grantee == grantee
                        && g.retiring == retiring
                        && g.constraints == constraints
                        && {
                            let mut o = g.operations.clone();
                            o.sort();
                            o == ops_sorted
                        }
                }) {
                    return Ok(json!({"GrantId": g.grant_id, "GrantToken": g.token}));
                }
            }
            let grant_id = hex::encode(crypto::random_bytes(32)?);
            let token =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crypto::random_bytes(48)?);
            let now = tx.now;
            tx.key_mut(&id).expect("resolved").grants.push(GrantRecord {
                grant_id: grant_id.clone(),
                token: token.clone(),
                name: name.clone(),
                created: now,
                grantee: grantee.clone(),
                retiring: retiring.clone(),
                operations: ops.clone(),
                constraints: constraints.clone(),
                issuing_account: root_arn(&cfg.account),
            });
            Ok(json!({"GrantId": grant_id, "GrantToken": token}))
        })
    }

    pub(super) fn grant_json(cfg: &StoreConfig, rec: &KeyRecord, g: &GrantRecord) -> Value {
        let mut v = json!({
            "KeyId": rec_arn(cfg, rec),
            "GrantId": g.grant_id,
            "CreationDate": g.created,
            "GranteePrincipal": g.grantee,
            "IssuingAccount": g.issuing_account,
            "Operations": g.operations,
        });
        if let Some(n) = &g.name {
            v["Name"] = json!(n);
        }
        if let Some(r) = &g.retiring {
            v["RetiringPrincipal"] = json!(r);
        }
        if let Some(c) = &g.constraints {
            v["Constraints"] = constraints_json(c);
        }
        v
    }

    pub(super) fn op_list_grants(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let limit = inp.limit(100, 50)?;
        let gid = inp.opt_str("GrantId")?;
        let grantee = inp.opt_str("GranteePrincipal")?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, "ListGrants", None, &[])?;
        let mut items: Vec<(String, Value)> = rec
            .grants
            .iter()
            .filter(|g| gid.is_none_or(|x| x == g.grant_id))
            .filter(|g| grantee.is_none_or(|x| x == g.grantee))
            .map(|g| (g.grant_id.clone(), Kms::grant_json(&st.config, rec, g)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Grants".into(), Value::Array(page));
        Ok(page_json(out, next))
    }

    pub(super) fn op_list_retirable(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let retiring = inp.str_len("RetiringPrincipal", 1, 256)?;
        let limit = inp.limit(100, 50)?;
        let st = self.snapshot()?;
        account_level(&st.config, caller, "ListRetirableGrants")?;
        let now = self.now();
        let region = region_of(&st.config, caller);
        let mut items: Vec<(String, Value)> = Vec::new();
        for k in st
            .keys
            .values()
            .filter(|k| !k.is_deleted(now) && k.region == region)
        {
            for g in &k.grants {
                if g.retiring.as_deref() == Some(retiring) {
                    items.push((
                        format!("{}/{}", k.key_id, g.grant_id),
                        Kms::grant_json(&st.config, k, g),
                    ));
                }
            }
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Grants".into(), Value::Array(page));
        Ok(page_json(out, next))
    }

    pub(super) fn op_retire_grant(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let token = inp.opt_str("GrantToken")?;
        let key_ref = inp.opt_str("KeyId")?;
        let gid = inp.opt_str("GrantId")?;
        if let Some(t) = token {
            check_len("GrantToken", t.len(), 1, 8192, None)?;
        }
        if let Some(g) = gid {
            if !is_grant_id(g) {
                return Err(KmsError::new(
                    "InvalidGrantIdException",
                    format!("Invalid grant ID {g:?}"),
                ));
            }
        }
        let dry = is_dry_run(inp)?;
        self.write(|tx| {
            let (id, grant_id) = match (token, key_ref, gid) {
                (Some(t), _, _) => {
                    let (kid, g) = find_grant_by_token(tx, t)
                        .ok_or_else(|| KmsError::new("InvalidGrantTokenException", "Invalid grant token"))?;
                    if let Some(x) = gid {
                        if x != g {
                            return Err(KmsError::new(
                                "InvalidGrantIdException",
                                "the grant ID does not match the grant token",
                            ));
                        }
                    }
                    if let Some(r) = key_ref {
                        if resolve(tx, caller, r, false, tx.now)? != kid {
                            return Err(KmsError::new(
                                "InvalidGrantIdException",
                                "the key ID does not match the grant token",
                            ));
                        }
                    }
                    (kid, g)
                }
                (None, Some(r), Some(g)) => {
                    let kid = resolve(tx, caller, r, false, tx.now)?;
                    (kid, g.to_string())
                }
                _ => {
                    return Err(KmsError::validation(
                        "RetireGrant needs a GrantToken, or both KeyId and GrantId",
                    ))
                }
            };
            let cfg = tx.config().clone();
            let rec = tx.key(&id).ok_or_else(|| KmsError::not_found("Key does not exist"))?;
            let Some(g) = rec.grants.iter().find(|g| g.grant_id == grant_id) else {
                return Err(KmsError::not_found(format!("Grant ID {grant_id} not found")));
            };
            let arn = rec_arn(&cfg, rec);
            // Who may retire a grant (AWS's rules): its retiring principal, its
            // grantee when the grant includes RetireGrant, and principals of the
            // key's account whom the key policy allows kms:RetireGrant — in AWS
            // through their IAM policies; there is no IAM here, so a key policy
            // that delegates to the account (the default one) counts as such.
            let decision = decide(&cfg, rec, caller, "RetireGrant", None, &[])?;
            if decision == Decision::Deny {
                return Err(access_denied(caller, "RetireGrant", &arn, true));
            }
            let may = g.retiring.as_deref().is_some_and(|r| principal_is(r, caller))
                || (principal_is(&g.grantee, caller)
                    && g.operations.iter().any(|o| o == "RetireGrant"))
                || (caller.account == cfg.account && decision == Decision::Allow);
            if !may {
                return Err(KmsError::access_denied(format!(
                    "User: {} is not authorized to perform: kms:RetireGrant on resource: {arn}: only the \
                     grant's retiring principal, its grantee (with RetireGrant), or a principal of the key's \
                     account allowed kms:RetireGrant may retire it",
                    caller.principal
                )));
            }
            if dry {
                return Err(dry_run());
            }
            tx.key_mut(&id)
                .expect("present")
                .grants
                .retain(|x| x.grant_id != grant_id);
            Ok(json!({}))
        })
    }

    pub(super) fn op_revoke_grant(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let gid = inp.str("GrantId")?;
        if !is_grant_id(gid) {
            return Err(KmsError::new(
                "InvalidGrantIdException",
                format!("Invalid grant ID {gid:?}"),
            ));
        }
        let dry = is_dry_run(inp)?;
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            authorize(&cfg, rec, caller, "RevokeGrant", None, &[])?;
            if !rec.grants.iter().any(|g| g.grant_id == gid) {
                return Err(KmsError::not_found(format!("Grant ID {gid} not found")));
            }
            if dry {
                return Err(dry_run());
            }
            tx.key_mut(&id)
                .expect("resolved")
                .grants
                .retain(|g| g.grant_id != gid);
            Ok(json!({}))
        })
    }
}

/// A grant's constraints are passed on only as strictly or more.
pub(super) fn at_least_as_strict(child: &GrantConstraints, parent: &GrantConstraints) -> bool {
    if let Some(pe) = &parent.encryption_context_equals {
        return child.encryption_context_equals.as_ref() == Some(pe);
    }
    if let Some(ps) = &parent.encryption_context_subset {
        let covers = |c: &EncryptionContext| ps.iter().all(|(k, v)| c.get(k) == Some(v));
        return child.encryption_context_equals.as_ref().is_some_and(covers)
            || child.encryption_context_subset.as_ref().is_some_and(covers);
    }
    true
}
