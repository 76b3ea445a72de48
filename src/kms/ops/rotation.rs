//! Rotation: automatic and on demand, and the list of past rotations.

use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::*;
use crate::kms::crypto::{self};
use crate::kms::error::KmsError;
use crate::kms::input::Input;
use crate::kms::model::{BackingVersion, RotationEvent};
use crate::kms::store::{Tx, View};
use crate::kms::{Caller, Kms};

impl Kms {
    /// Adds a backing key version to `id`.
    pub(super) fn rotate_in(&self, tx: &mut Tx<'_>, id: &str, kind: &str) -> Result<(), KmsError> {
        let now = tx.now;
        let mut material = Zeroizing::new([0u8; 32]);
        crypto::fill_random(material.as_mut())?;
        let rec = tx
            .key_mut(id)
            .ok_or_else(|| KmsError::internal("key vanished"))?;
        let version = rec.current_version() + 1;
        let sealed = self.store().seal_material(id, version, &material)?;
        let rec = tx.key_mut(id).expect("present");
        rec.versions.push(BackingVersion {
            version,
            created: now,
            material: sealed,
        });
        rec.rotations.push(RotationEvent {
            version,
            date: now,
            kind: kind.to_string(),
        });
        if kind == "AUTOMATIC" {
            let period = rec.rotation_period_days.unwrap_or(DEFAULT_ROTATION_DAYS) as f64 * DAY;
            rec.next_rotation = Some(round_ms(now + period));
        }
        Ok(())
    }

    pub(super) fn op_enable_rotation(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let period = inp
            .opt_int_range("RotationPeriodInDays", 90, 2560)?
            .map(|p| p as u32)
            .unwrap_or(DEFAULT_ROTATION_DAYS);
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(
                &cfg,
                rec,
                caller,
                "EnableKeyRotation",
                None,
                &[("kms:RotationPeriodInDays", vec![period.to_string()])],
            )?;
            usable(&cfg, rec)?;
            customer_managed(&cfg, rec, "EnableKeyRotation")?;
            let now = tx.now;
            let rec = tx.key_mut(&id).expect("resolved");
            if !rec.rotation_enabled || rec.rotation_period_days != Some(period) {
                rec.rotation_enabled = true;
                rec.rotation_period_days = Some(period);
                rec.next_rotation = Some(round_ms(now + period as f64 * DAY));
            }
            Ok(json!({}))
        })
    }

    pub(super) fn op_disable_rotation(
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
            authorize(&cfg, rec, caller, "DisableKeyRotation", None, &[])?;
            usable(&cfg, rec)?;
            customer_managed(&cfg, rec, "DisableKeyRotation")?;
            if rec.rotation_enabled {
                let rec = tx.key_mut(&id).expect("resolved");
                rec.rotation_enabled = false;
                rec.next_rotation = None;
            }
            Ok(json!({}))
        })
    }

    pub(super) fn op_rotation_status(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, "GetKeyRotationStatus", None, &[])?;
        let mut out = json!({
            "KeyId": rec_arn(&st.config, rec),
            "KeyRotationEnabled": rec.rotation_enabled,
        });
        if rec.rotation_enabled {
            out["RotationPeriodInDays"] =
                json!(rec.rotation_period_days.unwrap_or(DEFAULT_ROTATION_DAYS));
            if let Some(n) = rec.next_rotation {
                out["NextRotationDate"] = json!(n);
            }
        }
        // `OnDemandRotationStartDate` is shown by AWS while an on-demand
        // rotation is in progress; here RotateKeyOnDemand has finished it
        // before it answers, so there is never one in progress.
        Ok(out)
    }

    pub(super) fn op_rotate_on_demand(
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
            authorize(&cfg, rec, caller, "RotateKeyOnDemand", None, &[])?;
            usable(&cfg, rec)?;
            customer_managed(&cfg, rec, "RotateKeyOnDemand")?;
            let n = rec
                .rotations
                .iter()
                .filter(|r| r.kind == "ON_DEMAND")
                .count();
            if n >= MAX_ON_DEMAND_ROTATIONS {
                return Err(KmsError::limit(format!(
                    "The on-demand rotations limit has been reached for the given keyId. No more \
                     on-demand rotations can be performed for this key: {}",
                    rec_arn(&cfg, rec)
                )));
            }
            let arn = rec_arn(&cfg, rec);
            self.rotate_in(tx, &id, "ON_DEMAND")?;
            Ok(json!({ "KeyId": arn }))
        })
    }

    pub(super) fn op_list_rotations(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let limit = inp.limit(1000, 100)?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, "ListKeyRotations", None, &[])?;
        match inp.opt_str("IncludeKeyMaterial")? {
            None | Some("ROTATIONS_ONLY") | Some("ALL_KEY_MATERIAL") => {}
            Some(v) => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{v}' at 'includeKeyMaterial' failed to \
                     satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, \
                     ROTATIONS_ONLY]"
                )))
            }
        }
        let arn = rec_arn(&st.config, rec);
        let items = rec
            .rotations
            .iter()
            .map(|r| {
                (
                    format!("{:010}", r.version),
                    json!({"KeyId": arn, "KeyMaterialId": self.store().material_id(&id, r.version),
                           "RotationDate": r.date, "RotationType": r.kind}),
                )
            })
            .collect();
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Rotations".into(), Value::Array(page));
        Ok(page_json(out, next))
    }
}
