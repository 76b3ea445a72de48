//! The evaluation context of one resource: its template, the parameter values,
//! and the branch chosen for each `Fn::If` condition that cannot be decided.
//! Resolving CloudFormation intrinsics happens here, lazily, when a policy reads
//! a value.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::value::{fmt_num, It, Target, V};
use crate::doc::{Node, Pos, Template, TemplateKind, Value};

/// Values given with `--param NAME=VALUE` or a parameters file; they override
/// parameter defaults and may set pseudo parameters such as `AWS::Region`.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub values: BTreeMap<String, String>,
    /// Keystores and data samples for the `kms.*` functions.
    pub engines: super::engines::Engines,
}

/// Intrinsic resolution nests (a `Ref` inside a `Sub` inside an `If`...); a
/// template cannot make it loop forever.
const MAX_RESOLVE_DEPTH: usize = 64;

pub struct Ctx<'d> {
    pub tpl: &'d Template,
    pub params: &'d Params,
    /// The resource being evaluated.
    pub resource: usize,
    /// Branches chosen for undecidable conditions in this run.
    pub assign: RefCell<Vec<(String, bool)>>,
    /// The first undecidable condition met that had no branch chosen yet.
    pub pending: RefCell<Option<String>>,
    depth: Cell<usize>,
    /// The `@` item of the innermost filter.
    pub current: RefCell<Vec<It<'d>>>,
}

impl<'d> Ctx<'d> {
    pub fn new(tpl: &'d Template, params: &'d Params, resource: usize) -> Self {
        Ctx {
            tpl,
            params,
            resource,
            assign: RefCell::new(Vec::new()),
            pending: RefCell::new(None),
            depth: Cell::new(0),
            current: RefCell::new(Vec::new()),
        }
    }

    /// Whether the resource being evaluated comes from a Terraform plan (false
    /// for log records, which belong to no template).
    pub fn is_terraform(&self) -> bool {
        self.tpl
            .resources
            .get(self.resource)
            .is_some_and(|r| r.source == crate::doc::Source::Terraform)
    }

    pub fn resource_id(&self, idx: usize) -> String {
        self.tpl
            .resources
            .get(idx)
            .map(|r| r.id.clone())
            .unwrap_or_default()
    }

    /// The resource named by a CFN logical id or a Terraform reference
    /// (`aws_kms_key.k`, `aws_kms_key.k.arn`, `module.m.aws_kms_key.k[0]`).
    pub fn find_resource(&self, name: &str) -> Option<usize> {
        self.find_resource_attr(name).map(|(i, _)| i)
    }

    /// The resource a Terraform reference names and the attribute after its
    /// address (`aws_kms_key.k.arn` → (k, `arn`)).
    fn find_resource_attr(&self, name: &str) -> Option<(usize, Option<String>)> {
        let rs = &self.tpl.resources;
        if let Some(i) = rs.iter().position(|r| r.id == name) {
            return Some((i, None));
        }
        if self.tpl.kind == TemplateKind::TerraformPlan {
            // Strip a trailing attribute (`.arn`) and instance keys (`[0]`).
            let mut candidate = name;
            loop {
                if let Some(i) = rs.iter().position(|r| strip_index(&r.id) == candidate) {
                    let attr = name[candidate.len()..].trim_start_matches('.');
                    return Some((i, (!attr.is_empty()).then(|| attr.to_string())));
                }
                match candidate.rfind('.') {
                    Some(dot) => candidate = &candidate[..dot],
                    None => return None,
                }
            }
        }
        None
    }

    /// A document value as an evaluation value, resolving intrinsics.
    pub fn resolve_doc(&self, v: &'d Value, pos: Pos) -> It<'d> {
        let d = self.depth.get();
        if d > MAX_RESOLVE_DEPTH {
            return It::unknown("intrinsic functions nest too deeply", pos);
        }
        self.depth.set(d + 1);
        let it = self.resolve_doc_inner(v, pos);
        self.depth.set(d);
        it
    }

    fn resolve_doc_inner(&self, v: &'d Value, pos: Pos) -> It<'d> {
        match &v.node {
            // A null is an attribute that is not set: as unspecific as a missing one.
            Node::Null => It {
                v: V::Null,
                pos,
                specific: false,
            },
            Node::Bool(b) => It::new(V::Bool(*b), pos),
            Node::Int(i) => It::new(V::Num(*i as f64), pos),
            Node::Float(f) => It::new(V::Num(*f), pos),
            Node::Str(s) => It::new(V::Str(Cow::Borrowed(s)), pos),
            Node::Seq(items) => It::new(V::Seq(items), pos),
            Node::Map(entries) => {
                if self.tpl.kind == TemplateKind::CloudFormation {
                    if let Some((name, arg)) = v.intrinsic() {
                        return self.intrinsic(name, arg, pos);
                    }
                }
                It::new(V::Map(entries), pos)
            }
            Node::Computed { refs, configured } => {
                for r in refs {
                    if let Some((res, attr)) = self.find_resource_attr(r) {
                        let reason = format!("{r} is known only after apply");
                        let target = Target {
                            res,
                            attr,
                            text: r.clone(),
                        };
                        return It::reference(target, reason, pos);
                    }
                }
                if *configured {
                    return It::unknown("the value is known only after apply", pos);
                }
                let mut it = It::unknown(
                    "the configuration does not set the value; the provider fills in its default at apply time",
                    pos,
                );
                if let V::Unknown { unset, .. } = &mut it.v {
                    *unset = true;
                }
                it.specific = false;
                it
            }
        }
    }

    fn intrinsic(&self, name: &str, arg: &'d Value, pos: Pos) -> It<'d> {
        match name {
            "Ref" => match arg.as_str() {
                Some(target) => self.resolve_ref(target, pos),
                None => It::unknown("Ref to something that is not a name", pos),
            },
            "Fn::GetAtt" => {
                let (target, attr) = match &arg.node {
                    Node::Seq(s) => (
                        s.first().and_then(|v| v.as_str()),
                        s.get(1).and_then(|v| self.text_of(v)),
                    ),
                    Node::Str(s) => match s.split_once('.') {
                        Some((t, a)) => (Some(t), Some(a.to_string())),
                        None => (Some(s.as_str()), None),
                    },
                    _ => (None, None),
                };
                match target.and_then(|t| self.find_resource(t)) {
                    Some(res) => {
                        let text = format!(
                            "!GetAtt {}.{}",
                            target.unwrap_or("?"),
                            attr.as_deref().unwrap_or("?")
                        );
                        let reason = format!(
                            "`{text}` is an attribute AWS sets at deploy time, so its value cannot be known"
                        );
                        It::reference(Target { res, attr, text }, reason, pos)
                    }
                    None => It::unknown(
                        format!(
                            "Fn::GetAtt of {}, which is not a resource of this template",
                            target.unwrap_or("?")
                        ),
                        pos,
                    ),
                }
            }
            "Fn::If" => self.resolve_if(arg, pos),
            "Fn::Sub" => self.resolve_sub(arg, pos),
            "Fn::Join" => self.resolve_join(arg, pos),
            "Fn::Select" => self.resolve_select(arg, pos),
            "Fn::Split" => self.resolve_split(arg, pos),
            "Fn::FindInMap" => self.resolve_find_in_map(arg, pos),
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition" => {
                match self.condition_value(&Value::new(
                    Node::Map(vec![crate::doc::Entry {
                        key: name.to_string(),
                        key_pos: pos,
                        value: arg.clone(),
                    }]),
                    pos,
                )) {
                    Some(b) => It::new(V::Bool(b), pos),
                    None => It::unknown(format!("{name} cannot be decided statically"), pos),
                }
            }
            "Fn::ImportValue" => It::unknown(
                "the value is imported from another stack (Fn::ImportValue)",
                pos,
            ),
            "Fn::ToJsonString" => {
                let it = self.resolve_doc(arg, pos);
                match to_json(self, &it, 0) {
                    Ok(j) => It::new(V::Str(Cow::Owned(j.to_string())), pos),
                    Err(reason) => It::unknown(format!("Fn::ToJsonString: {reason}"), pos),
                }
            }
            "Fn::GetAZs" | "Fn::Cidr" | "Fn::Base64" | "Fn::Transform" => It::unknown(
                format!("the value is computed at deploy time ({name})"),
                pos,
            ),
            "Fn::Length" => match self.list_items(self.resolve_doc(arg, pos)) {
                Some(items) => It::new(V::Num(items.len() as f64), pos),
                None => It::unknown("Fn::Length of a value that is not known", pos),
            },
            other => It::unknown(format!("unsupported intrinsic function {other}"), pos),
        }
    }

    fn resolve_ref(&self, target: &str, pos: Pos) -> It<'d> {
        if target == "AWS::NoValue" {
            return It::missing(pos);
        }
        if let Some(v) = self.params.values.get(target) {
            let is_list = self
                .tpl
                .parameters
                .get(target)
                .and_then(|p| p.param_type.as_deref())
                .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList");
            if is_list {
                let items = v
                    .split(',')
                    .map(|s| It::new(V::Str(Cow::Owned(s.trim().to_string())), pos))
                    .collect();
                return It::list(items, pos);
            }
            return It::new(V::Str(Cow::Owned(v.clone())), pos);
        }
        if let Some(p) = self.tpl.parameters.get(target) {
            return match &p.default {
                Some(d) => {
                    let is_list = p
                        .param_type
                        .as_deref()
                        .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList");
                    match (&d.node, is_list) {
                        (Node::Str(s), true) => It::list(
                            s.split(',')
                                .map(|x| It::new(V::Str(Cow::Owned(x.trim().to_string())), pos))
                                .collect(),
                            pos,
                        ),
                        _ => {
                            let mut it = self.resolve_doc(d, pos);
                            it.pos = pos;
                            it
                        }
                    }
                }
                None => It::unknown(
                    format!("parameter {target} has no default value (set it with --param {target}=VALUE)"),
                    pos,
                ),
            };
        }
        if target.starts_with("AWS::") {
            return It::unknown(
                format!("pseudo parameter {target} is known only at deploy time (set it with --param {target}=VALUE)"),
                pos,
            );
        }
        match self.find_resource(target) {
            Some(res) => {
                let text = format!("!Ref {target}");
                let reason = format!(
                    "`{text}` is the physical id of resource {target}, known only at deploy time"
                );
                let t = Target {
                    res,
                    attr: None,
                    text,
                };
                It::reference(t, reason, pos)
            }
            None => It::unknown(
                format!("Ref to {target}, which is neither a parameter nor a resource"),
                pos,
            ),
        }
    }

    /// Picks the branch of an `Fn::If`. A condition that parameters cannot decide
    /// takes the branch chosen for this run; the first one without a choice is
    /// recorded so the runner evaluates both branches.
    fn resolve_if(&self, arg: &'d Value, pos: Pos) -> It<'d> {
        let Some([cond, yes, no]) = arg.as_seq().and_then(|s| <&[Value; 3]>::try_from(s).ok())
        else {
            return It::unknown(
                "Fn::If needs [condition, value if true, value if false]",
                pos,
            );
        };
        let Some(name) = cond.as_str() else {
            return It::unknown("Fn::If condition is not a name", pos);
        };
        let branch = self.condition_in_run(name);
        let mut it = self.resolve_doc(if branch { yes } else { no }, pos);
        if !it.is_missing() {
            it.specific = true;
        }
        it
    }

    /// Whether condition `name` holds in this run: decided by parameter values,
    /// or the branch chosen for this run; the first undecidable one without a
    /// choice is recorded so the runner evaluates both ways.
    pub fn condition_in_run(&self, name: &str) -> bool {
        if let Some(b) = self.decide(name) {
            return b;
        }
        let chosen = self
            .assign
            .borrow()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b);
        match chosen {
            Some(b) => b,
            None => {
                let mut pending = self.pending.borrow_mut();
                if pending.is_none() {
                    *pending = Some(name.to_string());
                }
                true
            }
        }
    }

    /// The value of a named condition from parameter values, if it can be known.
    pub fn decide(&self, name: &str) -> Option<bool> {
        let cond = self.tpl.conditions.get(name)?;
        let d = self.depth.get();
        if d > MAX_RESOLVE_DEPTH {
            return None;
        }
        self.depth.set(d + 1);
        let r = self.condition_value(cond);
        self.depth.set(d);
        r
    }

    fn condition_value(&self, v: &Value) -> Option<bool> {
        if let Node::Bool(b) = v.node {
            return Some(b);
        }
        let (name, arg) = v.intrinsic()?;
        match name {
            "Condition" => self.decide(arg.as_str()?),
            "Fn::Equals" => {
                let [a, b] = <&[Value; 2]>::try_from(arg.as_seq()?).ok()?;
                // Values reached through `arg` are clones, not 'd borrows: compare as text.
                let ta = self.text_of(a)?;
                let tb = self.text_of(b)?;
                Some(ta == tb)
            }
            "Fn::Not" => {
                let inner = match &arg.node {
                    Node::Seq(s) => s.first()?,
                    _ => arg,
                };
                self.condition_value(inner).map(|b| !b)
            }
            "Fn::And" | "Fn::Or" => {
                let is_and = name == "Fn::And";
                let mut unknown = false;
                for item in arg.as_seq()? {
                    match self.condition_value(item) {
                        Some(b) if b != is_and => return Some(b),
                        Some(_) => {}
                        None => unknown = true,
                    }
                }
                (!unknown).then_some(is_and)
            }
            _ => None,
        }
    }

    /// The scalar text of a condition operand, resolving `Ref` and nested functions.
    fn text_of(&self, v: &Value) -> Option<String> {
        match &v.node {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(fmt_num(*f)),
            Node::Bool(b) => Some(b.to_string()),
            Node::Map(_) => {
                let (name, arg) = v.intrinsic()?;
                match name {
                    "Ref" => {
                        let target = arg.as_str()?;
                        if let Some(val) = self.params.values.get(target) {
                            return Some(val.clone());
                        }
                        let p = self.tpl.parameters.get(target)?;
                        self.text_of(p.default.as_ref()?)
                    }
                    _ => self.resolve_owned(v),
                }
            }
            _ => None,
        }
    }

    fn resolve_owned(&self, v: &Value) -> Option<String> {
        let (name, arg) = v.intrinsic()?;
        let text = |x: &Value| self.text_of(x);
        match name {
            "Fn::Join" => {
                let [sep, list] = <&[Value; 2]>::try_from(arg.as_seq()?).ok()?;
                let sep = text(sep)?;
                let parts: Option<Vec<String>> = list.as_seq()?.iter().map(text).collect();
                Some(parts?.join(&sep))
            }
            "Fn::Sub" => {
                let (tmpl, vars) = match &arg.node {
                    Node::Str(s) => (s.as_str(), None),
                    Node::Seq(s) if s.len() == 2 => (s[0].as_str()?, Some(&s[1])),
                    _ => return None,
                };
                substitute(tmpl, |name| {
                    if let Some(var) = vars.and_then(|m| m.get(name)) {
                        return text(var);
                    }
                    self.text_of(&Value::new(
                        Node::Map(vec![crate::doc::Entry {
                            key: "Ref".into(),
                            key_pos: Pos::default(),
                            value: Value::str(name, Pos::default()),
                        }]),
                        Pos::default(),
                    ))
                })
            }
            "Fn::FindInMap" => {
                let items = arg.as_seq()?;
                let map = self.tpl.mappings.as_ref()?.get(&text(items.first()?)?)?;
                let v = map.get(&text(items.get(1)?)?)?.get(&text(items.get(2)?)?)?;
                text(v)
            }
            "Fn::Select" => {
                let [idx, list] = <&[Value; 2]>::try_from(arg.as_seq()?).ok()?;
                let i: usize = text(idx)?.parse().ok()?;
                text(list.as_seq()?.get(i)?)
            }
            "Fn::If" => {
                let [c, a, b] = <&[Value; 3]>::try_from(arg.as_seq()?).ok()?;
                let branch = self.decide(c.as_str()?)?;
                text(if branch { a } else { b })
            }
            _ => None,
        }
    }

    fn resolve_sub(&self, arg: &'d Value, pos: Pos) -> It<'d> {
        let wrapped = Value::new(
            Node::Map(vec![crate::doc::Entry {
                key: "Fn::Sub".into(),
                key_pos: pos,
                value: arg.clone(),
            }]),
            pos,
        );
        match self.resolve_owned(&wrapped) {
            Some(s) => It::new(V::Str(Cow::Owned(s)), pos),
            None => {
                let template = match &arg.node {
                    Node::Str(s) => Some(s.as_str()),
                    Node::Seq(items) => items.first().and_then(|v| v.as_str()),
                    _ => None,
                };
                let mut it = It::unknown("Fn::Sub uses a value known only at deploy time", pos);
                if let (V::Unknown { shape, .. }, Some(t)) = (&mut it.v, template) {
                    *shape = Some(t.into());
                }
                it
            }
        }
    }

    fn resolve_join(&self, arg: &'d Value, pos: Pos) -> It<'d> {
        let Some([sep, list]) = arg.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
            return It::unknown("Fn::Join needs [delimiter, list]", pos);
        };
        let sep = match self.resolve_doc(sep, pos).v {
            V::Str(s) => s.into_owned(),
            _ => return It::unknown("Fn::Join delimiter is not known", pos),
        };
        let Some(items) = self.list_items(self.resolve_doc(list, pos)) else {
            return It::unknown("Fn::Join of a list known only at deploy time", pos);
        };
        let mut parts = Vec::new();
        // What is known of a join with deploy-time parts (`com.amazonaws.${?}.s3`),
        // as for `Fn::Sub`: the literal parts, `${Name}` for a reference.
        let mut deploy_time = false;
        let raw = list.as_seq().filter(|r| r.len() == items.len());
        for (i, it) in items.into_iter().enumerate() {
            let raw_ref = raw
                .and_then(|r| r[i].intrinsic())
                .filter(|(n, _)| *n == "Ref")
                .and_then(|(_, a)| a.as_str());
            match (&it.v, scalar_text(&it.v)) {
                (_, Some(t)) => parts.push(t),
                (V::Unknown { target: None, .. }, _) if raw_ref.is_some() => {
                    deploy_time = true;
                    parts.push(format!("${{{}}}", raw_ref.unwrap_or("?")));
                }
                (
                    V::Unknown {
                        target: Some(t), ..
                    },
                    _,
                ) => {
                    deploy_time = true;
                    let id = self.resource_id(t.res);
                    parts.push(match &t.attr {
                        Some(a) => format!("${{{id}.{a}}}"),
                        None => format!("${{{id}}}"),
                    });
                }
                (V::Unknown { shape, .. }, _) => {
                    deploy_time = true;
                    parts.push(shape.as_deref().unwrap_or("${?}").to_string());
                }
                _ => return It::unknown("Fn::Join of a value known only at deploy time", pos),
            }
        }
        if deploy_time {
            let mut it = It::unknown("Fn::Join of a value known only at deploy time", pos);
            if let V::Unknown { shape, .. } = &mut it.v {
                *shape = Some(parts.join(&sep).into());
            }
            return it;
        }
        It::new(V::Str(Cow::Owned(parts.join(&sep))), pos)
    }

    fn resolve_select(&self, arg: &'d Value, pos: Pos) -> It<'d> {
        let Some([idx, list]) = arg.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
            return It::unknown("Fn::Select needs [index, list]", pos);
        };
        let idx = match self.resolve_doc(idx, pos).v {
            V::Num(n) if n >= 0.0 => n as usize,
            V::Str(s) => match s.parse::<usize>() {
                Ok(n) => n,
                Err(_) => return It::unknown("Fn::Select index is not a number", pos),
            },
            _ => return It::unknown("Fn::Select index is not known", pos),
        };
        match self.list_items(self.resolve_doc(list, pos)) {
            Some(items) => match items.into_iter().nth(idx) {
                Some(mut it) => {
                    it.pos = pos;
                    it
                }
                None => It::unknown("Fn::Select index is out of range", pos),
            },
            None => It::unknown("Fn::Select of a list known only at deploy time", pos),
        }
    }

    fn resolve_split(&self, arg: &'d Value, pos: Pos) -> It<'d> {
        let Some([sep, s]) = arg.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
            return It::unknown("Fn::Split needs [delimiter, string]", pos);
        };
        match (self.resolve_doc(sep, pos).v, self.resolve_doc(s, pos).v) {
            (V::Str(sep), V::Str(s)) if !sep.is_empty() => It::list(
                s.split(sep.as_ref())
                    .map(|p| It::new(V::Str(Cow::Owned(p.to_string())), pos))
                    .collect(),
                pos,
            ),
            _ => It::unknown("Fn::Split of a value known only at deploy time", pos),
        }
    }

    fn resolve_find_in_map(&self, arg: &'d Value, pos: Pos) -> It<'d> {
        let items = arg.as_seq().unwrap_or(&[]);
        if items.len() < 3 {
            return It::unknown(
                "Fn::FindInMap needs [map, top-level key, second-level key]",
                pos,
            );
        }
        let mut keys = Vec::new();
        for k in &items[..3] {
            match scalar_text(&self.resolve_doc(k, pos).v) {
                Some(t) => keys.push(t),
                None => return It::unknown("Fn::FindInMap key is known only at deploy time", pos),
            }
        }
        let found = self
            .tpl
            .mappings
            .as_ref()
            .and_then(|m| m.get(&keys[0]))
            .and_then(|m| m.get(&keys[1]))
            .and_then(|m| m.get(&keys[2]));
        match found {
            Some(v) => {
                let mut it = self.resolve_doc(v, pos);
                it.pos = pos;
                it
            }
            None => It::unknown(
                format!(
                    "Fn::FindInMap: no entry {}/{}/{}",
                    keys[0], keys[1], keys[2]
                ),
                pos,
            ),
        }
    }

    /// The items of a list-like value; `None` when not known.
    pub fn list_items(&self, it: It<'d>) -> Option<Vec<It<'d>>> {
        match it.v {
            V::List(items) => Some(items.as_ref().clone()),
            V::Seq(items) => Some(items.iter().map(|v| self.resolve_doc(v, v.pos)).collect()),
            V::Owned(ref o) if o.as_seq().is_some() => Some(
                o.as_seq()
                    .unwrap_or(&[])
                    .iter()
                    .map(|v| super::expr::owned_it(v, v.pos))
                    .collect(),
            ),
            V::Missing => Some(Vec::new()),
            V::Unknown { .. } => None,
            _ => Some(vec![it]),
        }
    }
}

/// A document value as JSON, resolving intrinsics; `Err` with the reason when a
/// part cannot be known statically.
pub fn to_json<'d>(ctx: &Ctx<'d>, it: &It<'d>, depth: usize) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    if depth > 64 {
        return Err("the document nests too deeply".into());
    }
    Ok(match &it.v {
        V::Null | V::Missing => J::Null,
        V::Bool(b) => J::Bool(*b),
        V::Num(n) => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
        V::Str(s) => J::String(s.to_string()),
        V::Unknown { reason, .. } => return Err(reason.to_string()),
        V::Set(_) | V::Rec(_) => return Err("a set or log record is not a JSON value".into()),
        V::Ip(ip) => J::String(ip.to_string()),
        V::Res(i) => {
            return Err(format!(
                "the document names resource {}, known only at deploy time",
                ctx.resource_id(*i)
            ))
        }
        V::Map(entries) => {
            let mut m = serde_json::Map::new();
            for e in *entries {
                let v = ctx.resolve_doc(&e.value, e.key_pos);
                if matches!(v.v, V::Missing) {
                    continue;
                }
                m.insert(e.key.clone(), to_json(ctx, &v, depth + 1)?);
            }
            J::Object(m)
        }
        V::Seq(items) => J::Array(
            items
                .iter()
                .map(|v| to_json(ctx, &ctx.resolve_doc(v, v.pos), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        V::List(items) => J::Array(
            items
                .iter()
                .map(|v| to_json(ctx, v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        V::Owned(o) => serde_json::to_value(value_json(o)).unwrap_or(J::Null),
    })
}

/// A document value as JSON (known values only; computed ones become null).
pub fn doc_to_json(v: &Value) -> serde_json::Value {
    value_json(v)
}

fn value_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.node {
        Node::Null | Node::Computed { .. } => J::Null,
        Node::Bool(b) => J::Bool(*b),
        Node::Int(i) => J::from(*i),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Node::Str(s) => J::String(s.clone()),
        Node::Seq(items) => J::Array(items.iter().map(value_json).collect()),
        Node::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), value_json(&e.value)))
                .collect(),
        ),
    }
}

/// `${Name}` substitution; `${!Literal}` stays `${Literal}`.
fn substitute(tmpl: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = tmpl;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        if let Some(lit) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(lit);
            out.push('}');
        } else {
            out.push_str(&lookup(name.trim())?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Text of a scalar value (strings, numbers, booleans).
pub fn scalar_text(v: &V<'_>) -> Option<String> {
    match v {
        V::Str(s) => Some(s.to_string()),
        V::Num(n) => Some(fmt_num(*n)),
        V::Bool(b) => Some(b.to_string()),
        V::Ip(ip) => Some(ip.to_string()),
        _ => None,
    }
}

fn strip_index(id: &str) -> &str {
    match id.strip_suffix(']') {
        Some(s) => s.rfind('[').map_or(id, |i| &id[..i]),
        None => id,
    }
}
