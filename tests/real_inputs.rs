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
