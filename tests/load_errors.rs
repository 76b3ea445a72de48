//! Bad input gets a clear error naming file, line and column, and never a hang or
//! a crash; the rest of a scan carries on.

use std::path::{Path, PathBuf};

use deadbolt::doc::Pos;
use deadbolt::load::{load_inputs, load_source, parse_json, parse_yaml, LoadError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/load/errors")
        .join(name)
}

/// The single error from loading one fixture named on the command line.
fn error_of(name: &str) -> LoadError {
    let out = load_inputs(&[fixture(name)]);
    assert!(out.templates.is_empty(), "{name}: {:?}", out.templates);
    assert_eq!(out.errors.len(), 1, "{name}: {:?}", out.errors);
    out.errors.into_iter().next().unwrap()
}

#[test]
fn alias_bomb_fails_fast() {
    let e = error_of("alias_bomb.yaml");
    assert_eq!(
        e.message,
        "alias expansion exceeds 100000 nodes (possible alias bomb)"
    );
    // The eighth `*lol3` of `lol4` is the one that crosses the bound.
    assert_eq!(e.pos, Some(Pos::new(6, 63)));
}

#[test]
fn deep_yaml_flow_nesting_is_an_error() {
    let e = error_of("deep_flow.yaml");
    assert_eq!(
        e.message,
        "nesting deeper than 255 levels of flow collections ('[' and '{')"
    );
    assert_eq!(e.pos, Some(Pos::new(1, 256)));
}

#[test]
fn deep_yaml_block_nesting_is_an_error() {
    let e = error_of("deep_block.yaml");
    assert_eq!(e.message, "nesting deeper than 256 levels");
    assert_eq!(e.pos, Some(Pos::new(1, 513)));

    // 10,000 nested block maps, one space of indentation per level.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep_map.yaml");
    let mut src = String::new();
    for depth in 0..10_000 {
        src.push_str(&" ".repeat(depth));
        src.push_str("key:\n");
    }
    std::fs::write(&path, src).unwrap();
    let out = load_inputs(&[path]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].message, "nesting deeper than 256 levels");
    assert_eq!(out.errors[0].pos, Some(Pos::new(257, 257)));
}

#[test]
fn deep_json_nesting_is_an_error() {
    let e = error_of("deep.json");
    assert_eq!(e.message, "nesting deeper than 256 levels");
    assert_eq!(e.pos, Some(Pos::new(1, 257)));
    let e = parse_json(&"{\"a\":".repeat(100_000), "x.json").unwrap_err();
    assert_eq!(e.message, "nesting deeper than 256 levels");
    let e = parse_yaml(&"[".repeat(100_000), "x.yaml").unwrap_err();
    assert!(e.message.starts_with("nesting deeper than"));
}

#[test]
fn tab_indentation_names_the_line() {
    let e = error_of("tab_indent.yaml");
    assert!(e.path.ends_with("tab_indent.yaml"));
    assert_eq!(e.pos, Some(Pos::new(6, 1)));
    assert_eq!(
        e.message,
        "tab character used for indentation; YAML indentation must use spaces"
    );
    assert!(e.to_string().ends_with(
        "tab_indent.yaml:6:1: tab character used for indentation; YAML indentation must use spaces"
    ));
}

#[test]
fn malformed_json_has_line_and_column() {
    let e = error_of("malformed.json");
    assert_eq!(e.pos, Some(Pos::new(7, 9)));
    assert_eq!(
        e.message,
        "expected ',' or '}' after object member, found '\"'"
    );
}

#[test]
fn binary_file_named_explicitly_is_an_error() {
    let e = error_of("binary.dat");
    assert_eq!(e.pos, None);
    assert!(
        e.message
            .starts_with("binary file, expected a JSON or YAML template"),
        "{e}"
    );
    assert!(e.to_string().contains("binary.dat: binary file"));
}

#[test]
fn duplicate_keys_name_both_lines() {
    let e = error_of("duplicate_key.yaml");
    assert_eq!(e.pos, Some(Pos::new(7, 7)));
    assert_eq!(
        e.message,
        "duplicate key 'Encrypted' in mapping (first at line 5, again at line 7)"
    );
}

#[test]
fn resource_without_type_is_an_error() {
    let out = load_inputs(&[fixture("bad_resource.yaml")]);
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    // The rest of the template is still scanned.
    assert_eq!(out.templates.len(), 1);
    let ids: Vec<&str> = out.templates[0]
        .resources
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids, ["Good"]);
    let e = &out.errors[0];
    assert_eq!(e.pos, Some(Pos::new(5, 3)));
    assert_eq!(
        e.message,
        "resource NoType has no Type; expected e.g. Type: AWS::S3::Bucket"
    );
}

#[test]
fn a_directory_walk_reports_every_bad_file_and_skips_binaries() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/load/errors");
    let out = load_inputs(&[dir]);
    let names: Vec<String> = out
        .errors
        .iter()
        .map(|e| e.path.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "alias_bomb.yaml",
            "bad_resource.yaml",
            "deep.json",
            "deep_block.yaml",
            "deep_flow.yaml",
            "duplicate_key.yaml",
            "malformed.json",
            "tab_indent.yaml"
        ]
    );
    let skipped: Vec<String> = out
        .skipped
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(skipped.is_empty(), "{skipped:?}");
    // binary.dat is not a candidate extension in a walk at all; only the good
    // resource of bad_resource.yaml is scanned.
    assert_eq!(out.templates.len(), 1);
    assert!(out.templates[0].path.ends_with("bad_resource.yaml"));
}

#[test]
fn good_files_load_next_to_bad_ones() {
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/load/volumes.yaml");
    let out = load_inputs(&[fixture("malformed.json"), good, fixture("nope.yaml")]);
    assert_eq!(out.templates.len(), 1);
    assert_eq!(out.errors.len(), 2);
    assert!(out.errors[0].message.contains("expected ',' or '}'"));
    assert_eq!(
        out.errors[1].message,
        "cannot read: no such file or directory"
    );
}

#[test]
fn yaml_syntax_errors_are_positioned() {
    let e = load_source("s.yaml", "Resources:\n  A: [1, 2\n").unwrap_err();
    assert_eq!(e.path, "s.yaml");
    assert!(e.pos.is_some());
    let e = load_source("s.yaml", "a: *missing\n").unwrap_err();
    assert_eq!(e.pos, Some(Pos::new(1, 4)));
    assert!(e.message.contains("undefined anchor"), "{e}");
    let e = load_source(
        "s.yaml",
        "Resources:\n  A:\n    Type: AWS::S3::Bucket\n   B: 1\n",
    )
    .unwrap_err();
    assert_eq!(e.pos.map(|p| p.line), Some(4), "{e}");
}

#[test]
fn nul_bytes_and_garbage_in_memory_do_not_panic() {
    for src in [
        "\0",
        "a: \0b",
        "\u{feff}\u{feff}",
        "[\0]",
        "{\"a\":\"\0\"}",
        "- !<",
        "&",
        "*",
    ] {
        let _ = load_source("g.yaml", src);
        let _ = load_source("g.json", src);
    }
}
