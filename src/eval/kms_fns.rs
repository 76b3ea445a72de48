//! `kms.key`, `kms.allows`, `kms.decrypts` and `kms.sample`: the policy side of the
//! built-in KMS. A key is looked up in the template first (a `Ref`/`GetAtt` to an
//! `AWS::KMS::Key`, an alias defined in the template), then in the keystore given
//! with `--keystore`; AWS managed aliases (`alias/aws/...`) are known without one.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::context::{scalar_text, Ctx};
use super::engines::{Decryption, KeyView};
use super::value::{It, V};
use crate::doc::{Entry, Node, Pos, Source, Value};

fn text(s: &str, pos: Pos) -> Value {
    Value::new(Node::Str(s.to_string()), pos)
}

fn entry(key: &str, value: Value) -> Entry {
    let pos = value.pos;
    Entry {
        key: key.to_string(),
        key_pos: pos,
        value,
    }
}

/// A key view as a map value: what `kms.key(...)` returns.
fn key_map(k: &KeyView, source: &str, pos: Pos) -> It<'static> {
    let aliases = k.aliases.iter().map(|a| text(a, pos)).collect();
    let map = Value::new(
        Node::Map(vec![
            entry("exists", Value::new(Node::Bool(true), pos)),
            entry("id", text(&k.id, pos)),
            entry("arn", text(&k.arn, pos)),
            entry("state", text(&k.state, pos)),
            entry("manager", text(&k.manager, pos)),
            entry("spec", text(&k.spec, pos)),
            entry("usage", text(&k.usage, pos)),
            entry("origin", text(&k.origin, pos)),
            entry("rotation", Value::new(Node::Bool(k.rotation_enabled), pos)),
            entry("aliases", Value::new(Node::Seq(aliases), pos)),
            entry("source", text(source, pos)),
        ]),
        pos,
    );
    It::new(V::Owned(Rc::new(map)), pos)
}

fn missing_key(key_ref: &str, pos: Pos) -> It<'static> {
    let map = Value::new(
        Node::Map(vec![
            entry("exists", Value::new(Node::Bool(false), pos)),
            entry("id", text(key_ref, pos)),
            entry("state", text("NotFound", pos)),
        ]),
        pos,
    );
    It::new(V::Owned(Rc::new(map)), pos)
}

/// The view of a key defined in the template (CloudFormation or Terraform).
fn template_key<'d>(ctx: &Ctx<'d>, idx: usize, pos: Pos) -> It<'d> {
    let r = &ctx.tpl.resources[idx];
    let prop = |cfn: &str, tf: &str| -> Option<It<'d>> {
        let name = if r.source == Source::Terraform {
            tf
        } else {
            cfn
        };
        let v = r.props.as_ref()?.get(name)?;
        Some(ctx.resolve_doc(v, v.pos))
    };
    let flag = |cfn: &str, tf: &str, default: bool| -> Result<bool, It<'d>> {
        match prop(cfn, tf).map(|i| i.v) {
            None | Some(V::Null) | Some(V::Missing) => Ok(default),
            Some(V::Bool(b)) => Ok(b),
            Some(V::Str(s)) => Ok(s.eq_ignore_ascii_case("true")),
            Some(V::Unknown { reason, .. }) => Err(It::unknown(reason, pos)),
            Some(_) => Ok(default),
        }
    };
    let word = |cfn: &str, tf: &str, default: &str| -> Result<String, It<'d>> {
        match prop(cfn, tf).map(|i| i.v) {
            None | Some(V::Null) | Some(V::Missing) => Ok(default.to_string()),
            Some(V::Unknown { reason, .. }) => Err(It::unknown(reason, pos)),
            Some(v) => Ok(scalar_text(&v).unwrap_or_else(|| default.to_string())),
        }
    };
    let view = (|| -> Result<KeyView, It<'d>> {
        let enabled = flag("Enabled", "is_enabled", true)?;
        Ok(KeyView {
            id: r.id.clone(),
            arn: String::new(),
            state: if enabled { "Enabled" } else { "Disabled" }.to_string(),
            manager: "CUSTOMER".to_string(),
            spec: word("KeySpec", "customer_master_key_spec", "SYMMETRIC_DEFAULT")?,
            usage: word("KeyUsage", "key_usage", "ENCRYPT_DECRYPT")?,
            origin: word("Origin", "origin", "AWS_KMS")?,
            rotation_enabled: flag("EnableKeyRotation", "enable_key_rotation", false)?,
            aliases: Vec::new(),
        })
    })();
    match view {
        Ok(k) => key_map(&k, "template", pos),
        Err(u) => u,
    }
}

/// `alias/aws/ebs` and its ARN form name keys AWS manages for the account.
fn aws_managed(key_ref: &str) -> Option<KeyView> {
    let alias = key_ref
        .rsplit_once(":alias/aws/")
        .map(|(_, name)| format!("alias/aws/{name}"))
        .or_else(|| {
            key_ref
                .starts_with("alias/aws/")
                .then(|| key_ref.to_string())
        })?;
    Some(KeyView {
        id: alias.clone(),
        arn: String::new(),
        state: "Enabled".into(),
        manager: "AWS".into(),
        spec: "SYMMETRIC_DEFAULT".into(),
        usage: "ENCRYPT_DECRYPT".into(),
        origin: "AWS_KMS".into(),
        // AWS rotates AWS managed keys every year.
        rotation_enabled: true,
        aliases: vec![alias],
    })
}

/// The alias resource of the template named `name` (`alias/...`).
fn template_alias(ctx: &Ctx<'_>, name: &str) -> Option<usize> {
    ctx.tpl.resources.iter().enumerate().find_map(|(i, r)| {
        matches!(r.rtype.as_str(), "AWS::KMS::Alias" | "aws_kms_alias")
            .then(|| alias_name(ctx, i))
            .filter(|n| n == name)
            .map(|_| i)
    })
}

/// An alias chain longer than this is treated as a cycle: AWS aliases point at
/// keys, never at other aliases, so a real chain has at most a couple of links.
const MAX_ALIAS_HOPS: usize = 16;

/// The key a value names. Aliases are followed iteratively with cycle
/// detection: an alias that (through others) targets itself names no key.
pub fn key<'d>(ctx: &Ctx<'d>, arg: &It<'d>, pos: Pos) -> It<'d> {
    let mut cur = arg.clone();
    // Alias resources visited, in order, for cycle detection and the message.
    let mut chain: Vec<usize> = Vec::new();
    loop {
        if chain.len() > MAX_ALIAS_HOPS {
            return alias_cycle(ctx, &chain, pos);
        }
        let alias = match cur.resource() {
            Some(i) => {
                let r = &ctx.tpl.resources[i];
                match r.rtype.as_str() {
                    "AWS::KMS::Key"
                    | "aws_kms_key"
                    | "AWS::KMS::ReplicaKey"
                    | "aws_kms_replica_key" => return template_key(ctx, i, pos),
                    "AWS::KMS::Alias" | "aws_kms_alias" => i,
                    other => {
                        return It::unknown(format!("{} is a {other}, not a KMS key", r.id), pos)
                    }
                }
            }
            None => match &cur.v {
                V::Str(s) => {
                    if let Some(k) = aws_managed(s) {
                        return key_map(&k, "aws-managed", pos);
                    }
                    match s
                        .starts_with("alias/")
                        .then(|| template_alias(ctx, s))
                        .flatten()
                    {
                        Some(i) => i,
                        None => return keystore_key(ctx, s, pos),
                    }
                }
                V::Unknown { .. } => return cur,
                V::Missing | V::Null => return It::missing(arg.pos),
                _ => {
                    return It::unknown(
                        "kms.key needs a key id, ARN, alias or a reference to a key",
                        pos,
                    )
                }
            },
        };
        let seen = chain.contains(&alias);
        chain.push(alias);
        if seen {
            return alias_cycle(ctx, &chain, pos);
        }
        match alias_target(ctx, alias) {
            Some(t) => cur = t,
            None => {
                let id = &ctx.tpl.resources[alias].id;
                return It::unknown(format!("alias {id} has no target key"), pos);
            }
        }
    }
}

fn alias_cycle<'d>(ctx: &Ctx<'d>, chain: &[usize], pos: Pos) -> It<'d> {
    let names: Vec<String> = chain.iter().map(|&i| alias_name(ctx, i)).collect();
    It::unknown(
        format!(
            "the KMS aliases form a cycle ({}) and name no key",
            names.join(" → ")
        ),
        pos,
    )
}

/// An alias resource's name (`alias/...`), or its id when the name is not known.
fn alias_name(ctx: &Ctx<'_>, idx: usize) -> String {
    let r = &ctx.tpl.resources[idx];
    let prop = if r.rtype == "aws_kms_alias" {
        "name"
    } else {
        "AliasName"
    };
    r.props
        .as_ref()
        .and_then(|p| p.get(prop))
        .and_then(|v| scalar_text(&ctx.resolve_doc(v, v.pos).v))
        .unwrap_or_else(|| r.id.clone())
}

/// The value an alias resource's target key property holds.
fn alias_target<'d>(ctx: &Ctx<'d>, idx: usize) -> Option<It<'d>> {
    let r = &ctx.tpl.resources[idx];
    let prop = if r.rtype == "aws_kms_alias" {
        "target_key_id"
    } else {
        "TargetKeyId"
    };
    let t = r.props.as_ref()?.get(prop)?;
    Some(ctx.resolve_doc(t, t.pos))
}

fn keystore_key<'d>(ctx: &Ctx<'d>, s: &str, pos: Pos) -> It<'d> {
    match &ctx.params.engines.keys {
        Some(dir) => match dir.describe(s) {
            Ok(Some(k)) => key_map(&k, "keystore", pos),
            Ok(None) => missing_key(s, pos),
            Err(e) => It::unknown(format!("the keystore could not be read: {e}"), pos),
        },
        None => It::unknown(
            format!("key {s} is not defined in this template; give --keystore to check it"),
            pos,
        ),
    }
}

/// `kms.allows` for a key defined in the template: its KeyPolicy (CloudFormation)
/// or policy (Terraform) evaluated with AWS semantics; no policy means the default
/// key policy, which trusts the account.
fn template_allows<'d>(
    ctx: &Ctx<'d>,
    idx: usize,
    principal: &str,
    action: &str,
    pos: Pos,
) -> It<'d> {
    let r = &ctx.tpl.resources[idx];
    let (name, is_tf) = match r.rtype.as_str() {
        "AWS::KMS::Key" | "AWS::KMS::ReplicaKey" => ("KeyPolicy", false),
        "aws_kms_key" | "aws_kms_replica_key" => ("policy", true),
        other => return It::unknown(format!("{} is a {other}, not a KMS key", r.id), pos),
    };
    let account = crate::kms::policy::arn_account(principal)
        .map(str::to_string)
        .unwrap_or_else(|| principal.to_string());
    // Without a key policy the key gets the default one, which trusts the key's own
    // account: known only from --param AWS::AccountId.
    let default = || {
        match ctx.params.values.get("AWS::AccountId") {
        Some(key_account) => Ok(crate::kms::policy::default_policy(key_account)),
        None => Err(It::unknown(
            "the default key policy trusts the key's account, known only at deploy time (set --param AWS::AccountId=...)",
            pos,
        )),
    }
    };
    let doc = match r.props.as_ref().and_then(|p| p.get(name)) {
        None => match default() {
            Ok(d) => d,
            Err(u) => return u,
        },
        Some(v) => {
            let it = ctx.resolve_doc(v, v.pos);
            match (&it.v, is_tf) {
                (V::Str(s), _) => s.to_string(),
                (V::Unknown { unset: true, .. }, true) => match default() {
                    Ok(d) => d,
                    Err(u) => return u,
                },
                _ => match super::context::to_json(ctx, &it, 0) {
                    Ok(j) => j.to_string(),
                    Err(reason) => return It::unknown(reason, pos),
                },
            }
        }
    };
    let policy = match crate::kms::policy::KeyPolicy::parse(&doc) {
        Ok(p) => p,
        Err(e) => return It::unknown(format!("the key policy of {} is not valid: {e}", r.id), pos),
    };
    let action = if action.contains(':') {
        action.to_string()
    } else {
        format!("kms:{action}")
    };
    let conditions = std::collections::BTreeMap::new();
    let decision = policy.evaluate(&crate::kms::policy::Request {
        principal,
        account: &account,
        action: &action,
        resource: "*",
        conditions: &conditions,
    });
    It::new(
        V::Bool(decision == crate::kms::policy::Decision::Allow),
        pos,
    )
}

pub fn allows<'d>(ctx: &Ctx<'d>, args: &[It<'d>], pos: Pos) -> It<'d> {
    if let Some(i) = args[0].resource() {
        let (Some(principal), Some(action)) = (scalar_text(&args[1].v), scalar_text(&args[2].v))
        else {
            return It::unknown("kms.allows needs a principal and an action", pos);
        };
        let r = &ctx.tpl.resources[i];
        if matches!(r.rtype.as_str(), "AWS::KMS::Alias" | "aws_kms_alias") {
            let target = if r.rtype == "aws_kms_alias" {
                "target_key_id"
            } else {
                "TargetKeyId"
            };
            if let Some(t) = r.props.as_ref().and_then(|p| p.get(target)) {
                let t = ctx.resolve_doc(t, t.pos);
                if let Some(j) = t.resource() {
                    if j != i {
                        return template_allows(ctx, j, &principal, &action, pos);
                    }
                }
            }
            return It::unknown(
                format!("alias {} does not name a key of the template", r.id),
                pos,
            );
        }
        return template_allows(ctx, i, &principal, &action, pos);
    }
    let (Some(key_ref), Some(principal), Some(action)) = (
        scalar_text(&args[0].v),
        scalar_text(&args[1].v),
        scalar_text(&args[2].v),
    ) else {
        return It::unknown(
            "kms.allows needs a key id, ARN or alias string, a principal and an action",
            pos,
        );
    };
    match &ctx.params.engines.keys {
        Some(dir) => match dir.allows(&key_ref, &principal, &action) {
            Ok(b) => It::new(V::Bool(b), pos),
            Err(e) => It::unknown(e, pos),
        },
        None => It::unknown("kms.allows needs --keystore", pos),
    }
}

fn context_map(v: &It<'_>) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match &v.v {
        V::Missing | V::Null => {}
        V::Map(entries) => {
            for e in *entries {
                out.insert(e.key.clone(), e.value.as_str()?.to_string());
            }
        }
        V::Owned(o) => {
            for e in o.as_map()? {
                out.insert(e.key.clone(), e.value.as_str()?.to_string());
            }
        }
        _ => return None,
    }
    Some(out)
}

pub fn decrypts<'d>(ctx: &Ctx<'d>, args: &[It<'d>], pos: Pos) -> It<'d> {
    let Some(file) = scalar_text(&args[0].v) else {
        return It::unknown("kms.decrypts needs the sample's file", pos);
    };
    let Some(key_ref) = scalar_text(&args[1].v) else {
        return It::unknown("kms.decrypts needs a key id, ARN or alias (a template key's material is not in a keystore)", pos);
    };
    let Some(context) = context_map(&args[2]) else {
        return It::unknown("the encryption context must be a map of strings", pos);
    };
    let Some(dir) = &ctx.params.engines.keys else {
        return It::unknown("kms.decrypts needs --keystore", pos);
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => return It::unknown(format!("sample {file} cannot be read: {e}"), pos),
    };
    match dir.decrypts(&bytes, &key_ref, &context) {
        Ok(Decryption::Decrypts) => It::new(V::Bool(true), pos),
        Ok(Decryption::Fails(_)) => It::new(V::Bool(false), pos),
        Err(e) => It::unknown(e, pos),
    }
}

/// The manifest entry for a resource's data sample.
pub fn sample<'d>(ctx: &Ctx<'d>, arg: &It<'d>, pos: Pos) -> It<'d> {
    let Some(i) = arg.resource() else {
        return It::missing(pos);
    };
    let r = &ctx.tpl.resources[i];
    let Some(s) = ctx
        .params
        .engines
        .samples
        .iter()
        .find(|s| crate::suppress::glob_match(&s.resource, &r.id))
    else {
        return It::missing(pos);
    };
    let context = s
        .context
        .iter()
        .map(|(k, v)| entry(k, text(v, pos)))
        .collect();
    let map = Value::new(
        Node::Map(vec![
            entry("file", text(&s.file.to_string_lossy(), pos)),
            entry("key", text(&s.key, pos)),
            entry("context", Value::new(Node::Map(context), pos)),
        ]),
        pos,
    );
    It::new(V::Owned(Rc::new(map)), pos)
}
