//! Every text transformation against the public ModSecurity transformation
//! vectors (owasp-modsecurity/secrules-language-tests), decoded into
//! `fixtures/waf/vectors/modsecurity-transformations.json`.
//!
//! A few vectors disagree with AWS WAF's documentation or rest on ModSecurity
//! quirks; they are listed in `DIVERGENT` with the reason, and the test fails if
//! any other vector disagrees (or a listed one starts to agree).

use deadbolt::waf::transform::TransformType;

/// (source, why deadbolt differs)
const DIVERGENT: &[(&str, &str)] = &[
    (
        "transformations/cssDecode.json#3",
        "expects the space after `\\<NUL>` to be swallowed; only hex escapes swallow one whitespace (CSS 2, and ModSecurity's own code)",
    ),
];

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("fixture hex")
}

#[test]
fn modsecurity_transformation_vectors() {
    let text = std::fs::read_to_string("fixtures/waf/vectors/modsecurity-transformations.json")
        .expect("vectors file");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("vectors JSON");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() > 250, "{} vectors", cases.len());
    let mut failures = Vec::new();
    let mut agreeing_divergent = Vec::new();
    let mut per_type = std::collections::BTreeMap::<&str, usize>::new();
    for c in cases {
        let ty_name = c["type"].as_str().unwrap();
        let ty = TransformType::from_name(ty_name).expect("known type");
        let input = hex(c["input_hex"].as_str().unwrap());
        let want = hex(c["output_hex"].as_str().unwrap());
        let got = ty.apply(&input).unwrap_or_else(|| input.clone());
        let source = c["source"].as_str().unwrap();
        let divergent = DIVERGENT.iter().any(|(s, _)| *s == source);
        *per_type.entry(ty_name).or_default() += 1;
        if got != want && !divergent {
            failures.push(format!(
                "{source} {ty_name}: input {:?}\n   want {:?}\n    got {:?}",
                String::from_utf8_lossy(&input),
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
            ));
        }
        if got == want && divergent {
            agreeing_divergent.push(source.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} vectors fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        agreeing_divergent.is_empty(),
        "now agree: {agreeing_divergent:?}"
    );
    // Every transformation with public vectors is covered.
    assert_eq!(per_type.len(), 25, "{per_type:?}");
}
