//! Any input through loading, the whole catalogue and every report format.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let name = if text.trim_start().starts_with('{') { "in.json" } else { "in.yaml" };
    let (templates, errors) = deadbolt::load::load_source_all(name, text, &Default::default());
    let policies = catalogue();
    let findings = deadbolt::eval::evaluate(policies, &templates, &Default::default(), None);
    let _ = deadbolt::report::json::render(&findings, &errors);
    let _ = deadbolt::report::sarif::render(&findings, policies, &errors);
    let _ = deadbolt::report::junit::render(&findings, policies, &errors);
    let _ = deadbolt::report::github::render(&findings, &errors);
    let opts = deadbolt::report::human::HumanOptions { color: false, show_passes: true, width: 100 };
    let src = text.to_string();
    let _ = deadbolt::report::human::render(&findings, &errors, "fuzz", &opts, &|_| Some(src.clone()));
});

fn catalogue() -> &'static [deadbolt::compile::Policy] {
    static P: std::sync::OnceLock<Vec<deadbolt::compile::Policy>> = std::sync::OnceLock::new();
    P.get_or_init(|| deadbolt::scan::load_policies(&[]).expect("catalogue").policies)
}
