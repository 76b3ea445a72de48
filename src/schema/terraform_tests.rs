use super::*;

fn found(rtype: &str, path: &[&str]) -> PropInfo {
    match lookup_path(rtype, path) {
        PathLookup::Found(info) => info,
        other => panic!("{rtype} {path:?}: expected Found, got {other:?}"),
    }
}

fn unknown(rtype: &str, path: &[&str]) -> (usize, Option<String>, Vec<String>) {
    match lookup_path(rtype, path) {
        PathLookup::Unknown {
            index,
            suggestion,
            known,
        } => (index, suggestion, known),
        other => panic!("{rtype} {path:?}: expected Unknown, got {other:?}"),
    }
}

#[test]
fn embedded_gzip_is_the_committed_text() {
    // Regenerate both with tools/gen_tf_schemas.py if this fails.
    assert!(text() == include_str!("../../data/terraform/aws.txt"));
}

#[test]
fn data_parses_and_names_its_source() {
    assert!(
        data_source().contains("@cdktf/provider-aws 21.22.1"),
        "{}",
        data_source()
    );
    assert_eq!(versions(), "provider 6.25.0, 5.99.1 and 4.62.0");
    let types: Vec<&str> = known_types().collect();
    assert_eq!(types.len(), 1606);
    assert!(types.windows(2).all(|w| w[0] < w[1]));
    assert!(types.iter().all(|t| t.starts_with("aws_")));
}

#[test]
fn s3_bucket_encryption_path_along_nested_blocks() {
    let path = [
        "server_side_encryption_configuration",
        "rule",
        "apply_server_side_encryption_by_default",
        "sse_algorithm",
    ];
    let leaf = found("aws_s3_bucket", &path);
    assert_eq!(leaf.ptype, PropType::String);
    assert!(!leaf.free_form);
    // Blocks are lists in a plan: an index or `*` steps into the items.
    let indexed = [
        "server_side_encryption_configuration",
        "0",
        "rule",
        "*",
        "apply_server_side_encryption_by_default",
        "0",
        "kms_master_key_id",
    ];
    assert_eq!(found("aws_s3_bucket", &indexed).ptype, PropType::String);
    let block = found("aws_s3_bucket", &path[..2]);
    assert_eq!(
        (block.ptype, block.item),
        (PropType::Array, Some(PropType::Object))
    );
    assert_eq!(
        block.children,
        [
            "apply_server_side_encryption_by_default",
            "bucket_key_enabled"
        ]
    );
}

#[test]
fn misspelt_attribute_is_unknown_with_a_suggestion() {
    let (index, suggestion, known) =
        unknown("aws_s3_bucket", &["server_side_encryption_configuratoin"]);
    assert_eq!(index, 0);
    assert_eq!(
        suggestion.as_deref(),
        Some("server_side_encryption_configuration")
    );
    assert!(known.iter().any(|k| k == "versioning"));
    let (index, suggestion, _) = unknown(
        "aws_s3_bucket",
        &[
            "server_side_encryption_configuration",
            "rule",
            "apply_sse_by_default",
        ],
    );
    assert_eq!(index, 2);
    assert_eq!(suggestion, None);
    // Suggestions are made for the snake_case form of a PascalCase slip.
    let (_, suggestion, _) = unknown("aws_db_instance", &["StorageEncryptd"]);
    assert_eq!(suggestion.as_deref(), Some("storage_encrypted"));
}

#[test]
fn pascal_case_names_read_snake_case_attributes_like_the_evaluator() {
    assert_eq!(
        found("aws_ebs_volume", &["Encrypted"]).ptype,
        PropType::Boolean
    );
    assert_eq!(
        found("aws_ebs_volume", &["KmsKeyId"]).ptype,
        PropType::String
    );
    let p = [
        "ServerSideEncryptionConfiguration",
        "Rule",
        "ApplyServerSideEncryptionByDefault",
        "SSEAlgorithm",
    ];
    assert_eq!(found("aws_s3_bucket", &p).ptype, PropType::String);
}

#[test]
fn security_group_inline_rules() {
    let ingress = found("aws_security_group", &["ingress"]);
    assert_eq!(ingress.item, Some(PropType::Object));
    assert_eq!(
        ingress.children,
        [
            "cidr_blocks",
            "description",
            "from_port",
            "ipv6_cidr_blocks",
            "prefix_list_ids",
            "protocol",
            "security_groups",
            "self",
            "to_port"
        ]
    );
    // cdktf calls it `selfAttribute`; the Terraform name is `self`.
    assert_eq!(
        found("aws_security_group", &["ingress", "self"]).ptype,
        PropType::Boolean
    );
    let cidrs = found("aws_security_group", &["egress", "*", "cidr_blocks"]);
    assert_eq!(
        (cidrs.ptype, cidrs.item),
        (PropType::Array, Some(PropType::String))
    );
    assert_eq!(
        found("aws_security_group", &["ingress", "from_port"]).ptype,
        PropType::Number
    );
}

#[test]
fn computed_and_older_provider_attributes_are_known() {
    // Computed only: read-only getters of the resource class.
    for (rtype, attr) in [
        ("aws_s3_bucket", "arn"),
        ("aws_s3_bucket", "bucket_domain_name"),
        ("aws_db_instance", "endpoint"),
        ("aws_db_instance", "resource_id"),
        ("aws_kms_key", "key_id"),
        ("aws_instance", "public_ip"),
    ] {
        assert_eq!(
            found(rtype, &[attr]).ptype,
            PropType::String,
            "{rtype}.{attr}"
        );
    }
    let listener = found("aws_db_instance", &["listener_endpoint", "port"]);
    assert_eq!(listener.ptype, PropType::Number);
    // `name` was removed in provider 5.0; plans made by 4.x still have it.
    assert_eq!(found("aws_db_instance", &["name"]).ptype, PropType::String);
    assert_eq!(
        found("aws_db_instance", &["db_name"]).ptype,
        PropType::String
    );
    // A bool in 4.x, a string since: either may be in a plan.
    assert_eq!(
        found("aws_redshift_cluster", &["encrypted"]).ptype,
        PropType::Any
    );
    // A type removed in 6.0 is still known.
    assert!(is_known_type("aws_opsworks_stack"));
}

#[test]
fn maps_any_and_timeouts() {
    assert!(found("aws_s3_bucket", &["tags"]).free_form);
    assert_eq!(
        lookup_path("aws_s3_bucket", &["tags", "CostCentre"]),
        PathLookup::NotCovered
    );
    assert_eq!(
        lookup_path("aws_s3_bucket", &["tags_all", "*"]),
        PathLookup::NotCovered
    );
    // cdktf types WAFv2 statements as `any`: left unchecked.
    assert_eq!(
        lookup_path(
            "aws_wafv2_web_acl",
            &["rule", "statement", "byte_match_statement"]
        ),
        PathLookup::NotCovered
    );
    assert_eq!(
        found(
            "aws_wafv2_web_acl",
            &["rule", "visibility_config", "metric_name"]
        )
        .ptype,
        PropType::String
    );
    let (_, suggestion, _) = unknown("aws_wafv2_web_acl", &["rule", "overide_action"]);
    assert_eq!(suggestion.as_deref(), Some("override_action"));
    // timeouts is a single nested block: an object in plans.
    let t = found("aws_db_instance", &["timeouts"]);
    assert_eq!(
        (t.ptype, t.children),
        (PropType::Object, vec!["create", "delete", "update"])
    );
}

#[test]
fn nothing_lives_below_a_scalar() {
    let (index, suggestion, known) = unknown("aws_s3_bucket", &["bucket", "name"]);
    assert_eq!((index, suggestion, known), (1, None, vec![]));
    let (index, _, known) = unknown("aws_security_group", &["ingress", "cidr_blocks", "x"]);
    assert_eq!((index, known.len()), (2, 0));
    // An index into an object or a map pins nothing down.
    assert_eq!(
        lookup_path("aws_db_instance", &["timeouts", "0"]),
        PathLookup::NotCovered
    );
}

#[test]
fn types_and_suggestions() {
    assert!(is_known_type("aws_s3_bucket"));
    assert!(!is_known_type("aws_s3_bukcet"));
    assert!(!is_known_type("AWS_S3_BUCKET"));
    assert_eq!(suggest_type("aws_s3_bukcet"), Some("aws_s3_bucket"));
    assert_eq!(suggest_type("aws_db_instanse"), Some("aws_db_instance"));
    assert_eq!(suggest_type("s3_bucket"), Some("aws_s3_bucket"));
    assert_eq!(suggest_type("random_password"), None);
    assert_eq!(
        lookup_path("random_password", &["length"]),
        PathLookup::NotCovered
    );
    assert_eq!(
        lookup_path("aws_s3_bukcet", &["bucket"]),
        PathLookup::NotCovered
    );
}

#[test]
fn catalogue_types_are_known() {
    // The Terraform types the built-in policies select (the checker's former
    // hand-kept list).
    for t in [
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_ebs_encryption_by_default",
        "aws_rds_cluster_instance",
        "aws_vpc_security_group_ingress_rule",
        "aws_lb_listener_certificate",
        "aws_alb_listener",
        "aws_elasticsearch_domain",
        "aws_ebs_snapshot_copy",
        "aws_ami_copy",
        "aws_shield_protection",
    ] {
        assert!(is_known_type(t), "{t}");
    }
}

#[test]
fn malformed_data_is_an_error_naming_the_line() {
    let bad = |text: &'static str| parse(text).err().unwrap_or_default();
    assert!(bad("# provider 1.0\n x s\n").contains("line 2: attribute outside a resource"));
    assert!(bad("# provider 1.0\n@aws_x\n a q\n").contains("line 3: unknown type code"));
    assert!(bad("# provider 1.0\n@aws_x\n a L=0\n").contains("subtree used before it is defined"));
    assert!(bad("# provider 1.0\n@aws_x\n a s\n   b s\n").contains("line 4: attribute outside"));
    assert!(bad("# nothing\n@aws_x\n a s\n").contains("names no provider version"));
    assert!(bad("# provider 1.0\n@aws_x\n@aws_x\n").contains("listed twice"));
    let ok =
        parse("# provider 1.0\n=0\n k s\n@aws_x\n a L=0\n b O\n  c n\n d ls\n").expect("parses");
    assert_eq!(ok.resources.len(), 1);
}
