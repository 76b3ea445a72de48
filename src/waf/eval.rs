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

use std::net::IpAddr;

use super::acl::{
    Action, CustomKey, ForwardedIp, GroupKind, GroupRef, Inspection, Position, RateKey, RateRule,
    Rule, RuleBody, Statement, WebAcl,
};
use super::decision::{
    Decision, ExcludedRule, LabelName, MatchDetail, MatchedRule, Outcome, RateBasedEntry,
    RuleGroupEntry, RuleType, TokenResponse, Undetermined,
};
use super::fields::{Extract, View};
use super::inspect::{clip, test_value};
use super::labels::{Has, LabelSet};
use super::rate::{Count, RateState};
use super::request::{Request, TokenState};

/// The default action's rule id in WAF logs.
pub const DEFAULT_ACTION_ID: &str = "Default_Action";

/// Most addresses of a forwarded header inspected with position ANY (AWS: the
/// last 10).
const FORWARDED_ANY_MAX: usize = 10;

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

    fn statement(&mut self, s: &Statement, prefix: &str, geo: &mut Vec<(String, bool)>) -> Tri {
        match s {
            Statement::Inspect(i) => self.inspect(i),
            Statement::Geo {
                countries,
                forwarded,
            } => self.geo(countries, forwarded.as_ref(), geo),
            Statement::IpSet { set, forwarded } => {
                let addrs = match forwarded {
                    None => match self.view.req.client_ip {
                        Some(ip) => vec![ip],
                        None => return Tri::Unknown("the request has no clientIp".into()),
                    },
                    Some((f, pos)) => match self.forwarded_addrs(f, *pos) {
                        Forwarded::Absent => return Tri::No,
                        Forwarded::Malformed => return fallback(f),
                        Forwarded::Addrs(a) => a,
                    },
                };
                if addrs.iter().any(|ip| set.contains(ip)) {
                    Tri::Yes(Vec::new())
                } else {
                    Tri::No
                }
            }
            Statement::Label { scope, key } => match self.labels.lookup(*scope, key, prefix) {
                Has::Yes => Tri::Yes(Vec::new()),
                Has::No => Tri::No,
                Has::Maybe => Tri::Unknown(format!(
                    "label \"{key}\" may have been added by a rule whose match is undetermined"
                )),
            },
            Statement::Asn { asns, forwarded } => {
                if forwarded.is_some() {
                    return Tri::Unknown(
                        "the ASN of a forwarded address is not known to deadbolt".into(),
                    );
                }
                match self.view.req.asn {
                    Some(a) if asns.contains(&a) => Tri::Yes(Vec::new()),
                    Some(_) => Tri::No,
                    None => Tri::Unknown("the request has no asn".into()),
                }
            }
            Statement::And(items) => {
                let mut details = Vec::new();
                let mut unknown = None;
                for it in items {
                    match self.statement(it, prefix, geo) {
                        Tri::No => return Tri::No,
                        Tri::Yes(d) => details.extend(d),
                        Tri::Unknown(r) => {
                            unknown.get_or_insert(r);
                        }
                    }
                }
                match unknown {
                    Some(r) => Tri::Unknown(r),
                    None => Tri::Yes(details),
                }
            }
            Statement::Or(items) => {
                let mut unknown = None;
                for it in items {
                    match self.statement(it, prefix, geo) {
                        Tri::Yes(d) => return Tri::Yes(d),
                        Tri::No => {}
                        Tri::Unknown(r) => {
                            unknown.get_or_insert(r);
                        }
                    }
                }
                match unknown {
                    Some(r) => Tri::Unknown(r),
                    None => Tri::No,
                }
            }
            Statement::Not(inner) => match self.statement(inner, prefix, geo) {
                Tri::Yes(_) => Tri::No,
                Tri::No => Tri::Yes(Vec::new()),
                u @ Tri::Unknown(_) => u,
            },
        }
    }

    fn inspect(&self, i: &Inspection) -> Tri {
        let location = i.field.location();
        match self.view.extract(&i.field) {
            Extract::Verdict(true) => Tri::Yes(Vec::new()),
            Extract::Verdict(false) => Tri::No,
            Extract::Items(items) => {
                for item in items {
                    let value = i.transforms.apply(&item.value);
                    if let Some(d) = test_value(&i.test, &value) {
                        let name = item.name.map(|n| clip(n.as_bytes()));
                        return Tri::Yes(vec![d.at(location, name)]);
                    }
                }
                Tri::No
            }
        }
    }

    fn geo(
        &self,
        countries: &[String],
        forwarded: Option<&ForwardedIp>,
        labels: &mut Vec<(String, bool)>,
    ) -> Tri {
        let req = self.view.req;
        let (source, country, region) = match forwarded {
            Some(f) => {
                match self.forwarded_addrs(f, Position::First) {
                    Forwarded::Absent => return Tri::No,
                    Forwarded::Malformed => return fallback(f),
                    Forwarded::Addrs(_) => {}
                }
                ("forwardedip", &req.forwarded_country, &req.forwarded_region)
            }
            None => ("clientip", &req.country, &req.region),
        };
        let Some(country) = country else {
            labels.push((format!("awswaf:{source}:geo:"), false));
            return Tri::Unknown(if source == "clientip" {
                "the request has no country (WAF logs always do; add \"country\" to the fixture)"
                    .into()
            } else {
                "the request has no forwardedCountry for its forwarded address".into()
            });
        };
        let code = if country.is_empty() || country == "-" {
            "XX"
        } else {
            country.as_str()
        };
        labels.push((format!("awswaf:{source}:geo:country:{code}"), true));
        let region = match region {
            Some(r) if r.contains('-') => r.clone(),
            Some(r) => format!("{code}-{r}"),
            None => format!("{code}-XX"),
        };
        labels.push((format!("awswaf:{source}:geo:region:{region}"), true));
        if countries.iter().any(|c| c == code) {
            Tri::Yes(Vec::new())
        } else {
            Tri::No
        }
    }

    fn forwarded_addrs(&self, f: &ForwardedIp, pos: Position) -> Forwarded {
        let Some(value) = self.view.req.header(&f.header) else {
            return Forwarded::Absent;
        };
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let pick: Vec<&str> = match pos {
            Position::First => parts.first().copied().into_iter().collect(),
            Position::Last => parts.last().copied().into_iter().collect(),
            Position::Any => {
                let skip = parts.len().saturating_sub(FORWARDED_ANY_MAX);
                parts[skip..].to_vec()
            }
        };
        let mut addrs = Vec::new();
        let mut malformed = false;
        for p in pick {
            match p.parse::<IpAddr>() {
                Ok(ip) => addrs.push(ip),
                Err(_) => malformed = true,
            }
        }
        if addrs.is_empty() || (malformed && pos != Position::Any) {
            Forwarded::Malformed
        } else {
            Forwarded::Addrs(addrs)
        }
    }

    fn rate(
        &mut self,
        rule: &Rule,
        r: &RateRule,
        instance: usize,
        state: &mut RateState,
        prefix: &str,
    ) -> Tri {
        if let Some(sd) = &r.scope_down {
            let mut geo = Vec::new();
            let tri = self.statement(sd, prefix, &mut geo);
            self.add_labels(geo);
            match tri {
                Tri::No => return Tri::No,
                Tri::Unknown(reason) => {
                    return Tri::Unknown(format!("scope-down statement: {reason}"))
                }
                Tri::Yes(_) => {}
            }
        }
        let (key, shown) = match self.rate_key(&r.key, prefix) {
            Key::Omitted => return Tri::No,
            Key::Fallback(m) => return if m { Tri::Yes(Vec::new()) } else { Tri::No },
            Key::Unknown(reason) => return Tri::Unknown(reason),
            Key::Value(k, shown) => (k, shown),
        };
        match state.record(instance, &key, self.view.req.timestamp, r.limit, r.window_s) {
            Count::Within => Tri::No,
            Count::Undetermined => Tri::Unknown(
                "requests without a timestamp cannot be placed in the rate-based rule's window"
                    .into(),
            ),
            Count::Over => {
                self.rate_list.push(RateBasedEntry {
                    rate_based_rule_id: rule.name.clone(),
                    rate_based_rule_name: rule.name.clone(),
                    limit_key: r.key.log_name(),
                    max_rate_allowed: r.limit,
                    evaluation_window_sec: r.window_s.to_string(),
                    limit_value: shown,
                });
                Tri::Yes(Vec::new())
            }
        }
    }

    fn rate_key(&self, key: &RateKey, prefix: &str) -> Key {
        let req = self.view.req;
        match key {
            RateKey::Constant => Key::Value(Vec::new(), "CONSTANT".into()),
            RateKey::Ip => match req.client_ip {
                Some(ip) => Key::Value(ip.to_string().into_bytes(), ip.to_string()),
                None => Key::Unknown("the request has no clientIp".into()),
            },
            RateKey::ForwardedIp(f) => match self.forwarded_addrs(f, Position::First) {
                Forwarded::Absent => Key::Omitted,
                Forwarded::Malformed => Key::Fallback(f.fallback_match),
                Forwarded::Addrs(a) => Key::Value(a[0].to_string().into_bytes(), a[0].to_string()),
            },
            RateKey::Custom(keys) => {
                let mut bytes = Vec::new();
                let mut shown = Vec::new();
                for k in keys {
                    let part: Vec<u8> = match k {
                        CustomKey::Header { name, transforms } => match req.header(name) {
                            Some(v) => transforms.apply(v.as_bytes()).into_owned(),
                            None => return Key::Omitted,
                        },
                        CustomKey::Cookie { name, transforms } => {
                            match self.view.cookies().iter().find(|(n, _)| n == name) {
                                Some((_, v)) => transforms.apply(v.as_bytes()).into_owned(),
                                None => return Key::Omitted,
                            }
                        }
                        CustomKey::QueryArgument { name, transforms } => match self
                            .view
                            .args()
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        {
                            Some((_, v)) => transforms.apply(v.as_bytes()).into_owned(),
                            None => return Key::Omitted,
                        },
                        CustomKey::QueryString { transforms } => {
                            if req.args.is_empty() {
                                return Key::Omitted;
                            }
                            transforms.apply(req.args.as_bytes()).into_owned()
                        }
                        CustomKey::UriPath { transforms } => {
                            transforms.apply(req.uri.as_bytes()).into_owned()
                        }
                        CustomKey::HttpMethod => req.method.as_bytes().to_vec(),
                        CustomKey::Ip => match req.client_ip {
                            Some(ip) => ip.to_string().into_bytes(),
                            None => return Key::Unknown("the request has no clientIp".into()),
                        },
                        CustomKey::ForwardedIp(f) => match self.forwarded_addrs(f, Position::First)
                        {
                            Forwarded::Addrs(a) => a[0].to_string().into_bytes(),
                            _ => return Key::Omitted,
                        },
                        CustomKey::LabelNamespace(ns) => {
                            let qualified = if ns.starts_with("awswaf:") {
                                ns.clone()
                            } else {
                                format!("{prefix}{ns}")
                            };
                            if self.labels.maybe.iter().any(|m| {
                                m.starts_with(&qualified) || qualified.starts_with(m.as_str())
                            }) {
                                return Key::Unknown(format!(
                                    "labels in {qualified} may have been added by a rule whose \
                                     match is undetermined"
                                ));
                            }
                            let mut ls: Vec<&str> = self
                                .labels
                                .sure
                                .iter()
                                .filter(|l| l.starts_with(&qualified))
                                .map(String::as_str)
                                .collect();
                            if ls.is_empty() {
                                return Key::Omitted;
                            }
                            ls.sort_unstable();
                            ls.join(",").into_bytes()
                        }
                        CustomKey::Ja3 { fallback_match } | CustomKey::Ja4 { fallback_match } => {
                            let v = if matches!(k, CustomKey::Ja3 { .. }) {
                                &req.ja3
                            } else {
                                &req.ja4
                            };
                            match v {
                                Some(v) => v.as_bytes().to_vec(),
                                None if *fallback_match => Vec::new(),
                                None => return Key::Omitted,
                            }
                        }
                        CustomKey::Asn => match req.asn {
                            Some(a) => a.to_string().into_bytes(),
                            None => return Key::Unknown("the request has no asn".into()),
                        },
                    };
                    shown.push(clip(&part));
                    bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
                    bytes.extend_from_slice(&part);
                }
                Key::Value(bytes, shown.join(", "))
            }
        }
    }
}

enum Forwarded {
    Absent,
    Malformed,
    Addrs(Vec<IpAddr>),
}

enum Key {
    /// The request lacks a key component: the rule does not apply to it.
    Omitted,
    /// A malformed forwarded address: the fallback behaviour decides.
    Fallback(bool),
    Unknown(String),
    Value(Vec<u8>, String),
}

fn fallback(f: &ForwardedIp) -> Tri {
    if f.fallback_match {
        Tri::Yes(Vec::new())
    } else {
        Tri::No
    }
}
