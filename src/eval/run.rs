//! Runs compiled policies over loaded templates, in parallel, and turns the
//! answers into findings in a deterministic order.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::context::{Ctx, Params};
use super::expr::Eval;
use super::value::{display, It, Tri, V};
use crate::compile::ir::{Block, MsgPart, Policy, Stmt};
use crate::doc::{Pos, Template};
use crate::result::{Finding, Status};

/// At most this many runs per resource when `Fn::If` conditions cannot be
/// decided (2^6 branch combinations); beyond it the result is unknown.
const MAX_BRANCH_RUNS: usize = 64;

/// Evaluates every policy against every template. `done` counts finished templates
/// (for progress bars). The result order does not depend on the thread count.
pub fn evaluate(
    policies: &[Policy],
    templates: &[Template],
    params: &Params,
    done: Option<&AtomicUsize>,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = templates
        .par_iter()
        .flat_map_iter(|tpl| {
            let out = evaluate_template(policies, tpl, params);
            if let Some(d) = done {
                d.fetch_add(1, Ordering::Relaxed);
            }
            out
        })
        .collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings
}

/// [`evaluate_template`] with the resources of the template in parallel: for
/// one large document (an inventory of many hosts), where parallelism over
/// templates gives nothing. Same results, same order once sorted.
pub fn evaluate_resources_parallel(
    policies: &[Policy],
    tpl: &Template,
    params: &Params,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = (0..tpl.resources.len())
        .into_par_iter()
        .flat_map_iter(|idx| {
            let r = &tpl.resources[idx];
            let mut out = Vec::new();
            for policy in policies {
                if let Some(block) = policy.blocks.iter().find(|b| b.selects(&r.rtype)) {
                    out.extend(evaluate_block(policy, block, tpl, idx, params));
                }
            }
            out
        })
        .collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings
}

pub fn evaluate_template(policies: &[Policy], tpl: &Template, params: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for policy in policies {
        for (idx, r) in tpl.resources.iter().enumerate() {
            let mut blocks = policy.blocks.iter().filter(|b| b.selects(&r.rtype));
            let Some(first) = blocks.next() else {
                continue;
            };
            match blocks.next() {
                None => out.extend(evaluate_block(policy, first, tpl, idx, params)),
                Some(second) => {
                    let all = [first, second].into_iter().chain(blocks);
                    out.extend(evaluate_blocks(policy, all, tpl, idx, params));
                }
            }
        }
    }
    out
}

/// A resource that several blocks select: every block whose `when` holds
/// judges it, and the result is theirs together — the first failure (in block
/// order), else the first unknown, else a pass. No block applies: no result.
/// (The checker refuses `each` in a block that shares a type with another.)
fn evaluate_blocks<'p>(
    policy: &'p Policy,
    blocks: impl Iterator<Item = &'p Block>,
    tpl: &Template,
    idx: usize,
    params: &Params,
) -> Option<Finding> {
    let mut unknown = None;
    let mut pass = None;
    for block in blocks {
        let Some(f) = evaluate_resource(policy, block, tpl, idx, params, None) else {
            continue;
        };
        match f.status {
            Status::Fail => return Some(f),
            Status::Unknown if unknown.is_none() => unknown = Some(f),
            Status::Pass if pass.is_none() => pass = Some(f),
            _ => {}
        }
    }
    unknown.or(pass)
}

/// What an `each` item says about its own result.
#[derive(Default)]
struct ItemMeta {
    key: Option<String>,
    severity: Option<crate::compile::Severity>,
    finding: Option<serde_json::Value>,
}

/// The results of a block for one resource: one, or one per item of `each`.
pub fn evaluate_block(
    policy: &Policy,
    block: &Block,
    tpl: &Template,
    idx: usize,
    params: &Params,
) -> Vec<Finding> {
    let Some((_, list)) = &block.each else {
        return evaluate_resource(policy, block, tpl, idx, params, None)
            .into_iter()
            .collect();
    };
    // How many items there are (a list that depends on an undecidable
    // condition takes its first branch here; each item is then judged on
    // every branch).
    let ctx = Ctx::new(tpl, params, idx);
    let r = &tpl.resources[idx];
    let binding = It {
        v: V::Res(idx),
        pos: r.pos,
        specific: false,
    };
    let mut ev = Eval {
        ctx: &ctx,
        env: vec![binding; block.slots.max(1)],
        aggs: Vec::new(),
    };
    if let Some(when) = &block.when {
        if ev.truth(when).tri == Tri::False {
            return Vec::new();
        }
    }
    let l = ev.value(list);
    let items = match ev.items(l) {
        Ok(items) => items,
        // Unknown items: the single result says why.
        Err(_) => {
            return evaluate_resource(policy, block, tpl, idx, params, None)
                .into_iter()
                .collect()
        }
    };
    if items.is_empty() {
        return evaluate_resource(policy, block, tpl, idx, params, None)
            .into_iter()
            .collect();
    }
    // A list that met no undecidable condition is the same on every branch:
    // each item's run takes it as evaluated here instead of evaluating the
    // list again, so a resource with n items costs O(n), not O(n²).
    let reuse = ctx.pending.borrow().is_none();
    let metas: Vec<ItemMeta> = items.iter().map(|it| item_meta(&mut ev, it)).collect();
    metas
        .into_iter()
        .enumerate()
        .filter_map(|(k, meta)| {
            let given = if reuse { items.get(k) } else { None };
            let mut f = evaluate_item(policy, block, tpl, idx, params, Some(k), given)?;
            let key = meta.key.unwrap_or_else(|| (k + 1).to_string());
            f.fingerprint = crate::result::fingerprint(
                &policy.id,
                &tpl.path,
                tpl.doc_index,
                &format!("{}#{key}", r.id),
            );
            f.key = Some(key);
            if let Some(sev) = meta.severity {
                f.severity = sev;
            }
            if f.status != Status::Pass || meta.finding.is_some() {
                f.finding = meta.finding.map(Box::new);
            }
            Some(f)
        })
        .collect()
}

/// `key`, `severity` and `finding` of an item that is a map.
fn item_meta<'d>(ev: &mut Eval<'_, 'd>, it: &It<'d>) -> ItemMeta {
    use crate::compile::ir::FieldName;
    let mut field = |name: &str| ev.field_of(it.clone(), &FieldName::new(name));
    let key = super::context::scalar_text(&field("key").v);
    let severity = super::context::scalar_text(&field("severity").v)
        .and_then(|s| crate::compile::Severity::parse(&s.to_ascii_lowercase()));
    let finding = match field("finding").v {
        V::Owned(o) => Some(super::context::doc_to_json(&o)),
        _ => None,
    };
    ItemMeta {
        key,
        severity,
        finding,
    }
}

enum Outcome {
    NotApplicable,
    Pass,
    Fail {
        message: String,
        pos: Pos,
        clause: usize,
    },
    Unknown {
        message: String,
        pos: Pos,
        clause: Option<usize>,
    },
}

/// Evaluates one resource (or one `each` item of it), once per combination of
/// undecidable conditions.
pub fn evaluate_resource(
    policy: &Policy,
    block: &Block,
    tpl: &Template,
    idx: usize,
    params: &Params,
    item: Option<usize>,
) -> Option<Finding> {
    evaluate_item(policy, block, tpl, idx, params, item, None)
}

/// [`evaluate_resource`]; `given` is item `item` of the `each` list when it
/// is already known (the list does not depend on an undecidable condition).
fn evaluate_item<'d>(
    policy: &'d Policy,
    block: &'d Block,
    tpl: &'d Template,
    idx: usize,
    params: &'d Params,
    item: Option<usize>,
    given: Option<&It<'d>>,
) -> Option<Finding> {
    let r = &tpl.resources[idx];
    let block_index = policy
        .blocks
        .iter()
        .position(|b| std::ptr::eq(b, block))
        .unwrap_or(0);
    let finding = |status, message: String, pos: Pos, clause: Option<usize>| {
        let pos = if pos == Pos::default() { r.pos } else { pos };
        Finding {
            policy: policy.id.clone(),
            severity: policy.severity,
            status,
            resource: r.id.clone(),
            resource_type: r.rtype.clone(),
            file: tpl.path.to_string(),
            line: pos.line,
            column: pos.col,
            message,
            document: tpl.doc_index,
            skip_reason: None,
            fingerprint: crate::result::fingerprint(&policy.id, &tpl.path, tpl.doc_index, &r.id),
            clause: clause.map(|c| (block_index, c)),
            key: None,
            finding: None,
        }
    };
    if let Some(reason) = &r.unknown {
        return Some(finding(
            Status::Unknown,
            format!("cannot be decided: {reason}"),
            r.pos,
            None,
        ));
    }
    let mut leaves: Vec<(Vec<(String, bool)>, Outcome)> = Vec::new();
    let mut stack: Vec<Vec<(String, bool)>> = vec![Vec::new()];
    let mut runs = 0;
    let mut too_many = false;
    while let Some(assign) = stack.pop() {
        runs += 1;
        if runs > MAX_BRANCH_RUNS {
            too_many = true;
            break;
        }
        let ctx = Ctx::new(tpl, params, idx);
        *ctx.assign.borrow_mut() = assign.clone();
        let outcome = run_once(&ctx, policy, block, item, given);
        if let Some(cond) = ctx.pending.borrow_mut().take() {
            let mut f = assign.clone();
            f.push((cond.clone(), false));
            let mut t = assign;
            t.push((cond, true));
            stack.push(f);
            stack.push(t);
            continue;
        }
        leaves.push((assign, outcome));
    }
    if let Some((
        assign,
        Outcome::Fail {
            message,
            pos,
            clause,
        },
    )) = leaves
        .iter()
        .find(|(_, o)| matches!(o, Outcome::Fail { .. }))
    {
        let message = with_branches(message, assign);
        return Some(finding(Status::Fail, message, *pos, Some(*clause)));
    }
    if too_many {
        return Some(finding(
            Status::Unknown,
            format!("cannot be decided: more than {MAX_BRANCH_RUNS} combinations of undecidable conditions"),
            r.pos,
            None,
        ));
    }
    if let Some((
        assign,
        Outcome::Unknown {
            message,
            pos,
            clause,
        },
    )) = leaves
        .iter()
        .find(|(_, o)| matches!(o, Outcome::Unknown { .. }))
    {
        let message = with_branches(message, assign);
        return Some(finding(Status::Unknown, message, *pos, *clause));
    }
    if leaves.iter().any(|(_, o)| matches!(o, Outcome::Pass)) {
        return Some(finding(Status::Pass, policy.title.clone(), r.pos, None));
    }
    None
}

fn with_branches(message: &str, assign: &[(String, bool)]) -> String {
    if assign.is_empty() {
        return message.to_string();
    }
    let conds: Vec<String> = assign
        .iter()
        .map(|(c, b)| format!("condition {c} is {b}"))
        .collect();
    format!("{message} (when {})", conds.join(" and "))
}

fn run_once<'d>(
    ctx: &Ctx<'d>,
    policy: &'d Policy,
    block: &'d Block,
    item: Option<usize>,
    given: Option<&It<'d>>,
) -> Outcome {
    let r = &ctx.tpl.resources[ctx.resource];
    let binding = It {
        v: V::Res(ctx.resource),
        pos: r.pos,
        specific: false,
    };
    let mut ev = Eval {
        ctx,
        env: vec![binding; block.slots.max(1)],
        aggs: Vec::new(),
    };
    if let Some(when) = &block.when {
        let v = ev.truth(when);
        match v.tri {
            Tri::False => return Outcome::NotApplicable,
            Tri::Unknown(reason) => {
                return Outcome::Unknown {
                    message: format!("cannot be decided: {reason}"),
                    pos: if v.specific { v.pos } else { r.pos },
                    clause: None,
                }
            }
            Tri::True => {}
        }
    }
    if let (Some((slot, _)), Some(it)) = (&block.each, given) {
        if ev.env.len() <= *slot {
            ev.env.resize(*slot + 1, it.clone());
        }
        ev.env[*slot] = it.clone();
    } else if let Some((slot, list)) = &block.each {
        let l = ev.value(list);
        match ev.items(l) {
            Err(u) => {
                let reason = match &u.v {
                    V::Unknown { reason, .. } => reason.to_string(),
                    _ => "the list is not known".to_string(),
                };
                return Outcome::Unknown {
                    message: format!("cannot be decided: {reason}"),
                    pos: if u.specific { u.pos } else { r.pos },
                    clause: None,
                };
            }
            Ok(items) => match item.and_then(|k| items.into_iter().nth(k)) {
                Some(it) => {
                    if ev.env.len() <= *slot {
                        ev.env.resize(*slot + 1, it.clone());
                    }
                    ev.env[*slot] = it;
                }
                // No items: nothing is wrong with the resource.
                None if item.is_none() => return Outcome::Pass,
                None => return Outcome::NotApplicable,
            },
        }
    }
    let mut unknown = None;
    for (index, stmt) in block.stmts.iter().enumerate() {
        match stmt {
            Stmt::Let(slot, e) => {
                let v = ev.value(e);
                if ev.env.len() <= *slot {
                    ev.env.resize(*slot + 1, v.clone());
                }
                ev.env[*slot] = v;
            }
            Stmt::Require {
                cond,
                message,
                text,
                witnesses,
                ..
            } => {
                for slot in witnesses {
                    if ev.env.len() <= *slot {
                        ev.env.resize(*slot + 1, It::missing(r.pos));
                    }
                    ev.env[*slot] = It::missing(r.pos);
                }
                let v = ev.truth(cond);
                match v.tri {
                    Tri::True => {}
                    Tri::False => {
                        let message = match message {
                            Some(parts) => interpolate(&mut ev, parts),
                            None => format!("{}: `{}` does not hold", policy.title, text),
                        };
                        return Outcome::Fail {
                            message,
                            pos: v.pos,
                            clause: index,
                        };
                    }
                    Tri::Unknown(reason) => {
                        unknown.get_or_insert(Outcome::Unknown {
                            message: format!("cannot be decided: {reason}"),
                            pos: v.pos,
                            clause: Some(index),
                        });
                    }
                }
            }
        }
    }
    unknown.unwrap_or(Outcome::Pass)
}

fn interpolate<'d>(ev: &mut Eval<'_, 'd>, parts: &'d [MsgPart]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            MsgPart::Text(t) => out.push_str(t),
            MsgPart::Expr(e) => {
                let v = ev.value(e);
                out.push_str(&display(&v, &|i| ev.ctx.resource_id(i)));
            }
        }
    }
    out
}
