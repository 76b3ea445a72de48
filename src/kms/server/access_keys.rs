//! The access keys file (`--access-keys FILE`): a JSON object mapping each access
//! key id to its secret and the principal it signs as.
//!
//! ```json
//! {"AKIAADMIN0000000001": {"secret": "…", "principal": "arn:aws:iam::111122223333:root"},
//!  "AKIAAPP00000000002":  {"secret": "…", "principal": "arn:aws:iam::111122223333:user/app"}}
//! ```
//!
//! The principal is an IAM ARN: the account root (`arn:aws:iam::ACCOUNT:root`), a
//! user (`…:user/PATH/NAME`) or a role (`…:role/NAME`), or an STS assumed role
//! (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`). Its account is the caller's
//! account, so key policies and grants apply to it as in AWS.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// One access key: its secret, and the caller it authenticates.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub secret: String,
    pub principal: String,
    pub account: String,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("secret", &"<redacted>")
            .field("principal", &self.principal)
            .finish()
    }
}

/// The configured access keys, by access key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessKeys {
    keys: BTreeMap<String, AccessKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    secret: String,
    principal: String,
}

/// The object's entries in file order, keeping duplicates (serde_json's map
/// would silently keep the last one).
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a JSON object mapping access key ids to {\"secret\": …, \"principal\": …}",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl AccessKeys {
    /// Reads and validates an access keys file; errors name the file and the key.
    pub fn load(path: &Path) -> Result<AccessKeys, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("access keys file {}: {e}", path.display()))?;
        let keys = AccessKeys::parse(&text)
            .map_err(|e| format!("access keys file {}: {e}", path.display()))?;
        if keys.is_empty() {
            return Err(format!(
                "access keys file {}: no access keys (expected {{\"ACCESS_KEY_ID\": {{\"secret\": \"...\", \"principal\": \"arn:aws:iam::ACCOUNT:user/NAME\"}}}})",
                path.display()
            ));
        }
        Ok(keys)
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<AccessKeys, String> {
        let entries: Entries = serde_json::from_str(text).map_err(|e| {
            format!(
                "line {}, column {}: {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )
        })?;
        let mut keys = BTreeMap::new();
        for (id, value) in entries.0 {
            check_key_id(&id)?;
            let entry: Entry = serde_json::from_value(value)
                .map_err(|e| format!("access key {id:?}: {e} (expected {{\"secret\": \"...\", \"principal\": \"arn:aws:iam::ACCOUNT:user/NAME\"}})"))?;
            if entry.secret.is_empty() {
                return Err(format!("access key {id:?}: \"secret\" is empty"));
            }
            let account = principal_account(&entry.principal)
                .map_err(|e| format!("access key {id:?}: principal {:?}: {e}", entry.principal))?;
            let key = AccessKey {
                secret: entry.secret,
                principal: entry.principal,
                account,
            };
            if keys.insert(id.clone(), key).is_some() {
                return Err(format!("access key {id:?} is listed twice"));
            }
        }
        Ok(AccessKeys { keys })
    }

    pub fn get(&self, access_key_id: &str) -> Option<&AccessKey> {
        self.keys.get(access_key_id)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Adds a key (for callers that build the table in code).
    pub fn insert(
        &mut self,
        access_key_id: &str,
        secret: &str,
        principal: &str,
    ) -> Result<(), String> {
        check_key_id(access_key_id)?;
        let account =
            principal_account(principal).map_err(|e| format!("principal {principal:?}: {e}"))?;
        self.keys.insert(
            access_key_id.to_string(),
            AccessKey {
                secret: secret.to_string(),
                principal: principal.to_string(),
                account,
            },
        );
        Ok(())
    }

    /// The account of the first key whose principal is an account root, else
    /// of the first key: the account an unsigned request acts in.
    pub fn default_account(&self) -> Option<&str> {
        self.keys
            .values()
            .find(|k| k.principal.ends_with(":root"))
            .or_else(|| self.keys.values().next())
            .map(|k| k.account.as_str())
    }
}

fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

/// Access key ids as AWS makes them: 16 to 128 word characters.
fn check_key_id(id: &str) -> Result<(), String> {
    if id.len() < 16
        || id.len() > 128
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!(
            "access key id {id:?} is not valid: AWS access key ids are 16 to 128 letters, digits or underscores"
        ));
    }
    Ok(())
}

/// The account of an IAM or STS principal ARN; what else it may be is refused.
pub fn principal_account(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let expected = "expected arn:aws:iam::ACCOUNT:root, arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME or arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION";
    let [arn_lit, partition, service, region, account, resource] = parts[..] else {
        return Err(format!("not an ARN ({expected})"));
    };
    if arn_lit != "arn" || !partition.starts_with("aws") || !region.is_empty() {
        return Err(format!("not an IAM principal ARN ({expected})"));
    }
    let resource_ok = match service {
        "iam" => {
            resource == "root"
                || ["user/", "role/"].iter().any(|p| {
                    resource
                        .strip_prefix(p)
                        .is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
                })
        }
        "sts" => resource
            .strip_prefix("assumed-role/")
            .is_some_and(|r| r.split('/').filter(|s| !s.is_empty()).count() == 2),
        _ => false,
    };
    if !resource_ok {
        return Err(format!("not a root, user or role principal ({expected})"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the account {account:?} is not 12 digits"));
    }
    Ok(account.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "AKIAADMIN00000000001";

    #[test]
    fn parses_a_valid_file() {
        let k = AccessKeys::parse(
            r#"{"AKIAADMIN00000000001": {"secret": "s1", "principal": "arn:aws:iam::111122223333:root"},
                "AKIAAPP0000000000002": {"secret": "s2", "principal": "arn:aws:iam::444455556666:user/ci/app"}}"#,
        )
        .unwrap();
        assert_eq!(k.len(), 2);
        let a = k.get(ADMIN).unwrap();
        assert_eq!(
            (a.secret.as_str(), a.account.as_str()),
            ("s1", "111122223333")
        );
        assert_eq!(
            k.get("AKIAAPP0000000000002").unwrap().account,
            "444455556666"
        );
        assert_eq!(k.default_account(), Some("111122223333"));
        assert!(!format!("{a:?}").contains("s1"), "secrets are not printed");
    }

    #[test]
    fn clear_errors() {
        let cases = [
            ("[]", "a JSON object mapping access key ids"),
            ("{", "line 1, column 1"),
            (
                r#"{"short": {"secret": "s", "principal": "arn:aws:iam::111122223333:root"}}"#,
                "16 to 128",
            ),
            (
                r#"{"AKIAADMIN00000000001": {"secret": "s"}}"#,
                "missing field `principal`",
            ),
            (
                r#"{"AKIAADMIN00000000001": {"secret_key": "s", "principal": "arn:aws:iam::111122223333:root"}}"#,
                "unknown field `secret_key`",
            ),
            (
                r#"{"AKIAADMIN00000000001": {"secret": "", "principal": "arn:aws:iam::111122223333:root"}}"#,
                "\"secret\" is empty",
            ),
            (
                r#"{"AKIAADMIN00000000001": {"secret": "s", "principal": "arn:aws:iam::1111:root"}}"#,
                "not 12 digits",
            ),
            (
                r#"{"AKIAADMIN00000000001": {"secret": "s", "principal": "arn:aws:s3:::bucket"}}"#,
                "not a root, user or role",
            ),
            (
                r#"{"AKIAADMIN00000000001": {"secret": "s", "principal": "alice"}}"#,
                "not an ARN",
            ),
            (
                r#"{"AKIAADMIN00000000001": {"secret": "s", "principal": "arn:aws:iam::111122223333:root"},
                 "AKIAADMIN00000000001": {"secret": "t", "principal": "arn:aws:iam::111122223333:root"}}"#,
                "listed twice",
            ),
        ];
        for (text, want) in cases {
            let e = AccessKeys::parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn principals() {
        for ok in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:role/deploy",
            "arn:aws-us-gov:iam::111122223333:user/path/alice",
            "arn:aws:sts::111122223333:assumed-role/deploy/session-1",
        ] {
            assert_eq!(principal_account(ok).as_deref(), Ok("111122223333"), "{ok}");
        }
        for bad in [
            "arn:aws:iam::111122223333:user/",
            "arn:aws:iam::111122223333:group/admins",
            "arn:aws:iam:us-east-1:111122223333:root",
            "arn:aws:sts::111122223333:assumed-role/deploy",
            "*",
        ] {
            assert!(principal_account(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.json");
        let e = AccessKeys::load(&p).unwrap_err();
        assert!(
            e.starts_with(&format!("access keys file {}:", p.display())),
            "{e}"
        );
        std::fs::write(&p, "{}").unwrap();
        let e = AccessKeys::load(&p).unwrap_err();
        assert!(e.contains("no access keys"), "{e}");
    }
}
