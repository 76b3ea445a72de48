//! Every ```deadbolt example in grammar/REFERENCE.md must parse and check cleanly,
//! so the manual cannot drift from the implementation.

use std::sync::Arc;

use deadbolt::dsl::{check_sources, PolicySource};

fn examples() -> Vec<(usize, String)> {
    let text = std::fs::read_to_string("grammar/REFERENCE.md").expect("reference manual");
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```deadbolt" => current = Some((n + 2, String::new())),
            Some(_) if line.trim() == "```" => out.push(current.take().expect("open block")),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn reference_examples_compile() {
    let examples = examples();
    assert!(
        examples.len() >= 4,
        "expected the manual's examples, found {}",
        examples.len()
    );
    for (line, body) in examples {
        let src = PolicySource {
            name: format!("grammar/REFERENCE.md:{line}"),
            text: Arc::from(body.as_str()),
        };
        let checked = check_sources(&[src]);
        let diags: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
        assert!(
            diags.is_empty(),
            "example at line {line} does not check: {diags:#?}"
        );
        assert!(
            !checked.policies.is_empty(),
            "example at line {line} defines no policy"
        );
    }
}

#[test]
fn grammar_file_names_every_keyword() {
    let ebnf = std::fs::read_to_string("grammar/deadbolt.ebnf").expect("grammar");
    for kw in [
        "policy", "for", "resource", "as", "when", "let", "require", "else", "and", "or", "not",
        "in", "matches", "exists", "empty", "is", "all", "any", "none",
    ] {
        assert!(
            ebnf.contains(&format!("\"{kw}\"")),
            "grammar lacks keyword {kw}"
        );
    }
}
