//! Event time in epoch milliseconds, as the native loaders compute it: flow
//! records by `start` (else `end`) in seconds; CloudTrail `eventTime` and
//! Route 53 `query_timestamp` parsed as RFC 3339 (`load::logs::time`) with
//! string functions only, so that every engine reads the same instant.

use super::dialect::Dialect;
use super::layout::{Layout, TimeField};
use super::query::Stages;

const RFC3339: &str = "\\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?(?:[Zz]|[+\\-][0-9]{2}:[0-9]{2})\\z";

/// The column that holds the event time, and the level from which it can be read.
pub fn time_ms(
    st: &mut Stages,
    dia: &dyn Dialect,
    layout: &Layout,
) -> Result<(String, usize), String> {
    match layout.time_field(dia)? {
        TimeField::EpochSeconds(sql) => {
            Ok(st.hoist(&format!("CAST({sql} AS BIGINT) * 1000"), 0, "t"))
        }
        TimeField::Rfc3339(col) => {
            let p = st.fresh("t");
            let s = format!("{p}_s");
            st.add(0, &s, col);
            st.add(
                1,
                &format!("{p}_v"),
                format!("COALESCE({}, FALSE)", dia.regex_like(&s, RFC3339)),
            );
            st.add(
                1,
                &format!("{p}_z"),
                format!("CASE WHEN substr({s}, length({s})) IN ('Z', 'z') THEN 1 ELSE 6 END"),
            );
            let (v, z) = (format!("{p}_v"), format!("{p}_z"));
            let num =
                |from: &str, len: usize| format!("TRY_CAST(substr({s}, {from}, {len}) AS BIGINT)");
            let (hh, mi, ss) = (num("12", 2), num("15", 2), num("18", 2));
            let oh = num(&format!("length({s}) - 4"), 2);
            let om = num(&format!("length({s}) - 1"), 2);
            let days = dia.epoch_days(&format!("substr({s}, 1, 10)"));
            let frac = format!(
                "(CASE WHEN substr({s}, 20, 1) = '.' THEN TRY_CAST(rpad(substr({s}, 21, least(3, length({s}) - 20 - {z})), 3, '0') AS BIGINT) ELSE 0 END)"
            );
            let off = format!(
                "(CASE WHEN {z} = 1 THEN 0 ELSE (CASE WHEN substr({s}, length({s}) - 5, 1) = '-' THEN -1 ELSE 1 END) * ({oh} * 60 + {om}) END)"
            );
            let ms = format!("{p}_ms");
            st.add(
                2,
                &ms,
                format!(
                    "CASE WHEN {v} AND {hh} <= 23 AND {mi} <= 59 AND {ss} <= 60 AND ({z} = 1 OR ({oh} <= 23 AND {om} <= 59)) \
                     THEN ({days} * 86400 + {hh} * 3600 + {mi} * 60 + least({ss}, 59) - {off} * 60) * 1000 + {frac} END"
                ),
            );
            Ok((ms, 3))
        }
    }
}
