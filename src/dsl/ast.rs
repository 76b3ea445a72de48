//! The syntax tree of the policy language. Every node carries a byte span into
//! its policy file so the checker and evaluator can point back at the source.

use std::fmt;

/// A byte range in a policy source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.len()).into()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal: its unescaped value and its span (quotes included).
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// One policy file.
#[derive(Clone, Debug)]
pub struct PolicyFile {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Policy(Policy),
    Detection(Box<Detection>),
    /// `let NAME = EXPR` at file level: a constant every rule of the file sees.
    Const(ConstDef),
    /// `predicate NAME(a, b) = COND`: a named condition with parameters.
    Predicate(PredDef),
    /// `import "NAME"`: the constants, predicates and type groups of `NAME.policy`.
    Import(Import),
    /// `types NAME = ["T1", "T2", ...]`: a named group of resource types.
    Types(TypeGroup),
}

impl Item {
    /// The name a file-level definition introduces.
    pub fn def_name(&self) -> Option<&Ident> {
        match self {
            Item::Const(c) => Some(&c.name),
            Item::Predicate(p) => Some(&p.name),
            Item::Types(t) => Some(&t.name),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConstDef {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct PredDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Import {
    pub name: StrLit,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct TypeGroup {
    pub name: Ident,
    pub types: Vec<StrLit>,
    pub span: Span,
}

/// `detection ID { metadata; from SOURCE as x [where COND]; [group by KEYS window D];
/// [alert when COND]; [resource EXPR]; [message "..."] }`: a rule over log records.
#[derive(Clone, Debug)]
pub struct Detection {
    pub id: Ident,
    pub meta: Vec<Meta>,
    /// `flowlog`, `cloudtrail` or `dns`.
    pub source: Ident,
    pub binding: Ident,
    /// `where`: the records that count.
    pub filter: Option<Expr>,
    pub lets: Vec<(Ident, Expr)>,
    pub group: Option<Group>,
    /// `alert when`: the threshold over the window (aggregates allowed).
    pub alert: Option<Expr>,
    /// `resource`: the instance, principal or address an alert is about.
    pub resource: Option<Expr>,
    pub message: Option<Message>,
    pub span: Span,
}

/// `group by KEY, ... window 60m`.
#[derive(Clone, Debug)]
pub struct Group {
    pub keys: Vec<Expr>,
    /// The window in milliseconds.
    pub window_ms: i64,
    pub window_span: Span,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub id: Ident,
    pub meta: Vec<Meta>,
    pub blocks: Vec<RuleBlock>,
    pub span: Span,
}

/// `title "..."`, `severity high`, `controls ["..."]`, ...
#[derive(Clone, Debug)]
pub struct Meta {
    pub key: Ident,
    pub value: MetaValue,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum MetaValue {
    Str(StrLit),
    List(Vec<StrLit>),
    Word(Ident),
    /// A number: a detection's GuardDuty severity (`severity 5.0`).
    Num(f64, Span),
}

impl MetaValue {
    pub fn span(&self) -> Span {
        match self {
            MetaValue::Str(s) => s.span,
            MetaValue::Word(w) => w.span,
            MetaValue::Num(_, s) => *s,
            MetaValue::List(l) => match (l.first(), l.last()) {
                (Some(a), Some(b)) => a.span.to(b.span),
                _ => Span::default(),
            },
        }
    }
}

/// `for resource "T1", "T2" as x when <expr>` followed by lets and requires.
#[derive(Clone, Debug)]
pub struct RuleBlock {
    pub types: Vec<StrLit>,
    /// Named type groups (`for resource encrypted_at_rest as r`), expanded by the checker.
    pub groups: Vec<Ident>,
    pub binding: Ident,
    pub when: Option<Expr>,
    /// `each x in LIST`: one result per item (an open port range, an advisory).
    pub each: Option<(Ident, Expr)>,
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Let {
        name: Ident,
        value: Expr,
    },
    Require {
        cond: Expr,
        message: Option<Message>,
        span: Span,
    },
}

/// A message with `{expr}` interpolations.
#[derive(Clone, Debug)]
pub struct Message {
    pub parts: Vec<MsgPart>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum MsgPart {
    Text(String),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    All,
    Any,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Add,
    Sub,
    Mul,
    Div,
}

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Neg,
}

/// Postfix tests: `x exists`, `x empty`, `x is string`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    Exists,
    Empty,
    Is(TypeName),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeName {
    String,
    Number,
    Bool,
    List,
    Map,
    Null,
}

impl TypeName {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => TypeName::String,
            "number" => TypeName::Number,
            "bool" | "boolean" => TypeName::Bool,
            "list" => TypeName::List,
            "map" => TypeName::Map,
            "null" => TypeName::Null,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<Expr>),
    /// A binding: the `for ... as x` variable, a `let`, or a quantifier variable.
    Var(String),
    /// `@`, the current item inside a `[? filter]`.
    Current,
    Field(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    /// `x[*]` or `x.*`: every item of a list (or every value of a map).
    Wildcard(Box<Expr>),
    /// `x[? pred]`: the items of `x` for which `pred` (with `@` = item) holds.
    Filter(Box<Expr>, Box<Expr>),
    Call {
        ns: Option<Ident>,
        name: Ident,
        args: Vec<Expr>,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Matches(Box<Expr>, StrLit),
    /// `negated` is `x not exists`, `x not empty`, `x is not T`.
    Test(Box<Expr>, Test, bool),
    Quant {
        q: Quantifier,
        var: Ident,
        list: Box<Expr>,
        body: Box<Expr>,
    },
}
