//! Compiling an API-shaped web ACL document into a [`WebAcl`]: rules, actions,
//! labels, rule group references, with every mistake AWS would reject reported
//! at its line (priority clashes, unknown actions, references that resolve to
//! nothing).

use std::collections::HashMap;
use std::sync::Arc;

use crate::doc::{Pos, Value};
use crate::waf::acl::{
    Action, Approximation, GroupKind, GroupRef, Rule, RuleBody, RuleGroup, Scope, WebAcl,
};
use crate::waf::error::WafError;
use crate::waf::labels;
use crate::waf::managed;

use super::refs::{RefKind, RefTable};
use super::value::Reader;
use super::LoadOptions;

/// The default immunity time for CAPTCHA and Challenge tokens (seconds).
pub const DEFAULT_IMMUNITY_S: u64 = 300;

/// Body inspection limits.
pub const REGIONAL_BODY_LIMIT: usize = 8 * 1024;
pub const CLOUDFRONT_BODY_LIMIT: usize = 16 * 1024;

/// Deepest nesting of And/Or/Not accepted (AWS allows far less).
pub const MAX_STATEMENT_DEPTH: usize = 32;

const RULE_KEYS: &[&str] = &[
    "Name",
    "Priority",
    "Statement",
    "Action",
    "OverrideAction",
    "RuleLabels",
    "VisibilityConfig",
    "CaptchaConfig",
    "ChallengeConfig",
];

const ACTIONS: &[&str] = &["Allow", "Block", "Count", "Captcha", "Challenge"];

/// The account id of an ARN (`arn:aws:wafv2:REGION:ACCOUNT:...`).
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// Where a rule lives: directly in the web ACL, or in a rule group.
#[derive(Clone, Copy)]
pub(crate) enum Container<'p> {
    Acl { prefix: &'p str },
    Group { prefix: &'p str },
}

impl Container<'_> {
    pub fn prefix(&self) -> &str {
        match self {
            Container::Acl { prefix } | Container::Group { prefix } => prefix,
        }
    }
}

pub(crate) struct Builder<'a> {
    pub r: Reader<'a>,
    pub refs: &'a RefTable,
    pub opts: &'a LoadOptions,
    /// SearchString is Base64 (the API's JSON) rather than plain (CloudFormation,
    /// Terraform).
    pub base64_search: bool,
    pub approximations: Vec<Approximation>,
    /// Rate-based rule instances allocated so far in the current container.
    pub rate_count: usize,
    groups: HashMap<String, Arc<RuleGroup>>,
}

impl<'a> Builder<'a> {
    pub fn new(path: &'a str, refs: &'a RefTable, opts: &'a LoadOptions, base64: bool) -> Self {
        Builder {
            r: Reader { path },
            refs,
            opts,
            base64_search: base64,
            approximations: Vec::new(),
            rate_count: 0,
            groups: HashMap::new(),
        }
    }

    pub fn web_acl(
        mut self,
        id: &str,
        arn: Option<String>,
        props: &Value,
        pos: Pos,
    ) -> Result<WebAcl, WafError> {
        let r = self.r;
        r.map(props, "the web ACL's properties")?;
        let name = match r.opt(props, "Name") {
            Some(v) => r.str(v, "Name")?.to_string(),
            None => id.to_string(),
        };
        let scope = match r.opt(props, "Scope") {
            Some(v) => match r.enum_str(v, "Scope", &["REGIONAL", "CLOUDFRONT"])? {
                "CLOUDFRONT" => Scope::Cloudfront,
                _ => Scope::Regional,
            },
            None => match arn.as_deref() {
                Some(a) if a.contains(":global/") => Scope::Cloudfront,
                Some(a) if a.contains(":regional/") => Scope::Regional,
                _ => {
                    return Err(r.err(
                        props.pos,
                        "the web ACL has no Scope; expected REGIONAL or CLOUDFRONT",
                    ))
                }
            },
        };
        let (default_action, default_response_code) = {
            let d = r.req(props, "DefaultAction", "the web ACL")?;
            match r.one_of(d, "DefaultAction", &["Allow", "Block"])?.0 {
                "Block" => (Action::Block, self.response_code(d)?),
                _ => (Action::Allow, None),
            }
        };
        let captcha_immunity_s = self
            .immunity(r.opt(props, "CaptchaConfig"), "CaptchaConfig")?
            .unwrap_or(DEFAULT_IMMUNITY_S);
        let challenge_immunity_s = self
            .immunity(r.opt(props, "ChallengeConfig"), "ChallengeConfig")?
            .unwrap_or(DEFAULT_IMMUNITY_S);
        let body_limit = match self.opts.body_limit {
            Some(n) => n,
            None => self.body_limit(scope, props)?,
        };
        // The account in the web ACL's ARN, when the input knows it, names the
        // label namespace; otherwise the configured one.
        let account = arn
            .as_deref()
            .and_then(arn_account)
            .unwrap_or(&self.opts.account_id)
            .to_string();
        let label_prefix = labels::web_acl_prefix(&account, &name);
        let mut rules = Vec::new();
        if let Some(list) = r.opt(props, "Rules") {
            for rv in r.seq(list, "Rules")? {
                rules.push(self.rule(
                    rv,
                    Container::Acl {
                        prefix: &label_prefix,
                    },
                )?);
            }
        }
        self.check_unique(&rules, "web ACL")?;
        rules.sort_by_key(|r| r.priority);
        // Firewall Manager rule groups run before and after the web ACL's own
        // rules, each list in its own priority order.
        let pre =
            self.firewall_manager(props, "PreProcessFirewallManagerRuleGroups", &label_prefix)?;
        let post =
            self.firewall_manager(props, "PostProcessFirewallManagerRuleGroups", &label_prefix)?;
        let rules: Vec<Rule> = pre.into_iter().chain(rules).chain(post).collect();
        Ok(WebAcl {
            name,
            id: id.to_string(),
            arn,
            scope,
            file: r.path.to_string(),
            pos,
            default_action,
            default_response_code,
            rules,
            captcha_immunity_s,
            challenge_immunity_s,
            body_limit,
            label_prefix,
            approximations: self.approximations,
            rate_instances: self.rate_count,
        })
    }

    /// A list of FirewallManagerRuleGroup: rule group references, as rules.
    fn firewall_manager(
        &mut self,
        props: &Value,
        key: &str,
        prefix: &str,
    ) -> Result<Vec<Rule>, WafError> {
        let r = self.r;
        let Some(list) = r.opt(props, key) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for g in r.seq(list, key)? {
            r.known_keys(
                g,
                "a Firewall Manager rule group",
                &[
                    "Name",
                    "Priority",
                    "FirewallManagerStatement",
                    "OverrideAction",
                    "VisibilityConfig",
                ],
            )?;
            r.req(
                g,
                "FirewallManagerStatement",
                "a Firewall Manager rule group",
            )?;
            // The same shape as a rule that references a rule group.
            let entries = r
                .map(g, "a Firewall Manager rule group")?
                .iter()
                .map(|e| crate::doc::Entry {
                    key: if e.key == "FirewallManagerStatement" {
                        "Statement".into()
                    } else {
                        e.key.clone()
                    },
                    key_pos: e.key_pos,
                    value: e.value.clone(),
                })
                .collect();
            let as_rule = Value::new(crate::doc::Node::Map(entries), g.pos);
            out.push(self.rule(&as_rule, Container::Acl { prefix })?);
        }
        self.check_unique(&out, key)?;
        out.sort_by_key(|r| r.priority);
        Ok(out)
    }

    fn body_limit(&self, scope: Scope, props: &Value) -> Result<usize, WafError> {
        if scope == Scope::Regional {
            return Ok(REGIONAL_BODY_LIMIT);
        }
        let r = self.r;
        let cf = r
            .opt(props, "AssociationConfig")
            .and_then(|a| r.opt(a, "RequestBody"))
            .and_then(|b| r.opt(b, "CLOUDFRONT"))
            .and_then(|c| r.opt(c, "DefaultSizeInspectionLimit"));
        Ok(match cf {
            None => CLOUDFRONT_BODY_LIMIT,
            Some(v) => match r.enum_str(
                v,
                "DefaultSizeInspectionLimit",
                &["KB_16", "KB_32", "KB_48", "KB_64"],
            )? {
                "KB_32" => 32 * 1024,
                "KB_48" => 48 * 1024,
                "KB_64" => 64 * 1024,
                _ => 16 * 1024,
            },
        })
    }

    fn immunity(&self, cfg: Option<&Value>, what: &str) -> Result<Option<u64>, WafError> {
        let r = self.r;
        let Some(cfg) = cfg else { return Ok(None) };
        let Some(prop) = r.opt(cfg, "ImmunityTimeProperty") else {
            return Ok(None);
        };
        let t = r.req(
            prop,
            "ImmunityTime",
            &format!("{what}.ImmunityTimeProperty"),
        )?;
        Ok(Some(r.uint(t, "ImmunityTime")?))
    }

    /// Priorities and names are unique within a web ACL or rule group.
    fn check_unique(&self, rules: &[Rule], what: &str) -> Result<(), WafError> {
        for (j, b) in rules.iter().enumerate() {
            if let Some(a) = rules[..j].iter().find(|a| a.priority == b.priority) {
                return Err(self.r.err(
                    b.pos,
                    format!(
                        "rules {} and {} of the {what} both have priority {}; priorities must \
                         be unique (first at line {})",
                        a.name, b.name, b.priority, a.pos.line
                    ),
                ));
            }
            if let Some(a) = rules[..j].iter().find(|a| a.name == b.name) {
                return Err(self.r.err(
                    b.pos,
                    format!(
                        "two rules of the {what} are named {}; names must be unique (first at line {})",
                        b.name, a.pos.line
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The ResponseCode of a `{Block: {CustomResponse: ...}}` action.
    fn response_code(&self, action: &Value) -> Result<Option<u16>, WafError> {
        let r = self.r;
        let Some(code) = action
            .get("Block")
            .and_then(|b| r.opt(b, "CustomResponse"))
            .and_then(|c| r.opt(c, "ResponseCode"))
        else {
            return Ok(None);
        };
        let n = r.int(code, "ResponseCode")?;
        match u16::try_from(n) {
            Ok(c) if (200..=599).contains(&c) => Ok(Some(c)),
            _ => Err(r.err(
                code.pos,
                format!("ResponseCode {n} is not an HTTP status (200-599)"),
            )),
        }
    }

    pub fn action(&self, v: &Value, what: &str) -> Result<Action, WafError> {
        Ok(match self.r.one_of(v, what, ACTIONS)?.0 {
            "Allow" => Action::Allow,
            "Block" => Action::Block,
            "Count" => Action::Count,
            "Captcha" => Action::Captcha,
            _ => Action::Challenge,
        })
    }

    pub(crate) fn rule(&mut self, v: &Value, container: Container<'_>) -> Result<Rule, WafError> {
        let r = self.r;
        r.known_keys(v, "a rule", RULE_KEYS)?;
        let name = r.str(r.req(v, "Name", "a rule")?, "Name")?.to_string();
        let what = format!("rule {name}");
        let pv = r.req(v, "Priority", &what)?;
        let priority = r.int(pv, "Priority")?;
        if priority < 0 {
            return Err(r.err(pv.pos, "Priority must be at least 0"));
        }
        let sv = r.req(v, "Statement", &what)?;
        let (kind, _) = r.one_of(sv, "statement", super::statement::STATEMENTS)?;
        let group_ref = matches!(
            kind,
            "RuleGroupReferenceStatement" | "ManagedRuleGroupStatement"
        );
        let labels = match r.opt(v, "RuleLabels") {
            None => Vec::new(),
            Some(lv) => {
                if group_ref {
                    return Err(r.err(
                        lv.pos,
                        format!("{what} references a rule group and cannot add RuleLabels"),
                    ));
                }
                let mut out = Vec::new();
                for l in r.seq(lv, "RuleLabels")? {
                    let n = r.req(l, "Name", "a rule label")?;
                    let n_str = r.str(n, "the label Name")?;
                    if n_str.starts_with(labels::QUALIFIED) || n_str.is_empty() {
                        return Err(r.err(
                            n.pos,
                            format!(
                                "label \"{n_str}\" is not valid: give namespaces and a name \
                                 (\"ns:name\"); AWS WAF adds the awswaf:... prefix itself"
                            ),
                        ));
                    }
                    out.push(format!("{}{n_str}", container.prefix()));
                }
                out
            }
        };
        let captcha_immunity_s = self.immunity(r.opt(v, "CaptchaConfig"), "CaptchaConfig")?;
        let challenge_immunity_s = self.immunity(r.opt(v, "ChallengeConfig"), "ChallengeConfig")?;
        let mut block_response_code = None;
        let body = if group_ref {
            if let Container::Group { .. } = container {
                return Err(r.err(
                    sv.pos,
                    format!("{what}: a rule group cannot reference another rule group"),
                ));
            }
            if let Some(a) = r.opt(v, "Action") {
                return Err(r.err(
                    a.pos,
                    format!(
                        "{what} references a rule group, so it takes OverrideAction \
                         ({{None: {{}}}} or {{Count: {{}}}}), not Action"
                    ),
                ));
            }
            let count_override = match r.opt(v, "OverrideAction") {
                None => {
                    return Err(r.err(
                        v.pos,
                        format!("{what} references a rule group and needs an OverrideAction"),
                    ))
                }
                Some(o) => r.one_of(o, "OverrideAction", &["None", "Count"])?.0 == "Count",
            };
            RuleBody::Group(self.group_ref(sv, &name, count_override)?)
        } else {
            if let Some(o) = r.opt(v, "OverrideAction") {
                return Err(r.err(
                    o.pos,
                    format!(
                        "{what} does not reference a rule group, so it takes Action, not \
                         OverrideAction"
                    ),
                ));
            }
            let av = r.req(v, "Action", &what)?;
            let action = self.action(av, "Action")?;
            block_response_code = self.response_code(av)?;
            if kind == "RateBasedStatement" {
                let rate = self.rate_statement(sv.get(kind).unwrap_or(sv))?;
                RuleBody::Rate { rate, action }
            } else {
                let statement = self.statement(sv, 0)?;
                RuleBody::Match { statement, action }
            }
        };
        Ok(Rule {
            name,
            priority,
            pos: v.pos,
            body,
            labels,
            captcha_immunity_s,
            challenge_immunity_s,
            block_response_code,
        })
    }

    fn group_ref(
        &mut self,
        sv: &Value,
        rule_name: &str,
        count_override: bool,
    ) -> Result<GroupRef, WafError> {
        let r = self.r;
        let (kind, gv) = r.one_of(sv, "statement", super::statement::STATEMENTS)?;
        let (group, scope_down) = if kind == "ManagedRuleGroupStatement" {
            r.known_keys(
                gv,
                kind,
                &[
                    "VendorName",
                    "Name",
                    "Version",
                    "ExcludedRules",
                    "ScopeDownStatement",
                    "ManagedRuleGroupConfigs",
                    "RuleActionOverrides",
                ],
            )?;
            let vendor = r.str(r.req(gv, "VendorName", kind)?, "VendorName")?;
            let name = r.str(r.req(gv, "Name", kind)?, "Name")?;
            let group = managed::group(vendor, name, self.opts);
            match &group.kind {
                GroupKind::Managed { .. } => self.approximations.push(Approximation {
                    rule: rule_name.to_string(),
                    note: managed::note(name).to_string(),
                }),
                _ => self.approximations.push(Approximation {
                    rule: rule_name.to_string(),
                    note: format!(
                        "{vendor}/{name} is not modelled by deadbolt: requests that reach it get \
                         an UNKNOWN decision unless an earlier rule decides them"
                    ),
                }),
            }
            let scope_down = match r.opt(gv, "ScopeDownStatement") {
                Some(s) => Some(self.statement(s, 0)?),
                None => None,
            };
            (Arc::new(group), scope_down)
        } else {
            r.known_keys(
                gv,
                kind,
                &["ARN", "Arn", "ExcludedRules", "RuleActionOverrides"],
            )?;
            let arn = self.arn(gv, kind)?;
            let def = self.refs.lookup(arn, RefKind::RuleGroup, &r)?;
            let group = match self.groups.get(&def.id) {
                Some(g) => g.clone(),
                None => {
                    let account = def
                        .arn
                        .as_deref()
                        .and_then(arn_account)
                        .unwrap_or(&self.opts.account_id)
                        .to_string();
                    let g =
                        Arc::new(self.rule_group(def.id.clone(), &def.props.clone(), &account)?);
                    self.groups.insert(def.id.clone(), g.clone());
                    g
                }
            };
            (group, None)
        };
        let known_rule = |n: &str| group.rules.iter().any(|r| r.name == n);
        let check_known = |n: &str, v: &Value| -> Result<(), WafError> {
            if matches!(group.kind, GroupKind::Unmodelled { .. }) || known_rule(n) {
                Ok(())
            } else {
                let names: Vec<&str> = group.rules.iter().map(|r| r.name.as_str()).collect();
                Err(r.err(
                    v.pos,
                    format!(
                        "{n} is not a rule of rule group {}; its rules are: {}",
                        group.name,
                        names.join(", ")
                    ),
                ))
            }
        };
        let mut excluded = Vec::new();
        if let Some(ex) = r.opt(gv, "ExcludedRules") {
            for e in r.seq(ex, "ExcludedRules")? {
                let n = r.req(e, "Name", "an excluded rule")?;
                let n_str = r.str(n, "Name")?;
                check_known(n_str, n)?;
                excluded.push(n_str.to_string());
            }
        }
        let mut overrides = Vec::new();
        if let Some(ov) = r.opt(gv, "RuleActionOverrides") {
            for o in r.seq(ov, "RuleActionOverrides")? {
                let n = r.req(o, "Name", "a rule action override")?;
                let n_str = r.str(n, "Name")?;
                check_known(n_str, n)?;
                let a = self.action(
                    r.req(o, "ActionToUse", "a rule action override")?,
                    "ActionToUse",
                )?;
                overrides.push((n_str.to_string(), a));
            }
        }
        let rate_base = self.rate_count;
        self.rate_count += group.rate_rules;
        Ok(GroupRef {
            group,
            count_override,
            overrides,
            excluded,
            scope_down,
            rate_base,
        })
    }

    /// A rule group defined in the same input.
    fn rule_group(
        &mut self,
        id: String,
        props: &Value,
        account: &str,
    ) -> Result<RuleGroup, WafError> {
        let r = self.r;
        r.map(props, "the rule group's properties")?;
        let name = match r.opt(props, "Name") {
            Some(v) => r.str(v, "Name")?.to_string(),
            None => id.clone(),
        };
        let prefix = labels::rule_group_prefix(account, &name);
        // Rate-based instances inside a group are numbered from 0 per group; each
        // reference adds its own base.
        let saved = std::mem::replace(&mut self.rate_count, 0);
        let mut rules = Vec::new();
        if let Some(list) = r.opt(props, "Rules") {
            for rv in r.seq(list, "Rules")? {
                rules.push(self.rule(rv, Container::Group { prefix: &prefix })?);
            }
        }
        let rate_rules = std::mem::replace(&mut self.rate_count, saved);
        self.check_unique(&rules, &format!("rule group {name}"))?;
        rules.sort_by_key(|r| r.priority);
        Ok(RuleGroup {
            name,
            id,
            kind: GroupKind::Custom,
            rules,
            label_prefix: prefix,
            rate_rules,
        })
    }
}
