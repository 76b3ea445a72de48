//! Measures web ACL evaluation throughput: loads an ACL and a request file, then
//! evaluates every request REPS times with 1 thread and with all threads,
//! printing requests per second (parsing excluded) and the peak resident set.
//!
//!     cargo run --release --example waf_throughput -- ACL REQUESTS [REPS]

use std::time::Instant;

use deadbolt::waf::{evaluate_corpus, load_web_acls, read_requests, select_web_acl, LoadOptions};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: waf_throughput ACL REQUESTS [REPS]");
        std::process::exit(2);
    }
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let text = std::fs::read_to_string(&args[1]).expect("read ACL");
    let acls = load_web_acls(&args[1], &text, &LoadOptions::default()).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let acl = select_web_acl(&args[1], acls, None).expect("one web ACL");
    let t = Instant::now();
    let requests: Vec<_> = read_requests(std::path::Path::new(&args[2]))
        .expect("read requests")
        .into_iter()
        .map(|l| l.request)
        .collect();
    let parse_s = t.elapsed().as_secs_f64();
    let n = requests.len();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!(
        "web ACL {} ({} rules), {n} requests (parsed in {parse_s:.2} s)",
        acl.name,
        acl.rules.len()
    );
    for threads in [1, cores] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let mut best = f64::MAX;
        let mut blocked = 0;
        for _ in 0..reps {
            let t = Instant::now();
            let d = pool.install(|| evaluate_corpus(&acl, &requests));
            best = best.min(t.elapsed().as_secs_f64());
            blocked = d.iter().filter(|d| d.is_blocked()).count();
        }
        println!(
            "threads {threads}: {:.0} requests/s ({:.0} per thread), best of {reps}: {best:.3} s, {blocked} blocked",
            n as f64 / best,
            n as f64 / best / threads as f64
        );
    }
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
}
