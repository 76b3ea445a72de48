//! Log loader throughput: read flow logs, CloudTrail or Route 53 files with
//! deadbolt's loaders and report records per second. The sink touches the
//! fields a detection reads (addresses, port, action, time) so nothing is
//! optimised away. Run through `bench/logs/run.sh`.
//!
//!     logs_bench flow|cloudtrail|route53 PATH... [--threads N] [--flowlog-format FMT]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use deadbolt::load::logs::{
    read_log, Chunk, FlowField, FlowFormat, FlowValue, LogKind, LogOptions,
};
use rayon::prelude::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = match args.next().as_deref() {
        Some("flow") => LogKind::FlowLog,
        Some("cloudtrail") => LogKind::CloudTrail,
        Some("route53") => LogKind::Route53,
        _ => usage(),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut threads = 0;
    let mut opts = LogOptions::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--flowlog-format" => {
                let f = args.next().unwrap_or_else(|| usage());
                opts.flowlog_format = Some(FlowFormat::parse_template(&f).unwrap_or_else(|e| {
                    eprintln!("{e}");
                    std::process::exit(2)
                }));
            }
            _ => paths.push(a.into()),
        }
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(&p)
                .expect("readable directory")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(p);
        }
    }
    if files.is_empty() {
        usage();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let bytes: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let records = AtomicU64::new(0);
    let rejects = AtomicU64::new(0);
    let checksum = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let sink = |c: Chunk<'_>| {
        let (mut n, mut rej, mut sum) = (0u64, 0u64, 0u64);
        match c {
            Chunk::Flow(recs) => {
                for r in recs {
                    n += 1;
                    if r.get(FlowField::Action) == FlowValue::Str("REJECT") {
                        rej += 1;
                    }
                    if let FlowValue::Int(p) = r.get(FlowField::Dstport) {
                        sum = sum.wrapping_add(p as u64);
                    }
                    if let FlowValue::Ip(a) = r.get(FlowField::Srcaddr) {
                        sum = sum.wrapping_add(u64::from(a.is_ipv6()));
                    }
                    sum = sum.wrapping_add(r.time().unwrap_or(0) as u64);
                }
            }
            Chunk::Events(evs) => {
                for e in evs {
                    n += 1;
                    sum = sum.wrapping_add(e.time.unwrap_or(0) as u64);
                }
            }
        }
        records.fetch_add(n, Ordering::Relaxed);
        rejects.fetch_add(rej, Ordering::Relaxed);
        checksum.fetch_add(sum, Ordering::Relaxed);
    };
    let started = Instant::now();
    pool.install(|| {
        files.par_iter().for_each(|p| {
            let errs = read_log(p, &p.display().to_string(), kind, &opts, &sink);
            for e in errs.iter().take(3) {
                eprintln!("{e}");
            }
            errors.fetch_add(errs.len() as u64, Ordering::Relaxed);
        })
    });
    let secs = started.elapsed().as_secs_f64();
    let n = records.load(Ordering::Relaxed);
    println!(
        "kind={:?}\tfiles={}\tthreads={}\trecords={n}\terrors={}\tseconds={secs:.3}\trecords_per_s={:.0}\tMB_per_s={:.0}\trejects={}\tchecksum={}",
        kind,
        files.len(),
        pool.current_num_threads(),
        errors.load(Ordering::Relaxed),
        n as f64 / secs,
        bytes as f64 / 1e6 / secs,
        rejects.load(Ordering::Relaxed),
        checksum.load(Ordering::Relaxed) % 1_000_000_007
    );
}

fn usage() -> ! {
    eprintln!(
        "usage: logs_bench flow|cloudtrail|route53 PATH... [--threads N] [--flowlog-format FMT]"
    );
    std::process::exit(2)
}
