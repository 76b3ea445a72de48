//! The secret detection engine: finds credentials kept in plain text in a
//! value or a text, without ever returning the secret itself.
//!
//! Three detectors, each in its own file:
//! - [`providers`]: credentials recognisable by shape (AWS access keys, private
//!   key blocks, GitHub/Slack/Stripe/... tokens, JWTs, URLs with a password);
//! - [`keywords`] + [`values`]: a value held under a secret's *name*
//!   (`DB_PASSWORD`, `apiKey`), unless it is a placeholder, a reference to a
//!   secret store, a flag or a mask — with an [`entropy`] floor for generated
//!   secrets (tokens, keys), none for passwords, which people choose;
//! - [`text`]: assignments inside scripts and configuration text
//!   (`export DB_PASSWORD=...`, `--admin-password '...'`, `mysql -p...`).
//!
//! The engine knows nothing of templates: `eval` walks CloudFormation and
//! Terraform values (intrinsics, NoEcho parameters, dynamic references) and asks
//! it about each string.

pub mod entropy;
pub mod keywords;
pub mod providers;
pub mod redact;
pub mod text;
pub mod values;

#[cfg(test)]
mod tests;

pub use keywords::{classify, KeyClass};

/// Most findings reported for one value: output stays bounded.
pub const MAX_FINDINGS: usize = 50;

/// A secret found in plain text. `redacted` is all a report may show of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Stable detector id: `aws-access-key-id`, `private-key`, `keyword-password`, ...
    pub rule: &'static str,
    /// What was found, for people: "AWS access key ID", "password".
    pub kind: &'static str,
    /// The name the secret was assigned to, when it had one.
    pub key: Option<String>,
    pub redacted: String,
    /// 1-based line within a multi-line text.
    pub line: Option<usize>,
}

/// A secret-named key whose value is exactly one `${Name}` placeholder: only
/// the caller knows what `Name` is (a NoEcho parameter, a plain one, a resource).
#[derive(Clone, Debug, PartialEq)]
pub struct Placeholder {
    pub key: String,
    pub name: String,
    pub line: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scan {
    pub findings: Vec<Finding>,
    pub placeholders: Vec<Placeholder>,
}

const KEYWORD_PASSWORD: (&str, &str) = ("keyword-password", "password");
const KEYWORD_SECRET: (&str, &str) = ("keyword-secret", "secret (token or key)");

fn line_of(text: &str, at: usize) -> Option<usize> {
    text.contains('\n')
        .then(|| text[..at.min(text.len())].matches('\n').count() + 1)
}

/// `${Name}` and nothing else.
fn sole_placeholder(v: &str) -> Option<&str> {
    let inner = v.trim().strip_prefix("${")?.strip_suffix('}')?;
    (!inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.')))
    .then_some(inner)
}

/// A bare (unquoted) value in code that is an expression, not a literal:
/// `os.environ[...]`, `get_password()`, `config.db.password`.
fn code_expression(v: &str) -> bool {
    let t = v.trim();
    if t.contains('(') || t.contains('[') {
        return true;
    }
    let mut parts = t.split('.');
    let ident = |p: &str| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    t.contains('.') && parts.all(ident)
}

/// The finding for a value held under a secret's name, if it is plausibly the
/// secret itself.
fn by_name(key: &str, class: KeyClass, value: &str, line: Option<usize>) -> Option<Finding> {
    values::plausible(class, value).ok()?;
    let t = value.trim();
    let ws = keywords::words(key);
    let aws_secret = ws.iter().any(|w| w == "secret" || w == "secretaccesskey")
        && ws
            .iter()
            .any(|w| w == "aws" || w == "access" || w == "secretaccesskey")
        && t.len() == 40
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+');
    let (rule, kind, keep) = if aws_secret {
        ("aws-secret-access-key", "AWS secret access key", 0)
    } else if class == KeyClass::Password {
        (KEYWORD_PASSWORD.0, KEYWORD_PASSWORD.1, 0)
    } else {
        (KEYWORD_SECRET.0, KEYWORD_SECRET.1, 2)
    };
    Some(Finding {
        rule,
        kind,
        key: Some(key.to_string()),
        redacted: redact::redact(t, keep),
        line,
    })
}

/// Scans one string held under `key` (a map key, an environment variable's
/// name, a parameter's name; `None` when it has none).
pub fn scan_value(key: Option<&str>, value: &str) -> Scan {
    let mut out = Scan::default();
    let assigns = text::assignments(value);
    let hits = providers::scan(value);
    // Credentials of a known shape, named after the assignment that holds them.
    for hit in &hits {
        let assigned = assigns
            .iter()
            .find(|a| a.start <= hit.start && hit.end <= a.end)
            .map(|a| a.key.clone());
        out.findings.push(Finding {
            rule: hit.rule.id,
            kind: hit.rule.kind,
            key: assigned.or_else(|| key.map(str::to_string)),
            redacted: redact::redact(&hit.secret, hit.rule.keep),
            line: line_of(value, hit.start),
        });
        if out.findings.len() >= MAX_FINDINGS {
            return out;
        }
    }
    let overlaps = |s: usize, e: usize| hits.iter().any(|h| s < h.end && h.start < e);
    // Assignments inside the text, judged by the name they assign to.
    for a in &assigns {
        let class = classify(&a.key);
        if class == KeyClass::None || overlaps(a.start, a.end) {
            continue;
        }
        if !a.quoted && code_expression(&a.value) {
            continue;
        }
        let line = line_of(value, a.start);
        if let Some(name) = sole_placeholder(&a.value) {
            out.placeholders.push(Placeholder {
                key: a.key.clone(),
                name: name.to_string(),
                line,
            });
        } else if let Some(f) = by_name(&a.key, class, &a.value, line) {
            out.findings.push(f);
            if out.findings.len() >= MAX_FINDINGS {
                return out;
            }
        }
    }
    // The whole value, judged by the name it is held under; a multi-line text
    // is a script or a document, not one secret.
    if let Some(key) = key {
        let class = classify(key);
        let single = !value.trim().contains('\n');
        let named_inside = assigns.iter().any(|a| classify(&a.key) != KeyClass::None);
        if class != KeyClass::None && single && out.findings.is_empty() && !named_inside {
            if let Some(name) = sole_placeholder(value) {
                out.placeholders.push(Placeholder {
                    key: key.to_string(),
                    name: name.to_string(),
                    line: None,
                });
            } else if let Some(f) = by_name(key, class, value, None) {
                out.findings.push(f);
            }
        }
    }
    out
}
