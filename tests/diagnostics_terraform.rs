//! Terraform attribute paths and types are checked against the AWS provider
//! schemas (data/terraform/aws.txt) like CloudFormation's: along the whole path,
//! with a "did you mean". Rendered diagnostics are pinned by insta snapshots;
//! valid paths over real plan shapes must compile without a word.

use std::sync::Arc;

use deadbolt::dsl::{check_sources, PolicySource};

fn check(name: &str, text: String) -> deadbolt::dsl::Checked {
    check_sources(&[PolicySource {
        name: name.to_string(),
        text: Arc::from(text),
    }])
}

fn render(name: &str) -> (String, Vec<String>) {
    let path = format!("fixtures/policies/invalid/{name}.policy");
    let checked = check(&path, std::fs::read_to_string(&path).expect("fixture"));
    assert!(checked.has_errors(), "{name} must not compile");
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    for d in &checked.diagnostics {
        handler.render_report(&mut out, d).expect("render");
        out.push('\n');
    }
    (out, checked.diagnostics.iter().map(|d| d.short()).collect())
}

macro_rules! diag_test {
    ($test:ident, $file:literal, [$($expect:literal),+ $(,)?]) => {
        #[test]
        fn $test() {
            let (rendered, shorts) = render($file);
            let expected: &[&str] = &[$($expect),+];
            assert_eq!(shorts.len(), expected.len(), "{shorts:#?}");
            for (s, e) in shorts.iter().zip(expected) {
                assert!(s.contains(e), "expected {e:?}, got {s:?}");
            }
            insta::assert_snapshot!($file, rendered);
        }
    };
}

diag_test!(misspelt_attribute, "tf-unknown-attribute", [
    "tf-unknown-attribute.policy:4:13: error[unknown-property]: unknown attribute `server_side_encryption_configuratoin` of aws_s3_bucket",
]);

diag_test!(misspelt_attribute_deep_in_nested_blocks, "tf-unknown-nested-attribute", [
    "tf-unknown-nested-attribute.policy:5:50: error[unknown-property]: unknown attribute `sse_algoritm` of `server_side_encryption_configuration[*].rule[*].apply_server_side_encryption_by_default[*]` of aws_s3_bucket",
]);

diag_test!(unknown_terraform_types, "tf-unknown-type", [
    "tf-unknown-type.policy:3:16: error[unknown-type]: unknown resource type `aws_s3_bukcet`",
    "tf-unknown-type.policy:9:16: error[unknown-type]: unknown resource type `aws_rds_instance_encryption`",
    "tf-unknown-type.policy:15:16: error[unknown-type]: unknown resource type `aws_iam_policy_document`",
]);

diag_test!(attribute_help_lines, "tf-attribute-help", [
    "tf-attribute-help.policy:4:37: error[unknown-property]: unknown attribute `portt` of `ingress[*]` of aws_security_group",
    "tf-attribute-help.policy:5:19: error[unknown-property]: unknown attribute `first` of `name` of aws_security_group",
    "tf-attribute-help.policy:6:40: error[type-mismatch]: type mismatch: comparing a boolean with a string",
]);

diag_test!(both_shapes_in_one_block, "tf-mixed-block", [
    "tf-mixed-block.policy:4:14: error[unknown-property]: unknown property `StorageEncryptd` of AWS::RDS::DBInstance",
    "tf-mixed-block.policy:5:31: error[unknown-property]: unknown property `KmsKeyIdd` of `MasterUserSecret` of AWS::RDS::DBInstance",
]);

#[test]
fn did_you_mean_names_the_terraform_spelling() {
    let (_, shorts) = render("tf-unknown-attribute");
    assert!(
        shorts[0].contains("did you mean `server_side_encryption_configuration`?"),
        "{shorts:?}"
    );
    let (_, shorts) = render("tf-unknown-nested-attribute");
    assert!(
        shorts[0].contains("did you mean `sse_algorithm`?"),
        "{shorts:?}"
    );
    let (_, shorts) = render("tf-unknown-type");
    assert!(
        shorts[0].contains("did you mean `aws_s3_bucket`?"),
        "{shorts:?}"
    );
    assert!(
        shorts[1].contains("provider 6.25.0, 5.99.1 and 4.62.0"),
        "{shorts:?}"
    );
}

/// Paths a real plan has: blocks read as lists (with `[0]`, `[*]`, filters and
/// quantifiers) or transparently, PascalCase names read as snake_case, maps with
/// any key, computed attributes, attributes of older providers, other
/// providers' types, and WAFv2 statements (free-form in the schema).
#[test]
fn valid_terraform_paths_compile_cleanly() {
    let text = r#"
policy tf-valid-paths {
  severity high
  for resource "aws_s3_bucket" as b
  require b.server_side_encryption_configuration[0].rule[0].apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
  require all r in b.server_side_encryption_configuration[*].rule[*]: r.bucket_key_enabled == true
  require b.ServerSideEncryptionConfiguration.Rule.ApplyServerSideEncryptionByDefault.KmsMasterKeyId exists
  require b.tags.CostCentre exists and b.tags["cost-centre"] exists and b.arn exists
  require b.versioning[0].enabled == true and b.logging[? @.target_bucket exists] not empty
  require b.lifecycle_rule[*].transition[*].days[0] > 30

  for resource "aws_security_group" as sg
  require none i in sg.ingress[*]: "0.0.0.0/0" in i.cidr_blocks and i.from_port <= 22 and i.self == false
  require sg.values.vpc_id exists and sg.timeouts.create exists

  for resource "aws_db_instance", "AWS::RDS::DBInstance" as db
  require db.StorageEncrypted == true and db.storage_encrypted == true
  require db.name exists or db.db_name exists or db.DBName exists
  require db.listener_endpoint[0].port == 5432 and db.Endpoint exists

  for resource "aws_wafv2_web_acl" as acl
  require any r in acl.rule[*]: r.statement[*].rate_based_statement[*].limit < 1000
  require acl.visibility_config[0].cloudwatch_metrics_enabled == true

  for resource "aws_launch_template" as t
  require all e in t.block_device_mappings[*].ebs[*]: e.encrypted == "true" and e.kms_key_id exists

  for resource "random_password", "aws_redshift_cluster" as x
  require x.length > 16 or x.encrypted == true or x.encrypted == "true"
}
"#;
    let checked = check("valid.policy", text.to_string());
    let shorts: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert!(shorts.is_empty(), "{shorts:#?}");
    assert_eq!(checked.policies.len(), 1);
}
