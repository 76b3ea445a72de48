//! Values during evaluation. Document values are borrowed, not copied; each value
//! carries the position a finding would point at.

use std::borrow::Cow;
use std::fmt::Write;
use std::rc::Rc;

use crate::doc::{Entry, Pos, Value};

#[derive(Clone, Debug)]
pub enum V<'d> {
    /// The path is not there.
    Missing,
    /// Cannot be known statically. `opaque` values were reached *through* an
    /// unknown, so even whether they exist is unknown.
    Unknown {
        reason: Rc<str>,
        opaque: bool,
        /// What is known of an unknown string: a `Fn::Sub` template such as
        /// `arn:aws:iam::${AWS::AccountId}:root` can never equal `*`.
        shape: Option<Rc<str>>,
        /// A Terraform attribute the configuration does not set: the provider
        /// fills in its default at apply time.
        unset: bool,
        /// A reference to a resource of the template (`!Ref X`, `!GetAtt X.Attr`,
        /// Terraform `aws_x.y.attr`): its value is known only at deploy time,
        /// but the resource it names is known.
        target: Option<Rc<Target>>,
    },
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'d, str>),
    /// A list built during evaluation (wildcards, literals, functions).
    List(Rc<Vec<It<'d>>>),
    /// A list in the document.
    Seq(&'d [Value]),
    /// A map in the document.
    Map(&'d [Entry]),
    /// A map built during evaluation (parsed JSON).
    Owned(Rc<Value>),
    /// A resource of the current template (a `Ref`/`GetAtt` target or a binding).
    Res(usize),
    /// A set to test membership in: a threat list or AWS's IP ranges.
    Set(SetRef),
    /// A log record with typed fields read by index (a VPC flow log record).
    Rec(&'d dyn LogFields),
    /// An address from a typed log record: kept as an address, so comparing and
    /// looking it up in a threat list costs no text.
    Ip(std::net::IpAddr),
}

/// A value of a typed log record's field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LogValue<'a> {
    Absent,
    Num(f64),
    Str(&'a str),
    Ip(std::net::IpAddr),
}

/// A log record whose fields are read by their index in the source's field list
/// (`schema::logs::FLOW_FIELDS`), without building a map per record.
pub trait LogFields: Sync {
    fn field(&self, index: usize) -> LogValue<'_>;
}

impl std::fmt::Debug for dyn LogFields + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("log record")
    }
}

/// A membership set, shared by every record a detection reads.
#[derive(Clone, Debug)]
pub enum SetRef {
    /// A threat list; the trusted list, when given, always wins.
    Threat {
        list: std::sync::Arc<crate::detect::lists::ThreatList>,
        trusted: Option<std::sync::Arc<crate::detect::lists::ThreatList>>,
    },
    Aws(std::sync::Arc<crate::detect::lists::IpSet>),
}

impl SetRef {
    /// Whether the text (an address, network or domain) is in the set.
    pub fn contains(&self, s: &str) -> bool {
        match self {
            SetRef::Threat { list, trusted } => {
                list.contains_text(s) && !trusted.as_ref().is_some_and(|t| t.contains_text(s))
            }
            SetRef::Aws(ips) => s.trim().parse().is_ok_and(|ip| ips.contains(ip)),
        }
    }

    /// Whether the address is in the set.
    pub fn contains_ip(&self, ip: std::net::IpAddr) -> bool {
        match self {
            SetRef::Threat { list, trusted } => {
                list.contains_ip(ip) && !trusted.as_ref().is_some_and(|t| t.contains_ip(ip))
            }
            SetRef::Aws(ips) => ips.contains(ip),
        }
    }
}

/// What a reference names: the resource and the attribute (`Arn`,
/// `Outputs.AdminCidr`; `None` for a `Ref`), and how it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub res: usize,
    pub attr: Option<String>,
    /// The reference as written (`!GetAtt Custom.Cidr`), for messages.
    pub text: String,
}

impl Target {
    /// ARNs always start with `arn:`, so an `Arn` attribute is never `*`.
    pub fn is_arn(&self) -> bool {
        self.attr
            .as_deref()
            .is_some_and(|a| a == "Arn" || a.ends_with("Arn") || a == "arn" || a.ends_with("_arn"))
    }
}

/// A value and where it came from.
#[derive(Clone, Debug)]
pub struct It<'d> {
    pub v: V<'d>,
    pub pos: Pos,
    /// False when `pos` is only the nearest ancestor of a missing value.
    pub specific: bool,
}

impl<'d> It<'d> {
    pub fn new(v: V<'d>, pos: Pos) -> Self {
        It {
            v,
            pos,
            specific: true,
        }
    }

    pub fn missing(pos: Pos) -> Self {
        It {
            v: V::Missing,
            pos,
            specific: false,
        }
    }

    pub fn unknown(reason: impl Into<Rc<str>>, pos: Pos) -> Self {
        It::new(
            V::Unknown {
                reason: reason.into(),
                opaque: false,
                shape: None,
                unset: false,
                target: None,
            },
            pos,
        )
    }

    /// A reference to resource `t.res`, whose value is known only at deploy time.
    pub fn reference(t: Target, reason: impl Into<Rc<str>>, pos: Pos) -> Self {
        let shape = t.is_arn().then(|| Rc::from("arn:${value}"));
        It::new(
            V::Unknown {
                reason: reason.into(),
                opaque: false,
                shape,
                unset: false,
                target: Some(Rc::new(t)),
            },
            pos,
        )
    }

    /// The resource this value names: a resource itself (a binding, an item of
    /// `resources()`) or a reference to one.
    pub fn resource(&self) -> Option<usize> {
        match &self.v {
            V::Res(i) => Some(*i),
            V::Unknown {
                target: Some(t), ..
            } => Some(t.res),
            _ => None,
        }
    }

    pub fn list(items: Vec<It<'d>>, pos: Pos) -> Self {
        It::new(V::List(Rc::new(items)), pos)
    }

    pub fn is_missing(&self) -> bool {
        matches!(self.v, V::Missing)
    }
}

/// Three-valued truth.
#[derive(Clone, Debug, PartialEq)]
pub enum Tri {
    True,
    False,
    Unknown(Rc<str>),
}

impl Tri {
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }

    pub fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            u => u,
        }
    }
}

/// Most characters of one value shown in a message.
const MAX_SHOWN: usize = 200;

/// Text of a value for messages.
pub fn display(it: &It<'_>, resource_id: &dyn Fn(usize) -> String) -> String {
    let mut out = String::new();
    write_value(&mut out, &it.v, resource_id, 0);
    out
}

fn write_value(out: &mut String, v: &V<'_>, rid: &dyn Fn(usize) -> String, depth: usize) {
    if depth > 4 {
        out.push_str("...");
        return;
    }
    match v {
        V::Missing => out.push_str("(missing)"),
        V::Unknown {
            target: Some(t), ..
        } => out.push_str(&t.text),
        // What is known of a `Fn::Sub`/`Fn::Join` built at deploy time.
        V::Unknown { shape: Some(s), .. } => out.push_str(&crate::terminal::clip(s, MAX_SHOWN)),
        V::Unknown { .. } => out.push_str("(unknown)"),
        V::Null => out.push_str("null"),
        V::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        V::Num(n) => out.push_str(&fmt_num(*n)),
        // A value quoted in a message is clipped: messages stay readable and bounded.
        V::Str(s) => out.push_str(&crate::terminal::clip(s, MAX_SHOWN)),
        V::List(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, &it.v, rid, depth + 1);
            }
            out.push(']');
        }
        V::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&doc_text(item));
            }
            out.push(']');
        }
        V::Map(_) | V::Owned(_) => out.push_str("{...}"),
        V::Res(i) => out.push_str(&rid(*i)),
        V::Set(SetRef::Threat { list, .. }) => {
            let _ = write!(out, "threat list {}", list.name);
        }
        V::Set(SetRef::Aws(_)) => out.push_str("AWS IP ranges"),
        V::Rec(_) => out.push_str("(record)"),
        V::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
    }
}

fn doc_text(v: &Value) -> String {
    use crate::doc::Node;
    match &v.node {
        Node::Str(s) => s.clone(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => fmt_num(*f),
        Node::Null => "null".into(),
        _ => "...".into(),
    }
}

pub fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
