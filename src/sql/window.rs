//! Windows and episodes in SQL, with the native meaning (`detect::window`).
//!
//! At each record the window holds a group's records with
//! `t - window < time <= t`. An episode is a run of a group's records less
//! than a whole window apart; its alert is at the first record where the
//! threshold holds, and counts the records from the oldest in that window to
//! the end of the episode. Only the time of that first record matters for the
//! alert (its first-seen time and count follow from it), which is what lets
//! SQL's RANGE frames — which take every record of the same timestamp at once
//! — give the same alerts when the threshold only ever becomes true as
//! records are added (`count() >= 20`, `count_distinct(x) >= 10`, `max(x) > k`,
//! `min(x) < k`, `sum` of counters). A threshold that can turn false again as
//! records come (`count() == 5`, `count() < 3`) is exact only for counts,
//! numbered record by record; anything else is refused.

use crate::compile::ir::{Aggregate, Const, Expr};
use crate::dsl::ast::BinOp;

/// How the window's aggregates are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frames {
    /// RANGE frames: the threshold is monotone in the window's records.
    Range,
    /// Counts numbered row by row: a non-monotone threshold over counts only.
    RowCounts,
}

/// Which aggregates the alert reads (by index).
fn used(e: &Expr, out: &mut Vec<usize>) {
    match e {
        Expr::Agg(i) => out.push(*i),
        Expr::Bin(_, a, b) => {
            used(a, out);
            used(b, out);
        }
        Expr::Not(a) | Expr::Neg(a) | Expr::Test(a, _, _) | Expr::Matches(a, _) => used(a, out),
        Expr::Call(_, args) | Expr::List(args) => args.iter().for_each(|a| used(a, out)),
        _ => {}
    }
}

/// The aggregates the alert reads.
pub fn read_by(alert: Option<&Expr>) -> Vec<usize> {
    let mut out = Vec::new();
    if let Some(a) = alert {
        used(a, &mut out);
    }
    out
}

/// Whether the alert can only turn from false to true as records join the
/// window: and/or of `increasing >= k`, `increasing > k`, `decreasing <= k`,
/// `decreasing < k`. `nonneg[i]` says a sum's inputs are never negative.
pub fn monotone(e: &Expr, aggs: &[Aggregate], nonneg: &[bool]) -> bool {
    let num = |e: &Expr| matches!(e, Expr::Const(Const::Num(n)) if n.is_finite());
    let grows = |i: usize| match aggs.get(i) {
        Some(Aggregate::Count | Aggregate::CountDistinct(_) | Aggregate::Max(_)) => Some(true),
        Some(Aggregate::Sum(_)) if nonneg.get(i).copied().unwrap_or(false) => Some(true),
        Some(Aggregate::Min(_)) => Some(false),
        _ => None,
    };
    match e {
        Expr::Bin(BinOp::And | BinOp::Or, a, b) => {
            monotone(a, aggs, nonneg) && monotone(b, aggs, nonneg)
        }
        Expr::Bin(op, a, b) => {
            let (agg, op) = match (&**a, &**b) {
                (Expr::Agg(i), k) if num(k) => (*i, *op),
                (k, Expr::Agg(i)) if num(k) => (
                    *i,
                    match op {
                        BinOp::Lt => BinOp::Gt,
                        BinOp::Le => BinOp::Ge,
                        BinOp::Gt => BinOp::Lt,
                        BinOp::Ge => BinOp::Le,
                        other => *other,
                    },
                ),
                _ => return false,
            };
            matches!(
                (grows(agg), op),
                (Some(true), BinOp::Ge | BinOp::Gt) | (Some(false), BinOp::Le | BinOp::Lt)
            )
        }
        _ => false,
    }
}

/// The frames for an alert, or why SQL cannot reproduce it.
pub fn frames(alert: Option<&Expr>, aggs: &[Aggregate], nonneg: &[bool]) -> Result<Frames, String> {
    let Some(a) = alert else {
        return Ok(Frames::Range);
    };
    if monotone(a, aggs, nonneg) {
        return Ok(Frames::Range);
    }
    let mut idx = Vec::new();
    used(a, &mut idx);
    if idx
        .iter()
        .all(|i| matches!(aggs.get(*i), Some(Aggregate::Count)))
    {
        return Ok(Frames::RowCounts);
    }
    Err("the alert condition can turn false again as records join the window (it is not a \
         threshold such as `count() >= N`, `count_distinct(x) >= N`, `max(x) > N` or `min(x) < N`); \
         SQL window frames take all records of one timestamp at once, so only such thresholds, \
         or any condition over count() alone, give the native engine's alerts"
        .into())
}

/// What the window part needs to know.
pub struct WindowSpec<'a> {
    /// Partition columns of a group (the keys, or the resource without keys).
    pub group: Vec<String>,
    /// `None`: the whole group is one window and one episode.
    pub window_ms: Option<i64>,
    /// Per aggregate: its SQL over the frame, built by `aggregate`.
    pub aggregates: Vec<String>,
    /// The alert over `g0, g1, ...`; `None` alerts at the first record.
    pub alert: Option<String>,
    pub min_by: &'a dyn Fn(&str) -> String,
}

/// The frame clause of the window ending at the current record.
pub fn over(group: &[String], window_ms: Option<i64>) -> String {
    let part = partition(group);
    match window_ms {
        Some(w) => format!(
            "PARTITION BY {part} ORDER BY t_ms RANGE BETWEEN {} PRECEDING AND CURRENT ROW",
            w - 1
        ),
        None => format!(
            "PARTITION BY {part} ORDER BY t_ms RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        ),
    }
}

fn partition(group: &[String]) -> String {
    let mut cols = group.to_vec();
    cols.push("db_ep".into());
    cols.join(", ")
}

/// A count numbered record by record: the records up to this one in the
/// episode, less those a whole window older.
pub fn row_count(group: &[String], window_ms: Option<i64>) -> String {
    let part = partition(group);
    match window_ms {
        Some(w) => format!(
            "(row_number() OVER (PARTITION BY {part} ORDER BY t_ms) - COALESCE(count(*) OVER (PARTITION BY {part} ORDER BY t_ms RANGE BETWEEN UNBOUNDED PRECEDING AND {w} PRECEDING), 0))"
        ),
        None => format!("row_number() OVER (PARTITION BY {part} ORDER BY t_ms)"),
    }
}

/// The CTEs from the matching records (`m`) to the alerts (`alerts`).
pub fn ctes(spec: &WindowSpec<'_>) -> Vec<String> {
    let group = spec.group.join(", ");
    let mut out = Vec::new();
    match spec.window_ms {
        Some(w) => {
            // An episode starts at a record a whole window after the one before.
            out.push(format!(
                "e AS (\n  SELECT *, max(t_ms) OVER (PARTITION BY {group} ORDER BY t_ms RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS db_prev\n  FROM m\n)"
            ));
            out.push(format!(
                "ep AS (\n  SELECT *, sum(CASE WHEN db_prev IS NULL OR t_ms - db_prev >= {w} THEN 1 ELSE 0 END) OVER (PARTITION BY {group} ORDER BY t_ms RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS db_ep\n  FROM e\n)"
            ));
        }
        None => out.push("ep AS (\n  SELECT *, 1 AS db_ep\n  FROM m\n)".into()),
    }
    let aggs: Vec<String> = spec
        .aggregates
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{a} AS g{i}"))
        .collect();
    out.push(if aggs.is_empty() {
        "w AS (\n  SELECT *\n  FROM ep\n)".into()
    } else {
        format!(
            "w AS (\n  SELECT *,\n    {}\n  FROM ep\n)",
            aggs.join(",\n    ")
        )
    });
    let part = partition(&spec.group);
    let trig = match &spec.alert {
        Some(a) => format!("min(CASE WHEN {a} THEN t_ms END) OVER (PARTITION BY {part})"),
        None => format!("min(t_ms) OVER (PARTITION BY {part})"),
    };
    out.push(format!(
        "x AS (\n  SELECT *, {trig} AS db_trig\n  FROM w\n)"
    ));
    let since = match spec.window_ms {
        Some(w) => format!(" AND t_ms > db_trig - {w}"),
        None => String::new(),
    };
    out.push(format!(
        "alerts AS (\n  SELECT {group}, {}, min(t_ms) AS first_ms, max(t_ms) AS last_ms, count(*) AS n,\n    {} AS first_file, {} AS first_resource\n  FROM x\n  WHERE db_trig IS NOT NULL{since}\n  GROUP BY {group}, {}, db_ep\n)",
        "db_key",
        (spec.min_by)("src_file"),
        (spec.min_by)("res"),
        "db_key"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ge(i: usize, n: f64) -> Expr {
        Expr::Bin(
            BinOp::Ge,
            Box::new(Expr::Agg(i)),
            Box::new(Expr::Const(Const::Num(n))),
        )
    }

    #[test]
    fn thresholds_that_only_grow_use_range_frames() {
        let aggs = [Aggregate::Count, Aggregate::Min(Expr::Current)];
        assert_eq!(
            frames(Some(&ge(0, 20.0)), &aggs, &[false, false]),
            Ok(Frames::Range)
        );
        let lt_min = Expr::Bin(
            BinOp::Gt,
            Box::new(Expr::Const(Const::Num(3.0))),
            Box::new(Expr::Agg(1)),
        );
        assert_eq!(
            frames(Some(&lt_min), &aggs, &[false, false]),
            Ok(Frames::Range)
        );
        let eq = Expr::Bin(
            BinOp::Eq,
            Box::new(Expr::Agg(0)),
            Box::new(Expr::Const(Const::Num(5.0))),
        );
        assert_eq!(
            frames(Some(&eq), &aggs, &[false, false]),
            Ok(Frames::RowCounts)
        );
        assert!(frames(Some(&ge(1, 2.0)), &aggs, &[false, false]).is_err());
        let sum = [Aggregate::Sum(Expr::Current)];
        assert_eq!(frames(Some(&ge(0, 1e6)), &sum, &[true]), Ok(Frames::Range));
        assert!(frames(Some(&ge(0, 1e6)), &sum, &[false]).is_err());
    }
}
