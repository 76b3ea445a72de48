//! Lowering of checked syntax trees into the IR.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use super::funcs;
use super::ir::{self, Aggregate, Block, Const, Expr, FieldName, Func, MsgPart, Severity, Stmt};
use crate::dsl::ast::{self, ExprKind, MetaValue, UnOp};
use crate::schema::logs::{self as logschema, LogSource};

/// The file-level definitions a rule may use, by name (its own file's and its
/// imports'), as the checker resolved them. Each has a number unique among them.
#[derive(Default)]
pub struct Defs<'a> {
    pub consts: HashMap<&'a str, (usize, &'a ast::Expr)>,
    pub preds: HashMap<&'a str, (usize, &'a [ast::Ident], &'a ast::Expr)>,
    pub groups: HashMap<&'a str, &'a [ast::StrLit]>,
}

/// Scope of names visible at a point: each name maps to its slot.
#[derive(Default)]
struct Scope<'a> {
    names: Vec<(String, usize)>,
    next: usize,
    /// The slot of a detection's flow log record, whose fields are looked up by
    /// index rather than by name.
    flow_slot: Option<usize>,
    /// A detection's aggregates, in `Expr::Agg` order.
    aggregates: Vec<Aggregate>,
    lists: Vec<String>,
    aws_ranges: bool,
    defs: Option<&'a Defs<'a>>,
    /// Constants and predicates lowered for this rule, shared by their uses.
    consts: HashMap<usize, Expr>,
    preds: HashMap<usize, (Vec<usize>, Arc<Expr>)>,
    /// Quantifier variables of the condition being lowered, for its message.
    quants: Vec<(String, usize)>,
}

impl Scope<'_> {
    fn bind(&mut self, name: &str) -> usize {
        let slot = self.next;
        self.next += 1;
        self.names.push((name.to_string(), slot));
        slot
    }
    fn lookup(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
    }
}

/// Lowers a policy that the checker accepted.
pub fn lower_policy(p: &ast::Policy, src: &str, file: &str, defs: &Defs) -> ir::Policy {
    let mut out = ir::Policy {
        id: p.id.name.clone(),
        title: String::new(),
        severity: Severity::Medium,
        description: String::new(),
        remediation: String::new(),
        controls: vec![],
        references: vec![],
        tags: vec![],
        blocks: vec![],
        file: file.to_string(),
        line: line_of(src, p.span.start),
    };
    for m in &p.meta {
        let text = || meta_text(&m.value);
        let list = || meta_list(&m.value);
        match m.key.name.as_str() {
            "title" => out.title = text(),
            "severity" => out.severity = Severity::parse(&text()).unwrap_or(Severity::Medium),
            "description" => out.description = text(),
            "remediation" => out.remediation = text(),
            "controls" => out.controls = list(),
            "references" => out.references = list(),
            "tags" => out.tags = list(),
            _ => {}
        }
    }
    if out.title.is_empty() {
        out.title = out.id.clone();
    }
    out.blocks = p.blocks.iter().map(|b| lower_block(b, src, defs)).collect();
    out
}

/// Lowers a detection that the checker accepted.
pub fn lower_detection(d: &ast::Detection, src: &str, file: &str, defs: &Defs) -> ir::Detection {
    let source = LogSource::parse(&d.source.name).unwrap_or(LogSource::CloudTrail);
    let mut scope = Scope {
        defs: Some(defs),
        ..Scope::default()
    };
    let slot = scope.bind(&d.binding.name);
    if source == LogSource::FlowLog {
        scope.flow_slot = Some(slot);
    }
    let lets = d
        .lets
        .iter()
        .map(|(name, value)| {
            let e = lower_expr(value, &mut scope);
            (scope.bind(&name.name), e)
        })
        .collect();
    let filter = d.filter.as_ref().map(|e| lower_expr(e, &mut scope));
    let keys = d
        .group
        .iter()
        .flat_map(|g| g.keys.iter())
        .map(|k| lower_expr(k, &mut scope))
        .collect();
    let resource = d.resource.as_ref().map(|e| lower_expr(e, &mut scope));
    let alert = d.alert.as_ref().map(|e| lower_expr(e, &mut scope));
    let message = d.message.as_ref().map(|m| {
        m.parts
            .iter()
            .map(|p| match p {
                ast::MsgPart::Text(t) => MsgPart::Text(t.clone()),
                ast::MsgPart::Expr(e) => MsgPart::Expr(lower_expr(e, &mut scope)),
            })
            .collect()
    });
    let mut out = ir::Detection {
        id: d.id.name.clone(),
        title: String::new(),
        severity: Severity::Medium,
        score: 0.0,
        finding_type: d.id.name.clone(),
        action: default_action(source).to_string(),
        description: String::new(),
        remediation: String::new(),
        controls: vec![],
        references: vec![],
        tags: vec![],
        file: file.to_string(),
        line: line_of(src, d.span.start),
        span: d.id.span,
        source,
        filter,
        lets,
        keys,
        window_ms: d.group.as_ref().map(|g| g.window_ms),
        alert,
        aggregates: std::mem::take(&mut scope.aggregates),
        resource,
        message,
        lists: std::mem::take(&mut scope.lists),
        uses_aws_ranges: scope.aws_ranges,
        slots: scope.next,
    };
    for m in &d.meta {
        let text = meta_text(&m.value);
        match (m.key.name.as_str(), &m.value) {
            ("title", _) => out.title = text,
            ("severity", MetaValue::Num(n, _)) => {
                out.score = *n;
                out.severity = severity_of_score(*n);
            }
            ("severity", _) => {
                out.severity = Severity::parse(&text).unwrap_or(Severity::Medium);
                out.score = score_of_severity(out.severity);
            }
            ("type", _) => out.finding_type = text,
            ("action", _) => out.action = text.to_ascii_uppercase(),
            ("description", _) => out.description = text,
            ("remediation", _) => out.remediation = text,
            ("controls", v) => out.controls = meta_list(v),
            ("references", v) => out.references = meta_list(v),
            ("tags", v) => out.tags = meta_list(v),
            _ => {}
        }
    }
    if out.title.is_empty() {
        out.title = out.finding_type.clone();
    }
    out
}

fn default_action(source: LogSource) -> &'static str {
    match source {
        LogSource::FlowLog => "NETWORK_CONNECTION",
        LogSource::CloudTrail => "AWS_API_CALL",
        LogSource::Dns => "DNS_REQUEST",
    }
}

/// GuardDuty's bands: low 1.0-3.9, medium 4.0-6.9, high 7.0-8.9.
pub fn severity_of_score(n: f64) -> Severity {
    if n >= 7.0 {
        Severity::High
    } else if n >= 4.0 {
        Severity::Medium
    } else if n >= 1.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

fn score_of_severity(s: Severity) -> f64 {
    match s {
        Severity::Info => 1.0,
        Severity::Low => 2.0,
        Severity::Medium => 5.0,
        Severity::High => 8.0,
        Severity::Critical => 8.9,
    }
}

fn meta_text(v: &MetaValue) -> String {
    match v {
        MetaValue::Str(s) => s.value.clone(),
        MetaValue::Word(w) => w.name.clone(),
        MetaValue::Num(n, _) => n.to_string(),
        MetaValue::List(l) => l
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn meta_list(v: &MetaValue) -> Vec<String> {
    match v {
        MetaValue::List(l) => l.iter().map(|s| s.value.clone()).collect(),
        other => vec![meta_text(other)],
    }
}

/// 1-based line of a byte offset.
pub fn line_of(src: &str, offset: usize) -> u32 {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u32
        + 1
}

fn lower_block(b: &ast::RuleBlock, src: &str, defs: &Defs) -> Block {
    let mut scope = Scope {
        defs: Some(defs),
        ..Scope::default()
    };
    scope.bind(&b.binding.name);
    let when = b.when.as_ref().map(|e| lower_expr(e, &mut scope));
    let each = b.each.as_ref().map(|(name, list)| {
        let l = lower_expr(list, &mut scope);
        (scope.bind(&name.name), l)
    });
    let mut stmts = Vec::new();
    for s in &b.stmts {
        match s {
            ast::Stmt::Let { name, value } => {
                let e = lower_expr(value, &mut scope);
                let slot = scope.bind(&name.name);
                stmts.push(Stmt::Let(slot, e));
            }
            ast::Stmt::Require {
                cond,
                message,
                span,
            } => {
                scope.quants.clear();
                let c = lower_expr(cond, &mut scope);
                // The message sees the condition's quantifier variables, bound
                // to the items that decided it.
                let mark = scope.names.len();
                let quants = std::mem::take(&mut scope.quants);
                let witnesses = if message.is_some() {
                    quants.iter().map(|(_, slot)| *slot).collect()
                } else {
                    Vec::new()
                };
                scope.names.extend(quants);
                let message = message.as_ref().map(|m| {
                    m.parts
                        .iter()
                        .map(|p| match p {
                            ast::MsgPart::Text(t) => MsgPart::Text(t.clone()),
                            ast::MsgPart::Expr(e) => MsgPart::Expr(lower_expr(e, &mut scope)),
                        })
                        .collect()
                });
                scope.names.truncate(mark);
                stmts.push(Stmt::Require {
                    cond: c,
                    message,
                    text: src[cond.span.start..cond.span.end].to_string(),
                    span: *span,
                    witnesses,
                });
            }
        }
    }
    let groups = b
        .groups
        .iter()
        .filter_map(|g| defs.groups.get(g.name.as_str()))
        .flat_map(|types| types.iter());
    let mut types: Vec<String> = Vec::new();
    for t in b.types.iter().chain(groups) {
        if !types.contains(&t.value) {
            types.push(t.value.clone());
        }
    }
    Block {
        types,
        when,
        each,
        stmts,
        slots: scope.next,
    }
}

/// A file-level constant, lowered once per rule: a literal is copied into each
/// use (so `x in deprecated` stays a constant list), anything else is shared.
fn lower_const(id: usize, value: &ast::Expr, scope: &mut Scope) -> Expr {
    if let Some(e) = scope.consts.get(&id) {
        return e.clone();
    }
    // A definition sees only file-level names, never the rule's.
    let names = std::mem::take(&mut scope.names);
    let quants = std::mem::take(&mut scope.quants);
    let lowered = lower_expr(value, scope);
    scope.names = names;
    scope.quants = quants;
    let e = match lowered {
        c @ Expr::Const(_) => c,
        other => Expr::Shared(Arc::new(other)),
    };
    scope.consts.insert(id, e.clone());
    e
}

/// A predicate call: the body is lowered once per rule with its parameters in
/// slots of their own; each call stores its arguments there.
fn lower_pred_call(
    id: usize,
    params: &[ast::Ident],
    body: &ast::Expr,
    args: Vec<Expr>,
    scope: &mut Scope,
) -> Expr {
    let (slots, body) = match scope.preds.get(&id) {
        Some(p) => p.clone(),
        None => {
            let names = std::mem::take(&mut scope.names);
            let quants = std::mem::take(&mut scope.quants);
            let slots: Vec<usize> = params.iter().map(|p| scope.bind(&p.name)).collect();
            let lowered = Arc::new(lower_expr(body, scope));
            scope.names = names;
            scope.quants = quants;
            scope.preds.insert(id, (slots.clone(), lowered.clone()));
            (slots, lowered)
        }
    };
    Expr::Bind(slots.into_iter().zip(args).collect(), body)
}

fn lower_expr(e: &ast::Expr, scope: &mut Scope) -> Expr {
    let b = |e: &ast::Expr, scope: &mut Scope| Box::new(lower_expr(e, scope));
    match &e.kind {
        ExprKind::Null => Expr::Const(Const::Null),
        ExprKind::Bool(v) => Expr::Const(Const::Bool(*v)),
        ExprKind::Num(n) => Expr::Const(Const::Num(*n)),
        ExprKind::Str(s) => Expr::Const(Const::Str(s.clone())),
        ExprKind::List(items) => {
            let lowered: Vec<Expr> = items.iter().map(|i| lower_expr(i, scope)).collect();
            // Fold lists of constants: `x in ["a", "b"]` costs nothing at run time.
            if lowered.iter().all(|e| matches!(e, Expr::Const(_))) {
                let consts = lowered
                    .into_iter()
                    .map(|e| match e {
                        Expr::Const(c) => c,
                        _ => unreachable!("checked above"),
                    })
                    .collect();
                Expr::Const(Const::List(consts))
            } else {
                Expr::List(lowered)
            }
        }
        ExprKind::Var(name) => match scope.lookup(name) {
            Some(slot) => Expr::Var(slot),
            None => match scope
                .defs
                .and_then(|d| d.consts.get(name.as_str()))
                .copied()
            {
                Some((id, value)) => lower_const(id, value, scope),
                None => Expr::Const(Const::Null),
            },
        },
        ExprKind::Current => Expr::Current,
        ExprKind::Field(inner, name) => {
            let mut field = FieldName::new(&name.name);
            // In a flow log detection a record's fields are read by index, also
            // through a predicate's parameter; other values ignore the index.
            if scope.flow_slot.is_some() {
                field.flow = logschema::FLOW_FIELDS
                    .iter()
                    .position(|(n, _)| *n == name.name || n.replace('-', "_") == name.name)
                    .map(|i| i as u16);
            }
            Expr::Field(b(inner, scope), field)
        }
        ExprKind::Index(inner, idx) => Expr::Index(b(inner, scope), b(idx, scope)),
        ExprKind::Wildcard(inner) => Expr::Wildcard(b(inner, scope)),
        ExprKind::Filter(inner, pred) => Expr::Filter(b(inner, scope), b(pred, scope)),
        ExprKind::Call { ns, name, args } => {
            let mut args: Vec<Expr> = args.iter().map(|a| lower_expr(a, scope)).collect();
            let full = match ns {
                Some(ns) => format!("{}.{}", ns.name, name.name),
                None => name.name.clone(),
            };
            if ns.is_none() {
                if let Some(agg) = funcs::aggregate(&full, args.len()) {
                    let a = match (agg.0, args.pop()) {
                        ("count_distinct", Some(x)) => Aggregate::CountDistinct(x),
                        ("sum", Some(x)) => Aggregate::Sum(x),
                        ("min", Some(x)) => Aggregate::Min(x),
                        ("max", Some(x)) => Aggregate::Max(x),
                        _ => Aggregate::Count,
                    };
                    scope.aggregates.push(a);
                    return Expr::Agg(scope.aggregates.len() - 1);
                }
            }
            if ns.is_none() {
                let pred = scope.defs.and_then(|d| d.preds.get(full.as_str())).copied();
                if let Some((id, params, body)) = pred {
                    return lower_pred_call(id, params, body, args, scope);
                }
            }
            match funcs::lookup(&full) {
                Some(f) => {
                    if f.func == Func::ThreatList {
                        if let Some(Expr::Const(Const::Str(n))) = args.first() {
                            if !scope.lists.contains(n) {
                                scope.lists.push(n.clone());
                            }
                        }
                    }
                    scope.aws_ranges |= f.func == Func::AwsIpRanges;
                    Expr::Call(f.func, args)
                }
                None => Expr::Const(Const::Null),
            }
        }
        ExprKind::Unary(UnOp::Not, inner) => Expr::Not(b(inner, scope)),
        ExprKind::Unary(UnOp::Neg, inner) => Expr::Neg(b(inner, scope)),
        ExprKind::Binary(op, l, r) => Expr::Bin(*op, b(l, scope), b(r, scope)),
        ExprKind::Matches(inner, re) => {
            let regex = Regex::new(&re.value).unwrap_or_else(|_| Regex::new("$^").expect("valid"));
            Expr::Matches(b(inner, scope), regex)
        }
        ExprKind::Test(inner, t, neg) => Expr::Test(b(inner, scope), *t, *neg),
        ExprKind::Quant { q, var, list, body } => {
            let list = b(list, scope);
            let mark = scope.names.len();
            let slot = scope.bind(&var.name);
            let body = b(body, scope);
            scope.names.truncate(mark);
            scope.quants.push((var.name.clone(), slot));
            Expr::Quant(*q, slot, list, body)
        }
    }
}
