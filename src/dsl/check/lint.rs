//! Warnings about conditions that cannot mean what their author meant: a
//! `when` (or a detection's `where`) that no resource can satisfy, and a
//! `require` that holds whatever the resource says. They are decided from the
//! text alone (contradictions, tautologies, the types a block selects), so a
//! warning is never a guess about a value.

use super::Checker;
use crate::compile::ir::type_matches;
use crate::dsl::ast::*;
use crate::dsl::diag::Diag;

/// Why a condition is never true (or always true): the span to point at and
/// the reason.
struct Finding {
    span: Span,
    why: String,
}

impl Checker<'_, '_> {
    /// A `when` that is false for every resource of the selected types: the
    /// block judges nothing.
    pub(super) fn lint_when(&mut self, b: &RuleBlock, selected: &[String]) {
        let Some(w) = &b.when else { return };
        if let Some(f) = never_true(w, Some((&b.binding.name, selected)), self) {
            self.diags.push(
                Diag::error(
                    "when-never-true",
                    self.src,
                    f.span,
                    "this `when` is never true: the block judges no resource",
                )
                .warning()
                .label(f.why)
                .help("fix the condition or the selected types; as written, the block's requirements never run"),
            );
        }
    }

    /// A detection's `where` that no record can satisfy.
    pub(super) fn lint_where(&mut self, w: &Expr) {
        if let Some(f) = never_true(w, None, self) {
            self.diags.push(
                Diag::error(
                    "when-never-true",
                    self.src,
                    f.span,
                    "this `where` is never true: the detection counts no record",
                )
                .warning()
                .label(f.why)
                .help("fix the condition; as written, the detection never alerts"),
            );
        }
    }

    /// A `require` that holds whatever the resource says.
    pub(super) fn lint_require(&mut self, cond: &Expr) {
        if let Some(f) = always_true(cond, self) {
            self.diags.push(
                Diag::error(
                    "always-true",
                    self.src,
                    f.span,
                    "this `require` tests nothing",
                )
                .warning()
                .label(f.why)
                .help("a requirement that holds whatever the resource says finds nothing; compare the value with what it must be (or write `x exists` to require that it is set)"),
            );
        }
    }

    fn snippet(&self, e: &Expr) -> String {
        let t = self.src.text.get(e.span.start..e.span.end).unwrap_or("");
        crate::terminal::clip(t, 60).into_owned()
    }
}

/// Whether `e` holds for no resource (`binding` and the selected types, for a
/// block) — and why.
fn never_true(e: &Expr, block: Option<(&str, &[String])>, ck: &Checker) -> Option<Finding> {
    match &e.kind {
        ExprKind::Bool(false) => Some(Finding {
            span: e.span,
            why: "`false`".into(),
        }),
        ExprKind::Binary(BinOp::And, ..) => {
            let parts = flatten(e, BinOp::And);
            for (i, p) in parts.iter().enumerate() {
                if let Some(f) = never_true(p, block, ck) {
                    return Some(f);
                }
                for q in &parts[i + 1..] {
                    if negates(p, q) {
                        return Some(Finding {
                            span: p.span.to(q.span),
                            why: format!(
                                "`{}` and `{}` cannot both hold",
                                ck.snippet(p),
                                ck.snippet(q)
                            ),
                        });
                    }
                    if let Some((a, b)) = different_values(p, q) {
                        return Some(Finding {
                            span: p.span.to(q.span),
                            why: format!("`{}` cannot be both {a} and {b}", ck.snippet(operand(p))),
                        });
                    }
                }
            }
            None
        }
        ExprKind::Binary(BinOp::Or, ..) => {
            let parts = flatten(e, BinOp::Or);
            let mut first = None;
            for p in &parts {
                first.get_or_insert(never_true(p, block, ck)?);
            }
            first.map(|f| Finding {
                span: e.span,
                why: format!("no alternative can hold ({})", f.why),
            })
        }
        ExprKind::Unary(UnOp::Not, inner) => always_true(inner, ck).map(|f| Finding {
            span: e.span,
            why: format!("it negates what always holds: {}", f.why),
        }),
        _ => block.and_then(|(binding, selected)| type_never(e, binding, selected)),
    }
}

/// Whether `e` holds for every resource — and why.
fn always_true(e: &Expr, ck: &Checker) -> Option<Finding> {
    match &e.kind {
        ExprKind::Bool(true) => Some(Finding {
            span: e.span,
            why: "`true`".into(),
        }),
        ExprKind::Binary(op @ (BinOp::Eq | BinOp::Le | BinOp::Ge), l, r) if same(l, r) => {
            Some(Finding {
                span: e.span,
                why: format!(
                    "compares `{}` with itself ({op}): it fails only where the value is missing",
                    ck.snippet(l)
                ),
            })
        }
        // A count is never negative.
        ExprKind::Binary(BinOp::Ge, l, r) if is_count(l) && is_num(r, |n| n <= 0.0) => {
            Some(Finding {
                span: e.span,
                why: format!("`{}` is never negative", ck.snippet(l)),
            })
        }
        ExprKind::Binary(BinOp::Le, l, r) if is_count(r) && is_num(l, |n| n <= 0.0) => {
            Some(Finding {
                span: e.span,
                why: format!("`{}` is never negative", ck.snippet(r)),
            })
        }
        ExprKind::Binary(BinOp::Or, ..) => {
            let parts = flatten(e, BinOp::Or);
            for (i, p) in parts.iter().enumerate() {
                if let Some(f) = always_true(p, ck) {
                    return Some(f);
                }
                for q in &parts[i + 1..] {
                    if negates(p, q) {
                        return Some(Finding {
                            span: p.span.to(q.span),
                            why: format!("`{}` or its opposite always holds", ck.snippet(p)),
                        });
                    }
                }
            }
            None
        }
        ExprKind::Binary(BinOp::And, l, r) => {
            let a = always_true(l, ck)?;
            always_true(r, ck)?;
            Some(Finding {
                span: e.span,
                why: format!("both sides always hold ({})", a.why),
            })
        }
        ExprKind::Quant {
            q: Quantifier::All,
            body,
            ..
        } => always_true(body, ck).map(|f| Finding {
            span: e.span,
            why: format!("every item passes: {}", f.why),
        }),
        ExprKind::Quant {
            q: Quantifier::None,
            body,
            ..
        } => never_true(body, None, ck).map(|f| Finding {
            span: e.span,
            why: format!("no item can match: {}", f.why),
        }),
        ExprKind::Unary(UnOp::Not, inner) => never_true(inner, None, ck).map(|f| Finding {
            span: e.span,
            why: format!("it negates what never holds: {}", f.why),
        }),
        _ => None,
    }
}

/// A condition on the resource's type that none of the selected types meets:
/// `r.resource_type == "AWS::EC2::Volume"` in a block over buckets.
fn type_never(e: &Expr, binding: &str, selected: &[String]) -> Option<Finding> {
    let is_type = |x: &Expr| {
        matches!(&x.kind, ExprKind::Field(b, name)
            if name.name == "resource_type" && matches!(&b.kind, ExprKind::Var(v) if v == binding))
    };
    let possible = |t: &str| selected.iter().any(|s| type_matches(s, t));
    let shown = selected.join(", ");
    let why = |what: String| Finding {
        span: e.span,
        why: format!("{what}; the block selects {shown}"),
    };
    match &e.kind {
        ExprKind::Binary(BinOp::Eq, l, r) => {
            let (t, lit) = if is_type(l) { (l, r) } else { (r, l) };
            match (&lit.kind, is_type(t)) {
                (ExprKind::Str(s), true) if !possible(s) => {
                    Some(why(format!("the type is never `{s}`")))
                }
                _ => None,
            }
        }
        ExprKind::Binary(BinOp::In, l, r) if is_type(l) => match &r.kind {
            ExprKind::List(items) => {
                let lits: Option<Vec<&str>> = items
                    .iter()
                    .map(|i| match &i.kind {
                        ExprKind::Str(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect();
                let lits = lits?;
                (!lits.iter().any(|s| possible(s)))
                    .then(|| why("the type is none of these".to_string()))
            }
            _ => None,
        },
        ExprKind::Call {
            ns: None,
            name,
            args,
        } if name.name == "starts_with" && args.len() == 2 && is_type(&args[0]) => {
            let ExprKind::Str(prefix) = &args[1].kind else {
                return None;
            };
            let can = selected.iter().any(|s| {
                let fixed = s.split('*').next().unwrap_or("");
                if s.contains('*') {
                    fixed.starts_with(prefix.as_str()) || prefix.starts_with(fixed)
                } else {
                    s.starts_with(prefix.as_str())
                }
            });
            (!can).then(|| why(format!("the type never starts with `{prefix}`")))
        }
        _ => None,
    }
}

/// The operands of a chain of `op` (`a and b and c`).
fn flatten(e: &Expr, op: BinOp) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match &x.kind {
            ExprKind::Binary(o, l, r) if *o == op => {
                stack.push(r);
                stack.push(l);
            }
            _ => out.push(x),
        }
    }
    out
}

/// Whether `q` is the negation of `p` as written: `not P`, `x exists` / `x not
/// exists`, `a == b` / `a != b`, `a in l` / `a not in l`.
fn negates(p: &Expr, q: &Expr) -> bool {
    let one_way = |p: &Expr, q: &Expr| match (&p.kind, &q.kind) {
        (_, ExprKind::Unary(UnOp::Not, inner)) => same(p, inner),
        (ExprKind::Test(a, t, n), ExprKind::Test(b, u, m)) => t == u && n != m && same(a, b),
        (ExprKind::Binary(o1, a1, b1), ExprKind::Binary(o2, a2, b2)) => {
            let opposite = matches!(
                (o1, o2),
                (BinOp::Eq, BinOp::Ne)
                    | (BinOp::Ne, BinOp::Eq)
                    | (BinOp::In, BinOp::NotIn)
                    | (BinOp::NotIn, BinOp::In)
            );
            let swappable = matches!(o1, BinOp::Eq | BinOp::Ne);
            opposite
                && ((same(a1, a2) && same(b1, b2)) || (swappable && same(a1, b2) && same(b1, a2)))
        }
        _ => false,
    };
    one_way(p, q) || one_way(q, p)
}

/// `x == "a"` and `x == "b"`: the same operand equal to two different literals
/// of one kind.
fn different_values(p: &Expr, q: &Expr) -> Option<(String, String)> {
    let ((a, x), (b, y)) = (literal_eq(p)?, literal_eq(q)?);
    if !same(a, b) {
        return None;
    }
    let differ = match (&x.kind, &y.kind) {
        // Strings that spell the same number or boolean are equal under
        // CloudFormation's coercions.
        (ExprKind::Str(s), ExprKind::Str(t)) => {
            match (s.trim().parse::<f64>(), t.trim().parse::<f64>()) {
                (Ok(m), Ok(n)) => m != n,
                _ => !s.eq_ignore_ascii_case(t),
            }
        }
        (ExprKind::Num(m), ExprKind::Num(n)) => m != n,
        (ExprKind::Bool(m), ExprKind::Bool(n)) => m != n,
        _ => false,
    };
    differ.then(|| (lit_text(x), lit_text(y)))
}

/// `x == LITERAL` (either way round): the operand and the literal.
fn literal_eq(e: &Expr) -> Option<(&Expr, &Expr)> {
    match &e.kind {
        ExprKind::Binary(BinOp::Eq, l, r) if is_lit(r) && !is_lit(l) => Some((l, r)),
        ExprKind::Binary(BinOp::Eq, l, r) if is_lit(l) && !is_lit(r) => Some((r, l)),
        _ => None,
    }
}

fn operand(p: &Expr) -> &Expr {
    match &p.kind {
        ExprKind::Binary(_, l, r) => {
            if is_lit(l) {
                r
            } else {
                l
            }
        }
        _ => p,
    }
}

fn is_lit(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Str(_) | ExprKind::Num(_) | ExprKind::Bool(_) | ExprKind::Null
    )
}

fn lit_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Num(n) => n.to_string(),
        ExprKind::Bool(b) => b.to_string(),
        _ => "null".into(),
    }
}

fn is_count(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { ns: None, name, args }
        if matches!(name.name.as_str(), "len" | "count") && args.len() == 1)
}

fn is_num(e: &Expr, f: impl Fn(f64) -> bool) -> bool {
    matches!(e.kind, ExprKind::Num(n) if f(n))
}

/// Structural equality, ignoring where the text is.
fn same(a: &Expr, b: &Expr) -> bool {
    use ExprKind::*;
    match (&a.kind, &b.kind) {
        (Null, Null) | (Current, Current) => true,
        (Bool(x), Bool(y)) => x == y,
        (Num(x), Num(y)) => x == y,
        (Str(x), Str(y)) => x == y,
        (Var(x), Var(y)) => x == y,
        (List(x), List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Field(x, n), Field(y, m)) => n.name == m.name && same(x, y),
        (Index(x, i), Index(y, j)) | (Filter(x, i), Filter(y, j)) => same(x, y) && same(i, j),
        (Wildcard(x), Wildcard(y)) => same(x, y),
        (
            Call {
                ns: n1,
                name: f1,
                args: a1,
            },
            Call {
                ns: n2,
                name: f2,
                args: a2,
            },
        ) => {
            n1.as_ref().map(|n| &n.name) == n2.as_ref().map(|n| &n.name)
                && f1.name == f2.name
                && a1.len() == a2.len()
                && a1.iter().zip(a2).all(|(p, q)| same(p, q))
        }
        (Unary(o1, x), Unary(o2, y)) => o1 == o2 && same(x, y),
        (Binary(o1, x1, y1), Binary(o2, x2, y2)) => o1 == o2 && same(x1, x2) && same(y1, y2),
        (Matches(x, r1), Matches(y, r2)) => r1.value == r2.value && same(x, y),
        (Test(x, t1, n1), Test(y, t2, n2)) => t1 == t2 && n1 == n2 && same(x, y),
        (
            Quant {
                q: q1,
                var: v1,
                list: l1,
                body: b1,
            },
            Quant {
                q: q2,
                var: v2,
                list: l2,
                body: b2,
            },
        ) => q1 == q2 && v1.name == v2.name && same(l1, l2) && same(b1, b2),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::dsl::{check_sources, PolicySource};

    fn warnings(when: &str, require: &str) -> Vec<String> {
        let text = format!(
            "policy p {{\n  severity low\n  for resource \"AWS::S3::Bucket\" as b\n  when {when}\n  require {require}\n}}\n"
        );
        let c = check_sources(&[PolicySource {
            name: "p.policy".into(),
            text: Arc::from(text),
        }]);
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        c.diagnostics.iter().map(|d| d.code.to_string()).collect()
    }

    #[test]
    fn meaningful_conditions_are_not_reported() {
        let ok = "b.BucketName exists";
        for when in [
            "b.BucketName == \"22\" and b.BucketName == \"22.0\"",
            "b.BucketName == \"a\" or b.BucketName == \"b\"",
            "b.BucketName exists and b.AccessControl not exists",
            "b.resource_type == \"AWS::S3::Bucket\"",
            "b.resource_type in [\"AWS::S3::Bucket\", \"AWS::EC2::Volume\"]",
            "starts_with(b.resource_type, \"AWS::S3\")",
            "not (b.BucketName == \"x\")",
        ] {
            assert_eq!(warnings(when, ok), Vec::<String>::new(), "when {when}");
        }
        for require in [
            "b.BucketName != \"x\" or b.AccessControl == \"x\"",
            "b.BucketName exists or b.AccessControl not exists",
            "count(b.Tags) >= 1",
            "count(b.Tags) > 0",
            "b.BucketName == b.AccessControl",
            "any t in b.Tags[*]: t.Key exists or t.Key not exists",
        ] {
            assert_eq!(
                warnings(ok, require),
                Vec::<String>::new(),
                "require {require}"
            );
        }
    }

    #[test]
    fn contradictions_and_tautologies_are_reported() {
        let ok = "b.BucketName exists";
        for when in [
            "false",
            "b.BucketName == \"a\" and b.AccessControl exists and b.BucketName == \"b\"",
            "b.BucketName exists and not (b.BucketName exists)",
            "b.resource_type in [\"AWS::EC2::Volume\"]",
            "b.resource_type == \"AWS::S3::Bucket\" and b.resource_type != \"AWS::S3::Bucket\"",
            "\"AWS::SQS::Queue\" == b.resource_type",
        ] {
            assert_eq!(warnings(when, ok), ["when-never-true"], "when {when}");
        }
        for require in [
            "true",
            "b.BucketName == \"a\" or b.BucketName != \"a\"",
            "\"a\" != b.BucketName or b.BucketName == \"a\"",
            "b.Tags empty or b.Tags not empty",
            "0 <= len(b.Tags)",
            "none t in b.Tags[*]: false",
            "b.Tags is map or b.Tags is not map",
        ] {
            assert_eq!(warnings(ok, require), ["always-true"], "require {require}");
        }
    }
}
