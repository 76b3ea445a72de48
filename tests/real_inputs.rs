//! Regressions from real inputs (issue 7): templates and plans as AWS's and the
//! community's repositories write them, scanned with the built-in catalogue.
//! Each test asserts exact statuses, lines and messages.

use deadbolt::eval::{evaluate, Params};
use deadbolt::load::load_source;
use deadbolt::result::Finding;

/// Scans `text` (as file `path`) with the built-in policy `policy`.
fn scan(policy: &str, path: &str, text: &str) -> Vec<Finding> {
    let checked = deadbolt::scan::load_policies(&[]).expect("catalogue loads");
    let policies: Vec<_> = checked
        .policies
        .into_iter()
        .filter(|p| p.id == policy)
        .collect();
    assert_eq!(policies.len(), 1, "{policy} is in the catalogue");
    let templates = load_source(path, text).unwrap_or_else(|e| panic!("{e}"));
    evaluate(&policies, &templates, &Params::default(), None)
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

// ---- 1. references whose value cannot be known ----

#[test]
fn getatt_of_a_custom_resource_cidr_is_unknown_not_pass() {
    let t = "\
Resources:
  Custom:
    Type: Custom::AdminCidr
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:cidr
  Ssh:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: ssh
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 22
          ToPort: 22
          CidrIp: !GetAtt Custom.Cidr
";
    assert_eq!(
        lines(&scan("sg-no-public-admin-ports", "t.yaml", t)),
        ["Ssh unknown 14:11 cannot be decided: `!GetAtt Custom.Cidr` is an attribute AWS sets at deploy time, so its value cannot be known"]
    );
}

#[test]
fn nested_stack_output_is_unknown() {
    let t = "\
Resources:
  Nested:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://example.com/net.yaml
  Rdp:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: sg-123
      IpProtocol: tcp
      FromPort: 3389
      ToPort: 3389
      CidrIp: !GetAtt Nested.Outputs.AdminCidr
";
    assert_eq!(
        lines(&scan("sg-no-public-admin-ports", "t.yaml", t)),
        ["Rdp unknown 13:7 cannot be decided: `!GetAtt Nested.Outputs.AdminCidr` is an attribute AWS sets at deploy time, so its value cannot be known"]
    );
}

#[test]
fn listener_protocol_from_getatt_is_unknown() {
    let t = "\
Resources:
  Settings:
    Type: Custom::ListenerSettings
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:settings
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/x/1
      Port: 80
      Protocol: !GetAtt Settings.Protocol
      DefaultActions:
        - Type: forward
          TargetGroupArn: arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/x/1
";
    let got = lines(&scan("alb-listener-https", "t.yaml", t));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("Listener unknown 11:7 cannot be decided: `!GetAtt Settings.Protocol`"),
        "{got:?}"
    );
}

#[test]
fn encrypted_from_getatt_is_unknown_not_unencrypted() {
    let t = "\
Resources:
  Custom:
    Type: Custom::Settings
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:settings
  Data:
    Type: AWS::EC2::Volume
    Properties:
      AvailabilityZone: us-east-1a
      Size: 10
      Encrypted: !GetAtt Custom.Encrypted
";
    assert_eq!(
        lines(&scan("ebs-volume-encryption", "t.yaml", t)),
        ["Data unknown 11:7 cannot be decided: `!GetAtt Custom.Encrypted` is an attribute AWS sets at deploy time, so its value cannot be known"]
    );
}

#[test]
fn ssl_policy_from_ref_is_unknown_and_not_printed_as_a_value() {
    let t = "\
Resources:
  Custom:
    Type: Custom::Policy
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:policy
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/x/1
      Port: 443
      Protocol: HTTPS
      SslPolicy: !Ref Custom
      Certificates:
        - CertificateArn: arn:aws:acm:us-east-1:111122223333:certificate/abc
      DefaultActions:
        - Type: forward
          TargetGroupArn: arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/x/1
";
    assert_eq!(
        lines(&scan("alb-listener-tls-policy", "t.yaml", t)),
        ["Listener unknown 12:7 cannot be decided: `!Ref Custom` is the physical id of resource Custom, known only at deploy time"]
    );
}

#[test]
fn a_template_key_arn_is_still_known() {
    let t = "\
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
  Data:
    Type: AWS::EC2::Volume
    Properties:
      AvailabilityZone: us-east-1a
      Size: 10
      Encrypted: true
      KmsKeyId: !GetAtt Key.Arn
";
    assert_eq!(
        lines(&scan("kms-claimed-key-usable", "t.yaml", t)),
        ["Data pass 6:3 Resources name a KMS key that exists and is enabled"]
    );
}

// ---- 2. AWS::LanguageExtensions ----

const FOREACH: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::LanguageExtensions
Parameters:
  Queues:
    Type: CommaDelimitedList
  Mode:
    Type: String
Resources:
  Plain:
    Type: AWS::EC2::Volume
    Properties:
      AvailabilityZone: us-east-1a
      Size: 10
  Fn::ForEach::Volumes:
    - Name
    - [Logs, Scratch]
    - Volume${Name}:
        Type: AWS::EC2::Volume
        Properties:
          AvailabilityZone: us-east-1a
          Size: 10
          Encrypted: !If ['IsLogs${Name}', true, false]
  Fn::ForEach::Topics:
    - Name
    - !Ref Queues
    - Queue&{Name}:
        Type: AWS::EC2::Volume
        Properties:
          Encrypted: true
Conditions:
  Fn::ForEach::Flags:
    - Name
    - [Logs, Scratch]
    - IsLogs${Name}: !Equals [!Ref Mode, '${Name}']
";

#[test]
fn foreach_resources_are_expanded_with_positions_in_the_loop_body() {
    let got = lines(&scan("ebs-volume-encryption", "t.yaml", FOREACH));
    assert_eq!(
        got,
        [
            "Plain fail 11:5 volume Plain stores data unencrypted",
            "VolumeLogs fail 22:11 volume VolumeLogs stores data unencrypted (when condition IsLogsLogs is false)",
            "VolumeScratch fail 22:11 volume VolumeScratch stores data unencrypted (when condition IsLogsScratch is false)",
            "Queue&{Name} unknown 26:7 cannot be decided: the collection of Fn::ForEach::Topics is parameter Queues, which has no default (set it with --param Queues=A,B,...)",
        ]
    );
}

#[test]
fn foreach_collection_from_param_is_expanded() {
    let checked = deadbolt::scan::load_policies(&[]).expect("catalogue loads");
    let policies: Vec<_> = checked
        .policies
        .into_iter()
        .filter(|p| p.id == "ebs-volume-encryption")
        .collect();
    let mut opts = deadbolt::load::LoadOptions::default();
    opts.params.insert("Queues".into(), "a-1,b.2".into());
    let templates = deadbolt::load::load_source_with("t.yaml", FOREACH, &opts).unwrap();
    let ids: Vec<&str> = templates[0]
        .resources
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["Plain", "VolumeLogs", "VolumeScratch", "Queuea1", "Queueb2"]
    );
    let f = evaluate(&policies, &templates, &Params::default(), None);
    assert_eq!(
        lines(&f)[3..],
        [
            "Queuea1 pass 26:7 EBS volumes are encrypted at rest",
            "Queueb2 pass 26:7 EBS volumes are encrypted at rest"
        ]
    );
}

#[test]
fn to_json_string_and_deletion_policy_intrinsics_resolve() {
    let policy = r#"
policy keep-data {
  severity low
  for resource "AWS::S3::Bucket" as b
  require b.DeletionPolicy == "Retain" else "{b.id} is deleted with its stack ({b.DeletionPolicy})"
  require b.Tags[0].Value == "{\"team\":\"data\"}" else "tag is {b.Tags[0].Value}"
}
"#;
    let checked = deadbolt::dsl::check_sources(&[deadbolt::dsl::PolicySource {
        name: "t.policy".into(),
        text: std::sync::Arc::from(policy),
    }]);
    assert!(
        checked.diagnostics.is_empty(),
        "{:?}",
        checked
            .diagnostics
            .iter()
            .map(|d| d.short())
            .collect::<Vec<_>>()
    );
    let t = "\
Transform: AWS::LanguageExtensions
Parameters:
  Keep:
    Type: String
    Default: 'yes'
  Unset:
    Type: String
Conditions:
  KeepIt: !Equals [!Ref Keep, 'yes']
  Decided: !Equals [!Ref Unset, 'x']
Resources:
  A:
    Type: AWS::S3::Bucket
    DeletionPolicy: !If [KeepIt, Retain, Delete]
    Properties:
      Tags:
        - Key: owner
          Value: !ToJsonString {team: data}
  B:
    Type: AWS::S3::Bucket
    DeletionPolicy: Delete
    Properties:
      Tags:
        - Key: owner
          Value: !ToJsonString {team: !Ref Unset}
";
    let templates = load_source("t.yaml", t).unwrap();
    let f = evaluate(&checked.policies, &templates, &Params::default(), None);
    assert_eq!(
        lines(&f),
        [
            "A pass 12:3 keep-data",
            "B fail 21:5 B is deleted with its stack (Delete)",
        ]
    );
}

// ---- 3. YAML 1.1 scalars ----

#[test]
fn yaml_1_1_booleans_in_templates() {
    let t = "\
Resources:
  A:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: yes}
  B:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: ON}
  C:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: 'yes'}
  D:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: No}
  E:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: Y}
";
    assert_eq!(
        lines(&scan("ebs-volume-encryption", "t.yaml", t)),
        [
            "A pass 2:3 EBS volumes are encrypted at rest",
            "B pass 5:3 EBS volumes are encrypted at rest",
            "C fail 10:57 volume C stores data unencrypted",
            "D fail 13:57 volume D stores data unencrypted",
            "E pass 14:3 EBS volumes are encrypted at rest",
        ]
    );
}

#[test]
fn yaml_1_1_indentation_inside_multi_line_quoted_scalars() {
    // As in AWS sample templates: a long quoted description continues on lines
    // indented less than its key. PyYAML reads this; so must we.
    let t = "\
Resources:
  Vol:
    Type: AWS::EC2::Volume
    Metadata:
      Note: \"a volume whose description
  continues here, less indented,
and here at column one\"
      Other: 'single quoted
 it''s fine'
    Properties:
      AvailabilityZone: us-east-1a
      Size: 1
      Encrypted: false
";
    let templates = load_source("t.yaml", t).unwrap();
    let r = &templates[0].resources[0];
    let meta = r.metadata.as_ref().unwrap();
    assert_eq!(
        meta.get("Note").unwrap().as_str(),
        Some("a volume whose description continues here, less indented, and here at column one")
    );
    assert_eq!(
        meta.get("Other").unwrap().as_str(),
        Some("single quoted it's fine")
    );
    assert_eq!(
        lines(&scan("ebs-volume-encryption", "t.yaml", t)),
        ["Vol fail 13:7 volume Vol stores data unencrypted"]
    );
}

// ---- 4. unknown YAML tags ----

#[test]
fn unknown_tags_are_unknown_like_their_long_form() {
    let yaml = "\
Resources:
  A:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: !Foo true}
";
    let json = r#"{"Resources": {"A": {"Type": "AWS::EC2::Volume",
  "Properties": {"AvailabilityZone": "us-east-1a", "Size": 1, "Encrypted": {"Fn::Foo": true}}}}}"#;
    let expected = ["A unknown 4:57 cannot be decided: unsupported intrinsic function Fn::Foo"];
    assert_eq!(
        lines(&scan("ebs-volume-encryption", "t.yaml", yaml)),
        expected
    );
    let j = lines(&scan("ebs-volume-encryption", "t.json", json));
    assert_eq!(
        j,
        ["A unknown 2:63 cannot be decided: unsupported intrinsic function Fn::Foo"]
    );
}

#[test]
fn a_rain_module_resource_is_an_error_and_the_rest_is_scanned() {
    let t = "\
Resources:
  Mod:
    Type: !Rain::Module ./modules/bucket.yaml
  Vol:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 1, Encrypted: !Rain::Embed x}
";
    let (templates, errors) =
        deadbolt::load::load_source_all("t.yaml", t, &deadbolt::load::LoadOptions::default());
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "t.yaml:3:11: resource Mod: Type is computed by Rain::Module, which deadbolt cannot resolve; expected a resource type string such as AWS::S3::Bucket (expand it with `rain pkg` and scan the result)"
    );
    let checked = deadbolt::scan::load_policies(&[]).unwrap();
    let policies: Vec<_> = checked
        .policies
        .into_iter()
        .filter(|p| p.id == "ebs-volume-encryption")
        .collect();
    assert_eq!(
        lines(&evaluate(&policies, &templates, &Params::default(), None)),
        ["Vol unknown 6:57 cannot be decided: unsupported intrinsic function Rain::Embed"]
    );
}

// ---- 6. the language ----

/// A minimal `terraform show -json` plan holding these (type, name, values).
fn plan(resources: &[(&str, &str, serde_json::Value)]) -> String {
    let rs: Vec<serde_json::Value> = resources
        .iter()
        .map(|(t, n, v)| {
            serde_json::json!({"address": format!("{t}.{n}"), "mode": "managed", "type": t,
                "name": n, "values": v})
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": rs}}
    }))
    .unwrap()
}

fn run_policy(policy: &str, path: &str, text: &str) -> Vec<Finding> {
    let checked = deadbolt::dsl::check_sources(&[deadbolt::dsl::PolicySource {
        name: "t.policy".into(),
        text: std::sync::Arc::from(policy),
    }]);
    let d: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert!(d.is_empty(), "{d:?}");
    let templates = load_source(path, text).unwrap_or_else(|e| panic!("{e}"));
    evaluate(&checked.policies, &templates, &Params::default(), None)
}

#[test]
fn in_and_contains_see_lists_parsed_from_json() {
    let policy = r#"
policy no-admin {
  severity critical
  for resource "aws_iam_policy" as p
  require none s in to_list(json(p.policy).Statement):
      s.Effect == "Allow" and "*" in to_list(s.Action) and contains(to_list(s.Resource), "*")
    else "{p.id} allows every action on every resource"
  for resource "AWS::IAM::ManagedPolicy" as p
  require none s in to_list(p.PolicyDocument.Statement):
      s.Effect == "Allow" and "*" in to_list(s.Action) and contains(to_list(s.Resource), "*")
    else "{p.id} allows every action on every resource"
}
"#;
    let admin =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let admin_list = r#"{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":["s3:GetObject","*"],"Resource":["*"]}]}"#;
    let narrow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}}"#;
    let p = plan(&[
        (
            "aws_iam_policy",
            "admin",
            serde_json::json!({"name": "admin", "policy": admin}),
        ),
        (
            "aws_iam_policy",
            "admin_list",
            serde_json::json!({"name": "a2", "policy": admin_list}),
        ),
        (
            "aws_iam_policy",
            "narrow",
            serde_json::json!({"name": "n", "policy": narrow}),
        ),
    ]);
    let got: Vec<String> = run_policy(policy, "plan.json", &p)
        .iter()
        .map(|f| format!("{} {}", f.resource, f.status.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            "aws_iam_policy.admin fail",
            "aws_iam_policy.admin_list fail",
            "aws_iam_policy.narrow pass"
        ]
    );
    let cfn = "\
Resources:
  Admin:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: ['*']
            Resource: '*'
";
    let got = lines(&run_policy(policy, "t.yaml", cfn));
    assert_eq!(
        got,
        ["Admin fail 9:13 Admin allows every action on every resource"]
    );
}

#[test]
fn bracket_keys_fall_back_to_snake_case_on_terraform_values() {
    let policy = r#"
policy pab {
  severity high
  for resource "aws_s3_bucket_public_access_block" as p
  require p["BlockPublicAcls"] == true and p.values["RestrictPublicBuckets"] == true
    else "{p.id} allows public ACLs or buckets"
}
"#;
    let p = plan(&[
        (
            "aws_s3_bucket_public_access_block",
            "good",
            serde_json::json!({"block_public_acls": true, "restrict_public_buckets": true}),
        ),
        (
            "aws_s3_bucket_public_access_block",
            "bad",
            serde_json::json!({"block_public_acls": false, "restrict_public_buckets": true}),
        ),
    ]);
    let got: Vec<String> = run_policy(policy, "plan.json", &p)
        .iter()
        .map(|f| format!("{} {}", f.resource, f.status.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            "aws_s3_bucket_public_access_block.good pass",
            "aws_s3_bucket_public_access_block.bad fail"
        ]
    );
}

// ---- smaller things ----

#[test]
fn errors_in_block_sequences_point_at_the_offending_character() {
    let err = |src: &str| {
        let (_, e) =
            deadbolt::load::load_source_all("t.yaml", src, &deadbolt::load::LoadOptions::default());
        assert_eq!(e.len(), 1, "{e:?}");
        let p = e[0].pos.expect("a position");
        (p.line, p.col)
    };
    // The second ':' of `- a: b: c`.
    assert_eq!(err("Resources:\n  L:\n    - a: b: c\n"), (3, 11));
    // The `@` that cannot start a token.
    assert_eq!(err("Resources:\n  L:\n    - a\n    - @b\n"), (4, 7));
    // A list where a map was expected: the `-` that starts it.
    assert_eq!(
        err("AWSTemplateFormatVersion: x\nResources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties:\n      - x\n"),
        (6, 7)
    );
    // An item at the wrong indentation: its `-`... and a key where a `-` was expected.
    assert_eq!(err("Resources:\n  L:\n    - a\n    b: 1\n"), (4, 5));
}
