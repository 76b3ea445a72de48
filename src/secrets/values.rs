//! Values that are not secrets even under a secret's name: placeholders filled
//! in later (`${DB_PASSWORD}`, `<your-token>`, `{{ vault_pw }}`), references to
//! where the secret really lives (ARNs, Parameter Store paths,
//! `{{resolve:secretsmanager:...}}`), masks (`********`), flags and numbers, and
//! the example credentials of the AWS documentation.

use super::entropy::shannon;
use super::keywords::KeyClass;

/// AWS's documented example credentials (IAM user guide): they never work.
const AWS_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
];

/// Whether a credential-shaped value is one of the documentation's examples.
pub fn is_documentation_example(v: &str) -> bool {
    AWS_EXAMPLES.contains(&v) || v.ends_with("EXAMPLE") || v.ends_with("EXAMPLEKEY")
}

/// Why a value is not a literal secret, or `None` when it may be one.
pub fn not_a_literal(v: &str) -> Option<&'static str> {
    let t = v.trim();
    if t.is_empty() {
        return Some("empty");
    }
    if t.contains("${") || t.contains("{{") || t.contains("$(") || t.contains("#{") {
        return Some("a template placeholder");
    }
    let wrapped = |open: char, close: char| t.starts_with(open) && t.ends_with(close);
    if t.len() >= 3 && (wrapped('<', '>') || wrapped('[', ']') || wrapped('{', '}')) {
        return Some("a placeholder");
    }
    if t.starts_with('$') && t[1..].chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Some("a variable");
    }
    if (wrapped('%', '%') || wrapped('@', '@')) && t.len() >= 3 {
        return Some("a variable");
    }
    if t.starts_with("%(") || t == "%s" {
        return Some("a format placeholder");
    }
    let lower = t.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "null"
            | "nil"
            | "none"
            | "n/a"
            | "na"
            | "undefined"
            | "-"
            | "enabled"
            | "disabled"
            | "required"
            | "optional"
    ) {
        return Some("a flag");
    }
    if t.chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '_')
    {
        return Some("a number");
    }
    let unmasked: Vec<char> = t
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .collect();
    if unmasked.iter().all(|&c| c == unmasked[0]) || unmasked.iter().all(|c| "*xX#•".contains(*c))
    {
        return Some("a mask");
    }
    if lower.starts_with("arn:") {
        return Some("an ARN naming where the secret is kept");
    }
    for scheme in [
        "secretsmanager:",
        "ssm:",
        "ssm-secure:",
        "vault:",
        "awskms:",
        "kms:",
        "env:",
        "file:",
        "op://",
        "azurekeyvault:",
        "gcpsm:",
    ] {
        if lower.starts_with(scheme) {
            return Some("a reference to a secret store");
        }
    }
    let is_path =
        (t.starts_with('/') || t.starts_with("./") || t.starts_with("../") || t.starts_with("~/"))
            && !t.contains(char::is_whitespace);
    if is_path {
        return Some("a path or parameter name");
    }
    if lower.len() > 3
        && lower.as_bytes()[1] == b':'
        && (t.as_bytes()[2] == b'\\' || t.as_bytes()[2] == b'/')
    {
        return Some("a path");
    }
    if let Some((scheme, rest)) = t.split_once("://") {
        let authority = rest.split('/').next().unwrap_or("");
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
            && !authority.contains('@')
        {
            return Some("a URL without credentials");
        }
    }
    // `DB_PASSWORD` as a value names another variable.
    if t.contains('_')
        && t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Some("the name of another variable");
    }
    None
}

/// Whether a value held under a key of this class is plausibly the secret
/// itself; `Err` says why not.
pub fn plausible(class: KeyClass, v: &str) -> Result<(), &'static str> {
    if let Some(why) = not_a_literal(v) {
        return Err(why);
    }
    let t = v.trim();
    if is_documentation_example(t) {
        return Err("an example from the AWS documentation");
    }
    let n = t.chars().count();
    match class {
        KeyClass::None => Err("not a secret name"),
        // People choose passwords: any real value counts, even a weak one
        // (`changeme` deploys as the password just the same).
        KeyClass::Password => {
            if n < 4 {
                Err("too short to be a password")
            } else {
                Ok(())
            }
        }
        // Tokens and keys are generated: words and names are not tokens.
        KeyClass::Secret => {
            let t = t
                .strip_prefix("Bearer ")
                .or_else(|| t.strip_prefix("Basic "))
                .or_else(|| t.strip_prefix("Token "))
                .unwrap_or(t);
            let word_like = t
                .split([' ', '-', '_', '.'])
                .all(|w| w.chars().all(|c| c.is_ascii_alphabetic()));
            if t.chars().count() < 8 {
                Err("too short to be a generated secret")
            } else if word_like {
                Err("words, not a generated secret")
            } else if shannon(t) < 3.0 {
                Err("too regular to be a generated secret (entropy below 3 bits per character)")
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{not_a_literal, plausible};
    use crate::secrets::keywords::KeyClass;

    #[test]
    fn placeholders_and_references_are_not_literals() {
        for v in [
            "",
            "  ",
            "${DB_PASSWORD}",
            "pre-${Env}-post",
            "{{resolve:secretsmanager:db:SecretString:pw}}",
            "{{ vault_password }}",
            "<your-password>",
            "[PASSWORD]",
            "$DB_PASSWORD",
            "%PASSWORD%",
            "@PASSWORD@",
            "********",
            "xxxxxxxx",
            "XXXX-XXXX",
            "true",
            "None",
            "12345",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
            "/prod/db/password",
            "./secrets/token.txt",
            "https://auth.example.com/oauth/token",
            "DB_PASSWORD",
            "$(cat /run/secrets/pw)",
            "ssm:/app/token",
            "C:\\secrets\\pw.txt",
        ] {
            assert!(
                not_a_literal(v).is_some(),
                "{v:?} should not count as a literal"
            );
        }
        for v in [
            "hunter2",
            "changeme",
            "P@ssw0rd!",
            "postgres://u:pw@db/x",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ] {
            assert_eq!(not_a_literal(v), None, "{v:?}");
        }
    }

    #[test]
    fn passwords_are_judged_without_entropy() {
        assert!(plausible(KeyClass::Password, "hunter2").is_ok());
        assert!(plausible(KeyClass::Password, "changeme").is_ok());
        assert!(plausible(KeyClass::Password, "myPassword").is_ok());
        assert!(plausible(KeyClass::Password, "abc").is_err());
        assert!(plausible(KeyClass::Password, "${Password}").is_err());
    }

    #[test]
    fn tokens_need_to_look_generated() {
        assert!(plausible(KeyClass::Secret, "ghx_8f3kLm2Qp9RtZ7wXy4Vb").is_ok());
        assert!(plausible(KeyClass::Secret, "Bearer 8f3kLm2Qp9RtZ7wXy4Vb").is_ok());
        assert!(plausible(KeyClass::Secret, "550e8400-e29b-41d4-a716-446655440000").is_ok());
        assert!(plausible(KeyClass::Secret, "production").is_err());
        assert!(plausible(KeyClass::Secret, "my-app-token-name").is_err());
        assert!(plausible(KeyClass::Secret, "abc123").is_err());
        assert!(plausible(KeyClass::Secret, "aaaaaaaa1").is_err());
        assert!(plausible(KeyClass::Secret, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").is_err());
    }
}
