//! The compiled web ACL: what the loaders build from CloudFormation, Terraform
//! or the WAFv2 API's JSON, ready to evaluate (regexes compiled, IP sets as
//! prefix lists, rules sorted by priority, labels fully qualified).

use std::sync::Arc;

use ipnet::IpNet;
use serde::Serialize;

use super::transform::Transforms;
use crate::doc::Pos;

/// Whether the web ACL protects CloudFront distributions or regional resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    Regional,
    Cloudfront,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Regional => "REGIONAL",
            Scope::Cloudfront => "CLOUDFRONT",
        }
    }
}

/// A rule action (and the web ACL's outcome).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    Allow,
    Block,
    Count,
    Captcha,
    Challenge,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "ALLOW",
            Action::Block => "BLOCK",
            Action::Count => "COUNT",
            Action::Captcha => "CAPTCHA",
            Action::Challenge => "CHALLENGE",
        }
    }
}

/// A compiled web ACL.
#[derive(Debug)]
pub struct WebAcl {
    pub name: String,
    /// CloudFormation logical id, Terraform address, or the API's `Id`.
    pub id: String,
    pub arn: Option<String>,
    pub scope: Scope,
    /// File the web ACL was read from and where it starts.
    pub file: String,
    pub pos: Pos,
    pub default_action: Action,
    /// The default action's custom response code, when it blocks with one.
    pub default_response_code: Option<u16>,
    /// Sorted by priority.
    pub rules: Vec<Rule>,
    pub captcha_immunity_s: u64,
    pub challenge_immunity_s: u64,
    /// How many body bytes AWS WAF forwards for inspection (8 KB regional, 16 KB
    /// to 64 KB CloudFront).
    pub body_limit: usize,
    /// `awswaf:ACCOUNT:webacl:NAME:`
    pub label_prefix: String,
    /// Everything in this web ACL that deadbolt evaluates by approximation
    /// (managed rule groups), to be shown with every result.
    pub approximations: Vec<Approximation>,
    /// Number of rate-based rule instances (each use of a rate-based rule,
    /// including inside each rule group reference, is one instance).
    pub rate_instances: usize,
}

/// A part of the web ACL evaluated by approximation rather than by AWS's exact
/// (private) logic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Approximation {
    pub rule: String,
    pub note: String,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub priority: i64,
    pub pos: Pos,
    pub body: RuleBody,
    /// Fully qualified labels added when the rule matches.
    pub labels: Vec<String>,
    pub captcha_immunity_s: Option<u64>,
    pub challenge_immunity_s: Option<u64>,
    /// `Block: {CustomResponse: {ResponseCode}}`: the status sent when it blocks.
    pub block_response_code: Option<u16>,
}

#[derive(Debug)]
pub enum RuleBody {
    Match {
        statement: Statement,
        action: Action,
    },
    Rate {
        rate: RateRule,
        action: Action,
    },
    /// A RuleGroupReferenceStatement or ManagedRuleGroupStatement (web ACL level
    /// only).
    Group(GroupRef),
}

#[derive(Debug)]
pub struct GroupRef {
    pub group: Arc<RuleGroup>,
    /// `OverrideAction: Count`: the group's terminating result becomes Count.
    pub count_override: bool,
    /// RuleActionOverrides: rule name to the action used instead.
    pub overrides: Vec<(String, Action)>,
    /// Legacy ExcludedRules: these rules count instead of acting.
    pub excluded: Vec<String>,
    pub scope_down: Option<Statement>,
    /// Index of this reference's first rate-based rule instance.
    pub rate_base: usize,
}

#[derive(Debug)]
pub struct RuleGroup {
    pub name: String,
    /// ARN or, for a group defined in the same template, its logical id.
    pub id: String,
    pub kind: GroupKind,
    /// Regular and rate-based rules only, sorted by priority.
    pub rules: Vec<Rule>,
    /// `awswaf:ACCOUNT:rulegroup:NAME:` or `awswaf:managed:aws:NAMESPACE:`.
    pub label_prefix: String,
    pub rate_rules: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupKind {
    Custom,
    /// An AWS managed rule group modelled by deadbolt (an approximation).
    Managed {
        vendor: String,
        name: String,
    },
    /// A managed rule group deadbolt does not model: evaluating it is unknown.
    Unmodelled {
        vendor: String,
        name: String,
    },
}

#[derive(Debug)]
pub struct RateRule {
    pub limit: u64,
    pub window_s: u64,
    pub key: RateKey,
    pub scope_down: Option<Statement>,
    /// Instance index within its container (web ACL or rule group).
    pub instance: usize,
}

#[derive(Debug)]
pub enum RateKey {
    Ip,
    ForwardedIp(ForwardedIp),
    Constant,
    Custom(Vec<CustomKey>),
}

impl RateKey {
    pub fn log_name(&self) -> &'static str {
        match self {
            RateKey::Ip => "IP",
            RateKey::ForwardedIp(_) => "FORWARDED_IP",
            RateKey::Constant => "CONSTANT",
            RateKey::Custom(_) => "CUSTOMKEYS",
        }
    }
}

#[derive(Debug)]
pub enum CustomKey {
    Header {
        name: String,
        transforms: Transforms,
    },
    Cookie {
        name: String,
        transforms: Transforms,
    },
    QueryArgument {
        name: String,
        transforms: Transforms,
    },
    QueryString {
        transforms: Transforms,
    },
    UriPath {
        transforms: Transforms,
    },
    HttpMethod,
    Ip,
    ForwardedIp(ForwardedIp),
    LabelNamespace(String),
    Ja3 {
        fallback_match: bool,
    },
    Ja4 {
        fallback_match: bool,
    },
    Asn,
}

/// ForwardedIPConfig: the header to read the client address from and what a
/// malformed address means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardedIp {
    pub header: String,
    pub fallback_match: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    First,
    Last,
    Any,
}

#[derive(Debug)]
pub enum Statement {
    Inspect(Box<Inspection>),
    Geo {
        countries: Vec<String>,
        forwarded: Option<ForwardedIp>,
    },
    IpSet {
        set: Arc<IpSet>,
        forwarded: Option<(ForwardedIp, Position)>,
    },
    Label {
        scope: LabelScope,
        key: String,
    },
    Asn {
        asns: Vec<u32>,
        forwarded: Option<ForwardedIp>,
    },
    And(Vec<Statement>),
    Or(Vec<Statement>),
    Not(Box<Statement>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelScope {
    Label,
    Namespace,
}

#[derive(Debug)]
pub struct IpSet {
    pub name: String,
    pub nets: Vec<IpNet>,
}

impl IpSet {
    pub fn contains(&self, ip: &std::net::IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }
}

/// A statement that inspects one request component.
#[derive(Debug)]
pub struct Inspection {
    pub field: FieldToMatch,
    pub transforms: Transforms,
    pub test: Test,
}

#[derive(Debug)]
pub enum Test {
    Bytes {
        constraint: Positional,
        needle: Vec<u8>,
    },
    Sqli {
        high: bool,
    },
    Xss,
    Size {
        op: Comparison,
        size: u64,
    },
    Regex(Arc<regex::bytes::Regex>),
    RegexSet {
        name: String,
        regexes: Arc<Vec<regex::bytes::Regex>>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positional {
    Exactly,
    StartsWith,
    EndsWith,
    Contains,
    ContainsWord,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Le,
    Lt,
    Ge,
    Gt,
}

impl Comparison {
    pub fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Comparison::Eq => a == b,
            Comparison::Ne => a != b,
            Comparison::Le => a <= b,
            Comparison::Lt => a < b,
            Comparison::Ge => a >= b,
            Comparison::Gt => a > b,
        }
    }
}

/// What OversizeHandling says to do with a component over the inspection limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oversize {
    Continue,
    Match,
    NoMatch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchScope {
    All,
    Key,
    Value,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPattern {
    All,
    Included(Vec<String>),
    Excluded(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonFallback {
    Match,
    NoMatch,
    EvaluateAsString,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldToMatch {
    /// Header name, lower-cased.
    SingleHeader(String),
    /// Argument name, lower-cased.
    SingleQueryArgument(String),
    AllQueryArguments,
    UriPath,
    QueryString,
    Method,
    Body {
        oversize: Oversize,
    },
    JsonBody {
        /// `None` for `All`; JSON pointers otherwise.
        paths: Option<Vec<String>>,
        scope: MatchScope,
        /// `None`: evaluate what parsed before the error.
        invalid_fallback: Option<JsonFallback>,
        oversize: Oversize,
    },
    Headers {
        pattern: KeyPattern,
        scope: MatchScope,
        oversize: Oversize,
    },
    Cookies {
        pattern: KeyPattern,
        scope: MatchScope,
        oversize: Oversize,
    },
    HeaderOrder {
        oversize: Oversize,
    },
    Ja3 {
        fallback_match: bool,
    },
    Ja4 {
        fallback_match: bool,
    },
    UriFragment {
        fallback_match: bool,
    },
}

impl FieldToMatch {
    /// The `location` reported in match details (WAF log vocabulary; AWS logs
    /// JSON body locations as UNKNOWN).
    pub fn location(&self) -> &'static str {
        match self {
            FieldToMatch::SingleHeader(_) | FieldToMatch::Headers { .. } => "HEADER",
            FieldToMatch::SingleQueryArgument(_) => "SINGLE_QUERY_ARG",
            FieldToMatch::AllQueryArguments => "ALL_QUERY_ARGS",
            FieldToMatch::UriPath => "URI",
            FieldToMatch::QueryString => "QUERY_STRING",
            FieldToMatch::Method => "METHOD",
            FieldToMatch::Body { .. } => "BODY",
            FieldToMatch::JsonBody { .. } => "UNKNOWN",
            FieldToMatch::Cookies { .. } => "COOKIE",
            FieldToMatch::HeaderOrder { .. } => "HEADER_ORDER",
            FieldToMatch::Ja3 { .. } => "JA3_FINGERPRINT",
            FieldToMatch::Ja4 { .. } => "JA4_FINGERPRINT",
            FieldToMatch::UriFragment { .. } => "URI_FRAGMENT",
        }
    }
}
