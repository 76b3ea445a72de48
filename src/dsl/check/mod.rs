//! The checker: turns parsed policies into compiled ones, or into diagnostics.
//! It resolves names, validates resource types and CloudFormation property paths
//! against the resource schemas, and catches type mismatches — before anything runs.

use std::collections::{BTreeMap, HashMap};

use super::ast::*;
use super::diag::{did_you_mean, Diag, Level, PolicySource};
use super::parser::SyntaxError;
use crate::compile::funcs::{self, ArgTy};
use crate::compile::ir::{self, Severity};
use crate::compile::{lower_detection, lower_policy};
use crate::schema::logs::{self as logschema, FieldKind, LogSource};
use crate::schema::{self, PathLookup, PropType};
use defs::{lower_defs, Memo};
use program::{DefId, Program};

mod compare;
mod defs;
mod detection;
mod lint;
mod program;
mod types;

/// Checked, compiled policies and every diagnostic found on the way.
#[derive(Debug, Default)]
pub struct Checked {
    pub policies: Vec<ir::Policy>,
    pub detections: Vec<ir::Detection>,
    pub diagnostics: Vec<Diag>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

pub const META_KEYS: &[&str] = &[
    "title",
    "severity",
    "description",
    "remediation",
    "controls",
    "references",
    "tags",
];

/// Parses, checks and compiles policy sources. Policies with errors are left out.
pub fn check_sources(sources: &[PolicySource]) -> Checked {
    let mut out = Checked::default();
    let prog = Program::load(sources, &mut out.diagnostics);
    let mut memo = Memo::default();
    // Definitions first, each checked once, in file order.
    for unit in 0..prog.units.len() {
        let Some(file) = &prog.units[unit].file else {
            continue;
        };
        for (item, it) in file.items.iter().enumerate() {
            if it.def_name().is_some() {
                let mut ck = Checker::new(&prog, unit, &mut memo);
                ck.ensure_def(DefId { unit, item }, Span::default());
                let mut diags = std::mem::take(&mut ck.diags);
                out.diagnostics.append(&mut diags);
                out.diagnostics.append(&mut memo.out);
            }
        }
    }
    let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
    for (si, unit) in prog.units.iter().enumerate() {
        let Some(file) = unit.file.as_ref().filter(|_| unit.loaded) else {
            continue;
        };
        let src = &unit.src;
        let defs = lower_defs(&prog, si);
        for item in &file.items {
            let mut ck = Checker::new(&prog, si, &mut memo);
            match item {
                Item::Detection(d) => {
                    ck.unique_id("detection", &d.id, si, sources, &mut seen);
                    ck.detection(d);
                }
                Item::Policy(p) => {
                    ck.unique_id("policy", &p.id, si, sources, &mut seen);
                    ck.policy(p);
                }
                _ => continue,
            }
            ck.warn_unused_lets();
            let ok = !ck.dep_failed && !ck.diags.iter().any(|d| d.level == Level::Error);
            let mut diags = std::mem::take(&mut ck.diags);
            out.diagnostics.append(&mut diags);
            out.diagnostics.append(&mut memo.out);
            if !ok {
                continue;
            }
            match item {
                Item::Detection(d) => out
                    .detections
                    .push(lower_detection(d, &src.text, &src.name, &defs)),
                Item::Policy(p) => out
                    .policies
                    .push(lower_policy(p, &src.text, &src.name, &defs)),
                _ => {}
            }
        }
    }
    defs::warn_unused_defs(&prog, &memo, &mut out.diagnostics);
    out
}

/// The diagnostic for a file that does not parse.
fn syntax_diag(src: &PolicySource, e: &SyntaxError) -> Diag {
    // At the end of the file there is nothing to underline: point at
    // the last character instead.
    let at_end = src.text[e.offset.min(src.text.len())..].trim().is_empty();
    let span = if at_end {
        let end = src.text.trim_end().len();
        let start = src.text[..end].char_indices().last().map_or(0, |(i, _)| i);
        Span::new(start, end)
    } else {
        Span::new(e.offset, e.offset + next_char_len(&src.text, e.offset))
    };
    let found = describe_at(&src.text, e.offset);
    let mut d = Diag::error(
        "syntax",
        src,
        span,
        format!("syntax error: expected {}", e.expected),
    )
    .label(if at_end {
        format!("the file ends after this; expected {}", e.expected)
    } else {
        format!("expected {} here, found {found}", e.expected)
    });
    if let Some((s, l)) = &e.note {
        d = d.with(*s, l.clone());
    }
    d
}

fn next_char_len(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|s| s.chars().next())
        .map_or(0, |c| c.len_utf8())
}

fn describe_at(text: &str, offset: usize) -> String {
    match text.get(offset..).and_then(|s| s.chars().next()) {
        None => "the end of the file".into(),
        Some('\n') => "the end of the line".into(),
        Some(c) => {
            let rest = &text[offset..];
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if word.is_empty() {
                format!("'{c}'")
            } else {
                format!("`{word}`")
            }
        }
    }
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// What the checker knows about an expression's value.
#[derive(Clone, Debug)]
enum Ty {
    Any,
    Bool,
    Num,
    Str,
    Null,
    List(Box<Ty>),
    /// A resource of the block's types.
    Res(Sel),
    /// A property path of the block's resources.
    Prop(Sel, Vec<String>),
    /// A log record of a detection (`from flowlog as f`).
    LogRec(LogSource),
    /// A field of a log record, or a value inside one.
    Log(FieldKind),
}

/// The types a block selects: the CloudFormation types (a wildcard stands for
/// every type it matches), and whether any Terraform type is among them.
#[derive(Clone, Debug, Default)]
struct Sel {
    cfn: std::rc::Rc<Vec<String>>,
    /// Terraform-shaped types (`aws_s3_bucket`), known to the schemas or not.
    tf: std::rc::Rc<Vec<String>>,
    terraform: bool,
}

impl Sel {
    fn merge(&mut self, other: &Sel) {
        let cfn = std::rc::Rc::make_mut(&mut self.cfn);
        for t in other.cfn.iter() {
            if !cfn.contains(t) {
                cfn.push(t.clone());
            }
        }
        self.terraform |= other.terraform;
        let tf = std::rc::Rc::make_mut(&mut self.tf);
        for t in other.tf.iter() {
            if !tf.contains(t) {
                tf.push(t.clone());
            }
        }
    }

    /// Every selected type, CloudFormation first.
    fn types(&self) -> impl Iterator<Item = &String> {
        self.cfn.iter().chain(self.tf.iter())
    }
}

impl Ty {
    fn name(&self) -> &'static str {
        match self {
            Ty::Any | Ty::Prop(..) => "a value",
            Ty::LogRec(_) => "a log record",
            Ty::Log(k) => match k {
                FieldKind::Num => "a number",
                FieldKind::Str => "a string",
                FieldKind::Bool => "a boolean",
                FieldKind::List(_) => "a list",
                FieldKind::Object(_) | FieldKind::Open => "a value",
            },
            Ty::Bool => "a boolean",
            Ty::Num => "a number",
            Ty::Str => "a string",
            Ty::Null => "null",
            Ty::List(_) => "a list",
            Ty::Res(_) => "a resource",
        }
    }
}

struct Checker<'a, 'm> {
    src: &'a PolicySource,
    diags: Vec<Diag>,
    prog: &'a Program,
    /// The file being checked (its definitions are in scope).
    unit: usize,
    memo: &'m mut Memo,
    /// A definition the rule uses has errors (reported once, at the
    /// definition): the rule cannot be compiled.
    dep_failed: bool,
    /// The rule's `let`s, for the unused-`let` warning.
    lets: Vec<LetUse>,
}

struct LetUse {
    name: String,
    span: Span,
    used: bool,
}

impl<'a, 'm> Checker<'a, 'm> {
    fn new(prog: &'a Program, unit: usize, memo: &'m mut Memo) -> Self {
        Checker {
            src: &prog.units[unit].src,
            diags: Vec::new(),
            prog,
            unit,
            memo,
            dep_failed: false,
            lets: Vec::new(),
        }
    }

    /// Binds a `let` (of a block or a detection) and remembers it for the
    /// unused-`let` warning.
    fn bind_let(&mut self, scope: &mut Scope, name: &Ident, t: Ty) {
        self.lets.push(LetUse {
            name: name.name.clone(),
            span: name.span,
            used: false,
        });
        scope
            .vars
            .push((name.name.clone(), t, Some(self.lets.len() - 1)));
    }

    fn errors(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }

    fn warn_unused_lets(&mut self) {
        for l in std::mem::take(&mut self.lets) {
            if l.used || l.name.starts_with('_') {
                continue;
            }
            self.diags.push(
                Diag::error(
                    "unused-let",
                    self.src,
                    l.span,
                    format!("`{}` is never used", l.name),
                )
                .warning()
                .label("bound here, read nowhere")
                .help(format!(
                    "remove the `let`, or use `{}` in a condition or message (a name starting with `_` is not reported)",
                    l.name
                )),
            );
        }
    }
}

/// Names in scope: the resource binding, lets, quantifier variables; a `let`
/// carries its index in `Checker::lets`.
#[derive(Default, Clone)]
struct Scope {
    vars: Vec<(String, Ty, Option<usize>)>,
    /// Quantifier variables of the condition being checked, for its message.
    quants: Vec<(String, Ty)>,
    in_filter: Vec<Ty>,
    /// Inside a detection's `alert when` or `message`: aggregates are allowed.
    aggregates: bool,
    /// Inside a detection: its threat lists and AWS ranges may be named.
    detection: bool,
}

impl Scope {
    fn get(&self, name: &str) -> Option<(&Ty, Option<usize>)> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, t, l)| (t, *l))
    }
}

impl Checker<'_, '_> {
    /// Checks metadata fields against `allowed`; returns the fields given.
    fn meta<'m>(
        &mut self,
        meta: &'m [Meta],
        allowed: &[&'static str],
        detection: bool,
    ) -> BTreeMap<&'m str, Span> {
        let mut keys: BTreeMap<&str, Span> = BTreeMap::new();
        for m in meta {
            let k = m.key.name.as_str();
            if !allowed.contains(&k) {
                let d = Diag::error(
                    "unknown-field",
                    self.src,
                    m.key.span,
                    format!("unknown metadata field `{k}`"),
                )
                .label("not a metadata field");
                let d = match did_you_mean(k, allowed.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("metadata fields are: {}", allowed.join(", "))),
                };
                self.diags.push(d);
                continue;
            }
            if let Some(prev) = keys.insert(k, m.key.span) {
                let d = Diag::error(
                    "duplicate-field",
                    self.src,
                    m.key.span,
                    format!("`{k}` is given twice"),
                )
                .label("second time")
                .with(prev, "first time")
                .help("keep one");
                self.diags.push(d);
            }
            match (k, &m.value) {
                ("severity", MetaValue::Word(w)) if Severity::parse(&w.name).is_none() => {
                    let levels: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
                    let help = match did_you_mean(&w.name, levels.iter().copied()) {
                        Some(s) => {
                            format!("did you mean `{s}`? severities are: {}", levels.join(", "))
                        }
                        None => format!("severities are: {}", levels.join(", ")),
                    };
                    self.diags.push(
                        Diag::error(
                            "bad-severity",
                            self.src,
                            w.span,
                            format!("unknown severity `{}`", w.name),
                        )
                        .label("not a severity")
                        .help(help),
                    );
                }
                ("severity", MetaValue::Word(_)) => {}
                ("severity", MetaValue::Num(n, span)) if detection && !(1.0..9.0).contains(n) => {
                    self.diags.push(
                        Diag::error("bad-severity", self.src, *span, format!("GuardDuty severity {n} is out of range"))
                            .help("GuardDuty severities run from 1.0 to 8.9: low 1.0-3.9, medium 4.0-6.9, high 7.0-8.9"),
                    );
                }
                ("severity", MetaValue::Num(..)) if detection => {}
                ("severity", v) => {
                    self.diags.push(
                        Diag::error("bad-severity", self.src, v.span(), "severity must be a word")
                            .help(if detection {
                                "write a word (`severity high`) or GuardDuty's number (`severity 5.0`)"
                            } else {
                                "write, for example, `severity high` (info, low, medium, high, critical)"
                            }),
                    );
                }
                ("title" | "description" | "remediation", MetaValue::Str(_)) => {}
                ("title" | "description" | "remediation", v) => {
                    self.diags.push(
                        Diag::error(
                            "bad-field",
                            self.src,
                            v.span(),
                            format!("`{k}` must be a string in quotes"),
                        )
                        .help(format!("write `{k} \"...\"`")),
                    );
                }
                ("controls" | "references" | "tags", MetaValue::List(_) | MetaValue::Str(_)) => {}
                ("controls" | "references" | "tags", v) => {
                    self.diags.push(
                        Diag::error(
                            "bad-field",
                            self.src,
                            v.span(),
                            format!("`{k}` must be a list of strings"),
                        )
                        .help(format!("write `{k} [\"...\", \"...\"]`")),
                    );
                }
                ("type", MetaValue::Str(_)) => {}
                ("action", MetaValue::Word(w)) if detection::ACTIONS.contains(&w.name.as_str()) => {
                }
                ("type" | "action", v) => {
                    let help = if k == "type" {
                        "write GuardDuty's finding type in quotes, such as `type \"Recon:EC2/Portscan\"`".to_string()
                    } else {
                        format!("actions are: {}", detection::ACTIONS.join(", "))
                    };
                    self.diags.push(
                        Diag::error("bad-field", self.src, v.span(), format!("bad `{k}`"))
                            .help(help),
                    );
                }
                _ => {}
            }
        }
        keys
    }

    fn policy(&mut self, p: &Policy) {
        let keys = self.meta(&p.meta, META_KEYS, false);
        if !keys.contains_key("severity") {
            self.diags.push(
                Diag::error(
                    "missing-severity",
                    self.src,
                    p.id.span,
                    format!("policy `{}` has no severity", p.id.name),
                )
                .label("this policy")
                .help("add a line `severity high` (info, low, medium, high or critical)"),
            );
        }
        if p.blocks.is_empty() {
            self.diags.push(
                Diag::error(
                    "empty-policy",
                    self.src,
                    p.id.span,
                    format!("policy `{}` selects no resources", p.id.name),
                )
                .help("add `for resource \"AWS::...\" as r` followed by `require ...`"),
            );
        }
        for b in &p.blocks {
            self.block(b);
        }
        self.overlapping_each(p);
    }

    fn block(&mut self, b: &RuleBlock) {
        let sel = self.block_types(b);
        let mut scope = Scope::default();
        scope
            .vars
            .push((b.binding.name.clone(), Ty::Res(sel.clone()), None));
        if let Some(w) = &b.when {
            let before = self.errors();
            let t = self.expr(w, &mut scope);
            self.expect_condition(w, &t);
            if self.errors() == before {
                let selected = self.selected_types(b);
                self.lint_when(b, &selected);
            }
        }
        if let Some((name, list)) = &b.each {
            let lt = self.expr(list, &mut scope);
            if matches!(lt, Ty::Bool | Ty::Num | Ty::Null | Ty::Str) {
                self.diags.push(
                    Diag::error("type-mismatch", self.src, list.span, format!("expected a list after `each {} in`, found {}", name.name, lt.name()))
                        .help("`each` gives one result per item of a list, such as `each e in reachable(i)`"),
                );
            }
            let elem = match self.elements(&lt) {
                Ty::List(e) => *e,
                other => other,
            };
            scope.vars.push((name.name.clone(), elem, None));
        }
        for s in &b.stmts {
            match s {
                Stmt::Let { name, value } => {
                    let t = self.expr(value, &mut scope);
                    self.bind_let(&mut scope, name, t);
                }
                Stmt::Require { cond, message, .. } => {
                    scope.quants.clear();
                    let before = self.errors();
                    let t = self.expr(cond, &mut scope);
                    self.expect_condition(cond, &t);
                    if self.errors() == before {
                        self.lint_require(cond);
                    }
                    if let Some(m) = message {
                        // The condition's quantifier variables name the item
                        // that decided it.
                        let mark = scope.vars.len();
                        let quants = std::mem::take(&mut scope.quants);
                        scope
                            .vars
                            .extend(quants.into_iter().map(|(n, t)| (n, t, None)));
                        for part in &m.parts {
                            if let MsgPart::Expr(e) = part {
                                self.expr(e, &mut scope);
                            }
                        }
                        scope.vars.truncate(mark);
                    }
                }
            }
        }
    }

    fn expect_condition(&mut self, e: &Expr, t: &Ty) {
        if matches!(t, Ty::Num | Ty::Str | Ty::List(_) | Ty::Null) {
            self.diags.push(
                Diag::error(
                    "type-mismatch",
                    self.src,
                    e.span,
                    format!("expected a condition, found {}", t.name()),
                )
                .label("this is not true or false")
                .help("compare it (`==`, `in`, `matches`) or test it (`exists`, `empty`)"),
            );
        }
    }

    fn expr(&mut self, e: &Expr, scope: &mut Scope) -> Ty {
        match &e.kind {
            ExprKind::Null => Ty::Null,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Num(_) => Ty::Num,
            ExprKind::Str(_) => Ty::Str,
            ExprKind::List(items) => {
                let mut elem = None;
                for i in items {
                    let t = self.expr(i, scope);
                    elem.get_or_insert(t);
                }
                Ty::List(Box::new(elem.unwrap_or(Ty::Any)))
            }
            ExprKind::Var(name) => match scope.get(name) {
                Some((t, l)) => {
                    if let Some(l) = l {
                        self.lets[l].used = true;
                    }
                    t.clone()
                }
                None if self.prog.units[self.unit].env.contains_key(name) => {
                    self.const_ref(name, e.span)
                }
                None => {
                    let consts = self.names_of(|i| matches!(i, Item::Const(_)));
                    let names: Vec<&str> = scope
                        .vars
                        .iter()
                        .map(|(n, _, _)| n.as_str())
                        .chain(consts.iter().map(String::as_str))
                        .collect();
                    let mut d = Diag::error(
                        "unknown-name",
                        self.src,
                        e.span,
                        format!("unknown name `{name}`"),
                    )
                    .label("not defined");
                    d = match did_you_mean(name, names.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None if !names.is_empty() => {
                            d.help(format!("names in scope: {}", names.join(", ")))
                        }
                        None => d,
                    };
                    if funcs::lookup(name).is_some() {
                        d = d.help(format!("`{name}` is a function: call it as `{name}(...)`"));
                    }
                    self.diags.push(d);
                    Ty::Any
                }
            },
            ExprKind::Current => {
                match scope.in_filter.last() {
                    Some(t) => t.clone(),
                    None => {
                        self.diags.push(
                        Diag::error("misplaced-current", self.src, e.span, "`@` is only meaningful inside a filter")
                            .help("use `@` inside `list[? ...]`, for example `r.Rules[? @.Port == 22]`"),
                    );
                        Ty::Any
                    }
                }
            }
            ExprKind::Field(inner, name) => {
                let base = self.expr(inner, scope);
                self.field(base, name)
            }
            ExprKind::Index(inner, idx) => {
                let base = self.expr(inner, scope);
                let it = self.expr(idx, scope);
                match (&base, &idx.kind) {
                    (Ty::Prop(..) | Ty::Res(_) | Ty::LogRec(_) | Ty::Log(_), ExprKind::Str(k)) => {
                        let ident = Ident {
                            name: k.clone(),
                            span: idx.span,
                        };
                        self.field(base, &ident)
                    }
                    (Ty::Prop(sel, path), _) if matches!(it, Ty::Num | Ty::Any) => {
                        let mut p = path.clone();
                        p.push("*".into());
                        Ty::Prop(sel.clone(), p)
                    }
                    (Ty::List(elem), _) => (**elem).clone(),
                    _ => Ty::Any,
                }
            }
            ExprKind::Wildcard(inner) => {
                let base = self.expr(inner, scope);
                self.elements(&base)
            }
            ExprKind::Filter(inner, pred) => {
                let base = self.expr(inner, scope);
                let elem = match self.elements(&base) {
                    Ty::List(e) => *e,
                    other => other,
                };
                scope.in_filter.push(elem.clone());
                let t = self.expr(pred, scope);
                scope.in_filter.pop();
                self.expect_condition(pred, &t);
                Ty::List(Box::new(elem))
            }
            ExprKind::Call { ns, name, args } => self.call(e, ns.as_ref(), name, args, scope),
            ExprKind::Unary(UnOp::Not, inner) => {
                let t = self.expr(inner, scope);
                self.expect_condition(inner, &t);
                Ty::Bool
            }
            ExprKind::Unary(UnOp::Neg, inner) => {
                let t = self.expr(inner, scope);
                self.expect_num(inner, &t, "'-'");
                Ty::Num
            }
            ExprKind::Binary(op, l, r) => {
                let lt = self.expr(l, scope);
                let rt = self.expr(r, scope);
                self.binary(*op, l, &lt, r, &rt)
            }
            ExprKind::Matches(inner, re) => {
                let t = self.expr(inner, scope);
                if matches!(self.leaf(&t), Ty::Bool) {
                    self.diags.push(
                        Diag::error(
                            "type-mismatch",
                            self.src,
                            inner.span,
                            "`matches` applies to strings, found a boolean",
                        )
                        .help("compare booleans with `== true` or `== false`"),
                    );
                }
                if let Err(err) = regex::Regex::new(&re.value) {
                    let msg = err.to_string();
                    let last = msg.lines().last().unwrap_or("invalid").trim().to_string();
                    self.diags.push(
                        Diag::error("bad-regex", self.src, re.span, "invalid regular expression")
                            .label(last)
                            .help("the syntax is Rust's `regex` crate (like RE2); escape special characters with a backslash"),
                    );
                }
                Ty::Bool
            }
            ExprKind::Test(inner, _, _) => {
                self.expr(inner, scope);
                Ty::Bool
            }
            ExprKind::Quant {
                var, list, body, ..
            } => {
                let lt = self.expr(list, scope);
                if matches!(lt, Ty::Bool | Ty::Num | Ty::Null) {
                    self.diags.push(
                        Diag::error(
                            "type-mismatch",
                            self.src,
                            list.span,
                            format!("expected a list after `in`, found {}", lt.name()),
                        )
                        .help("quantifiers range over a list, such as `r.Rules[*]`"),
                    );
                }
                let elem = match self.elements(&lt) {
                    Ty::List(e) => *e,
                    other => other,
                };
                scope.vars.push((var.name.clone(), elem.clone(), None));
                let bt = self.expr(body, scope);
                scope.vars.pop();
                scope.quants.push((var.name.clone(), elem));
                self.expect_condition(body, &bt);
                Ty::Bool
            }
        }
    }

    /// The element type of a list-like type.
    fn elements(&self, t: &Ty) -> Ty {
        match t {
            Ty::List(e) => Ty::List(e.clone()),
            Ty::Log(FieldKind::List(fields)) => {
                Ty::List(Box::new(Ty::Log(FieldKind::Object(fields))))
            }
            Ty::Prop(sel, path) => {
                let mut p = path.clone();
                if self.is_array(sel, path) {
                    p.push("*".into());
                    Ty::List(Box::new(Ty::Prop(sel.clone(), p)))
                } else {
                    Ty::List(Box::new(Ty::Any))
                }
            }
            _ => Ty::List(Box::new(Ty::Any)),
        }
    }

    fn is_array(&self, sel: &Sel, path: &[String]) -> bool {
        let segs: Vec<&str> = path.iter().map(|s| s.as_str()).collect();
        sel.types().any(|t| {
            matches!(schema::lookup_any(t, &segs), PathLookup::Found(info) if info.ptype == PropType::Array)
        })
    }

    /// The scalar type a property path has in the schema, if it is a scalar.
    fn leaf(&self, t: &Ty) -> Ty {
        if let Ty::Log(k) = t {
            return match k {
                FieldKind::Num => Ty::Num,
                FieldKind::Str => Ty::Str,
                FieldKind::Bool => Ty::Bool,
                FieldKind::List(_) => Ty::List(Box::new(Ty::Any)),
                FieldKind::Object(_) | FieldKind::Open => Ty::Any,
            };
        }
        let Ty::Prop(sel, path) = t else {
            return t.clone();
        };
        let segs: Vec<&str> = path.iter().map(|s| s.as_str()).collect();
        let mut found: Option<Ty> = None;
        for ty in sel.types() {
            if let PathLookup::Found(info) = schema::lookup_any(ty, &segs) {
                let t = match info.ptype {
                    PropType::Boolean => Ty::Bool,
                    PropType::Integer | PropType::Number => Ty::Num,
                    PropType::String => Ty::Str,
                    _ => return Ty::Any,
                };
                match &found {
                    Some(f) if std::mem::discriminant(f) != std::mem::discriminant(&t) => {
                        return Ty::Any
                    }
                    _ => found = Some(t),
                }
            } else {
                return Ty::Any;
            }
        }
        found.unwrap_or(Ty::Any)
    }

    fn field(&mut self, base: Ty, name: &Ident) -> Ty {
        match base {
            Ty::Res(sel) => match name.name.as_str() {
                "id" | "resource_type" | "DeletionPolicy" | "UpdateReplacePolicy" => Ty::Str,
                "Properties" | "values" => Ty::Prop(sel, vec![]),
                "Metadata" => Ty::Any,
                _ => self.prop_path(sel, vec![], name),
            },
            Ty::Prop(sel, path) => self.prop_path(sel, path, name),
            Ty::LogRec(source) => self.log_field(Some(source), logschema::fields(source), name),
            Ty::Log(FieldKind::Object(fields)) => self.log_field(None, fields, name),
            Ty::Log(FieldKind::Open) => Ty::Log(FieldKind::Open),
            Ty::List(elem) => match *elem {
                t @ (Ty::Prop(..) | Ty::Res(_) | Ty::Log(_)) => {
                    let inner = self.field(t, name);
                    Ty::List(Box::new(inner))
                }
                _ => Ty::Any,
            },
            Ty::Bool | Ty::Num | Ty::Null => {
                self.diags.push(
                    Diag::error(
                        "type-mismatch",
                        self.src,
                        name.span,
                        format!(
                            "`{}` is read from {}, which has no properties",
                            name.name,
                            base.name()
                        ),
                    )
                    .help("only maps, lists and resources have properties"),
                );
                Ty::Any
            }
            _ => Ty::Any,
        }
    }

    /// Checks `path.name` against the schemas of the selected types
    /// (CloudFormation's, and the Terraform AWS provider's).
    fn prop_path(&mut self, sel: Sel, mut path: Vec<String>, name: &Ident) -> Ty {
        path.push(name.name.clone());
        let segs: Vec<&str> = path.iter().map(|s| s.as_str()).collect();
        let mut unknown: Vec<(String, Option<String>, Vec<String>)> = vec![];
        let mut accepted = false;
        for t in sel.types() {
            match schema::lookup_any(t, &segs) {
                PathLookup::Found(_) | PathLookup::NotCovered => {
                    accepted = true;
                    break;
                }
                // A type that failed at an earlier segment is out of the running
                // (reported then, or passed over because another type matched).
                PathLookup::Unknown { index, .. } if index + 1 < segs.len() => {}
                PathLookup::Unknown {
                    suggestion, known, ..
                } => unknown.push((t.clone(), suggestion, known)),
            }
        }
        if accepted {
            return Ty::Prop(sel, path);
        }
        if unknown.is_empty() {
            return Ty::Any;
        }
        let both_shapes = unknown.iter().any(|(t, ..)| t.contains("::"))
            && unknown.iter().any(|(t, ..)| !t.contains("::"));
        let (rtype, suggestion, known) = unknown.swap_remove(0);
        let terraform = !rtype.contains("::");
        let parent = if path.len() > 1 {
            format!("`{}` of {rtype}", show_path(&path[..path.len() - 1]))
        } else {
            rtype.clone()
        };
        let (what, label) = if both_shapes {
            (
                "property",
                "in neither the CloudFormation nor the Terraform AWS provider schema",
            )
        } else if rtype.starts_with("Deadbolt::") {
            ("property", "not a property of this deadbolt resource type")
        } else if terraform {
            ("attribute", "not in the Terraform AWS provider schema")
        } else {
            ("property", "not in the CloudFormation schema")
        };
        let mut d = Diag::error(
            "unknown-property",
            self.src,
            name.span,
            format!("unknown {what} `{}` of {parent}", name.name),
        )
        .label(label);
        let attrs = schema::attributes(&rtype).unwrap_or(&[]);
        d = if let Some(s) = suggestion {
            d.help(format!("did you mean `{s}`?"))
        } else if attrs.contains(&name.name) {
            d.help(format!(
                "`{}` is a read-only attribute (use Fn::GetAtt), not a property",
                name.name
            ))
        } else if known.is_empty() {
            let via = if terraform {
                "to read the resource it references"
            } else {
                "to read the resource a Ref or GetAtt names"
            };
            d.help(format!(
                "`{}` is a scalar; {via}, use `deref(...)`",
                show_path(&path[..path.len() - 1])
            ))
        } else {
            let list: Vec<&str> = known.iter().take(12).map(|s| s.as_str()).collect();
            let more = if known.len() > 12 { ", ..." } else { "" };
            let plural = if what == "property" {
                "properties"
            } else {
                "attributes"
            };
            d.help(format!("known {plural} here: {}{more}", list.join(", ")))
        };
        self.diags.push(d);
        Ty::Any
    }

    fn call(
        &mut self,
        e: &Expr,
        ns: Option<&Ident>,
        name: &Ident,
        args: &[Expr],
        scope: &mut Scope,
    ) -> Ty {
        let full = match ns {
            Some(ns) => format!("{}.{}", ns.name, name.name),
            None => name.name.clone(),
        };
        let span = ns.map_or(name.span, |n| n.span.to(name.span));
        if ns.is_none() {
            if let Some(agg) = funcs::aggregate(&full, args.len()) {
                return self.aggregate(e, agg, args, scope);
            }
        }
        if ns.is_none() && self.prog.units[self.unit].env.contains_key(&full) {
            return self.pred_call(e, name, args, scope);
        }
        let arg_tys: Vec<Ty> = args.iter().map(|a| self.expr(a, scope)).collect();
        if matches!(full.as_str(), "threatlist" | "aws_ip_ranges") && !scope.detection {
            self.diags.push(
                Diag::error(
                    "misplaced-function",
                    self.src,
                    span,
                    format!("`{full}` is only meaningful in a detection"),
                )
                .help("threat lists and AWS ranges are consulted by `detection` rules over logs"),
            );
        }
        let Some(spec) = funcs::lookup(&full) else {
            let d = Diag::error(
                "unknown-function",
                self.src,
                span,
                format!("unknown function `{full}`"),
            )
            .label("no such function");
            let preds = self.names_of(|i| matches!(i, Item::Predicate(_)));
            let mut candidates: Vec<&str> = funcs::names().collect();
            candidates.extend(preds.iter().map(String::as_str));
            let suggestion = did_you_mean(&full, candidates).map(str::to_string);
            let d = match suggestion {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "built-in functions: {}",
                    funcs::names().collect::<Vec<_>>().join(", ")
                )),
            };
            self.diags.push(d);
            return Ty::Any;
        };
        if args.len() < spec.min || args.len() > spec.max {
            let want = if spec.min == spec.max {
                format!("{}", spec.min)
            } else if spec.max == usize::MAX {
                format!("at least {}", spec.min)
            } else {
                format!("{} to {}", spec.min, spec.max)
            };
            self.diags.push(
                Diag::error(
                    "wrong-arguments",
                    self.src,
                    e.span,
                    format!(
                        "`{}` takes {want} argument{}, given {}",
                        spec.name,
                        if want == "1" { "" } else { "s" },
                        args.len()
                    ),
                )
                .help(format!("{}: {}", spec.name, spec.doc)),
            );
        }
        for (i, (a, t)) in args.iter().zip(&arg_tys).enumerate() {
            let want = spec
                .args
                .get(i)
                .or(spec.args.last())
                .copied()
                .unwrap_or(ArgTy::Any);
            let leaf = self.leaf(t);
            let bad = match want {
                ArgTy::Str => {
                    matches!(leaf, Ty::Bool | Ty::Null | Ty::Res(_)) || matches!(t, Ty::List(_))
                }
                ArgTy::Num => matches!(leaf, Ty::Bool | Ty::List(_)),
                _ => false,
            };
            if bad {
                self.diags.push(
                    Diag::error(
                        "type-mismatch",
                        self.src,
                        a.span,
                        format!(
                            "argument {} of `{}` must be a {}, found {}",
                            i + 1,
                            spec.name,
                            argty_name(want),
                            leaf.name()
                        ),
                    )
                    .help(format!("{}: {}", spec.name, spec.doc)),
                );
            }
        }
        match spec.ret {
            ArgTy::Bool => Ty::Bool,
            ArgTy::Num => Ty::Num,
            ArgTy::Str => Ty::Str,
            ArgTy::List => Ty::List(Box::new(Ty::Any)),
            ArgTy::Any => Ty::Any,
        }
    }

    fn expect_num(&mut self, e: &Expr, t: &Ty, op: &str) {
        let leaf = self.leaf(t);
        if matches!(leaf, Ty::Bool | Ty::Null | Ty::Res(_)) || matches!(t, Ty::List(_)) {
            self.diags.push(
                Diag::error(
                    "type-mismatch",
                    self.src,
                    e.span,
                    format!("{op} needs numbers, found {}", leaf.name()),
                )
                .label("not a number"),
            );
        }
    }
}

fn argty_name(t: ArgTy) -> &'static str {
    match t {
        ArgTy::Any => "value",
        ArgTy::Str => "string",
        ArgTy::Num => "number",
        ArgTy::Bool => "boolean",
        ArgTy::List => "list",
    }
}

/// A property path as written: `rule[*].statement`, not `rule.*.statement`.
fn show_path(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if seg == "*" {
            out.push_str("[*]");
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}
