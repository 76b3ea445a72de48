//! Inspector benchmark runner: reachability of one generated VPC template and
//! package matching of an inventory against a directory of OSV files.
//! `cargo run --release --example inspector_bench -- DATA_DIR` (see run.sh).

use std::path::Path;
use std::time::Instant;

use deadbolt::inspector::network::analyze_default;
use deadbolt::inspector::packages::{check, Advisories, Inventory};
use deadbolt::load::load_source;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/inspector/data".into());
    let dir = Path::new(&dir);
    let what = std::env::args().nth(2).unwrap_or_else(|| "all".into());
    if what == "all" || what == "network" {
        let t = Instant::now();
        let path = dir.join("vpc.yaml");
        let text = std::fs::read_to_string(&path).expect("vpc.yaml");
        let tpls = load_source(&path.to_string_lossy(), &text).expect("template loads");
        let loaded = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let report = analyze_default(&tpls[0]);
        let secs = t.elapsed().as_secs_f64();
        let exposures = report.exposures().count();
        let open = report.exposures().filter(|e| e.is_open()).count();
        println!(
            "network\tinstances={}\texposures={exposures}\topen={open}\tload_s={loaded:.3}\tanalyze_s={secs:.3}",
            report.instances.len()
        );
    }
    if what == "all" || what == "packages" {
        let t = Instant::now();
        let adv = Advisories::load(&dir.join("osv"));
        let load = t.elapsed().as_secs_f64();
        assert!(adv.errors.is_empty(), "{:?}", adv.errors.first());
        let t = Instant::now();
        let inv = Inventory::read(&dir.join("inventory.json")).expect("inventory");
        let read = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = check(&inv, &adv);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "packages\tfiles={}\tpackages={}\tfindings={}\tadvisories_s={load:.3}\tinventory_s={read:.3}\tmatch_s={secs:.3}",
            adv.files,
            r.checked,
            r.findings.len()
        );
    }
}
