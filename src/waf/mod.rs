//! AWS WAFv2 web ACL evaluation.
//!
//! Load a web ACL from CloudFormation, a Terraform plan or the WAFv2 API's JSON
//! ([`load_web_acls`]), then evaluate requests against it with AWS's semantics
//! ([`WebAcl::evaluate`], [`evaluate_corpus`]): rules in priority order, every
//! statement type and request component, the text transformations, labels,
//! rate-based rules over an exact sliding window, rule groups with overrides,
//! and approximations of the most used AWS managed rule groups. Each
//! [`Decision`] has the shape of a WAF log record.
//!
//! Layout: `source/` compiles inputs into the model of `acl`; `request`,
//! `requests_file` read requests; `fields` extracts request components,
//! `transform` transforms them, `inspect` tests them; `labels` and `rate` hold
//! per-request and cross-request state; `eval` runs the rules; `decision` and
//! `report` are the output.

pub mod acl;
pub mod corpus;
pub mod decision;
pub mod error;
mod eval;
pub mod fields;
pub mod inspect;
pub mod json_body;
pub mod labels;
pub mod managed;
pub mod rate;
pub mod report;
pub mod request;
pub mod requests_file;
pub mod source;
pub mod transform;

pub use acl::{Action, Scope, WebAcl};
pub use corpus::{evaluate_corpus, first_not_allowed, first_not_blocked};
pub use decision::{Decision, Outcome, RuleType};
pub use error::WafError;
pub use eval::DEFAULT_ACTION_ID;
pub use rate::RateState;
pub use request::Request;
pub use requests_file::{parse_requests, read_requests, LoggedRequest, Recorded};
pub use source::{load_web_acls, select_web_acl, web_acls_in_template, LoadOptions};

impl WebAcl {
    /// A fresh rate state sized for this web ACL.
    pub fn new_rate_state(&self) -> RateState {
        RateState::new(self.rate_instances)
    }

    /// Whether any decision of this web ACL can involve an approximation.
    pub fn uses_approximations(&self) -> bool {
        !self.approximations.is_empty()
    }

    /// Whether the web ACL has a rate-based rule, directly or in a rule group it
    /// references, that blocks or challenges (a Count-only rate rule limits
    /// nothing).
    pub fn has_rate_based_rule(&self) -> bool {
        use acl::{Action, RuleBody};
        let limits = |r: &acl::Rule| matches!(&r.body, RuleBody::Rate { action, .. } if *action != Action::Count);
        self.rules.iter().any(|r| match &r.body {
            RuleBody::Group(g) => !g.count_override && g.group.rules.iter().any(limits),
            _ => limits(r),
        })
    }
}
