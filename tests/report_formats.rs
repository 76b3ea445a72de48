//! The CI output formats: SARIF 2.1.0, Ant JUnit XML and GitHub annotations.
//!
//! - SARIF is validated against the official OASIS schema
//!   (`tests/schemas/sarif-schema-2.1.0.json`, draft-07, formats checked) with the
//!   `jsonschema` crate, plus the spec rules the schema cannot express.
//! - JUnit is validated against the Ant JUnit XSD (`tests/schemas/junit.xsd`) with
//!   the pure-Rust `xmlschema` crate. That crate does not yet reject undeclared
//!   attributes nor count the members of an `xs:choice`, so `xsd_gaps` checks those
//!   two rules, reading the allowed attributes and choices out of the same XSD.
//!   CI also validates both files with Python's `xmlschema` and `jsonschema` and
//!   reads them back with `junitparser` and `sarif-tools`
//!   (`tests/python/validate_reports.py`).
//! - Every format is pinned with an insta snapshot; paths are relative, so the
//!   snapshots hold on every machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use deadbolt::compile::Policy;
use deadbolt::doc::Pos;
use deadbolt::eval::Params;
use deadbolt::load::LoadError;
use deadbolt::report::{github, junit, sarif};
use deadbolt::result::{Finding, Status, Summary};
use serde_json::Value;

const INPUTS: &[&str] = &[
    "fixtures/examples",
    // Has a parameter without a default: a real `unknown` (kms-claimed-key-usable).
    "fixtures/catalog/sqs-queue-encryption/cfn.yaml",
];

struct Sample {
    findings: Vec<Finding>,
    policies: Vec<Policy>,
    errors: Vec<LoadError>,
}

/// The examples scanned with the built-in catalogue, plus two suppressed results
/// (an inline skip and a waiver) and two load errors, one with every character the
/// formats must escape.
fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let checked = deadbolt::scan::load_policies(&[]).expect("catalogue loads");
        assert!(!checked.has_errors(), "the catalogue compiles");
        let paths: Vec<PathBuf> = INPUTS.iter().map(PathBuf::from).collect();
        let outcome = deadbolt::scan::scan(&checked.policies, &paths, &Params::default(), None);
        assert!(outcome.load_errors.is_empty(), "{:?}", outcome.load_errors);
        let mut findings = outcome.findings;
        let mut skip = |file: &str, reason: &str| {
            let f = findings
                .iter_mut()
                .find(|f| f.status == Status::Fail && f.file.ends_with(file))
                .expect("a failure to suppress");
            f.status = Status::Skipped;
            f.skip_reason = Some(reason.to_string());
        };
        skip("webapp.yaml", "inline skip: scratch data, wiped nightly");
        skip(
            "platform-plan.json",
            "waiver SEC-142 (expires 2027-06-30): key retired with the v1 stack",
        );
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let errors = vec![
            LoadError::at(
                "fixtures/broken/bad.yaml",
                Pos::new(3, 7),
                "expected `:` after key \"a,b\" <&> (100% sure)\nfound a sequence",
            ),
            LoadError::file(
                "fixtures/broken/blob.bin",
                "binary file, expected a JSON or YAML template",
            ),
        ];
        Sample {
            findings,
            policies: checked.policies,
            errors,
        }
    })
}

fn junit_options() -> junit::JunitOptions {
    junit::JunitOptions {
        timestamp: "2026-01-02T03:04:05".to_string(),
        hostname: "ci-runner".to_string(),
    }
}

fn sarif_text() -> String {
    let s = sample();
    sarif::render(&s.findings, &s.policies, &s.errors)
}

fn junit_text() -> String {
    let s = sample();
    junit::render_with(&s.findings, &s.policies, &s.errors, &junit_options())
}

fn count(status: Status) -> usize {
    sample()
        .findings
        .iter()
        .filter(|f| f.status == status)
        .count()
}

// ---- SARIF -----------------------------------------------------------------------

fn sarif_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string("tests/schemas/sarif-schema-2.1.0.json")
            .expect("the SARIF schema is in tests/schemas");
        // The official schema's `language` patterns (of `run` and `toolComponent`,
        // which deadbolt does not write) have an unescaped `]`, legal only in
        // ECMA-262's Annex B, that jsonschema's strict `regex` format check rejects
        // while checking the schema itself. Escaping it keeps the meaning and lets
        // the formats of the log (`uri`, `uri-reference`, ...) be validated.
        let lax = r#"-[a-zA-Z]{2}]?$"#;
        assert_eq!(text.matches(lax).count(), 2, "the schema changed");
        let text = text.replace(lax, r#"-[a-zA-Z]{2}\\]?$"#);
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles")
    })
}

fn sarif_schema_errors(log: &Value) -> Vec<String> {
    sarif_validator()
        .iter_errors(log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let log: Value = serde_json::from_str(&sarif_text()).expect("SARIF is JSON");
    let errors = sarif_schema_errors(&log);
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );

    // With passes too.
    let s = sample();
    let all = sarif::render_with(
        &s.findings,
        &s.policies,
        &s.errors,
        &sarif::SarifOptions {
            include_passes: true,
        },
    );
    let log: Value = serde_json::from_str(&all).expect("SARIF is JSON");
    let errors = sarif_schema_errors(&log);
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_schema_validation_rejects_broken_logs() {
    // The validator must catch real mistakes, or the test above proves nothing.
    let good: Value = serde_json::from_str(&sarif_text()).unwrap();
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: Vec<Mutation> = vec![
        ("line 0", |v| {
            v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
                0.into();
        }),
        ("bad kind", |v| {
            v["runs"][0]["results"][0]["kind"] = "broken".into();
        }),
        ("unknown property", |v| {
            v["runs"][0]["results"][0]["severity"] = "high".into();
        }),
        ("duplicate tags", |v| {
            v["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"] =
                serde_json::json!(["a", "a"]);
        }),
        ("uri with a space", |v| {
            v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"] = "a b.yaml".into();
        }),
    ];
    for (name, mutate) in mutations {
        let mut v = good.clone();
        mutate(&mut v);
        assert!(
            !sarif_schema_errors(&v).is_empty(),
            "the schema accepted a log with {name}"
        );
    }
}

#[test]
fn sarif_follows_the_spec_and_the_result_model() {
    let s = sample();
    let log: Value = serde_json::from_str(&sarif_text()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "deadbolt");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));

    // Rules: every policy that produced a result, sorted, fully described.
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = s
        .findings
        .iter()
        .map(|f| f.policy.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(ids, expected);
    for r in rules {
        let p = s.policies.iter().find(|p| p.id == r["id"]).unwrap();
        assert_eq!(r["shortDescription"]["text"], p.title.as_str());
        assert!(!r["fullDescription"]["text"].as_str().unwrap().is_empty());
        assert!(r["help"]["text"].as_str().unwrap().contains(&p.remediation));
        assert!(r["help"]["markdown"].as_str().is_some());
        assert_eq!(
            r["properties"]["security-severity"],
            sarif::security_severity(p.severity)
        );
        assert_eq!(r["defaultConfiguration"]["level"], sarif::level(p.severity));
        if let Some(first) = p.references.first() {
            assert_eq!(r["helpUri"], first.as_str());
        }
        let tags: Vec<&str> = r["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        for c in &p.controls {
            assert!(tags.contains(&c.as_str()), "{c} missing from {tags:?}");
        }
    }

    // Results: fail, unknown and skipped; no passes by default.
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        count(Status::Fail) + count(Status::Unknown) + count(Status::Skipped)
    );
    assert!(count(Status::Unknown) > 0 && count(Status::Skipped) == 2);
    for r in results {
        let idx = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(
            rules[idx]["id"], r["ruleId"],
            "ruleIndex points at the rule"
        );
        let kind = r["kind"].as_str().unwrap();
        let level = r["level"].as_str().unwrap();
        // SARIF §3.27.10: a result whose kind is not `fail` has level `none`.
        if kind != "fail" {
            assert_eq!(level, "none", "{r}");
        } else {
            assert_ne!(level, "none", "{r}");
        }
        assert!(r["partialFingerprints"][sarif::FINGERPRINT_KEY].is_string());
        let loc = &r["locations"][0];
        let region = &loc["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
        assert_eq!(
            loc["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
        assert_eq!(loc["logicalLocations"][0]["kind"], "resource");
        match r["properties"]["status"].as_str().unwrap() {
            "fail" => assert!(r.get("suppressions").is_none()),
            "unknown" => assert_eq!(kind, "review"),
            "skipped" => {
                let sup = &r["suppressions"][0];
                assert!(sup["justification"].as_str().unwrap().len() > 10);
                assert!(sup["kind"] == "inSource" || sup["kind"] == "external");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let kinds: BTreeSet<&str> = results
        .iter()
        .filter_map(|r| r["suppressions"][0]["kind"].as_str())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["external", "inSource"]));

    // Every result matches its finding, in order.
    let shown: Vec<&Finding> = s
        .findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    for (r, f) in results.iter().zip(&shown) {
        assert_eq!(r["ruleId"], f.policy.as_str());
        assert_eq!(r["message"]["text"], f.message.as_str());
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            f.file.as_str()
        );
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            f.line
        );
        assert_eq!(
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            format!("{}/{}", f.resource_type, f.resource)
        );
        assert_eq!(
            r["partialFingerprints"]["deadbolt/v1"],
            f.fingerprint.as_str()
        );
    }

    // Load errors.
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), s.errors.len());
    assert_eq!(notes[0]["level"], "error");
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert!(notes[1]["locations"][0]["physicalLocation"]
        .get("region")
        .is_none());

    // Passes on request.
    let all: Value = serde_json::from_str(&sarif::render_with(
        &s.findings,
        &s.policies,
        &[],
        &sarif::SarifOptions {
            include_passes: true,
        },
    ))
    .unwrap();
    let all_results = all["runs"][0]["results"].as_array().unwrap();
    assert_eq!(all_results.len(), s.findings.len());
    assert!(all_results
        .iter()
        .any(|r| r["kind"] == "pass" && r["level"] == "none"));
    assert_eq!(
        all["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
    assert_eq!(
        all["runs"][0]["properties"]["summary"]["pass"],
        count(Status::Pass)
    );
}

#[test]
fn sarif_snapshot() {
    insta::assert_snapshot!("sarif", sarif_text());
}

/// `(ruleId, fingerprint) → startLine` of a scan of one file.
fn fingerprints_of(path: &Path, policies: &[Policy]) -> BTreeMap<(String, String), u64> {
    let outcome = deadbolt::scan::scan(policies, &[path.to_path_buf()], &Params::default(), None);
    assert!(outcome.load_errors.is_empty(), "{:?}", outcome.load_errors);
    let log: Value = serde_json::from_str(&sarif::render_with(
        &outcome.findings,
        policies,
        &[],
        &sarif::SarifOptions {
            include_passes: true,
        },
    ))
    .unwrap();
    assert!(sarif_schema_errors(&log).is_empty());
    let mut out = BTreeMap::new();
    for r in log["runs"][0]["results"].as_array().unwrap() {
        let key = (
            r["ruleId"].as_str().unwrap().to_string(),
            r["partialFingerprints"]["deadbolt/v1"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap();
        assert!(out.insert(key, line).is_none(), "fingerprints are unique");
    }
    out
}

#[test]
fn sarif_fingerprints_survive_line_shifts() {
    let s = sample();
    let original = std::fs::read_to_string("fixtures/examples/webapp.yaml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webapp.yaml");

    std::fs::write(&path, &original).unwrap();
    let before = fingerprints_of(&path, &s.policies);
    std::fs::write(&path, format!("\n\n{original}")).unwrap();
    let after = fingerprints_of(&path, &s.policies);

    assert!(before.len() > 5);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same results with the same partialFingerprints"
    );
    for (key, line) in &before {
        assert_eq!(after[key], line + 2, "{key:?} moved down two lines");
    }
}

// ---- JUnit -------------------------------------------------------------------------

fn junit_schema() -> &'static (xmlschema::Schema, XsdRules) {
    static S: OnceLock<(xmlschema::Schema, XsdRules)> = OnceLock::new();
    S.get_or_init(|| {
        let xsd = std::fs::read_to_string("tests/schemas/junit.xsd")
            .expect("the JUnit XSD is in tests/schemas");
        let schema = xmlschema::parse_schema(&xsd).expect("the XSD parses");
        let doc = oxml::parse(&xsd).expect("the XSD is XML");
        (schema, xsd_rules(&doc))
    })
}

/// Every violation of `tests/schemas/junit.xsd` in `xml`.
fn junit_violations(xml: &str) -> Vec<String> {
    let doc = match oxml::parse(xml) {
        Ok(d) => d,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let (schema, rules) = junit_schema();
    let mut out: Vec<String> = xmlschema::validate(&doc, schema)
        .violations
        .iter()
        .map(ToString::to_string)
        .collect();
    out.extend(xsd_gaps(&doc, rules));
    out
}

/// What `xmlschema` 0.0.14 does not enforce, read from the XSD: the attributes each
/// element may have, and the choices of which at most one child may appear.
#[derive(Default)]
struct XsdRules {
    attributes: BTreeMap<String, BTreeSet<String>>,
    /// (parent element, members of a choice that occurs at most once)
    choices: Vec<(String, BTreeSet<String>)>,
}

fn local_name(doc: &oxml::Document, id: oxml::NodeId) -> Option<&str> {
    doc.element_name(id).map(|n| n.local.as_str())
}

fn xsd_rules(doc: &oxml::Document) -> XsdRules {
    let root = doc.root_element().unwrap();
    let named_types: BTreeMap<String, oxml::NodeId> = doc
        .children(root)
        .iter()
        .copied()
        .filter(|&c| local_name(doc, c) == Some("complexType"))
        .filter_map(|c| doc.attribute(c, "name").map(|n| (n.to_string(), c)))
        .collect();

    // Attributes declared under `node`, not looking into nested element
    // declarations, following `type=` and `extension base=` to named types.
    fn declared(
        doc: &oxml::Document,
        node: oxml::NodeId,
        types: &BTreeMap<String, oxml::NodeId>,
        out: &mut BTreeSet<String>,
    ) {
        for &c in doc.children(node) {
            match local_name(doc, c) {
                Some("element") | None => {}
                Some("attribute") => {
                    if let Some(n) = doc.attribute(c, "name") {
                        out.insert(n.to_string());
                    }
                }
                Some(kind) => {
                    if kind == "extension" || kind == "restriction" {
                        if let Some(&t) = doc.attribute(c, "base").and_then(|b| types.get(b)) {
                            declared(doc, t, types, out);
                        }
                    }
                    declared(doc, c, types, out);
                }
            }
        }
    }

    let mut rules = XsdRules::default();
    let elements: Vec<oxml::NodeId> = doc
        .descendants_of(root)
        .filter(|&n| local_name(doc, n) == Some("element"))
        .collect();
    for el in elements {
        let Some(name) = doc.attribute(el, "name") else {
            continue;
        };
        let set = rules.attributes.entry(name.to_string()).or_default();
        if let Some(&t) = doc.attribute(el, "type").and_then(|t| named_types.get(t)) {
            declared(doc, t, &named_types, set);
        }
        declared(doc, el, &named_types, set);
    }
    for choice in doc
        .descendants_of(root)
        .filter(|&n| local_name(doc, n) == Some("choice"))
    {
        if doc.attribute(choice, "maxOccurs").is_some_and(|m| m != "1") {
            continue;
        }
        let mut owner = doc.parent(choice);
        while let Some(o) = owner {
            if local_name(doc, o) == Some("element") {
                break;
            }
            owner = doc.parent(o);
        }
        let owner = owner
            .and_then(|o| doc.attribute(o, "name"))
            .expect("a choice inside an element")
            .to_string();
        let members = doc
            .children(choice)
            .iter()
            .filter_map(|&c| doc.attribute(c, "name").map(str::to_string))
            .collect();
        rules.choices.push((owner, members));
    }
    rules
}

fn xsd_gaps(doc: &oxml::Document, rules: &XsdRules) -> Vec<String> {
    let mut out = Vec::new();
    let root = doc.root_element().unwrap();
    for el in std::iter::once(root).chain(doc.descendants_of(root)) {
        let Some(name) = local_name(doc, el) else {
            continue;
        };
        let Some(allowed) = rules.attributes.get(name) else {
            out.push(format!("<{name}> is not declared in the XSD"));
            continue;
        };
        for a in doc.attributes(el) {
            let attr = doc.name(a.name).map_or("?", |n| n.local.as_str());
            if !allowed.contains(attr) {
                out.push(format!("<{name}> has undeclared attribute `{attr}`"));
            }
        }
        for (owner, members) in &rules.choices {
            if owner != name {
                continue;
            }
            let n = doc
                .children(el)
                .iter()
                .filter(|&&c| local_name(doc, c).is_some_and(|l| members.contains(l)))
                .count();
            if n > 1 {
                out.push(format!(
                    "<{name}> has {n} children of a single choice {members:?}"
                ));
            }
        }
    }
    out
}

#[test]
fn junit_is_valid_against_the_ant_xsd() {
    let v = junit_violations(&junit_text());
    assert!(v.is_empty(), "XSD violations:\n{}", v.join("\n"));
    // Also without load errors, and with the real clock and host name.
    let s = sample();
    let v = junit_violations(&junit::render(&s.findings, &s.policies, &[]));
    assert!(v.is_empty(), "XSD violations:\n{}", v.join("\n"));
    // And with no findings at all.
    let v = junit_violations(&junit::render_with(&[], &[], &[], &junit_options()));
    assert!(v.is_empty(), "XSD violations:\n{}", v.join("\n"));
}

#[test]
fn junit_xsd_validation_rejects_broken_reports() {
    let good = junit_text();
    let mutations: Vec<(&str, String)> = vec![
        (
            "a zoned timestamp",
            good.replace("T03:04:05\"", "T03:04:05Z\""),
        ),
        ("no properties", good.replacen("<properties/>", "", 1)),
        ("no system-err", good.replacen("<system-err/>", "", 1)),
        (
            "a failure without type",
            good.replacen("<failure type=\"high\"", "<failure", 1),
        ),
        (
            "an undeclared attribute",
            good.replacen("<skipped ", "<skipped type=\"x\" ", 1),
        ),
        (
            "attributes on testsuites",
            good.replacen("<testsuites>", "<testsuites tests=\"1\">", 1),
        ),
        (
            "two outcomes in one testcase",
            good.replacen("<skipped ", "<skipped/><skipped ", 1),
        ),
        (
            "a non-decimal time",
            good.replacen("time=\"0\"", "time=\"x\"", 1),
        ),
        ("broken XML", good.replacen("</testsuite>", "", 1)),
    ];
    for (name, xml) in mutations {
        assert_ne!(xml, good, "mutation {name} changed nothing");
        assert!(
            !junit_violations(&xml).is_empty(),
            "the XSD check accepted a report with {name}"
        );
    }
}

#[test]
fn junit_maps_every_status() {
    let s = sample();
    let xml = junit_text();
    let doc = oxml::parse(&xml).unwrap();
    let root = doc.root_element().unwrap();
    let suites: Vec<oxml::NodeId> = doc
        .children(root)
        .iter()
        .copied()
        .filter(|&c| local_name(&doc, c) == Some("testsuite"))
        .collect();
    let attr = |id, name| doc.attribute(id, name).unwrap().to_string();
    let num = |id, name| attr(id, name).parse::<usize>().unwrap();

    // The inputs suite first, then one suite per policy, sorted.
    assert_eq!(attr(suites[0], "name"), junit::INPUTS_SUITE);
    assert_eq!(num(suites[0], "errors"), 2);
    let names: Vec<String> = suites[1..].iter().map(|&s| attr(s, "name")).collect();
    let mut ids: Vec<String> = s.policies.iter().map(|p| p.id.clone()).collect();
    ids.sort();
    assert_eq!(names, ids);
    for (i, &suite) in suites.iter().enumerate() {
        assert_eq!(num(suite, "id"), i);
    }

    let total = |name| suites[1..].iter().map(|&s| num(s, name)).sum::<usize>();
    let summary = Summary::of(&s.findings);
    assert_eq!(total("tests"), s.findings.len());
    assert_eq!(total("failures"), summary.fail);
    assert_eq!(total("errors"), summary.unknown);
    assert_eq!(total("skipped"), summary.skipped);

    // Test cases: one per finding, named without lines, in the finding's suite.
    let cases: Vec<oxml::NodeId> = suites[1..]
        .iter()
        .flat_map(|&s| doc.children(s).to_vec())
        .filter(|&c| local_name(&doc, c) == Some("testcase"))
        .collect();
    assert_eq!(cases.len(), s.findings.len());
    let mut seen = BTreeSet::new();
    for &c in &cases {
        let key = (attr(c, "classname"), attr(c, "name"));
        assert!(seen.insert(key.clone()), "duplicate test case {key:?}");
    }
    for f in &s.findings {
        let c = cases
            .iter()
            .copied()
            .find(|&c| attr(c, "classname") == f.policy && attr(c, "name") == junit::case_name(f))
            .unwrap_or_else(|| panic!("no test case for {f:?}"));
        let outcome = doc.children(c).iter().copied().find(|&x| doc.is_element(x));
        let outcome_name = outcome.and_then(|o| local_name(&doc, o));
        match f.status {
            Status::Pass => assert_eq!(outcome_name, None),
            Status::Fail => {
                let o = outcome.unwrap();
                assert_eq!(outcome_name, Some("failure"));
                assert_eq!(attr(o, "type"), f.severity.as_str());
                assert_eq!(attr(o, "message"), f.message);
                assert!(doc
                    .text(o)
                    .starts_with(&format!("{}:{}:{}: ", f.file, f.line, f.column)));
            }
            Status::Unknown => {
                let o = outcome.unwrap();
                assert_eq!(outcome_name, Some("error"));
                assert_eq!(attr(o, "type"), "unknown");
            }
            Status::Skipped => {
                let o = outcome.unwrap();
                assert_eq!(outcome_name, Some("skipped"));
                assert_eq!(&attr(o, "message"), f.skip_reason.as_ref().unwrap());
            }
        }
    }

    // Escaping round-trips: the load error's message comes back intact.
    let inputs_case = doc
        .children(suites[0])
        .iter()
        .copied()
        .find(|&c| local_name(&doc, c) == Some("testcase"))
        .unwrap();
    let error = doc
        .children(inputs_case)
        .iter()
        .copied()
        .find(|&c| doc.is_element(c))
        .unwrap();
    assert_eq!(attr(error, "message"), s.errors[0].message);
    assert!(doc.text(error).contains(&s.errors[0].to_string()));
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", junit_text());
}

// ---- GitHub annotations ------------------------------------------------------------

#[test]
fn github_annotations() {
    let s = sample();
    let out = github::render(&s.findings, &s.errors);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        s.errors.len()
            + s.findings
                .iter()
                .filter(|f| f.status != Status::Pass)
                .count()
    );
    for line in &lines {
        assert!(
            line.starts_with("::error file=")
                || line.starts_with("::warning file=")
                || line.starts_with("::notice file="),
            "{line}"
        );
        // Exactly one `::` separates properties from the message; properties have
        // no raw `:` or newline.
        let (head, _msg) = line[2..].split_once("::").unwrap();
        assert!(!head.contains(':'), "{line}");
    }
    assert_eq!(
        lines[0],
        "::error file=fixtures/broken/bad.yaml,line=3,col=7,title=deadbolt input error\
         ::expected `:` after key \"a,b\" <&> (100%25 sure)%0Afound a sequence"
    );
    assert_eq!(
        lines[1],
        "::error file=fixtures/broken/blob.bin,title=deadbolt input error\
         ::binary file, expected a JSON or YAML template"
    );
    let high = s
        .findings
        .iter()
        .find(|f| f.status == Status::Fail && f.severity.as_str() == "high")
        .unwrap();
    let expected = format!(
        "::error file={},line={},col={},title=deadbolt {} (high)::{}",
        high.file, high.line, high.column, high.policy, high.message
    );
    assert!(lines.contains(&expected.as_str()), "{expected}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("::warning ") && l.contains("%2C unknown)::")));
    assert!(lines.iter().any(|l| l.starts_with("::notice ")
        && l.contains("%2C skipped)::skipped: inline skip: scratch data")));
}

#[test]
fn github_snapshot() {
    let s = sample();
    insta::assert_snapshot!("github", github::render(&s.findings, &s.errors));
}

// ---- edge cases ----------------------------------------------------------------------

fn odd_finding(status: Status, policy: &str, file: &str, line: u32, document: usize) -> Finding {
    let s = sample();
    let base = s
        .findings
        .iter()
        .find(|f| f.status == Status::Fail)
        .unwrap();
    Finding {
        policy: policy.to_string(),
        severity: deadbolt::compile::Severity::High,
        status,
        file: file.to_string(),
        line,
        column: if line == 0 { 0 } else { 3 },
        document,
        resource: "Odd\"<Name>&,:%".to_string(),
        message: "bell\u{7} and ]]> \r\nnext line: 100% <b>".to_string(),
        skip_reason: (status == Status::Skipped).then(|| "inline skip: a:b, c%\nd".to_string()),
        fingerprint: deadbolt::result::fingerprint(policy, file, document, "Odd"),
        ..base.clone()
    }
}

#[test]
fn edge_cases_stay_valid() {
    let s = sample();
    let known = "ebs-volume-encryption";
    let findings = vec![
        odd_finding(Status::Fail, known, "/abs dir/ü/stack.yaml", 0, 0),
        odd_finding(Status::Unknown, known, "multi.yaml", 12, 1),
        odd_finding(Status::Skipped, "not-in-the-catalogue", "multi.yaml", 40, 2),
        Finding {
            skip_reason: None,
            ..odd_finding(Status::Skipped, known, "x.yaml", 1, 0)
        },
        odd_finding(Status::Pass, known, "x.yaml", 2, 0),
    ];
    let errors = vec![LoadError::file("/abs dir/bad\u{1}.yaml", "nul\u{0} byte")];

    let log: Value = serde_json::from_str(&sarif::render_with(
        &findings,
        &s.policies,
        &errors,
        &sarif::SarifOptions {
            include_passes: true,
        },
    ))
    .unwrap();
    let v = sarif_schema_errors(&log);
    assert!(v.is_empty(), "{}", v.join("\n"));
    let results = log["runs"][0]["results"].as_array().unwrap();
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "file:///abs%20dir/%C3%BC/stack.yaml"
    );
    assert!(loc["artifactLocation"].get("uriBaseId").is_none());
    assert!(loc.get("region").is_none(), "no region for line 0");
    assert_eq!(results[1]["properties"]["document"], 1);
    assert_eq!(results[2]["ruleId"], "not-in-the-catalogue");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(
        rules[results[2]["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "not-in-the-catalogue"
    );
    assert_eq!(
        results[3]["suppressions"][0]["justification"],
        "no reason given"
    );

    let xml = junit::render_with(&findings, &s.policies, &errors, &junit_options());
    let v = junit_violations(&xml);
    assert!(v.is_empty(), "{}\n{xml}", v.join("\n"));
    assert!(xml.contains("name=\"Odd&quot;&lt;Name&gt;&amp;,:% (multi.yaml document 2)\""));
    assert!(xml.contains("<testsuite id=\"0\" package=\"deadbolt\" name=\"deadbolt.inputs\""));
    assert!(!xml.contains('\u{7}') && !xml.contains('\u{0}') && !xml.contains('\u{1}'));

    let gh = github::render(&findings, &errors);
    let lines: Vec<&str> = gh.lines().collect();
    assert_eq!(lines.len(), 5, "{gh}");
    assert_eq!(
        lines[1],
        format!(
            "::error file=/abs dir/ü/stack.yaml,title=deadbolt {known} (high)\
             ::bell\\u{{7}} and ]]> %0D%0Anext line: 100%25 <b>"
        )
    );
    assert!(lines[3]
        .starts_with("::notice file=multi.yaml,line=40,col=3,title=deadbolt not-in-the-catalogue"));
    assert!(lines[3].contains("::skipped: inline skip: a:b, c%25%0Ad — "));
}

// ---- files for the third-party consumers in CI --------------------------------------

/// Writes the reports for `tests/python/validate_reports.py` into
/// `$DEADBOLT_REPORT_DIR` (a temporary directory when unset), with the number of
/// failures the script must find in `expected-failures`.
#[test]
fn write_reports_for_external_consumers() {
    let s = sample();
    let keep;
    let dir = match std::env::var_os("DEADBOLT_REPORT_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            keep = tempfile::tempdir().unwrap();
            keep.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("deadbolt.sarif"), sarif_text()).unwrap();
    std::fs::write(
        dir.join("deadbolt.xml"),
        junit::render(&s.findings, &s.policies, &s.errors),
    )
    .unwrap();
    std::fs::write(
        dir.join("deadbolt-github.txt"),
        github::render(&s.findings, &s.errors),
    )
    .unwrap();
    std::fs::write(
        dir.join("expected-failures"),
        format!("{}\n", count(Status::Fail)),
    )
    .unwrap();
}
