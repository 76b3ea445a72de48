//! The compiled form of policies: names resolved to slots, functions to an enum,
//! regular expressions built once. Cheap to evaluate many times, from many threads.

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use crate::dsl::ast::{BinOp, Quantifier, Span, Test};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn parse(s: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked, compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub description: String,
    pub remediation: String,
    pub controls: Vec<String>,
    pub references: Vec<String>,
    pub tags: Vec<String>,
    pub blocks: Vec<Block>,
    /// The file the policy came from (`builtin:NAME` for the catalogue).
    pub file: String,
    /// 1-based line of the `policy` keyword.
    pub line: u32,
}

impl Policy {
    /// Whether any block selects this resource type.
    pub fn selects(&self, rtype: &str) -> bool {
        self.blocks.iter().any(|b| b.selects(rtype))
    }

    /// Whether the policy calls a function `pred` accepts anywhere (so a report
    /// can tell the policies of an engine, e.g. the Inspector ones).
    pub fn calls(&self, pred: &dyn Fn(Func) -> bool) -> bool {
        self.blocks.iter().any(|b| {
            b.when.as_ref().is_some_and(|e| e.calls(pred))
                || b.each.as_ref().is_some_and(|(_, e)| e.calls(pred))
                || b.stmts.iter().any(|s| match s {
                    Stmt::Let(_, e) => e.calls(pred),
                    Stmt::Require { cond, message, .. } => {
                        cond.calls(pred)
                            || message.iter().flatten().any(|m| match m {
                                MsgPart::Expr(e) => e.calls(pred),
                                MsgPart::Text(_) => false,
                            })
                    }
                })
        })
    }
}

/// A checked, compiled detection: a rule over log records.
#[derive(Clone, Debug)]
pub struct Detection {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// GuardDuty's severity number (1.0 to 8.9).
    pub score: f64,
    /// The GuardDuty finding type (`Recon:EC2/Portscan`); the id when not given.
    pub finding_type: String,
    /// `NETWORK_CONNECTION`, `AWS_API_CALL`, `DNS_REQUEST` or `PORT_PROBE`.
    pub action: String,
    pub description: String,
    pub remediation: String,
    pub controls: Vec<String>,
    pub references: Vec<String>,
    pub tags: Vec<String>,
    pub file: String,
    pub line: u32,
    /// The detection's id in its source, for diagnostics about the whole rule.
    pub span: Span,
    pub source: crate::schema::logs::LogSource,
    /// `where`: which records count (slot 0 is the record).
    pub filter: Option<Expr>,
    pub lets: Vec<(usize, Expr)>,
    /// `group by` keys; empty for a detection without grouping (one alert per resource).
    pub keys: Vec<Expr>,
    /// `window`, in milliseconds; `None` without grouping.
    pub window_ms: Option<i64>,
    /// `alert when`: evaluated over the window, with `Expr::Agg` for aggregates.
    pub alert: Option<Expr>,
    /// The aggregates that `alert` and `message` use, in `Expr::Agg` order.
    pub aggregates: Vec<Aggregate>,
    pub resource: Option<Expr>,
    pub message: Option<Vec<MsgPart>>,
    /// Threat lists the detection names (`threatlist("ips")`).
    pub lists: Vec<String>,
    /// Whether it needs `--aws-ip-ranges`.
    pub uses_aws_ranges: bool,
    pub slots: usize,
}

/// An aggregate over the records of a window.
#[derive(Clone, Debug)]
pub enum Aggregate {
    Count,
    CountDistinct(Expr),
    Sum(Expr),
    Min(Expr),
    Max(Expr),
}

/// One `for resource ... as x` block.
#[derive(Clone, Debug)]
pub struct Block {
    /// Resource types, exact or with `*` wildcards (`AWS::RDS::*`).
    pub types: Vec<String>,
    pub when: Option<Expr>,
    /// `each x in LIST`: the slot of `x` and the list; one result per item.
    pub each: Option<(usize, Expr)>,
    pub stmts: Vec<Stmt>,
    /// Number of variable slots (slot 0 is the resource).
    pub slots: usize,
}

impl Block {
    pub fn selects(&self, rtype: &str) -> bool {
        self.types.iter().any(|t| type_matches(t, rtype))
    }
}

/// Whether a resource type matches a selected type, where `*` in the selected
/// type stands for any run of characters (`AWS::RDS::*`, `aws_db_*`).
pub fn type_matches(pattern: &str, rtype: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == rtype;
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = rtype.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let last = parts.pop().unwrap_or("");
    for p in parts {
        match rest.find(p) {
            Some(at) => rest = &rest[at + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Let(usize, Expr),
    Require {
        cond: Expr,
        message: Option<Vec<MsgPart>>,
        /// The condition's source text, for default messages and coverage.
        text: String,
        span: Span,
        /// Slots of the condition's quantifier variables that the message
        /// reads: reset to missing first, so that a quantifier the condition
        /// never reached reads as missing rather than a stale value.
        witnesses: Vec<usize>,
    },
}

#[derive(Clone, Debug)]
pub enum MsgPart {
    Text(String),
    Expr(Expr),
}

/// A folded constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<Const>),
}

/// Built-in functions. Engine namespaces (`kms.*`, `waf.*`) add variants later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Len,
    Lower,
    Upper,
    StartsWith,
    EndsWith,
    Contains,
    ToNumber,
    ToString,
    ToList,
    Keys,
    Values,
    Json,
    CidrContains,
    CidrOverlaps,
    CidrIsWorld,
    CidrPrefix,
    IsPrivateIp,
    Resources,
    RefersTo,
    Deref,
    Coalesce,
    Known,
    Configured,
    KmsKey,
    KmsAllows,
    KmsDecrypts,
    KmsSample,
    /// `threatlist("NAME")`: the list given with `--threat-list NAME=PATH`.
    ThreatList,
    /// `aws_ip_ranges()`: the ranges of `--aws-ip-ranges`.
    AwsIpRanges,
    /// Shannon entropy in bits per character.
    Entropy,
    UrlDecode,
    /// The first label of a domain name (`abc` of `abc.example.com`).
    FirstLabel,
    /// A domain name without its first label.
    ParentDomain,
    /// Whether the value is an IPv4 or IPv6 address.
    IsIp,
    WafFirstNotBlocked,
    WafFirstNotAllowed,
    SecretsFind,
    SecretsEntropy,
    Unknown,
    Reachable,
    Vulnerabilities,
}

#[derive(Clone, Debug)]
pub enum Expr {
    Const(Const),
    List(Vec<Expr>),
    Var(usize),
    Current,
    /// `name` as written and its snake_case form (for Terraform attributes).
    Field(Box<Expr>, FieldName),
    Index(Box<Expr>, Box<Expr>),
    Wildcard(Box<Expr>),
    Filter(Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Matches(Box<Expr>, Regex),
    Test(Box<Expr>, Test, bool),
    Quant(Quantifier, usize, Box<Expr>, Box<Expr>),
    /// The value of a detection's aggregate (index into `Detection::aggregates`).
    Agg(usize),
    /// A file-level constant or predicate body, lowered once per block and
    /// shared by every use in it.
    Shared(Arc<Expr>),
    /// A predicate call: each argument is stored in its slot, then the body runs.
    Bind(Vec<(usize, Expr)>, Arc<Expr>),
}

impl Expr {
    /// Whether the expression calls a function `pred` accepts. Recursion is
    /// bounded by the parser's nesting limit; a shared body (a constant or a
    /// predicate used several times) is walked once.
    pub fn calls(&self, pred: &dyn Fn(Func) -> bool) -> bool {
        self.calls_in(pred, &mut std::collections::HashSet::new())
    }

    fn calls_in(
        &self,
        pred: &dyn Fn(Func) -> bool,
        seen: &mut std::collections::HashSet<*const Expr>,
    ) -> bool {
        let shared = |body: &Arc<Expr>, seen: &mut std::collections::HashSet<*const Expr>| {
            seen.insert(Arc::as_ptr(body)) && body.calls_in(pred, seen)
        };
        match self {
            Expr::Const(_) | Expr::Var(_) | Expr::Current | Expr::Agg(_) => false,
            Expr::List(xs) => xs.iter().any(|x| x.calls_in(pred, seen)),
            Expr::Call(f, args) => pred(*f) || args.iter().any(|x| x.calls_in(pred, seen)),
            Expr::Field(x, _)
            | Expr::Wildcard(x)
            | Expr::Not(x)
            | Expr::Neg(x)
            | Expr::Matches(x, _)
            | Expr::Test(x, _, _) => x.calls_in(pred, seen),
            Expr::Index(a, b)
            | Expr::Filter(a, b)
            | Expr::Bin(_, a, b)
            | Expr::Quant(_, _, a, b) => a.calls_in(pred, seen) || b.calls_in(pred, seen),
            Expr::Shared(body) => shared(body, seen),
            Expr::Bind(args, body) => {
                args.iter().any(|(_, x)| x.calls_in(pred, seen)) || shared(body, seen)
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct FieldName {
    pub name: String,
    /// `KmsKeyId` → `kms_key_id`; `None` when it equals `name`.
    pub snake: Option<String>,
    /// For a field of a flow log record: its index in `schema::logs::FLOW_FIELDS`.
    pub flow: Option<u16>,
}

impl FieldName {
    pub fn new(name: &str) -> Self {
        let snake = to_snake_case(name);
        FieldName {
            name: name.to_string(),
            snake: (snake != name).then_some(snake),
            flow: None,
        }
    }
}

/// `SSEAlgorithm` → `sse_algorithm`, `KmsKeyId` → `kms_key_id`.
pub fn to_snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_snake_case;

    #[test]
    fn type_patterns() {
        use super::type_matches;
        assert!(type_matches("AWS::RDS::*", "AWS::RDS::DBInstance"));
        assert!(!type_matches("AWS::RDS::*", "AWS::RDSX::DBInstance"));
        assert!(type_matches("aws_db_*", "aws_db_instance"));
        assert!(type_matches("AWS::*::Bucket", "AWS::S3::Bucket"));
        assert!(!type_matches("AWS::*::Bucket", "AWS::S3::BucketPolicy"));
        assert!(type_matches("*Bucket*", "AWS::S3::BucketPolicy"));
        assert!(!type_matches("a*a", "a"));
        assert!(type_matches("a*a", "aa"));
        assert!(type_matches("AWS::S3::Bucket", "AWS::S3::Bucket"));
        assert!(!type_matches("AWS::S3::Bucket", "AWS::S3::BucketPolicy"));
    }

    #[test]
    fn snake_case_matches_terraform_names() {
        assert_eq!(to_snake_case("KmsKeyId"), "kms_key_id");
        assert_eq!(to_snake_case("SSEAlgorithm"), "sse_algorithm");
        assert_eq!(to_snake_case("Encrypted"), "encrypted");
        assert_eq!(
            to_snake_case("SqsManagedSseEnabled"),
            "sqs_managed_sse_enabled"
        );
        assert_eq!(to_snake_case("StorageEncrypted"), "storage_encrypted");
        assert_eq!(to_snake_case("already_snake"), "already_snake");
        assert_eq!(to_snake_case("EnableKeyRotation"), "enable_key_rotation");
    }
}
