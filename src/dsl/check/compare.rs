//! Typing of binary operators: comparisons (a boolean property against a
//! string, a number ordered against a string), membership, arithmetic.

use super::{Checker, Ty};
use crate::dsl::ast::*;
use crate::dsl::diag::Diag;

impl Checker<'_, '_> {
    pub(super) fn binary(&mut self, op: BinOp, l: &Expr, lt: &Ty, r: &Expr, rt: &Ty) -> Ty {
        match op {
            BinOp::And | BinOp::Or => {
                self.expect_condition(l, lt);
                self.expect_condition(r, rt);
                Ty::Bool
            }
            BinOp::Eq | BinOp::Ne => {
                let (a, b) = (self.leaf(lt), self.leaf(rt));
                let mismatch = match (&a, &b) {
                    (Ty::Bool, Ty::Str) | (Ty::Str, Ty::Bool) => true,
                    (Ty::Bool, Ty::Num) | (Ty::Num, Ty::Bool) => true,
                    (Ty::Num, Ty::Str) => !is_numeric_literal(r),
                    (Ty::Str, Ty::Num) => !is_numeric_literal(l),
                    _ => false,
                };
                if mismatch {
                    let (prop, lit) = if matches!(lt, Ty::Prop(..) | Ty::Log(_)) {
                        (l, r)
                    } else {
                        (r, l)
                    };
                    let prop_ty = if matches!(lt, Ty::Prop(..) | Ty::Log(_)) {
                        &a
                    } else {
                        &b
                    };
                    let help = match prop_ty {
                        Ty::Bool => "write `true` or `false` without quotes".to_string(),
                        Ty::Num => "write the number without quotes".to_string(),
                        _ => "write the value in quotes".to_string(),
                    };
                    self.diags.push(
                        Diag::error(
                            "type-mismatch",
                            self.src,
                            lit.span,
                            format!(
                                "type mismatch: comparing {} with {}",
                                if matches!(lt, Ty::Prop(..) | Ty::Log(_)) {
                                    a.name()
                                } else {
                                    b.name()
                                },
                                if matches!(lt, Ty::Prop(..) | Ty::Log(_)) {
                                    b.name()
                                } else {
                                    a.name()
                                },
                            ),
                        )
                        .label(format!(
                            "{} here",
                            if matches!(lt, Ty::Prop(..) | Ty::Log(_)) {
                                b.name()
                            } else {
                                a.name()
                            }
                        ))
                        .with(
                            prop.span,
                            format!(
                                "{} in the {} schema",
                                prop_ty.name(),
                                if matches!(lt, Ty::Log(_)) || matches!(rt, Ty::Log(_)) {
                                    "log"
                                } else {
                                    "resource"
                                }
                            ),
                        )
                        .help(help),
                    );
                }
                Ty::Bool
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                for (e, t) in [(l, lt), (r, rt)] {
                    let leaf = self.leaf(t);
                    if matches!(leaf, Ty::Bool | Ty::Null | Ty::Res(_)) {
                        self.diags.push(
                            Diag::error(
                                "type-mismatch",
                                self.src,
                                e.span,
                                format!("`{op}` orders numbers or strings, found {}", leaf.name()),
                            )
                            .label("cannot be ordered"),
                        );
                    }
                }
                let (a, b) = (self.leaf(lt), self.leaf(rt));
                if matches!((&a, &b), (Ty::Str, Ty::Num) | (Ty::Num, Ty::Str)) {
                    self.ordering_mismatch(op, (l, lt, &a), (r, rt, &b));
                }
                Ty::Bool
            }
            BinOp::In | BinOp::NotIn => {
                if matches!(rt, Ty::Bool | Ty::Num | Ty::Null) {
                    self.diags.push(
                        Diag::error(
                            "type-mismatch",
                            self.src,
                            r.span,
                            format!(
                                "`{op}` needs a list, a string or a map on its right, found {}",
                                rt.name()
                            ),
                        )
                        .help("write the allowed values as a list: `x in [\"a\", \"b\"]`"),
                    );
                }
                Ty::Bool
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let both_str = matches!((self.leaf(lt), self.leaf(rt)), (Ty::Str, Ty::Str));
                if !(op == BinOp::Add && both_str) {
                    self.expect_num(l, lt, &format!("`{op}`"));
                    self.expect_num(r, rt, &format!("`{op}`"));
                    Ty::Num
                } else {
                    Ty::Str
                }
            }
        }
    }
}

impl Checker<'_, '_> {
    /// `db.Engine > 5`, `x >= "7"` on a number, `"a" < 3`: a string ordered
    /// against a number is compared by neither rule the author meant.
    fn ordering_mismatch(&mut self, op: BinOp, l: (&Expr, &Ty, &Ty), r: (&Expr, &Ty, &Ty)) {
        let (le, lt, la) = l;
        let (re, rt, ra) = r;
        let lprop = self.property_of(lt);
        let rprop = self.property_of(rt);
        // Blame the side that is not a property (the literal, usually).
        let (blamed, other, blamed_is_left) = if lprop.is_some() && rprop.is_none() {
            ((re, ra), (le, la), false)
        } else {
            ((le, la), (re, ra), true)
        };
        let other_prop = if blamed_is_left { &rprop } else { &lprop };
        let describe = |e: &Expr, leaf: &Ty, prop: &Option<String>| -> String {
            match prop {
                Some(p) => format!("`{}` ({p})", self.text(e.span)),
                None if is_literal(e) => leaf.name().to_string(),
                None => format!("`{}` ({})", self.text(e.span), leaf.name()),
            }
        };
        let (left_desc, right_desc) = (describe(le, la, &lprop), describe(re, ra, &rprop));
        let help = match (other.1, blamed.1) {
            (Ty::Num, Ty::Str) if is_numeric_literal(blamed.0) => format!(
                "write the number without quotes: `{} {op} {}`",
                self.text(other.0.span),
                self.text(blamed.0.span).trim_matches('"')
            ),
            (Ty::Str, Ty::Num) if other_prop.is_some() => format!(
                "a string compares as a number only when its value spells one (\"100\"), otherwise the comparison is false; if that is what you mean, say so: `to_number({}) {op} {}`",
                self.text(other.0.span),
                self.text(blamed.0.span)
            ),
            _ => "order numbers with numbers and strings with strings; `to_number(...)` converts a string that spells a number".to_string(),
        };
        let other_label = match other_prop {
            Some(p) => p.clone(),
            None => other.1.name().to_string(),
        };
        self.diags.push(
            Diag::error(
                "type-mismatch",
                self.src,
                blamed.0.span,
                format!("type mismatch: `{op}` orders {left_desc} against {right_desc}"),
            )
            .label(format!("{} here", blamed.1.name()))
            .with(other.0.span, other_label)
            .help(help),
        );
    }

    /// What the schema says a property side is: "a string property of
    /// AWS::RDS::DBInstance", "a number field of the log records".
    fn property_of(&self, t: &Ty) -> Option<String> {
        match t {
            Ty::Prop(sel, path) => {
                let segs: Vec<&str> = path.iter().map(String::as_str).collect();
                sel.cfn
                    .iter()
                    .find_map(|rtype| match crate::schema::lookup_path(rtype, &segs) {
                        crate::schema::PathLookup::Found(info) => {
                            let ty = info.ptype.as_str();
                            let article = if ty.starts_with(['a', 'e', 'i', 'o', 'u']) {
                                "an"
                            } else {
                                "a"
                            };
                            Some(format!("{article} {ty} property of {rtype}"))
                        }
                        _ => None,
                    })
            }
            Ty::Log(_) => {
                let leaf = self.leaf(t);
                Some(format!("{} field of the log records", leaf.name()))
            }
            _ => None,
        }
    }

    fn text(&self, span: Span) -> &str {
        self.src.text.get(span.start..span.end).unwrap_or("")
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Str(_) | ExprKind::Num(_))
}

fn is_numeric_literal(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Str(s) if s.trim().parse::<f64>().is_ok())
}
