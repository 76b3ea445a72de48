//! Aliases: create, update, delete, list.

use serde_json::{json, Map, Value};

use super::*;
use crate::kms::error::KmsError;
use crate::kms::input::{check_len, Input};
use crate::kms::store::View;
use crate::kms::{Caller, Kms};

/// AWS's answer to an alias name without the `alias/` prefix.
fn no_alias_prefix() -> KmsError {
    KmsError::validation(
        "Alias must start with the prefix \"alias/\". Please see \
         https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
    )
}

pub(super) fn validate_alias_name(name: &str) -> Result<(), KmsError> {
    check_len("AliasName", name.chars().count(), 1, 256, Some(name))?;
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(no_alias_prefix());
    };
    if rest.is_empty() {
        return Err(KmsError::new(
            "InvalidAliasNameException",
            "the alias name is empty: alias/ must be followed by a name",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::new(
            "NotAuthorizedException",
            format!("{name}: the alias/aws/ prefix is reserved for AWS managed keys"),
        ));
    }
    if rest.contains(':') {
        return Err(KmsError::validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
    {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    Ok(())
}

impl Kms {
    // ----- aliases -----

    pub(super) fn op_create_alias(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let name = inp.str("AliasName")?;
        let target = inp.str("TargetKeyId")?;
        validate_alias_name(name)?;
        if is_ref_to_alias(target) {
            return Err(KmsError::validation(
                "Aliases must refer to keys. Not aliases",
            ));
        }
        self.write(|tx| {
            let cfg = tx.config().clone();
            account_level(&cfg, caller, "CreateAlias")?;
            let region = region_of(&cfg, caller).to_string();
            if tx.aliases(&region)?.contains_key(name) {
                return Err(KmsError::already_exists(format!(
                    "An alias with the name {} already exists",
                    alias_arn(&region, &cfg.account, name)
                )));
            }
            let id = resolve(tx, caller, target, false, tx.now)?;
            let rec = tx.key(&id).expect("resolved");
            authorize(&cfg, rec, caller, "CreateAlias", None, &[])?;
            not_pending_deletion(&cfg, rec)?;
            customer_managed(&cfg, rec, "CreateAlias")?;
            let now = tx.now;
            tx.aliases_mut(&region)?.insert(
                name.to_string(),
                crate::kms::model::AliasRecord {
                    target: id,
                    created: now,
                    updated: now,
                },
            );
            Ok(json!({}))
        })
    }

    pub(super) fn op_update_alias(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let name = inp.str("AliasName")?;
        let target = inp.str("TargetKeyId")?;
        if name.starts_with("alias/aws/") {
            return Err(KmsError::new(
                "NotAuthorizedException",
                format!("{name}: AWS managed aliases cannot be changed"),
            ));
        }
        validate_alias_name(name)?;
        if is_ref_to_alias(target) {
            return Err(KmsError::validation(
                "Aliases must refer to keys. Not aliases",
            ));
        }
        self.write(|tx| {
            let cfg = tx.config().clone();
            account_level(&cfg, caller, "UpdateAlias")?;
            let region = region_of(&cfg, caller).to_string();
            let Some(old) = tx.aliases(&region)?.get(name).map(|a| a.target.clone()) else {
                return Err(KmsError::not_found(format!(
                    "Alias {} is not found.",
                    alias_arn(&region, &cfg.account, name)
                )));
            };
            let id = resolve(tx, caller, target, false, tx.now)?;
            if let Some(old_rec) = tx.key(&old) {
                authorize(&cfg, old_rec, caller, "UpdateAlias", None, &[])?;
            }
            let rec = tx.key(&id).expect("resolved");
            authorize(&cfg, rec, caller, "UpdateAlias", None, &[])?;
            not_pending_deletion(&cfg, rec)?;
            customer_managed(&cfg, rec, "UpdateAlias")?;
            let now = tx.now;
            let a = tx.aliases_mut(&region)?.get_mut(name).expect("present");
            a.target = id;
            a.updated = now;
            Ok(json!({}))
        })
    }

    pub(super) fn op_delete_alias(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let name = inp.str("AliasName")?;
        if !name.starts_with("alias/") {
            return Err(no_alias_prefix());
        }
        if name.starts_with("alias/aws/") {
            return Err(KmsError::new(
                "NotAuthorizedException",
                format!("{name}: AWS managed aliases cannot be deleted"),
            ));
        }
        self.write(|tx| {
            let cfg = tx.config().clone();
            account_level(&cfg, caller, "DeleteAlias")?;
            let region = region_of(&cfg, caller).to_string();
            let Some(target) = tx.aliases(&region)?.get(name).map(|a| a.target.clone()) else {
                return Err(KmsError::not_found(format!(
                    "Alias {} is not found.",
                    alias_arn(&region, &cfg.account, name)
                )));
            };
            if let Some(rec) = tx.key(&target) {
                authorize(&cfg, rec, caller, "DeleteAlias", None, &[])?;
            }
            tx.aliases_mut(&region)?.remove(name);
            Ok(json!({}))
        })
    }

    pub(super) fn op_list_aliases(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let limit = inp.limit(100, 50)?;
        let st = self.snapshot()?;
        account_level(&st.config, caller, "ListAliases")?;
        let filter = match inp.opt_str("KeyId")? {
            None => None,
            Some(r) => Some(resolve(st.as_ref(), caller, r, false, self.now())?),
        };
        let now = self.now();
        let region = region_of(&st.config, caller);
        let live =
            |id: &str| st.key(id).is_some_and(|k| !k.is_deleted(now)) || st.damage(id).is_some();
        let items = st
            .aliases(region)?
            .iter()
            .filter(|(_, a)| live(&a.target))
            .filter(|(_, a)| filter.as_ref().is_none_or(|f| &a.target == f))
            .map(|(n, a)| {
                (
                    n.clone(),
                    json!({
                        "AliasName": n,
                        "AliasArn": alias_arn(region, &st.config.account, n),
                        "TargetKeyId": a.target,
                        "CreationDate": a.created,
                        "LastUpdatedDate": a.updated,
                    }),
                )
            })
            .collect();
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Aliases".into(), Value::Array(page));
        Ok(page_json(out, next))
    }
}
