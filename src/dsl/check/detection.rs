//! Checking detections: the log source, its record fields (a misspelt `f.dstprt`
//! is an error with "did you mean"), grouping, windows and aggregates.

use std::collections::HashMap;

use super::{Checker, Scope, Ty};
use crate::dsl::ast::*;
use crate::dsl::diag::{did_you_mean, Diag, PolicySource};
use crate::schema::logs::{self as logschema, FieldKind, LogSource};

/// Metadata a detection may have: a policy's, GuardDuty's finding type and the
/// kind of action its findings describe.
pub const DETECTION_META: &[&str] = &[
    "title",
    "severity",
    "description",
    "remediation",
    "controls",
    "references",
    "tags",
    "type",
    "action",
];

/// GuardDuty `service.action.actionType` values, as written in `action`.
pub const ACTIONS: &[&str] = &[
    "network_connection",
    "aws_api_call",
    "dns_request",
    "port_probe",
];

impl Checker<'_, '_> {
    /// Refuses an id already used by a policy or detection of any loaded file.
    pub(super) fn unique_id(
        &mut self,
        what: &str,
        id: &Ident,
        si: usize,
        sources: &[PolicySource],
        seen: &mut HashMap<String, (usize, Span)>,
    ) {
        if let Some((prev_src, prev_span)) = seen.get(&id.name) {
            let prev = &sources[*prev_src];
            let (line, _) = super::line_col(&prev.text, prev_span.start);
            self.diags.push(
                Diag::error("duplicate-policy", self.src, id.span, format!("duplicate {what} id `{}`", id.name))
                    .label("defined again here")
                    .help(format!(
                        "`{}` is already defined at {}:{line}; policy and detection ids must be unique — rename one",
                        id.name, prev.name
                    )),
            );
        } else {
            seen.insert(id.name.clone(), (si, id.span));
        }
    }

    pub(super) fn detection(&mut self, d: &Detection) {
        let keys = self.meta(&d.meta, DETECTION_META, true);
        if !keys.contains_key("severity") {
            self.diags.push(
                Diag::error(
                    "missing-severity",
                    self.src,
                    d.id.span,
                    format!("detection `{}` has no severity", d.id.name),
                )
                .label("this detection")
                .help("add `severity 5.0` (GuardDuty's scale) or `severity medium`"),
            );
        }
        let Some(source) = LogSource::parse(&d.source.name) else {
            let names: Vec<&str> = LogSource::ALL.iter().map(|s| s.as_str()).collect();
            let mut diag = Diag::error(
                "unknown-source",
                self.src,
                d.source.span,
                format!("unknown log source `{}`", d.source.name),
            )
            .label("not a log source");
            diag = match did_you_mean(&d.source.name, names.iter().copied()) {
                Some(s) => diag.help(format!("did you mean `{s}`?")),
                None => diag.help(format!("log sources are: {}", names.join(", "))),
            };
            self.diags.push(diag);
            return;
        };
        let mut scope = Scope {
            detection: true,
            ..Scope::default()
        };
        scope
            .vars
            .push((d.binding.name.clone(), Ty::LogRec(source), None));
        // `let`s come first: `where` may use them.
        for (name, value) in &d.lets {
            let t = self.expr(value, &mut scope);
            self.bind_let(&mut scope, name, t);
        }
        if let Some(f) = &d.filter {
            let before = self.errors();
            let t = self.expr(f, &mut scope);
            self.expect_condition(f, &t);
            if self.errors() == before {
                self.lint_where(f);
            }
        }
        if let Some(g) = &d.group {
            for k in &g.keys {
                let t = self.expr(k, &mut scope);
                if matches!(t, Ty::LogRec(_)) {
                    self.diags.push(
                        Diag::error(
                            "bad-group",
                            self.src,
                            k.span,
                            "group by a field of the record, not the whole record",
                        )
                        .help("for example `group by f.srcaddr, f.dstaddr`"),
                    );
                }
            }
        }
        if let Some(r) = &d.resource {
            self.expr(r, &mut scope);
        }
        scope.aggregates = true;
        // Names bound per record; outside an aggregate they have no value once a
        // window is judged.
        let mut per_record: Vec<&str> = vec![d.binding.name.as_str()];
        per_record.extend(d.lets.iter().map(|(n, _)| n.name.as_str()));
        match &d.alert {
            Some(a) => {
                let t = self.expr(a, &mut scope);
                self.expect_condition(a, &t);
                if let Some(span) = outside_aggregate(a, &per_record) {
                    self.diags.push(
                        Diag::error("record-in-alert", self.src, span, "`alert when` judges a window, not one record")
                            .label("a record field outside an aggregate")
                            .help("read record fields inside an aggregate (`count_distinct(f.dstport) >= 10`), or filter records with `where`"),
                    );
                }
                if d.group.is_none() {
                    self.diags.push(
                        Diag::error("alert-without-window", self.src, a.span, "`alert when` needs `group by ... window ...`")
                            .help("a threshold counts records over a window: add `group by KEYS window 10m`; without grouping every matching record alerts"),
                    );
                }
            }
            None if d.group.is_some() => {
                let g = d.group.as_ref().map(|g| g.window_span).unwrap_or_default();
                self.diags.push(
                    Diag::error("missing-alert", self.src, g, "a grouped detection needs `alert when THRESHOLD`")
                        .help("for example `alert when count() >= 20` or `alert when count_distinct(f.dstport) >= 10`"),
                );
            }
            None => {}
        }
        if let Some(m) = &d.message {
            for part in &m.parts {
                if let MsgPart::Expr(e) = part {
                    self.expr(e, &mut scope);
                    if contains_aggregate(e) {
                        if let Some(span) = outside_aggregate(e, &per_record) {
                            self.diags.push(
                                Diag::error("record-in-alert", self.src, span, "a message part with an aggregate cannot also read a record field")
                                    .help("write the field and the aggregate in separate `{...}` parts"),
                            );
                        }
                    }
                }
            }
        }
    }

    /// A field of a log record (or of an object inside one).
    /// `top` is the record itself (`Some(source)`), else an object inside one.
    pub(super) fn log_field(
        &mut self,
        top: Option<LogSource>,
        fields: &'static [(&'static str, FieldKind)],
        name: &Ident,
    ) -> Ty {
        let found = if top == Some(LogSource::FlowLog) {
            logschema::flow_field(&name.name)
        } else {
            logschema::lookup(fields, &name.name)
        };
        if let Some((_, kind)) = found {
            return Ty::Log(kind);
        }
        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        let spelled: Vec<String> = names.iter().map(|n| n.replace('-', "_")).collect();
        let suggestion = did_you_mean(&name.name, spelled.iter().map(String::as_str));
        let what = match top {
            Some(source) => format!("{} records", source.describe()),
            None => "this object".to_string(),
        };
        let mut d = Diag::error(
            "unknown-field",
            self.src,
            name.span,
            format!("unknown field `{}` of {what}", name.name),
        )
        .label("not a field of the record");
        d = match suggestion {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => {
                let list: Vec<&str> = spelled.iter().take(16).map(String::as_str).collect();
                let more = if spelled.len() > 16 { ", ..." } else { "" };
                d.help(format!("fields here: {}{more}", list.join(", ")))
            }
        };
        self.diags.push(d);
        Ty::Any
    }

    /// `count()`, `count_distinct(x)`, `sum(x)`, `min(x)`, `max(x)`.
    pub(super) fn aggregate(
        &mut self,
        e: &Expr,
        agg: &(&'static str, usize, &'static str),
        args: &[Expr],
        scope: &mut Scope,
    ) -> Ty {
        if !scope.aggregates {
            let place = if scope.detection {
                "a detection's `alert when` and `message`"
            } else {
                "detections (`alert when` and `message`)"
            };
            let hint = if agg.0 == "count" && agg.1 == 0 {
                "; `count(list)` counts the items of a list"
            } else {
                ""
            };
            self.diags.push(
                Diag::error(
                    "misplaced-aggregate",
                    self.src,
                    e.span,
                    format!("the aggregate `{}` is only allowed in {place}", agg.0),
                )
                .help(format!("{}: {}{hint}", agg.0, agg.2)),
            );
            return Ty::Num;
        }
        // The aggregated values are per record, so the arguments are read without
        // aggregates in scope.
        scope.aggregates = false;
        for a in args {
            let t = self.expr(a, scope);
            if agg.0 != "count_distinct" {
                self.expect_num(a, &t, &format!("`{}`", agg.0));
            }
        }
        scope.aggregates = true;
        Ty::Num
    }
}

fn is_aggregate_call(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { ns: None, name, args } if crate::compile::funcs::aggregate(&name.name, args.len()).is_some())
}

fn contains_aggregate(e: &Expr) -> bool {
    is_aggregate_call(e) || children(e).into_iter().any(contains_aggregate)
}

/// The first use of a per-record name that is not inside an aggregate.
fn outside_aggregate(e: &Expr, names: &[&str]) -> Option<Span> {
    if is_aggregate_call(e) {
        return None;
    }
    if let ExprKind::Var(n) = &e.kind {
        if names.contains(&n.as_str()) {
            return Some(e.span);
        }
    }
    children(e)
        .into_iter()
        .find_map(|c| outside_aggregate(c, names))
}

fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::List(items) => items.iter().collect(),
        ExprKind::Field(a, _)
        | ExprKind::Wildcard(a)
        | ExprKind::Unary(_, a)
        | ExprKind::Matches(a, _)
        | ExprKind::Test(a, _, _) => vec![a],
        ExprKind::Index(a, b) | ExprKind::Filter(a, b) | ExprKind::Binary(_, a, b) => vec![a, b],
        ExprKind::Call { args, .. } => args.iter().collect(),
        ExprKind::Quant { list, body, .. } => vec![list, body],
        _ => vec![],
    }
}
