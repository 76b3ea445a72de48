//! Replays the committed fuzz corpora (`fuzz/corpus/TARGET/`, plus the hand-written
//! seeds in `fuzz/seeds/TARGET/`) through the library calls each cargo-fuzz target
//! in `fuzz/fuzz_targets/` makes, so every input a fuzzer once found interesting
//! keeps running on every `cargo test`, without nightly or cargo-fuzz.
//!
//! Each input must not panic. On top of what the fuzz targets check, the reports
//! must stay well-formed: the JSON and SARIF reports parse as JSON, and no report
//! carries a raw control character (terminal escape injection through a crafted
//! template). A failure names every input that broke, so it can be replayed with
//! `cargo fuzz run TARGET fuzz/corpus/TARGET/NAME`.
//!
//! When a target's library calls change, change them here and in
//! `fuzz/fuzz_targets/` together.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use deadbolt::compile::Policy;

/// The distinct inputs of `fuzz/corpus/TARGET` and `fuzz/seeds/TARGET` (run.sh
/// merges the seeds into the corpus, so many are in both), sorted by path.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut paths = Vec::new();
    for dir in ["corpus", "seeds"] {
        let dir = root.join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.expect("readable corpus entry").path();
            if path.is_file() {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let mut seen = HashSet::new();
    paths
        .into_iter()
        .filter_map(|p| {
            let data = std::fs::read(&p).expect("readable corpus file");
            seen.insert(data.clone()).then_some((p, data))
        })
        .collect()
}

/// Runs `check` on every input of `target`; fails naming each input that
/// panicked or broke an invariant. `check` says whether the input got past
/// the first parse into the deeper code the target is about (a template
/// loaded, a policy compiled, a request parsed); `min_inputs` and `min_deep`
/// keep an emptied corpus, or an API change that rejects everything early,
/// from passing as "nothing failed".
fn replay(
    target: &str,
    min_inputs: usize,
    min_deep: usize,
    check: impl Fn(&[u8]) -> Result<bool, String>,
) {
    let files = inputs(target);
    assert!(
        files.len() >= min_inputs,
        "fuzz/corpus/{target} and fuzz/seeds/{target} hold {} distinct inputs, expected at least {min_inputs}",
        files.len()
    );
    let mut broken = Vec::new();
    let mut deep = 0;
    for (path, data) in &files {
        match catch_unwind(AssertUnwindSafe(|| check(data))) {
            Ok(Ok(reached)) => deep += usize::from(reached),
            Ok(Err(why)) => broken.push(format!("{}: {why}", path.display())),
            Err(_) => broken.push(format!("{}: panicked (message above)", path.display())),
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {} {target} inputs failed:\n{}",
        broken.len(),
        files.len(),
        broken.join("\n")
    );
    eprintln!(
        "{target}: {} inputs, {deep} past the first parse",
        files.len()
    );
    assert!(
        deep >= min_deep,
        "only {deep} of {} {target} inputs got past the first parse, expected at least {min_deep}",
        files.len()
    );
}

fn catalogue() -> &'static [Policy] {
    static P: OnceLock<Vec<Policy>> = OnceLock::new();
    P.get_or_init(|| {
        deadbolt::scan::load_policies(&[])
            .expect("catalogue")
            .policies
    })
}

/// A raw control character other than newline and tab, or a bidi override
/// ("Trojan Source"), copied from an input into a report: escape injection.
fn control_free(format: &str, out: &str) -> Result<(), String> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    match out.char_indices().find(|&(_, c)| unsafe_char(c)) {
        None => Ok(()),
        Some((at, c)) => Err(format!(
            "{format} output carries the raw character {c:?} at byte {at}"
        )),
    }
}

fn valid_json(format: &str, out: &str) -> Result<(), String> {
    serde_json::from_str::<serde_json::Value>(out)
        .map(|_| ())
        .map_err(|e| format!("{format} output is not JSON: {e}"))
}

/// Parses as UTF-8 (every target but kms_request ignores other bytes).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

#[test]
fn yaml_corpus() {
    // fuzz_targets/yaml.rs
    replay("yaml", 1000, 50, |data| {
        let Some(text) = text(data) else {
            return Ok(false);
        };
        let _ = deadbolt::load::parse_yaml(text, "fuzz.yaml");
        let (templates, _) =
            deadbolt::load::load_source_all("fuzz.yaml", text, &Default::default());
        Ok(!templates.is_empty())
    });
}

#[test]
fn json_corpus() {
    // fuzz_targets/json.rs
    replay("json", 1000, 30, |data| {
        let Some(text) = text(data) else {
            return Ok(false);
        };
        let _ = deadbolt::load::parse_json(text, "fuzz.json");
        let (templates, _) =
            deadbolt::load::load_source_all("fuzz.json", text, &Default::default());
        Ok(!templates.is_empty())
    });
}

#[test]
fn plan_corpus() {
    // fuzz_targets/plan.rs
    replay("plan", 150, 40, |data| {
        let Some(text) = text(data) else {
            return Ok(false);
        };
        let Ok(root) = deadbolt::load::parse_json(text, "plan.json") else {
            return Ok(false);
        };
        let Ok(t) = deadbolt::load::plan_template("plan.json".into(), root) else {
            return Ok(false);
        };
        let findings = deadbolt::eval::evaluate(catalogue(), &[t], &Default::default(), None);
        Ok(!findings.is_empty())
    });
}

#[test]
fn policy_corpus() {
    // fuzz_targets/policy.rs
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    replay("policy", 300, 15, |data| {
        let Some(text) = text(data) else {
            return Ok(false);
        };
        let src = deadbolt::dsl::PolicySource {
            name: "fuzz.policy".into(),
            text: text.into(),
        };
        let checked = deadbolt::dsl::check_sources(&[src]);
        for d in &checked.diagnostics {
            let mut s = String::new();
            let _ = handler.render_report(&mut s, d);
        }
        let compiled = checked.policies.len() + checked.detections.len();
        Ok(compiled > 0 && !checked.has_errors())
    });
}

#[test]
fn scan_corpus() {
    // fuzz_targets/scan.rs, plus: the reports stay well-formed.
    use deadbolt::report;
    replay("scan", 300, 90, |data| {
        let Some(text) = text(data) else {
            return Ok(false);
        };
        let name = if text.trim_start().starts_with('{') {
            "in.json"
        } else {
            "in.yaml"
        };
        let (templates, errors) = deadbolt::load::load_source_all(name, text, &Default::default());
        let policies = catalogue();
        let findings = deadbolt::eval::evaluate(policies, &templates, &Default::default(), None);
        let json = report::json::render(&findings, &errors);
        valid_json("json", &json)?;
        control_free("json", &json)?;
        let sarif = report::sarif::render(&findings, policies, &errors);
        valid_json("sarif", &sarif)?;
        control_free("sarif", &sarif)?;
        let junit = report::junit::render(&findings, policies, &errors);
        control_free("junit", &junit)?;
        let github = report::github::render(&findings, &errors);
        control_free("github", &github)?;
        let opts = report::human::HumanOptions {
            color: false,
            show_passes: true,
            width: 100,
        };
        let src = text.to_string();
        let human =
            report::human::render(&findings, &errors, "fuzz", &opts, &|_| Some(src.clone()));
        control_free("human", &human)?;
        Ok(!findings.is_empty())
    });
}

#[test]
fn kms_request_corpus() {
    // fuzz_targets/kms_request.rs
    replay("kms_request", 3, 2, |data| {
        Ok(deadbolt::kms::server::http::parse_request_bytes(data).is_ok())
    });
}
