//! Every attribute path of every real plan is known to the Terraform schemas:
//! the checker must never reject a path a plan really has. Walks the
//! `planned_values` of each plan under fixtures/ (and, when set, of every
//! `*.json` plan under `$DEADBOLT_TF_PLANS`, e.g. plans from public repositories)
//! exactly as the evaluator reads them: objects by key, lists by `*`.

use std::path::{Path, PathBuf};

use deadbolt::schema::terraform::{is_known_type, lookup_path};
use deadbolt::schema::PathLookup;
use serde_json::Value;

#[derive(Default)]
struct Tally {
    plans: usize,
    resources: usize,
    paths: usize,
    unknown_types: Vec<String>,
    rejected: Vec<String>,
}

fn walk(rtype: &str, path: &mut Vec<String>, v: &Value, at: &str, t: &mut Tally) {
    // Bounded by the plan's own nesting, which serde_json caps at 128.
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(k.clone());
                check(rtype, path, child, at, t);
                path.pop();
            }
        }
        Value::Array(items) => {
            path.push("*".into());
            for item in items {
                if !item.is_null() {
                    check(rtype, path, item, at, t);
                }
            }
            path.pop();
        }
        _ => {}
    }
}

fn check(rtype: &str, path: &mut Vec<String>, v: &Value, at: &str, t: &mut Tally) {
    let segs: Vec<&str> = path.iter().map(String::as_str).collect();
    t.paths += 1;
    match lookup_path(rtype, &segs) {
        PathLookup::Found(_) => walk(rtype, path, v, at, t),
        PathLookup::NotCovered => {}
        PathLookup::Unknown { .. } if v.is_null() && segs.last() == Some(&"*") => {}
        PathLookup::Unknown { .. } => t.rejected.push(format!("{at}: {rtype}.{}", segs.join("."))),
    }
}

fn module(m: &Value, file: &str, t: &mut Tally) {
    for r in m["resources"].as_array().into_iter().flatten() {
        if r["mode"].as_str().unwrap_or("managed") != "managed" {
            continue;
        }
        let rtype = r["type"].as_str().unwrap_or_default();
        if !rtype.starts_with("aws_") {
            continue;
        }
        t.resources += 1;
        if !is_known_type(rtype) {
            t.unknown_types.push(format!("{file}: {rtype}"));
            continue;
        }
        let at = format!("{file} {}", r["address"].as_str().unwrap_or("?"));
        walk(rtype, &mut Vec::new(), &r["values"], &at, t);
    }
    for child in m["child_modules"].as_array().into_iter().flatten() {
        module(child, file, t);
    }
}

fn plans_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            plans_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn tally(dir: &Path) -> Tally {
    let mut files = Vec::new();
    plans_under(dir, &mut files);
    files.sort();
    let mut t = Tally::default();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(plan) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let Some(root) = plan
            .get("planned_values")
            .and_then(|p| p.get("root_module"))
        else {
            continue;
        };
        t.plans += 1;
        module(root, &f.display().to_string(), &mut t);
    }
    t
}

#[test]
fn every_path_of_the_fixture_plans_is_known() {
    let t = tally(Path::new("fixtures"));
    assert!(
        t.plans >= 40 && t.resources >= 300,
        "{} plans, {} resources",
        t.plans,
        t.resources
    );
    assert!(t.unknown_types.is_empty(), "{:#?}", t.unknown_types);
    assert!(t.rejected.is_empty(), "{:#?}", t.rejected);
}

#[test]
fn every_path_of_external_plans_is_known() {
    let Some(dir) = std::env::var_os("DEADBOLT_TF_PLANS") else {
        return;
    };
    let t = tally(Path::new(&dir));
    eprintln!(
        "{} plans, {} aws resources, {} paths, {} unknown types, {} rejected paths",
        t.plans,
        t.resources,
        t.paths,
        t.unknown_types.len(),
        t.rejected.len()
    );
    assert!(t.unknown_types.is_empty(), "{:#?}", t.unknown_types);
    assert!(t.rejected.is_empty(), "{:#?}", t.rejected);
}
