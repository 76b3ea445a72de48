//! Running detections over records: each record is judged by every detection of
//! its source, matching records are grouped, and after all input is read each
//! group's window is swept for alerts. Records are fed in chunks, possibly from
//! several threads; each chunk fills a [`Partial`] and partials are merged.

use std::collections::HashMap;

use super::window::{sweep, AggKind, AggVal, Alert, Entry};
use crate::compile::ir::{Aggregate, Detection, Expr, MsgPart};
use crate::eval::records::{RecordCtx, RecordEval, Truth};
use crate::eval::{LogFields, Params};
use crate::schema::logs::LogSource;

/// One record as the engine sees it.
pub enum Record<'a> {
    /// A JSON event (CloudTrail, Route 53).
    Event {
        line: u32,
        /// Epoch milliseconds.
        time: Option<i64>,
        value: &'a crate::doc::Value,
    },
    /// A typed record (VPC flow logs), fields by index in `FLOW_FIELDS`.
    Fields {
        line: u32,
        time: Option<i64>,
        fields: &'a dyn LogFields,
    },
}

impl Record<'_> {
    fn line(&self) -> u32 {
        match self {
            Record::Event { line, .. } | Record::Fields { line, .. } => *line,
        }
    }
    fn time(&self) -> Option<i64> {
        match self {
            Record::Event { time, .. } | Record::Fields { time, .. } => *time,
        }
    }
}

/// What the first record of a group says about it: the resource concerned, the
/// message's record-level parts, and the details a GuardDuty finding reports.
#[derive(Clone, Debug)]
pub struct GroupInfo {
    pub resource: String,
    /// Rendered record-level message parts (`None` for parts with aggregates).
    pub parts: Vec<Option<String>>,
    pub summary: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug)]
struct Group {
    entries: Vec<Entry>,
    /// (time, file, line) of the record `info` was taken from: the earliest.
    first: (i64, u32, u32),
    info: GroupInfo,
}

/// Records a detection could not judge, per file: how many, and the first.
#[derive(Clone, Debug)]
pub struct Undecided {
    pub count: usize,
    pub line: u32,
    pub reason: String,
}

/// What some chunks contributed.
#[derive(Debug, Default)]
pub struct Partial {
    groups: HashMap<(usize, String), Group>,
    undecided: HashMap<(usize, u32), Undecided>,
    /// Records read, per file.
    pub records: HashMap<u32, usize>,
}

impl Partial {
    pub fn merge(&mut self, other: Partial) {
        for (k, g) in other.groups {
            match self.groups.get_mut(&k) {
                Some(mine) => {
                    if g.first < mine.first {
                        mine.first = g.first;
                        mine.info = g.info;
                    }
                    mine.entries.extend(g.entries);
                }
                None => {
                    self.groups.insert(k, g);
                }
            }
        }
        for (k, u) in other.undecided {
            let e = self.undecided.entry(k).or_insert(Undecided {
                count: 0,
                line: u.line,
                reason: u.reason.clone(),
            });
            if u.line < e.line {
                e.line = u.line;
                e.reason = u.reason.clone();
            }
            e.count += u.count;
        }
        for (f, n) in other.records {
            *self.records.entry(f).or_insert(0) += n;
        }
    }
}

/// One alert, ready to become a result.
#[derive(Clone, Debug)]
pub struct AlertOut {
    pub detection: usize,
    pub key: String,
    pub alert: Alert,
    pub message: String,
    pub info: GroupInfo,
}

/// The detections of a run and the parameters (lists) they consult.
pub struct Engine<'p> {
    pub detections: &'p [Detection],
    params: &'p Params,
    kinds: Vec<Vec<AggKind>>,
    /// Which message parts hold aggregates, per detection.
    agg_parts: Vec<Vec<bool>>,
}

impl<'p> Engine<'p> {
    pub fn new(detections: &'p [Detection], params: &'p Params) -> Self {
        let kinds = detections
            .iter()
            .map(|d| {
                d.aggregates
                    .iter()
                    .map(|a| match a {
                        Aggregate::Count => AggKind::Count,
                        Aggregate::CountDistinct(_) => AggKind::CountDistinct,
                        Aggregate::Sum(_) => AggKind::Sum,
                        Aggregate::Min(_) => AggKind::Min,
                        Aggregate::Max(_) => AggKind::Max,
                    })
                    .collect()
            })
            .collect();
        let agg_parts = detections
            .iter()
            .map(|d| {
                d.message
                    .iter()
                    .flatten()
                    .map(|p| matches!(p, MsgPart::Expr(e) if has_agg(e)))
                    .collect()
            })
            .collect();
        Engine {
            detections,
            params,
            kinds,
            agg_parts,
        }
    }

    /// Judges a chunk of records of `source` read from file number `file`.
    pub fn feed<'r>(
        &self,
        source: LogSource,
        file: u32,
        records: impl Iterator<Item = Record<'r>>,
        out: &mut Partial,
    ) {
        let ctx = RecordCtx::new(self.params);
        let dets: Vec<(usize, &Detection)> = self
            .detections
            .iter()
            .enumerate()
            .filter(|(_, d)| d.source == source)
            .collect();
        let mut evs: Vec<RecordEval<'_, '_>> =
            dets.iter().map(|(_, d)| ctx.evaluator(d.slots)).collect();
        let mut n = 0;
        for rec in records {
            n += 1;
            for ((di, d), ev) in dets.iter().zip(evs.iter_mut()) {
                match &rec {
                    Record::Event { value, line, .. } => ev.bind_event(value, *line),
                    Record::Fields { fields, line, .. } => ev.bind_fields(*fields, *line),
                }
                self.judge(*di, d, ev, &rec, file, out);
            }
        }
        *out.records.entry(file).or_insert(0) += n;
    }

    fn judge(
        &self,
        di: usize,
        d: &Detection,
        ev: &mut RecordEval<'_, '_>,
        rec: &Record<'_>,
        file: u32,
        out: &mut Partial,
    ) {
        for (slot, e) in &d.lets {
            ev.bind_let(*slot, e);
        }
        if let Some(f) = &d.filter {
            match ev.truth(f) {
                Truth::True => {}
                Truth::False => return,
                Truth::Unknown(reason) => {
                    undecided(out, di, file, rec.line(), reason);
                    return;
                }
            }
        }
        let Some(time) = rec.time() else {
            undecided(
                out,
                di,
                file,
                rec.line(),
                "the record has no event time".into(),
            );
            return;
        };
        let key = if d.keys.is_empty() {
            self.resource(d, ev, rec)
        } else {
            let parts: Vec<String> = d
                .keys
                .iter()
                .map(|k| ev.text(k).unwrap_or_else(|| "-".into()))
                .collect();
            parts.join(" ")
        };
        let vals: Vec<AggVal> = d
            .aggregates
            .iter()
            .map(|a| match a {
                Aggregate::Count => AggVal::Absent,
                Aggregate::CountDistinct(e)
                | Aggregate::Sum(e)
                | Aggregate::Min(e)
                | Aggregate::Max(e) => ev.agg_input(e),
            })
            .collect();
        let entry = Entry {
            time,
            file,
            line: rec.line(),
            vals,
        };
        let here = (time, file, rec.line());
        match out.groups.get_mut(&(di, key.clone())) {
            Some(g) => {
                if here < g.first {
                    g.first = here;
                    g.info = self.info(di, d, ev, rec);
                }
                g.entries.push(entry);
            }
            None => {
                let info = self.info(di, d, ev, rec);
                out.groups.insert(
                    (di, key),
                    Group {
                        entries: vec![entry],
                        first: here,
                        info,
                    },
                );
            }
        }
    }

    fn info(
        &self,
        di: usize,
        d: &Detection,
        ev: &mut RecordEval<'_, '_>,
        rec: &Record<'_>,
    ) -> GroupInfo {
        let parts = d
            .message
            .iter()
            .flatten()
            .zip(&self.agg_parts[di])
            .map(|(p, agg)| match (p, agg) {
                (_, true) => None,
                (MsgPart::Text(t), _) => Some(t.clone()),
                (MsgPart::Expr(e), _) => {
                    Some(ev.message(std::slice::from_ref(&MsgPart::Expr(e.clone()))))
                }
            })
            .collect();
        GroupInfo {
            resource: self.resource(d, ev, rec),
            parts,
            summary: super::finding::summary(d.source, ev, rec),
        }
    }

    /// The resource an alert is about: the detection's `resource`, else the
    /// instance (or interface, or address) of a flow, the principal of an API
    /// call, the instance (or address) that asked a DNS question.
    fn resource(&self, d: &Detection, ev: &mut RecordEval<'_, '_>, rec: &Record<'_>) -> String {
        if let Some(r) = &d.resource {
            if let Some(t) = ev.text(r) {
                return t;
            }
        }
        super::finding::default_resource(d.source, ev, rec)
    }

    /// Sweeps every group and returns the alerts, in a stable order.
    pub fn alerts(&self, partial: &mut Partial) -> Vec<AlertOut> {
        let mut out = Vec::new();
        let mut keys: Vec<(usize, String)> = partial.groups.keys().cloned().collect();
        keys.sort();
        for k in keys {
            let Some(g) = partial.groups.get_mut(&k) else {
                continue;
            };
            let (di, key) = k;
            let d = &self.detections[di];
            let ctx = RecordCtx::new(self.params);
            let mut ev = ctx.evaluator(d.slots);
            let alert = d.alert.clone();
            let mut threshold = |values: &[f64]| match &alert {
                Some(a) => {
                    ev.set_aggregates(values);
                    ev.truth(a) == Truth::True
                }
                None => true,
            };
            let window = if d.keys.is_empty() { None } else { d.window_ms };
            let alerts = sweep(&mut g.entries, &self.kinds[di], window, &mut threshold);
            for a in alerts {
                let message = self.message(d, di, &g.info, &a, &ctx);
                out.push(AlertOut {
                    detection: di,
                    key: key.clone(),
                    alert: a,
                    message,
                    info: g.info.clone(),
                });
            }
        }
        out
    }

    /// The alert's message: record-level parts from the group's first record,
    /// aggregates from the window that crossed the threshold.
    fn message(
        &self,
        d: &Detection,
        di: usize,
        info: &GroupInfo,
        a: &Alert,
        ctx: &RecordCtx<'_>,
    ) -> String {
        let Some(parts) = &d.message else {
            return format!("{} ({})", d.title, info.resource);
        };
        let mut ev2 = ctx.evaluator(d.slots);
        ev2.set_aggregates(&a.values);
        let mut out = String::new();
        for ((p, rendered), agg) in parts.iter().zip(&info.parts).zip(&self.agg_parts[di]) {
            match (rendered, agg) {
                (Some(t), _) => out.push_str(t),
                (None, true) => out.push_str(&ev2.message(std::slice::from_ref(p))),
                (None, false) => {}
            }
        }
        out
    }

    /// Records a detection could not judge, per (detection, file).
    pub fn undecided<'a>(
        &self,
        partial: &'a Partial,
    ) -> impl Iterator<Item = (usize, u32, &'a Undecided)> {
        partial.undecided.iter().map(|((d, f), u)| (*d, *f, u))
    }
}

fn undecided(out: &mut Partial, di: usize, file: u32, line: u32, reason: String) {
    let u = out.undecided.entry((di, file)).or_insert(Undecided {
        count: 0,
        line,
        reason: reason.clone(),
    });
    if line < u.line {
        u.line = line;
        u.reason = reason;
    }
    u.count += 1;
}

/// Whether an expression reads an aggregate.
pub fn has_agg(e: &Expr) -> bool {
    match e {
        Expr::Agg(_) => true,
        Expr::Const(_) | Expr::Var(_) | Expr::Current => false,
        Expr::List(items) => items.iter().any(has_agg),
        Expr::Field(a, _)
        | Expr::Wildcard(a)
        | Expr::Not(a)
        | Expr::Neg(a)
        | Expr::Matches(a, _)
        | Expr::Test(a, _, _) => has_agg(a),
        Expr::Index(a, b) | Expr::Filter(a, b) | Expr::Bin(_, a, b) | Expr::Quant(_, _, a, b) => {
            has_agg(a) || has_agg(b)
        }
        Expr::Call(_, args) => args.iter().any(has_agg),
    }
}
