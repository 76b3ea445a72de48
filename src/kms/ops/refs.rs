//! Key references: key ids, key ARNs, alias names and alias ARNs, and the
//! AWS managed keys that `alias/aws/SERVICE` names.

use crate::kms::error::KmsError;
use crate::kms::input::check_len;
use crate::kms::model::StoreConfig;
use crate::kms::store::View;
use crate::kms::Caller;

/// AWS managed keys that `alias/aws/SERVICE` names, made on first use:
/// (alias suffix, the service's `kms:ViaService` prefix).
pub(super) const AWS_MANAGED: &[(&str, &str)] = &[
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

pub(super) fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

pub(crate) fn key_arn(cfg: &StoreConfig, id: &str) -> String {
    format!("arn:aws:kms:{}:{}:key/{id}", cfg.region, cfg.account)
}

pub(super) fn alias_arn(cfg: &StoreConfig, name: &str) -> String {
    format!("arn:aws:kms:{}:{}:{name}", cfg.region, cfg.account)
}

pub(super) fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// What a key reference names.
pub(super) enum Ref {
    Key(String),
    Alias(String),
}

/// Parses a key id, key ARN, alias name or alias ARN.
pub(super) fn parse_ref(
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
pub(super) fn resolve(
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
pub(super) fn aws_managed_alias(r: &str) -> Option<String> {
    let name = match r.strip_prefix("arn:") {
        Some(_) => format!("alias/{}", r.split_once(":alias/")?.1),
        None => r.to_string(),
    };
    let svc = name.strip_prefix("alias/aws/")?;
    AWS_MANAGED.iter().any(|(s, _)| *s == svc).then_some(name)
}

pub(super) fn is_ref_to_alias(r: &str) -> bool {
    r.starts_with("alias/") || r.contains(":alias/")
}
