//! The policy-language parser: nom token parsers composed by recursive descent.
//! Every node gets the span of the text it came from.

use std::cell::Cell;

use super::ast::*;
use super::check::META_KEYS;
use super::lexer::{commit, error, failure, ws, PErr, PResult, Src};

/// Deeper nesting than this is refused instead of overflowing the stack.
const MAX_DEPTH: usize = 32;
/// Operator chains (`a and b and ...`) and paths (`x.a.b...`) build nested trees
/// that later stages walk recursively; their length is bounded too.
const MAX_CHAIN: usize = 256;

/// Where parsing stopped and what was expected there.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub offset: usize,
    pub expected: String,
    pub note: Option<(Span, String)>,
}

/// Parses a whole policy file.
pub fn parse_file(text: &str) -> Result<PolicyFile, SyntaxError> {
    let p = Parser {
        src: Src { text },
        depth: Cell::new(0),
    };
    match p.file(text) {
        Ok((_, f)) => Ok(f),
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(p.to_error(e)),
        Err(nom::Err::Incomplete(_)) => Err(SyntaxError {
            offset: text.len(),
            expected: "more input".into(),
            note: None,
        }),
    }
}

/// Parses one expression (used by tests and tools).
pub fn parse_expr(text: &str) -> Result<Expr, SyntaxError> {
    let p = Parser {
        src: Src { text },
        depth: Cell::new(0),
    };
    let r = p.expr(text).and_then(|(rest, e)| {
        let rest = ws(rest);
        if rest.is_empty() {
            Ok((rest, e))
        } else {
            failure(rest, "the end of the expression")
        }
    });
    match r {
        Ok((_, e)) => Ok(e),
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(p.to_error(e)),
        Err(nom::Err::Incomplete(_)) => Err(SyntaxError {
            offset: text.len(),
            expected: "more input".into(),
            note: None,
        }),
    }
}

struct Parser<'s> {
    src: Src<'s>,
    depth: Cell<usize>,
}

impl<'s> Parser<'s> {
    fn to_error(&self, e: PErr<'s>) -> SyntaxError {
        SyntaxError {
            offset: self.src.offset(e.input),
            expected: e.expected.into_owned(),
            note: e.note,
        }
    }

    fn file(&self, mut i: &'s str) -> PResult<'s, PolicyFile> {
        let mut items = Vec::new();
        loop {
            i = ws(i);
            if i.is_empty() {
                return Ok((i, PolicyFile { items }));
            }
            if self.src.is_keyword(i, "policy") {
                let (rest, p) = self.policy(i)?;
                items.push(Item::Policy(p));
                i = rest;
            } else if self.src.is_keyword(i, "detection") {
                let (rest, d) = self.detection(i)?;
                items.push(Item::Detection(Box::new(d)));
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(i, "let") {
                let (rest, name) = commit(self.src.ident(rest), ws(rest), "a name after `let`")?;
                let (rest, _) = commit(self.src.symbol(rest, "="), ws(rest), "'=' after the name")?;
                let (rest, value) = commit(self.expr(rest), ws(rest), "an expression after '='")?;
                let span = self.src.span(i, rest);
                items.push(Item::Const(ConstDef { name, value, span }));
                i = rest;
            } else if self.src.is_keyword(i, "predicate") {
                let (rest, p) = self.predicate(i)?;
                items.push(Item::Predicate(p));
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(i, "import") {
                let (rest, name) = commit(
                    self.src.string(rest),
                    ws(rest),
                    "the name of a policy file in quotes after `import`, as in `import \"common\"`",
                )?;
                let span = self.src.span(i, rest);
                items.push(Item::Import(Import { name, span }));
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(i, "types") {
                let (rest, g) = self.type_group(i, rest)?;
                items.push(Item::Types(g));
                i = rest;
            } else {
                return failure(
                    i,
                    "`policy`, `detection`, `let`, `predicate`, `types` or `import`",
                );
            }
        }
    }

    fn policy(&self, start: &'s str) -> PResult<'s, Policy> {
        let start = ws(start);
        let (i, _) = self.src.keyword(start, "policy")?;
        let (i, id) = commit(self.src.policy_id(i), ws(i), "a policy id after `policy`")?;
        let (mut i, open) = commit(
            self.src.symbol(i, "{"),
            ws(i),
            "'{' to open the policy body",
        )?;
        let mut meta = Vec::new();
        let mut blocks = Vec::new();
        loop {
            let t = ws(i);
            if let Ok((rest, _)) = self.src.symbol(t, "}") {
                let span = self.src.span(start, rest);
                return Ok((
                    rest,
                    Policy {
                        id,
                        meta,
                        blocks,
                        span,
                    },
                ));
            }
            if t.is_empty() || starts_item(&self.src, t) {
                return Err(nom::Err::Failure(PErr {
                    input: t,
                    expected: format!("'}}' to close policy `{}`", id.name).into(),
                    note: Some((
                        open,
                        format!("policy `{}` opened here is never closed", id.name),
                    )),
                }));
            }
            if self.src.is_keyword(t, "for") {
                let (rest, b) = self.rule_block(t)?;
                blocks.push(b);
                i = rest;
            } else if let Ok((rest, key)) = self.src.ident(t) {
                if self.src.is_keyword(t, "let") || self.src.is_keyword(t, "require") {
                    return failure(t, "`for resource ...` before `let` or `require`");
                }
                let (rest, value) = self.meta_value(rest, &key)?;
                let span = key.span.to(value.span());
                meta.push(Meta { key, value, span });
                i = rest;
            } else {
                return failure(
                    t,
                    "a metadata field (title, severity, ...), `for resource`, or '}'",
                );
            }
        }
    }

    /// `predicate NAME(p1, p2) = EXPR`.
    fn predicate(&self, start: &'s str) -> PResult<'s, PredDef> {
        let start = ws(start);
        let (i, _) = self.src.keyword(start, "predicate")?;
        let (i, name) = commit(self.src.ident(i), ws(i), "a name after `predicate`")?;
        let (mut i, open) = commit(
            self.src.symbol(i, "("),
            ws(i),
            "'(' and the parameter names, as in `predicate is_open(rule) = ...`",
        )?;
        let mut params: Vec<Ident> = Vec::new();
        loop {
            if let Ok((rest, _)) = self.src.symbol(i, ")") {
                i = rest;
                break;
            }
            let (rest, p) = commit(self.src.ident(i), ws(i), "a parameter name or ')'")?;
            params.push(p);
            i = rest;
            if let Ok((rest, _)) = self.src.symbol(i, ",") {
                i = rest;
            } else if !self.src.is_symbol(i, ")") {
                return Err(nom::Err::Failure(PErr {
                    input: ws(i),
                    expected: "',' or ')' after the parameter".into(),
                    note: Some((open, "parameters start here".into())),
                }));
            }
        }
        let (i, _) = commit(
            self.src.symbol(i, "="),
            ws(i),
            "'=' and the condition after the parameters",
        )?;
        let (i, body) = commit(self.expr(i), ws(i), "a condition after '='")?;
        let span = self.src.span(start, i);
        Ok((
            i,
            PredDef {
                name,
                params,
                body,
                span,
            },
        ))
    }

    /// `types NAME = ["T1", "T2"]` (after the keyword).
    fn type_group(&self, start: &'s str, i: &'s str) -> PResult<'s, TypeGroup> {
        let (i, name) = commit(self.src.ident(i), ws(i), "a name after `types`")?;
        let (i, _) = commit(self.src.symbol(i, "="), ws(i), "'=' after the name")?;
        let (mut i, open) = commit(
            self.src.symbol(i, "["),
            ws(i),
            "a list of resource types in quotes, as in `[\"AWS::RDS::DBInstance\", \"aws_db_instance\"]`",
        )?;
        let mut types = Vec::new();
        loop {
            if let Ok((rest, _)) = self.src.symbol(i, "]") {
                i = rest;
                break;
            }
            let (rest, t) = commit(
                self.src.string(i),
                ws(i),
                "a resource type in quotes or ']'",
            )?;
            types.push(t);
            i = rest;
            if let Ok((rest, _)) = self.src.symbol(i, ",") {
                i = rest;
            } else if !self.src.is_symbol(i, "]") {
                return Err(nom::Err::Failure(PErr {
                    input: ws(i),
                    expected: "',' or ']' in the list of types".into(),
                    note: Some((open, "list starts here".into())),
                }));
            }
        }
        let span = self.src.span(ws(start), i);
        Ok((i, TypeGroup { name, types, span }))
    }

    fn meta_value(&self, i: &'s str, key: &Ident) -> PResult<'s, MetaValue> {
        let t = ws(i);
        if let Ok((rest, s)) = self.src.string(t) {
            return Ok((rest, MetaValue::Str(s)));
        }
        if let Ok((rest, (n, span))) = self.src.number(t) {
            return Ok((rest, MetaValue::Num(n, span)));
        }
        if self.src.is_symbol(t, "[") {
            let (mut i, _) = self.src.symbol(t, "[")?;
            let mut items = Vec::new();
            loop {
                if let Ok((rest, _)) = self.src.symbol(i, "]") {
                    return Ok((rest, MetaValue::List(items)));
                }
                let (rest, s) = commit(self.src.string(i), ws(i), "a string or ']'")?;
                items.push(s);
                i = rest;
                if let Ok((rest, _)) = self.src.symbol(i, ",") {
                    i = rest;
                } else if !self.src.is_symbol(i, "]") {
                    return failure(ws(i), "',' or ']' in the list");
                }
            }
        }
        if let Ok((rest, w)) = self.src.ident(t) {
            return Ok((rest, MetaValue::Word(w)));
        }
        let what = if META_KEYS.contains(&key.name.as_str()) {
            "a value (a string, a list of strings or a word)"
        } else {
            "a value after the metadata field name"
        };
        failure(t, what)
    }

    fn detection(&self, start: &'s str) -> PResult<'s, Detection> {
        let start = ws(start);
        let (i, _) = self.src.keyword(start, "detection")?;
        let (i, id) = commit(
            self.src.policy_id(i),
            ws(i),
            "a detection id after `detection`",
        )?;
        let (mut i, open) = commit(
            self.src.symbol(i, "{"),
            ws(i),
            "'{' to open the detection body",
        )?;
        let mut meta = Vec::new();
        let mut from: Option<(Ident, Ident)> = None;
        let (mut filter, mut group, mut alert, mut resource, mut message) =
            (None, None, None, None, None);
        let mut lets = Vec::new();
        loop {
            let t = ws(i);
            if let Ok((rest, _)) = self.src.symbol(t, "}") {
                let Some((source, binding)) = from else {
                    return failure(
                        t,
                        "`from flowlog as f` (or `cloudtrail`, `dns`) in the detection",
                    );
                };
                let span = self.src.span(start, rest);
                let d = Detection {
                    id,
                    meta,
                    source,
                    binding,
                    filter,
                    lets,
                    group,
                    alert,
                    resource,
                    message,
                    span,
                };
                return Ok((rest, d));
            }
            if t.is_empty() || starts_item(&self.src, t) {
                return Err(nom::Err::Failure(PErr {
                    input: t,
                    expected: format!("'}}' to close detection `{}`", id.name).into(),
                    note: Some((
                        open,
                        format!("detection `{}` opened here is never closed", id.name),
                    )),
                }));
            }
            if let Ok((rest, _)) = self.src.keyword(t, "from") {
                if from.is_some() {
                    return failure(t, "one `from` per detection");
                }
                let (rest, source) = commit(
                    self.src.ident(rest),
                    ws(rest),
                    "a log source after `from`: flowlog, cloudtrail or dns",
                )?;
                let (rest, _) = commit(
                    self.src.keyword(rest, "as"),
                    ws(rest),
                    "`as NAME` to name each record",
                )?;
                let (rest, binding) = commit(self.src.ident(rest), ws(rest), "a name after `as`")?;
                from = Some((source, binding));
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(t, "where") {
                if filter.is_some() {
                    return failure(
                        t,
                        "one `where` per detection (join the conditions with `and`)",
                    );
                }
                let (rest, e) = commit(self.expr(rest), ws(rest), "a condition after `where`")?;
                filter = Some(e);
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(t, "let") {
                let (rest, name) = commit(self.src.ident(rest), ws(rest), "a name after `let`")?;
                let (rest, _) = commit(self.src.symbol(rest, "="), ws(rest), "'=' after the name")?;
                let (rest, value) = commit(self.expr(rest), ws(rest), "an expression after '='")?;
                lets.push((name, value));
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(t, "group") {
                if group.is_some() {
                    return failure(t, "one `group by` per detection (list every key in it)");
                }
                let (mut rest, _) =
                    commit(self.src.keyword(rest, "by"), ws(rest), "`by` after `group`")?;
                let mut keys = Vec::new();
                loop {
                    let (r, e) =
                        commit(self.expr(rest), ws(rest), "a grouping key after `group by`")?;
                    keys.push(e);
                    match self.src.symbol(r, ",") {
                        Ok((r, _)) => rest = r,
                        Err(_) => {
                            rest = r;
                            break;
                        }
                    }
                }
                let (rest, _) = commit(
                    self.src.keyword(rest, "window"),
                    ws(rest),
                    "`window DURATION` (such as `window 10m`) after the grouping keys",
                )?;
                let (rest, (window_ms, window_span)) = self.duration(rest)?;
                group = Some(Group {
                    keys,
                    window_ms,
                    window_span,
                });
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(t, "alert") {
                if alert.is_some() {
                    return failure(
                        t,
                        "one `alert when` per detection (join the thresholds with `and` or `or`)",
                    );
                }
                let (rest, _) = commit(
                    self.src.keyword(rest, "when"),
                    ws(rest),
                    "`when` after `alert`",
                )?;
                let (rest, e) =
                    commit(self.expr(rest), ws(rest), "a condition after `alert when`")?;
                alert = Some(e);
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(t, "resource") {
                if resource.is_some() {
                    return failure(t, "one `resource` per detection");
                }
                let (rest, e) = commit(
                    self.expr(rest),
                    ws(rest),
                    "the resource an alert is about after `resource`",
                )?;
                resource = Some(e);
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(t, "message") {
                if message.is_some() {
                    return failure(t, "one `message` per detection");
                }
                let (rest, m) = commit(
                    self.message(rest),
                    ws(rest),
                    "a message in quotes after `message`",
                )?;
                message = Some(m);
                i = rest;
            } else if let Ok((rest, key)) = self.src.ident(t) {
                let (rest, value) = self.meta_value(rest, &key)?;
                let span = key.span.to(value.span());
                meta.push(Meta { key, value, span });
                i = rest;
            } else {
                return failure(t, "a metadata field, `from`, `where`, `group by`, `alert when`, `resource`, `message`, or '}'");
            }
        }
    }

    /// `10m`, `60s`, `1h`, `1d`, `500ms`.
    fn duration(&self, i: &'s str) -> PResult<'s, (i64, Span)> {
        let t = ws(i);
        let (rest, (n, nspan)) =
            commit(self.src.number(t), t, "a duration such as 10m, 60s or 1h")?;
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        let ms = match unit {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => {
                return failure(
                    rest,
                    "a unit right after the number: ms, s, m, h or d (as in `10m`)",
                )
            }
        };
        let total = n * ms;
        if !(1.0..=366.0 * 86_400_000.0).contains(&total) {
            return failure(t, "a window between 1ms and 366d");
        }
        let rest = &rest[unit_len..];
        Ok((
            rest,
            (total as i64, Span::new(nspan.start, self.src.offset(rest))),
        ))
    }

    fn rule_block(&self, start: &'s str) -> PResult<'s, RuleBlock> {
        let start = ws(start);
        let (i, _) = self.src.keyword(start, "for")?;
        let (i, _) = commit(
            self.src.keyword(i, "resource"),
            ws(i),
            "`resource` after `for` (as in `for resource \"AWS::S3::Bucket\" as b`)",
        )?;
        let mut types = Vec::new();
        let mut groups = Vec::new();
        let mut i = i;
        loop {
            let t = ws(i);
            if t.starts_with('"') {
                let (rest, ty) = self.src.string(t)?;
                types.push(ty);
                i = rest;
            } else if let (Ok((rest, g)), false) = (self.src.ident(t), self.src.is_keyword(t, "as"))
            {
                groups.push(g);
                i = rest;
            } else {
                return failure(
                    t,
                    "a resource type in quotes, such as \"AWS::EC2::Volume\", or the name of a `types` group",
                );
            }
            match self.src.symbol(i, ",") {
                Ok((rest, _)) => i = rest,
                Err(_) => break,
            }
        }
        let (i, _) = commit(
            self.src.keyword(i, "as"),
            ws(i),
            "`as NAME` to name the resource",
        )?;
        let (mut i, binding) = commit(self.src.ident(i), ws(i), "a name after `as`")?;
        let mut when = None;
        if let Ok((rest, _)) = self.src.keyword(i, "when") {
            let (rest, e) = commit(self.expr(rest), ws(rest), "a condition after `when`")?;
            when = Some(e);
            i = rest;
        }
        let mut each = None;
        if let Ok((rest, _)) = self.src.keyword(i, "each") {
            let (rest, name) = commit(self.src.ident(rest), ws(rest), "a name after `each`")?;
            let (rest, _) = commit(
                self.src.keyword(rest, "in"),
                ws(rest),
                "`in LIST` after the name",
            )?;
            let (rest, list) = commit(self.expr(rest), ws(rest), "a list after `each NAME in`")?;
            each = Some((name, list));
            i = rest;
        }
        let mut stmts = Vec::new();
        loop {
            let t = ws(i);
            if let Ok((rest, _)) = self.src.keyword(t, "let") {
                let (rest, name) = commit(self.src.ident(rest), ws(rest), "a name after `let`")?;
                let (rest, _) = commit(self.src.symbol(rest, "="), ws(rest), "'=' after the name")?;
                let (rest, value) = commit(self.expr(rest), ws(rest), "an expression after '='")?;
                stmts.push(Stmt::Let { name, value });
                i = rest;
            } else if let Ok((rest, _)) = self.src.keyword(t, "require") {
                let (rest, cond) =
                    commit(self.expr(rest), ws(rest), "a condition after `require`")?;
                let (rest, message) = if let Ok((rest, _)) = self.src.keyword(rest, "else") {
                    let (rest, m) = commit(
                        self.message(rest),
                        ws(rest),
                        "a message in quotes after `else`",
                    )?;
                    (rest, Some(m))
                } else {
                    (rest, None)
                };
                stmts.push(Stmt::Require {
                    cond,
                    message,
                    span: self.src.span(t, rest),
                });
                i = rest;
            } else {
                break;
            }
        }
        if !stmts.iter().any(|s| matches!(s, Stmt::Require { .. })) {
            return failure(ws(i), "`require CONDITION` in the `for resource` block");
        }
        let span = self.src.span(start, i);
        Ok((
            i,
            RuleBlock {
                types,
                groups,
                binding,
                when,
                each,
                stmts,
                span,
            },
        ))
    }

    /// A message string; `{expr}` interpolates, `{{` and `}}` are literal braces.
    fn message(&self, i: &'s str) -> PResult<'s, Message> {
        let (rest, (lit, raw)) = self.src.string_raw(i)?;
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut k = 0;
        let bytes = raw.as_bytes();
        let mut lit_start = 0;
        while k < bytes.len() {
            match bytes[k] {
                b'{' if bytes.get(k + 1) == Some(&b'{') => {
                    text.push_str(&super::lexer::unescape(&raw[lit_start..k]));
                    text.push('{');
                    k += 2;
                    lit_start = k;
                }
                b'}' if bytes.get(k + 1) == Some(&b'}') => {
                    text.push_str(&super::lexer::unescape(&raw[lit_start..k]));
                    text.push('}');
                    k += 2;
                    lit_start = k;
                }
                b'{' => {
                    text.push_str(&super::lexer::unescape(&raw[lit_start..k]));
                    let Some(close) = raw[k..].find('}') else {
                        return failure(&raw[k..], "'}' to close the interpolation");
                    };
                    let inner = &raw[k + 1..k + close];
                    let (after, e) = commit(self.expr(inner), inner, "an expression inside '{ }'")?;
                    if !ws(after).is_empty() {
                        return failure(ws(after), "'}' after the interpolated expression");
                    }
                    if !text.is_empty() {
                        parts.push(MsgPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(MsgPart::Expr(e));
                    k += close + 1;
                    lit_start = k;
                }
                _ => k += 1,
            }
        }
        text.push_str(&super::lexer::unescape(&raw[lit_start..]));
        if !text.is_empty() {
            parts.push(MsgPart::Text(text));
        }
        Ok((
            rest,
            Message {
                parts,
                span: lit.span,
            },
        ))
    }

    // ---- expressions, lowest precedence first ----

    pub fn expr(&self, i: &'s str) -> PResult<'s, Expr> {
        let d = self.depth.get();
        if d >= MAX_DEPTH {
            return failure(
                ws(i),
                "a shallower expression (nesting is limited to 32 levels)",
            );
        }
        self.depth.set(d + 1);
        let r = self.or_expr(i);
        self.depth.set(d);
        r
    }

    fn binary_chain(
        &self,
        i: &'s str,
        ops: &[(&'static str, BinOp)],
        next: fn(&Self, &'s str) -> PResult<'s, Expr>,
        words: bool,
    ) -> PResult<'s, Expr> {
        let (mut i, mut lhs) = next(self, i)?;
        let mut n = 0;
        'outer: loop {
            n += 1;
            if n > MAX_CHAIN {
                return failure(
                    ws(i),
                    "a shorter expression (at most 256 operands in a row)",
                );
            }
            for (tok, op) in ops {
                let m = if words {
                    self.src.keyword(i, tok)
                } else {
                    self.src.symbol(i, tok)
                };
                if let Ok((rest, _)) = m {
                    let (rest, rhs) = commit(next(self, rest), ws(rest), "an operand")?;
                    let span = lhs.span.to(rhs.span);
                    lhs = Expr {
                        kind: ExprKind::Binary(*op, Box::new(lhs), Box::new(rhs)),
                        span,
                    };
                    i = rest;
                    continue 'outer;
                }
            }
            return Ok((i, lhs));
        }
    }

    fn or_expr(&self, i: &'s str) -> PResult<'s, Expr> {
        self.binary_chain(i, &[("or", BinOp::Or)], Self::and_expr, true)
    }

    fn and_expr(&self, i: &'s str) -> PResult<'s, Expr> {
        self.binary_chain(i, &[("and", BinOp::And)], Self::not_expr, true)
    }

    fn not_expr(&self, i: &'s str) -> PResult<'s, Expr> {
        let t = ws(i);
        if let Ok((rest, kw)) = self.src.keyword(t, "not") {
            let (rest, e) = commit(
                self.nested(rest, Self::not_expr),
                ws(rest),
                "a condition after `not`",
            )?;
            let span = kw.to(e.span);
            return Ok((
                rest,
                Expr {
                    kind: ExprKind::Unary(UnOp::Not, Box::new(e)),
                    span,
                },
            ));
        }
        for (word, q) in [
            ("all", Quantifier::All),
            ("any", Quantifier::Any),
            ("none", Quantifier::None),
        ] {
            if let Ok((rest, kw)) = self.src.keyword(t, word) {
                // `any x in xs: ...` — but `any(...)` would be a call.
                if let Ok((after_var, var)) = self.src.ident(rest) {
                    if self.src.is_keyword(after_var, "in") {
                        let (r, _) = self.src.keyword(after_var, "in")?;
                        let (r, list) = commit(self.add_expr(r), ws(r), "a list after `in`")?;
                        let (r, _) = commit(
                            self.src.symbol(r, ":"),
                            ws(r),
                            "':' before the condition each item is tested against",
                        )?;
                        let (r, body) = commit(self.expr(r), ws(r), "a condition after ':'")?;
                        let span = kw.to(body.span);
                        return Ok((
                            r,
                            Expr {
                                kind: ExprKind::Quant {
                                    q,
                                    var,
                                    list: Box::new(list),
                                    body: Box::new(body),
                                },
                                span,
                            },
                        ));
                    }
                }
            }
        }
        self.cmp_expr(t)
    }

    fn nested(&self, i: &'s str, f: fn(&Self, &'s str) -> PResult<'s, Expr>) -> PResult<'s, Expr> {
        let d = self.depth.get();
        if d >= MAX_DEPTH {
            return failure(
                ws(i),
                "a shallower expression (nesting is limited to 32 levels)",
            );
        }
        self.depth.set(d + 1);
        let r = f(self, i);
        self.depth.set(d);
        r
    }

    fn cmp_expr(&self, i: &'s str) -> PResult<'s, Expr> {
        let (i, lhs) = self.add_expr(i)?;
        let t = ws(i);
        const OPS: [(&str, BinOp); 6] = [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ];
        for (tok, op) in OPS {
            if let Ok((rest, _)) = self.src.symbol(t, tok) {
                let (rest, rhs) = commit(self.add_expr(rest), ws(rest), "a value to compare with")?;
                return Ok((rest, bin(op, lhs, rhs)));
            }
        }
        if self.src.is_symbol(t, "=") {
            return failure(t, "'==' (a single '=' is only for `let`)");
        }
        if let Ok((rest, _)) = self.src.keyword(t, "in") {
            let (rest, rhs) = commit(self.add_expr(rest), ws(rest), "a list after `in`")?;
            return Ok((rest, bin(BinOp::In, lhs, rhs)));
        }
        if let Ok((rest, kw)) = self.src.keyword(t, "matches") {
            let (rest, re) = commit(
                self.src.string(rest),
                ws(rest),
                "a regular expression in quotes after `matches`",
            )?;
            let span = lhs.span.to(re.span).to(kw);
            return Ok((
                rest,
                Expr {
                    kind: ExprKind::Matches(Box::new(lhs), re),
                    span,
                },
            ));
        }
        // Postfix tests, optionally negated: `x not in y`, `x not exists`, `x is not string`.
        let (after_not, negated) = match self.src.keyword(t, "not") {
            Ok((rest, _)) => (rest, true),
            Err(_) => (t, false),
        };
        if negated {
            if let Ok((rest, _)) = self.src.keyword(after_not, "in") {
                let (rest, rhs) = commit(self.add_expr(rest), ws(rest), "a list after `not in`")?;
                return Ok((rest, bin(BinOp::NotIn, lhs, rhs)));
            }
        }
        for (word, test) in [("exists", Test::Exists), ("empty", Test::Empty)] {
            if let Ok((rest, kw)) = self.src.keyword(after_not, word) {
                let span = lhs.span.to(kw);
                return Ok((rest, test_expr(lhs, test, negated, span)));
            }
        }
        if negated {
            return failure(ws(after_not), "`in`, `exists` or `empty` after `not`");
        }
        if let Ok((rest, _)) = self.src.keyword(t, "is") {
            let (rest, neg) = match self.src.keyword(rest, "not") {
                Ok((r, _)) => (r, true),
                Err(_) => (rest, false),
            };
            let (rest, ty) = commit(
                self.src.ident(rest),
                ws(rest),
                "a type name: string, number, bool, list, map or null",
            )?;
            let Some(tn) = TypeName::parse(&ty.name) else {
                return failure(
                    &self.src.text[ty.span.start..],
                    "a type name: string, number, bool, list, map or null",
                );
            };
            let span = lhs.span.to(ty.span);
            return Ok((rest, test_expr(lhs, Test::Is(tn), neg, span)));
        }
        Ok((i, lhs))
    }

    fn add_expr(&self, i: &'s str) -> PResult<'s, Expr> {
        self.binary_chain(
            i,
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            Self::mul_expr,
            false,
        )
    }

    fn mul_expr(&self, i: &'s str) -> PResult<'s, Expr> {
        self.binary_chain(
            i,
            &[("*", BinOp::Mul), ("/", BinOp::Div)],
            Self::unary,
            false,
        )
    }

    fn unary(&self, i: &'s str) -> PResult<'s, Expr> {
        let t = ws(i);
        if let Ok((rest, minus)) = self.src.symbol(t, "-") {
            let (rest, e) = commit(
                self.nested(rest, Self::unary),
                ws(rest),
                "a number after '-'",
            )?;
            let span = minus.to(e.span);
            // Fold `-3` into a literal so that `FromPort == -1` reads as a constant.
            if let ExprKind::Num(n) = e.kind {
                return Ok((
                    rest,
                    Expr {
                        kind: ExprKind::Num(-n),
                        span,
                    },
                ));
            }
            return Ok((
                rest,
                Expr {
                    kind: ExprKind::Unary(UnOp::Neg, Box::new(e)),
                    span,
                },
            ));
        }
        self.postfix(t)
    }

    fn postfix(&self, i: &'s str) -> PResult<'s, Expr> {
        let (mut i, mut e) = self.primary(i)?;
        for _ in 0..=MAX_CHAIN {
            let t = ws(i);
            if let Some(rest) = t.strip_prefix('.') {
                if let Ok((rest2, star)) = self.src.symbol(rest, "*") {
                    let span = e.span.to(star);
                    e = Expr {
                        kind: ExprKind::Wildcard(Box::new(e)),
                        span,
                    };
                    i = rest2;
                    continue;
                }
                let (rest, name) =
                    commit(self.src.ident(rest), ws(rest), "a property name after '.'")?;
                let span = e.span.to(name.span);
                e = Expr {
                    kind: ExprKind::Field(Box::new(e), name),
                    span,
                };
                i = rest;
            } else if let Some(rest) = t.strip_prefix('[') {
                // `[*]`, `[? filter]` or `[index]`, each closed by `]`.
                let (rest2, kind, missing_close) = if let Ok((r, _)) = self.src.symbol(rest, "*") {
                    (r, Bracket::All, "']' after '[*'")
                } else if let Ok((r, _)) = self.src.symbol(rest, "?") {
                    let (r, pred) = commit(self.expr(r), ws(r), "a filter condition after '[?'")?;
                    (r, Bracket::Filter(pred), "']' to close the filter")
                } else {
                    let (r, idx) = commit(
                        self.expr(rest),
                        ws(rest),
                        "an index, a key in quotes, '*' or '?' after '['",
                    )?;
                    (r, Bracket::Index(idx), "']' to close the index")
                };
                let (rest2, close) = commit(self.src.symbol(rest2, "]"), ws(rest2), missing_close)?;
                let span = e.span.to(close);
                let kind = match kind {
                    Bracket::All => ExprKind::Wildcard(Box::new(e)),
                    Bracket::Filter(pred) => ExprKind::Filter(Box::new(e), Box::new(pred)),
                    Bracket::Index(idx) => ExprKind::Index(Box::new(e), Box::new(idx)),
                };
                e = Expr { kind, span };
                i = rest2;
            } else {
                return Ok((i, e));
            }
        }
        failure(ws(i), "a shorter path (at most 256 steps)")
    }

    fn primary(&self, i: &'s str) -> PResult<'s, Expr> {
        let t = ws(i);
        if let Ok((rest, open)) = self.src.symbol(t, "(") {
            let (rest, mut e) = commit(self.expr(rest), ws(rest), "an expression after '('")?;
            let (rest, close) = match self.src.symbol(rest, ")") {
                Ok(ok) => ok,
                Err(_) => {
                    return Err(nom::Err::Failure(PErr {
                        input: ws(rest),
                        expected: "')' to close the parenthesis".into(),
                        note: Some((open, "opened here".into())),
                    }))
                }
            };
            e.span = open.to(close);
            return Ok((rest, e));
        }
        if let Ok((rest, open)) = self.src.symbol(t, "[") {
            let mut items = Vec::new();
            let mut i = rest;
            loop {
                if let Ok((rest, close)) = self.src.symbol(i, "]") {
                    return Ok((
                        rest,
                        Expr {
                            kind: ExprKind::List(items),
                            span: open.to(close),
                        },
                    ));
                }
                let (rest, e) = commit(self.expr(i), ws(i), "a list item or ']'")?;
                items.push(e);
                i = rest;
                if let Ok((rest, _)) = self.src.symbol(i, ",") {
                    i = rest;
                } else if !self.src.is_symbol(i, "]") {
                    return Err(nom::Err::Failure(PErr {
                        input: ws(i),
                        expected: "',' or ']' in the list".into(),
                        note: Some((open, "list starts here".into())),
                    }));
                }
            }
        }
        if let Ok((rest, at)) = self.src.symbol(t, "@") {
            return Ok((
                rest,
                Expr {
                    kind: ExprKind::Current,
                    span: at,
                },
            ));
        }
        if t.starts_with('"') {
            let (rest, s) = self.src.string(t)?;
            return Ok((
                rest,
                Expr {
                    kind: ExprKind::Str(s.value),
                    span: s.span,
                },
            ));
        }
        if t.starts_with(|c: char| c.is_ascii_digit()) {
            let (rest, (n, span)) = self.src.number(t)?;
            return Ok((
                rest,
                Expr {
                    kind: ExprKind::Num(n),
                    span,
                },
            ));
        }
        let (rest, id) = match self.src.ident(t) {
            Ok(ok) => ok,
            Err(_) => return error(t, "a value: a name, a string, a number, a list, '(' or '@'"),
        };
        let kind = match id.name.as_str() {
            "true" => Some(ExprKind::Bool(true)),
            "false" => Some(ExprKind::Bool(false)),
            "null" => Some(ExprKind::Null),
            _ => None,
        };
        if let Some(kind) = kind {
            return Ok((
                rest,
                Expr {
                    kind,
                    span: id.span,
                },
            ));
        }
        if RESERVED.contains(&id.name.as_str()) {
            return error(t, "a value (a reserved word cannot be used as a name)");
        }
        // `ns.fn(args)` or `fn(args)`.
        if let Some(after_dot) = ws(rest).strip_prefix('.') {
            if let Ok((after_name, name)) = self.src.ident(after_dot) {
                if self.src.is_symbol(after_name, "(") {
                    let (r, (args, close)) = self.args(after_name)?;
                    let span = id.span.to(close);
                    return Ok((
                        r,
                        Expr {
                            kind: ExprKind::Call {
                                ns: Some(id),
                                name,
                                args,
                            },
                            span,
                        },
                    ));
                }
            }
        }
        if self.src.is_symbol(rest, "(") {
            let (r, (args, close)) = self.args(rest)?;
            let span = id.span.to(close);
            return Ok((
                r,
                Expr {
                    kind: ExprKind::Call {
                        ns: None,
                        name: id,
                        args,
                    },
                    span,
                },
            ));
        }
        Ok((
            rest,
            Expr {
                kind: ExprKind::Var(id.name),
                span: id.span,
            },
        ))
    }

    fn args(&self, i: &'s str) -> PResult<'s, (Vec<Expr>, Span)> {
        let (mut i, open) = self.src.symbol(i, "(")?;
        let mut args = Vec::new();
        loop {
            if let Ok((rest, close)) = self.src.symbol(i, ")") {
                return Ok((rest, (args, close)));
            }
            let (rest, e) = commit(self.expr(i), ws(i), "an argument or ')'")?;
            args.push(e);
            i = rest;
            if let Ok((rest, _)) = self.src.symbol(i, ",") {
                i = rest;
            } else if !self.src.is_symbol(i, ")") {
                return Err(nom::Err::Failure(PErr {
                    input: ws(i),
                    expected: "',' or ')' after the argument".into(),
                    note: Some((open, "arguments start here".into())),
                }));
            }
        }
    }
}

/// Whether `t` starts a top-level item: a rule body that meets one was never closed.
fn starts_item(src: &Src<'_>, t: &str) -> bool {
    ["policy", "detection", "predicate", "import", "types"]
        .iter()
        .any(|w| src.is_keyword(t, w))
}

/// What follows `[` in a path.
enum Bracket {
    All,
    Filter(Expr),
    Index(Expr),
}

/// Words that cannot name a value.
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "matches", "exists", "empty", "is", "let", "require", "else", "for",
    "when", "policy",
];

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    let span = l.span.to(r.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
        span,
    }
}

fn test_expr(e: Expr, t: Test, negated: bool, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Test(Box::new(e), t, negated),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Null => "null".into(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Num(n) => n.to_string(),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::List(items) => format!(
                "[{}]",
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Var(v) => v.clone(),
            ExprKind::Current => "@".into(),
            ExprKind::Field(b, n) => format!("{}.{}", show(b), n.name),
            ExprKind::Index(b, i) => format!("{}[{}]", show(b), show(i)),
            ExprKind::Wildcard(b) => format!("{}[*]", show(b)),
            ExprKind::Filter(b, p) => format!("{}[? {}]", show(b), show(p)),
            ExprKind::Call { ns, name, args } => format!(
                "{}{}({})",
                ns.as_ref()
                    .map_or(String::new(), |n| format!("{}.", n.name)),
                name.name,
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Unary(UnOp::Not, e) => format!("(not {})", show(e)),
            ExprKind::Unary(UnOp::Neg, e) => format!("(-{})", show(e)),
            ExprKind::Binary(op, l, r) => format!("({} {op} {})", show(l), show(r)),
            ExprKind::Matches(e, re) => format!("({} matches {:?})", show(e), re.value),
            ExprKind::Test(e, t, neg) => {
                format!("({} {}{t:?})", show(e), if *neg { "not " } else { "" })
            }
            ExprKind::Quant { q, var, list, body } => {
                format!("({q:?} {} in {}: {})", var.name, show(list), show(body))
            }
        }
    }

    fn p(s: &str) -> String {
        show(&parse_expr(s).unwrap_or_else(|e| panic!("{s}: {e:?}")))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(p("a or b and not c"), "(a or (b and (not c)))");
        assert_eq!(p("1 + 2 * 3 == 7"), "((1 + (2 * 3)) == 7)");
        assert_eq!(p("x.A not in [1, -2]"), "(x.A not in [1, -2])");
        assert_eq!(
            p("x.B not exists and x.C empty"),
            "((x.B not Exists) and (x.C Empty))"
        );
        assert_eq!(p("x is not string"), "(x not Is(String))");
    }

    #[test]
    fn paths_filters_and_calls() {
        assert_eq!(p("v.Rules[*].Port[0]"), "v.Rules[*].Port[0]");
        assert_eq!(p("v.Tags[\"aws:x\"]"), "v.Tags[\"aws:x\"]");
        assert_eq!(p("v.R[? @.P == 22].Q"), "v.R[? (@.P == 22)].Q");
        assert_eq!(p("kms.key(v.KmsKeyId).state"), "kms.key(v.KmsKeyId).state");
        assert_eq!(p("len(v.X) > 0"), "(len(v.X) > 0)");
    }

    #[test]
    fn quantifier_body_extends_to_the_end() {
        assert_eq!(
            p("all r in v.R[*]: r.A and r.B"),
            "(All r in v.R[*]: (r.A and r.B))"
        );
        assert_eq!(p("(any r in xs: r) and y"), "((Any r in xs: r) and y)");
        // `any(...)` is a call, not a quantifier.
        assert_eq!(p("any(x)"), "any(x)");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000));
        let e = parse_expr(&deep).expect_err("too deep");
        assert!(e.expected.contains("nesting"), "{e:?}");
        let nots = format!("{}x", "not ".repeat(10_000));
        assert!(parse_expr(&nots).is_err());
    }

    #[test]
    fn long_chains_are_bounded() {
        let chain = vec!["x"; 10_000].join(" and ");
        assert!(parse_expr(&chain).is_err());
        let path = format!("x{}", ".a".repeat(10_000));
        assert!(parse_expr(&path).is_err());
        let ok = vec!["x"; 200].join(" and ");
        assert!(parse_expr(&ok).is_ok());
    }

    #[test]
    fn messages_interpolate() {
        let f = parse_file("policy p { severity low for resource \"A::B::C\" as v require v.X else \"{v.id} has {{x}} {v.X}\" }")
            .expect("parses");
        let Item::Policy(pol) = &f.items[0] else {
            panic!("a policy")
        };
        let Stmt::Require {
            message: Some(m), ..
        } = &pol.blocks[0].stmts[0]
        else {
            panic!("require with message")
        };
        let parts: Vec<String> = m
            .parts
            .iter()
            .map(|p| match p {
                MsgPart::Text(t) => t.clone(),
                MsgPart::Expr(e) => format!("<{}>", show(e)),
            })
            .collect();
        assert_eq!(parts, ["<v.id>", " has {x} ", "<v.X>"]);
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = parse_file("policy p {\n  severity low\n  for resource \"A::B::C\" v\n}")
            .expect_err("no as");
        assert!(e.expected.contains("`as NAME`"), "{e:?}");
        let e = parse_expr("a = 1").expect_err("single =");
        assert!(e.expected.contains("'=='"), "{e:?}");
        let e = parse_file(
            "policy p { severity low for resource \"A::B::C\" as v require v.X else \"oops }",
        )
        .expect_err("unterminated");
        assert!(e.expected.contains("closing"), "{e:?}");
    }
}
