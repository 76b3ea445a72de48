//! Tags: tag, untag, list.

use serde_json::{json, Map, Value};

use super::*;
use crate::kms::error::KmsError;
use crate::kms::input::Input;
use crate::kms::store::View;
use crate::kms::{Caller, Kms};

pub(super) fn parse_tags(inp: &Input<'_>) -> Result<Vec<(String, String)>, KmsError> {
    let Some(v) = inp.get("Tags") else {
        return Ok(Vec::new());
    };
    let Value::Array(a) = v else {
        return Err(KmsError::serialization(
            "Tags must be a list of {TagKey, TagValue}",
        ));
    };
    let mut out = Vec::new();
    for t in a {
        let Value::Object(m) = t else {
            return Err(KmsError::serialization(
                "Tags must be a list of {TagKey, TagValue}",
            ));
        };
        let ti = Input(m);
        let k = ti.str_len("TagKey", 1, 128)?;
        let v = ti
            .opt_str_len("TagValue", 0, 256)?
            .ok_or_else(|| KmsError::missing("TagValue"))?;
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(KmsError::tag(format!(
                "Tag key {k:?}: tag keys beginning with aws: are reserved for AWS"
            )));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

impl Kms {
    // ----- tags -----

    pub(super) fn op_tag(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        if inp.get("Tags").is_none() {
            return Err(KmsError::missing("Tags"));
        }
        let tags = parse_tags(inp)?;
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(&cfg, rec, caller, "TagResource", None, &[])?;
            not_pending_deletion(&cfg, rec)?;
            customer_managed(&cfg, rec, "TagResource")?;
            let mut next = rec.tags.clone();
            next.extend(tags);
            if next.len() > MAX_TAGS {
                return Err(KmsError::tag(format!("a key has at most {MAX_TAGS} tags")));
            }
            tx.key_mut(&id).expect("resolved").tags = next;
            Ok(json!({}))
        })
    }

    pub(super) fn op_untag(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let keys = inp
            .opt_str_list("TagKeys")?
            .ok_or_else(|| KmsError::missing("TagKeys"))?;
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(&cfg, rec, caller, "UntagResource", None, &[])?;
            not_pending_deletion(&cfg, rec)?;
            if keys.iter().any(|k| rec.tags.contains_key(k)) {
                let rec = tx.key_mut(&id).expect("resolved");
                for k in &keys {
                    rec.tags.remove(k);
                }
            }
            Ok(json!({}))
        })
    }

    pub(super) fn op_list_tags(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let limit = inp.limit(50, 50)?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        same_account_only(&st.config, caller, rec)?;
        authorize(&st.config, rec, caller, "ListResourceTags", None, &[])?;
        let items = rec
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), json!({"TagKey": k, "TagValue": v})))
            .collect();
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Tags".into(), Value::Array(page));
        Ok(page_json(out, next))
    }
}
