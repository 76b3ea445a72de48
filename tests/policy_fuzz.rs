//! Mangled policy sources must give diagnostics, never a panic: every catalogue
//! policy is cut, spliced and sprinkled with random characters (fixed seed).

use std::sync::Arc;

use deadbolt::dsl::{check_sources, PolicySource};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() as usize) % n.max(1)
    }
}

const NOISE: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "\\",
    ".",
    "*",
    "?",
    "@",
    ":",
    ",",
    "==",
    "not",
    "and",
    "all x in ",
    "kms.",
    "for resource ",
    "require ",
    "let ",
    "else \"{",
    "}\"",
    "#",
    "\n",
    "é",
    "\u{0}",
    "9999999999999999999999",
];

#[test]
fn mangled_policies_never_panic() {
    let mut rng = Lcg(0x5eed);
    let sources: Vec<String> = deadbolt::catalog::CATALOG
        .iter()
        .map(|(_, t)| t.to_string())
        .collect();
    let mut checked = 0;
    for round in 0..400 {
        let base = &sources[round % sources.len()];
        let chars: Vec<char> = base.chars().collect();
        let mut text: String = match rng.below(3) {
            // Cut at a random point.
            0 => chars[..rng.below(chars.len())].iter().collect(),
            // Delete a random span.
            1 => {
                let a = rng.below(chars.len());
                let b = (a + rng.below(40)).min(chars.len());
                chars[..a].iter().chain(chars[b..].iter()).collect()
            }
            _ => base.clone(),
        };
        for _ in 0..rng.below(6) {
            let at = text
                .char_indices()
                .map(|(i, _)| i)
                .nth(rng.below(text.chars().count()))
                .unwrap_or(0);
            text.insert_str(at, NOISE[rng.below(NOISE.len())]);
        }
        let result = std::panic::catch_unwind(|| {
            check_sources(&[PolicySource {
                name: "fuzz.policy".into(),
                text: Arc::from(text.as_str()),
            }])
        });
        assert!(result.is_ok(), "panic on input:\n{text}");
        checked += 1;
    }
    assert_eq!(checked, 400);
}

/// Replaces random values of a document with values of another kind.
fn mangle(v: &mut deadbolt::doc::Value, rng: &mut Lcg, depth: usize) {
    use deadbolt::doc::{Node, Value};
    if rng.below(9) == 0 || depth > 30 {
        let pos = v.pos;
        v.node = match rng.below(7) {
            0 => Node::Null,
            1 => Node::Bool(rng.below(2) == 0),
            2 => Node::Int(rng.next() as i64 - (1 << 30)),
            3 => Node::Str(
                [
                    "",
                    "*",
                    "0.0.0.0/0",
                    "-1",
                    "true",
                    "aws:kms",
                    "alias/aws/ebs",
                ][rng.below(7)]
                .into(),
            ),
            4 => Node::Seq(vec![Value::new(Node::Str("x".into()), pos)]),
            5 => Node::Map(vec![deadbolt::doc::Entry {
                key: [
                    "Ref",
                    "Fn::If",
                    "Fn::GetAtt",
                    "Fn::Sub",
                    "Fn::Join",
                    "Condition",
                ][rng.below(6)]
                .into(),
                key_pos: pos,
                value: Value::new(Node::Str("Nothing".into()), pos),
            }]),
            _ => Node::Computed {
                refs: vec!["aws_kms_key.k".into()],
                configured: rng.below(2) == 0,
            },
        };
        return;
    }
    match &mut v.node {
        Node::Seq(items) => items.iter_mut().for_each(|i| mangle(i, rng, depth + 1)),
        Node::Map(entries) => entries
            .iter_mut()
            .for_each(|e| mangle(&mut e.value, rng, depth + 1)),
        _ => {}
    }
}

#[test]
fn mangled_templates_never_panic_the_evaluator() {
    let checked = deadbolt::scan::load_policies(&[]).expect("catalogue");
    let outcome = deadbolt::load::load_inputs(&[std::path::PathBuf::from("fixtures/catalog")]);
    assert!(outcome.templates.len() > 50);
    let mut rng = Lcg(42);
    for round in 0..6 {
        let mut templates = outcome.templates.clone();
        for t in &mut templates {
            for r in &mut t.resources {
                if let Some(p) = &mut r.props {
                    mangle(p, &mut rng, 0);
                }
            }
        }
        let params = deadbolt::eval::Params::default();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            deadbolt::eval::evaluate(&checked.policies, &templates, &params, None)
        }));
        assert!(result.is_ok(), "the evaluator panicked in round {round}");
    }
}
