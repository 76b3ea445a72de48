use super::*;

fn found(rtype: &str, path: &[&str]) -> PropInfo {
    match lookup_path(rtype, path) {
        PathLookup::Found(info) => info,
        other => panic!("{rtype} {path:?}: expected Found, got {other:?}"),
    }
}

#[test]
fn data_parses_and_names_its_source() {
    assert!(data_source().starts_with("cfn-lint "), "{}", data_source());
    assert!(known_types().len() > 1000, "{}", known_types().len());
    assert!(known_types().windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn every_covered_type_is_a_known_type() {
    for name in db().covered.keys() {
        assert!(is_known_type(name), "{name}");
    }
}

#[test]
fn brief_types_are_covered() {
    for t in [
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::EC2::Volume",
        "AWS::EC2::Instance",
        "AWS::EC2::LaunchTemplate",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::NetworkAcl",
        "AWS::EC2::NetworkAclEntry",
        "AWS::EC2::RouteTable",
        "AWS::EC2::Route",
        "AWS::EC2::Subnet",
        "AWS::EC2::VPC",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::EIP",
        "AWS::AutoScaling::LaunchConfiguration",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::Redshift::Cluster",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::EFS::FileSystem",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "AWS::CloudFront::Distribution",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::WAFv2::WebACL",
        "AWS::WAFv2::WebACLAssociation",
        "AWS::WAFv2::IPSet",
        "AWS::WAFv2::RuleGroup",
        "AWS::GuardDuty::Detector",
        "AWS::CloudTrail::Trail",
        "AWS::Kinesis::Stream",
        "AWS::OpenSearchService::Domain",
        "AWS::Elasticsearch::Domain",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::Lambda::Function",
        "AWS::ECR::Repository",
        "AWS::Backup::BackupVault",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
    ] {
        assert!(is_covered(t), "{t}");
    }
    assert!(!is_covered("AWS::Foo::Bar"));
    assert!(!is_covered("aws::s3::bucket"));
}

#[test]
fn known_types_are_case_sensitive() {
    assert!(is_known_type("AWS::EC2::Volume"));
    assert!(is_known_type("AWS::Serverless::Function"));
    assert!(!is_known_type("aws::ec2::volume"));
    assert!(!is_known_type("AWS::Foo::Bar"));
    assert!(!is_known_type(""));
}

#[test]
fn type_suggestions() {
    assert_eq!(suggest_type("AWS::EC2::Volum"), Some("AWS::EC2::Volume"));
    assert_eq!(suggest_type("AWS::S3::Buckt"), Some("AWS::S3::Bucket"));
    assert_eq!(suggest_type("AWS::S3::Bukcet"), Some("AWS::S3::Bucket"));
    assert_eq!(suggest_type("aws::s3::bucket"), Some("AWS::S3::Bucket"));
    assert_eq!(suggest_type("AWS::EC2::Vpc"), Some("AWS::EC2::VPC"));
    assert_eq!(
        suggest_type("AWS::Lamda::Function"),
        Some("AWS::Lambda::Function")
    );
    assert_eq!(
        suggest_type("AWS::EC2::SecurityGroupIngres"),
        Some("AWS::EC2::SecurityGroupIngress")
    );
    assert_eq!(suggest_type("EC2::Volume"), Some("AWS::EC2::Volume"));
    assert_eq!(suggest_type("AWS::Foo::Bar"), None);
    assert_eq!(suggest_type("Custom::Thing"), None);
    assert_eq!(suggest_type(""), None);
}

#[test]
fn volume_properties() {
    let enc = found("AWS::EC2::Volume", &["Encrypted"]);
    assert_eq!(enc.ptype, PropType::Boolean);
    assert!(!enc.free_form);
    assert_eq!(
        found("AWS::EC2::Volume", &["KmsKeyId"]).ptype,
        PropType::String
    );
}

#[test]
fn misspelt_property_gets_suggestion() {
    match lookup_path("AWS::EC2::Volume", &["Encryptd"]) {
        PathLookup::Unknown {
            index,
            suggestion,
            known,
        } => {
            assert_eq!(index, 0);
            assert_eq!(suggestion.as_deref(), Some("Encrypted"));
            assert!(known.iter().any(|k| k == "KmsKeyId"));
        }
        other => panic!("{other:?}"),
    }
    // Deeper segments report their own index.
    match lookup_path(
        "AWS::S3::Bucket",
        &[
            "BucketEncryption",
            "ServerSideEncryptionConfiguration",
            "ServerSideEncryptionByDefault",
            "SSEAlgorithim",
        ],
    ) {
        PathLookup::Unknown {
            index, suggestion, ..
        } => {
            assert_eq!(index, 3);
            assert_eq!(suggestion.as_deref(), Some("SSEAlgorithm"));
        }
        other => panic!("{other:?}"),
    }
    // Far-off names get no suggestion.
    assert!(matches!(
        lookup_path("AWS::EC2::Volume", &["Zebra"]),
        PathLookup::Unknown {
            suggestion: None,
            ..
        }
    ));
}

#[test]
fn read_only_properties_are_attributes_not_properties() {
    assert!(matches!(
        lookup_path("AWS::EC2::Volume", &["VolumeId"]),
        PathLookup::Unknown { .. }
    ));
    let attrs = attributes("AWS::EC2::Volume").unwrap();
    assert!(attrs.iter().any(|a| a == "VolumeId"));
    let rds = attributes("AWS::RDS::DBInstance").unwrap();
    assert!(rds.iter().any(|a| a == "Endpoint.Address"));
    assert!(rds.iter().all(|a| !a.contains('*')));
    assert!(attributes("AWS::S3::Bucket")
        .unwrap()
        .iter()
        .any(|a| a == "Arn"));
    assert_eq!(attributes("AWS::Foo::Bar"), None);
}

#[test]
fn s3_nested_encryption_path_through_array() {
    let info = found(
        "AWS::S3::Bucket",
        &[
            "BucketEncryption",
            "ServerSideEncryptionConfiguration",
            "ServerSideEncryptionByDefault",
            "SSEAlgorithm",
        ],
    );
    assert_eq!(info.ptype, PropType::String);
    // The same path with an explicit item step.
    let info = found(
        "AWS::S3::Bucket",
        &[
            "BucketEncryption",
            "ServerSideEncryptionConfiguration",
            "*",
            "ServerSideEncryptionByDefault",
            "SSEAlgorithm",
        ],
    );
    assert_eq!(info.ptype, PropType::String);
}

#[test]
fn array_and_item_infos() {
    let arr = found("AWS::EC2::SecurityGroup", &["SecurityGroupIngress"]);
    assert_eq!(arr.ptype, PropType::Array);
    assert_eq!(arr.item, Some(PropType::Object));
    assert!(arr.children.contains(&"CidrIp"));
    let item = found("AWS::EC2::SecurityGroup", &["SecurityGroupIngress", "0"]);
    assert_eq!(item.ptype, PropType::Object);
    assert_eq!(item.item, None);
    assert_eq!(
        found(
            "AWS::EC2::SecurityGroup",
            &["SecurityGroupIngress", "CidrIp"]
        )
        .ptype,
        PropType::String
    );
    assert_eq!(
        found(
            "AWS::EC2::SecurityGroup",
            &["SecurityGroupIngress", "*", "FromPort"]
        )
        .ptype,
        PropType::Integer
    );
    let arns = found("AWS::IAM::Role", &["ManagedPolicyArns"]);
    assert_eq!(
        (arns.ptype, arns.item),
        (PropType::Array, Some(PropType::String))
    );
    assert!(!arns.free_form);
    assert_eq!(
        found("AWS::IAM::Role", &["ManagedPolicyArns", "*"]).ptype,
        PropType::String
    );
}

#[test]
fn nothing_lives_below_scalars() {
    match lookup_path("AWS::EC2::Volume", &["Encrypted", "Value"]) {
        PathLookup::Unknown { index, known, .. } => {
            assert_eq!(index, 1);
            assert!(known.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        lookup_path("AWS::IAM::Role", &["ManagedPolicyArns", "Arn"]),
        PathLookup::Unknown { index: 1, .. }
    ));
}

#[test]
fn free_form_documents_are_not_checked() {
    match lookup_path("AWS::S3::BucketPolicy", &["PolicyDocument", "Statement"]) {
        PathLookup::NotCovered => {}
        PathLookup::Found(info) => assert_eq!(info.ptype, PropType::Any),
        other => panic!("{other:?}"),
    }
    let doc = found("AWS::S3::BucketPolicy", &["PolicyDocument"]);
    assert!(doc.free_form);
    assert!(doc.children.is_empty());
    assert_eq!(
        lookup_path(
            "AWS::IAM::Role",
            &["Policies", "PolicyDocument", "Statement", "*", "Effect"]
        ),
        PathLookup::NotCovered
    );
    assert_eq!(
        lookup_path("AWS::Foo::Bar", &["Anything"]),
        PathLookup::NotCovered
    );
    assert_eq!(
        lookup_path("AWS::S3::Bucket", &["BucketEncryption", "*"]),
        PathLookup::NotCovered
    );
}

#[test]
fn networking_and_tls_paths() {
    found("AWS::EC2::SecurityGroupIngress", &["CidrIp"]);
    found("AWS::EC2::NetworkAclEntry", &["CidrBlock"]);
    found("AWS::EC2::Subnet", &["MapPublicIpOnLaunch"]);
    let v = found(
        "AWS::CloudFront::Distribution",
        &[
            "DistributionConfig",
            "ViewerCertificate",
            "MinimumProtocolVersion",
        ],
    );
    assert_eq!(v.ptype, PropType::String);
    found(
        "AWS::CloudFront::Distribution",
        &[
            "DistributionConfig",
            "DefaultCacheBehavior",
            "ViewerProtocolPolicy",
        ],
    );
    let p = found(
        "AWS::ElasticLoadBalancingV2::Listener",
        &["DefaultActions", "RedirectConfig", "Protocol"],
    );
    assert_eq!(p.ptype, PropType::String);
    found("AWS::ElasticLoadBalancingV2::Listener", &["SslPolicy"]);
}

#[test]
fn encryption_paths() {
    for (t, path) in [
        ("AWS::RDS::DBInstance", &["StorageEncrypted"][..]),
        ("AWS::RDS::DBCluster", &["KmsKeyId"]),
        ("AWS::DynamoDB::Table", &["SSESpecification", "SSEEnabled"]),
        ("AWS::SQS::Queue", &["KmsMasterKeyId"]),
        ("AWS::SNS::Topic", &["KmsMasterKeyId"]),
        ("AWS::EFS::FileSystem", &["Encrypted"]),
        ("AWS::KMS::Key", &["EnableKeyRotation"]),
        ("AWS::Redshift::Cluster", &["Encrypted"]),
        (
            "AWS::ElastiCache::ReplicationGroup",
            &["TransitEncryptionEnabled"],
        ),
        (
            "AWS::EC2::LaunchTemplate",
            &[
                "LaunchTemplateData",
                "BlockDeviceMappings",
                "Ebs",
                "Encrypted",
            ],
        ),
        (
            "AWS::EC2::Instance",
            &["BlockDeviceMappings", "Ebs", "Encrypted"],
        ),
        (
            "AWS::OpenSearchService::Domain",
            &["EncryptionAtRestOptions", "Enabled"],
        ),
        ("AWS::GuardDuty::Detector", &["Enable"]),
        ("AWS::CloudTrail::Trail", &["KMSKeyId"]),
    ] {
        found(t, path);
    }
}

#[test]
fn waf_recursive_statements_terminate() {
    found("AWS::WAFv2::WebACL", &["DefaultAction"]);
    found(
        "AWS::WAFv2::WebACL",
        &["Rules", "Statement", "ManagedRuleGroupStatement", "Name"],
    );
    // Cycles are cut: deep recursion becomes free-form, not an error.
    let deep = lookup_path(
        "AWS::WAFv2::WebACL",
        &[
            "Rules",
            "Statement",
            "AndStatement",
            "Statements",
            "NotStatement",
            "Statement",
            "Anything",
        ],
    );
    assert!(!matches!(deep, PathLookup::Unknown { .. }), "{deep:?}");
}

#[test]
fn property_suggestions() {
    let names = ["Encrypted", "KmsKeyId", "Size", "Iops"];
    assert_eq!(suggest_property(names, "encrypted"), Some("Encrypted"));
    assert_eq!(suggest_property(names, "KmsKey"), Some("KmsKeyId"));
    assert_eq!(suggest_property(names, "Encryption"), Some("Encrypted"));
    assert_eq!(suggest_property(names, "Foo"), None);
    assert_eq!(suggest_property([], "Foo"), None);
}

#[test]
fn empty_path_lists_top_level_properties() {
    let top = found("AWS::EC2::Volume", &[]);
    assert_eq!(top.ptype, PropType::Object);
    assert!(top.children.contains(&"Encrypted"));
    assert!(!top.children.contains(&"VolumeId"));
}
