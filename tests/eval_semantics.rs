//! Evaluation semantics on small inline templates and policies: intrinsics,
//! three-valued logic, list semantics, cross-resource references and positions.

use std::sync::Arc;

use deadbolt::dsl::{check_sources, PolicySource};
use deadbolt::eval::{evaluate, Params};
use deadbolt::load::load_source;
use deadbolt::result::Finding;

fn run_with(policy: &str, path: &str, template: &str, params: &[(&str, &str)]) -> Vec<Finding> {
    let checked = check_sources(&[PolicySource {
        name: "test.policy".into(),
        text: Arc::from(policy),
    }]);
    let diags: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert!(diags.is_empty(), "{diags:#?}");
    let templates = load_source(path, template).expect("template loads");
    let mut p = Params::default();
    for (k, v) in params {
        p.values.insert(k.to_string(), v.to_string());
    }
    evaluate(&checked.policies, &templates, &p, None)
}

fn run(policy: &str, template: &str) -> Vec<Finding> {
    run_with(policy, "t.yaml", template, &[])
}

/// `resource status line:col message` per finding.
fn lines(f: &[Finding]) -> Vec<String> {
    f.iter()
        .map(|f| {
            format!(
                "{} {} {}:{} {}",
                f.resource,
                f.status.as_str(),
                f.line,
                f.column,
                f.message
            )
        })
        .collect()
}

const VOLUME_POLICY: &str = r#"
policy vol {
  severity high
  for resource "AWS::EC2::Volume", "aws_ebs_volume" as v
  require v.Encrypted == true else "{v.id} unencrypted"
}
"#;

#[test]
fn undecidable_if_is_evaluated_on_both_branches() {
    let t = "Conditions:\n  InUsEast: !Equals [!Ref AWS::Region, us-east-1]\nResources:\n  V:\n    Type: AWS::EC2::Volume\n    Properties:\n      Encrypted: !If [InUsEast, true, false]\n";
    assert_eq!(
        lines(&run(VOLUME_POLICY, t)),
        ["V fail 7:7 V unencrypted (when condition InUsEast is false)"]
    );
    // A pseudo parameter given on the command line decides it.
    let f = run_with(VOLUME_POLICY, "t.yaml", t, &[("AWS::Region", "us-east-1")]);
    assert_eq!(lines(&f), ["V pass 4:3 vol"]);
    let f = run_with(VOLUME_POLICY, "t.yaml", t, &[("AWS::Region", "eu-west-1")]);
    assert_eq!(lines(&f), ["V fail 7:7 V unencrypted"]);
}

#[test]
fn parameter_defaults_and_missing_defaults() {
    let t = "Parameters:\n  Enc:\n    Type: String\n    Default: \"true\"\n  NoDefault:\n    Type: String\nResources:\n  A:\n    Type: AWS::EC2::Volume\n    Properties:\n      Encrypted: !Ref Enc\n  B:\n    Type: AWS::EC2::Volume\n    Properties:\n      Encrypted: !Ref NoDefault\n";
    let out = lines(&run(VOLUME_POLICY, t));
    assert_eq!(out[0], "A pass 8:3 vol");
    assert!(
        out[1].starts_with(
            "B unknown 15:7 cannot be decided: parameter NoDefault has no default value"
        ),
        "{out:?}"
    );
}

#[test]
fn missing_property_points_at_properties_and_missing_properties_at_resource() {
    let t = "Resources:\n  A:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: 1\n  B:\n    Type: AWS::EC2::Volume\n";
    assert_eq!(
        lines(&run(VOLUME_POLICY, t)),
        ["A fail 4:5 A unencrypted", "B fail 6:3 B unencrypted"]
    );
}

#[test]
fn string_booleans_coerce_like_cloudformation() {
    let t = "{\"Resources\": {\"A\": {\"Type\": \"AWS::EC2::Volume\", \"Properties\": {\"Encrypted\": \"true\"}}}}";
    assert_eq!(
        lines(&run_with(VOLUME_POLICY, "t.json", t, &[])),
        ["A pass 1:16 vol"]
    );
}

#[test]
fn every_yaml_document_is_scanned() {
    let t = "Resources:\n  A:\n    Type: AWS::EC2::Volume\n    Properties: {Encrypted: true}\n---\nResources:\n  B:\n    Type: AWS::EC2::Volume\n    Properties: {Encrypted: false}\n";
    let f = run(VOLUME_POLICY, t);
    assert_eq!(lines(&f), ["A pass 2:3 vol", "B fail 9:18 B unencrypted"]);
    assert_eq!((f[0].document, f[1].document), (0, 1));
}

#[test]
fn anchors_aliases_and_merge_keys_resolve() {
    let t = "Defaults: &enc\n  Encrypted: true\n  Size: 10\nResources:\n  A:\n    Type: AWS::EC2::Volume\n    Properties:\n      <<: *enc\n      Size: 20\n  B:\n    Type: AWS::EC2::Volume\n    Properties: *enc\n";
    let out = lines(&run(VOLUME_POLICY, t));
    assert_eq!(out, ["A pass 5:3 vol", "B pass 10:3 vol"]);
}

#[test]
fn sub_templates_never_equal_what_their_literal_parts_rule_out() {
    let policy = r#"
policy star {
  severity high
  for resource "AWS::KMS::Key" as k
  require none s in to_list(k.KeyPolicy.Statement): "*" in to_list(s.Principal.AWS)
}
"#;
    let t = "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Statement:\n          - Principal:\n              AWS: !Sub arn:aws:iam::${AWS::AccountId}:root\n";
    assert_eq!(lines(&run(policy, t)), ["K pass 2:3 star"]);
    // A Sub that could spell "*" stays unknown.
    let t2 = t.replace("arn:aws:iam::${AWS::AccountId}:root", "${Who}");
    let out = lines(&run(policy, &t2));
    assert!(out[0].starts_with("K unknown"), "{out:?}");
}

#[test]
fn references_lead_to_the_resource() {
    let policy = r#"
policy key-rotates {
  severity medium
  for resource "AWS::EC2::Volume" as v
  require deref(v.KmsKeyId).EnableKeyRotation == true else "{v.id} uses {v.KmsKeyId}, which does not rotate"
}
"#;
    let t = "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n  Good:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n  A:\n    Type: AWS::EC2::Volume\n    Properties:\n      KmsKeyId: !Ref Key\n  B:\n    Type: AWS::EC2::Volume\n    Properties:\n      KmsKeyId: !GetAtt Good.Arn\n";
    // The blame is the offending value itself, in the key the volume refers to.
    assert_eq!(
        lines(&run(policy, t)),
        [
            "A fail 5:7 A uses !Ref Key, which does not rotate",
            "B pass 14:3 key-rotates"
        ]
    );
}

#[test]
fn joins_selects_and_mappings_resolve() {
    let policy = r#"
policy names {
  severity low
  for resource "AWS::SNS::Topic" as t
  require t.TopicName == "app-prod-alerts" else "{t.id} is {t.TopicName}"
}
"#;
    let t = "Parameters:\n  Env:\n    Type: String\n    Default: prod\nMappings:\n  Names:\n    prod: {Suffix: alerts}\nResources:\n  J:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Join [\"-\", [app, !Ref Env, !FindInMap [Names, !Ref Env, Suffix]]]\n  S:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Select [1, [x, !Sub \"app-${Env}-alerts\"]]\n  W:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"app-${Env}-other\"\n";
    assert_eq!(
        lines(&run(policy, t)),
        [
            "J pass 9:3 names",
            "S pass 13:3 names",
            "W fail 20:7 W is app-prod-other"
        ]
    );
}

#[test]
fn paths_through_lists_need_every_item_and_at_least_one() {
    let policy = r#"
policy sse {
  severity high
  for resource "AWS::S3::Bucket" as b
  require b.BucketEncryption.ServerSideEncryptionConfiguration[*].ServerSideEncryptionByDefault.SSEAlgorithm == "aws:kms"
}
"#;
    let t = "Resources:\n  Both:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketEncryption:\n        ServerSideEncryptionConfiguration:\n          - ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms}\n          - ServerSideEncryptionByDefault:\n              SSEAlgorithm: AES256\n  Empty:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketEncryption:\n        ServerSideEncryptionConfiguration: []\n";
    let out = lines(&run(policy, t));
    assert_eq!(out[0], "Both fail 9:15 sse: `b.BucketEncryption.ServerSideEncryptionConfiguration[*].ServerSideEncryptionByDefault.SSEAlgorithm == \"aws:kms\"` does not hold");
    assert!(out[1].starts_with("Empty fail 14:9"), "{out:?}");
}

#[test]
fn three_valued_logic() {
    let policy = r#"
policy tri {
  severity low
  for resource "AWS::SQS::Queue" as q
  require q.KmsMasterKeyId exists or q.SqsManagedSseEnabled == true
}
"#;
    // Unknown or true is true; unknown or false is unknown.
    let t = "Parameters:\n  P:\n    Type: String\nResources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      SqsManagedSseEnabled: !Ref P\n      KmsMasterKeyId: alias/x\n  B:\n    Type: AWS::SQS::Queue\n    Properties:\n      SqsManagedSseEnabled: !Ref P\n";
    let out = lines(&run(policy, t));
    assert_eq!(out[0], "A pass 5:3 tri");
    assert!(out[1].starts_with("B unknown"), "{out:?}");
}

#[test]
fn terraform_references_known_after_apply_still_name_their_resource() {
    let policy = r#"
policy waf {
  severity medium
  for resource "aws_lb" as lb
  require any a in resources("aws_wafv2_web_acl_association"): refers_to(a.resource_arn, lb)
}
"#;
    let plan = r#"{
  "format_version": "1.2",
  "planned_values": {"root_module": {"resources": [
    {"address": "aws_lb.web", "mode": "managed", "type": "aws_lb", "name": "web", "values": {"internal": false}},
    {"address": "aws_lb.api", "mode": "managed", "type": "aws_lb", "name": "api", "values": {"internal": false}},
    {"address": "aws_wafv2_web_acl_association.web", "mode": "managed", "type": "aws_wafv2_web_acl_association", "name": "web", "values": {}}
  ]}},
  "resource_changes": [
    {"address": "aws_wafv2_web_acl_association.web", "mode": "managed", "type": "aws_wafv2_web_acl_association", "name": "web",
     "change": {"actions": ["create"], "after": {}, "after_unknown": {"resource_arn": true, "web_acl_arn": true}}}
  ],
  "configuration": {"root_module": {"resources": [
    {"address": "aws_wafv2_web_acl_association.web", "mode": "managed", "type": "aws_wafv2_web_acl_association", "name": "web",
     "expressions": {"resource_arn": {"references": ["aws_lb.web.arn", "aws_lb.web"]}}}
  ]}}
}"#;
    let f = run_with(policy, "plan.json", plan, &[]);
    let out = lines(&f);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(
        out.iter().any(|l| l.starts_with("aws_lb.web pass")),
        "{out:?}"
    );
    assert!(
        out.iter().any(|l| l.starts_with("aws_lb.api fail")),
        "{out:?}"
    );
}

#[test]
fn terraform_pascal_case_reads_snake_case() {
    let plan = r#"{"format_version": "1.2", "planned_values": {"root_module": {"resources": [
      {"address": "aws_ebs_volume.a", "mode": "managed", "type": "aws_ebs_volume", "name": "a", "values": {"encrypted": false}}
    ]}}}"#;
    let out = lines(&run_with(VOLUME_POLICY, "plan.json", plan, &[]));
    assert_eq!(
        out,
        ["aws_ebs_volume.a fail 2:108 aws_ebs_volume.a unencrypted"]
    );
}

#[test]
fn template_key_policies_answer_kms_allows() {
    let policy = r#"
policy who {
  severity high
  for resource "AWS::KMS::Key" as k
  require not kms.allows(k, "arn:aws:iam::999999999999:user/stranger", "kms:Decrypt")
    else "{k.id} lets a stranger decrypt"
}
"#;
    let t = "Resources:
  Open:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - {Effect: Allow, Principal: '*', Action: 'kms:*', Resource: '*'}
  Closed:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - Effect: Allow
            Principal: {AWS: 'arn:aws:iam::111122223333:root'}
            Action: 'kms:*'
            Resource: '*'
  Default:
    Type: AWS::KMS::Key
";
    let out = lines(&run(policy, t));
    assert_eq!(
        out[..2],
        [
            "Open fail 2:3 Open lets a stranger decrypt",
            "Closed pass 8:3 who"
        ]
    );
    // The default key policy trusts the key's account, which only a parameter tells.
    assert!(out[2].starts_with("Default unknown"), "{out:?}");
    let f = run_with(policy, "t.yaml", t, &[("AWS::AccountId", "111122223333")]);
    assert_eq!(lines(&f)[2], "Default pass 17:3 who");
}

#[test]
fn each_gives_one_result_per_item() {
    let policy = r#"
policy open-rules {
  severity high
  for resource "AWS::EC2::SecurityGroup" as g
  each r in g.SecurityGroupIngress[*]
  require not cidr_is_world(r.CidrIp) else "{g.id} opens port {r.FromPort} to the internet"
}
"#;
    let t = "Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: web\n      SecurityGroupIngress:\n        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}\n        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/8}\n        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 0.0.0.0/0}\n  Empty:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: nothing\n";
    let f = run(policy, t);
    let got: Vec<String> = f
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}:{} {}",
                f.resource,
                f.key.as_deref().unwrap_or("-"),
                f.status.as_str(),
                f.line,
                f.column,
                f.message
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "G 2 pass 2:3 open-rules",
            "G 1 fail 7:57 G opens port 443 to the internet",
            "G 3 fail 9:55 G opens port 80 to the internet",
            "Empty - pass 10:3 open-rules",
        ]
    );
    // Each item's result has its own fingerprint.
    assert_ne!(f[1].fingerprint, f[2].fingerprint);
}
