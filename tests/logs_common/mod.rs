//! Helpers shared by the log loader tests: read a log and keep what the sink saw
//! as owned values, so tests can compare whole files.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use deadbolt::load::logs::{
    read_log, read_log_from, Chunk, Event, FlowField, FlowStatus, FlowValue, LogKind, LogOptions,
};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/logs")
        .join(rel)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Val {
    Absent,
    Int(i64),
    Ip(IpAddr),
    Str(String),
}

impl From<FlowValue<'_>> for Val {
    fn from(v: FlowValue<'_>) -> Self {
        match v {
            FlowValue::Absent => Val::Absent,
            FlowValue::Int(n) => Val::Int(n),
            FlowValue::Ip(a) => Val::Ip(a),
            FlowValue::Str(s) => Val::Str(s.to_string()),
        }
    }
}

/// A flow record as the sink saw it: line, status, time, every field in order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rec {
    pub line: u32,
    pub status: String,
    pub time: Option<i64>,
    pub raw: String,
    pub values: Vec<(String, Val)>,
}

impl Rec {
    pub fn get(&self, name: &str) -> Val {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Val::Absent)
    }
}

pub struct Outcome<T> {
    pub records: Vec<T>,
    pub errors: Vec<String>,
    pub chunks: usize,
}

fn status_name(s: FlowStatus) -> String {
    format!("{s:?}")
}

fn collect_flow(
    f: impl FnOnce(&(dyn Fn(Chunk<'_>) + Sync)) -> Vec<deadbolt::load::LoadError>,
) -> Outcome<Rec> {
    let out = Mutex::new(Vec::new());
    let chunks = Mutex::new(0usize);
    let sink = |c: Chunk<'_>| {
        let Chunk::Flow(recs) = c else {
            panic!("flow log read as events")
        };
        *chunks.lock().unwrap() += 1;
        let mut out = out.lock().unwrap();
        for r in recs {
            out.push(Rec {
                line: r.line,
                status: status_name(r.status()),
                time: r.time(),
                raw: r.raw().to_string(),
                values: FlowField::ALL
                    .iter()
                    .filter(|f| r.has(**f))
                    .map(|f| (f.name().to_string(), Val::from(r.get(*f))))
                    .collect(),
            });
        }
    };
    let errors = f(&sink);
    let mut records = out.into_inner().unwrap();
    records.sort();
    Outcome {
        records,
        errors: errors.iter().map(|e| e.to_string()).collect(),
        chunks: chunks.into_inner().unwrap(),
    }
}

pub fn read_flow(path: &Path, opts: &LogOptions) -> Outcome<Rec> {
    let display = display(path);
    collect_flow(|sink| read_log(path, &display, LogKind::FlowLog, opts, sink))
}

pub fn read_flow_bytes(bytes: Vec<u8>, display: &str, opts: &LogOptions) -> Outcome<Rec> {
    collect_flow(|sink| {
        read_log_from(
            Box::new(std::io::Cursor::new(bytes)),
            display,
            LogKind::FlowLog,
            opts,
            sink,
        )
    })
}

pub fn read_events(path: &Path, kind: LogKind, opts: &LogOptions) -> Outcome<Event> {
    let display = display(path);
    let out = Mutex::new(Vec::new());
    let sink = |c: Chunk<'_>| {
        let Chunk::Events(evs) = c else {
            panic!("events read as flow records")
        };
        out.lock().unwrap().extend(evs.iter().cloned());
    };
    let errors = read_log(path, &display, kind, opts, &sink);
    let mut records = out.into_inner().unwrap();
    records.sort_by_key(|e| e.line);
    Outcome {
        records,
        errors: errors.iter().map(|e| e.to_string()).collect(),
        chunks: 0,
    }
}

/// Paths in messages relative to the fixtures, so assertions do not depend on
/// where the checkout is.
pub fn display(path: &Path) -> String {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs");
    path.strip_prefix(&base)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}
