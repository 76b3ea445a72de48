use std::fmt;

/// A 1-based line and column in a source file. `0:0` means "no position".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value from a template or plan, with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub node: Node,
    pub pos: Pos,
}

/// A map entry keeps the position of its key: a finding about `Encrypted: false`
/// points at the `Encrypted` key, which is where a reader looks.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Value>),
    /// Entries in source order. Keys are unique (loaders reject duplicates).
    Map(Vec<Entry>),
    /// A Terraform value that is "known after apply". `refs` holds the addresses
    /// the configuration expression referenced (e.g. `aws_kms_key.main.arn`), so a
    /// policy can still follow it to the resource it names.
    Computed {
        refs: Vec<String>,
        /// Whether the configuration sets the attribute at all. One it does not
        /// set is filled in by the provider (its default), which policies may
        /// judge differently from a configured value that is merely unknown.
        configured: bool,
    },
}

impl Value {
    pub fn new(node: Node, pos: Pos) -> Self {
        Value { node, pos }
    }

    pub fn str(s: impl Into<String>, pos: Pos) -> Self {
        Value::new(Node::Str(s.into()), pos)
    }

    /// The entry for `key` when this is a map.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.node {
            Node::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The value for `key` when this is a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.node {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.node {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Value]> {
        match &self.node {
            Node::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// When this value is a single-key map whose key is an intrinsic function
    /// (`Ref`, `Fn::*`, `Condition`), the function name and its argument.
    pub fn intrinsic(&self) -> Option<(&str, &Value)> {
        match &self.node {
            Node::Map(m) if m.len() == 1 => {
                let e = &m[0];
                // `Rain::*` are the directives of AWS's rain tool (`!Rain::Module`),
                // which must be expanded (`rain pkg`) before a template deploys.
                if e.key == "Ref"
                    || e.key == "Condition"
                    || e.key.starts_with("Fn::")
                    || e.key.starts_with("Rain::")
                {
                    Some((e.key.as_str(), &e.value))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Short human name of the value's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.node {
            Node::Null => "null",
            Node::Bool(_) => "boolean",
            Node::Int(_) | Node::Float(_) => "number",
            Node::Str(_) => "string",
            Node::Seq(_) => "list",
            Node::Map(_) => "map",
            Node::Computed { .. } => "known after apply",
        }
    }
}
