//! A web ACL's decision on one request, in the shape of an AWS WAF log record
//! (field names and values as AWS logs them), plus deadbolt's own fields for
//! what AWS never has to say: undetermined outcomes and approximations.

use serde::Serialize;

use super::acl::Action;

/// The outcome: one of AWS WAF's terminating actions, or `UNKNOWN` when the
/// request does not say enough to decide (say, a geo rule and no country).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Allow,
    Block,
    Captcha,
    Challenge,
    Unknown,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allow => "ALLOW",
            Outcome::Block => "BLOCK",
            Outcome::Captcha => "CAPTCHA",
            Outcome::Challenge => "CHALLENGE",
            Outcome::Unknown => "UNKNOWN",
        }
    }

    pub fn from_action(a: Action) -> Outcome {
        match a {
            Action::Allow => Outcome::Allow,
            Action::Block => Outcome::Block,
            Action::Captcha => Outcome::Captcha,
            Action::Challenge => Outcome::Challenge,
            // Count never terminates; callers do not ask.
            Action::Count => Outcome::Unknown,
        }
    }

    /// Parses a WAF log's `action`.
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s.to_ascii_uppercase().as_str() {
            "ALLOW" => Outcome::Allow,
            "BLOCK" => Outcome::Block,
            "CAPTCHA" => Outcome::Captcha,
            "CHALLENGE" => Outcome::Challenge,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleType {
    Regular,
    RateBased,
    Group,
    ManagedRuleGroup,
}

/// Why and where a rule matched. AWS logs these for SQL injection and XSS only;
/// deadbolt adds them for every inspection, with its own condition types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchDetail {
    /// `SQL_INJECTION`, `XSS` (AWS's), or `BYTE_MATCH`, `REGEX`,
    /// `REGEX_PATTERN_SET`, `SIZE_CONSTRAINT` (deadbolt's).
    pub condition_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity_level: Option<&'static str>,
    pub location: &'static str,
    /// Header, argument or cookie name, or JSON pointer (deadbolt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    /// The matched text after transformations: the SQL tokens for SQL injection,
    /// else the value (cut to 100 characters).
    pub matched_data: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub response_code: u16,
    pub solve_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedRule {
    pub rule_id: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_action: Option<Action>,
    pub rule_match_details: Vec<MatchDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captcha_response: Option<TokenResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_response: Option<TokenResponse>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExcludedRule {
    pub exclusion_type: &'static str,
    pub rule_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroupEntry {
    pub rule_group_id: String,
    pub terminating_rule: Option<MatchedRule>,
    pub non_terminating_matching_rules: Vec<MatchedRule>,
    pub excluded_rules: Option<Vec<ExcludedRule>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateBasedEntry {
    pub rate_based_rule_id: String,
    pub rate_based_rule_name: String,
    pub limit_key: &'static str,
    pub max_rate_allowed: u64,
    pub evaluation_window_sec: String,
    pub limit_value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LabelName {
    pub name: String,
}

/// A rule whose match could not be decided from the request, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undetermined {
    pub rule_id: String,
    pub reason: String,
}

/// The web ACL's decision on one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The request's `id` (or 1-based position in its file when it has none).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    pub action: Outcome,
    pub terminating_rule_id: String,
    pub terminating_rule_type: RuleType,
    pub terminating_rule_match_details: Vec<MatchDetail>,
    pub rule_group_list: Vec<RuleGroupEntry>,
    pub rate_based_rule_list: Vec<RateBasedEntry>,
    pub non_terminating_matching_rules: Vec<MatchedRule>,
    pub labels: Vec<LabelName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code_sent: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captcha_response: Option<TokenResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_response: Option<TokenResponse>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub oversize_fields: Vec<&'static str>,
    /// Rules whose match deadbolt could not decide (deadbolt; `action` is
    /// UNKNOWN when they could have changed it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undetermined: Vec<Undetermined>,
    /// Managed rule groups this decision went through, evaluated by
    /// approximation (deadbolt).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approximations: Vec<String>,
}

impl Decision {
    pub fn is_blocked(&self) -> bool {
        self.action == Outcome::Block
    }

    pub fn is_allowed(&self) -> bool {
        self.action == Outcome::Allow
    }

    /// Whether the request was stopped before the protected resource: blocked,
    /// or sent a CAPTCHA or challenge it had no token for.
    pub fn is_stopped(&self) -> bool {
        matches!(
            self.action,
            Outcome::Block | Outcome::Captcha | Outcome::Challenge
        )
    }

    /// Label names, in the order they were added.
    pub fn label_names(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|l| l.name.as_str())
    }
}
