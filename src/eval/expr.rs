//! Expression evaluation: paths, comparisons, quantifiers, three-valued logic, and
//! the position each answer blames.

use std::borrow::Cow;
use std::rc::Rc;

use super::context::{scalar_text, Ctx};
use super::funcs::call;
use super::value::{It, Tri, V};
use crate::compile::ir::{Const, Expr, FieldName};
use crate::doc::{Pos, Source};
use crate::dsl::ast::{BinOp, Quantifier, Test, TypeName};

/// The answer to a condition and the position a finding about it points at.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub tri: Tri,
    pub pos: Pos,
    pub specific: bool,
}

impl Verdict {
    fn of(tri: Tri, it: &It<'_>) -> Verdict {
        Verdict {
            tri,
            pos: it.pos,
            specific: it.specific,
        }
    }
}

pub struct Eval<'c, 'd> {
    pub ctx: &'c Ctx<'d>,
    pub env: Vec<It<'d>>,
    /// A detection's aggregate values over the window being judged.
    pub aggs: Vec<It<'d>>,
}

impl<'c, 'd> Eval<'c, 'd> {
    pub fn value(&mut self, e: &'d Expr) -> It<'d> {
        let here = self.env.first().map(|b| b.pos).unwrap_or_default();
        match e {
            Expr::Const(c) => const_it(c, here),
            Expr::List(items) => {
                let items = items.iter().map(|i| self.value(i)).collect();
                It::list(items, here)
            }
            Expr::Var(slot) => self
                .env
                .get(*slot)
                .cloned()
                .unwrap_or_else(|| It::missing(here)),
            Expr::Current => self
                .ctx
                .current
                .borrow()
                .last()
                .cloned()
                .unwrap_or_else(|| It::missing(here)),
            Expr::Field(inner, name) => {
                let base = self.value(inner);
                self.field(base, name)
            }
            Expr::Index(inner, idx) => {
                let base = self.value(inner);
                let idx = self.value(idx);
                self.index(base, idx)
            }
            Expr::Wildcard(inner) => {
                let base = self.value(inner);
                self.wildcard(base)
            }
            Expr::Filter(inner, pred) => {
                let base = self.value(inner);
                let pos = base.pos;
                let items = match self.items(base) {
                    Ok(items) => items,
                    Err(u) => return u,
                };
                let mut kept = Vec::new();
                for item in items {
                    self.ctx.current.borrow_mut().push(item.clone());
                    let v = self.truth(pred);
                    self.ctx.current.borrow_mut().pop();
                    match v.tri {
                        Tri::True => kept.push(item),
                        Tri::False => {}
                        // An item the filter cannot decide stays as an unknown
                        // item: `any` over the list can still be true.
                        Tri::Unknown(r) => kept.push(It::unknown(r, item.pos)),
                    }
                }
                It::list(kept, pos)
            }
            Expr::Call(f, args) => {
                let args: Vec<It<'d>> = args.iter().map(|a| self.value(a)).collect();
                call(self.ctx, *f, args, here)
            }
            Expr::Neg(inner) => {
                let v = self.value(inner);
                match num_of(&v.v) {
                    Some(n) => It::new(V::Num(-n), v.pos),
                    None => propagate(&v).unwrap_or_else(|| It::missing(v.pos)),
                }
            }
            Expr::Bin(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div, ..) => self.arith(e),
            Expr::Agg(i) => self
                .aggs
                .get(*i)
                .cloned()
                .unwrap_or_else(|| It::missing(here)),
            Expr::Shared(inner) => self.value(inner),
            Expr::Bind(args, body) => {
                self.bind(args);
                self.value(body)
            }
            _ => {
                let v = self.truth(e);
                tri_it(v)
            }
        }
    }

    fn arith(&mut self, e: &'d Expr) -> It<'d> {
        let Expr::Bin(op, l, r) = e else {
            unreachable!("arith is called on arithmetic only")
        };
        let a = self.value(l);
        let b = self.value(r);
        if let Some(u) = propagate(&a).or_else(|| propagate(&b)) {
            return u;
        }
        if let (BinOp::Add, V::Str(x), V::Str(y)) = (op, &a.v, &b.v) {
            return It::new(V::Str(Cow::Owned(format!("{x}{y}"))), a.pos);
        }
        match (num_of(&a.v), num_of(&b.v)) {
            (Some(x), Some(y)) => {
                let n = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    _ if y == 0.0 => return It::unknown("division by zero", a.pos),
                    _ => x / y,
                };
                It::new(V::Num(n), a.pos)
            }
            _ => It::missing(a.pos),
        }
    }

    /// Evaluates a condition.
    pub fn truth(&mut self, e: &'d Expr) -> Verdict {
        match e {
            Expr::Bin(BinOp::And, l, r) => {
                let a = self.truth(l);
                if a.tri == Tri::False {
                    return a;
                }
                let b = self.truth(r);
                match (&a.tri, &b.tri) {
                    (_, Tri::False) => b,
                    (Tri::Unknown(_), _) => a,
                    _ => b,
                }
            }
            Expr::Bin(BinOp::Or, l, r) => {
                let a = self.truth(l);
                if a.tri == Tri::True {
                    return a;
                }
                let b = self.truth(r);
                match (&a.tri, &b.tri) {
                    (_, Tri::True) => b,
                    (Tri::Unknown(_), _) => a,
                    (_, Tri::Unknown(_)) => b,
                    // Both false: blame the more specific one (a value that is
                    // there and wrong, rather than the parent of a missing one);
                    // between two parents, the deeper one (`Properties`, not the
                    // resource's own line).
                    _ if b.specific && !a.specific => b,
                    _ if !a.specific && !b.specific && b.pos > a.pos => b,
                    _ => a,
                }
            }
            Expr::Not(inner) => {
                let v = self.truth(inner);
                Verdict {
                    tri: v.tri.not(),
                    ..v
                }
            }
            Expr::Bin(op, l, r) => {
                let a = self.value(l);
                let b = self.value(r);
                self.compare(*op, a, b)
            }
            Expr::Matches(inner, re) => {
                let a = self.value(inner);
                self.all_of(a, &mut |_, it| match &it.v {
                    V::Str(s) => Tri::from_bool(re.is_match(s)),
                    V::Num(_) | V::Bool(_) | V::Ip(_) => match scalar_text(&it.v) {
                        Some(t) => Tri::from_bool(re.is_match(&t)),
                        None => Tri::False,
                    },
                    V::Unknown { reason, .. } => Tri::Unknown(reason.clone()),
                    _ => Tri::False,
                })
            }
            Expr::Test(inner, test, negated) => {
                let a = self.value(inner);
                let v = self.test(*test, &a);
                let tri = if *negated { v.not() } else { v };
                Verdict::of(tri, &a)
            }
            Expr::Quant(q, slot, list, body) => self.quantify(*q, *slot, list, body),
            Expr::Shared(inner) => self.truth(inner),
            Expr::Bind(args, body) => {
                self.bind(args);
                self.truth(body)
            }
            _ => {
                let v = self.value(e);
                let tri = match &v.v {
                    V::Bool(b) => Tri::from_bool(*b),
                    V::Unknown { reason, .. } => Tri::Unknown(reason.clone()),
                    V::Str(s) if s.eq_ignore_ascii_case("true") => Tri::True,
                    _ => Tri::False,
                };
                Verdict::of(tri, &v)
            }
        }
    }

    fn test(&mut self, test: Test, a: &It<'d>) -> Tri {
        match (&a.v, test) {
            (V::Unknown { opaque: false, .. }, Test::Exists) => Tri::True,
            // A resource's name, id or ARN is never empty.
            (
                V::Unknown {
                    target: Some(_), ..
                },
                Test::Empty,
            ) => Tri::False,
            (V::Unknown { reason, .. }, _) => Tri::Unknown(reason.clone()),
            (V::Missing, Test::Exists) => Tri::False,
            (V::Null, Test::Exists) => Tri::False,
            (_, Test::Exists) => Tri::True,
            (v, Test::Empty) => Tri::from_bool(match v {
                V::Missing | V::Null => true,
                V::Str(s) => s.is_empty(),
                V::List(l) => l.is_empty(),
                V::Seq(s) => s.is_empty(),
                V::Map(m) => m.is_empty(),
                V::Owned(o) => {
                    o.as_map().is_some_and(|m| m.is_empty())
                        || o.as_seq().is_some_and(|s| s.is_empty())
                }
                _ => false,
            }),
            (v, Test::Is(t)) => Tri::from_bool(match (v, t) {
                (V::Str(_) | V::Ip(_), TypeName::String) => true,
                (V::Num(_), TypeName::Number) => true,
                (V::Bool(_), TypeName::Bool) => true,
                (V::List(_) | V::Seq(_), TypeName::List) => true,
                (V::Map(_) | V::Res(_), TypeName::Map) => true,
                (V::Owned(o), TypeName::Map) => o.as_map().is_some(),
                (V::Owned(o), TypeName::List) => o.as_seq().is_some(),
                (V::Null, TypeName::Null) => true,
                _ => false,
            }),
        }
    }

    /// Stores a predicate call's arguments in their slots (evaluated first, so
    /// an argument may read a slot that another argument is about to take).
    fn bind(&mut self, args: &'d [(usize, Expr)]) {
        let values: Vec<It<'d>> = args.iter().map(|(_, a)| self.value(a)).collect();
        for ((slot, _), v) in args.iter().zip(values) {
            if self.env.len() <= *slot {
                self.env.resize(*slot + 1, It::missing(v.pos));
            }
            self.env[*slot] = v;
        }
    }

    /// A quantifier leaves its variable bound for the `else` message: to the item
    /// that decided the answer (the first that fails `all`, holds for `any`, or
    /// holds for `none`), or, when no single item did, to the list of every item.
    fn quantify(&mut self, q: Quantifier, slot: usize, list: &'d Expr, body: &'d Expr) -> Verdict {
        let l = self.value(list);
        let list_verdict = |tri| Verdict::of(tri, &l);
        let mut items = match self.items(l.clone()) {
            Ok(items) => items,
            Err(u) => return Verdict::of(tri_of_unknown(&u), &u),
        };
        if self.env.len() <= slot {
            self.env.resize(slot + 1, It::missing(l.pos));
        }
        let mut unknown: Option<Verdict> = None;
        for item in items.iter_mut() {
            // Swapped in and out rather than cloned: the items stay whole for
            // the binding that follows the loop.
            std::mem::swap(&mut self.env[slot], item);
            let v = self.truth(body);
            match (q, &v.tri) {
                (Quantifier::All, Tri::False) | (Quantifier::Any, Tri::True) => return v,
                (Quantifier::None, Tri::True) => {
                    return Verdict {
                        tri: Tri::False,
                        ..v
                    }
                }
                (_, Tri::Unknown(_)) => {
                    unknown.get_or_insert(v);
                }
                _ => {}
            }
            std::mem::swap(&mut self.env[slot], item);
        }
        self.env[slot] = It::list(items, l.pos);
        if let Some(u) = unknown {
            return u;
        }
        match q {
            Quantifier::All | Quantifier::None => list_verdict(Tri::True),
            // No item qualifies: the list as a whole is the offending value
            // (an item may belong to another resource).
            Quantifier::Any => list_verdict(Tri::False),
        }
    }

    /// Applies a test to a value; a list (from a wildcard or a path through a
    /// list) passes when every item passes and there is at least one.
    fn all_of(&mut self, a: It<'d>, f: &mut dyn FnMut(&mut Self, &It<'d>) -> Tri) -> Verdict {
        if matches!(a.v, V::List(_)) {
            let items = match self.items(a.clone()) {
                Ok(items) => items,
                Err(u) => return Verdict::of(tri_of_unknown(&u), &u),
            };
            if items.is_empty() {
                return Verdict {
                    tri: Tri::False,
                    pos: a.pos,
                    specific: false,
                };
            }
            let mut unknown = None;
            for it in &items {
                match f(self, it) {
                    Tri::False => return Verdict::of(Tri::False, it),
                    Tri::Unknown(r) => {
                        unknown.get_or_insert(Verdict::of(Tri::Unknown(r), it));
                    }
                    Tri::True => {}
                }
            }
            return unknown.unwrap_or_else(|| Verdict::of(Tri::True, &items[0]));
        }
        let tri = f(self, &a);
        Verdict::of(tri, &a)
    }

    fn compare(&mut self, op: BinOp, a: It<'d>, b: It<'d>) -> Verdict {
        // Blame the side that comes from the document, not a literal.
        let lhs_is_list = matches!(a.v, V::List(_));
        let rhs_is_list = is_seq(&b.v);
        let a_list_vs_scalar =
            lhs_is_list && !rhs_is_list && !matches!(op, BinOp::In | BinOp::NotIn);
        let in_list = matches!(op, BinOp::In | BinOp::NotIn) && lhs_is_list;
        if a_list_vs_scalar || in_list {
            return self.all_of(a, &mut |s, item| s.compare_one(op, item, &b));
        }
        let tri = self.compare_one(op, &a, &b);
        // Blame the side that comes from the document rather than a literal.
        if !a.specific && b.specific {
            Verdict::of(tri, &b)
        } else {
            Verdict::of(tri, &a)
        }
    }

    fn compare_one(&mut self, op: BinOp, a: &It<'d>, b: &It<'d>) -> Tri {
        let shaped = |v: &V<'_>| {
            matches!(
                v,
                V::Unknown { shape: Some(_), .. }
                    | V::Unknown {
                        target: Some(_),
                        ..
                    }
            )
        };
        if !matches!(op, BinOp::Eq | BinOp::Ne) || !(shaped(&a.v) || shaped(&b.v)) {
            if let V::Unknown { reason, .. } = &a.v {
                return Tri::Unknown(reason.clone());
            }
            if let V::Unknown { reason, .. } = &b.v {
                return Tri::Unknown(reason.clone());
            }
        }
        match op {
            BinOp::Eq => self.equal(a, b),
            BinOp::Ne => self.equal(a, b).not(),
            BinOp::In | BinOp::NotIn => {
                let found = match &b.v {
                    v if is_seq(v) => {
                        let items = match self.items(b.clone()) {
                            Ok(items) => items,
                            Err(u) => return tri_of_unknown(&u),
                        };
                        let mut res = Tri::False;
                        for it in &items {
                            match self.equal(a, it) {
                                Tri::True => {
                                    res = Tri::True;
                                    break;
                                }
                                Tri::Unknown(r) => res = Tri::Unknown(r),
                                Tri::False => {}
                            }
                        }
                        res
                    }
                    V::Str(hay) => match scalar_text(&a.v) {
                        Some(needle) => Tri::from_bool(hay.contains(needle.as_str())),
                        None => Tri::False,
                    },
                    V::Set(set) => match &a.v {
                        V::Ip(ip) => Tri::from_bool(set.contains_ip(*ip)),
                        other => match scalar_text(other) {
                            Some(x) => Tri::from_bool(set.contains(&x)),
                            None => Tri::False,
                        },
                    },
                    V::Map(entries) => match scalar_text(&a.v) {
                        Some(k) => Tri::from_bool(entries.iter().any(|e| e.key == k)),
                        None => Tri::False,
                    },
                    V::Owned(o) if o.as_map().is_some() => match scalar_text(&a.v) {
                        Some(k) => Tri::from_bool(o.entry(&k).is_some()),
                        None => Tri::False,
                    },
                    _ => Tri::False,
                };
                if op == BinOp::NotIn {
                    found.not()
                } else {
                    found
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ord = match (num_of(&a.v), num_of(&b.v)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y),
                    _ => match (&a.v, &b.v) {
                        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
                        _ => None,
                    },
                };
                let Some(ord) = ord else {
                    return Tri::False;
                };
                Tri::from_bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            _ => Tri::False,
        }
    }

    /// Equality with CloudFormation's coercions: `"true"` equals `true`, `"22"` equals `22`.
    fn equal(&mut self, a: &It<'d>, b: &It<'d>) -> Tri {
        use V::*;
        match (&a.v, &b.v) {
            // A resource's name or ARN is never a wildcard or empty.
            (Unknown { target: Some(_), .. }, Str(s)) | (Str(s), Unknown { target: Some(_), .. })
                if s.is_empty() || s.as_ref() == "*" =>
            {
                Tri::False
            }
            (Unknown { shape: Some(t), reason, .. }, Str(s)) | (Str(s), Unknown { shape: Some(t), reason, .. }) => {
                if shape_can_match(t, s) {
                    Tri::Unknown(reason.clone())
                } else {
                    Tri::False
                }
            }
            (Unknown { reason, .. }, _) | (_, Unknown { reason, .. }) => Tri::Unknown(reason.clone()),
            (Missing, Missing) => Tri::True,
            (Missing, _) | (_, Missing) => Tri::False,
            (Null, Null) => Tri::True,
            (Bool(x), Bool(y)) => Tri::from_bool(x == y),
            (Bool(x), Str(s)) | (Str(s), Bool(x)) => {
                Tri::from_bool(s.eq_ignore_ascii_case(if *x { "true" } else { "false" }))
            }
            (Num(x), Num(y)) => Tri::from_bool(x == y),
            (Ip(x), Ip(y)) => Tri::from_bool(x == y),
            (Ip(x), Str(s)) | (Str(s), Ip(x)) => Tri::from_bool(
                s.trim().parse::<std::net::IpAddr>().is_ok_and(|y| y == *x),
            ),
            (Num(x), Str(s)) | (Str(s), Num(x)) => {
                Tri::from_bool(s.trim().parse::<f64>().is_ok_and(|n| n == *x))
            }
            (Str(x), Str(y)) => Tri::from_bool(x == y),
            (Res(x), Res(y)) => Tri::from_bool(x == y),
            // A resource's name or ARN is never a wildcard or empty.
            (Res(_), Str(s)) | (Str(s), Res(_)) if s.is_empty() || s.as_ref() == "*" => Tri::False,
            (Res(i), Str(_)) | (Str(_), Res(i)) => Tri::Unknown(
                format!(
                    "the value refers to resource {}, whose name or ARN is known only at deploy time",
                    self.ctx.resource_id(*i)
                )
                .into(),
            ),
            (x, y) if is_seq(x) && is_seq(y) => {
                let (Ok(xs), Ok(ys)) = (self.items(a.clone()), self.items(b.clone())) else {
                    return Tri::Unknown("a list item is not known".into());
                };
                if xs.len() != ys.len() {
                    return Tri::False;
                }
                let mut res = Tri::True;
                for (x, y) in xs.iter().zip(ys.iter()) {
                    match self.equal(x, y) {
                        Tri::False => return Tri::False,
                        Tri::Unknown(r) => res = Tri::Unknown(r),
                        Tri::True => {}
                    }
                }
                res
            }
            _ => Tri::False,
        }
    }

    // ---- paths ----

    /// A field of a value, as `base.name` reads it.
    pub fn field_of(&mut self, base: It<'d>, name: &FieldName) -> It<'d> {
        self.field(base, name)
    }

    fn field(&mut self, base: It<'d>, name: &FieldName) -> It<'d> {
        match &base.v {
            V::Res(i) => {
                let i = *i;
                let r = &self.ctx.tpl.resources[i];
                match name.name.as_str() {
                    "id" => return It::new(V::Str(Cow::Owned(r.id.clone())), r.pos),
                    "resource_type" => return It::new(V::Str(Cow::Owned(r.rtype.clone())), r.pos),
                    "Properties" | "values" => {
                        return match &r.props {
                            Some(p) => It::new(V::Map(p.as_map().unwrap_or(&[])), r.props_pos),
                            None => It::missing(r.pos),
                        }
                    }
                    "Metadata" => {
                        return match &r.metadata {
                            Some(m) => self.ctx.resolve_doc(m, m.pos),
                            None => It::missing(r.pos),
                        }
                    }
                    "DeletionPolicy" | "UpdateReplacePolicy" => {
                        let v = if name.name == "DeletionPolicy" {
                            &r.deletion_policy
                        } else {
                            &r.update_replace_policy
                        };
                        return match v {
                            Some(e) => self.ctx.resolve_doc(&e.value, e.key_pos),
                            None => It::missing(r.pos),
                        };
                    }
                    _ => {}
                }
                let Some(props) = r.props.as_ref() else {
                    return It::missing(r.props_pos);
                };
                let map = It::new(V::Map(props.as_map().unwrap_or(&[])), r.props_pos);
                let tf = r.source == Source::Terraform;
                self.map_field(map, name, tf)
            }
            V::Map(_) => {
                let tf = self.ctx.is_terraform();
                self.map_field(base, name, tf)
            }
            V::Owned(o) if o.as_seq().is_none() => {
                let tf = self.ctx.is_terraform();
                self.map_field(base, name, tf)
            }
            V::List(_) | V::Seq(_) | V::Owned(_) => {
                // A path through a list reads the field of every item.
                let pos = base.pos;
                let items = match self.items(base) {
                    Ok(items) => items,
                    Err(u) => return u,
                };
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    let v = self.field(it, name);
                    flatten_into(&mut out, v);
                }
                It::list(out, pos)
            }
            V::Rec(r) => {
                let pos = base.pos;
                match name.flow.map(|i| r.field(i as usize)) {
                    Some(super::value::LogValue::Num(n)) => It::new(V::Num(n), pos),
                    Some(super::value::LogValue::Str(s)) => It::new(V::Str(Cow::Borrowed(s)), pos),
                    Some(super::value::LogValue::Ip(ip)) => It::new(V::Ip(ip), pos),
                    Some(super::value::LogValue::Absent) | None => It::missing(pos),
                }
            }
            V::Unknown { reason, .. } => It {
                v: V::Unknown {
                    reason: reason.clone(),
                    opaque: true,
                    shape: None,
                    unset: false,
                    target: None,
                },
                pos: base.pos,
                specific: base.specific,
            },
            _ => It::missing(base.pos),
        }
    }

    fn map_field(&mut self, base: It<'d>, name: &FieldName, terraform: bool) -> It<'d> {
        let entries: &[crate::doc::Entry] = match &base.v {
            V::Map(m) => m,
            V::Owned(o) => {
                // Parsed JSON lives in an Rc: copy the field out.
                let found = o.entry(&name.name).or_else(|| {
                    name.snake
                        .as_deref()
                        .filter(|_| terraform)
                        .and_then(|s| o.entry(s))
                });
                return match found {
                    Some(e) => owned_it(&e.value, e.key_pos),
                    None => It::missing(base.pos),
                };
            }
            _ => return It::missing(base.pos),
        };
        let mut found = entries.iter().find(|e| e.key == name.name);
        if found.is_none() && terraform {
            if let Some(s) = &name.snake {
                found = entries.iter().find(|e| &e.key == s);
            }
        }
        match found {
            Some(e) => {
                let mut it = self.ctx.resolve_doc(&e.value, e.key_pos);
                if !it.is_missing() {
                    it.pos = e.key_pos;
                }
                it
            }
            None => It::missing(base.pos),
        }
    }

    fn index(&mut self, base: It<'d>, idx: It<'d>) -> It<'d> {
        if let Some(u) = propagate(&base) {
            return u;
        }
        match (&idx.v, &base.v) {
            // `p["BlockPublicAcls"]` reads `block_public_acls` on Terraform values,
            // like `p.BlockPublicAcls`.
            (V::Str(k), V::Map(_) | V::Owned(_) | V::Res(_)) => {
                self.field(base, &FieldName::new(k))
            }
            (V::Num(n), V::Seq(_) | V::List(_)) => {
                let pos = base.pos;
                let items = match self.items(base) {
                    Ok(items) => items,
                    Err(u) => return u,
                };
                let len = items.len() as i64;
                let i = *n as i64;
                let i = if i < 0 { len + i } else { i };
                if i >= 0 && i < len {
                    items
                        .into_iter()
                        .nth(i as usize)
                        .unwrap_or_else(|| It::missing(pos))
                } else {
                    It::missing(pos)
                }
            }
            (V::Num(n), V::Owned(o)) => match o.as_seq().and_then(|s| s.get(*n as usize)) {
                Some(v) => owned_it(v, v.pos),
                None => It::missing(base.pos),
            },
            (V::Unknown { .. }, _) => idx,
            _ => It::missing(base.pos),
        }
    }

    fn wildcard(&mut self, base: It<'d>) -> It<'d> {
        let pos = base.pos;
        match self.items(base) {
            Ok(items) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    flatten_into(&mut out, it);
                }
                It::list(out, pos)
            }
            Err(u) => u,
        }
    }

    /// The items of a list (or the values of a map); `Err` with the unknown value
    /// when they cannot be known.
    pub fn items(&mut self, base: It<'d>) -> Result<Vec<It<'d>>, It<'d>> {
        match base.v {
            V::List(items) => Ok(items.as_ref().clone()),
            V::Seq(items) => Ok(items
                .iter()
                .map(|v| self.ctx.resolve_doc(v, v.pos))
                .collect()),
            V::Map(entries) => Ok(entries
                .iter()
                .map(|e| {
                    let mut it = self.ctx.resolve_doc(&e.value, e.key_pos);
                    it.pos = e.key_pos;
                    it
                })
                .collect()),
            V::Owned(ref o) => match &o.node {
                crate::doc::Node::Seq(s) => Ok(s.iter().map(|v| owned_it(v, v.pos)).collect()),
                crate::doc::Node::Map(m) => {
                    Ok(m.iter().map(|e| owned_it(&e.value, e.key_pos)).collect())
                }
                _ => Ok(vec![base.clone()]),
            },
            V::Res(i) => match &self.ctx.tpl.resources[i].props {
                Some(p) => Ok(p
                    .as_map()
                    .unwrap_or(&[])
                    .iter()
                    .map(|e| self.ctx.resolve_doc(&e.value, e.key_pos))
                    .collect()),
                None => Ok(Vec::new()),
            },
            V::Missing | V::Null => Ok(Vec::new()),
            V::Unknown { .. } => Err(base),
            _ => Ok(vec![base]),
        }
    }
}

/// A value an engine function cannot know, inside a map it builds (maps built
/// during evaluation are document values, which hold no `V::Unknown`): read
/// back by [`owned_it`] as unknown with `reason`. Owned values never hold
/// Terraform's computed values, so the encoding is unambiguous.
pub fn unknown_node(reason: &str, pos: Pos) -> crate::doc::Value {
    crate::doc::Value::new(
        crate::doc::Node::Computed {
            refs: vec![reason.to_string()],
            configured: false,
        },
        pos,
    )
}

/// Values from parsed JSON are owned: wrap them without borrowing.
pub fn owned_it<'d>(v: &crate::doc::Value, pos: Pos) -> It<'d> {
    use crate::doc::Node;
    let val = match &v.node {
        Node::Null => V::Null,
        Node::Bool(b) => V::Bool(*b),
        Node::Int(i) => V::Num(*i as f64),
        Node::Float(f) => V::Num(*f),
        Node::Str(s) => V::Str(Cow::Owned(s.clone())),
        // What an engine function could not know (see `unknown_node`).
        Node::Computed {
            refs,
            configured: false,
        } if refs.len() == 1 => V::Unknown {
            reason: refs[0].as_str().into(),
            opaque: false,
            shape: None,
            unset: false,
            target: None,
        },
        Node::Computed { .. } => V::Unknown {
            reason: "the value is known only after apply".into(),
            opaque: false,
            shape: None,
            unset: false,
            target: None,
        },
        Node::Seq(_) | Node::Map(_) => V::Owned(Rc::new(v.clone())),
    };
    It::new(val, pos)
}

/// Whether a value is a list: built during evaluation, in the document, or parsed
/// from JSON.
pub fn is_seq(v: &V<'_>) -> bool {
    match v {
        V::List(_) | V::Seq(_) => true,
        V::Owned(o) => o.as_seq().is_some(),
        _ => false,
    }
}

/// Flattens nested lists produced by paths through lists of lists.
fn flatten_into<'d>(out: &mut Vec<It<'d>>, it: It<'d>) {
    match &it.v {
        V::List(inner) => out.extend(inner.iter().cloned()),
        _ => out.push(it),
    }
}

fn propagate<'d>(it: &It<'d>) -> Option<It<'d>> {
    match &it.v {
        V::Unknown { .. } => Some(it.clone()),
        _ => None,
    }
}

fn tri_of_unknown(it: &It<'_>) -> Tri {
    match &it.v {
        V::Unknown { reason, .. } => Tri::Unknown(reason.clone()),
        _ => Tri::False,
    }
}

fn tri_it<'d>(v: Verdict) -> It<'d> {
    let val = match v.tri {
        Tri::True => V::Bool(true),
        Tri::False => V::Bool(false),
        Tri::Unknown(r) => V::Unknown {
            reason: r,
            opaque: false,
            shape: None,
            unset: false,
            target: None,
        },
    };
    It {
        v: val,
        pos: v.pos,
        specific: v.specific,
    }
}

pub fn num_of(v: &V<'_>) -> Option<f64> {
    match v {
        V::Num(n) => Some(*n),
        V::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn const_it<'d>(c: &'d Const, pos: Pos) -> It<'d> {
    let v = match c {
        Const::Null => V::Null,
        Const::Bool(b) => V::Bool(*b),
        Const::Num(n) => V::Num(*n),
        // Borrowed from the compiled policy: comparing with a literal costs no copy.
        Const::Str(s) => V::Str(Cow::Borrowed(s.as_str())),
        Const::List(items) => V::List(Rc::new(items.iter().map(|c| const_it(c, pos)).collect())),
    };
    It {
        v,
        pos,
        specific: false,
    }
}

/// Whether a `Fn::Sub` template (`${...}` standing for any text) can spell `s`.
fn shape_can_match(template: &str, s: &str) -> bool {
    let mut pattern = String::from("^");
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        pattern.push_str(&regex::escape(&rest[..start]));
        match rest[start..].find('}') {
            Some(end) => {
                pattern.push_str("(?s:.*)");
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    regex::Regex::new(&pattern).map_or(true, |re| re.is_match(s))
}
