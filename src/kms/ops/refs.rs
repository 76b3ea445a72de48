//! Key references: key ids, key ARNs, alias names and alias ARNs, and the
//! AWS managed keys that `alias/aws/SERVICE` names.

use crate::kms::error::KmsError;
use crate::kms::input::check_len;
use crate::kms::model::{KeyRecord, StoreConfig};
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

pub(crate) fn key_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{id}")
}

/// The ARN of a stored key (in its own region).
pub(crate) fn rec_arn(cfg: &StoreConfig, rec: &KeyRecord) -> String {
    key_arn(&rec.region, &cfg.account, &rec.key_id)
}

pub(super) fn alias_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:{name}")
}

pub(super) fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// The region a request is served in: the caller's, else the home region.
pub(super) fn region_of<'a>(cfg: &'a StoreConfig, caller: &'a Caller) -> &'a str {
    caller.region.as_deref().unwrap_or(&cfg.region)
}

/// Whether `s` is shaped like a KMS key id: a UUID (`1234abcd-12ab-34cd-56ef-1234567890ab`)
/// or a multi-Region key id (`mrk-` and 32 hex digits).
pub(super) fn is_key_id_syntax(s: &str) -> bool {
    let hex = |t: &str| t.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(m) = s.strip_prefix("mrk-") {
        return m.len() == 32 && hex(m);
    }
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && hex(p))
}

/// What a key reference names, and the region its ARN names.
pub(super) enum Ref {
    Key {
        id: String,
        region: Option<String>,
    },
    Alias {
        name: String,
        region: Option<String>,
    },
}

/// Parses a key id, key ARN, alias name or alias ARN, as AWS words what it
/// refuses: `Invalid keyId '...'` for what is not a key id, `Invalid arn
/// REGION` for an ARN of another region than the request's.
pub(super) fn parse_ref(
    cfg: &StoreConfig,
    caller: &Caller,
    r: &str,
    allow_alias: bool,
) -> Result<Ref, KmsError> {
    check_len("KeyId", r.chars().count(), 1, 2048, Some(r))?;
    let cross = caller.account != cfg.account;
    let invalid = || KmsError::not_found(format!("Invalid keyId '{r}'"));
    if let Some(rest) = r.strip_prefix("arn:") {
        // arn:PARTITION:kms:REGION:ACCOUNT:key/ID | alias/NAME
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() != 5 || parts[1] != "kms" || !parts[0].starts_with("aws") {
            return Err(KmsError::not_found(format!("Invalid arn {r}")));
        }
        let (region, account, resource) = (parts[2], parts[3], parts[4]);
        if caller.region.as_deref().is_some_and(|want| want != region) {
            return Err(KmsError::not_found(format!("Invalid arn {region}")));
        }
        if let Some(id) = resource.strip_prefix("key/") {
            if !is_key_id_syntax(id) {
                return Err(KmsError::not_found(format!("Invalid keyId '{id}'")));
            }
            if account != cfg.account {
                return Err(KmsError::not_found(format!("Key '{r}' does not exist")));
            }
            return Ok(Ref::Key {
                id: id.to_string(),
                region: Some(region.to_string()),
            });
        }
        if resource.starts_with("alias/") && allow_alias {
            if account != cfg.account {
                return Err(KmsError::not_found(format!("Alias {r} is not found.")));
            }
            return Ok(Ref::Alias {
                name: resource.to_string(),
                region: Some(region.to_string()),
            });
        }
        return Err(invalid());
    }
    if r.starts_with("alias/") {
        if !allow_alias || cross {
            return Err(invalid());
        }
        return Ok(Ref::Alias {
            name: r.to_string(),
            region: None,
        });
    }
    if !is_key_id_syntax(r) {
        return Err(invalid());
    }
    if cross {
        // Another account's key must be named by its ARN.
        return Err(KmsError::not_found(format!(
            "Key '{}' does not exist",
            key_arn(region_of(cfg, caller), &caller.account, r)
        )));
    }
    Ok(Ref::Key {
        id: r.to_string(),
        region: None,
    })
}

/// `KMSInternalException` for a key whose stored record is damaged.
pub(super) fn damaged_key(arn: &str, detail: &str) -> KmsError {
    KmsError::internal(format!(
        "Key '{arn}' cannot be used: its record in the keystore is damaged or was altered"
    ))
    .with_detail(detail.to_string())
}

/// The id of the live key `r` names, in the request's region (any region for
/// an in-process caller naming a key by id or ARN).
pub(super) fn resolve(
    v: &dyn View,
    caller: &Caller,
    r: &str,
    allow_alias: bool,
    now: f64,
) -> Result<String, KmsError> {
    let cfg = v.config();
    let (id, region, by_arn) = match parse_ref(cfg, caller, r, allow_alias)? {
        Ref::Key { id, region } => {
            let by_arn = region.is_some();
            (id, region.or_else(|| caller.region.clone()), by_arn)
        }
        Ref::Alias { name, region } => {
            let region = region.unwrap_or_else(|| region_of(cfg, caller).to_string());
            match v.aliases(&region)?.get(&name) {
                Some(a) => (a.target.clone(), Some(region), false),
                None => {
                    return Err(KmsError::not_found(format!(
                        "Alias {} is not found.",
                        alias_arn(&region, &cfg.account, &name)
                    )))
                }
            }
        }
    };
    let shown_region = region.as_deref().unwrap_or(&cfg.region);
    let missing = || {
        let arn = if by_arn {
            r.to_string()
        } else {
            key_arn(shown_region, &cfg.account, &id)
        };
        KmsError::not_found(format!("Key '{arn}' does not exist"))
    };
    match v.key(&id) {
        Some(k) if k.is_deleted(now) => Err(missing()),
        Some(k) if region.as_deref().is_some_and(|want| want != k.region) => Err(missing()),
        Some(_) => Ok(id),
        None => match v.damage(&id) {
            Some(d) => Err(damaged_key(&key_arn(shown_region, &cfg.account, &id), d)),
            None => Err(missing()),
        },
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

/// The region an `alias/aws/...` reference provisions its key in.
pub(super) fn aws_managed_region(cfg: &StoreConfig, caller: &Caller, r: &str) -> String {
    if let Some(rest) = r.strip_prefix("arn:") {
        if let Some(region) = rest.split(':').nth(2) {
            return region.to_string();
        }
    }
    region_of(cfg, caller).to_string()
}

pub(super) fn is_ref_to_alias(r: &str) -> bool {
    r.starts_with("alias/") || r.contains(":alias/")
}
