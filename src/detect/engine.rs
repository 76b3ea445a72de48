//! Running detections over records: each record is judged by every detection of
//! its source, matching records are grouped, and after all input is read each
//! group's window is swept for alerts.
//!
//! Records come in chunks from several threads. Each thread fills its own
//! [`Partial`] (taken from a pool, so there are as many as threads, not as
//! chunks); partials are merged once at the end. A group holds only what its
//! window needs: per record, the time, the position and the aggregated values.
//! What a finding reports about a record (addresses, API, message) is taken
//! when the group is created for event logs, whose groups are few, and from a
//! second look at the alert's first record for flow logs, whose (source,
//! destination) groups can number millions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::spill::{self, Spill};
use super::window::{sweep, AggKind, AggVal, Alert, Entry, Vals};
use crate::compile::ir::{Aggregate, Detection, Expr, MsgPart};
use crate::dsl::ast::BinOp;
use crate::eval::records::{KeyPart, RecordCtx, RecordEval, Truth};
use crate::eval::{LogFields, Params};
use crate::load::LoadError;
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
    pub fn line(&self) -> u32 {
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

/// A group's identity: its keys' values, without text for numbers and addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    One(KeyPart),
    Two(KeyPart, KeyPart),
    Many(Box<[KeyPart]>),
}

impl GroupKey {
    /// The key as text, for results: `10.0.0.1 172.31.0.5`.
    pub fn text(&self) -> String {
        let parts: Vec<String> = match self {
            GroupKey::One(a) => vec![a.text()],
            GroupKey::Two(a, b) => vec![a.text(), b.text()],
            GroupKey::Many(p) => p.iter().map(KeyPart::text).collect(),
        };
        parts.join(" ")
    }
}

/// What the alert's first record says: the resource concerned, the message's
/// record-level parts, and the details a GuardDuty finding reports.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct GroupInfo {
    pub resource: String,
    /// Rendered record-level message parts (`None` for parts with aggregates).
    pub parts: Vec<Option<String>>,
    pub summary: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug)]
pub struct Group {
    /// The group's first entry inline: most groups of a flow log hold one
    /// record, and a group without a heap allocation is a third the size.
    pub(super) head: Entry,
    pub(super) rest: Vec<Entry>,
    /// (time, file, line) of the group's earliest record.
    pub(super) first: (i64, u32, u32),
    /// Taken from the earliest record, for event logs only.
    pub(super) info: Option<Box<GroupInfo>>,
}

type Groups = FxHashMap<(usize, GroupKey), Group>;

/// Adds group `g` to `map`, joining a group of the same key.
fn merge_group(map: &mut Groups, k: (usize, GroupKey), g: Group) {
    match map.get_mut(&k) {
        Some(mine) => {
            if g.first < mine.first {
                mine.first = g.first;
                mine.info = g.info;
            }
            mine.rest.push(g.head);
            mine.rest.extend(g.rest);
        }
        None => {
            map.insert(k, g);
        }
    }
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
    groups: Groups,
    /// Entries held in `groups`, against the spill budget.
    entries: usize,
    undecided: HashMap<(usize, u32), Undecided>,
    /// Records read, per file.
    pub records: HashMap<u32, usize>,
}

impl Partial {
    pub fn merge(&mut self, other: Partial) {
        self.entries += other.entries;
        if self.groups.is_empty() {
            self.groups = other.groups;
        } else {
            for (k, g) in other.groups {
                merge_group(&mut self.groups, k, g);
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

/// One alert, ready to become a result once its `info` is known.
#[derive(Clone, Debug)]
pub struct AlertOut {
    pub detection: usize,
    pub key: GroupKey,
    pub alert: Alert,
    /// `None` for flow logs until the first record is looked at again.
    pub info: Option<GroupInfo>,
}

/// The detections of a run and the parameters (lists) they consult.
pub struct Engine<'p> {
    pub detections: &'p [Detection],
    params: &'p Params,
    kinds: Vec<Vec<AggKind>>,
    /// Which message parts hold aggregates, per detection.
    agg_parts: Vec<Vec<bool>>,
    /// The fewest records a window needs before the alert can hold, per
    /// detection: groups with fewer are never swept.
    min_records: Vec<usize>,
    /// One partial per thread that fed chunks.
    pool: Mutex<Vec<Partial>>,
    /// Entries a partial holds before its groups go to disk.
    budget: usize,
    /// Created at the first spill; `None` if it could not be.
    spill: OnceLock<Option<Spill>>,
    /// Set when a spill failed: groups stay in memory from then on.
    spill_off: AtomicBool,
    /// Spilled groups that could not be read back: the run is incomplete.
    spill_errors: Mutex<Vec<LoadError>>,
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
        let min_records = detections
            .iter()
            .map(|d| {
                d.alert
                    .as_ref()
                    .map_or(1, |a| min_records(a, &d.aggregates))
            })
            .collect();
        Engine {
            detections,
            params,
            kinds,
            agg_parts,
            min_records,
            pool: Mutex::new(Vec::new()),
            budget: spill::budget(),
            spill: OnceLock::new(),
            spill_off: AtomicBool::new(false),
            spill_errors: Mutex::new(Vec::new()),
        }
    }

    /// Judges a chunk of records of `source` read from file number `file`.
    pub fn feed<'r>(
        &self,
        source: LogSource,
        file: u32,
        records: impl Iterator<Item = Record<'r>>,
    ) {
        let mut out = self
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default();
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
                self.judge(*di, d, ev, &rec, file, &mut out);
            }
        }
        *out.records.entry(file).or_insert(0) += n;
        if out.entries >= self.budget {
            self.spill_partial(&mut out);
        }
        if let Ok(mut p) = self.pool.lock() {
            p.push(out);
        }
    }

    /// Moves a partial's groups to disk; what cannot be written stays.
    fn spill_partial(&self, out: &mut Partial) {
        if self.spill_off.load(Ordering::Relaxed) {
            return;
        }
        let Some(spill) = self.spill.get_or_init(|| Spill::create().ok()) else {
            self.spill_off.store(true, Ordering::Relaxed);
            return;
        };
        let (back, err) = spill.write(out.groups.drain().collect());
        out.entries = 0;
        if err.is_some() {
            self.spill_off.store(true, Ordering::Relaxed);
            for (k, g) in back {
                out.entries += 1 + g.rest.len();
                out.groups.insert(k, g);
            }
        }
    }

    /// Errors of the run itself (spilled groups that could not be read back).
    pub fn errors(&self) -> Vec<LoadError> {
        self.spill_errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// Everything the threads contributed.
    pub fn take(&self) -> Partial {
        let mut all = Partial::default();
        if let Ok(mut p) = self.pool.lock() {
            for part in p.drain(..) {
                all.merge(part);
            }
        }
        all
    }

    fn judge<'d>(
        &self,
        di: usize,
        d: &'d Detection,
        ev: &mut RecordEval<'_, 'd>,
        rec: &Record<'d>,
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
                std::rc::Rc::from("the record has no event time"),
            );
            return;
        };
        let key = match d.keys.as_slice() {
            [] => GroupKey::One(KeyPart::Text(self.resource(d, ev, rec).into())),
            [a] => GroupKey::One(ev.key_part(a)),
            [a, b] => GroupKey::Two(ev.key_part(a), ev.key_part(b)),
            many => GroupKey::Many(many.iter().map(|k| ev.key_part(k)).collect()),
        };
        let input = |ev: &mut RecordEval<'_, 'd>, a: &'d Aggregate| match a {
            Aggregate::Count => AggVal::Absent,
            Aggregate::CountDistinct(e)
            | Aggregate::Sum(e)
            | Aggregate::Min(e)
            | Aggregate::Max(e) => ev.agg_input(e),
        };
        let vals = match d.aggregates.as_slice() {
            [] => Vals::None,
            [a] => Vals::One(input(ev, a)),
            many => Vals::Many(many.iter().map(|a| input(ev, a)).collect()),
        };
        let entry = Entry {
            time,
            file,
            line: rec.line(),
            vals,
        };
        out.entries += 1;
        let here = (time, file, rec.line());
        let events = matches!(rec, Record::Event { .. });
        match out.groups.entry((di, key)) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let g = o.get_mut();
                if here < g.first {
                    g.first = here;
                    if events {
                        g.info = Some(Box::new(self.info(di, d, ev, rec)));
                    }
                }
                g.rest.push(entry);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                let info = events.then(|| self.info(di, d, ev, rec));
                v.insert(Group {
                    head: entry,
                    rest: Vec::new(),
                    first: here,
                    info: info.map(Box::new),
                });
            }
        }
    }

    /// What a finding reports about the record bound in `ev`.
    pub fn info<'d>(
        &self,
        di: usize,
        d: &'d Detection,
        ev: &mut RecordEval<'_, 'd>,
        rec: &Record<'d>,
    ) -> GroupInfo {
        let parts = d
            .message
            .iter()
            .flatten()
            .zip(&self.agg_parts[di])
            .map(|(p, agg)| match (p, agg) {
                (_, true) => None,
                (MsgPart::Text(t), _) => Some(t.clone()),
                (MsgPart::Expr(_), _) => Some(ev.message(std::slice::from_ref(p))),
            })
            .collect();
        GroupInfo {
            resource: self.resource(d, ev, rec),
            parts,
            summary: super::finding::summary(d.source, ev, rec),
        }
    }

    /// [`Engine::info`] for a record looked at again: binds it, with its lets.
    pub fn info_of<'d>(&self, di: usize, rec: &Record<'d>) -> GroupInfo
    where
        'p: 'd,
    {
        let d: &'d Detection = &self.detections[di];
        let ctx = RecordCtx::new(self.params);
        let mut ev = ctx.evaluator(d.slots);
        match rec {
            Record::Event { value, line, .. } => ev.bind_event(value, *line),
            Record::Fields { fields, line, .. } => ev.bind_fields(*fields, *line),
        }
        for (slot, e) in &d.lets {
            ev.bind_let(*slot, e);
        }
        self.info(di, d, &mut ev, rec)
    }

    /// The resource an alert is about: the detection's `resource`, else the
    /// instance (or interface, or address) of a flow, the principal of an API
    /// call, the instance (or address) that asked a DNS question.
    fn resource<'d>(
        &self,
        d: &'d Detection,
        ev: &mut RecordEval<'_, 'd>,
        rec: &Record<'d>,
    ) -> String {
        if let Some(r) = &d.resource {
            if let Some(t) = ev.text(r) {
                return t;
            }
        }
        super::finding::default_resource(d.source, ev, rec)
    }

    /// Sweeps every group that could alert (in parallel) and returns the
    /// alerts, in a stable order. Spilled groups are swept one partition at
    /// a time, with the groups still in memory joined to their partition.
    pub fn alerts(&self, partial: &mut Partial) -> Vec<AlertOut> {
        let in_memory: Vec<((usize, GroupKey), Group)> = partial.groups.drain().collect();
        partial.entries = 0;
        let mut out = match self.spill.get().and_then(Option::as_ref) {
            None => self.sweep_groups(in_memory),
            Some(spill) => {
                let mut by_part: Vec<Vec<((usize, GroupKey), Group)>> =
                    (0..spill::PARTS).map(|_| Vec::new()).collect();
                for (k, g) in in_memory {
                    by_part[spill::part_of(k.0, &k.1)].push((k, g));
                }
                let mut out = Vec::new();
                for (p, mine) in by_part.into_iter().enumerate() {
                    let mut map = Groups::default();
                    match spill.read(p) {
                        Ok(groups) => {
                            for (k, g) in groups {
                                merge_group(&mut map, k, g);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut errs) = self.spill_errors.lock() {
                                errs.push(LoadError::new(
                                    spill.dir().display().to_string(),
                                    None,
                                    format!(
                                        "detections lost records moved to disk ({e}); \
                                         their alerts are incomplete"
                                    ),
                                ));
                            }
                        }
                    }
                    for (k, g) in mine {
                        merge_group(&mut map, k, g);
                    }
                    out.extend(self.sweep_groups(map.into_iter().collect()));
                }
                out
            }
        };
        out.sort_by(|a, b| {
            (a.detection, &a.key, a.alert.first).cmp(&(b.detection, &b.key, b.alert.first))
        });
        out
    }

    /// The alerts of `groups`, swept in parallel.
    fn sweep_groups(&self, groups: Vec<((usize, GroupKey), Group)>) -> Vec<AlertOut> {
        groups
            .into_par_iter()
            .filter(|((di, _), g)| 1 + g.rest.len() >= self.min_records[*di])
            .flat_map_iter(|((di, key), g)| {
                let d = &self.detections[di];
                let ctx = RecordCtx::new(self.params);
                let mut ev = ctx.evaluator(d.slots);
                let mut threshold = |values: &[f64]| match &d.alert {
                    Some(a) => {
                        ev.set_aggregates(values);
                        ev.truth(a) == Truth::True
                    }
                    None => true,
                };
                let window = if d.keys.is_empty() { None } else { d.window_ms };
                let mut entries = g.rest;
                entries.push(g.head);
                let info = g.info;
                sweep(&mut entries, &self.kinds[di], window, &mut threshold)
                    .into_iter()
                    .map(|a| AlertOut {
                        detection: di,
                        key: key.clone(),
                        alert: a,
                        info: info.as_deref().cloned(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The alert's message: record-level parts from its first record,
    /// aggregates from the window that crossed the threshold.
    pub fn message(&self, a: &AlertOut) -> String {
        let d = &self.detections[a.detection];
        let info = a.info.clone().unwrap_or_default();
        let Some(parts) = &d.message else {
            return format!("{} ({})", d.title, info.resource);
        };
        let ctx = RecordCtx::new(self.params);
        let mut ev = ctx.evaluator(d.slots);
        ev.set_aggregates(&a.alert.values);
        let mut out = String::new();
        for ((p, rendered), agg) in parts
            .iter()
            .zip(&info.parts)
            .zip(&self.agg_parts[a.detection])
        {
            match (rendered, agg) {
                (Some(t), _) => out.push_str(t),
                (None, true) => out.push_str(&ev.message(std::slice::from_ref(p))),
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

fn undecided(out: &mut Partial, di: usize, file: u32, line: u32, reason: std::rc::Rc<str>) {
    match out.undecided.get_mut(&(di, file)) {
        Some(u) => {
            if line < u.line {
                u.line = line;
                u.reason = reason.to_string();
            }
            u.count += 1;
        }
        None => {
            out.undecided.insert(
                (di, file),
                Undecided {
                    count: 1,
                    line,
                    reason: reason.to_string(),
                },
            );
        }
    }
}

/// The fewest records a window must hold for `alert` to be true: `count() >= 20`
/// and `count_distinct(x) >= 10` need that many records, `and` the larger of
/// its sides, `or` the smaller. Anything else needs one record (a window is
/// only judged at a record), so the bound is always safe.
pub fn min_records(alert: &Expr, aggs: &[Aggregate]) -> usize {
    let counts = |i: &usize| {
        matches!(
            aggs.get(*i),
            Some(Aggregate::Count | Aggregate::CountDistinct(_))
        )
    };
    let num = |e: &Expr| match e {
        Expr::Const(crate::compile::ir::Const::Num(n)) if n.is_finite() => Some(*n),
        _ => None,
    };
    // Records needed for `count op k`, with the count on the left.
    let need = |op: BinOp, k: f64| -> usize {
        let k = k.clamp(0.0, 1e9);
        match op {
            BinOp::Ge => k.ceil() as usize,
            BinOp::Gt => k.floor() as usize + 1,
            BinOp::Eq => k.ceil() as usize,
            _ => 1,
        }
    };
    // `k <= count()` is `count() >= k`.
    let flip = |op: BinOp| match op {
        BinOp::Le => BinOp::Ge,
        BinOp::Lt => BinOp::Gt,
        BinOp::Ge => BinOp::Le,
        BinOp::Gt => BinOp::Lt,
        other => other,
    };
    match alert {
        Expr::Bin(BinOp::And, a, b) => min_records(a, aggs).max(min_records(b, aggs)),
        Expr::Bin(BinOp::Or, a, b) => min_records(a, aggs).min(min_records(b, aggs)),
        Expr::Bin(op, a, b) => match (&**a, &**b) {
            (Expr::Agg(i), k) if counts(i) => num(k).map_or(1, |k| need(*op, k)),
            (k, Expr::Agg(i)) if counts(i) => num(k).map_or(1, |k| need(flip(*op), k)),
            _ => 1,
        }
        .max(1),
        _ => 1,
    }
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
        Expr::Shared(e) => has_agg(e),
        Expr::Bind(args, body) => args.iter().any(|(_, a)| has_agg(a)) || has_agg(body),
    }
}
