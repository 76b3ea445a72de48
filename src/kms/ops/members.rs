//! Request members shared by several operations: algorithms, grant tokens,
//! pagination.

use base64::Engine;
use serde_json::{Map, Value};

use crate::kms::error::KmsError;
use crate::kms::input::{check_len, Input};
use crate::kms::store::View;

pub(super) fn check_algorithm(inp: &Input<'_>, member: &str) -> Result<(), KmsError> {
    match inp.opt_str(member)? {
        None | Some("SYMMETRIC_DEFAULT") => Ok(()),
        Some(a @ ("RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256" | "SM2PKE")) => Err(KmsError::new(
            "InvalidKeyUsageException",
            format!("{a} is not a valid encryption algorithm for a SYMMETRIC_DEFAULT key"),
        )),
        Some(a) => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{a}' at '{}' failed to satisfy constraint: Member must \
             satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]",
            crate::kms::error::lower_first(member)
        ))),
    }
}

/// `GrantTokens`: at most 10, each 1–8192 characters, each naming a grant.
pub(super) fn check_grant_tokens(inp: &Input<'_>, st: &dyn View) -> Result<(), KmsError> {
    let Some(tokens) = inp.opt_str_list("GrantTokens")? else {
        return Ok(());
    };
    if tokens.len() > 10 {
        return Err(KmsError::validation(
            "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10",
        ));
    }
    for t in &tokens {
        check_len("GrantTokens", t.len(), 1, 8192, None)?;
        if find_grant_by_token(st, t).is_none() {
            return Err(KmsError::new(
                "InvalidGrantTokenException",
                "Invalid grant token",
            ));
        }
    }
    Ok(())
}

pub(super) fn find_grant_by_token(st: &dyn View, token: &str) -> Option<(String, String)> {
    st.key_ids().into_iter().find_map(|id| {
        let k = st.key(&id)?;
        k.grants
            .iter()
            .find(|g| g.token == token)
            .map(|g| (id.clone(), g.grant_id.clone()))
    })
}

pub(super) fn is_grant_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A page of `items` (sorted by their marker key) after `Marker`.
pub(super) fn paginate<T: Clone>(
    inp: &Input<'_>,
    items: Vec<(String, T)>,
    limit: usize,
) -> Result<(Vec<T>, Option<String>), KmsError> {
    let start = match inp.opt_str("Marker")? {
        None => 0,
        Some(m) => {
            let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(m)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    KmsError::invalid_marker(
                        "The marker that specifies where pagination should next begin is not valid",
                    )
                })?;
            items.partition_point(|(k, _)| k.as_str() < key.as_str())
        }
    };
    let end = (start + limit).min(items.len());
    let next = items
        .get(end)
        .map(|(k, _)| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k));
    Ok((
        items[start..end].iter().map(|(_, t)| t.clone()).collect(),
        next,
    ))
}

pub(super) fn page_json(mut out: Map<String, Value>, next: Option<String>) -> Value {
    out.insert("Truncated".into(), Value::Bool(next.is_some()));
    if let Some(n) = next {
        out.insert("NextMarker".into(), Value::String(n));
    }
    Value::Object(out)
}
