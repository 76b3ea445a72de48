//! The Terraform plan loader, then the whole catalogue over what it loads.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(root) = deadbolt::load::parse_json(text, "plan.json") {
            if let Ok(t) = deadbolt::load::plan_template("plan.json".into(), root) {
                let policies = deadbolt_fuzz_catalogue();
                let _ = deadbolt::eval::evaluate(policies, &[t], &Default::default(), None);
            }
        }
    }
});

fn deadbolt_fuzz_catalogue() -> &'static [deadbolt::compile::Policy] {
    static P: std::sync::OnceLock<Vec<deadbolt::compile::Policy>> = std::sync::OnceLock::new();
    P.get_or_init(|| deadbolt::scan::load_policies(&[]).expect("catalogue").policies)
}
