//! Credentials recognisable by their shape alone, wherever they appear: cloud
//! access keys, private key blocks, the prefixed tokens of well-known services,
//! JWTs and URLs with a password in them. The patterns are written for deadbolt
//! from the public token formats (as catalogued by gitleaks and detect-secrets);
//! each carries a literal prefix checked before the regex runs, and an entropy
//! floor where a random part must really be random.

use std::sync::OnceLock;

use regex::Regex;

use super::entropy::shannon;
use super::values::{is_documentation_example, not_a_literal};

/// A credential format.
pub struct Rule {
    pub id: &'static str,
    pub kind: &'static str,
    /// Lower-case literals one of which the text must contain (cheap prefilter).
    keywords: &'static [&'static str],
    pattern: &'static str,
    /// Capture group holding the secret (0: the whole match).
    group: usize,
    /// Minimum Shannon entropy of the secret, bits per character.
    min_entropy: f64,
    /// Leading characters a report may show (a public, structural prefix).
    pub keep: usize,
    /// Extra check on the captured secret.
    check: fn(&str) -> bool,
}

fn always(_: &str) -> bool {
    true
}

fn not_example(s: &str) -> bool {
    !is_documentation_example(s)
}

/// A JWT's header is base64url JSON naming an algorithm.
fn jwt_header(s: &str) -> bool {
    use base64::Engine;
    let header = s.split('.').next().unwrap_or("");
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    decoded.is_some_and(|h| h.contains("\"alg\"") || h.contains("\"typ\""))
}

/// The password of a URL is a literal, not a placeholder.
fn literal_password(s: &str) -> bool {
    not_a_literal(s).is_none() && !s.eq_ignore_ascii_case("password") && s.chars().count() >= 3
}

const RULES: &[Rule] = &[
    Rule {
        id: "aws-access-key-id",
        kind: "AWS access key ID",
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        pattern: r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 4,
        check: not_example,
    },
    Rule {
        id: "aws-secret-access-key",
        kind: "AWS secret access key",
        keywords: &["aws"],
        // Forty base64 characters near a name that says AWS and secret/key.
        pattern: r#"(?i)aws.{0,20}?(?:secret|key|token|pass).{0,20}?[=:"'\s]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        group: 1,
        min_entropy: 4.0,
        keep: 0,
        check: not_example,
    },
    Rule {
        id: "private-key",
        kind: "private key",
        keywords: &["private key"],
        pattern: r"-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:\\n|\\r|[\s])*[A-Za-z0-9+/=]{40,}",
        group: 0,
        min_entropy: 3.0,
        keep: 0,
        check: always,
    },
    Rule {
        id: "github-token",
        kind: "GitHub token",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        pattern: r"\b(gh[pousr]_[0-9A-Za-z]{36})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 4,
        check: always,
    },
    Rule {
        id: "github-fine-grained-token",
        kind: "GitHub fine-grained token",
        keywords: &["github_pat_"],
        pattern: r"\b(github_pat_[0-9A-Za-z_]{82})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 11,
        check: always,
    },
    Rule {
        id: "gitlab-token",
        kind: "GitLab personal access token",
        keywords: &["glpat-"],
        pattern: r"\b(glpat-[0-9A-Za-z_-]{20,})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 6,
        check: always,
    },
    Rule {
        id: "slack-token",
        kind: "Slack token",
        keywords: &["xox"],
        pattern: r"\b(xox[abeoprs]-[0-9]{6,}-[0-9A-Za-z-]{8,})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 5,
        check: always,
    },
    Rule {
        id: "slack-webhook",
        kind: "Slack incoming webhook URL",
        keywords: &["hooks.slack.com"],
        pattern: r"hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/]{8,}/[A-Za-z0-9+/]{8,}/[A-Za-z0-9+/]{16,})",
        group: 1,
        min_entropy: 3.0,
        keep: 0,
        check: always,
    },
    Rule {
        id: "stripe-key",
        kind: "Stripe secret key",
        keywords: &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        pattern: r"\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,99})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 8,
        check: always,
    },
    Rule {
        id: "google-api-key",
        kind: "Google API key",
        keywords: &["aiza"],
        pattern: r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
        group: 1,
        min_entropy: 3.5,
        keep: 4,
        check: always,
    },
    Rule {
        id: "npm-token",
        kind: "npm access token",
        keywords: &["npm_"],
        pattern: r"\b(npm_[0-9A-Za-z]{36})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 4,
        check: always,
    },
    Rule {
        id: "pypi-token",
        kind: "PyPI upload token",
        keywords: &["pypi-ageichlwas5vcmc"],
        pattern: r"\b(pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,})",
        group: 1,
        min_entropy: 3.0,
        keep: 5,
        check: always,
    },
    Rule {
        id: "sendgrid-key",
        kind: "SendGrid API key",
        keywords: &["sg."],
        pattern: r"\b(SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 3,
        check: always,
    },
    Rule {
        id: "twilio-key",
        kind: "Twilio API key",
        keywords: &["sk"],
        pattern: r"\b(SK[0-9a-f]{32})\b",
        group: 1,
        min_entropy: 3.2,
        keep: 2,
        check: always,
    },
    Rule {
        id: "openai-key",
        kind: "OpenAI API key",
        keywords: &["t3blbkfj"],
        pattern: r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 3,
        check: always,
    },
    Rule {
        id: "anthropic-key",
        kind: "Anthropic API key",
        keywords: &["sk-ant-"],
        pattern: r"\b(sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,})",
        group: 1,
        min_entropy: 3.0,
        keep: 7,
        check: always,
    },
    Rule {
        id: "shopify-token",
        kind: "Shopify access token",
        keywords: &["shpat_", "shpca_", "shppa_", "shpss_"],
        pattern: r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 6,
        check: always,
    },
    Rule {
        id: "digitalocean-token",
        kind: "DigitalOcean token",
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        pattern: r"\b(do[opr]_v1_[a-f0-9]{64})\b",
        group: 1,
        min_entropy: 3.0,
        keep: 7,
        check: always,
    },
    Rule {
        id: "terraform-cloud-token",
        kind: "Terraform Cloud API token",
        keywords: &[".atlasv1."],
        pattern: r"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,})",
        group: 1,
        min_entropy: 3.5,
        keep: 0,
        check: always,
    },
    Rule {
        id: "databricks-token",
        kind: "Databricks token",
        keywords: &["dapi"],
        pattern: r"\b(dapi[a-f0-9]{32}(?:-\d)?)\b",
        group: 1,
        min_entropy: 3.0,
        keep: 4,
        check: always,
    },
    Rule {
        id: "square-token",
        kind: "Square access token",
        keywords: &["sq0atp-", "sq0csp-", "eaaa"],
        pattern: r"\b((?:sq0atp-|sq0csp-|EAAA)[0-9A-Za-z_-]{22,60})\b",
        group: 1,
        min_entropy: 3.5,
        keep: 4,
        check: always,
    },
    Rule {
        id: "azure-storage-key",
        kind: "Azure storage account key",
        keywords: &["accountkey="],
        pattern: r"AccountKey=([A-Za-z0-9+/]{86}==)",
        group: 1,
        min_entropy: 4.0,
        keep: 0,
        check: always,
    },
    Rule {
        id: "huggingface-token",
        kind: "Hugging Face token",
        keywords: &["hf_"],
        pattern: r"\b(hf_[A-Za-z]{34})\b",
        group: 1,
        min_entropy: 3.5,
        keep: 3,
        check: always,
    },
    Rule {
        id: "telegram-bot-token",
        kind: "Telegram bot token",
        keywords: &[":aa"],
        pattern: r"\b(\d{8,10}:AA[0-9A-Za-z_-]{33})\b",
        group: 1,
        min_entropy: 3.5,
        keep: 0,
        check: always,
    },
    Rule {
        id: "age-secret-key",
        kind: "age secret key",
        keywords: &["age-secret-key-1"],
        pattern: r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        group: 0,
        min_entropy: 3.0,
        keep: 15,
        check: always,
    },
    Rule {
        id: "jwt",
        kind: "JSON Web Token",
        keywords: &["eyj"],
        pattern: r"\b(eyJ[A-Za-z0-9_-]{10,}={0,2}\.eyJ[A-Za-z0-9_-]{10,}={0,2}\.[A-Za-z0-9_-]{10,}={0,2})",
        group: 1,
        min_entropy: 3.0,
        keep: 3,
        check: jwt_header,
    },
    Rule {
        id: "url-password",
        kind: "password in a connection URL",
        keywords: &["://"],
        pattern: r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^:@/\s'\x22]{1,100}:([^@/\s'\x22]{1,200})@[A-Za-z0-9_.\-\[\]$]",
        group: 1,
        min_entropy: 0.0,
        keep: 0,
        check: literal_password,
    },
];

/// A credential found by its shape, with its byte range in the text.
pub struct Hit {
    pub rule: &'static Rule,
    pub start: usize,
    pub end: usize,
    pub secret: String,
}

fn compiled() -> &'static [Regex] {
    static RE: OnceLock<Vec<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        RULES
            .iter()
            .map(|r| Regex::new(r.pattern).expect("built-in secret patterns are valid"))
            .collect()
    })
}

/// Every credential of a known shape in `text`.
pub fn scan(text: &str) -> Vec<Hit> {
    let lower = text.to_ascii_lowercase();
    let mut hits = Vec::new();
    for (rule, re) in RULES.iter().zip(compiled()) {
        if !rule.keywords.iter().any(|k| lower.contains(k)) {
            continue;
        }
        for caps in re.captures_iter(text) {
            let Some(m) = caps.get(rule.group) else {
                continue;
            };
            let secret = m.as_str();
            if shannon(secret) < rule.min_entropy || !(rule.check)(secret) {
                continue;
            }
            // A shorter rule's match inside a longer one's (a JWT inside a URL)
            // is reported once, by the first rule.
            if hits
                .iter()
                .any(|h: &Hit| h.start <= m.start() && m.end() <= h.end)
            {
                continue;
            }
            hits.push(Hit {
                rule,
                start: m.start(),
                end: m.end(),
                secret: secret.to_string(),
            });
        }
    }
    hits.sort_by_key(|h| h.start);
    hits
}

/// The rule with this id (for the AWS secret key found by name).
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Ids and descriptions of every built-in credential format.
pub fn catalogue() -> impl Iterator<Item = (&'static str, &'static str)> {
    RULES.iter().map(|r| (r.id, r.kind))
}
