//! File-level definitions: constants (`let NAME = EXPR`), predicates
//! (`predicate NAME(a, b) = COND`) and type groups (`types NAME = [...]`).
//!
//! Each definition is checked once on its own (a predicate's parameters are of
//! any type there), and a predicate again for each combination of argument
//! types it is called with, so that `db.Engin` inside a predicate called with
//! an RDS instance is caught like anywhere else. A definition that refers to
//! itself, directly or through others, is an error, so inlining terminates.

use std::collections::{HashMap, HashSet};

use super::program::{DefId, Program};
use super::{Checker, Scope, Sel, Ty};
use crate::compile::{funcs, Defs};
use crate::dsl::ast::*;
use crate::dsl::diag::{did_you_mean, Diag, Level};

/// Definitions may use definitions this many levels deep (a predicate that
/// calls a predicate that reads a constant is three). Deeper chains are refused
/// so that checking and evaluation stay shallow.
const MAX_DEF_DEPTH: usize = 16;

/// What the check has learnt about definitions so far.
#[derive(Default)]
pub(super) struct Memo {
    /// A constant's type, a predicate's result type (its parameters of any
    /// type), a group's types — and whether the definition has errors.
    checked: HashMap<DefId, (Ty, bool)>,
    groups: HashMap<DefId, Sel>,
    /// A predicate checked with particular argument types.
    instances: HashMap<(DefId, String), (Ty, bool)>,
    /// Definitions being checked now (innermost last): a reference to one of
    /// them is a cycle.
    active: Vec<DefId>,
    /// Diagnostics already reported (file, span, message): a predicate called
    /// from ten rules reports a mistake once.
    reported: HashSet<(String, usize, usize, String)>,
    pub used: HashSet<DefId>,
    /// Diagnostics about definitions, in the order found.
    pub out: Vec<Diag>,
}

impl Checker<'_, '_> {
    fn def_id(&self, name: &str) -> Option<DefId> {
        self.prog.units[self.unit].env.get(name).copied()
    }

    /// Names of the definitions visible here whose item satisfies `f`.
    pub(super) fn names_of(&self, f: impl Fn(&Item) -> bool) -> Vec<String> {
        let mut names: Vec<String> = self.prog.units[self.unit]
            .env
            .iter()
            .filter(|(_, id)| f(self.prog.item(**id)))
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// A constant (or a misused predicate or group name) read as a value.
    pub(super) fn const_ref(&mut self, name: &str, span: Span) -> Ty {
        let Some(id) = self.def_id(name) else {
            return Ty::Any;
        };
        self.memo.used.insert(id);
        match self.prog.item(id) {
            Item::Const(_) => {
                let (t, err) = self.ensure_def(id, span);
                self.dep_failed |= err;
                t
            }
            Item::Predicate(p) => {
                let params: Vec<&str> = p.params.iter().map(|p| p.name.as_str()).collect();
                self.diags.push(
                    Diag::error(
                        "unknown-name",
                        self.src,
                        span,
                        format!("`{name}` is a predicate, not a value"),
                    )
                    .label("needs its arguments")
                    .help(format!("call it: `{name}({})`", params.join(", "))),
                );
                Ty::Any
            }
            _ => {
                self.diags.push(
                    Diag::error(
                        "unknown-name",
                        self.src,
                        span,
                        format!("`{name}` is a group of resource types, not a value"),
                    )
                    .help(format!("select its types with `for resource {name} as r`")),
                );
                Ty::Any
            }
        }
    }

    /// Checks a definition on its own, once; returns its type and whether it
    /// (or a definition it uses) has errors. `at` is the reference that asked.
    pub(super) fn ensure_def(&mut self, id: DefId, at: Span) -> (Ty, bool) {
        if let Some((t, err)) = self.memo.checked.get(&id) {
            return (t.clone(), *err);
        }
        if let Some(pos) = self.memo.active.iter().position(|a| *a == id) {
            let chain: Vec<String> = self.memo.active[pos..]
                .iter()
                .chain(std::iter::once(&id))
                .filter_map(|d| self.prog.item(*d).def_name())
                .map(|n| format!("`{}`", n.name))
                .collect();
            self.diags.push(
                Diag::error(
                    "recursive-definition",
                    self.src,
                    at,
                    format!(
                        "{} is defined in terms of itself: {}",
                        chain[0],
                        chain.join(" uses ")
                    ),
                )
                .label("refers back here")
                .help("definitions are expanded where they are used, so they cannot refer to themselves; write the condition out"),
            );
            return (Ty::Any, true);
        }
        if self.memo.active.len() >= MAX_DEF_DEPTH {
            self.diags.push(
                Diag::error(
                    "definition-depth",
                    self.src,
                    at,
                    format!("definitions are nested more than {MAX_DEF_DEPTH} deep here"),
                )
                .help("a predicate or constant may use others, up to 16 levels; flatten the chain"),
            );
            return (Ty::Any, true);
        }
        self.memo.active.push(id);
        let prog = self.prog;
        let mut sub = Checker::new(prog, id.unit, self.memo);
        let t = match prog.item(id) {
            Item::Const(c) => {
                let mut scope = Scope {
                    detection: true,
                    ..Scope::default()
                };
                sub.expr(&c.value, &mut scope)
            }
            Item::Predicate(p) => {
                sub.predicate_name(p);
                let mut scope = Scope {
                    detection: true,
                    ..Scope::default()
                };
                for param in &p.params {
                    scope.vars.push((param.name.clone(), Ty::Any, None));
                }
                let t = sub.expr(&p.body, &mut scope);
                sub.expect_condition(&p.body, &t);
                t
            }
            Item::Types(g) => {
                let sel = sub.group_types(g);
                sub.memo.groups.insert(id, sel);
                Ty::Any
            }
            _ => Ty::Any,
        };
        let diags = std::mem::take(&mut sub.diags);
        let err = sub.dep_failed || diags.iter().any(|d| d.level == Level::Error);
        self.memo.active.pop();
        for d in diags {
            self.memo.reported.insert(report_key(&d));
            self.memo.out.push(d);
        }
        self.memo.checked.insert(id, (t.clone(), err));
        (t, err)
    }

    fn predicate_name(&mut self, p: &PredDef) {
        let name = p.name.name.as_str();
        if funcs::lookup(name).is_some() || (0..=1).any(|n| funcs::aggregate(name, n).is_some()) {
            self.diags.push(
                Diag::error(
                    "bad-definition",
                    self.src,
                    p.name.span,
                    format!("`{name}` is a built-in function"),
                )
                .label("cannot be redefined")
                .help("give the predicate another name"),
            );
        }
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for param in &p.params {
            if let Some(prev) = seen.insert(param.name.as_str(), param.span) {
                self.diags.push(
                    Diag::error(
                        "bad-definition",
                        self.src,
                        param.span,
                        format!("parameter `{}` is named twice", param.name),
                    )
                    .with(prev, "first here")
                    .help("give each parameter its own name"),
                );
            }
        }
    }

    /// A call of a predicate: its arity, its arguments, and its body checked
    /// with the arguments' types.
    pub(super) fn pred_call(
        &mut self,
        e: &Expr,
        name: &Ident,
        args: &[Expr],
        scope: &mut Scope,
    ) -> Ty {
        let Some(id) = self.def_id(&name.name) else {
            return Ty::Any;
        };
        self.memo.used.insert(id);
        let arg_tys: Vec<Ty> = args.iter().map(|a| self.expr(a, scope)).collect();
        let prog = self.prog;
        let Item::Predicate(p) = prog.item(id) else {
            let what = match prog.item(id) {
                Item::Const(_) => "a constant",
                _ => "a group of resource types",
            };
            self.diags.push(
                Diag::error(
                    "unknown-function",
                    self.src,
                    name.span,
                    format!("`{}` is {what}, not a predicate", name.name),
                )
                .label("cannot be called")
                .help(format!("read it without parentheses: `{}`", name.name)),
            );
            return Ty::Any;
        };
        let (t, err) = self.ensure_def(id, name.span);
        if err {
            self.dep_failed = true;
            return t;
        }
        if args.len() != p.params.len() {
            let params: Vec<&str> = p.params.iter().map(|p| p.name.as_str()).collect();
            let n = p.params.len();
            let mut d = Diag::error(
                "wrong-arguments",
                self.src,
                e.span,
                format!(
                    "`{}` takes {n} argument{}, given {}",
                    name.name,
                    if n == 1 { "" } else { "s" },
                    args.len()
                ),
            )
            .label(format!("{} given", args.len()))
            .help(format!(
                "it is defined as `predicate {}({})`",
                name.name,
                params.join(", ")
            ));
            if id.unit == self.unit {
                d = d.with(p.name.span, "defined here");
            }
            self.diags.push(d);
            return t;
        }
        // Parameters of unknown type were checked already.
        if scope.detection && arg_tys.iter().all(|t| matches!(t, Ty::Any)) {
            return t;
        }
        let key = format!("{}{arg_tys:?}", scope.detection);
        if let Some((t, err)) = self.memo.instances.get(&(id, key.clone())) {
            self.dep_failed |= *err;
            return t.clone();
        }
        if self.memo.active.len() >= MAX_DEF_DEPTH {
            return t;
        }
        self.memo.active.push(id);
        let mut sub = Checker::new(prog, id.unit, self.memo);
        let mut inner = Scope {
            detection: scope.detection,
            ..Scope::default()
        };
        for (param, t) in p.params.iter().zip(arg_tys) {
            inner.vars.push((param.name.clone(), t, None));
        }
        let t = sub.expr(&p.body, &mut inner);
        let diags = std::mem::take(&mut sub.diags);
        let err = sub.dep_failed || diags.iter().any(|d| d.level == Level::Error);
        self.memo.active.pop();
        for mut d in diags {
            if !self.memo.reported.insert(report_key(&d)) {
                continue;
            }
            if id.unit == self.unit {
                d = d.with(e.span, format!("in this call of `{}`", name.name));
            } else {
                let (line, col) = super::line_col(&self.src.text, e.span.start);
                let at = format!(
                    "in the call of `{}` at {}:{line}:{col}",
                    name.name, self.src.name
                );
                d.help = Some(match d.help.take() {
                    Some(h) => format!("{h} ({at})"),
                    None => at,
                });
            }
            self.diags.push(d);
        }
        self.dep_failed |= err;
        self.memo.instances.insert((id, key), (t.clone(), err));
        t
    }

    /// The types of a `types` group, each checked like a selected type.
    fn group_types(&mut self, g: &TypeGroup) -> Sel {
        let mut sel = Sel::default();
        if g.types.is_empty() {
            self.diags.push(
                Diag::error(
                    "empty-types",
                    self.src,
                    g.name.span,
                    format!("type group `{}` is empty", g.name.name),
                )
                .help("list the resource types it stands for, such as `[\"AWS::RDS::DBInstance\", \"aws_db_instance\"]`"),
            );
        }
        for t in &g.types {
            self.resource_type(t, &mut sel);
        }
        sel
    }

    /// The types selected by a block's named groups, added to `sel`.
    pub(super) fn group_ref(&mut self, g: &Ident, sel: &mut Sel) {
        let id = self.def_id(&g.name);
        if let Some(id) = id.filter(|id| matches!(self.prog.item(*id), Item::Types(_))) {
            self.memo.used.insert(id);
            let (_, err) = self.ensure_def(id, g.span);
            self.dep_failed |= err;
            if let Some(s) = self.memo.groups.get(&id) {
                sel.merge(s);
            }
            return;
        }
        let groups = self.names_of(|i| matches!(i, Item::Types(_)));
        let mut d = Diag::error(
            "unknown-types",
            self.src,
            g.span,
            format!("unknown type group `{}`", g.name),
        )
        .label("not a `types` group");
        d = match did_you_mean(&g.name, groups.iter().map(String::as_str)) {
            Some(s) => {
                // Its one use is misspelt: not also "never used".
                if let Some(id) = self.def_id(s) {
                    self.memo.used.insert(id);
                }
                d.help(format!("did you mean `{s}`?"))
            }
            None if id.is_some() => d.help(format!(
                "`{}` is not a group of types; define one with `types {} = [\"AWS::...\", ...]`",
                g.name, g.name
            )),
            None => d.help(format!(
                "resource types are written in quotes (\"AWS::S3::Bucket\"); a group is defined with `types {} = [...]` at the top of the file",
                g.name
            )),
        };
        self.diags.push(d);
    }
}

fn report_key(d: &Diag) -> (String, usize, usize, String) {
    (d.file.clone(), d.span.start, d.span.end, d.message.clone())
}

/// The definitions visible in a file, in the form the compiler inlines.
pub(super) fn lower_defs(prog: &Program, unit: usize) -> Defs<'_> {
    let mut defs = Defs::default();
    for (name, id) in &prog.units[unit].env {
        match prog.item(*id) {
            Item::Const(c) => {
                defs.consts.insert(name.as_str(), (id.key(), &c.value));
            }
            Item::Predicate(p) => {
                defs.preds
                    .insert(name.as_str(), (id.key(), p.params.as_slice(), &p.body));
            }
            Item::Types(g) => {
                defs.groups.insert(name.as_str(), g.types.as_slice());
            }
            _ => {}
        }
    }
    defs
}

/// A definition nothing uses is a warning — in files with rules of their own
/// that no file imports (a shared file's definitions are for its importers).
pub(super) fn warn_unused_defs(prog: &Program, memo: &Memo, out: &mut Vec<Diag>) {
    for (u, unit) in prog.units.iter().enumerate() {
        let Some(file) = unit.file.as_ref() else {
            continue;
        };
        let has_rules = file
            .items
            .iter()
            .any(|i| matches!(i, Item::Policy(_) | Item::Detection(_)));
        if !unit.loaded || unit.imported || !has_rules {
            continue;
        }
        for (item, it) in file.items.iter().enumerate() {
            let Some(name) = it.def_name() else { continue };
            let id = DefId { unit: u, item };
            // A second definition of a name is an error already.
            let shadowed = unit.env.get(&name.name) != Some(&id);
            if memo.used.contains(&id) || shadowed || name.name.starts_with('_') {
                continue;
            }
            let (code, what) = match it {
                Item::Const(_) => ("unused-let", "constant"),
                Item::Predicate(_) => ("unused-definition", "predicate"),
                _ => ("unused-definition", "type group"),
            };
            out.push(
                Diag::error(
                    code,
                    &unit.src,
                    name.span,
                    format!("{what} `{}` is never used", name.name),
                )
                .warning()
                .label("defined here, used nowhere")
                .help("remove it, or use it in a rule of this file (a name starting with `_` is not reported)"),
            );
        }
    }
}
