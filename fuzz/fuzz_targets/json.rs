//! The span-aware JSON parser and template recognition.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = deadbolt::load::parse_json(text, "fuzz.json");
        let _ = deadbolt::load::load_source_all("fuzz.json", text, &Default::default());
    }
});
