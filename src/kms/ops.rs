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

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::crypto::{self, Blob, EncryptionContext};
use super::error::KmsError;
use super::input::{check_len, context_from_map, Input};
use super::model::{
    BackingVersion, GrantConstraints, GrantRecord, KeyInfo, KeyManager, KeyRecord, KeyState,
    RotationEvent, StoreConfig, B64,
};
use super::policy::{self, Decision, KeyPolicy, Request};
use super::store::{State, Tx, View};
use super::{Caller, DataKey, KeyId, Kms};

/// A data key's plaintext, its blob, the key id and the key ARN.
type RawDataKey = (Zeroizing<Vec<u8>>, Vec<u8>, String, String);

const DAY: f64 = 86_400.0;
const DEFAULT_ROTATION_DAYS: u32 = 365;
const MAX_ON_DEMAND_ROTATIONS: usize = 25;
const MAX_TAGS: usize = 50;

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

/// AWS KMS operations that exist but need key types or features this KMS does
/// not have (asymmetric and HMAC keys, imported material, custom key stores,
/// multi-Region keys): `UnsupportedOperationException`.
const UNSUPPORTED: &[&str] = &[
    "ConnectCustomKeyStore",
    "CreateCustomKeyStore",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ReplicateKey",
    "Sign",
    "UpdateCustomKeyStore",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

/// Grant operations valid for a symmetric encryption key.
const GRANT_OPS: &[&str] = &[
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
const OTHER_GRANT_OPS: &[&str] = &[
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
const CONTEXT_GRANT_OPS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
];

/// AWS managed keys that `alias/aws/SERVICE` names, made on first use:
/// (alias suffix, the service's `kms:ViaService` prefix).
const AWS_MANAGED: &[(&str, &str)] = &[
    ("acm", "acm"),
    ("backup", "backup"),
    ("cloudtrail", "cloudtrail"),
    ("dynamodb", "dynamodb"),
    ("ebs", "ec2"),
    ("elasticfilesystem", "elasticfilesystem"),
    ("es", "es"),
    ("glue", "glue"),
    ("kinesis", "kinesis"),
    ("lambda", "lambda"),
    ("logs", "logs"),
    ("rds", "rds"),
    ("redshift", "redshift"),
    ("s3", "s3"),
    ("secretsmanager", "secretsmanager"),
    ("sns", "sns"),
    ("sqs", "sqs"),
    ("ssm", "ssm"),
    ("xray", "xray"),
];

fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

pub(crate) fn key_arn(cfg: &StoreConfig, id: &str) -> String {
    format!("arn:aws:kms:{}:{}:key/{id}", cfg.region, cfg.account)
}

fn alias_arn(cfg: &StoreConfig, name: &str) -> String {
    format!("arn:aws:kms:{}:{}:{name}", cfg.region, cfg.account)
}

fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// What a key reference names.
enum Ref {
    Key(String),
    Alias(String),
}

/// Parses a key id, key ARN, alias name or alias ARN.
fn parse_ref(
    cfg: &StoreConfig,
    caller: &Caller,
    r: &str,
    allow_alias: bool,
) -> Result<Ref, KmsError> {
    check_len("KeyId", r.chars().count(), 1, 2048, Some(r))?;
    let cross = caller.account != cfg.account;
    let not_found = || KmsError::not_found(format!("Invalid keyId '{r}'"));
    if let Some(rest) = r.strip_prefix("arn:") {
        // arn:PARTITION:kms:REGION:ACCOUNT:key/ID | alias/NAME
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() != 5 || parts[1] != "kms" {
            return Err(not_found());
        }
        let (region, account, resource) = (parts[2], parts[3], parts[4]);
        let exists_msg = || KmsError::not_found(format!("Key '{r}' does not exist"));
        if let Some(id) = resource.strip_prefix("key/") {
            if region != cfg.region || account != cfg.account {
                return Err(exists_msg());
            }
            return Ok(Ref::Key(id.to_string()));
        }
        if resource.starts_with("alias/") {
            if !allow_alias {
                return Err(not_found());
            }
            if region != cfg.region || account != cfg.account {
                return Err(KmsError::not_found(format!("Alias {r} is not found.")));
            }
            return Ok(Ref::Alias(resource.to_string()));
        }
        return Err(not_found());
    }
    if r.starts_with("alias/") {
        if !allow_alias || cross {
            return Err(not_found());
        }
        return Ok(Ref::Alias(r.to_string()));
    }
    if cross {
        // Another account's key must be named by its ARN.
        return Err(KmsError::not_found(format!(
            "Key 'arn:aws:kms:{}:{}:key/{r}' does not exist",
            cfg.region, caller.account
        )));
    }
    Ok(Ref::Key(r.to_string()))
}

/// The id of the live key `r` names.
fn resolve(
    v: &dyn View,
    caller: &Caller,
    r: &str,
    allow_alias: bool,
    now: f64,
) -> Result<String, KmsError> {
    let cfg = v.config();
    let id = match parse_ref(cfg, caller, r, allow_alias)? {
        Ref::Key(id) => id,
        Ref::Alias(name) => match v.aliases().get(&name) {
            Some(a) => a.target.clone(),
            None => {
                return Err(KmsError::not_found(format!(
                    "Alias {} is not found.",
                    alias_arn(cfg, &name)
                )))
            }
        },
    };
    match v.key(&id) {
        Some(k) if !k.is_deleted(now) => Ok(id),
        _ => Err(KmsError::not_found(format!(
            "Key '{}' does not exist",
            key_arn(cfg, &id)
        ))),
    }
}

/// The `alias/aws/SERVICE` name in `r`, when it names an AWS managed key.
fn aws_managed_alias(r: &str) -> Option<String> {
    let name = match r.strip_prefix("arn:") {
        Some(_) => format!("alias/{}", r.split_once(":alias/")?.1),
        None => r.to_string(),
    };
    let svc = name.strip_prefix("alias/aws/")?;
    AWS_MANAGED.iter().any(|(s, _)| *s == svc).then_some(name)
}

fn is_ref_to_alias(r: &str) -> bool {
    r.starts_with("alias/") || r.contains(":alias/")
}

/// The condition keys every request on `rec` carries.
fn conditions(
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

fn principal_is(spec: &str, caller: &Caller) -> bool {
    policy::principal_spec_matches(spec, &caller.principal, &caller.account)
}

/// A grant on `rec` that lets `caller` perform `op` with `ctx`.
fn grant_for<'r>(
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

fn access_denied(caller: &Caller, action: &str, arn: &str, explicit: bool) -> KmsError {
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
fn authorize(
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
            &key_arn(cfg, &rec.key_id),
            d == Decision::Deny,
        )),
    }
}

fn decide(
    cfg: &StoreConfig,
    rec: &KeyRecord,
    caller: &Caller,
    action: &str,
    ctx: Option<&EncryptionContext>,
    extra: &[(&str, Vec<String>)],
) -> Result<Decision, KmsError> {
    let arn = key_arn(cfg, &rec.key_id);
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
fn same_account_only(cfg: &StoreConfig, caller: &Caller, rec: &KeyRecord) -> Result<(), KmsError> {
    if caller.account != cfg.account {
        return Err(KmsError::not_found(format!(
            "Key '{}' does not exist",
            key_arn(cfg, &rec.key_id)
        )));
    }
    Ok(())
}

fn account_level(cfg: &StoreConfig, caller: &Caller, op: &str) -> Result<(), KmsError> {
    if caller.account != cfg.account {
        return Err(KmsError::access_denied(format!(
            "User: {} is not authorized to perform: kms:{op}: the keystore belongs to account {}",
            caller.principal, cfg.account
        )));
    }
    Ok(())
}

/// Cryptographic operations need an `Enabled` key.
fn usable(cfg: &StoreConfig, rec: &KeyRecord) -> Result<(), KmsError> {
    let arn = key_arn(cfg, &rec.key_id);
    match rec.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::disabled(format!("{arn} is disabled."))),
        KeyState::PendingDeletion => Err(KmsError::invalid_state(format!(
            "{arn} is pending deletion."
        ))),
    }
}

fn not_pending_deletion(cfg: &StoreConfig, rec: &KeyRecord) -> Result<(), KmsError> {
    if rec.state == KeyState::PendingDeletion {
        return Err(KmsError::invalid_state(format!(
            "{} is pending deletion.",
            key_arn(cfg, &rec.key_id)
        )));
    }
    Ok(())
}

fn customer_managed(cfg: &StoreConfig, rec: &KeyRecord, op: &str) -> Result<(), KmsError> {
    if rec.manager == KeyManager::Aws {
        return Err(KmsError::unsupported(format!(
            "{op} is not supported on AWS managed key {}",
            key_arn(cfg, &rec.key_id)
        )));
    }
    Ok(())
}

fn check_algorithm(inp: &Input<'_>, member: &str) -> Result<(), KmsError> {
    match inp.opt_str(member)? {
        None | Some("SYMMETRIC_DEFAULT") => Ok(()),
        Some(a @ ("RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256" | "SM2PKE")) => Err(KmsError::new(
            "InvalidKeyUsageException",
            format!("{a} is not a valid encryption algorithm for a SYMMETRIC_DEFAULT key"),
        )),
        Some(a) => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{a}' at '{}' failed to satisfy constraint: Member must \
             satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]",
            super::error::lower_first(member)
        ))),
    }
}

/// `GrantTokens`: at most 10, each 1–8192 characters, each naming a grant.
fn check_grant_tokens(inp: &Input<'_>, st: &dyn View) -> Result<(), KmsError> {
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

fn find_grant_by_token(st: &dyn View, token: &str) -> Option<(String, String)> {
    st.key_ids().into_iter().find_map(|id| {
        let k = st.key(&id)?;
        k.grants
            .iter()
            .find(|g| g.token == token)
            .map(|g| (id.clone(), g.grant_id.clone()))
    })
}

fn is_grant_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_tags(inp: &Input<'_>) -> Result<Vec<(String, String)>, KmsError> {
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

fn grant_constraints(inp: &Input<'_>) -> Result<Option<GrantConstraints>, KmsError> {
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

fn constraints_json(c: &GrantConstraints) -> Value {
    let mut m = Map::new();
    if let Some(s) = &c.encryption_context_subset {
        m.insert("EncryptionContextSubset".into(), json!(s));
    }
    if let Some(e) = &c.encryption_context_equals {
        m.insert("EncryptionContextEquals".into(), json!(e));
    }
    Value::Object(m)
}

/// A page of `items` (sorted by their marker key) after `Marker`.
fn paginate<T: Clone>(
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

fn page_json(mut out: Map<String, Value>, next: Option<String>) -> Value {
    out.insert("Truncated".into(), Value::Bool(next.is_some()));
    if let Some(n) = next {
        out.insert("NextMarker".into(), Value::String(n));
    }
    Value::Object(out)
}

fn validate_alias_name(name: &str) -> Result<(), KmsError> {
    check_len("AliasName", name.chars().count(), 1, 256, Some(name))?;
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(KmsError::validation(
            "Invalid identifier: an alias name begins with alias/",
        ));
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

    /// Adds a backing key version to `id`.
    fn rotate_in(&self, tx: &mut Tx<'_>, id: &str, kind: &str) -> Result<(), KmsError> {
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

    /// Resolves a key for a cryptographic operation, making a due automatic
    /// rotation (or an AWS managed key named by `alias/aws/...`) first.
    fn crypto_key(
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
    fn provision_aws_managed(&self, caller: &Caller, key_ref: &str) -> Result<(), KmsError> {
        let Some(alias) = aws_managed_alias(key_ref) else {
            return Ok(());
        };
        let svc = alias.trim_start_matches("alias/aws/").to_string();
        let via = AWS_MANAGED
            .iter()
            .find(|(s, _)| *s == svc)
            .map(|(_, v)| *v)
            .unwrap_or("");
        let _ = caller;
        self.write(|tx| {
            if tx.aliases().contains_key(&alias) {
                return Ok(());
            }
            let cfg = tx.config().clone();
            let policy = json!({
                "Version": "2012-10-17",
                "Id": format!("auto-{svc}"),
                "Statement": [
                    {"Sid": format!("Allow access through {svc} for all principals in the account that are authorized to use {svc}"),
                     "Effect": "Allow", "Principal": {"AWS": "*"},
                     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                     "Resource": "*",
                     "Condition": {"StringEquals": {"kms:CallerAccount": cfg.account, "kms:ViaService": format!("{via}.{}.amazonaws.com", cfg.region)}}},
                    {"Sid": "Allow direct access to key metadata to the account",
                     "Effect": "Allow", "Principal": {"AWS": root_arn(&cfg.account)},
                     "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                     "Resource": "*"}
                ]
            });
            let rec = self.new_key_record(
                tx.now,
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
            tx.aliases_mut().insert(
                alias.clone(),
                super::model::AliasRecord {
                    target: id,
                    created: now,
                    updated: now,
                },
            );
            Ok(())
        })
    }

    fn new_key_record(
        &self,
        now: f64,
        description: String,
        policy: String,
        manager: KeyManager,
    ) -> Result<KeyRecord, KmsError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut material = Zeroizing::new([0u8; 32]);
        crypto::fill_random(material.as_mut())?;
        let sealed = self.store().seal_material(&id, 1, &material)?;
        Ok(KeyRecord {
            format: super::store::STORE_FORMAT,
            key_id: id,
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
    fn read_key(
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

    pub(crate) fn key_metadata(cfg: &StoreConfig, k: &KeyRecord) -> Value {
        let mut m = json!({
            "AWSAccountId": cfg.account,
            "KeyId": k.key_id,
            "Arn": key_arn(cfg, &k.key_id),
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
        });
        if let Some(d) = k.deletion_date {
            m["DeletionDate"] = json!(d);
        }
        Value::Object(m.as_object().cloned().unwrap_or_default())
    }

    fn op_create_key(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let description = inp
            .opt_str_len("Description", 0, 8192)?
            .unwrap_or("")
            .to_string();
        let spec = inp
            .opt_str("KeySpec")?
            .or(inp.opt_str("CustomerMasterKeySpec")?)
            .unwrap_or("SYMMETRIC_DEFAULT");
        const SPECS: &[&str] = &[
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
        ];
        if spec != "SYMMETRIC_DEFAULT" {
            if SPECS.contains(&spec) {
                return Err(KmsError::unsupported(format!(
                    "KeySpec {spec} is not supported: this KMS makes SYMMETRIC_DEFAULT keys only"
                )));
            }
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set"
            )));
        }
        match inp.opt_str("KeyUsage")? {
            None | Some("ENCRYPT_DECRYPT") => {}
            Some(u @ ("SIGN_VERIFY" | "GENERATE_VERIFY_MAC" | "KEY_AGREEMENT")) => {
                return Err(KmsError::validation(format!(
                    "KeyUsage {u} is not compatible with KeySpec SYMMETRIC_DEFAULT"
                )))
            }
            Some(u) => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{u}' at 'keyUsage' failed to satisfy constraint: \
                     Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT]"
                )))
            }
        }
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
            return Err(KmsError::tag(format!("a key has at most {MAX_TAGS} tags")));
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
        let mut rec = self.new_key_record(now, description, policy_doc, KeyManager::Customer)?;
        rec.policy()
            .map_err(|e| KmsError::malformed_policy(e.message.clone()))?;
        if !bypass {
            lockout_check(&cfg, &rec, caller)?;
        }
        rec.tags = tags.into_iter().collect();
        let meta = Kms::key_metadata(&cfg, &rec);
        self.write(|tx| {
            tx.put_key(rec);
            Ok(())
        })?;
        Ok(json!({ "KeyMetadata": meta }))
    }

    fn op_describe_key(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
        Ok(json!({ "KeyMetadata": Kms::key_metadata(&st.config, rec) }))
    }

    fn op_list_keys(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let limit = inp.limit(1000, 100)?;
        let st = self.snapshot()?;
        account_level(&st.config, caller, "ListKeys")?;
        let now = self.now();
        let items: Vec<(String, Value)> = st
            .keys
            .values()
            .filter(|k| !k.is_deleted(now))
            .map(|k| {
                (
                    k.key_id.clone(),
                    json!({"KeyId": k.key_id, "KeyArn": key_arn(&st.config, &k.key_id)}),
                )
            })
            .collect();
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Keys".into(), Value::Array(page));
        Ok(page_json(out, next))
    }

    fn op_update_description(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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

    fn op_set_enabled(
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
                    key_arn(&cfg, &id)
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

    fn op_schedule_deletion(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
                    key_arn(&cfg, &id)
                )));
            }
            let date = round_ms(tx.now + days as f64 * DAY);
            let rec = tx.key_mut(&id).expect("resolved");
            rec.state = KeyState::PendingDeletion;
            rec.deletion_date = Some(date);
            rec.pending_window_days = Some(days as u32);
            Ok(json!({
                "KeyId": key_arn(&cfg, &id),
                "DeletionDate": date,
                "KeyState": "PendingDeletion",
                "PendingWindowInDays": days,
            }))
        })
    }

    fn op_cancel_deletion(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
                    key_arn(&cfg, &id)
                )));
            }
            let rec = tx.key_mut(&id).expect("resolved");
            rec.state = KeyState::Disabled;
            rec.deletion_date = None;
            rec.pending_window_days = None;
            Ok(json!({ "KeyId": key_arn(&cfg, &id) }))
        })
    }

    // ----- rotation -----

    fn op_enable_rotation(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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

    fn op_disable_rotation(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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

    fn op_rotation_status(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, "GetKeyRotationStatus", None, &[])?;
        let mut out = json!({
            "KeyId": key_arn(&st.config, &id),
            "KeyRotationEnabled": rec.rotation_enabled,
        });
        if rec.rotation_enabled {
            out["RotationPeriodInDays"] =
                json!(rec.rotation_period_days.unwrap_or(DEFAULT_ROTATION_DAYS));
            if let Some(n) = rec.next_rotation {
                out["NextRotationDate"] = json!(n);
            }
        }
        if let Some(r) = rec.rotations.iter().rev().find(|r| r.kind == "ON_DEMAND") {
            out["OnDemandRotationStartDate"] = json!(r.date);
        }
        Ok(out)
    }

    fn op_rotate_on_demand(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            same_account_only(&cfg, caller, rec)?;
            authorize(&cfg, rec, caller, "RotateKeyOnDemand", None, &[])?;
            usable(&cfg, rec)?;
            customer_managed(&cfg, rec, "RotateKeyOnDemand")?;
            let n = rec.rotations.iter().filter(|r| r.kind == "ON_DEMAND").count();
            if n >= MAX_ON_DEMAND_ROTATIONS {
                return Err(KmsError::limit(format!(
                    "{} has been rotated on demand {MAX_ON_DEMAND_ROTATIONS} times, the most allowed",
                    key_arn(&cfg, &id)
                )));
            }
            self.rotate_in(tx, &id, "ON_DEMAND")?;
            Ok(json!({ "KeyId": id }))
        })
    }

    fn op_list_rotations(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let limit = inp.limit(1000, 100)?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, "ListKeyRotations", None, &[])?;
        let arn = key_arn(&st.config, &id);
        let items = rec
            .rotations
            .iter()
            .map(|r| {
                (
                    format!("{:010}", r.version),
                    json!({"KeyId": arn, "RotationDate": r.date, "RotationType": r.kind}),
                )
            })
            .collect();
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Rotations".into(), Value::Array(page));
        Ok(page_json(out, next))
    }

    // ----- policies -----

    fn op_get_policy(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        check_policy_name(inp)?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        same_account_only(&st.config, caller, rec)?;
        authorize(&st.config, rec, caller, "GetKeyPolicy", None, &[])?;
        Ok(json!({ "Policy": rec.policy, "PolicyName": "default" }))
    }

    fn op_list_policies(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        inp.limit(1000, 100)?;
        let (st, id) = self.read_key(caller, key_ref, false)?;
        let rec = st.key(&id).expect("resolved");
        same_account_only(&st.config, caller, rec)?;
        authorize(&st.config, rec, caller, "ListKeyPolicies", None, &[])?;
        Ok(json!({ "PolicyNames": ["default"], "Truncated": false }))
    }

    fn op_put_policy(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
                    key_arn(&cfg, &id)
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

    // ----- aliases -----

    fn op_create_alias(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
            if tx.aliases().contains_key(name) {
                return Err(KmsError::already_exists(format!(
                    "An alias with the name {} already exists",
                    alias_arn(&cfg, name)
                )));
            }
            let id = resolve(tx, caller, target, false, tx.now)?;
            let rec = tx.key(&id).expect("resolved");
            authorize(&cfg, rec, caller, "CreateAlias", None, &[])?;
            not_pending_deletion(&cfg, rec)?;
            customer_managed(&cfg, rec, "CreateAlias")?;
            let now = tx.now;
            tx.aliases_mut().insert(
                name.to_string(),
                super::model::AliasRecord {
                    target: id,
                    created: now,
                    updated: now,
                },
            );
            Ok(json!({}))
        })
    }

    fn op_update_alias(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
            let Some(old) = tx.aliases().get(name).map(|a| a.target.clone()) else {
                return Err(KmsError::not_found(format!(
                    "Alias {} is not found.",
                    alias_arn(&cfg, name)
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
            let a = tx.aliases_mut().get_mut(name).expect("present");
            a.target = id;
            a.updated = now;
            Ok(json!({}))
        })
    }

    fn op_delete_alias(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let name = inp.str("AliasName")?;
        if !name.starts_with("alias/") {
            return Err(KmsError::validation(
                "Invalid identifier: an alias name begins with alias/",
            ));
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
            let Some(target) = tx.aliases().get(name).map(|a| a.target.clone()) else {
                return Err(KmsError::not_found(format!(
                    "Alias {} is not found.",
                    alias_arn(&cfg, name)
                )));
            };
            if let Some(rec) = tx.key(&target) {
                authorize(&cfg, rec, caller, "DeleteAlias", None, &[])?;
            }
            tx.aliases_mut().remove(name);
            Ok(json!({}))
        })
    }

    fn op_list_aliases(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let limit = inp.limit(100, 50)?;
        let st = self.snapshot()?;
        account_level(&st.config, caller, "ListAliases")?;
        let filter = match inp.opt_str("KeyId")? {
            None => None,
            Some(r) => Some(resolve(st.as_ref(), caller, r, false, self.now())?),
        };
        let now = self.now();
        let items = st
            .aliases
            .iter()
            .filter(|(_, a)| st.key(&a.target).is_some_and(|k| !k.is_deleted(now)))
            .filter(|(_, a)| filter.as_ref().is_none_or(|f| &a.target == f))
            .map(|(n, a)| {
                (
                    n.clone(),
                    json!({
                        "AliasName": n,
                        "AliasArn": alias_arn(&st.config, n),
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

    // ----- tags -----

    fn op_tag(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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

    fn op_untag(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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

    fn op_list_tags(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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

    // ----- cryptography -----

    /// Encrypt: `(ciphertext blob, key id)`.
    pub(crate) fn encrypt_raw(
        &self,
        caller: &Caller,
        key_ref: &str,
        plaintext: &[u8],
        ctx: &EncryptionContext,
        inp: Option<&Input<'_>>,
    ) -> Result<(Vec<u8>, String, String), KmsError> {
        check_len("Plaintext", plaintext.len(), 1, 4096, None)?;
        let (st, id) = self.crypto_key(caller, key_ref)?;
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let rec = st.key(&id).expect("resolved");
        authorize(
            &st.config,
            rec,
            caller,
            "Encrypt",
            Some(ctx),
            &[("kms:EncryptionAlgorithm", vec!["SYMMETRIC_DEFAULT".into()])],
        )?;
        usable(&st.config, rec)?;
        let blob = self.seal_with_current(rec, plaintext, ctx)?;
        Ok((blob, id.clone(), key_arn(&st.config, &id)))
    }

    fn seal_with_current(
        &self,
        rec: &KeyRecord,
        plaintext: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let version = rec.current_version();
        let material = self
            .store()
            .material(rec, version)?
            .ok_or_else(|| KmsError::internal("the key has no current material"))?;
        let uuid = uuid::Uuid::parse_str(&rec.key_id)
            .map_err(|_| KmsError::internal("the key id is not a UUID"))?;
        crypto::seal_blob(&uuid, version, &material, plaintext, ctx)
    }

    fn op_encrypt(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let plaintext = Zeroizing::new(inp.blob("Plaintext", 1, 4096)?);
        let ctx = inp.context("EncryptionContext")?;
        check_algorithm(inp, "EncryptionAlgorithm")?;
        let (blob, _, arn) = self.encrypt_raw(caller, key_ref, &plaintext, &ctx, Some(inp))?;
        Ok(json!({
            "CiphertextBlob": B64.encode(blob),
            "KeyId": arn,
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    /// Decrypt: `(plaintext, key id, key ARN)`; `action` is `Decrypt` or `ReEncryptFrom`.
    pub(crate) fn decrypt_raw(
        &self,
        caller: &Caller,
        blob_bytes: &[u8],
        ctx: &EncryptionContext,
        key_ref: Option<&str>,
        action: &str,
        inp: Option<&Input<'_>>,
    ) -> Result<(Zeroizing<Vec<u8>>, String, String), KmsError> {
        self.decrypt_checked(caller, blob_bytes, ctx, key_ref, Some(action), inp)
    }

    /// Decrypt; `action: None` skips the key policy (the keystore owner's check
    /// of a data sample) but not the key's state.
    pub(crate) fn decrypt_checked(
        &self,
        caller: &Caller,
        blob_bytes: &[u8],
        ctx: &EncryptionContext,
        key_ref: Option<&str>,
        action: Option<&str>,
        inp: Option<&Input<'_>>,
    ) -> Result<(Zeroizing<Vec<u8>>, String, String), KmsError> {
        check_len("CiphertextBlob", blob_bytes.len(), 1, 6144, None)?;
        let blob = Blob::parse(blob_bytes)?;
        let st = self.snapshot()?;
        let now = self.now();
        let blob_id = blob.key_id.to_string();
        if let Some(r) = key_ref {
            let id = resolve(st.as_ref(), caller, r, true, now)?;
            if id != blob_id {
                return Err(KmsError::incorrect_key(format!(
                    "The key ID in the request does not identify a key that can decrypt the ciphertext: \
                     it was encrypted under {}",
                    key_arn(&st.config, &blob_id)
                )));
            }
        }
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let rec = match st.key(&blob_id) {
            Some(k) if !k.is_deleted(now) => k,
            _ => {
                return Err(KmsError::invalid_ciphertext(format!(
                "the ciphertext was made under key {blob_id}, which this keystore does not have \
                     (never created here, or deleted)"
            )))
            }
        };
        if let Some(action) = action {
            authorize(
                &st.config,
                rec,
                caller,
                action,
                Some(ctx),
                &[("kms:EncryptionAlgorithm", vec!["SYMMETRIC_DEFAULT".into()])],
            )?;
        }
        usable(&st.config, rec)?;
        let material = self.store().material(rec, blob.version)?.ok_or_else(|| {
            KmsError::invalid_ciphertext(format!(
                "the ciphertext names backing key version {} of {blob_id}, which does not exist",
                blob.version
            ))
        })?;
        let plain = blob.open(&material, ctx)?;
        Ok((plain, blob_id.clone(), key_arn(&st.config, &blob_id)))
    }

    fn op_decrypt(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let blob = inp.blob("CiphertextBlob", 1, 6144)?;
        let ctx = inp.context("EncryptionContext")?;
        check_algorithm(inp, "EncryptionAlgorithm")?;
        if inp.get("Recipient").is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves) is not supported",
            ));
        }
        let key_ref = inp.opt_str("KeyId")?;
        let (plain, _, arn) =
            self.decrypt_raw(caller, &blob, &ctx, key_ref, "Decrypt", Some(inp))?;
        Ok(json!({
            "KeyId": arn,
            "Plaintext": B64.encode(plain.as_slice()),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    fn op_re_encrypt(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let blob = inp.blob("CiphertextBlob", 1, 6144)?;
        let src_ctx = inp.context("SourceEncryptionContext")?;
        let dst_ctx = inp.context("DestinationEncryptionContext")?;
        let dst_ref = inp.str("DestinationKeyId")?;
        check_algorithm(inp, "SourceEncryptionAlgorithm")?;
        check_algorithm(inp, "DestinationEncryptionAlgorithm")?;
        let src_ref = inp.opt_str("SourceKeyId")?;
        let (plain, src_id, src_arn) =
            self.decrypt_raw(caller, &blob, &src_ctx, src_ref, "ReEncryptFrom", Some(inp))?;
        let (st, dst_id) = self.crypto_key(caller, dst_ref)?;
        let rec = st.key(&dst_id).expect("resolved");
        authorize(
            &st.config,
            rec,
            caller,
            "ReEncryptTo",
            Some(&dst_ctx),
            &[(
                "kms:ReEncryptOnSameKey",
                vec![(src_id == dst_id).to_string()],
            )],
        )?;
        usable(&st.config, rec)?;
        let out = self.seal_with_current(rec, &plain, &dst_ctx)?;
        Ok(json!({
            "CiphertextBlob": B64.encode(out),
            "SourceKeyId": src_arn,
            "KeyId": key_arn(&st.config, &dst_id),
            "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    /// GenerateDataKey: a fresh random key of `len` bytes and its blob.
    pub(crate) fn data_key_raw(
        &self,
        caller: &Caller,
        key_ref: &str,
        ctx: &EncryptionContext,
        len: usize,
        op: &str,
        inp: Option<&Input<'_>>,
    ) -> Result<RawDataKey, KmsError> {
        let (st, id) = self.crypto_key(caller, key_ref)?;
        if let Some(inp) = inp {
            check_grant_tokens(inp, st.as_ref())?;
        }
        let rec = st.key(&id).expect("resolved");
        authorize(&st.config, rec, caller, op, Some(ctx), &[])?;
        usable(&st.config, rec)?;
        let mut key = Zeroizing::new(vec![0u8; len]);
        crypto::fill_random(&mut key)?;
        let blob = self.seal_with_current(rec, &key, ctx)?;
        Ok((key, blob, id.clone(), key_arn(&st.config, &id)))
    }

    fn op_generate_data_key(
        &self,
        caller: &Caller,
        inp: &Input<'_>,
        with_plaintext: bool,
    ) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let ctx = inp.context("EncryptionContext")?;
        let n = inp.opt_int_range("NumberOfBytes", 1, 1024)?;
        let spec = inp.opt_str("KeySpec")?;
        let len = match (spec, n) {
            (Some(_), Some(_)) => {
                return Err(KmsError::validation(
                    "KeySpec and NumberOfBytes cannot both be specified: give exactly one",
                ))
            }
            (None, None) => {
                return Err(KmsError::validation(
                    "Please specify either number of bytes or key spec.",
                ))
            }
            (None, Some(n)) => n as usize,
            (Some("AES_256"), None) => 32,
            (Some("AES_128"), None) => 16,
            (Some(s), None) => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{s}' at 'keySpec' failed to satisfy constraint: \
                     Member must satisfy enum value set: [AES_256, AES_128]"
                )))
            }
        };
        if inp.get("Recipient").is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves) is not supported",
            ));
        }
        let op = if with_plaintext {
            "GenerateDataKey"
        } else {
            "GenerateDataKeyWithoutPlaintext"
        };
        let (key, blob, _, arn) = self.data_key_raw(caller, key_ref, &ctx, len, op, Some(inp))?;
        let mut out = json!({ "CiphertextBlob": B64.encode(blob), "KeyId": arn });
        if with_plaintext {
            out["Plaintext"] = json!(B64.encode(key.as_slice()));
        }
        Ok(out)
    }

    fn op_generate_random(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let n = inp
            .opt_int_range("NumberOfBytes", 1, 1024)?
            .ok_or_else(|| KmsError::missing("NumberOfBytes"))?;
        if inp.get("CustomKeyStoreId").is_some() {
            return Err(KmsError::unsupported("custom key stores are not supported"));
        }
        if inp.get("Recipient").is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves) is not supported",
            ));
        }
        let cfg = self.snapshot()?.config.clone();
        account_level(&cfg, caller, "GenerateRandom")?;
        let bytes = Zeroizing::new(crypto::random_bytes(n as usize)?);
        Ok(json!({ "Plaintext": B64.encode(bytes.as_slice()) }))
    }

    // ----- grants -----

    fn op_create_grant(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
        if inp.opt_bool("DryRun")? == Some(true) {
            return Err(KmsError::unsupported("DryRun is not supported"));
        }
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
            let arn = key_arn(&cfg, &id);
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

    fn grant_json(cfg: &StoreConfig, key_id: &str, g: &GrantRecord) -> Value {
        let mut v = json!({
            "KeyId": key_arn(cfg, key_id),
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

    fn op_list_grants(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
            .map(|g| (g.grant_id.clone(), Kms::grant_json(&st.config, &id, g)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (page, next) = paginate(inp, items, limit)?;
        let mut out = Map::new();
        out.insert("Grants".into(), Value::Array(page));
        Ok(page_json(out, next))
    }

    fn op_list_retirable(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let retiring = inp.str_len("RetiringPrincipal", 1, 256)?;
        let limit = inp.limit(100, 50)?;
        let st = self.snapshot()?;
        account_level(&st.config, caller, "ListRetirableGrants")?;
        let now = self.now();
        let mut items: Vec<(String, Value)> = Vec::new();
        for k in st.keys.values().filter(|k| !k.is_deleted(now)) {
            for g in &k.grants {
                if g.retiring.as_deref() == Some(retiring) {
                    items.push((
                        format!("{}/{}", k.key_id, g.grant_id),
                        Kms::grant_json(&st.config, &k.key_id, g),
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

    fn op_retire_grant(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
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
            let may = g.retiring.as_deref().is_some_and(|r| principal_is(r, caller))
                || (principal_is(&g.grantee, caller) && g.operations.iter().any(|o| o == "RetireGrant"))
                || caller.principal == g.issuing_account;
            let arn = key_arn(&cfg, &id);
            if decide(&cfg, rec, caller, "RetireGrant", None, &[])? == Decision::Deny {
                return Err(access_denied(caller, "RetireGrant", &arn, true));
            }
            if !may {
                return Err(KmsError::access_denied(format!(
                    "User: {} is not authorized to perform: kms:RetireGrant on resource: {arn}: only the \
                     grant's retiring principal, its grantee (with RetireGrant), or the issuing account may retire it",
                    caller.principal
                )));
            }
            tx.key_mut(&id)
                .expect("present")
                .grants
                .retain(|x| x.grant_id != grant_id);
            Ok(json!({}))
        })
    }

    fn op_revoke_grant(&self, caller: &Caller, inp: &Input<'_>) -> Result<Value, KmsError> {
        let key_ref = inp.str("KeyId")?;
        let gid = inp.str("GrantId")?;
        if !is_grant_id(gid) {
            return Err(KmsError::new(
                "InvalidGrantIdException",
                format!("Invalid grant ID {gid:?}"),
            ));
        }
        self.write(|tx| {
            let id = resolve(tx, caller, key_ref, false, tx.now)?;
            let cfg = tx.config().clone();
            let rec = tx.key(&id).expect("resolved");
            authorize(&cfg, rec, caller, "RevokeGrant", None, &[])?;
            if !rec.grants.iter().any(|g| g.grant_id == gid) {
                return Err(KmsError::not_found(format!("Grant ID {gid} not found")));
            }
            tx.key_mut(&id)
                .expect("resolved")
                .grants
                .retain(|g| g.grant_id != gid);
            Ok(json!({}))
        })
    }

    // ----- typed views -----

    pub(crate) fn key_info(cfg: &StoreConfig, st: &dyn View, rec: &KeyRecord) -> KeyInfo {
        let aliases = st
            .aliases()
            .iter()
            .filter(|(_, a)| a.target == rec.key_id)
            .map(|(n, _)| n.clone())
            .collect();
        KeyInfo {
            key_id: rec.key_id.clone(),
            arn: key_arn(cfg, &rec.key_id),
            account: cfg.account.clone(),
            state: rec.state,
            enabled: rec.state == KeyState::Enabled,
            manager: rec.manager,
            spec: rec.spec.clone(),
            usage: rec.usage.clone(),
            origin: rec.origin.clone(),
            description: rec.description.clone(),
            rotation_enabled: rec.rotation_enabled,
            rotation_period_days: rec
                .rotation_enabled
                .then(|| rec.rotation_period_days.unwrap_or(DEFAULT_ROTATION_DAYS)),
            next_rotation: rec.next_rotation,
            backing_versions: rec.versions.len() as u32,
            aliases,
            policy: Some(rec.policy.clone()),
            tags: rec.tags.clone(),
            created: rec.created,
            deletion_date: rec.deletion_date,
        }
    }

    /// Resolves a key id, key ARN, alias name or alias ARN (as the account root).
    pub(crate) fn resolve_ref(
        &self,
        key_ref: &str,
    ) -> Result<(std::sync::Arc<State>, String), KmsError> {
        let st = self.snapshot()?;
        let caller = super::Caller::local_admin(&st.config.account);
        let id = resolve(st.as_ref(), &caller, key_ref, true, self.now())?;
        Ok((st, id))
    }

    pub(crate) fn decide_for(
        &self,
        caller: &Caller,
        key_ref: &str,
        action: &str,
        ctx: Option<&EncryptionContext>,
    ) -> Result<bool, KmsError> {
        let (st, id) = self.resolve_ref(key_ref)?;
        let rec = st.key(&id).expect("resolved");
        Ok(decide(&st.config, rec, caller, action, ctx, &[])? == Decision::Allow)
    }

    pub(crate) fn typed_data_key(
        &self,
        caller: &Caller,
        key_ref: &str,
        ctx: &EncryptionContext,
        len: usize,
    ) -> Result<DataKey, KmsError> {
        if !(1..=1024).contains(&len) {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{len}' at 'numberOfBytes' failed to satisfy constraint: \
                 Member must have value between 1 and 1024"
            )));
        }
        let (plaintext, ciphertext_blob, id, _) =
            self.data_key_raw(caller, key_ref, ctx, len, "GenerateDataKey", None)?;
        Ok(DataKey {
            plaintext,
            ciphertext_blob,
            key_id: KeyId(id),
        })
    }
}

/// A grant's constraints are passed on only as strictly or more.
fn at_least_as_strict(child: &GrantConstraints, parent: &GrantConstraints) -> bool {
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

fn check_policy_name(inp: &Input<'_>) -> Result<(), KmsError> {
    match inp.opt_str("PolicyName")? {
        None | Some("default") => Ok(()),
        Some(other) => Err(KmsError::not_found(format!(
            "No such policy exists: {other:?} (a key has one policy, \"default\")"
        ))),
    }
}

/// AWS refuses a key policy that would stop its caller from changing it later.
fn lockout_check(cfg: &StoreConfig, rec: &KeyRecord, caller: &Caller) -> Result<(), KmsError> {
    let policy = rec.policy()?;
    let conds = conditions(caller, rec, None, &[]);
    let arn = key_arn(cfg, &rec.key_id);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> StoreConfig {
        StoreConfig {
            format: 1,
            store_id: "s".into(),
            region: "us-east-1".into(),
            account: "111122223333".into(),
            created: 0.0,
            verifier: super::super::model::Sealed {
                nonce: String::new(),
                data: String::new(),
            },
        }
    }

    #[test]
    fn key_references() {
        let c = cfg();
        let me = Caller::local_admin("111122223333");
        let other = Caller::local_admin("444455556666");
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let key = |r: &str, who: &Caller, alias: bool| parse_ref(&c, who, r, alias);
        assert!(matches!(key(id, &me, true), Ok(Ref::Key(k)) if k == id));
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
        assert!(matches!(key(&arn, &me, false), Ok(Ref::Key(k)) if k == id));
        assert!(matches!(key(&arn, &other, false), Ok(Ref::Key(_))));
        assert!(matches!(key("alias/x", &me, true), Ok(Ref::Alias(a)) if a == "alias/x"));
        assert!(key("alias/x", &me, false).is_err());
        assert!(key("alias/x", &other, true).is_err());
        assert!(key(id, &other, true).is_err());
        let aarn = "arn:aws:kms:us-east-1:111122223333:alias/x";
        assert!(matches!(key(aarn, &me, true), Ok(Ref::Alias(a)) if a == "alias/x"));
        assert!(key("arn:aws:kms:eu-west-1:111122223333:alias/x", &me, true).is_err());
        assert!(key("arn:aws:s3:::bucket", &me, true).is_err());
        assert_eq!(
            key("", &me, true).err().unwrap().kind,
            "ValidationException"
        );
        assert_eq!(
            aws_managed_alias("arn:aws:kms:us-east-1:111122223333:alias/aws/s3").as_deref(),
            Some("alias/aws/s3")
        );
        assert_eq!(aws_managed_alias("alias/aws/unknown"), None);
    }

    #[test]
    fn alias_names() {
        assert!(validate_alias_name("alias/app-1_x/y").is_ok());
        for (n, kind) in [
            ("app", "ValidationException"),
            ("alias/", "InvalidAliasNameException"),
            ("alias/aws/x", "NotAuthorizedException"),
            ("alias/a:b", "ValidationException"),
            ("alias/a b", "ValidationException"),
            ("alias/é", "ValidationException"),
        ] {
            assert_eq!(validate_alias_name(n).unwrap_err().kind, kind, "{n}");
        }
    }

    #[test]
    fn pagination() {
        let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let m = Map::new();
        let inp = Input(&m);
        let (page, next) = paginate(&inp, items.clone(), 2).unwrap();
        assert_eq!(page, vec![0, 1]);
        let mut m2 = Map::new();
        m2.insert("Marker".into(), json!(next.unwrap()));
        let (page, next) = paginate(&Input(&m2), items.clone(), 2).unwrap();
        assert_eq!(page, vec![2, 3]);
        m2.insert("Marker".into(), json!(next.unwrap()));
        let (page, next) = paginate(&Input(&m2), items, 2).unwrap();
        assert_eq!(page, vec![4]);
        assert!(next.is_none());
    }

    #[test]
    fn grant_constraint_strictness() {
        let ctx = |p: &[(&str, &str)]| -> EncryptionContext {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let sub = |p| GrantConstraints {
            encryption_context_subset: Some(ctx(p)),
            encryption_context_equals: None,
        };
        let eq = |p| GrantConstraints {
            encryption_context_subset: None,
            encryption_context_equals: Some(ctx(p)),
        };
        assert!(at_least_as_strict(
            &sub(&[("a", "1"), ("b", "2")]),
            &sub(&[("a", "1")])
        ));
        assert!(!at_least_as_strict(
            &sub(&[("b", "2")]),
            &sub(&[("a", "1")])
        ));
        assert!(at_least_as_strict(&eq(&[("a", "1")]), &sub(&[("a", "1")])));
        assert!(!at_least_as_strict(&sub(&[("a", "1")]), &eq(&[("a", "1")])));
        assert!(sub(&[("a", "1")]).allow(Some(&ctx(&[("a", "1"), ("b", "2")]))));
        assert!(!eq(&[("a", "1")]).allow(Some(&ctx(&[("a", "1"), ("b", "2")]))));
        assert!(!sub(&[("a", "1")]).allow(None));
    }
}
