//! Sliding event-time windows over the records of one group, and the episodes
//! that turn threshold crossings into alerts.
//!
//! Records are sorted by event time first, so files may be read in any order
//! and records may arrive out of order. At each record, the window holds the
//! records of the last `window` milliseconds up to and including it:
//! `t - window < time <= t`. When the threshold holds and no episode is open,
//! an alert starts an episode; the episode lasts while records keep coming
//! less than a whole window apart, so a group that keeps scanning alerts once,
//! and alerts again only after it was quiet for a whole window.

use std::collections::{BTreeMap, HashMap};

/// A value an aggregate reads from one record.
#[derive(Clone, Debug, PartialEq)]
pub enum AggVal {
    Absent,
    Num(f64),
    Text(Box<str>),
}

/// A distinct-count key: numbers by their bits, so `22` and `22.0` are one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Distinct {
    Num(u64),
    Text(Box<str>),
}

impl AggVal {
    fn distinct(&self) -> Option<Distinct> {
        match self {
            AggVal::Absent => None,
            AggVal::Num(n) => Some(Distinct::Num(if *n == 0.0 { 0 } else { n.to_bits() })),
            AggVal::Text(t) => Some(Distinct::Text(t.clone())),
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            AggVal::Num(n) => Some(*n),
            AggVal::Text(t) => t.trim().parse().ok(),
            AggVal::Absent => None,
        }
    }
}

/// What each aggregate computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggKind {
    Count,
    CountDistinct,
    Sum,
    Min,
    Max,
}

/// One record of a group: when, where, and the values its aggregates read.
#[derive(Clone, Debug)]
pub struct Entry {
    pub time: i64,
    pub file: u32,
    pub line: u32,
    pub vals: Vals,
}

/// The values of a record's aggregates, inline for the common case of one.
#[derive(Clone, Debug)]
pub enum Vals {
    None,
    One(AggVal),
    Many(Box<[AggVal]>),
}

impl Vals {
    pub fn from_vec(mut v: Vec<AggVal>) -> Vals {
        match v.len() {
            0 => Vals::None,
            1 => Vals::One(v.pop().unwrap_or(AggVal::Absent)),
            _ => Vals::Many(v.into_boxed_slice()),
        }
    }

    pub fn get(&self, i: usize) -> Option<&AggVal> {
        match self {
            Vals::None => None,
            Vals::One(v) => (i == 0).then_some(v),
            Vals::Many(vs) => vs.get(i),
        }
    }
}

impl From<Vec<AggVal>> for Vals {
    fn from(v: Vec<AggVal>) -> Vals {
        Vals::from_vec(v)
    }
}

/// An alert of one group: the records of its episode.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// The first record that contributes: the oldest in the window when the
    /// threshold was crossed.
    pub first: (i64, u32, u32),
    /// The record at which the threshold was crossed.
    pub trigger: (i64, u32, u32),
    /// The last record of the episode.
    pub last_time: i64,
    /// Records from the first contributing one to the end of the episode.
    pub count: usize,
    /// The files those records came from.
    pub files: Vec<u32>,
    /// The aggregate values of the episode's fullest window (each aggregate's
    /// largest value while the episode lasted): "reached 12 distinct ports",
    /// not only the 10 that crossed the threshold.
    pub values: Vec<f64>,
}

/// The aggregates of the records in the current window, kept incrementally.
struct State<'a> {
    kinds: &'a [AggKind],
    count: usize,
    distinct: Vec<HashMap<Distinct, usize>>,
    sums: Vec<f64>,
    /// Multisets for min and max (ordered by the number's total order).
    ordered: Vec<BTreeMap<OrdF64, usize>>,
}

#[derive(Clone, Copy, Debug)]
struct OrdF64(f64);
impl PartialEq for OrdF64 {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0).is_eq()
    }
}
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

impl<'a> State<'a> {
    fn new(kinds: &'a [AggKind]) -> Self {
        State {
            kinds,
            count: 0,
            distinct: kinds.iter().map(|_| HashMap::new()).collect(),
            sums: vec![0.0; kinds.len()],
            ordered: kinds.iter().map(|_| BTreeMap::new()).collect(),
        }
    }

    fn add(&mut self, e: &Entry) {
        self.count += 1;
        for (i, k) in self.kinds.iter().enumerate() {
            let v = e.vals.get(i).unwrap_or(&AggVal::Absent);
            match k {
                AggKind::Count => {}
                AggKind::CountDistinct => {
                    if let Some(d) = v.distinct() {
                        *self.distinct[i].entry(d).or_insert(0) += 1;
                    }
                }
                AggKind::Sum => self.sums[i] += v.num().unwrap_or(0.0),
                AggKind::Min | AggKind::Max => {
                    if let Some(n) = v.num() {
                        *self.ordered[i].entry(OrdF64(n)).or_insert(0) += 1;
                    }
                }
            }
        }
    }

    fn remove(&mut self, e: &Entry) {
        self.count -= 1;
        for (i, k) in self.kinds.iter().enumerate() {
            let v = e.vals.get(i).unwrap_or(&AggVal::Absent);
            match k {
                AggKind::Count => {}
                AggKind::CountDistinct => {
                    if let Some(d) = v.distinct() {
                        if let Some(c) = self.distinct[i].get_mut(&d) {
                            *c -= 1;
                            if *c == 0 {
                                self.distinct[i].remove(&d);
                            }
                        }
                    }
                }
                AggKind::Sum => self.sums[i] -= v.num().unwrap_or(0.0),
                AggKind::Min | AggKind::Max => {
                    if let Some(n) = v.num() {
                        let key = OrdF64(n);
                        if let Some(c) = self.ordered[i].get_mut(&key) {
                            *c -= 1;
                            if *c == 0 {
                                self.ordered[i].remove(&key);
                            }
                        }
                    }
                }
            }
        }
    }

    fn values(&self) -> Vec<f64> {
        self.kinds
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                AggKind::Count => self.count as f64,
                AggKind::CountDistinct => self.distinct[i].len() as f64,
                AggKind::Sum => self.sums[i],
                AggKind::Min => self.ordered[i].keys().next().map_or(f64::NAN, |k| k.0),
                AggKind::Max => self.ordered[i].keys().next_back().map_or(f64::NAN, |k| k.0),
            })
            .collect()
    }
}

/// Sweeps one group's records (sorted here) and returns its alerts.
/// `threshold` judges the aggregate values of a window. Without a window
/// (`None`), the whole group is one window and one episode.
pub fn sweep(
    entries: &mut [Entry],
    kinds: &[AggKind],
    window: Option<i64>,
    threshold: &mut dyn FnMut(&[f64]) -> bool,
) -> Vec<Alert> {
    entries.sort_by_key(|e| (e.time, e.file, e.line));
    let mut alerts: Vec<Alert> = Vec::new();
    let mut state = State::new(kinds);
    let mut start = 0;
    // The open episode: index of its alert in `alerts`.
    let mut open: Option<usize> = None;
    let mut prev_time: Option<i64> = None;
    for i in 0..entries.len() {
        let t = entries[i].time;
        if let (Some(w), Some(p)) = (window, prev_time) {
            // Quiet for a whole window: the episode is over.
            if t - p >= w {
                open = None;
            }
        }
        prev_time = Some(t);
        state.add(&entries[i]);
        if let Some(w) = window {
            while entries[start].time <= t - w {
                state.remove(&entries[start]);
                start += 1;
            }
        }
        match open {
            Some(a) => {
                alerts[a].count += 1;
                alerts[a].last_time = t;
                if !alerts[a].files.contains(&entries[i].file) {
                    alerts[a].files.push(entries[i].file);
                }
                let now = state.values();
                for (peak, v) in alerts[a].values.iter_mut().zip(now) {
                    if v > *peak {
                        *peak = v;
                    }
                }
            }
            None => {
                let values = state.values();
                if threshold(&values) {
                    let f = &entries[start];
                    let mut files: Vec<u32> = entries[start..=i].iter().map(|e| e.file).collect();
                    files.sort_unstable();
                    files.dedup();
                    alerts.push(Alert {
                        first: (f.time, f.file, f.line),
                        trigger: (t, entries[i].file, entries[i].line),
                        last_time: t,
                        count: i - start + 1,
                        values,
                        files,
                    });
                    open = Some(alerts.len() - 1);
                }
            }
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(time: i64, line: u32, port: f64) -> Entry {
        Entry {
            time,
            file: 0,
            line,
            vals: vec![AggVal::Num(port)].into(),
        }
    }

    fn distinct_at_least(n: f64) -> impl FnMut(&[f64]) -> bool {
        move |v: &[f64]| v[0] >= n
    }

    #[test]
    fn threshold_at_and_below_and_out_of_order() {
        // 10 distinct ports within a minute, given out of order.
        let mut es: Vec<Entry> = (0..10)
            .rev()
            .map(|i| e(i * 1000, i as u32 + 1, 1000.0 + i as f64))
            .collect();
        let a = sweep(
            &mut es,
            &[AggKind::CountDistinct],
            Some(60_000),
            &mut distinct_at_least(10.0),
        );
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].first, (0, 0, 1));
        assert_eq!(a[0].trigger, (9000, 0, 10));
        assert_eq!(a[0].values, vec![10.0]);
        // 9 distinct ports: no alert.
        let mut es: Vec<Entry> = (0..9)
            .map(|i| e(i * 1000, i as u32 + 1, 1000.0 + i as f64))
            .collect();
        assert!(sweep(
            &mut es,
            &[AggKind::CountDistinct],
            Some(60_000),
            &mut distinct_at_least(10.0)
        )
        .is_empty());
    }

    #[test]
    fn window_edge_is_exclusive_of_the_oldest_instant() {
        // Records at 0 and at exactly one window later are not in one window.
        let mut es = vec![e(0, 1, 1.0), e(60_000, 2, 2.0)];
        let a = sweep(
            &mut es,
            &[AggKind::CountDistinct],
            Some(60_000),
            &mut distinct_at_least(2.0),
        );
        assert!(a.is_empty());
        let mut es = vec![e(1, 1, 1.0), e(60_000, 2, 2.0)];
        let a = sweep(
            &mut es,
            &[AggKind::CountDistinct],
            Some(60_000),
            &mut distinct_at_least(2.0),
        );
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn one_alert_per_episode() {
        // A steady scan alerts once; after a quiet window it alerts again.
        let mut es: Vec<Entry> = (0..30).map(|i| e(i * 1000, i as u32, i as f64)).collect();
        es.extend((0..30).map(|i| e(200_000 + i * 1000, 100 + i as u32, i as f64)));
        let a = sweep(
            &mut es,
            &[AggKind::CountDistinct],
            Some(60_000),
            &mut distinct_at_least(10.0),
        );
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].count, 30);
        assert_eq!(a[0].last_time, 29_000);
        assert_eq!(a[1].first.0, 200_000);
    }

    #[test]
    fn sums_mins_maxes_slide() {
        let mut es: Vec<Entry> = [(0, 5.0), (10, 1.0), (20, 9.0), (100, 2.0)]
            .iter()
            .enumerate()
            .map(|(i, (t, v))| Entry {
                time: *t,
                file: 0,
                line: i as u32,
                vals: vec![AggVal::Num(*v), AggVal::Num(*v), AggVal::Num(*v)].into(),
            })
            .collect();
        let mut seen = Vec::new();
        sweep(
            &mut es,
            &[AggKind::Sum, AggKind::Min, AggKind::Max],
            Some(50),
            &mut |v| {
                seen.push(v.to_vec());
                false
            },
        );
        assert_eq!(
            seen,
            vec![
                vec![5.0, 5.0, 5.0],
                vec![6.0, 1.0, 5.0],
                vec![15.0, 1.0, 9.0],
                vec![2.0, 2.0, 2.0]
            ]
        );
    }
}
