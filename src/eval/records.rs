//! Evaluating a detection's expressions over log records: the same expression
//! evaluator as policies, with the record as the bound variable. The detection
//! engine (`crate::detect`) drives it; it never sees the evaluator's internals.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use super::context::{scalar_text, Ctx, Params};
use super::expr::Eval;
use super::value::{display, It, LogFields, Tri, V};
use crate::compile::ir::{Expr, MsgPart};
use crate::detect::window::AggVal;
use crate::doc::{Node, Pos, Template, TemplateKind, Value};

/// Records belong to no template. Its kind is a plan's so that maps in events
/// (an IAM policy's `{"Condition": ...}` in `requestParameters`) are never
/// taken for CloudFormation intrinsics.
fn no_template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| Template {
        path: Arc::from(""),
        doc_index: 0,
        kind: TemplateKind::TerraformPlan,
        resources: Vec::new(),
        parameters: Default::default(),
        conditions: Default::default(),
        mappings: None,
        root: Value::new(Node::Null, Pos::default()),
        errors: Vec::new(),
        memo: Default::default(),
    })
}

/// The evaluation context of records: parameters and engines (threat lists).
pub struct RecordCtx<'d> {
    ctx: Ctx<'d>,
}

/// Three-valued truth of a condition over a record.
#[derive(Clone, Debug, PartialEq)]
pub enum Truth {
    True,
    False,
    Unknown(std::rc::Rc<str>),
}

/// One grouping key's value, compact: numbers and addresses without text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPart {
    Absent,
    Num(u64),
    Ip(std::net::IpAddr),
    Text(Box<str>),
}

impl KeyPart {
    pub fn text(&self) -> String {
        match self {
            KeyPart::Absent => "-".to_string(),
            KeyPart::Num(bits) => super::value::fmt_num(f64::from_bits(*bits)),
            KeyPart::Ip(ip) => ip.to_string(),
            KeyPart::Text(t) => t.to_string(),
        }
    }
}

impl<'d> RecordCtx<'d> {
    pub fn new(params: &'d Params) -> Self {
        RecordCtx {
            ctx: Ctx::new(no_template(), params, 0),
        }
    }

    /// An evaluator with `slots` variables (slot 0 is the record).
    pub fn evaluator<'c>(&'c self, slots: usize) -> RecordEval<'c, 'd> {
        RecordEval {
            ev: Eval {
                ctx: &self.ctx,
                env: vec![It::missing(Pos::default()); slots.max(1)],
                aggs: Vec::new(),
            },
        }
    }
}

/// Evaluates expressions with a record bound to slot 0.
pub struct RecordEval<'c, 'd> {
    ev: Eval<'c, 'd>,
}

impl<'c, 'd> RecordEval<'c, 'd> {
    /// Binds a JSON event (CloudTrail, Route 53); `line` is its opening brace.
    pub fn bind_event(&mut self, v: &'d Value, line: u32) {
        let pos = Pos::new(line, 1);
        self.ev.env[0] = match &v.node {
            Node::Map(m) => It::new(V::Map(m), pos),
            _ => It::missing(pos),
        };
    }

    /// Binds a typed record (a flow log record).
    pub fn bind_fields(&mut self, r: &'d dyn LogFields, line: u32) {
        self.ev.env[0] = It::new(V::Rec(r), Pos::new(line, 1));
    }

    /// Evaluates a `let` into its slot.
    pub fn bind_let(&mut self, slot: usize, e: &'d Expr) {
        let v = self.ev.value(e);
        if self.ev.env.len() <= slot {
            self.ev.env.resize(slot + 1, It::missing(Pos::default()));
        }
        self.ev.env[slot] = v;
    }

    pub fn truth(&mut self, e: &'d Expr) -> Truth {
        match self.ev.truth(e).tri {
            Tri::True => Truth::True,
            Tri::False => Truth::False,
            Tri::Unknown(r) => Truth::Unknown(r),
        }
    }

    /// The value as text (`None` when missing): grouping keys, resources.
    pub fn text(&mut self, e: &'d Expr) -> Option<String> {
        let v = self.ev.value(e);
        match &v.v {
            V::Missing | V::Null => None,
            V::Unknown { .. } => None,
            _ => Some(display(&v, &|_| String::new())),
        }
    }

    /// A grouping key's value.
    pub fn key_part(&mut self, e: &'d Expr) -> KeyPart {
        let v = self.ev.value(e);
        match &v.v {
            V::Num(n) => KeyPart::Num(if *n == 0.0 { 0 } else { n.to_bits() }),
            V::Ip(ip) => KeyPart::Ip(*ip),
            V::Str(s) => KeyPart::Text(s.as_ref().into()),
            V::Missing | V::Null | V::Unknown { .. } => KeyPart::Absent,
            _ => KeyPart::Text(display(&v, &|_| String::new()).into()),
        }
    }

    /// The value an aggregate reads from the record.
    pub fn agg_input(&mut self, e: &'d Expr) -> AggVal {
        let v = self.ev.value(e);
        match &v.v {
            V::Num(n) => AggVal::Num(*n),
            V::Missing | V::Null | V::Unknown { .. } => AggVal::Absent,
            other => match scalar_text(other) {
                Some(t) => AggVal::Text(t.into()),
                None => AggVal::Text(display(&v, &|_| String::new()).into()),
            },
        }
    }

    /// Sets the aggregate values of the window being judged.
    pub fn set_aggregates(&mut self, values: &[f64]) {
        self.ev.aggs = values
            .iter()
            .map(|n| It::new(V::Num(*n), Pos::default()))
            .collect();
    }

    /// Interpolates a message.
    pub fn message(&mut self, parts: &'d [MsgPart]) -> String {
        let mut out = String::new();
        for p in parts {
            match p {
                MsgPart::Text(t) => out.push_str(t),
                MsgPart::Expr(e) => {
                    let v = self.ev.value(e);
                    out.push_str(&display(&v, &|_| String::new()));
                }
            }
        }
        out
    }

    /// A field of the bound JSON event by path (`userIdentity.arn`), as text.
    pub fn event_text(&self, path: &[&str]) -> Option<Cow<'d, str>> {
        let V::Map(mut entries) = self.ev.env[0].v else {
            return None;
        };
        let mut cur: Option<&'d Value> = None;
        for (i, seg) in path.iter().enumerate() {
            let e = entries.iter().find(|e| e.key == *seg)?;
            if i + 1 == path.len() {
                cur = Some(&e.value);
            } else {
                entries = e.value.as_map()?;
            }
        }
        match &cur?.node {
            Node::Str(s) => Some(Cow::Borrowed(s.as_str())),
            Node::Int(i) => Some(Cow::Owned(i.to_string())),
            Node::Bool(b) => Some(Cow::Owned(b.to_string())),
            _ => None,
        }
    }
}
