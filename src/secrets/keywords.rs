//! Secrets by name: whether a key (`DB_PASSWORD`, `MasterUserPassword`,
//! `stripeApiKey`, `--admin-password`) names a secret value, as opposed to
//! something *about* a secret (`PasswordLength`, `SecretArn`, `TOKEN_URL`,
//! `ManageMasterUserPassword`) or an unrelated key (`KeyName`, `ServiceToken`,
//! `NextToken`). The split follows detect-secrets' keyword denylist and gitleaks'
//! generic-api-key allowlist, on words rather than raw substrings.

/// What a key name says its value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyClass {
    /// Not a secret name.
    None,
    /// A password or passphrase: chosen by people, so judged without entropy.
    Password,
    /// A token, API key, client secret, private or access key: generated, so
    /// judged with entropy.
    Secret,
}

/// Words after the secret word that make the key name *metadata* about the
/// secret: `SECRET_NAME`, `PasswordLength`, `TOKEN_URL`, `DB_PASSWORD_PARAM`.
const METADATA_AFTER: &[&str] = &[
    "name",
    "names",
    "id",
    "ids",
    "arn",
    "arns",
    "url",
    "urls",
    "uri",
    "uris",
    "endpoint",
    "endpoints",
    "host",
    "hostname",
    "file",
    "files",
    "filename",
    "path",
    "paths",
    "dir",
    "directory",
    "location",
    "param",
    "params",
    "parameter",
    "parameters",
    "ref",
    "reference",
    "version",
    "versions",
    "type",
    "types",
    "length",
    "len",
    "size",
    "enabled",
    "enable",
    "disabled",
    "required",
    "require",
    "policy",
    "policies",
    "rotation",
    "rotate",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "lifetime",
    "duration",
    "timeout",
    "age",
    "region",
    "header",
    "prefix",
    "suffix",
    "format",
    "algorithm",
    "alg",
    "field",
    "count",
    "mode",
    "hint",
    "label",
    "description",
    "desc",
    "store",
    "source",
    "provider",
    "manager",
    "validity",
    "min",
    "max",
    "minimum",
    "maximum",
    "complexity",
    "strength",
    "reset",
    "pattern",
    "regex",
    "template",
    "variable",
    "var",
    "role",
    "roles",
    "user",
    "username",
    "kms",
    "bucket",
    "key_id",
    "keyid",
    "keyname",
    "pair",
    "selector",
    "schedule",
    "secretsmanager",
    "ssm",
    "hash",
    "hashed",
    "digest",
    "salt",
    "placeholder",
    "prompt",
    "option",
    "options",
    "config",
    "generator",
    "spec",
    "attribute",
    "attributes",
    "reuse",
    "prevention",
    "last",
    "used",
];

/// Words before the secret word that make the key a flag or a different thing:
/// `ManageMasterUserPassword`, `GenerateSecret`, `ServiceToken`, `NextToken`,
/// `PublicKey`, `KmsKeyId`.
const NOT_SECRET_BEFORE: &[&str] = &[
    "manage",
    "managed",
    "generate",
    "generated",
    "use",
    "uses",
    "require",
    "requires",
    "allow",
    "allows",
    "enable",
    "enabled",
    "disable",
    "force",
    "skip",
    "no",
    "is",
    "has",
    "should",
    "rotate",
    "reset",
    "change",
    "hide",
    "show",
    "exclude",
    "include",
    "max",
    "min",
    "hard",
    "public",
    "kms",
    "service",
    "next",
    "continuation",
    "pagination",
    "page",
    "result",
    "idempotency",
    "lifecycle",
    "csrf",
    "xsrf",
    "marker",
    "cancel",
    "client_request",
    "sync",
    "ssm",
    "secretsmanager",
    "hashed",
    "hash",
    "encrypted",
    "sha",
    "md5",
    "verify",
    "validate",
    "validation",
    "reuse",
    "last",
    "expire",
    "expired",
];

/// Tokens that are not credentials: pagination and idempotency tokens, the
/// `ServiceToken` of a custom resource (a Lambda or SNS ARN).
const NOT_SECRET_TOKENS: &[&str] = &[
    "service",
    "next",
    "continuation",
    "pagination",
    "page",
    "result",
    "idempotency",
    "client",
    "cancel",
    "sync",
    "csrf",
    "xsrf",
    "lifecycle",
    "marker",
    "starting",
    "action",
    "http",
];

/// Words that, directly before `key`, make it a credential (`API_KEY`,
/// `stripeSecretKey`, `license_key`); a bare `key` (`KeyName`, `S3_KEY`) is not one.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "auth",
    "signing",
    "master",
    "client",
    "service",
    "account",
    "license",
    "licence",
    "app",
    "application",
    "consumer",
    "subscription",
    "shared",
    "hmac",
    "jwt",
    "encryption",
    "crypto",
    "aes",
    "cipher",
    "session",
    "admin",
    "dev",
    "developer",
    "partner",
    "webhook",
    "integration",
];

/// Splits a key into lower-case words at `_`, `-`, `.`, spaces and camelCase
/// boundaries: `MasterUserPassword` → master user password, `DBPassword` → db
/// password, `x-api-key` → x api key.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = c.is_uppercase()
                && match prev {
                    Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                    Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                    _ => false,
                };
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.extend(c.to_lowercase());
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// The class a single word gives, looking at its neighbour for `key`.
fn word_class(words: &[String], i: usize) -> KeyClass {
    let w = words[i].as_str();
    let prev = i.checked_sub(1).map(|p| words[p].as_str());
    // Compound words first: `dbpassword`, `apikey`, `authtoken`.
    if w.contains("password") || w.contains("passwd") || w.contains("passphrase") {
        return if w.contains("passwordless") {
            KeyClass::None
        } else {
            KeyClass::Password
        };
    }
    if matches!(w, "pwd" | "pass" | "pw" | "passwort" | "contrasena" | "mdp") {
        return KeyClass::Password;
    }
    if w == "secret" || w == "secrets" {
        return KeyClass::Secret;
    }
    if let Some(head) = w.strip_suffix("secret") {
        // `clientsecret`, `appsecret`; not `topsecret` style prose is rare in keys.
        return if head.is_empty() || head.chars().all(|c| c.is_ascii_alphabetic()) {
            KeyClass::Secret
        } else {
            KeyClass::None
        };
    }
    if matches!(
        w,
        "secretkey" | "secretaccesskey" | "secretstring" | "secretvalue" | "secrettoken"
    ) {
        return KeyClass::Secret;
    }
    if w == "token" || w == "tokens" {
        return if prev.is_some_and(|p| NOT_SECRET_TOKENS.contains(&p)) {
            KeyClass::None
        } else {
            KeyClass::Secret
        };
    }
    if let Some(head) = w.strip_suffix("token") {
        return if NOT_SECRET_TOKENS.contains(&head) {
            KeyClass::None
        } else {
            KeyClass::Secret
        };
    }
    if matches!(
        w,
        "apikey"
            | "apikeys"
            | "accesskey"
            | "privatekey"
            | "authkey"
            | "signingkey"
            | "masterkey"
            | "licensekey"
            | "appkey"
            | "clientkey"
            | "consumerkey"
            | "encryptionkey"
            | "hmackey"
            | "sessionkey"
            | "secretkeys"
    ) {
        return KeyClass::Secret;
    }
    if (w == "key" || w == "keys") && prev.is_some_and(|p| KEY_QUALIFIERS.contains(&p)) {
        return KeyClass::Secret;
    }
    if matches!(w, "credential" | "credentials" | "creds" | "authorization") {
        return KeyClass::Secret;
    }
    KeyClass::None
}

/// Whether `name` names a secret value, and of which kind.
pub fn classify(name: &str) -> KeyClass {
    let ws = words(name);
    let Some(at) = (0..ws.len()).find(|&i| word_class(&ws, i) != KeyClass::None) else {
        return KeyClass::None;
    };
    let class = word_class(&ws, at);
    // A later secret word decides the class only if it is stronger; the
    // metadata test looks at every word after the first secret word.
    let class = if ws[at + 1..]
        .iter()
        .enumerate()
        .any(|(j, _)| word_class(&ws, at + 1 + j) == KeyClass::Password)
    {
        KeyClass::Password
    } else {
        class
    };
    if ws[at + 1..]
        .iter()
        .any(|w| METADATA_AFTER.contains(&w.as_str()))
    {
        return KeyClass::None;
    }
    if ws[..at]
        .iter()
        .any(|w| NOT_SECRET_BEFORE.contains(&w.as_str()))
    {
        return KeyClass::None;
    }
    class
}

#[cfg(test)]
mod tests {
    use super::{classify, words, KeyClass};

    #[test]
    fn splits_words_like_people_write_them() {
        assert_eq!(words("MasterUserPassword"), ["master", "user", "password"]);
        assert_eq!(words("DBPassword"), ["db", "password"]);
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(words("stripeApiKey"), ["stripe", "api", "key"]);
        assert_eq!(words("/prod/db/password"), ["prod", "db", "password"]);
        assert_eq!(words("OAuth2Token"), ["o", "auth2", "token"]);
    }

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "DB_PASSWORD",
            "MasterUserPassword",
            "dbpassword",
            "PGPASSWORD",
            "admin_pass",
            "db-pwd",
            "passphrase",
            "WPAdminPassword",
            "/prod/db/password",
            "mysql_root_password",
        ] {
            assert_eq!(classify(name), KeyClass::Password, "{name}");
        }
        for name in [
            "API_KEY",
            "apiKey",
            "x-api-key",
            "stripeSecretKey",
            "AWS_SECRET_ACCESS_KEY",
            "client_secret",
            "GITHUB_TOKEN",
            "authToken",
            "OAuthToken",
            "secret",
            "SecretString",
            "PRIVATE_KEY",
            "license_key",
            "NEW_RELIC_LICENSE_KEY",
            "credentials",
            "Authorization",
            "SLACK_WEBHOOK_TOKEN",
            "refresh_token",
            "AWS_SESSION_TOKEN",
        ] {
            assert_eq!(classify(name), KeyClass::Secret, "{name}");
        }
    }

    #[test]
    fn names_about_secrets_are_not_secrets() {
        for name in [
            "KeyName",
            "SecretArn",
            "SECRET_NAME",
            "PasswordLength",
            "MinimumPasswordLength",
            "TOKEN_URL",
            "token_endpoint",
            "ServiceToken",
            "NextToken",
            "ClientToken",
            "ManageMasterUserPassword",
            "GenerateSecretString",
            "PublicKey",
            "KmsKeyId",
            "AWS_ACCESS_KEY_ID",
            "SecretsManagerSecretId",
            "DB_PASSWORD_SSM_PARAM",
            "PasswordResetRequired",
            "RequireSecureTransport",
            "S3_KEY",
            "ObjectKey",
            "passwordless",
            "PasswordPolicy",
            "DB_PASSWORD_SECRET_ARN",
            "MasterUserSecret.KmsKeyId",
            "TokenValidityUnits",
            "HashedPassword",
            "RepositoryCredentialsParameter",
            "HttpTokens",
            "SECRET_KMS_KEY_ARN",
        ] {
            assert_eq!(classify(name), KeyClass::None, "{name}");
        }
    }
}
