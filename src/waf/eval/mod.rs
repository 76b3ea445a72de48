//! Evaluating a web ACL against one request with AWS WAFv2's semantics: rules in
//! priority order; Allow and Block stop; Count labels and goes on; CAPTCHA and
//! Challenge stop unless the request has a valid token; rule groups with their
//! overrides; the default action when nothing stops (`Default_Action`).
//!
//! Statements are three-valued: a statement whose answer depends on something
//! the request does not say (its country, a timestamp for a rate limit, a managed
//! rule group deadbolt does not model) is undetermined. The decision is still
//! given when every possible answer leads to the same action; otherwise it is
//! `UNKNOWN`, naming the rules and why — never a silent "no match".

mod rate_rules;
mod statements;

use super::decision::{
    Decision, ExcludedRule, LabelName, MatchDetail, MatchedRule, Outcome, RateBasedEntry,
    RuleGroupEntry, RuleType, TokenResponse, Undetermined,
};
use super::fields::View;
use super::labels::LabelSet;
use super::rate::RateState;
use super::request::{Request, TokenState};
use crate::waf::acl::{Action, GroupKind, GroupRef, Rule, RuleBody, WebAcl};

/// The default action's rule id in WAF logs.
pub const DEFAULT_ACTION_ID: &str = "Default_Action";

enum Tri {
    No,
    Yes(Vec<MatchDetail>),
    Unknown(String),
}

/// What applying a rule's action to its match did.
enum Applied {
    NoMatch,
    Counted(MatchedRule),
    Terminated(Terminal),
    /// Undetermined; the action it would take if it terminates.
    Unknown(String, Option<Action>),
}

struct Terminal {
    action: Action,
    rule: MatchedRule,
    response_code: Option<u16>,
    captcha: Option<TokenResponse>,
    challenge: Option<TokenResponse>,
}

struct Ctx<'a> {
    acl: &'a WebAcl,
    view: View<'a>,
    labels: LabelSet,
    non_terminating: Vec<MatchedRule>,
    groups: Vec<RuleGroupEntry>,
    rate_list: Vec<RateBasedEntry>,
    undetermined: Vec<Undetermined>,
    /// Actions an undetermined rule before the terminating one would have taken
    /// (`None`: any).
    pending: Vec<Option<Action>>,
    approximations: Vec<String>,
}

impl WebAcl {
    /// Evaluates one request. `state` carries rate-based rule counts between
    /// requests: share one across requests in timestamp order.
    pub fn evaluate(&self, req: &Request, state: &mut RateState) -> Decision {
        let mut cx = Ctx {
            acl: self,
            view: View::new(req, self.body_limit),
            labels: LabelSet::default(),
            non_terminating: Vec::new(),
            groups: Vec::new(),
            rate_list: Vec::new(),
            undetermined: Vec::new(),
            pending: Vec::new(),
            approximations: Vec::new(),
        };
        for l in &req.labels {
            cx.labels.add(l);
        }
        let mut terminal: Option<(Terminal, String, RuleType)> = None;
        for rule in &self.rules {
            let stop = match &rule.body {
                RuleBody::Match { statement, action } => {
                    let mut geo = Vec::new();
                    let tri = cx.statement(statement, &self.label_prefix, &mut geo);
                    let applied = cx.act(rule, tri, *action);
                    cx.add_labels(geo);
                    cx.record_top(rule, applied, RuleType::Regular)
                }
                RuleBody::Rate { rate, action } => {
                    let tri = cx.rate(rule, rate, rate.instance, state, &self.label_prefix);
                    let applied = cx.act(rule, tri, *action);
                    cx.record_top(rule, applied, RuleType::RateBased)
                }
                RuleBody::Group(g) => cx.group(rule, g, state),
            };
            if let Some(t) = stop {
                terminal = Some(t);
                break;
            }
        }
        cx.finish(req, terminal)
    }
}

impl<'a> Ctx<'a> {
    fn finish(self, req: &Request, terminal: Option<(Terminal, String, RuleType)>) -> Decision {
        let (term, rule_id, rule_type) = terminal.unwrap_or_else(|| {
            (
                Terminal {
                    action: self.acl.default_action,
                    rule: MatchedRule {
                        rule_id: DEFAULT_ACTION_ID.into(),
                        action: self.acl.default_action,
                        overridden_action: None,
                        rule_match_details: Vec::new(),
                        captcha_response: None,
                        challenge_response: None,
                    },
                    response_code: self.acl.default_response_code,
                    captcha: None,
                    challenge: None,
                },
                DEFAULT_ACTION_ID.to_string(),
                RuleType::Regular,
            )
        });
        let determined = self.pending.iter().all(|p| *p == Some(term.action));
        let action = if determined {
            Outcome::from_action(term.action)
        } else {
            Outcome::Unknown
        };
        Decision {
            id: req.id.clone().unwrap_or_else(|| {
                if req.line > 0 {
                    format!("line {}", req.line)
                } else {
                    "-".into()
                }
            }),
            timestamp: req.timestamp,
            action,
            terminating_rule_id: rule_id,
            terminating_rule_type: rule_type,
            terminating_rule_match_details: term.rule.rule_match_details,
            rule_group_list: self.groups,
            rate_based_rule_list: self.rate_list,
            non_terminating_matching_rules: self.non_terminating,
            labels: self
                .labels
                .sure
                .into_iter()
                .map(|name| LabelName { name })
                .collect(),
            response_code_sent: term.response_code,
            captcha_response: term.captcha,
            challenge_response: term.challenge,
            oversize_fields: self.view.oversize_fields.into_inner(),
            undetermined: self.undetermined,
            approximations: self.approximations,
        }
    }

    fn add_labels(&mut self, labels: Vec<(String, bool)>) {
        for (l, sure) in labels {
            if sure {
                self.labels.add(&l);
            } else {
                self.labels.add_maybe(&l);
            }
        }
    }

    /// Records a web ACL level rule's outcome; the terminating rule when it stops.
    fn record_top(
        &mut self,
        rule: &Rule,
        applied: Applied,
        rule_type: RuleType,
    ) -> Option<(Terminal, String, RuleType)> {
        match applied {
            Applied::NoMatch => None,
            Applied::Counted(m) => {
                self.non_terminating.push(m);
                None
            }
            Applied::Terminated(t) => Some((t, rule.name.clone(), rule_type)),
            Applied::Unknown(reason, action) => {
                self.undetermined.push(Undetermined {
                    rule_id: rule.name.clone(),
                    reason,
                });
                if action.is_some() {
                    self.pending.push(action);
                }
                None
            }
        }
    }

    /// Applies `action` to a rule's match result: labels, tokens, counting.
    fn act(&mut self, rule: &Rule, tri: Tri, action: Action) -> Applied {
        let matched = |details: Vec<MatchDetail>, action: Action| MatchedRule {
            rule_id: rule.name.clone(),
            action,
            overridden_action: None,
            rule_match_details: details,
            captcha_response: None,
            challenge_response: None,
        };
        match tri {
            Tri::No => Applied::NoMatch,
            Tri::Unknown(reason) => {
                for l in &rule.labels {
                    self.labels.add_maybe(l);
                }
                let terminates = match action {
                    Action::Count => false,
                    Action::Captcha | Action::Challenge => self.token(rule, action) != Some(true),
                    _ => true,
                };
                Applied::Unknown(reason, terminates.then_some(action))
            }
            Tri::Yes(details) => {
                for l in &rule.labels {
                    self.labels.add(l);
                }
                match action {
                    Action::Count => Applied::Counted(matched(details, Action::Count)),
                    Action::Allow | Action::Block => Applied::Terminated(Terminal {
                        action,
                        rule: matched(details, action),
                        response_code: if action == Action::Block {
                            rule.block_response_code
                        } else {
                            None
                        },
                        captcha: None,
                        challenge: None,
                    }),
                    Action::Captcha | Action::Challenge => {
                        let (state, code) = if action == Action::Captcha {
                            (self.view.req.tokens.captcha, 405)
                        } else {
                            (self.view.req.tokens.challenge, 202)
                        };
                        let solved = match state {
                            TokenState::SolvedAt(t) => t / 1000,
                            _ => 0,
                        };
                        match self.token(rule, action) {
                            Some(true) => {
                                let mut m = matched(details, action);
                                let resp = Some(TokenResponse {
                                    response_code: 0,
                                    solve_timestamp: solved,
                                    failure_reason: None,
                                });
                                if action == Action::Captcha {
                                    m.captcha_response = resp;
                                } else {
                                    m.challenge_response = resp;
                                }
                                Applied::Counted(m)
                            }
                            Some(false) => {
                                let resp = Some(TokenResponse {
                                    response_code: code,
                                    solve_timestamp: solved,
                                    failure_reason: Some(if state == TokenState::Absent {
                                        "TOKEN_MISSING"
                                    } else {
                                        "TOKEN_EXPIRED"
                                    }),
                                });
                                let (captcha, challenge) = if action == Action::Captcha {
                                    (resp, None)
                                } else {
                                    (None, resp)
                                };
                                Applied::Terminated(Terminal {
                                    action,
                                    rule: matched(details, action),
                                    response_code: Some(code),
                                    captcha,
                                    challenge,
                                })
                            }
                            None => Applied::Unknown(
                                "the request's token has a solve time but the request has no \
                                 timestamp to compare it with"
                                    .into(),
                                Some(action),
                            ),
                        }
                    }
                }
            }
        }
    }

    /// Whether the request's token satisfies a CAPTCHA or Challenge action of
    /// `rule`; `None` when it cannot be told.
    fn token(&self, rule: &Rule, action: Action) -> Option<bool> {
        let req = self.view.req;
        let (state, immunity) = if action == Action::Captcha {
            (
                req.tokens.captcha,
                rule.captcha_immunity_s
                    .unwrap_or(self.acl.captcha_immunity_s),
            )
        } else {
            (
                req.tokens.challenge,
                rule.challenge_immunity_s
                    .unwrap_or(self.acl.challenge_immunity_s),
            )
        };
        match state {
            TokenState::Absent => Some(false),
            TokenState::Valid => Some(true),
            TokenState::SolvedAt(solved) => {
                let now = req.timestamp?;
                let age_s = (now - solved) / 1000;
                Some(age_s >= 0 && age_s as u64 <= immunity)
            }
        }
    }

    fn group(
        &mut self,
        rule: &Rule,
        g: &GroupRef,
        state: &mut RateState,
    ) -> Option<(Terminal, String, RuleType)> {
        let group = &*g.group;
        let rule_type = match group.kind {
            GroupKind::Custom => RuleType::Group,
            _ => RuleType::ManagedRuleGroup,
        };
        if let Some(sd) = &g.scope_down {
            let mut geo = Vec::new();
            let tri = self.statement(sd, &self.acl.label_prefix.clone(), &mut geo);
            self.add_labels(geo);
            match tri {
                Tri::No => return None,
                Tri::Yes(_) => {}
                Tri::Unknown(reason) => {
                    self.undetermined.push(Undetermined {
                        rule_id: rule.name.clone(),
                        reason: format!("scope-down statement: {reason}"),
                    });
                    self.labels.add_maybe(&group.label_prefix);
                    if !g.count_override {
                        self.pending.push(None);
                    }
                    return None;
                }
            }
        }
        match &group.kind {
            GroupKind::Unmodelled { vendor, name } => {
                self.undetermined.push(Undetermined {
                    rule_id: rule.name.clone(),
                    reason: format!(
                        "managed rule group {vendor}/{name} is not modelled by deadbolt, so what it \
                         does to this request is unknown"
                    ),
                });
                self.labels.add_maybe(&group.label_prefix);
                if !g.count_override {
                    self.pending.push(None);
                }
                return None;
            }
            GroupKind::Managed { vendor, name } => {
                let note = format!("{}: {vendor}/{name} (approximation)", rule.name);
                if !self.approximations.contains(&note) {
                    self.approximations.push(note);
                }
            }
            GroupKind::Custom => {}
        }
        let mut entry = RuleGroupEntry {
            rule_group_id: group.id.clone(),
            terminating_rule: None,
            non_terminating_matching_rules: Vec::new(),
            excluded_rules: None,
        };
        let mut stop = None;
        for inner in &group.rules {
            let excluded = g.excluded.contains(&inner.name);
            let override_to = g
                .overrides
                .iter()
                .find(|(n, _)| *n == inner.name)
                .map(|(_, a)| *a);
            let (own, tri) = match &inner.body {
                RuleBody::Match { statement, action } => {
                    let mut geo = Vec::new();
                    let tri = self.statement(statement, &group.label_prefix, &mut geo);
                    self.add_labels(geo);
                    (*action, tri)
                }
                RuleBody::Rate { rate, action } => {
                    let tri = self.rate(
                        inner,
                        rate,
                        g.rate_base + rate.instance,
                        state,
                        &group.label_prefix,
                    );
                    (*action, tri)
                }
                RuleBody::Group(_) => continue,
            };
            let effective = if excluded {
                Action::Count
            } else {
                override_to.unwrap_or(own)
            };
            let overridden = (effective != own).then_some(own);
            match self.act(inner, tri, effective) {
                Applied::NoMatch => {}
                Applied::Counted(mut m) => {
                    m.overridden_action = overridden;
                    if excluded {
                        entry
                            .excluded_rules
                            .get_or_insert_with(Vec::new)
                            .push(ExcludedRule {
                                exclusion_type: "EXCLUDED_AS_COUNT",
                                rule_id: inner.name.clone(),
                            });
                    }
                    entry.non_terminating_matching_rules.push(m);
                }
                Applied::Terminated(mut t) => {
                    t.rule.overridden_action = overridden;
                    entry.terminating_rule = Some(t.rule.clone());
                    if g.count_override {
                        // The group's result is counted at the web ACL level.
                        self.non_terminating.push(MatchedRule {
                            rule_id: rule.name.clone(),
                            action: Action::Count,
                            overridden_action: Some(t.action),
                            rule_match_details: t.rule.rule_match_details.clone(),
                            captcha_response: None,
                            challenge_response: None,
                        });
                    } else {
                        stop = Some((t, rule.name.clone(), rule_type));
                    }
                    break;
                }
                Applied::Unknown(reason, action) => {
                    self.undetermined.push(Undetermined {
                        rule_id: format!("{}/{}", rule.name, inner.name),
                        reason,
                    });
                    if action.is_some() && !g.count_override {
                        self.pending.push(action);
                    }
                }
            }
        }
        if entry.terminating_rule.is_some() || !entry.non_terminating_matching_rules.is_empty() {
            self.groups.push(entry);
        }
        stop
    }
}
