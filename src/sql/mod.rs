//! Detections compiled to SQL for the engines that hold an account's logs:
//! DuckDB, Trino and Athena, Spark SQL.
//!
//! Each detection becomes one query over the documented table layouts
//! (`layout`), with the native engine's meaning: per-record predicates with
//! three-valued logic (`expr`), addresses, networks and domains (`net`),
//! regular expressions in the syntax the engines share (`regex`), event times
//! (`time`), sliding event-time windows and one alert per group per episode
//! (`window`). A construct a target cannot express the same way is refused
//! with the reason, never translated into something else.
//!
//! A query returns one row per alert — `status` `fail`, the group key as the
//! native results print it, the first-seen and last-seen times, the number of
//! records, the first record's file — and one row per file whose records it
//! could not decide (`unknown`: a list not loaded, a document that is not JSON).

mod dialect;
mod duckdb;
mod expr;
mod layout;
pub mod lists;
mod net;
mod query;
mod regex;
mod spark;
mod time;
mod trino;
mod window;

pub use layout::{ddl, default_flow_fields, Tables};

use crate::compile::ir::{Aggregate, Detection};
use crate::dsl::ast::Span;
use crate::load::logs::{FlowField, FlowFormat};
use crate::schema::logs::LogSource;

use expr::{Tr, Ty, Val};

/// An SQL engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    DuckDb,
    Trino,
    Athena,
    Spark,
}

impl Target {
    pub const ALL: [Target; 4] = [Target::DuckDb, Target::Trino, Target::Athena, Target::Spark];

    pub fn parse(s: &str) -> Option<Target> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Target::DuckDb => "duckdb",
            Target::Trino => "trino",
            Target::Athena => "athena",
            Target::Spark => "spark",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Target::DuckDb => "DuckDB",
            Target::Trino => "Trino",
            Target::Athena => "Amazon Athena (engine version 3)",
            Target::Spark => "Spark SQL (4.0 or later)",
        }
    }
}

/// How detections are compiled.
#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    pub tables: Tables,
    /// The flow log table's columns (a custom format); the default v2–v5 DDL otherwise.
    pub flow_format: Option<FlowFormat>,
}

impl Options {
    pub fn new(target: Target) -> Options {
        Options {
            target,
            tables: Tables::default(),
            flow_format: None,
        }
    }

    /// The flow log table's fields.
    pub fn flow_fields(&self) -> Vec<FlowField> {
        match &self.flow_format {
            Some(f) => f.fields.clone(),
            None => default_flow_fields(),
        }
    }
}

/// One detection's query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    pub id: String,
    pub sql: String,
}

/// Why a detection cannot be compiled for a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub detection: String,
    pub target: Target,
    pub file: String,
    pub line: u32,
    pub span: Span,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: detection {} cannot be compiled for {}: {}",
            self.file,
            self.line,
            self.detection,
            self.target.as_str(),
            self.reason
        )
    }
}

/// Compiles one detection.
pub fn compile(d: &Detection, opts: &Options) -> Result<Compiled, Refusal> {
    build(d, opts).map_err(|reason| Refusal {
        detection: d.id.clone(),
        target: opts.target,
        file: d.file.clone(),
        line: d.line,
        span: d.span,
        reason,
    })
}

fn build(d: &Detection, opts: &Options) -> Result<Compiled, String> {
    let dia = dialect::for_target(opts.target);
    let layout = layout::Layout::new(d.source, opts.flow_format.as_ref());
    let mut stages = query::Stages::default();
    let (t_col, _) = time::time_ms(&mut stages, dia, &layout)?;
    let mut tr = Tr::new(d, dia, &layout, &opts.tables, &mut stages)?;
    let hit = match &d.filter {
        Some(f) => tr.cond(f)?.sql,
        None => "TRUE".into(),
    };
    let resource = resource(&mut tr, d)?;
    // Group keys: typed values to partition by, and the text results print.
    let mut group = Vec::new();
    let mut key_cols = Vec::new();
    let mut key_texts = Vec::new();
    for (i, k) in d.keys.iter().enumerate() {
        let v = tr.value(k)?;
        let (typed, text) = key_part(&mut tr, v)?;
        key_cols.push(format!("{typed} AS k{i}"));
        group.push(format!("k{i}"));
        key_texts.push(format!("COALESCE({text}, '-')"));
    }
    let key_text = if d.keys.is_empty() {
        group.push("res".into());
        resource.clone()
    } else {
        key_texts.join(" || ' ' || ")
    };
    // Aggregate inputs.
    let mut inputs = Vec::new();
    let mut nonneg = Vec::new();
    for (i, a) in d.aggregates.iter().enumerate() {
        let (sql, pos) = match a {
            Aggregate::Count => ("CAST(NULL AS BIGINT)".to_string(), true),
            Aggregate::CountDistinct(e) => {
                let v = tr.value(e)?;
                (distinct_input(&mut tr, v)?, true)
            }
            Aggregate::Sum(e) | Aggregate::Min(e) | Aggregate::Max(e) => {
                let v = tr.value(e)?;
                match v.ty {
                    Ty::Num { nonneg, .. } if v.unk.is_none() => (v.sql, nonneg),
                    _ => {
                        return Err("sum, min and max are translated over number fields only".into())
                    }
                }
            }
        };
        inputs.push(format!("{sql} AS a{i}"));
        nonneg.push(pos);
    }
    let window_ms = if d.keys.is_empty() { None } else { d.window_ms };
    if window_ms.is_some_and(|w| w < 1) {
        return Err("a window shorter than a millisecond".into());
    }
    let frames = window::frames(d.alert.as_ref(), &d.aggregates, &nonneg)?;
    let over = window::over(&group, window_ms);
    let read = window::read_by(d.alert.as_ref());
    let aggregates: Vec<String> = d
        .aggregates
        .iter()
        .enumerate()
        .map(|(i, a)| match (a, frames) {
            // What only the message reads is not computed: results carry no message.
            _ if !read.contains(&i) => "CAST(NULL AS BIGINT)".to_string(),
            (Aggregate::Count, window::Frames::RowCounts) => window::row_count(&group, window_ms),
            (Aggregate::Count, _) => format!("count(*) OVER ({over})"),
            (Aggregate::CountDistinct(_), _) => dia.count_distinct_over(&format!("a{i}"), &over),
            (Aggregate::Sum(_), _) => format!("COALESCE(sum(a{i}) OVER ({over}), 0)"),
            (Aggregate::Min(_), _) => format!("min(a{i}) OVER ({over})"),
            (Aggregate::Max(_), _) => format!("max(a{i}) OVER ({over})"),
        })
        .collect();
    tr.aggs = Some(
        (0..d.aggregates.len())
            .map(|i| {
                let int = matches!(
                    d.aggregates[i],
                    Aggregate::Count | Aggregate::CountDistinct(_)
                );
                expr::agg_val(&format!("g{i}"), int)
            })
            .collect(),
    );
    let alert = match &d.alert {
        Some(a) => Some(tr.cond(a)?.sql),
        None => None,
    };
    let unknowns: Vec<String> = tr.unknowns.iter().cloned().collect();
    drop(tr);

    let (mut ctes, last) = stages.render(
        opts.tables.of(d.source),
        &[("src_file".to_string(), dia.file_column())],
        layout.validity(),
    );
    let mut rec_cols = vec![
        "src_file".to_string(),
        format!("{t_col} AS t_ms"),
        format!("{hit} AS hit"),
    ];
    rec_cols.extend(key_cols);
    rec_cols.push(format!("{resource} AS res"));
    rec_cols.push(format!("{key_text} AS db_key"));
    rec_cols.extend(inputs);
    let barrier = match dia.filter_barrier() {
        Some((col, cond)) => {
            rec_cols.push(col.to_string());
            cond
        }
        None => "",
    };
    ctes.push(format!(
        "rec AS (\n  SELECT\n    {}\n  FROM {last}\n)",
        rec_cols.join(",\n    ")
    ));
    ctes.push(format!(
        "m AS (\n  SELECT *\n  FROM rec\n  WHERE hit AND t_ms IS NOT NULL{barrier}\n)"
    ));
    let min_by = |v: &str| dia.min_by(v, &["t_ms", "src_file"]);
    ctes.extend(window::ctes(&window::WindowSpec {
        group,
        window_ms,
        aggregates,
        alert,
        min_by: &min_by,
    }));
    ctes.push(format!(
        "u AS (\n  SELECT src_file, count(*) AS n\n  FROM rec\n  WHERE (hit IS NULL OR (hit AND t_ms IS NULL)){barrier}\n  GROUP BY src_file\n)"
    ));
    let mut reasons = unknowns;
    reasons.push("the record has no event time (or it is not an RFC 3339 time)".into());
    let reason = dia.lit(&format!("cannot be decided: {}", reasons.join("; or ")));
    let text = dia.varchar();
    let id = dia.lit(&d.id);
    let select = format!(
        "SELECT {id} AS detection, 'fail' AS status, db_key AS group_key, first_resource AS resource,\n  \
         first_ms AS first_seen_ms, last_ms AS last_seen_ms, n AS records, first_file AS file, CAST(NULL AS {text}) AS reason\n\
         FROM alerts\n\
         UNION ALL\n\
         SELECT {id}, 'unknown', CAST(NULL AS {text}), CAST(NULL AS {text}), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), n, src_file, {reason}\n\
         FROM u\n\
         ORDER BY 2, 3, 5, 8"
    );
    let sql = format!(
        "{}WITH\n{}\n{select}\n",
        header(d, opts, window_ms, frames),
        ctes.join(",\n")
    );
    Ok(Compiled {
        id: d.id.clone(),
        sql,
    })
}

/// The alert's resource: the detection's `resource`, else the source's default.
fn resource(tr: &mut Tr<'_>, d: &Detection) -> Result<String, String> {
    if let Some(r) = &d.resource {
        let v = tr.value(r)?;
        let t = tr.text_of(v)?;
        return Ok(format!("COALESCE({}, '(unknown)')", t.sql));
    }
    let mut parts = Vec::new();
    for path in tr.layout.default_resource() {
        let v = match expr::path_value(tr, path) {
            Ok(v) => v,
            // A column the table's format does not have: the field is absent.
            Err(_) => continue,
        };
        parts.push(tr.text_of(v)?.sql);
    }
    parts.push("'(unknown)'".into());
    Ok(format!("COALESCE({})", parts.join(", ")))
}

/// A group key: the value to partition by, and its text.
fn key_part(tr: &mut Tr<'_>, v: Val) -> Result<(String, String), String> {
    let unknown_is_absent = |s: &str, v: &Val| match &v.unk {
        Some(u) => format!("(CASE WHEN {u} THEN NULL ELSE {s} END)"),
        None => s.to_string(),
    };
    match &v.ty {
        Ty::Str | Ty::Ip(_) | Ty::Num { int: true, .. } | Ty::Bool => {
            let typed = unknown_is_absent(&v.sql, &v);
            let text = tr
                .text_of(Val {
                    unk: None,
                    ..v.clone()
                })?
                .sql;
            Ok((typed.clone(), unknown_is_absent(&text, &v)))
        }
        Ty::Missing | Ty::Null => Ok((
            "CAST(NULL AS BIGINT)".into(),
            format!("CAST(NULL AS {})", tr.dia.varchar()),
        )),
        _ => Err(
            "grouping by anything but text, an address or a whole number is not translated to SQL"
                .into(),
        ),
    }
}

/// A distinct-count input: numbers by value, anything else by its text.
fn distinct_input(tr: &mut Tr<'_>, v: Val) -> Result<String, String> {
    let absent = |s: String, v: &Val| match &v.unk {
        Some(u) => format!("(CASE WHEN {u} THEN NULL ELSE {s} END)"),
        None => s,
    };
    match &v.ty {
        Ty::Num { .. } | Ty::Str | Ty::Ip(_) => Ok(absent(v.sql.clone(), &v)),
        Ty::Bool => {
            let t = tr.text_of(v.clone())?;
            Ok(absent(t.sql, &v))
        }
        Ty::Missing | Ty::Null => Ok(format!("CAST(NULL AS {})", tr.dia.varchar())),
        _ => Err(
            "count_distinct of anything but a number, text or an address is not translated to SQL"
                .into(),
        ),
    }
}

fn header(d: &Detection, opts: &Options, window_ms: Option<i64>, frames: window::Frames) -> String {
    let t = &opts.tables;
    let mut h = String::new();
    let line = |h: &mut String, s: &str| {
        h.push_str("-- ");
        h.push_str(&crate::terminal::escape_control(s));
        h.push('\n');
    };
    line(&mut h, &format!("deadbolt detection {}: {}", d.id, d.title));
    line(
        &mut h,
        &format!(
            "GuardDuty finding type {}, severity {:.1}; compiled for {} by deadbolt {}.",
            d.finding_type,
            d.score,
            opts.target.describe(),
            env!("CARGO_PKG_VERSION")
        ),
    );
    line(
        &mut h,
        &format!("Source: {} ({}).", t.of(d.source), d.source.describe()),
    );
    let mut lists: Vec<String> = d
        .lists
        .iter()
        .map(|l| format!("threat list `{l}`"))
        .collect();
    if !d.lists.is_empty() {
        lists.push("the trusted list (optional; it always wins)".into());
    }
    if d.uses_aws_ranges {
        lists.push("AWS's IP ranges".into());
    }
    if lists.is_empty() {
        line(&mut h, "Parameters: none.");
    } else {
        line(
            &mut h,
            &format!(
                "Parameters: {}, in {}, {} and {} (deadbolt compile --threat-list ... writes them).",
                lists.join(", "),
                t.lists,
                t.networks,
                t.domains
            ),
        );
    }
    match window_ms {
        Some(w) => line(
            &mut h,
            &format!(
                "Window: {} of event time per group (t - window < time <= t); one alert per group per episode, \
                 an episode lasting while records come less than a window apart{}.",
                human_ms(w),
                if frames == window::Frames::RowCounts { "; counts numbered record by record" } else { "" }
            ),
        ),
        None if d.keys.is_empty() => line(&mut h, "One alert per resource: its first record and the number of records."),
        None => {}
    }
    line(
        &mut h,
        "Rows: status 'fail' per alert (group_key, resource, first_seen_ms, last_seen_ms, records, file); \
         status 'unknown' per file with records that cannot be decided (records, file, reason).",
    );
    if d.source == LogSource::FlowLog {
        let cols: Vec<String> = opts
            .flow_fields()
            .iter()
            .map(|f| layout::flow_column_name(*f))
            .collect();
        line(&mut h, &format!("Flow log columns: {}.", cols.join(" ")));
    }
    h.push('\n');
    h
}

fn human_ms(ms: i64) -> String {
    if ms % 3_600_000 == 0 {
        format!("{} h", ms / 3_600_000)
    } else if ms % 60_000 == 0 {
        format!("{} min", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}
