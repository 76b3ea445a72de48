//! Lowering of checked syntax trees into the IR.

use regex::Regex;

use super::funcs;
use super::ir::{self, Block, Const, Expr, FieldName, MsgPart, Severity, Stmt};
use crate::dsl::ast::{self, ExprKind, MetaValue, UnOp};

/// Scope of names visible at a point: each name maps to its slot.
#[derive(Default)]
struct Scope {
    names: Vec<(String, usize)>,
    next: usize,
}

impl Scope {
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
pub fn lower_policy(p: &ast::Policy, src: &str, file: &str) -> ir::Policy {
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
        let text = || match &m.value {
            MetaValue::Str(s) => s.value.clone(),
            MetaValue::Word(w) => w.name.clone(),
            MetaValue::List(l) => l
                .iter()
                .map(|s| s.value.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let list = || match &m.value {
            MetaValue::List(l) => l.iter().map(|s| s.value.clone()).collect(),
            MetaValue::Str(s) => vec![s.value.clone()],
            MetaValue::Word(w) => vec![w.name.clone()],
        };
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
    out.blocks = p.blocks.iter().map(|b| lower_block(b, src)).collect();
    out
}

/// 1-based line of a byte offset.
pub fn line_of(src: &str, offset: usize) -> u32 {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u32
        + 1
}

fn lower_block(b: &ast::RuleBlock, src: &str) -> Block {
    let mut scope = Scope::default();
    scope.bind(&b.binding.name);
    let when = b.when.as_ref().map(|e| lower_expr(e, &mut scope));
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
                let c = lower_expr(cond, &mut scope);
                let message = message.as_ref().map(|m| {
                    m.parts
                        .iter()
                        .map(|p| match p {
                            ast::MsgPart::Text(t) => MsgPart::Text(t.clone()),
                            ast::MsgPart::Expr(e) => MsgPart::Expr(lower_expr(e, &mut scope)),
                        })
                        .collect()
                });
                stmts.push(Stmt::Require {
                    cond: c,
                    message,
                    text: src[cond.span.start..cond.span.end].to_string(),
                    span: *span,
                });
            }
        }
    }
    Block {
        types: b.types.iter().map(|t| t.value.clone()).collect(),
        when,
        stmts,
        slots: scope.next,
    }
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
            None => Expr::Const(Const::Null),
        },
        ExprKind::Current => Expr::Current,
        ExprKind::Field(inner, name) => Expr::Field(b(inner, scope), FieldName::new(&name.name)),
        ExprKind::Index(inner, idx) => Expr::Index(b(inner, scope), b(idx, scope)),
        ExprKind::Wildcard(inner) => Expr::Wildcard(b(inner, scope)),
        ExprKind::Filter(inner, pred) => Expr::Filter(b(inner, scope), b(pred, scope)),
        ExprKind::Call { ns, name, args } => {
            let args = args.iter().map(|a| lower_expr(a, scope)).collect();
            let full = match ns {
                Some(ns) => format!("{}.{}", ns.name, name.name),
                None => name.name.clone(),
            };
            match funcs::lookup(&full) {
                Some(f) => Expr::Call(f.func, args),
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
            Expr::Quant(*q, slot, list, body)
        }
    }
}
