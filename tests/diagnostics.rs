//! Every kind of policy mistake gets a diagnostic with the file, the position, a
//! label and a help line. The rendered output is pinned by insta snapshots.

use std::sync::Arc;

use deadbolt::dsl::{check_sources, PolicySource};

fn render(name: &str) -> (String, Vec<String>) {
    let path = format!("fixtures/policies/invalid/{name}.policy");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let checked = check_sources(&[PolicySource {
        name: path,
        text: Arc::from(text),
    }]);
    assert!(checked.has_errors(), "{name} must not compile");
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    for d in &checked.diagnostics {
        handler.render_report(&mut out, d).expect("render");
        out.push('\n');
    }
    let shorts = checked.diagnostics.iter().map(|d| d.short()).collect();
    (out, shorts)
}

macro_rules! diag_test {
    ($test:ident, $file:literal, $($expect:literal),+) => {
        #[test]
        fn $test() {
            let (rendered, shorts) = render($file);
            let expected: &[&str] = &[$($expect),+];
            for e in expected {
                assert!(shorts.iter().any(|s| s.contains(e)), "missing {e:?} in {shorts:#?}");
            }
            insta::assert_snapshot!($file, rendered);
        }
    };
}

diag_test!(
    syntax_error_at_last_character,
    "syntax-last-char",
    "syntax-last-char.policy:4:29: error[syntax]: syntax error: expected '}' to close policy `cut-short`"
);
diag_test!(unknown_property_deep_in_a_path, "unknown-property",
    "unknown-property.policy:4:30: error[unknown-property]: unknown property `ServerSideEncryptionConfigration` of `BucketEncryption` of AWS::S3::Bucket",
    "did you mean `ServerSideEncryptionConfiguration`?");
diag_test!(
    unknown_resource_type,
    "unknown-type",
    "unknown-type.policy:3:16: error[unknown-type]: unknown resource type `AWS::EC2::Volum`",
    "did you mean `AWS::EC2::Volume`?"
);
diag_test!(
    unknown_function,
    "unknown-function",
    "unknown-function.policy:4:48: error[unknown-function]: unknown function `cidr_is_wrld`",
    "did you mean `cidr_is_world`?"
);
diag_test!(type_mismatch, "type-mismatch",
    "type-mismatch.policy:4:26: error[type-mismatch]: type mismatch: comparing a boolean with a string");
diag_test!(
    duplicate_policy_id,
    "duplicate-id",
    "duplicate-id.policy:7:8: error[duplicate-policy]: duplicate policy id `twice`"
);
diag_test!(
    bad_metadata,
    "bad-metadata",
    "bad-metadata.policy:2:3: error[unknown-field]: unknown metadata field `titel`",
    "did you mean `title`?",
    "bad-metadata.policy:3:12: error[bad-severity]: unknown severity `urgent`"
);
diag_test!(
    unknown_name,
    "unknown-name",
    "unknown-name.policy:4:11: error[unknown-name]: unknown name `f`",
    "did you mean `fs`?"
);
diag_test!(
    bad_regex,
    "bad-regex",
    "bad-regex.policy:4:31: error[bad-regex]: invalid regular expression"
);
diag_test!(
    unclosed_parenthesis,
    "unclosed-paren",
    "unclosed-paren.policy:5:1: error[syntax]: syntax error: expected ')' to close the parenthesis"
);
diag_test!(
    wrong_arguments,
    "wrong-arity",
    "error[wrong-arguments]: `starts_with` takes 2 arguments, given 1",
    "error[type-mismatch]: argument 2 of `cidr_contains` must be a string, found a boolean"
);
diag_test!(
    detection_with_two_wheres,
    "detection-two-wheres",
    "one `where` per detection"
);
diag_test!(
    predicate_called_with_the_wrong_number_of_arguments,
    "predicate-arity",
    "predicate-arity.policy:7:58: error[wrong-arguments]: `allows_everything` takes 1 argument, given 2",
    "it is defined as `predicate allows_everything(stmt)`"
);
diag_test!(
    predicate_body_checked_with_its_argument_types,
    "predicate-types",
    "predicate-types.policy:1:31: error[unknown-property]: unknown property `Engin` of AWS::RDS::DBInstance",
    "did you mean `Engine`?"
);
diag_test!(
    recursive_definitions,
    "recursive-definition",
    "recursive-definition.policy:2:23: error[recursive-definition]: `open_a` is defined in terms of itself: `open_a` uses `open_b` uses `open_a`"
);
diag_test!(
    unknown_import,
    "unknown-import",
    "unknown-import.policy:1:8: error[unknown-import]: no policy file `comon` to import",
    "did you mean `common`?"
);
diag_test!(
    duplicate_definitions,
    "duplicate-definition",
    "duplicate-definition.policy:3:5: error[duplicate-definition]: `admin_ports` is also defined in fixtures/policies/invalid/common.policy, which this file imports",
    "duplicate-definition.policy:5:5: error[duplicate-definition]: `public` is defined twice"
);
diag_test!(
    unknown_types_and_groups,
    "unknown-types",
    "unknown-types.policy:1:52: error[unknown-type]: unknown resource type `AWS::EFS::FileSystm`",
    "unknown-types.policy:1:75: error[unknown-type]: `AWS::RSD::*` matches no CloudFormation resource type",
    "did you mean `AWS::RDS::*`?",
    "unknown-types.policy:5:16: error[unknown-types]: unknown type group `encrypted_at_rst`",
    "did you mean `encrypted_at_rest`?"
);
diag_test!(
    policy_never_closed_before_the_next,
    "unclosed-policy",
    "unclosed-policy.policy:6:1: error[syntax]: syntax error: expected '}' to close policy `rds-deletion-protection`"
);
diag_test!(
    ordering_a_string_against_a_number,
    "ordering",
    "ordering.policy:4:23: error[type-mismatch]: type mismatch: `>` orders `db.Engine` (a string property of AWS::RDS::DBInstance) against a number",
    "ordering.policy:5:39: error[type-mismatch]: type mismatch: `>=` orders `db.BackupRetentionPeriod` (an integer property of AWS::RDS::DBInstance) against a string",
    "write the number without quotes: `db.BackupRetentionPeriod >= 7`",
    "ordering.policy:6:11: error[type-mismatch]: type mismatch: `<` orders a string against a number",
    "ordering.policy:12:21: error[type-mismatch]: type mismatch: `>` orders `f.dstport` (a number field of the log records) against a string"
);

/// A file that compiles with warnings only: every warning rendered.
fn render_warnings(name: &str) -> (String, Vec<String>) {
    let path = format!("fixtures/policies/warnings/{name}.policy");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let checked = check_sources(&[PolicySource {
        name: path,
        text: Arc::from(text),
    }]);
    assert!(
        !checked.has_errors(),
        "{name} must compile: {:?}",
        checked.diagnostics
    );
    assert!(
        !checked.policies.is_empty() || !checked.detections.is_empty(),
        "{name}: warnings do not stop a policy from compiling"
    );
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    for d in &checked.diagnostics {
        handler.render_report(&mut out, d).expect("render");
        out.push('\n');
    }
    let shorts = checked.diagnostics.iter().map(|d| d.short()).collect();
    (out, shorts)
}

macro_rules! warn_test {
    ($test:ident, $file:literal, $count:literal, $($expect:literal),+) => {
        #[test]
        fn $test() {
            let (rendered, shorts) = render_warnings($file);
            assert_eq!(shorts.len(), $count, "{shorts:#?}");
            let expected: &[&str] = &[$($expect),+];
            for e in expected {
                assert!(shorts.iter().any(|s| s.contains(e)), "missing {e:?} in {shorts:#?}");
            }
            insta::assert_snapshot!(concat!("warning-", $file), rendered);
        }
    };
}

warn_test!(
    unused_lets,
    "unused-let",
    2,
    "unused-let.policy:8:7: warning[unused-let]: `handler` is never used",
    "unused-let.policy:1:5: warning[unused-let]: constant `deprecated_runtimes` is never used"
);
warn_test!(
    when_that_is_never_true,
    "when-never-true",
    3,
    "when-never-true.policy:4:8: warning[when-never-true]: this `when` is never true: the block judges no resource",
    "when-never-true.policy:11:8: warning[when-never-true]",
    "when-never-true.policy:18:9: warning[when-never-true]: this `where` is never true"
);
warn_test!(
    require_that_is_always_true,
    "always-true",
    4,
    "always-true.policy:4:11: warning[always-true]: this `require` tests nothing",
    "always-true.policy:5:11: warning[always-true]",
    "always-true.policy:6:11: warning[always-true]",
    "always-true.policy:7:11: warning[always-true]"
);
warn_test!(
    terraform_pattern_matching_nothing_known,
    "terraform-pattern",
    1,
    "terraform-pattern.policy:3:16: warning[unknown-type]: `aws_apigatway_*` matches no Terraform resource type deadbolt knows"
);
