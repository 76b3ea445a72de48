//! Every ```deadbolt example in grammar/REFERENCE.md must parse and check cleanly,
//! so the manual cannot drift from the implementation; and the manual must name
//! every built-in function, aggregate and log field the checker knows.

use std::sync::Arc;

use deadbolt::compile::funcs::{AGGREGATES, FUNCS};
use deadbolt::dsl::{check_sources, PolicySource};
use deadbolt::schema::logs::{fields, FieldKind, LogSource};

fn manual() -> String {
    std::fs::read_to_string("grammar/REFERENCE.md").expect("reference manual")
}

fn examples() -> Vec<(usize, String)> {
    let text = manual();
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
    assert!(current.is_none(), "a ```deadbolt block is never closed");
    out
}

#[test]
fn reference_examples_compile() {
    let examples = examples();
    assert!(
        examples.len() >= 10,
        "expected the manual's examples, found {}",
        examples.len()
    );
    let (mut policies, mut detections) = (0, 0);
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
            !checked.policies.is_empty() || !checked.detections.is_empty(),
            "example at line {line} defines no policy or detection"
        );
        // Every block of the example compiled: count them by their keyword.
        let items = body
            .lines()
            .filter(|l| l.starts_with("policy ") || l.starts_with("detection "))
            .count();
        assert_eq!(
            checked.policies.len() + checked.detections.len(),
            items,
            "example at line {line}: not every policy or detection compiled"
        );
        policies += checked.policies.len();
        detections += checked.detections.len();
    }
    assert!(policies >= 7, "policy examples: {policies}");
    assert!(detections >= 6, "detection examples: {detections}");
}

/// The detection examples use every log source, grouping and each aggregate.
#[test]
fn detection_examples_cover_the_language() {
    let all: String = examples().into_iter().map(|(_, b)| b).collect();
    for needle in [
        "from flowlog as",
        "from cloudtrail as",
        "from dns as",
        "group by",
        "window",
        "alert when",
        "count()",
        "count_distinct(",
        "sum(",
        "max(",
        "threatlist(",
        "resource ",
        "message ",
        "let ",
        "each ",
        "url_decode(",
        "entropy(",
    ] {
        assert!(all.contains(needle), "no example uses `{needle}`");
    }
}

#[test]
fn reference_names_every_function_and_aggregate() {
    let text = manual();
    for f in FUNCS {
        assert!(
            text.contains(&format!("`{}(", f.name)),
            "grammar/REFERENCE.md does not document the function `{}`",
            f.name
        );
    }
    for (name, args, _) in AGGREGATES {
        let spelled = if *args == 0 {
            format!("`{name}()`")
        } else {
            format!("`{name}(")
        };
        assert!(
            text.contains(&spelled),
            "grammar/REFERENCE.md does not document the aggregate {spelled}"
        );
    }
}

/// Every field the checker accepts, at every level, is named in the manual
/// (flow log names with `_` for `-`, as detections write them).
#[test]
fn reference_names_every_log_field() {
    fn walk(out: &mut Vec<String>, fs: &[(&str, FieldKind)]) {
        for (name, kind) in fs {
            out.push(name.replace('-', "_"));
            match kind {
                FieldKind::Object(inner) | FieldKind::List(inner) => walk(out, inner),
                _ => {}
            }
        }
    }
    let text = manual();
    for source in LogSource::ALL {
        let mut names = Vec::new();
        walk(&mut names, fields(source));
        for n in names {
            assert!(
                text.contains(&format!("`{n}`")),
                "grammar/REFERENCE.md does not list the {} field `{n}`",
                source.as_str()
            );
        }
    }
    for source in ["`flowlog`", "`cloudtrail`", "`dns`"] {
        assert!(text.contains(source), "no mention of the source {source}");
    }
}

#[test]
fn grammar_file_names_every_keyword() {
    let ebnf = std::fs::read_to_string("grammar/deadbolt.ebnf").expect("grammar");
    for kw in [
        "policy",
        "for",
        "resource",
        "as",
        "when",
        "each",
        "let",
        "require",
        "else",
        "and",
        "or",
        "not",
        "in",
        "matches",
        "exists",
        "empty",
        "is",
        "all",
        "any",
        "none",
        "detection",
        "from",
        "flowlog",
        "cloudtrail",
        "dns",
        "where",
        "group",
        "by",
        "window",
        "alert",
        "message",
        "type",
        "action",
        "network_connection",
        "aws_api_call",
        "dns_request",
        "port_probe",
        "ms",
        "s",
        "m",
        "h",
        "d",
        "predicate",
        "types",
        "import",
    ] {
        assert!(
            ebnf.contains(&format!("\"{kw}\"")),
            "grammar lacks keyword {kw}"
        );
    }
}
