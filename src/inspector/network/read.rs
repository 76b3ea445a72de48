//! Typed reads of resource properties through a [`Resolve`]r, shared by the
//! adapters: each returns a known value or the reason it cannot be known.

use ipnet::IpNet;

use super::model::{Link, Ports, Proto, Reason, Val};
use crate::doc::{Node, Pos, Resource, Template, Value};
use crate::inspector::resolve::{Resolve, Resolved};

pub struct Reader<'a> {
    pub tpl: &'a Template,
    pub res: &'a dyn Resolve,
}

fn unknown<T>(msg: impl Into<String>, pos: Pos) -> Val<T> {
    Val::Unknown(Reason::new(msg, pos))
}

impl<'a> Reader<'a> {
    pub fn id(&self, index: usize) -> &'a str {
        &self.tpl.resources[index].id
    }

    fn scalar(&self, v: &Value) -> Result<Option<Value>, Reason> {
        match self.res.resolve(v) {
            Resolved::Known(k) => Ok(Some(k)),
            Resolved::Absent => Ok(None),
            Resolved::Unknown(r) => Err(Reason::new(r, v.pos)),
            Resolved::Resource { index, attribute } => Err(Reason::new(
                format!(
                    "{}{} is known only at deploy time",
                    self.id(index),
                    attribute.map(|a| format!(".{a}")).unwrap_or_default()
                ),
                v.pos,
            )),
        }
    }

    /// A property of the resource, resolved; `None` when absent (or NoValue).
    pub fn prop<'r>(&self, r: &'r Resource, key: &str) -> Option<&'r Value> {
        let v = r.props.as_ref()?.get(key)?;
        match (&v.node, self.res.resolve(v)) {
            (Node::Null, _) | (_, Resolved::Absent) => None,
            _ => Some(v),
        }
    }

    pub fn string(&self, v: &Value) -> Option<Val<String>> {
        match self.scalar(v) {
            Ok(None) => None,
            Ok(Some(k)) => Some(match &k.node {
                Node::Str(s) => Val::Known(s.clone()),
                Node::Int(i) => Val::Known(i.to_string()),
                Node::Float(f) => Val::Known(f.to_string()),
                Node::Bool(b) => Val::Known(b.to_string()),
                Node::Null => return None,
                _ => unknown(
                    format!("expected a string, found a {}", k.kind_name()),
                    v.pos,
                ),
            }),
            Err(r) => Some(Val::Unknown(r)),
        }
    }

    pub fn bool(&self, v: Option<&Value>, default: bool) -> Val<bool> {
        let Some(v) = v else {
            return Val::Known(default);
        };
        match self.scalar(v) {
            Ok(None) => Val::Known(default),
            Ok(Some(k)) => match &k.node {
                Node::Bool(b) => Val::Known(*b),
                Node::Null => Val::Known(default),
                Node::Str(s) if s.eq_ignore_ascii_case("true") => Val::Known(true),
                Node::Str(s) if s.eq_ignore_ascii_case("false") => Val::Known(false),
                _ => unknown("expected true or false", v.pos),
            },
            Err(r) => Val::Unknown(r),
        }
    }

    pub fn int(&self, v: &Value) -> Option<Val<i64>> {
        match self.scalar(v) {
            Ok(None) => None,
            Ok(Some(k)) => Some(match &k.node {
                Node::Int(i) => Val::Known(*i),
                Node::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Val::Known(*f as i64),
                Node::Str(s) => match s.trim().parse() {
                    Ok(i) => Val::Known(i),
                    Err(_) => unknown(format!("expected a number, found {s:?}"), v.pos),
                },
                Node::Null => return None,
                _ => unknown(
                    format!("expected a number, found a {}", k.kind_name()),
                    v.pos,
                ),
            }),
            Err(r) => Some(Val::Unknown(r)),
        }
    }

    pub fn port(&self, v: Option<&Value>, what: &str, pos: Pos) -> Val<u16> {
        match v.and_then(|v| self.int(v)) {
            Some(Val::Known(p)) if (0..=65535).contains(&p) => Val::Known(p as u16),
            Some(Val::Known(p)) => unknown(
                format!("{what} {p} is not a port"),
                v.map_or(pos, |v| v.pos),
            ),
            Some(Val::Unknown(r)) => Val::Unknown(r),
            None => unknown(format!("{what} is not set"), pos),
        }
    }

    pub fn cidr(&self, v: &Value) -> Option<Val<IpNet>> {
        self.string(v).map(|s| match s {
            Val::Known(s) => match s.trim().parse::<IpNet>() {
                Ok(n) => Val::Known(n),
                Err(_) => unknown(format!("{s:?} is not a CIDR block"), v.pos),
            },
            Val::Unknown(r) => Val::Unknown(r),
        })
    }

    pub fn proto(&self, v: Option<&Value>, pos: Pos) -> Val<Proto> {
        let Some(v) = v else {
            return unknown("the protocol is not set", pos);
        };
        match self.string(v) {
            Some(Val::Known(s)) => match Proto::parse(&s) {
                Some(p) => Val::Known(p),
                None => unknown(format!("{s:?} is not a protocol"), v.pos),
            },
            Some(Val::Unknown(r)) => Val::Unknown(r),
            None => unknown("the protocol is not set", pos),
        }
    }

    /// A from/to port pair; for protocols without ports (all, ICMP) any value does.
    pub fn ports(
        &self,
        proto: &Val<Proto>,
        from: Option<&Value>,
        to: Option<&Value>,
        pos: Pos,
    ) -> Val<Ports> {
        if matches!(
            proto,
            Val::Known(Proto::All | Proto::Icmp | Proto::Other(_))
        ) {
            return Val::Known(Ports::ALL);
        }
        let f = from.and_then(|v| self.int(v));
        let t = to.and_then(|v| self.int(v));
        match (f, t) {
            (Some(Val::Known(a)), Some(Val::Known(b))) => {
                // -1 for TCP/UDP in a security group means all ports.
                if a == -1 && b == -1 {
                    return Val::Known(Ports::ALL);
                }
                if (0..=65535).contains(&a) && (0..=65535).contains(&b) && a <= b {
                    Val::Known(Ports {
                        from: a as u16,
                        to: b as u16,
                    })
                } else {
                    unknown(
                        format!("{a}-{b} is not a port range"),
                        from.map_or(pos, |v| v.pos),
                    )
                }
            }
            (Some(Val::Unknown(r)), _) | (_, Some(Val::Unknown(r))) => Val::Unknown(r),
            _ => unknown("the port range is not set", pos),
        }
    }

    fn to_link(&self, r: Resolved, pos: Pos) -> Option<Link> {
        match r {
            Resolved::Resource { index, .. } => Some(Link::Res(index)),
            Resolved::Absent => None,
            Resolved::Unknown(m) => Some(Link::Unknown(Reason::new(m, pos))),
            Resolved::Known(k) => match &k.node {
                Node::Str(s) => Some(Link::External(s.clone())),
                Node::Null => None,
                _ => Some(Link::Unknown(Reason::new(
                    format!("expected an id, found a {}", k.kind_name()),
                    pos,
                ))),
            },
        }
    }

    pub fn link(&self, v: Option<&Value>) -> Option<Link> {
        let v = v?;
        if matches!(v.node, Node::Null) {
            return None;
        }
        self.to_link(self.res.resolve(v), v.pos)
    }

    pub fn links(&self, v: Option<&Value>) -> Vec<Link> {
        let Some(v) = v else {
            return Vec::new();
        };
        self.res
            .resolve_list(v)
            .into_iter()
            .filter_map(|r| self.to_link(r, v.pos))
            .collect()
    }

    /// The items of a list property (each still to be read), or a reason.
    pub fn items(&self, v: Option<&Value>) -> Result<Vec<Value>, Reason> {
        let Some(v) = v else {
            return Ok(Vec::new());
        };
        match self.res.resolve(v) {
            Resolved::Known(Value {
                node: Node::Seq(items),
                ..
            }) => Ok(items),
            Resolved::Known(Value {
                node: Node::Null, ..
            })
            | Resolved::Absent => Ok(Vec::new()),
            Resolved::Known(other) if matches!(other.node, Node::Map(_)) => Ok(vec![other]),
            Resolved::Unknown(m) => Err(Reason::new(m, v.pos)),
            // A list computed from another resource (`[aws_eip.vpn.public_ip]`).
            Resolved::Resource { index, attribute } => Err(Reason::new(
                format!(
                    "the list is computed from {}{}, known only at deploy time",
                    self.id(index),
                    attribute.map(|a| format!(".{a}")).unwrap_or_default()
                ),
                v.pos,
            )),
            _ => Err(Reason::new("expected a list", v.pos)),
        }
    }

    /// Resolve a map value (a list item that may itself be an intrinsic).
    pub fn map(&self, v: &Value) -> Result<Value, Reason> {
        match self.res.resolve(v) {
            Resolved::Known(k) if matches!(k.node, Node::Map(_)) => Ok(k),
            Resolved::Unknown(m) => Err(Reason::new(m, v.pos)),
            _ => Err(Reason::new("expected a map", v.pos)),
        }
    }
}

/// `get` on a resolved map value.
pub fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key).filter(|x| !matches!(x.node, Node::Null))
}
