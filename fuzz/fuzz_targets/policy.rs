//! The policy parser and checker, and rendering every diagnostic as the CLI does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let src = deadbolt::dsl::PolicySource { name: "fuzz.policy".into(), text: text.into() };
        let checked = deadbolt::dsl::check_sources(&[src]);
        let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        for d in &checked.diagnostics {
            let mut s = String::new();
            let _ = handler.render_report(&mut s, d);
        }
    }
});
