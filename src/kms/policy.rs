//! Key policies: parsing (with `MalformedPolicyDocumentException` for what AWS
//! rejects) and evaluation with IAM semantics — an explicit `Deny` wins, then
//! any `Allow`, else the request is implicitly denied.
//!
//! What is supported:
//! - `Effect` `Allow`/`Deny`; `Principal` / `NotPrincipal` as `"*"` or a map of
//!   `AWS` (ARN, 12-digit account id, `arn:aws:iam::ACCOUNT:root`, or `"*"`),
//!   `Service`, `Federated`, `CanonicalUser`, each a string or a list;
//! - `Action` / `NotAction` with `*` and `?` wildcards, case-insensitive
//!   (`kms:*`, `kms:Encrypt*`); `Resource` / `NotResource` with wildcards
//!   against the key ARN;
//! - `Condition` operators `String{Equals,NotEquals,EqualsIgnoreCase,
//!   NotEqualsIgnoreCase,Like,NotLike}`, `Arn{Equals,NotEquals,Like,NotLike}`,
//!   `Numeric*`, `Bool`, `Null`, each optionally `...IfExists` and prefixed by
//!   `ForAnyValue:` / `ForAllValues:`; condition keys are case-insensitive.
//!
//! Principals of an account: the key policy is the only policy here (there are
//! no IAM policies), so a statement whose principal is an account
//! (`arn:aws:iam::111122223333:root` or `111122223333`) matches *every*
//! principal of that account — as if each had an IAM policy allowing what the
//! key policy delegates to the account. A principal ARN matches itself; an
//! assumed-role session `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`
//! also matches `arn:aws:iam::ACCOUNT:role/ROLE` (with any role path).

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::KmsError;

/// AWS's limit on the size of a key policy document.
pub const MAX_POLICY_BYTES: usize = 32 * 1024;

/// The default key policy of `CreateKey`: the account (and so, here, every
/// principal of the account) may do everything.
pub fn default_policy(account: &str) -> String {
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {{
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "arn:aws:iam::{account}:root"
    }},
    "Action" : "kms:*",
    "Resource" : "*"
  }} ]
}}"#
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// The outcome of evaluating a policy for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows it and none denies it.
    Allow,
    /// A statement explicitly denies it.
    Deny,
    /// No statement applies.
    NotAllowed,
}

#[derive(Debug, Clone)]
enum Principals {
    Any,
    /// (type, values), e.g. ("AWS", ["arn:aws:iam::1:root"]).
    Typed(Vec<(String, Vec<String>)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    Bool,
    Null,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "StringEquals" | "ArnEquals" => Op::StringEquals,
            "StringNotEquals" | "ArnNotEquals" => Op::StringNotEquals,
            "StringEqualsIgnoreCase" => Op::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Op::StringNotEqualsIgnoreCase,
            "StringLike" | "ArnLike" => Op::StringLike,
            "StringNotLike" | "ArnNotLike" => Op::StringNotLike,
            "NumericEquals" => Op::NumericEquals,
            "NumericNotEquals" => Op::NumericNotEquals,
            "NumericLessThan" => Op::NumericLessThan,
            "NumericLessThanEquals" => Op::NumericLessThanEquals,
            "NumericGreaterThan" => Op::NumericGreaterThan,
            "NumericGreaterThanEquals" => Op::NumericGreaterThanEquals,
            "Bool" => Op::Bool,
            "Null" => Op::Null,
            _ => return None,
        })
    }

    /// The negated operators: true when no value matches.
    fn negated(self) -> bool {
        matches!(
            self,
            Op::StringNotEquals
                | Op::StringNotEqualsIgnoreCase
                | Op::StringNotLike
                | Op::NumericNotEquals
        )
    }

    /// The positive test behind the operator (for negated ones, their opposite).
    fn matches(self, request: &str, policy: &str) -> bool {
        match self {
            Op::StringEquals | Op::StringNotEquals => request == policy,
            Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => {
                request.eq_ignore_ascii_case(policy)
                    || request.to_lowercase() == policy.to_lowercase()
            }
            Op::StringLike | Op::StringNotLike => glob(policy, request, false),
            Op::Bool => request.eq_ignore_ascii_case(policy),
            Op::Null => false,
            _ => {
                let (Ok(r), Ok(p)) = (request.trim().parse::<f64>(), policy.trim().parse::<f64>())
                else {
                    return false;
                };
                match self {
                    Op::NumericEquals | Op::NumericNotEquals => r == p,
                    Op::NumericLessThan => r < p,
                    Op::NumericLessThanEquals => r <= p,
                    Op::NumericGreaterThan => r > p,
                    _ => r >= p,
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone)]
struct Condition {
    op: Op,
    qualifier: SetQualifier,
    if_exists: bool,
    /// Lower-cased.
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    principal: Option<Principals>,
    not_principal: Option<Principals>,
    action: Option<Vec<String>>,
    not_action: Option<Vec<String>>,
    resource: Option<Vec<String>>,
    not_resource: Option<Vec<String>>,
    conditions: Vec<Condition>,
}

/// A parsed key policy.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    statements: Vec<Statement>,
}

/// One request, as a policy sees it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The caller's ARN (or a service principal such as `cloudtrail.amazonaws.com`).
    pub principal: &'a str,
    /// The caller's account id.
    pub account: &'a str,
    /// `kms:Encrypt`, ...
    pub action: &'a str,
    /// The key ARN.
    pub resource: &'a str,
    /// Condition keys (lower-cased) and their values; a key with several values
    /// (e.g. `kms:encryptioncontextkeys`) is multi-valued.
    pub conditions: &'a BTreeMap<String, Vec<String>>,
}

fn malformed(m: impl Into<String>) -> KmsError {
    KmsError::malformed_policy(m)
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, KmsError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                _ => Err(malformed(format!(
                    "{what} must be a string or a list of strings"
                ))),
            })
            .collect(),
        _ => Err(malformed(format!(
            "{what} must be a string or a non-empty list of strings"
        ))),
    }
}

fn condition_values(v: &Value) -> Result<Vec<String>, KmsError> {
    fn one(x: &Value) -> Result<String, KmsError> {
        match x {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(malformed(
                "condition values must be strings, numbers, booleans, or lists of them",
            )),
        }
    }
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        x => Ok(vec![one(x)?]),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_principals(v: &Value) -> Result<Principals, KmsError> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals::Any),
        Value::Object(m) if !m.is_empty() => {
            let mut out = Vec::new();
            for (ty, vals) in m {
                let vals = strings(vals, "a principal")?;
                match ty.as_str() {
                    "AWS" => {
                        for p in &vals {
                            let ok = p == "*"
                                || is_account_id(p)
                                || p.starts_with("arn:aws:iam::")
                                || p.starts_with("arn:aws:sts::");
                            if !ok {
                                return Err(malformed(format!(
                                    "Policy contains a statement with one or more invalid principals: {p}"
                                )));
                            }
                        }
                    }
                    "Service" | "Federated" | "CanonicalUser" => {}
                    other => {
                        return Err(malformed(format!(
                            "Policy contains a statement with an unknown principal type {other}"
                        )))
                    }
                }
                out.push((ty.clone(), vals));
            }
            Ok(Principals::Typed(out))
        }
        _ => Err(malformed(
            "Principal must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::111122223333:root\"}",
        )),
    }
}

fn parse_conditions(v: &Value) -> Result<Vec<Condition>, KmsError> {
    let Value::Object(ops) = v else {
        return Err(malformed("Condition must be an object"));
    };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let (qualifier, rest) = if let Some(r) = op_name.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = op_name.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::None, op_name.as_str())
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(b) if b != "Null" => (true, b),
            _ => (false, rest),
        };
        let op = Op::parse(base).ok_or_else(|| {
            malformed(format!(
                "Policy contains an unsupported condition operator {op_name}"
            ))
        })?;
        let Value::Object(keys) = keys else {
            return Err(malformed(format!(
                "the {op_name} condition must be an object"
            )));
        };
        for (key, vals) in keys {
            out.push(Condition {
                op,
                qualifier,
                if_exists,
                key: key.to_lowercase(),
                values: condition_values(vals)?,
            });
        }
    }
    Ok(out)
}

impl KeyPolicy {
    /// Parses a key policy document; `MalformedPolicyDocumentException` when AWS
    /// would reject it.
    pub fn parse(doc: &str) -> Result<KeyPolicy, KmsError> {
        let v: Value = serde_json::from_str(doc)
            .map_err(|e| malformed(format!("the key policy is not valid JSON: {e}")))?;
        let Value::Object(top) = &v else {
            return Err(malformed("the key policy must be a JSON object"));
        };
        if let Some(ver) = top.get("Version") {
            if !matches!(ver.as_str(), Some("2012-10-17") | Some("2008-10-17")) {
                return Err(malformed(
                    "Version must be \"2012-10-17\" or \"2008-10-17\"",
                ));
            }
        }
        let stmts = match top.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => return Err(malformed("the key policy has no Statement")),
        };
        let mut statements = Vec::new();
        for s in &stmts {
            let Value::Object(m) = s else {
                return Err(malformed("each Statement must be an object"));
            };
            for k in m.keys() {
                if !matches!(
                    k.as_str(),
                    "Sid"
                        | "Effect"
                        | "Principal"
                        | "NotPrincipal"
                        | "Action"
                        | "NotAction"
                        | "Resource"
                        | "NotResource"
                        | "Condition"
                ) {
                    return Err(malformed(format!("Statement has an unknown field {k}")));
                }
            }
            let effect = match m.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => {
                    return Err(malformed(
                        "each Statement needs Effect \"Allow\" or \"Deny\"",
                    ))
                }
            };
            let principal = m.get("Principal").map(parse_principals).transpose()?;
            let not_principal = m.get("NotPrincipal").map(parse_principals).transpose()?;
            if principal.is_some() == not_principal.is_some() {
                return Err(malformed(
                    "each Statement of a key policy needs exactly one of Principal and NotPrincipal",
                ));
            }
            let action = m.get("Action").map(|v| strings(v, "Action")).transpose()?;
            let not_action = m
                .get("NotAction")
                .map(|v| strings(v, "NotAction"))
                .transpose()?;
            if action.is_some() == not_action.is_some() {
                return Err(malformed(
                    "each Statement needs exactly one of Action and NotAction",
                ));
            }
            for a in action.iter().chain(not_action.iter()).flatten() {
                if a != "*" && !a.to_ascii_lowercase().starts_with("kms:") {
                    return Err(malformed(format!(
                        "Policy contains an action that is not a KMS action: {a}"
                    )));
                }
            }
            let resource = m
                .get("Resource")
                .map(|v| strings(v, "Resource"))
                .transpose()?;
            let not_resource = m
                .get("NotResource")
                .map(|v| strings(v, "NotResource"))
                .transpose()?;
            if resource.is_some() == not_resource.is_some() {
                return Err(malformed(
                    "each Statement needs exactly one of Resource and NotResource",
                ));
            }
            let conditions = m.get("Condition").map(parse_conditions).transpose()?;
            statements.push(Statement {
                sid: m.get("Sid").and_then(Value::as_str).map(str::to_string),
                effect,
                principal,
                not_principal,
                action,
                not_action,
                resource,
                not_resource,
                conditions: conditions.unwrap_or_default(),
            });
        }
        Ok(KeyPolicy { statements })
    }

    /// Evaluates the policy for one request: explicit deny wins, then allow.
    pub fn evaluate(&self, req: &Request<'_>) -> Decision {
        let mut allowed = false;
        for s in &self.statements {
            if s.applies(req) {
                match s.effect {
                    Effect::Deny => return Decision::Deny,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotAllowed
        }
    }

    /// The `Sid`s (or `#index`) of `Allow` statements open to any principal
    /// (`"*"` or `{"AWS": "*"}`) without a `Condition`.
    pub fn unconditional_public_allows(&self) -> Vec<String> {
        self.statements
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.effect == Effect::Allow
                    && s.conditions.is_empty()
                    && match &s.principal {
                        Some(Principals::Any) => true,
                        Some(Principals::Typed(t)) => t
                            .iter()
                            .any(|(ty, v)| ty == "AWS" && v.iter().any(|p| p == "*")),
                        None => true,
                    }
            })
            .map(|(i, s)| s.sid.clone().unwrap_or_else(|| format!("#{i}")))
            .collect()
    }
}

impl Statement {
    fn applies(&self, req: &Request<'_>) -> bool {
        let principal_ok = match (&self.principal, &self.not_principal) {
            (Some(p), _) => principal_matches(p, req),
            (None, Some(np)) => !principal_matches(np, req),
            (None, None) => false,
        };
        if !principal_ok {
            return false;
        }
        let action_ok = match (&self.action, &self.not_action) {
            (Some(a), _) => a.iter().any(|p| glob(p, req.action, true)),
            (None, Some(na)) => !na.iter().any(|p| glob(p, req.action, true)),
            (None, None) => false,
        };
        if !action_ok {
            return false;
        }
        let resource_ok = match (&self.resource, &self.not_resource) {
            (Some(r), _) => r.iter().any(|p| glob(p, req.resource, false)),
            (None, Some(nr)) => !nr.iter().any(|p| glob(p, req.resource, false)),
            (None, None) => false,
        };
        resource_ok && self.conditions.iter().all(|c| c.holds(req.conditions))
    }
}

impl Condition {
    fn holds(&self, ctx: &BTreeMap<String, Vec<String>>) -> bool {
        let present = ctx.get(&self.key);
        if self.op == Op::Null {
            let absent = present.is_none_or(|v| v.is_empty());
            return self
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") == absent);
        }
        let vals = match present {
            Some(v) if !v.is_empty() => v,
            _ => {
                return self.if_exists
                    || self.qualifier == SetQualifier::ForAllValues
                    || (self.op.negated() && self.qualifier == SetQualifier::None)
            }
        };
        let any_policy = |r: &str| self.values.iter().any(|p| self.op.matches(r, p));
        let neg = self.op.negated();
        match self.qualifier {
            SetQualifier::ForAllValues => vals.iter().all(|r| any_policy(r) != neg),
            SetQualifier::ForAnyValue => vals.iter().any(|r| any_policy(r) != neg),
            SetQualifier::None => {
                let any = vals.iter().any(|r| any_policy(r));
                any != neg
            }
        }
    }
}

/// The account of an IAM/STS ARN (`arn:aws:iam::ACCOUNT:...`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(svc), Some(_), Some(acct)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!svc.is_empty() && is_account_id(acct)).then_some(acct)
}

fn principal_matches(p: &Principals, req: &Request<'_>) -> bool {
    let Principals::Typed(list) = p else {
        return true;
    };
    list.iter().any(|(ty, vals)| {
        vals.iter().any(|v| match ty.as_str() {
            "AWS" => aws_principal_matches(v, req),
            _ => v == req.principal,
        })
    })
}

fn aws_principal_matches(spec: &str, req: &Request<'_>) -> bool {
    principal_spec_matches(spec, req.principal, req.account)
}

/// Whether `spec` (as in `{"AWS": spec}`, or a grantee principal) names a caller
/// with this principal ARN and account; other strings (service principals)
/// match only themselves.
pub fn principal_spec_matches(spec: &str, principal: &str, account: &str) -> bool {
    let req = Request {
        principal,
        account,
        action: "",
        resource: "",
        conditions: &BTreeMap::new(),
    };
    if spec == "*" {
        return true;
    }
    if is_account_id(spec) {
        return req.account == spec;
    }
    if let Some(acct) = spec
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.strip_suffix(":root"))
    {
        return req.account == acct;
    }
    if spec == req.principal {
        return true;
    }
    // An assumed-role session matches its role (whatever the role's path).
    if let (Some(role_rest), Some(sess_rest)) = (
        spec.strip_prefix("arn:aws:iam::"),
        req.principal.strip_prefix("arn:aws:sts::"),
    ) {
        if let (Some((ra, role)), Some((sa, sess))) = (
            role_rest.split_once(":role/"),
            sess_rest.split_once(":assumed-role/"),
        ) {
            let role_name = role.rsplit('/').next().unwrap_or(role);
            let sess_role = sess.split('/').next().unwrap_or("");
            return ra == sa && role_name == sess_role;
        }
    }
    false
}

/// IAM wildcard matching: `*` any run, `?` any one character.
pub fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/k";

    fn req<'a>(
        principal: &'a str,
        action: &'a str,
        conds: &'a BTreeMap<String, Vec<String>>,
    ) -> Request<'a> {
        Request {
            principal,
            account: arn_account(principal).unwrap_or("111122223333"),
            action,
            resource: ARN,
            conditions: conds,
        }
    }

    fn conds(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_lowercase(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn glob_matching() {
        assert!(glob("kms:*", "kms:Encrypt", true));
        assert!(glob("KMS:encrypt*", "kms:EncryptX", true));
        assert!(!glob("kms:Encrypt*", "kms:Decrypt", true));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "ac", false));
        assert!(glob("*", "", false));
        assert!(glob("arn:aws:kms:*:111122223333:key/*", ARN, false));
    }

    #[test]
    fn default_policy_allows_account_principals_only() {
        let p = KeyPolicy::parse(&default_policy("111122223333")).unwrap();
        let c = conds(&[]);
        assert_eq!(
            p.evaluate(&req(
                "arn:aws:iam::111122223333:user/alice",
                "kms:Encrypt",
                &c
            )),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(&req(
                "arn:aws:iam::444455556666:user/bob",
                "kms:Encrypt",
                &c
            )),
            Decision::NotAllowed
        );
    }

    #[test]
    fn deny_wins_and_conditions() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":"*","Action":["kms:Decrypt"],"Resource":"*",
           "Condition":{"StringNotEquals":{"kms:EncryptionContext:dept":"finance"}}}]}"#;
        let p = KeyPolicy::parse(doc).unwrap();
        let alice = "arn:aws:iam::111122223333:user/alice";
        let ok = conds(&[("kms:EncryptionContext:dept", &["finance"])]);
        let bad = conds(&[("kms:EncryptionContext:dept", &["hr"])]);
        let none = conds(&[]);
        assert_eq!(p.evaluate(&req(alice, "kms:Decrypt", &ok)), Decision::Allow);
        assert_eq!(p.evaluate(&req(alice, "kms:Decrypt", &bad)), Decision::Deny);
        // A negated operator holds when the key is absent: denied.
        assert_eq!(
            p.evaluate(&req(alice, "kms:Decrypt", &none)),
            Decision::Deny
        );
        assert_eq!(
            p.evaluate(&req(alice, "kms:Encrypt", &bad)),
            Decision::Allow
        );
        assert_eq!(p.unconditional_public_allows(), vec!["#0".to_string()]);
    }

    #[test]
    fn set_operators_and_null() {
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},
          "Action":"kms:Encrypt*","Resource":"*","Condition":{
            "ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["a","b"]},
            "Null":{"kms:EncryptionContextKeys":"false"},
            "StringEqualsIfExists":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]}"#;
        let p = KeyPolicy::parse(doc).unwrap();
        let who = "arn:aws:iam::111122223333:role/app";
        let ab = conds(&[("kms:EncryptionContextKeys", &["a", "b"])]);
        let ac = conds(&[("kms:EncryptionContextKeys", &["a", "c"])]);
        let none = conds(&[]);
        let via_ec2 = conds(&[
            ("kms:EncryptionContextKeys", &["a"]),
            ("kms:ViaService", &["ec2.us-east-1.amazonaws.com"]),
        ]);
        assert_eq!(p.evaluate(&req(who, "kms:Encrypt", &ab)), Decision::Allow);
        assert_eq!(
            p.evaluate(&req(who, "kms:Encrypt", &ac)),
            Decision::NotAllowed
        );
        assert_eq!(
            p.evaluate(&req(who, "kms:Encrypt", &none)),
            Decision::NotAllowed
        );
        assert_eq!(
            p.evaluate(&req(who, "kms:Encrypt", &via_ec2)),
            Decision::NotAllowed
        );
        assert_eq!(
            p.evaluate(&req(who, "kms:Decrypt", &ab)),
            Decision::NotAllowed
        );
    }

    #[test]
    fn principals() {
        let doc = r#"{"Statement":[{"Effect":"Allow",
          "Principal":{"AWS":["arn:aws:iam::111122223333:role/path/Admin","arn:aws:iam::444455556666:user/bob"]},
          "Action":"kms:Describe*","Resource":"*"}]}"#;
        let p = KeyPolicy::parse(doc).unwrap();
        let c = conds(&[]);
        let ok = |who| p.evaluate(&req(who, "kms:DescribeKey", &c)) == Decision::Allow;
        assert!(ok("arn:aws:sts::111122223333:assumed-role/Admin/session1"));
        assert!(ok("arn:aws:iam::444455556666:user/bob"));
        assert!(!ok("arn:aws:iam::444455556666:user/carol"));
        assert!(!ok("arn:aws:iam::111122223333:user/alice"));
    }

    #[test]
    fn malformed_policies() {
        for doc in [
            "not json",
            "[]",
            r#"{"Statement":[]}"#.replace("[]", "3").as_str(),
            r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"kms:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringSortOf":{"a":"b"}}}]}"#,
        ] {
            let e = KeyPolicy::parse(doc).unwrap_err();
            assert_eq!(e.kind, "MalformedPolicyDocumentException", "{doc}");
        }
    }
}
