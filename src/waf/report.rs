//! Summaries over many decisions: the per-rule hit table and the requests whose
//! decision differs from what a WAF log recorded.

use serde::Serialize;

use super::acl::{RuleBody, WebAcl};
use super::decision::{Decision, Outcome};
use super::eval::DEFAULT_ACTION_ID;
use super::requests_file::Recorded;

/// How often one rule decided or matched requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleHits {
    pub rule_id: String,
    /// `None` for the default action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// The rule's action, OverrideAction for rule groups (`NONE`/`COUNT`), or
    /// the default action.
    pub action: String,
    /// Requests this rule terminated.
    pub terminating: usize,
    /// Requests it matched without terminating (Count, CAPTCHA/Challenge with a
    /// valid token, group rules counted).
    pub non_terminating: usize,
    /// Requests for which its match was undetermined.
    pub undetermined: usize,
}

/// One row per web ACL rule in priority order, then `Default_Action`.
pub fn hit_table(acl: &WebAcl, decisions: &[Decision]) -> Vec<RuleHits> {
    let mut rows: Vec<RuleHits> = acl
        .rules
        .iter()
        .map(|r| RuleHits {
            rule_id: r.name.clone(),
            priority: Some(r.priority),
            action: match &r.body {
                RuleBody::Match { action, .. } | RuleBody::Rate { action, .. } => {
                    action.name().to_string()
                }
                RuleBody::Group(g) => {
                    if g.count_override {
                        "COUNT (override)".into()
                    } else {
                        "GROUP".into()
                    }
                }
            },
            terminating: 0,
            non_terminating: 0,
            undetermined: 0,
        })
        .collect();
    rows.push(RuleHits {
        rule_id: DEFAULT_ACTION_ID.into(),
        priority: None,
        action: acl.default_action.name().to_string(),
        terminating: 0,
        non_terminating: 0,
        undetermined: 0,
    });
    let index = |id: &str, rows: &[RuleHits]| rows.iter().position(|r| r.rule_id == id);
    for d in decisions {
        if let Some(i) = index(&d.terminating_rule_id, &rows) {
            rows[i].terminating += 1;
        }
        let mut seen: Vec<usize> = Vec::new();
        for m in &d.non_terminating_matching_rules {
            if let Some(i) = index(&m.rule_id, &rows) {
                if !seen.contains(&i) {
                    rows[i].non_terminating += 1;
                    seen.push(i);
                }
            }
        }
        // Group rules' own matches count for the group's row.
        for g in &d.rule_group_list {
            let Some(i) = acl.rules.iter().position(
                |r| matches!(&r.body, RuleBody::Group(gr) if gr.group.id == g.rule_group_id),
            ) else {
                continue;
            };
            if !g.non_terminating_matching_rules.is_empty()
                && !seen.contains(&i)
                && rows[i].rule_id != d.terminating_rule_id
            {
                rows[i].non_terminating += 1;
                seen.push(i);
            }
        }
        let mut useen: Vec<usize> = Vec::new();
        for u in &d.undetermined {
            let top = u.rule_id.split('/').next().unwrap_or(&u.rule_id);
            if let Some(i) = index(top, &rows) {
                if !useen.contains(&i) {
                    rows[i].undetermined += 1;
                    useen.push(i);
                }
            }
        }
    }
    rows
}

/// A request whose new decision differs from the one its WAF log recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub id: String,
    pub line: u32,
    pub recorded_action: Outcome,
    pub recorded_rule_id: String,
    pub action: Outcome,
    pub terminating_rule_id: String,
}

/// Requests whose action or terminating rule changed.
pub fn changes(
    decisions: &[Decision],
    recorded: &[Option<Recorded>],
    lines: &[u32],
) -> Vec<Change> {
    decisions
        .iter()
        .zip(recorded)
        .zip(lines)
        .filter_map(|((d, rec), line)| {
            let rec = rec.as_ref()?;
            (rec.action != d.action || rec.terminating_rule_id != d.terminating_rule_id).then(
                || Change {
                    id: d.id.clone(),
                    line: *line,
                    recorded_action: rec.action,
                    recorded_rule_id: rec.terminating_rule_id.clone(),
                    action: d.action,
                    terminating_rule_id: d.terminating_rule_id.clone(),
                },
            )
        })
        .collect()
}
