//! Detections over log files: every file is read (in parallel, in chunks) by
//! the log loaders, its records judged by the detections of its source, and
//! the alerts turned into results with GuardDuty findings. A detection that ran
//! over a file and found nothing reports a pass for it; records it could not
//! judge (a threat list that was not given) make an `unknown` naming why.

use std::sync::{Mutex, OnceLock};

use rayon::prelude::*;
use serde_json::json;

use super::engine::{AlertOut, Engine, GroupInfo, Record};
use super::finding;
use crate::compile::ir::Detection;
use crate::eval::{LogFields, LogValue, Params};
use crate::load::logs::{
    read_log, read_log_from, Chunk, FlowField, FlowRecord, FlowValue, LogKind, LogOptions,
};
use crate::load::LoadError;
use crate::result::{fingerprint, Finding, Status};
use crate::schema::logs::{LogSource, FLOW_FIELDS};

pub use crate::load::LogFile as LogInput;

/// What running the detections over the logs produced.
#[derive(Debug, Default)]
pub struct DetectOutcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<LoadError>,
    /// Records read, over all files.
    pub records: usize,
}

pub fn source_of(kind: LogKind) -> LogSource {
    match kind {
        LogKind::FlowLog => LogSource::FlowLog,
        LogKind::CloudTrail => LogSource::CloudTrail,
        LogKind::Route53 => LogSource::Dns,
    }
}

/// The loader's field for each entry of `FLOW_FIELDS`, by name.
fn flow_fields() -> &'static [Option<FlowField>] {
    static T: OnceLock<Vec<Option<FlowField>>> = OnceLock::new();
    T.get_or_init(|| {
        FLOW_FIELDS
            .iter()
            .map(|(n, _)| FlowField::from_name(n))
            .collect()
    })
}

impl LogFields for FlowRecord<'_> {
    fn field(&self, index: usize) -> LogValue<'_> {
        match flow_fields()
            .get(index)
            .copied()
            .flatten()
            .map(|f| self.get(f))
        {
            Some(FlowValue::Int(n)) => LogValue::Num(n as f64),
            Some(FlowValue::Ip(ip)) => LogValue::Ip(ip),
            Some(FlowValue::Str(s)) => LogValue::Str(s),
            Some(FlowValue::Absent) | None => LogValue::Absent,
        }
    }
}

/// Runs `detections` over `inputs`.
pub fn run(
    detections: &[Detection],
    inputs: &[LogInput],
    params: &Params,
    opts: &LogOptions,
) -> DetectOutcome {
    let engine = Engine::new(detections, params);
    let errors: Vec<Vec<LoadError>> = inputs
        .par_iter()
        .enumerate()
        .map(|(i, input)| {
            let file = i as u32;
            let source = source_of(input.kind);
            let sink = |chunk: Chunk<'_>| match chunk {
                Chunk::Flow(recs) => engine.feed(
                    source,
                    file,
                    recs.iter().map(|r| Record::Fields {
                        line: r.line,
                        time: r.time().map(|s| s.saturating_mul(1000)),
                        fields: r,
                    }),
                ),
                Chunk::Events(events) => engine.feed(
                    source,
                    file,
                    events.iter().map(|e| Record::Event {
                        line: e.line,
                        time: e.time,
                        value: &e.value,
                    }),
                ),
            };
            read_input(input, opts, &sink)
        })
        .collect();
    let mut all = engine.take();
    let mut out = DetectOutcome {
        errors: errors.into_iter().flatten().collect(),
        records: all.records.values().sum(),
        ..DetectOutcome::default()
    };
    let mut alerts = engine.alerts(&mut all);
    out.errors.extend(engine.errors());
    look_again(&engine, &mut alerts, inputs, opts);
    let mut alerted: std::collections::HashSet<(usize, u32)> = std::collections::HashSet::new();
    for a in &alerts {
        for f in &a.alert.files {
            alerted.insert((a.detection, *f));
        }
        out.findings.push(alert_result(
            &engine,
            &detections[a.detection],
            a,
            inputs,
            params,
        ));
    }
    let mut undecided: std::collections::HashMap<(usize, u32), (usize, u32, String)> =
        Default::default();
    for (d, f, u) in engine.undecided(&all) {
        undecided.insert((d, f), (u.count, u.line, u.reason.clone()));
    }
    for (di, d) in detections.iter().enumerate() {
        for (fi, input) in inputs.iter().enumerate() {
            if source_of(input.kind) != d.source {
                continue;
            }
            let key = (di, fi as u32);
            let n = all.records.get(&key.1).copied().unwrap_or(0);
            if let Some((count, line, reason)) = undecided.get(&key) {
                let records = if *count == 1 {
                    "1 record".to_string()
                } else {
                    format!("{count} records")
                };
                out.findings.push(file_result(
                    d,
                    input,
                    Status::Unknown,
                    *line,
                    format!("cannot be decided for {records}: {reason}"),
                ));
            } else if n == 0 {
                // Nothing was read: not a pass, whatever the reason (an empty
                // file, a header or format that made every line an error).
                out.findings.push(file_result(
                    d,
                    input,
                    Status::Unknown,
                    1,
                    "no record of this file could be read, so nothing was checked".to_string(),
                ));
            } else if !alerted.contains(&key) {
                let records = if n == 1 {
                    "1 record".to_string()
                } else {
                    format!("{n} records")
                };
                out.findings.push(file_result(
                    d,
                    input,
                    Status::Pass,
                    1,
                    format!("{}: no alert in {records}", d.title),
                ));
            }
        }
    }
    out.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Flow log groups keep no details; the first record of each alert is read
/// again (files with alerts only, one more pass each) to say what it was.
fn look_again(
    engine: &Engine<'_>,
    alerts: &mut [AlertOut],
    inputs: &[LogInput],
    opts: &LogOptions,
) {
    let mut wanted: std::collections::HashMap<u32, std::collections::HashMap<u32, Vec<usize>>> =
        Default::default();
    for (k, a) in alerts.iter().enumerate() {
        if a.info.is_none() {
            let (_, file, line) = a.alert.first;
            wanted
                .entry(file)
                .or_default()
                .entry(line)
                .or_default()
                .push(k);
        }
    }
    let found: Mutex<Vec<(usize, GroupInfo)>> = Mutex::new(Vec::new());
    wanted.par_iter().for_each(|(file, lines)| {
        let Some(input) = inputs.get(*file as usize) else {
            return;
        };
        let sink = |chunk: Chunk<'_>| {
            let Chunk::Flow(recs) = chunk else {
                return;
            };
            for r in recs {
                let Some(ks) = lines.get(&r.line) else {
                    continue;
                };
                let rec = Record::Fields {
                    line: r.line,
                    time: r.time().map(|s| s.saturating_mul(1000)),
                    fields: r,
                };
                for &k in ks {
                    let info = engine.info_of(alerts_detection(alerts, k), &rec);
                    if let Ok(mut f) = found.lock() {
                        f.push((k, info));
                    }
                }
            }
        };
        let _ = read_input(input, opts, &sink);
    });
    for (k, info) in found.into_inner().unwrap_or_default() {
        alerts[k].info = Some(info);
    }
}

/// Reads a log from its file, or from memory for standard input.
fn read_input(
    input: &LogInput,
    opts: &LogOptions,
    sink: &(dyn Fn(Chunk<'_>) + Sync),
) -> Vec<LoadError> {
    match &input.data {
        Some(bytes) => read_log_from(
            Box::new(std::io::Cursor::new(bytes.clone())),
            &input.display,
            input.kind,
            opts,
            sink,
        ),
        None => read_log(&input.path, &input.display, input.kind, opts, sink),
    }
}

fn alerts_detection(alerts: &[AlertOut], k: usize) -> usize {
    alerts[k].detection
}

/// A pass or unknown about a whole file.
fn file_result(
    d: &Detection,
    input: &LogInput,
    status: Status,
    line: u32,
    message: String,
) -> Finding {
    // Named by the file's own name, so results do not depend on the path it
    // was reached by.
    let name = std::path::Path::new(&input.display)
        .file_name()
        .map_or_else(
            || input.display.clone(),
            |n| n.to_string_lossy().into_owned(),
        );
    Finding {
        policy: d.id.clone(),
        severity: d.severity,
        status,
        resource: name,
        resource_type: input.kind.label().to_string(),
        file: input.display.clone(),
        line,
        column: 1,
        message,
        document: 0,
        skip_reason: None,
        fingerprint: fingerprint(&d.id, &input.display, 0, &input.display),
        clause: None,
        key: None,
        finding: None,
    }
}

fn alert_result(
    engine: &Engine<'_>,
    d: &Detection,
    a: &AlertOut,
    inputs: &[LogInput],
    params: &Params,
) -> Finding {
    let (first_time, file, line) = a.alert.first;
    let display = inputs
        .get(file as usize)
        .map(|i| i.display.clone())
        .unwrap_or_default();
    let info = a.info.clone().unwrap_or_default();
    let resource = if info.resource.is_empty() {
        a.key.text()
    } else {
        info.resource.clone()
    };
    let when = finding::iso(first_time);
    let key = if d.keys.is_empty() {
        when
    } else {
        format!("{} @ {when}", a.key.text())
    };
    let message = engine.message(a);
    let evidence = evidence(d, &info, params);
    let mut gd = finding::guardduty(d, a, &info, &message, evidence);
    finding::fill_from_key(&mut gd, &display);
    Finding {
        policy: d.id.clone(),
        severity: d.severity,
        status: Status::Fail,
        resource_type: finding::resource_type(d.source, &resource).to_string(),
        fingerprint: fingerprint(&d.id, &display, 0, &format!("{resource}#{key}")),
        resource,
        file: display,
        line,
        column: 1,
        message,
        document: 0,
        skip_reason: None,
        clause: None,
        key: Some(key),
        finding: Some(Box::new(gd)),
    }
}

/// Which threat lists hold the addresses or domain of the alert's first record.
fn evidence(d: &Detection, info: &GroupInfo, params: &Params) -> Vec<serde_json::Value> {
    let candidates = ["srcaddr", "dstaddr", "sourceIPAddress", "query_name"];
    let trusted = params.engines.trusted.as_ref();
    let mut out = Vec::new();
    for name in &d.lists {
        let Some(list) = params.engines.threat_lists.get(name) else {
            continue;
        };
        let hits: Vec<&str> = candidates
            .iter()
            .filter_map(|k| info.summary.get(*k).and_then(|v| v.as_str()))
            .filter(|v| list.contains_text(v) && !trusted.is_some_and(|t| t.contains_text(v)))
            .collect();
        if !hits.is_empty() {
            out.push(json!({"threatListName": name, "threatNames": hits}));
        }
    }
    out
}
