//! What is known of a string built at deploy time: `Fn::Sub` and `Fn::Join` with
//! parts known only then still have literal parts, which decide `starts_with`,
//! `ends_with` and `contains` when they can, and name the resources `refers_to`
//! asks about.

use std::sync::Arc;

use deadbolt::dsl::{check_sources, PolicySource};
use deadbolt::eval::{evaluate, Params};
use deadbolt::load::load_source;

fn run(policy: &str, template: &str) -> Vec<String> {
    let checked = check_sources(&[PolicySource {
        name: "p.policy".into(),
        text: Arc::from(policy),
    }]);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let templates = load_source("t.yaml", template).expect("template loads");
    evaluate(&checked.policies, &templates, &Params::default(), None)
        .iter()
        .map(|f| format!("{} {}", f.resource, f.status.as_str()))
        .collect()
}

const ENDPOINTS: &str = "\
Resources:
  SubS3:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId: vpc-1
      ServiceName: !Sub com.amazonaws.${AWS::Region}.s3
  JoinS3:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId: vpc-1
      ServiceName: !Join ['', [com.amazonaws., !Ref 'AWS::Region', .s3]]
  SubDynamo:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId: vpc-1
      ServiceName: !Sub com.amazonaws.${AWS::Region}.dynamodb
  FromParameter:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId: vpc-1
      ServiceName: !Sub ${Prefix}${Service}
";

#[test]
fn literal_parts_decide_ends_with() {
    let p = r#"policy p { severity low
      for resource "AWS::EC2::VPCEndpoint" as e
      require ends_with(e.ServiceName, ".s3") }"#;
    assert_eq!(
        run(p, ENDPOINTS),
        [
            "SubS3 pass",
            "JoinS3 pass",
            "SubDynamo fail",
            "FromParameter unknown"
        ]
    );
}

#[test]
fn literal_parts_decide_starts_with_and_contains() {
    let p = r#"policy p { severity low
      for resource "AWS::EC2::VPCEndpoint" as e
      require starts_with(e.ServiceName, "com.amazonaws.") and contains(e.ServiceName, "amazonaws") }"#;
    assert_eq!(
        run(p, ENDPOINTS),
        [
            "SubS3 pass",
            "JoinS3 pass",
            "SubDynamo pass",
            "FromParameter unknown"
        ]
    );
    // A literal prefix shorter than the one asked for cannot decide it.
    let arn = "\
Resources:
  L:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Certificates:
        - CertificateArn: !Sub arn:${AWS::Partition}:acm:${AWS::Region}:${AWS::AccountId}:certificate/abc
";
    let p = r#"policy p { severity low
      for resource "AWS::ElasticLoadBalancingV2::Listener" as l
      require starts_with(l.Certificates[0].CertificateArn, "arn:aws:acm:") }"#;
    assert_eq!(run(p, arn), ["L unknown"]);
    let p = r#"policy p { severity low
      for resource "AWS::ElasticLoadBalancingV2::Listener" as l
      require contains(l.Certificates[0].CertificateArn, ":acm:") }"#;
    assert_eq!(run(p, arn), ["L pass"]);
}

#[test]
fn refers_to_sees_resources_spliced_into_a_template() {
    let t = "\
Resources:
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
  Other:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
  Protection:
    Type: AWS::Shield::Protection
    Properties:
      Name: cdn
      ResourceArn: !Sub arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Dist}
  JoinedProtection:
    Type: AWS::Shield::Protection
    Properties:
      Name: cdn2
      ResourceArn: !Join ['', ['arn:aws:cloudfront::', !Ref 'AWS::AccountId', ':distribution/', !Ref Other]]
";
    let p = r#"policy p { severity low
      for resource "AWS::CloudFront::Distribution" as d
      require any s in resources("AWS::Shield::Protection"): refers_to(s.ResourceArn, d) }"#;
    assert_eq!(run(p, t), ["Dist pass", "Other pass"]);
    // Placeholders that are pseudo parameters, parameters and other resources
    // cannot spell a distribution's id: no protection names it.
    let lone = t.replace("!Ref Other]]", "!Ref Dist]]");
    assert_eq!(run(p, &lone), ["Dist pass", "Other fail"]);
    // A part known only from another stack might.
    let imported = t.replace("!Ref Other]]", "!ImportValue cdn-id]]");
    assert_eq!(run(p, &imported), ["Dist pass", "Other unknown"]);
}
