//! Tags: tag, untag, list.

use serde_json::{json, Map, Value};

use super::*;
use crate::kms::error::KmsError;
use crate::kms::input::{check_len, Input};
use crate::kms::store::View;
use crate::kms::{Caller, Kms};

/// `Tags` of `CreateKey` and `TagResource`, checked as AWS checks them: the
/// members' lengths first (`ValidationException` at `tags.N.member.tagKey`),
/// then reserved `aws:` keys and duplicate keys (`TagException`).
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
    for (i, t) in a.iter().enumerate() {
        let Value::Object(m) = t else {
            return Err(KmsError::serialization(
                "Tags must be a list of {TagKey, TagValue}",
            ));
        };
        let ti = Input(m);
        let member = |name: &str| format!("tags.{}.member.{name}", i + 1);
        let k = ti
            .opt_str("TagKey")?
            .ok_or_else(|| KmsError::missing(&member("tagKey")))?;
        check_len(&member("tagKey"), k.chars().count(), 1, 128, Some(k))?;
        let v = ti
            .opt_str("TagValue")?
            .ok_or_else(|| KmsError::missing(&member("tagValue")))?;
        check_len(&member("tagValue"), v.chars().count(), 0, 256, Some(v))?;
        out.push((k.to_string(), v.to_string()));
    }
    if out
        .iter()
        .any(|(k, _)| k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")))
    {
        return Err(KmsError::tag("Tags beginning with aws: are reserved"));
    }
    let mut seen = std::collections::BTreeSet::new();
    if !out.iter().all(|(k, _)| seen.insert(k.as_str())) {
        return Err(KmsError::tag("Duplicate tag keys"));
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
                return Err(KmsError::tag("Too many tags"));
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
