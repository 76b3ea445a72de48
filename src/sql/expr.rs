//! A detection's expressions in SQL, with the native evaluator's meaning
//! (`eval::expr`): three-valued logic, CloudFormation-style coercions in
//! `==` (`"22" == 22`, `"True" == true`), a missing field equal only to a
//! missing field, comparisons that are false rather than NULL.
//!
//! Truth is SQL's three-valued logic with NULL for the native `unknown`:
//! every comparison is made non-NULL (COALESCE) unless one of its sides can
//! be unknown, and SQL's AND, OR and NOT then agree with the native ones.
//! Values are typed; NULL is a missing field. A value that can be unknown
//! carries the SQL condition under which it is.

use std::collections::{BTreeSet, HashMap};

use crate::compile::ir::{Const, Detection, Expr, FieldName, Func};
use crate::dsl::ast::{BinOp, Quantifier, Test, TypeName};
use crate::schema::logs::LogSource;

use super::dialect::{Dialect, JsonKind};
use super::layout::{lower_ascii, Column, Layout, Tables};
use super::net::{self, IpCols};
use super::query::Stages;

pub type R<T> = Result<T, String>;

#[derive(Clone, Debug)]
pub enum Ty {
    /// Known to be missing.
    Missing,
    /// JSON `null` (a literal).
    Null,
    Str,
    /// `int`: holds whole numbers only (flow log counters, counts).
    Num {
        nonneg: bool,
        int: bool,
    },
    /// A truth used as a value; NULL only when unknown.
    Bool,
    /// A flow log address; the SQL is its canonical text.
    Ip(IpCols),
    /// A JSON value; NULL when missing.
    Json,
    /// A struct column, by its native path.
    Struct(Vec<&'static str>),
    /// A list written in the rule.
    List(Vec<Val>),
    /// An SQL array of JSON values.
    JsonList,
    Threat(String),
    Aws,
    Record,
}

#[derive(Clone, Debug)]
pub struct Val {
    pub ty: Ty,
    pub sql: String,
    /// When the value is unknown (an SQL condition), if it can be.
    pub unk: Option<String>,
    /// The first stage the SQL can be placed in.
    pub level: usize,
    /// A literal: never NULL.
    pub lit: bool,
    /// The text of a string literal.
    pub raw: Option<String>,
}

impl Val {
    fn new(ty: Ty, sql: impl Into<String>, level: usize) -> Val {
        Val {
            ty,
            sql: sql.into(),
            unk: None,
            level,
            lit: false,
            raw: None,
        }
    }
    fn lit(ty: Ty, sql: impl Into<String>) -> Val {
        Val {
            ty,
            sql: sql.into(),
            unk: None,
            level: 0,
            lit: true,
            raw: None,
        }
    }
    fn missing() -> Val {
        Val::lit(Ty::Missing, "NULL")
    }
    fn with_unk(mut self, u: Option<String>) -> Val {
        self.unk = or_unk(self.unk.take(), u);
        self
    }
}

/// A condition: NULL only when `unk`.
#[derive(Clone, Debug)]
pub struct Cond {
    pub sql: String,
    pub unk: bool,
    pub level: usize,
}

impl Cond {
    fn known(sql: impl Into<String>, level: usize) -> Cond {
        Cond {
            sql: sql.into(),
            unk: false,
            level,
        }
    }
    fn constant(b: bool) -> Cond {
        Cond::known(if b { "TRUE" } else { "FALSE" }, 0)
    }
}

fn or_unk(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("({a} OR {b})")),
        (a, b) => a.or(b),
    }
}

/// `sql` as a condition that is NULL when `unk` holds.
fn guard(unk: &Option<String>, c: Cond) -> Cond {
    match unk {
        None => c,
        Some(u) => Cond {
            sql: format!("(CASE WHEN {u} THEN NULL ELSE {} END)", c.sql),
            unk: true,
            level: c.level,
        },
    }
}

pub struct Tr<'a> {
    pub dia: &'a dyn Dialect,
    pub layout: &'a Layout,
    pub tables: &'a Tables,
    pub st: &'a mut Stages,
    env: HashMap<usize, Val>,
    lambda: usize,
    /// In `alert when`: the window's aggregate values.
    pub aggs: Option<Vec<Val>>,
    /// Why a record can be undecided, for the query's unknown rows.
    pub unknowns: BTreeSet<String>,
}

impl<'a> Tr<'a> {
    pub fn new(
        d: &'a Detection,
        dia: &'a dyn Dialect,
        layout: &'a Layout,
        tables: &'a Tables,
        st: &'a mut Stages,
    ) -> R<Tr<'a>> {
        let mut t = Tr {
            dia,
            layout,
            tables,
            st,
            env: HashMap::new(),
            lambda: 0,
            aggs: None,
            unknowns: BTreeSet::new(),
        };
        for (slot, e) in &d.lets {
            let v = t.value(e)?;
            t.env.insert(*slot, v);
        }
        Ok(t)
    }

    fn level(&self, vs: &[&Val]) -> usize {
        vs.iter().map(|v| v.level).max().unwrap_or(0)
    }

    fn can_hoist(&self) -> R<()> {
        if self.lambda > 0 {
            Err("address, domain and list functions inside a quantifier (`any`/`all`/`none`) are not translated to SQL".into())
        } else {
            Ok(())
        }
    }

    // ---- values ----

    pub fn value(&mut self, e: &Expr) -> R<Val> {
        match e {
            Expr::Const(c) => konst(self.dia, c),
            Expr::List(items) => {
                let vs = items.iter().map(|i| self.value(i)).collect::<R<Vec<_>>>()?;
                let level = vs.iter().map(|v| v.level).max().unwrap_or(0);
                Ok(Val::new(Ty::List(vs), "", level))
            }
            Expr::Var(0) if !self.env.contains_key(&0) => {
                if self.aggs.is_some() {
                    return Err("`alert when` reads the window's aggregates, not the record".into());
                }
                Ok(Val::new(Ty::Record, "", 0))
            }
            Expr::Var(slot) => self
                .env
                .get(slot)
                .cloned()
                .ok_or_else(|| "a variable outside its scope".to_string()),
            Expr::Field(base, name) => {
                let b = self.value(base)?;
                self.field(b, name)
            }
            Expr::Index(base, idx) => {
                let b = self.value(base)?;
                match (&b.ty, &**idx) {
                    (Ty::Json, Expr::Const(Const::Str(k))) => self.json_member(b, k),
                    (Ty::Json, Expr::Const(Const::Num(n))) if *n >= 0.0 && n.fract() == 0.0 && *n < 1e9 => {
                        let sql = self.dia.json_index(&b.sql, *n as usize);
                        let level = b.level;
                        Ok(Val::new(Ty::Json, sql, level).with_unk(b.unk))
                    }
                    (Ty::Missing | Ty::Str | Ty::Num { .. } | Ty::Bool | Ty::Ip(_), _) => Ok(Val::missing()),
                    _ => Err("indexing other than a JSON document by a literal key or position is not translated to SQL".into()),
                }
            }
            Expr::Call(f, args) => self.call(*f, args),
            Expr::Neg(x) => {
                let v = self.value(x)?;
                let v = self.num_of(v)?;
                Ok(Val::new(
                    Ty::Num {
                        nonneg: false,
                        int: matches!(v.ty, Ty::Num { int: true, .. }),
                    },
                    format!("(-{})", v.sql),
                    v.level,
                )
                .with_unk(v.unk))
            }
            Expr::Bin(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div), a, b) => {
                self.arith(*op, a, b)
            }
            Expr::Agg(i) => self
                .aggs
                .as_ref()
                .and_then(|a| a.get(*i).cloned())
                .ok_or_else(|| "an aggregate outside `alert when`".to_string()),
            Expr::Current | Expr::Wildcard(_) | Expr::Filter(..) => {
                Err("wildcards and filters (`[*]`, `[? ...]`) are not translated to SQL".into())
            }
            _ => {
                let c = self.cond(e)?;
                Ok(bool_val(c))
            }
        }
    }

    fn arith(&mut self, op: BinOp, a: &Expr, b: &Expr) -> R<Val> {
        let (x, y) = (self.value(a)?, self.value(b)?);
        if op == BinOp::Add && matches!(x.ty, Ty::Str) && matches!(y.ty, Ty::Str) {
            let level = self.level(&[&x, &y]);
            return Ok(
                Val::new(Ty::Str, format!("({} || {})", x.sql, y.sql), level)
                    .with_unk(or_unk(x.unk, y.unk)),
            );
        }
        let (x, y) = (self.num_of(x)?, self.num_of(y)?);
        let level = self.level(&[&x, &y]);
        let unk = or_unk(x.unk.clone(), y.unk.clone());
        let (xs, ys) = (
            format!("CAST({} AS DOUBLE)", x.sql),
            format!("CAST({} AS DOUBLE)", y.sql),
        );
        let sql = match op {
            BinOp::Add => format!("({xs} + {ys})"),
            BinOp::Sub => format!("({xs} - {ys})"),
            BinOp::Mul => format!("({xs} * {ys})"),
            _ => {
                // Division by zero is unknown natively.
                let unk = or_unk(unk, Some(format!("({} = 0)", y.sql)));
                return Ok(Val::new(
                    Ty::Num {
                        nonneg: false,
                        int: false,
                    },
                    format!("(CASE WHEN {} = 0 THEN NULL ELSE {xs} / {ys} END)", y.sql),
                    level,
                )
                .with_unk(unk));
            }
        };
        Ok(Val::new(
            Ty::Num {
                nonneg: false,
                int: false,
            },
            sql,
            level,
        )
        .with_unk(unk))
    }

    fn field(&mut self, b: Val, name: &FieldName) -> R<Val> {
        match &b.ty {
            Ty::Record => {
                let col = match self.layout.source {
                    LogSource::FlowLog => {
                        let i = name
                            .flow
                            .ok_or_else(|| format!("`{}` is not a flow log field", name.name))?;
                        self.layout.flow_column(self.dia, i as usize)?
                    }
                    _ => self.layout.event_column(self.dia, None, &name.name)?,
                };
                self.column(col)
            }
            Ty::Struct(path) => {
                let path = path.clone();
                let col = self
                    .layout
                    .event_column(self.dia, Some((&path, &b.sql)), &name.name)?;
                self.column(col)
            }
            Ty::Json => self.json_member(b, &name.name),
            Ty::Missing | Ty::Null | Ty::Str | Ty::Num { .. } | Ty::Bool | Ty::Ip(_) => {
                Ok(Val::missing())
            }
            _ => Err(format!(
                "field `{}` of a list is not translated to SQL",
                name.name
            )),
        }
    }

    fn column(&mut self, c: Column) -> R<Val> {
        Ok(match c {
            Column::Str(sql) => Val::new(Ty::Str, sql, 0),
            Column::Num { sql, nonneg } => Val::new(Ty::Num { nonneg, int: true }, sql, 0),
            Column::Ip(sql) => {
                self.can_hoist()?;
                let ip = net::hoist_ip(self.st, self.dia, &sql, 0);
                let (text, level) = (ip.text(), ip.level);
                Val::new(Ty::Ip(ip), text, level)
            }
            Column::JsonText(sql) => {
                self.json_ok()?;
                self.can_hoist()?;
                let (col, level) = self.st.hoist(&self.dia.json_parse(&sql), 0, "js");
                Val::new(Ty::Json, col, level)
            }
            Column::Struct(path, sql) => Val::new(Ty::Struct(path), sql, 0),
        })
    }

    fn json_ok(&self) -> R<()> {
        self.dia.json_support()
    }

    fn json_member(&mut self, b: Val, key: &str) -> R<Val> {
        let plain = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(format!(
                "JSON member `{}` is not a plain name (letters, digits, `_`)",
                crate::terminal::clip(key, 40)
            ));
        }
        // A path through a JSON array reads every item natively: unknown here.
        let through_list = format!(
            "({} IS NOT NULL AND {})",
            b.sql,
            self.dia.json_is(&b.sql, JsonKind::Array)
        );
        let sql = self.dia.json_member(&b.sql, key);
        Ok(Val::new(Ty::Json, sql, b.level).with_unk(or_unk(b.unk, Some(through_list))))
    }

    // ---- functions ----

    fn call(&mut self, f: Func, args: &[Expr]) -> R<Val> {
        let arg = |t: &mut Self, i: usize| -> R<Val> {
            match args.get(i) {
                Some(a) => t.value(a),
                None => Ok(Val::missing()),
            }
        };
        match f {
            Func::ThreatList => match args.first() {
                Some(Expr::Const(Const::Str(name))) => Ok(Val::lit(Ty::Threat(name.clone()), "")),
                _ => Err("threatlist() takes the list's name as a literal".into()),
            },
            Func::AwsIpRanges => Ok(Val::lit(Ty::Aws, "")),
            Func::StartsWith | Func::EndsWith | Func::Contains => {
                let a = arg(self, 0)?;
                let a = self.text_of(a)?;
                let b = arg(self, 1)?;
                let b = self.text_of(b)?;
                let level = self.level(&[&a, &b]);
                let sql = match f {
                    Func::StartsWith => format!("(length({a}) >= length({b}) AND substr({a}, 1, length({b})) = {b})", a = a.sql, b = b.sql),
                    Func::EndsWith => format!("(length({a}) >= length({b}) AND substr({a}, length({a}) - length({b}) + 1) = {b})", a = a.sql, b = b.sql),
                    _ => format!("({} > 0)", self.dia.strpos(&a.sql, &b.sql)),
                };
                let c = Cond::known(format!("COALESCE({sql}, FALSE)"), level);
                Ok(bool_val(guard(&or_unk(a.unk, b.unk), c)))
            }
            Func::Len => {
                let a = arg(self, 0)?;
                match &a.ty {
                    Ty::Missing | Ty::Null => Ok(Val::lit(
                        Ty::Num {
                            nonneg: true,
                            int: true,
                        },
                        "0",
                    )),
                    Ty::Str => Ok(Val::new(
                        Ty::Num {
                            nonneg: true,
                            int: true,
                        },
                        format!("COALESCE(length({}), 0)", a.sql),
                        a.level,
                    )
                    .with_unk(a.unk)),
                    Ty::JsonList => Ok(Val::new(
                        Ty::Num {
                            nonneg: true,
                            int: true,
                        },
                        self.dia.array_len(&a.sql),
                        a.level,
                    )
                    .with_unk(a.unk)),
                    Ty::List(items) => Ok(Val::lit(
                        Ty::Num {
                            nonneg: true,
                            int: true,
                        },
                        items.len().to_string(),
                    )),
                    _ => Err(
                        "len() of anything but a string or a list is not translated to SQL".into(),
                    ),
                }
            }
            Func::Lower | Func::Upper => {
                let a = arg(self, 0)?;
                let a = self.text_of(a)?;
                // Rust maps all of Unicode; SQL engines differ beyond ASCII.
                let ascii = format!(
                    "COALESCE({}, TRUE)",
                    self.dia.regex_like(&a.sql, "\\A[\\x00-\\x7F]*\\z")
                );
                let sql = if f == Func::Lower {
                    lower_ascii(&a.sql)
                } else {
                    format!(
                        "translate({}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')",
                        a.sql
                    )
                };
                let level = a.level;
                Ok(Val::new(Ty::Str, sql, level)
                    .with_unk(or_unk(a.unk, Some(format!("(NOT {ascii})")))))
            }
            Func::ToNumber => {
                let a = arg(self, 0)?;
                self.num_of(a)
            }
            Func::ToString => {
                let a = arg(self, 0)?;
                self.text_of(a)
            }
            Func::ToList => {
                let a = arg(self, 0)?;
                self.listed(a)
            }
            Func::Json => {
                let a = arg(self, 0)?;
                match a.ty {
                    Ty::Json | Ty::Missing => Ok(a),
                    _ => {
                        self.json_ok()?;
                        let s = self.text_of(a)?;
                        let parsed = self.dia.json_parse(&s.sql);
                        let (sql, level) = if self.lambda == 0 {
                            self.st.hoist(&parsed, s.level, "js")
                        } else {
                            (parsed, s.level)
                        };
                        self.unknowns.insert("a document is not valid JSON".into());
                        let bad = format!("({} IS NOT NULL AND {sql} IS NULL)", s.sql);
                        Ok(Val::new(Ty::Json, sql, level).with_unk(or_unk(s.unk, Some(bad))))
                    }
                }
            }
            Func::UrlDecode => {
                let s = arg(self, 0)?;
                let s = self.text_of(s)?;
                let s = self.hoisted(s, "ud")?;
                // Escapes of bytes beyond ASCII are UTF-8 decoding, done differently by each engine.
                let odd = format!(
                    "COALESCE({}, FALSE)",
                    self.dia.regex_like(&s.sql, "%(?:[89A-Fa-f][0-9A-Fa-f]|00)")
                );
                self.unknowns.insert("a URL-encoded value has a %-escape of a non-ASCII byte or of NUL, which the SQL engines decode differently".into());
                let sql = self.dia.url_decode(&s.sql);
                let level = s.level;
                Ok(Val::new(Ty::Str, sql, level).with_unk(or_unk(s.unk, Some(odd))))
            }
            Func::Entropy => {
                let s = arg(self, 0)?;
                let s = self.text_of(s)?;
                let s = self.hoisted(s, "tx")?;
                let sql = format!(
                    "(CASE WHEN length({x}) = 0 THEN CAST(0 AS DOUBLE) ELSE {} END)",
                    self.dia.entropy(&s.sql),
                    x = s.sql
                );
                let level = s.level;
                Ok(Val::new(
                    Ty::Num {
                        nonneg: true,
                        int: false,
                    },
                    sql,
                    level,
                )
                .with_unk(s.unk))
            }
            Func::FirstLabel | Func::ParentDomain => {
                let s = arg(self, 0)?;
                let s = self.text_of(s)?;
                let trimmed = self.dia.regex_replace(&s.sql, "\\.+\\z", "");
                let level = s.level;
                let t = self.hoisted(Val::new(Ty::Str, trimmed, level), "lb")?;
                let sql = if f == Func::FirstLabel {
                    format!("split_part({}, '.', 1)", t.sql)
                } else {
                    let x = &t.sql;
                    let dot = self.dia.strpos(x, "'.'");
                    format!(
                        "(CASE WHEN {dot} > 0 THEN {} END)",
                        lower_ascii(&format!("substr({x}, {dot} + 1)"))
                    )
                };
                let level = t.level;
                Ok(Val::new(Ty::Str, sql, level).with_unk(s.unk))
            }
            Func::IsIp | Func::IsPrivateIp => {
                let a = arg(self, 0)?;
                let (ip, unk, cidr) = match &a.ty {
                    Ty::Ip(ip) => (ip.clone(), a.unk.clone(), None),
                    Ty::Missing | Ty::Null => return Ok(bool_val(Cond::constant(false))),
                    _ => {
                        let s = self.text_of(a)?;
                        let ip = self.parse_ip(&s)?;
                        (
                            ip,
                            s.unk.clone(),
                            Some(format!(
                                "COALESCE({} > 0, FALSE)",
                                self.dia.strpos(&s.sql, "'/'")
                            )),
                        )
                    }
                };
                let level = ip.level;
                if f == Func::IsIp {
                    return Ok(bool_val(guard(
                        &unk,
                        Cond::known(format!("COALESCE({}, FALSE)", ip.ok()), level),
                    )));
                }
                // A network (`10.0.0.0/8`) is not parsed here: unknown.
                if cidr.is_some() {
                    self.unknowns.insert(
                        "is_private_ip() of a network (a/len) is not translated to SQL".into(),
                    );
                }
                Ok(bool_val(guard(
                    &or_unk(unk, cidr),
                    Cond::known(net::is_private(&ip), level),
                )))
            }
            Func::Coalesce => {
                let vs = args.iter().map(|a| self.value(a)).collect::<R<Vec<_>>>()?;
                let first = vs.first().map(|v| v.ty.clone()).unwrap_or(Ty::Missing);
                let same = vs.iter().all(|v| {
                    matches!(
                        (&v.ty, &first),
                        (Ty::Str, Ty::Str) | (Ty::Num { .. }, Ty::Num { .. })
                    )
                });
                if !same || vs.iter().any(|v| v.unk.is_some()) {
                    return Err(
                        "coalesce() of values of different types is not translated to SQL".into(),
                    );
                }
                let level = vs.iter().map(|v| v.level).max().unwrap_or(0);
                Ok(Val::new(
                    first,
                    format!(
                        "COALESCE({})",
                        vs.iter()
                            .map(|v| v.sql.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    level,
                ))
            }
            other => Err(format!(
                "function {} has no SQL translation",
                func_name(other)
            )),
        }
    }

    /// The value as a column when it may be read more than once.
    fn hoisted(&mut self, v: Val, what: &str) -> R<Val> {
        if self.lambda > 0 || v.lit || v.sql.len() < 40 {
            return Ok(v);
        }
        let (col, level) = self.st.hoist(&v.sql, v.level, what);
        Ok(Val {
            sql: col,
            level,
            ..v
        })
    }

    /// Text parsed as an address (after trimming, as Rust's `s.trim().parse()`).
    fn parse_ip(&mut self, s: &Val) -> R<IpCols> {
        self.can_hoist()?;
        let trimmed = net::trim_for_parse(self.dia, &s.sql);
        let (t, level) = self.st.hoist(&trimmed, s.level, "tr");
        Ok(net::hoist_ip(self.st, self.dia, &t, level))
    }

    /// `scalar_text`: the text of a string, number, boolean or address.
    pub fn text_of(&mut self, v: Val) -> R<Val> {
        let level = v.level;
        match &v.ty {
            Ty::Str => Ok(v),
            Ty::Missing | Ty::Null => Ok(Val::lit(
                Ty::Missing,
                format!("CAST(NULL AS {})", self.dia.varchar()),
            )
            .with_unk(v.unk)),
            Ty::Num { int: true, .. } => {
                Ok(Val::new(Ty::Str, self.dia.cast_text(&v.sql), level).with_unk(v.unk))
            }
            Ty::Num { .. } => {
                let (text, unk) = self.num_text(&v.sql);
                Ok(Val::new(Ty::Str, text, level).with_unk(or_unk(v.unk, Some(unk))))
            }
            Ty::Bool => Ok(Val::new(
                Ty::Str,
                format!("(CASE WHEN {} THEN 'true' ELSE 'false' END)", v.sql),
                level,
            )
            .with_unk(v.unk)),
            Ty::Ip(_) => Ok(Val::new(Ty::Str, v.sql.clone(), level).with_unk(v.unk)),
            Ty::Json => {
                let j = &v.sql;
                let num = self.dia.to_double(&self.dia.json_scalar(j));
                let (num_text, num_unk) = self.num_text(&num);
                let sql = format!(
                    "(CASE WHEN {} OR {} THEN {} WHEN {} THEN {num_text} END)",
                    self.dia.json_is(j, JsonKind::String),
                    self.dia.json_is(j, JsonKind::Bool),
                    self.dia.json_scalar(j),
                    self.dia.json_is(j, JsonKind::Number),
                );
                let unk = format!(
                    "({j} IS NOT NULL AND {} AND {num_unk})",
                    self.dia.json_is(j, JsonKind::Number)
                );
                Ok(Val::new(Ty::Str, sql, level).with_unk(or_unk(v.unk, Some(unk))))
            }
            _ => Err("text of a list, record or struct is not translated to SQL".into()),
        }
    }

    /// `fmt_num`: whole numbers below 1e15 as integers; other numbers print
    /// as Rust prints floats, which SQL does not: unknown.
    fn num_text(&self, x: &str) -> (String, String) {
        let whole = format!("({x} = floor({x}) AND abs({x}) < 1e15)");
        (
            format!(
                "(CASE WHEN {whole} THEN {} END)",
                self.dia.cast_text(&format!("CAST({x} AS BIGINT)"))
            ),
            format!("({x} IS NOT NULL AND NOT {whole})"),
        )
    }

    /// `num_of`: numbers, and text that parses as a number.
    fn num_of(&mut self, v: Val) -> R<Val> {
        match &v.ty {
            Ty::Num { .. } => Ok(v),
            Ty::Missing | Ty::Null | Ty::Bool | Ty::Ip(_) => {
                Ok(Val::lit(Ty::Missing, "CAST(NULL AS DOUBLE)"))
            }
            Ty::Str => {
                if v.lit {
                    let n = v.raw.as_deref().and_then(|s| s.trim().parse::<f64>().ok());
                    return Ok(match n {
                        Some(n) if n.is_finite() => Val::lit(
                            Ty::Num {
                                nonneg: n >= 0.0,
                                int: false,
                            },
                            float_lit(n),
                        ),
                        _ => Val::lit(Ty::Missing, "CAST(NULL AS DOUBLE)"),
                    });
                }
                let (sql, unk) = self.parse_num(&v.sql);
                let level = v.level;
                Ok(Val::new(
                    Ty::Num {
                        nonneg: false,
                        int: false,
                    },
                    sql,
                    level,
                )
                .with_unk(or_unk(v.unk, Some(unk))))
            }
            Ty::Json => {
                let j = v.sql.clone();
                let s = self.dia.json_scalar(&j);
                let (parsed, punk) = self.parse_num(&s);
                let sql = format!(
                    "(CASE WHEN {} THEN {} WHEN {} THEN {parsed} END)",
                    self.dia.json_is(&j, JsonKind::Number),
                    self.dia.to_double(&s),
                    self.dia.json_is(&j, JsonKind::String)
                );
                let unk = format!(
                    "({j} IS NOT NULL AND {} AND {punk})",
                    self.dia.json_is(&j, JsonKind::String)
                );
                let level = v.level;
                Ok(Val::new(
                    Ty::Num {
                        nonneg: false,
                        int: false,
                    },
                    sql,
                    level,
                )
                .with_unk(or_unk(v.unk, Some(unk))))
            }
            _ => Err("a number from a list, record or struct is not translated to SQL".into()),
        }
    }

    /// Text to a number as Rust's `str::trim().parse::<f64>()`: decimal
    /// notation; `inf` and `nan` are unknown here.
    fn parse_num(&self, s: &str) -> (String, String) {
        let t = net::trim_for_parse(self.dia, s);
        let finite = self.dia.regex_like(
            &t,
            "\\A[+\\-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+\\-]?[0-9]+)?\\z",
        );
        let special = self.dia.regex_like(
            &t,
            "\\A[+\\-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])\\z",
        );
        (
            format!("(CASE WHEN {finite} THEN {} END)", self.dia.to_double(&t)),
            format!("COALESCE({special}, FALSE)"),
        )
    }

    /// `to_list`: a list as it is, nothing for a missing value, else a list of one.
    fn listed(&mut self, v: Val) -> R<Val> {
        match &v.ty {
            Ty::List(_) | Ty::JsonList => Ok(v),
            Ty::Missing => Ok(Val::lit(Ty::List(vec![]), "")),
            Ty::Json => {
                let j = &v.sql;
                let sql = format!(
                    "(CASE WHEN {j} IS NULL THEN {} WHEN {} THEN {} ELSE {} END)",
                    self.dia.json_empty_array(),
                    self.dia.json_is(j, JsonKind::Array),
                    self.dia.json_elements(j),
                    self.dia.json_singleton(j)
                );
                let level = v.level;
                Ok(Val::new(Ty::JsonList, sql, level).with_unk(v.unk))
            }
            Ty::Str | Ty::Num { .. } | Ty::Bool | Ty::Ip(_) => {
                // A missing scalar is the empty list; SQL cannot build a list
                // of a typed column portably, so only literals are listed.
                if v.lit {
                    Ok(Val::lit(Ty::List(vec![v.clone()]), ""))
                } else {
                    Err(
                        "to_list() of a field that is not a JSON document is not translated to SQL"
                            .into(),
                    )
                }
            }
            _ => Err("to_list() of a record or struct is not translated to SQL".into()),
        }
    }

    // ---- conditions ----

    pub fn cond(&mut self, e: &Expr) -> R<Cond> {
        match e {
            Expr::Bin(BinOp::And, a, b) | Expr::Bin(BinOp::Or, a, b) => {
                let is_and = matches!(e, Expr::Bin(BinOp::And, ..));
                let (x, y) = (self.cond(a)?, self.cond(b)?);
                Ok(Cond {
                    sql: format!(
                        "({} {} {})",
                        x.sql,
                        if is_and { "AND" } else { "OR" },
                        y.sql
                    ),
                    unk: x.unk || y.unk,
                    level: x.level.max(y.level),
                })
            }
            Expr::Not(inner) => {
                let c = self.cond(inner)?;
                Ok(Cond {
                    sql: format!("(NOT {})", c.sql),
                    ..c
                })
            }
            Expr::Bin(op, a, b)
                if !matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div) =>
            {
                let (x, y) = (self.value(a)?, self.value(b)?);
                self.compare(*op, x, y)
            }
            Expr::Matches(inner, re) => {
                let v = self.value(inner)?;
                if matches!(v.ty, Ty::List(_) | Ty::JsonList) {
                    return Err("`matches` over a list is not translated to SQL".into());
                }
                let t = self.text_of(v)?;
                let pattern = super::regex::translate(re.as_str())?;
                let c = Cond::known(
                    format!("COALESCE({}, FALSE)", self.dia.regex_like(&t.sql, &pattern)),
                    t.level,
                );
                Ok(guard(&t.unk, c))
            }
            Expr::Test(inner, test, negated) => {
                let v = self.value(inner)?;
                let c = self.test(&v, *test)?;
                let c = guard(&v.unk, c);
                Ok(if *negated {
                    Cond {
                        sql: format!("(NOT {})", c.sql),
                        ..c
                    }
                } else {
                    c
                })
            }
            Expr::Quant(q, slot, list, body) => self.quant(*q, *slot, list, body),
            _ => {
                let v = self.value(e)?;
                self.truth_of(v)
            }
        }
    }

    /// A value used as a condition: `true`, or text equal to `true` in any case.
    fn truth_of(&mut self, v: Val) -> R<Cond> {
        let level = v.level;
        let c = match &v.ty {
            Ty::Bool => {
                return Ok(Cond {
                    sql: v.sql.clone(),
                    unk: v.unk.is_some(),
                    level,
                });
            }
            Ty::Str => Cond::known(
                format!("COALESCE({} = 'true', FALSE)", lower_ascii(&v.sql)),
                level,
            ),
            Ty::Json => {
                let j = &v.sql;
                Cond::known(
                    format!(
                        "COALESCE(CASE WHEN {} THEN {} = 'true' WHEN {} THEN {} = 'true' ELSE FALSE END, FALSE)",
                        self.dia.json_is(j, JsonKind::Bool),
                        self.dia.json_text(j),
                        self.dia.json_is(j, JsonKind::String),
                        lower_ascii(&self.dia.json_scalar(j))
                    ),
                    level,
                )
            }
            _ => Cond::constant(false),
        };
        Ok(guard(&v.unk, c))
    }

    fn test(&mut self, v: &Val, t: Test) -> R<Cond> {
        let level = v.level;
        let x = &v.sql;
        let dia = self.dia;
        let known = |s: String| Cond::known(format!("COALESCE({s}, FALSE)"), level);
        Ok(match (t, &v.ty) {
            (_, Ty::Missing) => Cond::constant(matches!(t, Test::Empty)),
            (Test::Exists, Ty::Null) => Cond::constant(false),
            (Test::Exists, Ty::List(_) | Ty::JsonList) => Cond::constant(true),
            (Test::Exists, Ty::Json) => known(format!(
                "({x} IS NOT NULL AND NOT {})",
                dia.json_is(x, JsonKind::Null)
            )),
            (Test::Exists, Ty::Str | Ty::Num { .. } | Ty::Bool | Ty::Ip(_) | Ty::Struct(_)) => {
                Cond::known(format!("({x} IS NOT NULL)"), level)
            }
            (Test::Empty, Ty::Null) => Cond::constant(true),
            (Test::Empty, Ty::Str) => Cond::known(format!("({x} IS NULL OR {x} = '')"), level),
            (Test::Empty, Ty::Num { .. } | Ty::Bool | Ty::Ip(_)) => {
                Cond::known(format!("({x} IS NULL)"), level)
            }
            (Test::Empty, Ty::List(items)) => Cond::constant(items.is_empty()),
            (Test::Empty, Ty::JsonList) => {
                Cond::known(format!("({} = 0)", dia.array_len(x)), level)
            }
            (Test::Empty, Ty::Json) => Cond::known(
                format!(
                    "({x} IS NULL OR {} IN ('\"\"', '[]', '{{}}', 'null'))",
                    dia.json_text(x)
                ),
                level,
            ),
            (Test::Is(ty), _) => {
                let kind = match ty {
                    TypeName::String => JsonKind::String,
                    TypeName::Number => JsonKind::Number,
                    TypeName::Bool => JsonKind::Bool,
                    TypeName::List => JsonKind::Array,
                    TypeName::Map => JsonKind::Object,
                    TypeName::Null => JsonKind::Null,
                };
                match &v.ty {
                    Ty::Json => known(format!("({x} IS NOT NULL AND {})", dia.json_is(x, kind))),
                    Ty::Str | Ty::Ip(_) if kind == JsonKind::String => {
                        Cond::known(format!("({x} IS NOT NULL)"), level)
                    }
                    Ty::Num { .. } if kind == JsonKind::Number => {
                        Cond::known(format!("({x} IS NOT NULL)"), level)
                    }
                    Ty::Bool if kind == JsonKind::Bool => {
                        Cond::known(format!("({x} IS NOT NULL)"), level)
                    }
                    Ty::List(_) | Ty::JsonList => Cond::constant(kind == JsonKind::Array),
                    Ty::Null => Cond::constant(kind == JsonKind::Null),
                    Ty::Struct(_) => {
                        return Err("a type test on a struct column is not translated to SQL".into())
                    }
                    _ => Cond::constant(false),
                }
            }
            _ => return Err("this test is not translated to SQL".into()),
        })
    }

    fn quant(&mut self, q: Quantifier, slot: usize, list: &Expr, body: &Expr) -> R<Cond> {
        let l = self.value(list)?;
        let l = match &l.ty {
            Ty::Json => {
                // Natively the items of a map are its values: not translated.
                let obj = format!(
                    "({} IS NOT NULL AND {})",
                    l.sql,
                    self.dia.json_is(&l.sql, JsonKind::Object)
                );
                let nul = format!(
                    "({} IS NULL OR {})",
                    l.sql,
                    self.dia.json_is(&l.sql, JsonKind::Null)
                );
                let sql = format!(
                    "(CASE WHEN {nul} THEN {} WHEN {} THEN {} ELSE {} END)",
                    self.dia.json_empty_array(),
                    self.dia.json_is(&l.sql, JsonKind::Array),
                    self.dia.json_elements(&l.sql),
                    self.dia.json_singleton(&l.sql)
                );
                let level = l.level;
                Val::new(Ty::JsonList, sql, level).with_unk(or_unk(l.unk.clone(), Some(obj)))
            }
            Ty::Missing => Val::lit(Ty::List(vec![]), ""),
            _ => l,
        };
        match &l.ty {
            Ty::List(items) => {
                // A list written in the rule: one condition per item.
                let mut parts = Vec::new();
                for it in items.clone() {
                    self.env.insert(slot, it);
                    parts.push(self.cond(body)?);
                }
                self.env.remove(&slot);
                let level = parts.iter().map(|c| c.level).max().unwrap_or(0);
                let unk = parts.iter().any(|c| c.unk);
                let join = |op: &str, empty: bool, neg: bool| {
                    if parts.is_empty() {
                        return Cond::constant(empty);
                    }
                    let xs: Vec<String> = parts.iter().map(|c| if neg { format!("(NOT {})", c.sql) } else { c.sql.clone() }).collect();
                    Cond { sql: format!("({})", xs.join(&format!(" {op} "))), unk, level }
                };
                Ok(match q {
                    Quantifier::Any => join("OR", false, false),
                    Quantifier::All => join("AND", true, false),
                    Quantifier::None => join("AND", true, true),
                })
            }
            Ty::JsonList => {
                let var = self.st.fresh("x");
                self.env.insert(slot, Val::new(Ty::Json, var.clone(), l.level));
                self.lambda += 1;
                let b = self.cond(body);
                self.lambda -= 1;
                self.env.remove(&slot);
                let b = b?;
                let level = b.level.max(l.level);
                let count = |t: &Self, pred: &str| format!("{} > 0", t.dia.array_len(&t.dia.filter(&l.sql, &var, pred)));
                let any_true = count(self, &format!("COALESCE({}, FALSE)", b.sql));
                let any_false = count(self, &format!("NOT COALESCE({}, TRUE)", b.sql));
                let any_unknown = count(self, &format!("{} IS NULL", b.sql));
                let sql = match (q, b.unk) {
                    (Quantifier::Any, false) => any_true,
                    (Quantifier::All, false) => format!("NOT ({any_false})"),
                    (Quantifier::None, false) => format!("NOT ({any_true})"),
                    (Quantifier::Any, true) => format!("CASE WHEN {any_true} THEN TRUE WHEN {any_unknown} THEN NULL ELSE FALSE END"),
                    (Quantifier::All, true) => format!("CASE WHEN {any_false} THEN FALSE WHEN {any_unknown} THEN NULL ELSE TRUE END"),
                    (Quantifier::None, true) => format!("CASE WHEN {any_true} THEN FALSE WHEN {any_unknown} THEN NULL ELSE TRUE END"),
                };
                let c = Cond { sql: format!("({sql})"), unk: b.unk, level };
                Ok(guard(&l.unk, c))
            }
            _ => Err("a quantifier over anything but a JSON list or a literal list is not translated to SQL".into()),
        }
    }

    // ---- comparisons ----

    fn compare(&mut self, op: BinOp, a: Val, b: Val) -> R<Cond> {
        if matches!(op, BinOp::In | BinOp::NotIn) {
            let c = self.member(a, b)?;
            return Ok(if op == BinOp::NotIn {
                Cond {
                    sql: format!("(NOT {})", c.sql),
                    ..c
                }
            } else {
                c
            });
        }
        if matches!(a.ty, Ty::List(_) | Ty::JsonList) || matches!(b.ty, Ty::List(_) | Ty::JsonList)
        {
            return Err("comparing lists is not translated to SQL".into());
        }
        let unk = or_unk(a.unk.clone(), b.unk.clone());
        let c = match op {
            BinOp::Eq => self.eq(&a, &b)?,
            BinOp::Ne => {
                let c = self.eq(&a, &b)?;
                Cond {
                    sql: format!("(NOT {})", c.sql),
                    ..c
                }
            }
            _ => self.order(op, &a, &b)?,
        };
        Ok(guard(&unk, c))
    }

    /// `a in b`: a list, a threat list, AWS's ranges, or text (substring).
    fn member(&mut self, a: Val, b: Val) -> R<Cond> {
        match &b.ty {
            Ty::List(items) => {
                let mut parts = Vec::new();
                for it in items.clone() {
                    let unk = or_unk(a.unk.clone(), it.unk.clone());
                    let c = self.eq(&a, &it)?;
                    parts.push(guard(&unk, c));
                }
                if parts.is_empty() {
                    return Ok(Cond::constant(false));
                }
                Ok(Cond {
                    sql: format!("({})", parts.iter().map(|c| c.sql.clone()).collect::<Vec<_>>().join(" OR ")),
                    unk: parts.iter().any(|c| c.unk),
                    level: parts.iter().map(|c| c.level).max().unwrap_or(0),
                })
            }
            Ty::JsonList => {
                if a.unk.is_some() || !matches!(a.ty, Ty::Str | Ty::Num { .. } | Ty::Bool | Ty::Missing | Ty::Null | Ty::Json) {
                    return Err("`in` a JSON list of anything but a plain value is not translated to SQL".into());
                }
                let var = self.st.fresh("x");
                let item = Val::new(Ty::Json, var.clone(), b.level);
                let eq = self.eq(&a, &item)?;
                let level = eq.level.max(b.level).max(a.level);
                let c = Cond::known(format!("({} > 0)", self.dia.array_len(&self.dia.filter(&b.sql, &var, &eq.sql))), level);
                Ok(guard(&b.unk, c))
            }
            Ty::Threat(name) => {
                let name = name.clone();
                let given = net::list_given(self.dia, &self.tables.lists, "threat", &name);
                self.unknowns.insert(format!(
                    "threat list `{name}` is not in {} (give it to deadbolt compile with --threat-list {name}=PATH)",
                    self.tables.lists
                ));
                let (inside, level) = self.in_list(&a, "threat", &name, true)?;
                Ok(guard(&a.unk, Cond { sql: format!("(CASE WHEN NOT {given} THEN NULL ELSE {inside} END)"), unk: true, level }))
            }
            Ty::Aws => {
                let given = net::list_given(self.dia, &self.tables.lists, "aws", "aws-ip-ranges");
                self.unknowns.insert(format!(
                    "AWS's IP ranges are not in {} (give them to deadbolt compile with --aws-ip-ranges ip-ranges.json)",
                    self.tables.lists
                ));
                let (inside, level) = self.in_list(&a, "aws", "aws-ip-ranges", false)?;
                Ok(guard(&a.unk, Cond { sql: format!("(CASE WHEN NOT {given} THEN NULL ELSE {inside} END)"), unk: true, level }))
            }
            Ty::Str => {
                let t = self.text_of(a)?;
                let level = t.level.max(b.level);
                let c = Cond::known(format!("COALESCE({} > 0, FALSE)", self.dia.strpos(&b.sql, &t.sql)), level);
                Ok(guard(&or_unk(t.unk, b.unk), c))
            }
            _ => Err("`in` anything but a list, a threat list, aws_ip_ranges() or a string is not translated to SQL".into()),
        }
    }

    /// Membership of `a` in a list, minus the trusted list for threat lists.
    fn in_list(&mut self, a: &Val, kind: &str, name: &str, trusted: bool) -> R<(String, usize)> {
        self.can_hoist()?;
        let tables = self.tables.clone();
        let dia = self.dia;
        match &a.ty {
            Ty::Ip(ip) => {
                let mut sql = format!(
                    "COALESCE({}, FALSE)",
                    net::in_networks(self.st, dia, &tables.networks, kind, name, ip)
                );
                if trusted {
                    sql = format!(
                        "({sql} AND NOT COALESCE({}, FALSE))",
                        net::in_networks(self.st, dia, &tables.networks, "trusted", "trusted", ip)
                    );
                }
                Ok((sql, ip.level))
            }
            Ty::Missing | Ty::Null => Ok(("FALSE".into(), 0)),
            Ty::Str | Ty::Json => {
                let s = self.text_of(a.clone())?;
                let trimmed = net::trim_for_parse(dia, &s.sql);
                let (t, level) = self.st.hoist(&trimmed, s.level, "tr");
                let ip = net::hoist_ip(self.st, dia, &t, level);
                // Text is an address when it parses as one, else a domain.
                let text_in = |st: &mut Stages, kind: &str, name: &str, domains: bool| {
                    let by_ip = net::in_networks(st, dia, &tables.networks, kind, name, &ip);
                    if domains {
                        let d = net::hoist_domain(st, dia, &t, level);
                        (
                            format!(
                                "COALESCE(CASE WHEN {} THEN {by_ip} ELSE {} END, FALSE)",
                                ip.ok(),
                                net::in_domains(st, dia, &tables.domains, kind, name, &d)
                            ),
                            d.level.max(ip.level),
                        )
                    } else {
                        (
                            format!("COALESCE({} AND {by_ip}, FALSE)", ip.ok()),
                            ip.level,
                        )
                    }
                };
                let (mut sql, mut level) = text_in(self.st, kind, name, kind == "threat");
                if trusted {
                    let (t_sql, t_level) = text_in(self.st, "trusted", "trusted", true);
                    sql = format!("({sql} AND NOT {t_sql})");
                    level = level.max(t_level);
                }
                Ok((sql, level))
            }
            _ => {
                Err("membership of anything but an address or text is not translated to SQL".into())
            }
        }
    }

    /// `equal`: the native equality with its coercions, never NULL (the
    /// caller guards unknown sides).
    fn eq(&mut self, a: &Val, b: &Val) -> R<Cond> {
        let level = self.level(&[a, b]);
        // Missing and null first.
        match (&a.ty, &b.ty) {
            (Ty::Missing, Ty::Missing) => return Ok(Cond::constant(true)),
            (Ty::Missing, _) | (_, Ty::Missing) => {
                let other = if matches!(a.ty, Ty::Missing) { b } else { a };
                return Ok(match &other.ty {
                    Ty::Null => Cond::constant(false),
                    _ if other.lit => Cond::constant(false),
                    _ => Cond::known(format!("({} IS NULL)", other.sql), level),
                });
            }
            (Ty::Null, Ty::Null) => return Ok(Cond::constant(true)),
            (Ty::Null, _) | (_, Ty::Null) => {
                let other = if matches!(a.ty, Ty::Null) { b } else { a };
                return match &other.ty {
                    Ty::Json => Ok(Cond::known(
                        format!("COALESCE({} IS NOT NULL AND {}, FALSE)", other.sql, self.dia.json_is(&other.sql, JsonKind::Null)),
                        level,
                    )),
                    _ if other.lit => Ok(Cond::constant(false)),
                    _ => Err("comparing a table column with null: the table does not tell a JSON null from a missing field".into()),
                };
            }
            _ => {}
        }
        let typed = self.eq_typed(a, b)?;
        Ok(match (a.lit, b.lit) {
            (true, true) => typed,
            (true, false) | (false, true) => Cond::known(format!("COALESCE({}, FALSE)", typed.sql), level),
            (false, false) => Cond::known(
                format!(
                    "(CASE WHEN {x} IS NULL AND {y} IS NULL THEN TRUE WHEN {x} IS NULL OR {y} IS NULL THEN FALSE ELSE COALESCE({}, FALSE) END)",
                    typed.sql,
                    x = a.sql,
                    y = b.sql
                ),
                level,
            ),
        })
    }

    /// Equality of two present values.
    fn eq_typed(&mut self, a: &Val, b: &Val) -> R<Cond> {
        let level = self.level(&[a, b]);
        let k = |s: String| Cond::known(s, level);
        Ok(match (&a.ty, &b.ty) {
            (Ty::Json, _) => self.eq_json(a, b)?,
            (_, Ty::Json) => self.eq_json(b, a)?,
            (Ty::Str, Ty::Str) | (Ty::Bool, Ty::Bool) => k(format!("({} = {})", a.sql, b.sql)),
            (Ty::Num { .. }, Ty::Num { .. }) => k(format!("({} = {})", a.sql, b.sql)),
            (Ty::Str, Ty::Num { .. }) | (Ty::Num { .. }, Ty::Str) => {
                let (s, n) = if matches!(a.ty, Ty::Str) {
                    (a, b)
                } else {
                    (b, a)
                };
                let parsed = self.num_of(s.clone())?;
                match parsed.ty {
                    Ty::Missing => Cond::constant(false),
                    // `inf` and `nan` never equal a number written in a rule; in a column they might.
                    _ if s.lit || n.lit => {
                        k(format!("COALESCE({} = {}, FALSE)", parsed.sql, n.sql))
                    }
                    _ => guard(
                        &parsed.unk,
                        k(format!("COALESCE({} = {}, FALSE)", parsed.sql, n.sql)),
                    ),
                }
            }
            (Ty::Str, Ty::Bool) | (Ty::Bool, Ty::Str) => {
                let (s, bv) = if matches!(a.ty, Ty::Str) {
                    (a, b)
                } else {
                    (b, a)
                };
                let l = lower_ascii(&s.sql);
                k(format!(
                    "(CASE WHEN {} THEN {l} = 'true' ELSE {l} = 'false' END)",
                    bv.sql
                ))
            }
            (Ty::Ip(x), Ty::Ip(y)) => k(format!("({} = {})", x.text(), y.text())),
            (Ty::Ip(ip), Ty::Str) | (Ty::Str, Ty::Ip(ip)) => {
                let s = if matches!(a.ty, Ty::Str) { a } else { b };
                if s.lit {
                    let canon = s
                        .raw
                        .as_deref()
                        .and_then(|t| t.trim().parse::<std::net::IpAddr>().ok());
                    match canon {
                        Some(addr) => k(format!(
                            "({} = {})",
                            ip.text(),
                            self.dia.lit(&addr.to_string())
                        )),
                        None => Cond::constant(false),
                    }
                } else {
                    let other = self.parse_ip(s)?;
                    k(format!("({} = {})", ip.text(), other.text()))
                }
            }
            (x, y) if scalar(x) && scalar(y) => Cond::constant(false),
            _ => return Err("comparing a record, struct or set is not translated to SQL".into()),
        })
    }

    /// Equality of a JSON value with another value, by the JSON value's kind.
    fn eq_json(&mut self, j: &Val, other: &Val) -> R<Cond> {
        let level = self.level(&[j, other]);
        let x = j.sql.clone();
        let dia = self.dia;
        let as_str = Val::new(Ty::Str, dia.json_scalar(&x), j.level);
        let as_num = Val::new(
            Ty::Num {
                nonneg: false,
                int: false,
            },
            dia.to_double(&dia.json_scalar(&x)),
            j.level,
        );
        let as_bool = Val::new(
            Ty::Bool,
            format!("({} = 'true')", dia.json_text(&x)),
            j.level,
        );
        let (s, n, b) = match &other.ty {
            Ty::Json => {
                // Two documents: arrays compare item by item natively (not
                // translated: unknown), objects never equal.
                let y = other.sql.clone();
                let parts = [
                    (
                        JsonKind::String,
                        self.eq_json(
                            other,
                            &Val {
                                lit: false,
                                ..as_str.clone()
                            },
                        )?,
                    ),
                    (
                        JsonKind::Number,
                        self.eq_json(
                            other,
                            &Val {
                                lit: false,
                                ..as_num.clone()
                            },
                        )?,
                    ),
                    (
                        JsonKind::Bool,
                        self.eq_json(
                            other,
                            &Val {
                                lit: false,
                                ..as_bool.clone()
                            },
                        )?,
                    ),
                ];
                let arms: Vec<String> = parts
                    .iter()
                    .map(|(kind, c)| format!("WHEN {} THEN {}", dia.json_is(&x, *kind), c.sql))
                    .collect();
                return Ok(Cond {
                    sql: format!(
                        "(CASE WHEN {} AND {} THEN NULL {} WHEN {} THEN {} ELSE FALSE END)",
                        dia.json_is(&x, JsonKind::Array),
                        dia.json_is(&y, JsonKind::Array),
                        arms.join(" "),
                        dia.json_is(&x, JsonKind::Null),
                        dia.json_is(&y, JsonKind::Null)
                    ),
                    unk: true,
                    level,
                });
            }
            _ => (
                self.eq_typed(&as_str, other)?,
                self.eq_typed(&as_num, other)?,
                self.eq_typed(&as_bool, other)?,
            ),
        };
        Ok(Cond::known(
            format!(
                "(CASE WHEN {} THEN COALESCE({}, FALSE) WHEN {} THEN COALESCE({}, FALSE) WHEN {} THEN COALESCE({}, FALSE) ELSE FALSE END)",
                dia.json_is(&x, JsonKind::String),
                s.sql,
                dia.json_is(&x, JsonKind::Number),
                n.sql,
                dia.json_is(&x, JsonKind::Bool),
                b.sql
            ),
            level,
        ))
    }

    /// `<`, `<=`, `>`, `>=`: numbers when both sides are (or parse as)
    /// numbers, else text against text, else false.
    fn order(&mut self, op: BinOp, a: &Val, b: &Val) -> R<Cond> {
        let sym = match op {
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            _ => ">=",
        };
        let level = self.level(&[a, b]);
        let numberish = |v: &Val| matches!(v.ty, Ty::Num { .. } | Ty::Str | Ty::Json);
        if !numberish(a) || !numberish(b) {
            return Ok(Cond::constant(false));
        }
        let parsed = |v: &Val| !matches!(v.ty, Ty::Num { .. }) && !v.lit;
        let na = self.num_of(a.clone())?;
        let nb = self.num_of(b.clone())?;
        let unk = or_unk(
            if parsed(a) { na.unk.clone() } else { None },
            if parsed(b) { nb.unk.clone() } else { None },
        );
        let numeric = format!("COALESCE({} {sym} {}, FALSE)", na.sql, nb.sql);
        let c = match (&a.ty, &b.ty) {
            (Ty::Str, Ty::Str) => Cond::known(
                format!(
                    "(CASE WHEN {} IS NOT NULL AND {} IS NOT NULL THEN {numeric} ELSE COALESCE({} {sym} {}, FALSE) END)",
                    na.sql, nb.sql, a.sql, b.sql
                ),
                level,
            ),
            (Ty::Json, Ty::Str | Ty::Json) | (Ty::Str, Ty::Json) => {
                return Err("ordering a JSON value against text is not translated to SQL".into())
            }
            _ => Cond::known(numeric, level),
        };
        Ok(guard(&unk, c))
    }
}

fn scalar(t: &Ty) -> bool {
    matches!(t, Ty::Str | Ty::Num { .. } | Ty::Bool | Ty::Ip(_))
}

fn bool_val(c: Cond) -> Val {
    let unk = c.unk.then(|| format!("({} IS NULL)", c.sql));
    Val {
        ty: Ty::Bool,
        sql: c.sql,
        unk,
        level: c.level,
        lit: false,
        raw: None,
    }
}

fn konst(dia: &dyn Dialect, c: &Const) -> R<Val> {
    Ok(match c {
        Const::Null => Val::lit(Ty::Null, "NULL"),
        Const::Bool(b) => Val::lit(Ty::Bool, if *b { "TRUE" } else { "FALSE" }),
        Const::Num(n) => {
            if !n.is_finite() {
                return Err("a number that is not finite".into());
            }
            Val::lit(
                Ty::Num {
                    nonneg: *n >= 0.0,
                    int: n.fract() == 0.0,
                },
                float_lit(*n),
            )
        }
        Const::Str(s) => Val {
            raw: Some(s.clone()),
            ..Val::lit(Ty::Str, dia.lit(s))
        },
        Const::List(items) => {
            let vs = items.iter().map(|i| konst(dia, i)).collect::<R<Vec<_>>>()?;
            Val::lit(Ty::List(vs), "")
        }
    })
}

/// A number literal: integers as integers, others with an exponent (DOUBLE).
fn float_lit(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:e}")
    }
}

fn func_name(f: Func) -> String {
    let dbg = format!("{f:?}");
    let mut out = String::new();
    for (i, c) in dbg.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    format!("{out}()")
}

/// An aggregate's value in the window stage.
pub fn agg_val(col: &str, int: bool) -> Val {
    Val::new(Ty::Num { nonneg: true, int }, col, 0)
}

/// The value at a native path of the record (`["userIdentity", "arn"]`).
pub fn path_value(tr: &mut Tr<'_>, path: &[&str]) -> R<Val> {
    let mut v = Val::new(Ty::Record, "", 0);
    for seg in path {
        let mut name = FieldName::new(seg);
        if tr.layout.source == LogSource::FlowLog {
            name.flow = crate::schema::logs::FLOW_FIELDS
                .iter()
                .position(|(n, _)| n == seg)
                .map(|i| i as u16);
        }
        v = tr.field(v, &name)?;
    }
    Ok(v)
}
