//! Catalogue tests: every built-in policy against its fixtures in
//! `fixtures/catalog/<policy-id>/` (CloudFormation YAML, CloudFormation JSON and a
//! Terraform plan, for the resource types the policy covers).
//!
//! Each test pins every finding in a snapshot (one line per finding:
//! `file:line:column status resource (type) — message`) and also asserts the key
//! cases explicitly, so that a test fails even when snapshots are accepted blindly.

use std::path::{Path, PathBuf};

use deadbolt::eval::{evaluate, Params};
use deadbolt::result::Finding;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture files of a policy, relative to the repository.
fn fixture_files(id: &str) -> Vec<String> {
    let dir = repo().join("fixtures/catalog").join(id);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

/// Scans `fixtures/catalog/<id>/` with the built-in policy `id` only.
fn scan(id: &str) -> Vec<Finding> {
    let checked = deadbolt::scan::load_policies(&[]).expect("the built-in catalogue loads");
    assert!(
        checked.diagnostics.is_empty(),
        "the built-in catalogue has diagnostics: {:#?}",
        checked.diagnostics
    );
    let policies: Vec<_> = checked
        .policies
        .into_iter()
        .filter(|p| p.id == id)
        .collect();
    assert_eq!(
        policies.len(),
        1,
        "policy {id} is in the catalogue exactly once"
    );

    let dir: PathBuf = repo().join("fixtures/catalog").join(id);
    let loaded = deadbolt::load::load_inputs(std::slice::from_ref(&dir));
    assert!(
        loaded.errors.is_empty(),
        "load errors: {:#?}",
        loaded.errors
    );
    assert!(
        loaded.skipped.is_empty(),
        "files skipped as not a template: {:?}",
        loaded.skipped
    );
    let findings = evaluate(&policies, &loaded.templates, &Params::default(), None);

    // Every fixture file must contribute findings, or it tests nothing.
    for file in fixture_files(id) {
        assert!(
            findings
                .iter()
                .any(|f| f.file.ends_with(&format!("/{file}"))),
            "fixtures/catalog/{id}/{file} produced no finding"
        );
    }
    findings
}

fn rel(file: &str) -> &str {
    let root = repo().to_str().expect("UTF-8 path");
    file.strip_prefix(root)
        .map(|f| f.trim_start_matches('/'))
        .unwrap_or(file)
}

/// One line per finding, in output order.
fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {} {} ({}) — {}\n",
                rel(&f.file),
                f.line,
                f.column,
                f.status.as_str(),
                f.resource,
                f.resource_type,
                f.message
            )
        })
        .collect()
}

/// Whether there is a finding for `resource` with `status` at `line`.
fn has(findings: &[Finding], resource: &str, status: &str, line: u32) -> bool {
    findings
        .iter()
        .any(|f| f.resource == resource && f.status.as_str() == status && f.line == line)
}

/// The only finding for `resource` (resource ids are unique within a policy's fixtures).
fn finding<'a>(findings: &'a [Finding], resource: &str) -> &'a Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.resource == resource).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected exactly one finding for {resource}, got:\n{}",
        render(findings)
    );
    matching[0]
}

/// Whether `resource` has no finding at all (the policy does not apply to it).
fn absent(findings: &[Finding], resource: &str) -> bool {
    findings.iter().all(|f| f.resource != resource)
}

/// Asserts the (resource, status, line) triples, printing all findings on failure.
fn expect(findings: &[Finding], cases: &[(&str, &str, u32)]) {
    for &(resource, status, line) in cases {
        assert!(
            has(findings, resource, status, line),
            "expected {status} for {resource} at line {line}; findings:\n{}",
            render(findings)
        );
    }
}

/// Asserts that every finding is one of the expected cases: nothing more.
fn expect_only(findings: &[Finding], cases: &[(&str, &str, u32)]) {
    expect(findings, cases);
    assert_eq!(
        findings.len(),
        cases.len(),
        "unexpected extra findings:\n{}",
        render(findings)
    );
}

#[test]
fn alb_listener_https() {
    let f = scan("alb-listener-https");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("PartnerTlsListener", "pass", 11),
            ("PartnerHttpListener", "fail", 27), // HTTP with a fixed response
            ("PartnerRedirectListener", "pass", 36), // HTTP that redirects to HTTPS
            ("SyslogListener", "pass", 50),      // TLS
            ("DnsListener", "pass", 61),         // UDP
            // cfn.yaml
            ("HttpsListener", "pass", 26),
            ("HttpRedirectListener", "pass", 39), // HTTP that redirects to HTTPS
            ("AdminHttpListener", "fail", 57),    // HTTP forward
            ("HostRedirectListener", "fail", 68), // a redirect that keeps #{protocol}
            ("ApiListener", "unknown", 81),       // `!Ref` to a parameter without default
            ("PostgresListener", "pass", 93),     // TCP
            // plan.json
            ("aws_alb_listener.legacy_http", "fail", 28), // HTTP forward (aws_alb_listener)
            ("aws_lb_listener.http_redirect", "pass", 101),
            ("aws_lb_listener.http_same_protocol", "fail", 180), // a redirect that keeps #{protocol}
            ("aws_lb_listener.https", "pass", 199),
            ("aws_lb_listener.mqtt", "pass", 237), // TCP
            ("module.api.aws_lb_listener.http", "fail", 326),
        ],
    );
}

#[test]
fn alb_listener_tls_policy() {
    let f = scan("alb-listener-tls-policy");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("BackofficeHttps", "fail", 10), // ELBSecurityPolicy-TLS-1-1-2017-01
            ("ReportingHttps", "pass", 15),  // ELBSecurityPolicy-TLS13-1-3-2021-06
            ("LdapsTls", "fail", 32),        // TLS listener with TLS13-1-0
            // cfn.yaml
            ("StorefrontHttps", "pass", 19), // ELBSecurityPolicy-TLS13-1-2-2021-06
            ("LegacyHttps", "fail", 38),     // ELBSecurityPolicy-2016-08
            ("DefaultPolicyHttps", "fail", 47), // no SslPolicy: the Properties line
            ("CheckoutHttps", "unknown", 63), // `!Ref` to a parameter without default
            ("MqttTls", "pass", 83),         // TLS listener with FS-1-2-Res
            // plan.json
            ("aws_alb_listener.shop_legacy", "fail", 29),
            ("aws_lb_listener.mqtt_tls", "pass", 102),
            ("aws_lb_listener.shop_default_policy", "fail", 146), // ssl_policy not configured (known after apply)
            ("aws_lb_listener.shop_https", "pass", 226),
            ("module.admin.aws_lb_listener.https", "fail", 317), // ELBSecurityPolicy-FS-2018-06
        ],
    );
    // Plain HTTP and TCP listeners are not judged.
    for id in [
        "StorefrontHttp",
        "ReportingTcp",
        "aws_lb_listener.shop_http",
    ] {
        assert!(absent(&f, id), "{id} must have no result");
    }
    assert_eq!(
        finding(&f, "DefaultPolicyHttps").message,
        "listener DefaultPolicyHttps uses the ELB default security policy, ELBSecurityPolicy-2016-08, which allows TLS 1.0 and 1.1"
    );
}

#[test]
fn alb_waf_association() {
    let f = scan("alb-waf-association");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("ApiLoadBalancer", "pass", 12), // association through `Fn::GetAtt ... LoadBalancerArn`
            ("WebhooksLoadBalancer", "fail", 28), // no association: the load balancer's line
            // cfn.yaml
            ("PortalLoadBalancer", "pass", 24), // association with ResourceArn: !Ref PortalLoadBalancer
            ("DocsLoadBalancer", "fail", 36),   // Scheme not set (internet-facing), no association
            ("StagingLoadBalancer", "unknown", 58), // Scheme from a parameter without default: points at it
            ("SupportLoadBalancer", "unknown", 74), // the only association names an imported ARN
            // plan.json
            ("aws_alb.legacy", "fail", 8), // aws_alb without association
            ("aws_lb.partners", "fail", 92), // `internal` not configured: internet-facing
            ("aws_lb.web", "pass", 119),   // resource_arn = aws_lb.web.arn
            ("module.edge.aws_lb.this", "pass", 212), // child module: resource_arn = aws_lb.this.arn
        ],
    );
    // Internal and network load balancers are not judged.
    for id in [
        "AdminLoadBalancer",
        "GameServerLoadBalancer",
        "aws_lb.internal_api",
        "aws_lb.game",
    ] {
        assert!(absent(&f, id), "{id} must have no result");
    }
}

#[test]
fn cloudfront_min_tls() {
    let f = scan("cloudfront-min-tls");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("ApiDistribution", "pass", 5),        // TLSv1.2_2019
            ("MediaDistribution", "pass", 21),     // TLSv1.2_2018 accepts only TLS 1.2+
            ("DownloadsDistribution", "fail", 45), // no MinimumProtocolVersion: the ViewerCertificate line
            ("StatusDistribution", "pass", 52),    // TLSv1.3_2025
            // cfn.yaml
            ("WwwDistribution", "pass", 13),          // TLSv1.2_2021
            ("LegacyDistribution", "fail", 49),       // TLSv1.1_2016
            ("PreviewDistribution", "fail", 66),      // CloudFront default certificate
            ("DocsDistribution", "fail", 71), // no ViewerCertificate: the DistributionConfig line
            ("ShopDistribution", "unknown", 100), // `!Ref` to a parameter without default
            ("OldBrowsersDistribution", "fail", 119), // TLSv1_2016
            ("VipDistribution", "fail", 138), // SSLv3
            // plan.json
            ("aws_cloudfront_distribution.legacy", "pass", 8), // TLSv1.2_2018
            ("aws_cloudfront_distribution.preview", "fail", 220), // CloudFront default certificate
            ("aws_cloudfront_distribution.www", "pass", 274),
            ("module.docs.aws_cloudfront_distribution.this", "pass", 413),
        ],
    );
    // The message names the real weakness of each older policy.
    assert_eq!(
        finding(&f, "LegacyDistribution").message,
        "distribution LegacyDistribution accepts TLS 1.1 (MinimumProtocolVersion TLSv1.1_2016), deprecated by RFC 8996"
    );
    assert_eq!(
        finding(&f, "OldBrowsersDistribution").message,
        "distribution OldBrowsersDistribution accepts TLS 1.0 and 1.1 (MinimumProtocolVersion TLSv1_2016), deprecated by RFC 8996 and not allowed by PCI DSS"
    );
    assert_eq!(
        finding(&f, "VipDistribution").message,
        "distribution VipDistribution accepts SSL 3.0 (MinimumProtocolVersion SSLv3), which the POODLE attack breaks, and TLS 1.0 and 1.1"
    );
}

#[test]
fn cloudfront_viewer_https() {
    let f = scan("cloudfront-viewer-https");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("HelpDistribution", "fail", 16), // the second CacheBehaviors item allows HTTP
            ("ForumDistribution", "unknown", 29), // `Ref` to a parameter without default
            // cfn.yaml
            ("StorefrontDistribution", "pass", 10),
            ("BlogDistribution", "fail", 49), // default cache behaviour allow-all
            ("CatalogDistribution", "fail", 73), // the second CacheBehaviors item allows HTTP
            // plan.json
            ("aws_cloudfront_distribution.blog", "fail", 44), // default_cache_behavior allow-all
            ("aws_cloudfront_distribution.catalog", "fail", 238), // second ordered_cache_behavior allow-all
            ("aws_cloudfront_distribution.shop", "pass", 358),
            ("module.help.aws_cloudfront_distribution.this", "pass", 540),
        ],
    );
}

#[test]
fn cloudfront_waf() {
    let f = scan("cloudfront-waf");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("ApiDistribution", "pass", 4), // a literal web ACL ARN
            ("ImportedAclDistribution", "unknown", 20), // `Fn::ImportValue`
            ("AssetsDistribution", "fail", 29), // no WebACLId: the DistributionConfig line
            // cfn.yaml
            ("WwwDistribution", "pass", 34), // `!GetAtt` of a web ACL of the template
            ("DocsDistribution", "fail", 52), // no WebACLId: the DistributionConfig line
            ("BetaDistribution", "fail", 68), // WebACLId: ""
            ("PartnerDistribution", "unknown", 83), // `!Ref` to a parameter without default
            // plan.json
            ("aws_cloudfront_distribution.api", "pass", 8),
            ("aws_cloudfront_distribution.docs", "fail", 227), // web_acl_id null
            ("aws_cloudfront_distribution.www", "pass", 274), // web_acl_id = aws_wafv2_web_acl.edge.arn (known after apply)
            (
                "module.status_page.aws_cloudfront_distribution.this",
                "fail",
                545,
            ), // child module, web_acl_id ""
        ],
    );
}

// ---- web ACLs evaluated with AWS WAFv2 semantics ----

#[test]
fn waf_blocks_attacks() {
    let f = scan("waf-blocks-attacks");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            ("ReferenceAcl", "pass", 8), // managed groups + SQLi/XSS rules: every attack stopped
            ("OpenAcl", "fail", 94),     // only a rate rule: the first SQL injection gets through
            ("PartnerAcl", "unknown", 109), // IP set from a parameter without default
            ("LockedAcl", "pass", 124),  // blocks everything, attacks included
            ("ImportedAcl", "unknown", 133), // rules imported from another stack
            ("aws_wafv2_web_acl.main", "fail", 252),
        ],
    );
    assert_eq!(
        finding(&f, "OpenAcl").message,
        "web ACL OpenAcl lets attack request 1 of the bundled corpus through (ALLOW by Default_Action): sqli-001 (GET /products?id=@a%20mod%20(1)%20or%201%20union%20select%20load_file('/etc/passwd'),credit_card,passwd%20from%20users--%20-)"
    );
}

#[test]
fn waf_allows_customers() {
    let f = scan("waf-allows-customers");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            ("ReferenceAcl", "pass", 8),
            ("OpenAcl", "pass", 94),
            ("PartnerAcl", "unknown", 109),
            ("LockedAcl", "fail", 124), // default action Block
            ("ImportedAcl", "unknown", 133),
            ("aws_wafv2_web_acl.main", "pass", 252),
        ],
    );
    assert_eq!(
        finding(&f, "LockedAcl").message,
        "web ACL LockedAcl does not allow benign request 1 of the bundled corpus (BLOCK by Default_Action): page-001 (GET /)"
    );
}

#[test]
fn waf_rate_limit() {
    let f = scan("waf-rate-limit");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            ("ReferenceAcl", "fail", 15), // no rate-based rule: the Rules line
            ("OpenAcl", "pass", 94),
            ("PartnerAcl", "fail", 116),
            ("LockedAcl", "fail", 131),
            ("ImportedAcl", "unknown", 140),
            ("aws_wafv2_web_acl.main", "pass", 252),
        ],
    );
}

#[test]
fn waf_logging_enabled() {
    let f = scan("waf-logging-enabled");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            ("EdgeAcl", "unknown", 14), // the logging configuration's ResourceArn is imported
            ("ReferenceAcl", "fail", 8),
            ("OpenAcl", "pass", 94),
            ("PartnerAcl", "fail", 109),
            ("LockedAcl", "fail", 124),
            ("ImportedAcl", "fail", 133),
            ("aws_wafv2_web_acl.main", "pass", 252), // resource_arn = aws_wafv2_web_acl.main.arn
        ],
    );
}

#[test]
fn dynamodb_table_cmk() {
    let f = scan("dynamodb-table-cmk");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("ProductsTable", "pass", 5), // SSEEnabled: "true" without SSEType (KMS is the default)
            ("PricesTable", "fail", 22),  // SSEType AES256: the second require
            ("InventoryGlobalTable", "fail", 28), // no SSESpecification: the Properties line
            // cfn.yaml
            ("OrdersTable", "pass", 16),
            ("SessionsTable", "fail", 43), // SSEEnabled: false
            ("CacheTable", "fail", 47),    // no SSESpecification: the Properties line
            ("AuditTable", "unknown", 70), // `!Ref` to a parameter without default
            ("CustomersGlobalTable", "pass", 72),
            // plan.json
            ("aws_dynamodb_table.orders", "pass", 8),
            ("aws_dynamodb_table.rate_limits", "fail", 75), // no server_side_encryption block (known after apply)
            ("aws_dynamodb_table.sessions", "fail", 155),
            ("module.state_backend.aws_dynamodb_table.locks", "pass", 206), // enabled with the AWS managed key (kms_key_arn empty)
        ],
    );
    assert_eq!(
        finding(&f, "PricesTable").message,
        "table PricesTable has SSEType AES256; only KMS uses a KMS key"
    );
}

#[test]
fn ebs_default_encryption() {
    let f = scan("ebs-default-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // plan.json
            ("aws_ebs_encryption_by_default.eu_west_1", "pass", 18),
            ("aws_ebs_encryption_by_default.us_east_1", "fail", 37), // an update that turns the default off
            (
                "module.prod_account.aws_ebs_encryption_by_default.this",
                "pass",
                65,
            ),
            (
                "module.sandbox_account.aws_ebs_encryption_by_default.this",
                "fail",
                89,
            ), // child module
        ],
    );
}

#[test]
fn ebs_volume_encryption() {
    let f = scan("ebs-volume-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("AgentVolume", "pass", 19),
            ("CacheVolume", "unknown", 33), // `Ref` to a parameter without default
            ("ArtifactVolume", "fail", 41), // "false" as a string
            ("ConditionalVolume", "pass", 44), // `Fn::If` decided by the parameter's default: the true branch
            ("FrankfurtVolume", "fail", 57), // undecidable `Fn::If` whose false branch is `AWS::NoValue`
            ("LogsVolume", "fail", 62),      // no Encrypted: the Properties line
            // cfn.yaml
            ("ReportsVolume", "pass", 26),
            ("QuotedVolume", "pass", 35), // Encrypted: "true" (CloudFormation accepts the string)
            ("PlainVolume", "fail", 48),
            ("DefaultVolume", "fail", 52), // no Encrypted: the Properties line
            ("ScratchVolume", "unknown", 62), // `!Ref` to a parameter without default
            ("RegionalVolume", "fail", 69), // undecidable `!If` (AWS::Region): fails on the false branch
            ("ProdVolume", "pass", 71), // decidable `!If` (Environment defaults to prod): only the true branch
            ("DevOnlyEncryptedVolume", "fail", 83), // decidable `!If`: only the false branch
            ("RestoredVolume", "fail", 93), // second YAML document of the file
            // plan.json
            ("aws_ebs_volume.data", "pass", 8),
            ("aws_ebs_volume.logs", "fail", 38), // `encrypted` not configured (known after apply): the values line
            ("aws_ebs_volume.scratch", "fail", 59),
            ("module.db_host.aws_ebs_volume.pgdata", "pass", 96),
            ("module.db_host.aws_ebs_volume.wal", "fail", 125), // child module, false from a module variable
        ],
    );
    // An undecidable `!If` fails on the branch that fails, and says which.
    assert!(finding(&f, "RegionalVolume")
        .message
        .ends_with("(when condition InUsEast1 is false)"));
    assert!(finding(&f, "FrankfurtVolume")
        .message
        .ends_with("(when condition InFrankfurt is false)"));
    // A decidable `!If` is not split into branches.
    assert!(!finding(&f, "DevOnlyEncryptedVolume")
        .message
        .contains("when condition"));
    assert_eq!(finding(&f, "RestoredVolume").document, 1);
}

#[test]
fn ec2_block_device_encryption() {
    let f = scan("ec2-block-device-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("RunnerInstance", "pass", 11),
            ("RunnerLaunchTemplate", "fail", 34), // undecidable `Fn::If`
            ("CacheLaunchConfig", "fail", 53),    // second mapping of a launch configuration
            ("BuildLaunchConfig", "pass", 58),    // encrypted EBS root plus an ephemeral mapping
            ("SpotLaunchTemplate", "pass", 69),   // no block device mappings at all
            // cfn.yaml
            ("WebInstance", "pass", 18), // encrypted EBS root plus an instance-store (ephemeral) mapping
            ("BatchInstance", "fail", 47), // the second EBS mapping is not encrypted
            ("ToolsInstance", "fail", 56), // Ebs without Encrypted: the Ebs line; NoDevice mappings are not EBS
            ("BastionInstance", "pass", 62), // no mappings: nothing to judge (see the policy description)
            ("WorkerLaunchConfig", "unknown", 77), // `!Ref` to a parameter without default
            ("AppLaunchTemplate", "pass", 79),
            ("LegacyLaunchTemplate", "fail", 108), // second mapping of a launch template
            // plan.json
            ("aws_instance.bastion", "pass", 8), // no root_block_device configured: no mapping, as in CloudFormation
            ("aws_instance.batch", "fail", 46),
            ("aws_instance.legacy", "fail", 102),
            ("aws_instance.reports", "fail", 139), // root_block_device without `encrypted`: the block
            ("aws_instance.web", "pass", 165),
            ("aws_launch_configuration.cache", "fail", 217), // ebs_block_device of a launch configuration
            ("aws_launch_configuration.workers", "pass", 254),
            ("aws_launch_template.app", "pass", 292),
            ("module.runners.aws_launch_template.this", "fail", 379), // launch template `encrypted` is a string ("false")
        ],
    );
    assert!(finding(&f, "RunnerLaunchTemplate")
        .message
        .ends_with("(when condition InGovCloud is false)"));
    assert_eq!(
        finding(&f, "aws_instance.legacy").message,
        "the root block device of aws_instance.legacy is not encrypted"
    );
}

#[test]
fn efs_encryption() {
    let f = scan("efs-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("HomeDirectories", "pass", 10),
            ("BuildCache", "fail", 20), // `Fn::If` decided by the parameter's default (dev): the false branch
            // cfn.yaml
            ("ContentFileSystem", "pass", 15),
            ("ScratchFileSystem", "fail", 27), // no Encrypted: the Properties line
            ("ExportFileSystem", "fail", 36),
            ("UploadsFileSystem", "unknown", 43), // `!Ref` to a parameter without default
            // plan.json
            ("aws_efs_file_system.content", "pass", 8),
            ("aws_efs_file_system.exports", "fail", 35),
            ("aws_efs_file_system.scratch", "fail", 55), // `encrypted` not configured (known after apply): EFS's default is unencrypted
            ("module.jenkins.aws_efs_file_system.home", "pass", 72),
        ],
    );
}

#[test]
fn elasticache_transit_encryption() {
    let f = scan("elasticache-transit-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("LeaderboardCache", "pass", 7), // TransitEncryptionEnabled: "true"
            ("MatchmakingCache", "fail", 26), // undecidable `Fn::If` (AWS::AccountId)
            // cfn.yaml
            ("SessionCache", "pass", 13),
            ("CatalogCache", "fail", 28), // no TransitEncryptionEnabled: the Properties line
            ("RateLimitCache", "fail", 42), // TransitEncryptionEnabled: false
            ("FeatureFlagCache", "unknown", 51), // `!Ref` to a parameter without default
            // plan.json
            ("aws_elasticache_replication_group.catalog", "fail", 14), // not configured (known after apply): the values line
            ("aws_elasticache_replication_group.rate_limits", "fail", 64),
            ("aws_elasticache_replication_group.sessions", "pass", 72),
            (
                "module.queue_cache.aws_elasticache_replication_group.this",
                "pass",
                109,
            ),
        ],
    );
    assert!(finding(&f, "MatchmakingCache")
        .message
        .ends_with("(when condition InProductionAccount is false)"));
}

#[test]
fn guardduty_detector_enabled() {
    let f = scan("guardduty-detector-enabled");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("BaselineDetector", "pass", 15), // `Fn::If` decided by the parameter's default
            ("LegacyDetector", "fail", 25),   // "false" as a string is false to CloudFormation
            ("QuotedDetector", "pass", 28),
            // cfn.yaml
            ("Detector", "pass", 17),
            ("SandboxDetector", "fail", 31),
            ("StackSetDetector", "unknown", 37), // `!Ref` to a parameter without default
            ("ProductionOnlyDetector", "fail", 42), // undecidable `!If`: the false branch disables it
            // plan.json
            ("aws_guardduty_detector.main", "pass", 8),
            ("aws_guardduty_detector.staging", "fail", 40), // an update that disables the detector
            (
                "module.member_baseline.aws_guardduty_detector.this",
                "pass",
                56,
            ),
            (
                "module.sandbox_baseline.aws_guardduty_detector.this",
                "fail",
                81,
            ), // child module, value from a module variable
        ],
    );
    assert!(finding(&f, "ProductionOnlyDetector")
        .message
        .ends_with("(when condition IsProductionAccount is false)"));
}

#[test]
fn kms_key_policy_no_wildcard() {
    let f = scan("kms-key-policy-no-wildcard");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("ReportingKey", "pass", 7), // {"AWS": "*"} with a Condition
            ("ExportKey", "fail", 34),   // Principal "*" with an empty Condition
            ("ConsumerKey", "unknown", 45), // principal from a parameter without default
            // cfn.yaml
            ("LedgerKey", "pass", 5),  // the account root through `!Sub`
            ("SharedKey", "fail", 37), // {"AWS": "*"} without a Condition: the AWS line
            ("OrganizationKey", "pass", 43), // {"AWS": "*"} restricted by aws:PrincipalOrgID
            ("PublicKey", "fail", 68), // Principal "*"
            ("PartnerKey", "fail", 82), // "*" in a list of principals: that item
            ("DenyEveryoneElseKey", "pass", 86), // Principal "*" in a Deny statement
            ("DefaultPolicyKey", "pass", 105), // no KeyPolicy: the default key policy
            ("NotPrincipalKey", "fail", 119), // Allow with NotPrincipal: everyone but the auditor
            // plan.json
            ("aws_kms_key.app", "pass", 8),
            ("aws_kms_key.defaults", "pass", 31), // policy not configured: the default key policy
            ("aws_kms_key.open", "fail", 68),     // {"AWS": "*"} in a JSON string: the policy line
            ("module.org_backup.aws_kms_key.this", "pass", 80), // child module, "*" with a Condition
        ],
    );
}

#[test]
fn kms_key_rotation() {
    let f = scan("kms-key-rotation");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("SessionKey", "pass", 7),   // EnableKeyRotation: "true"
            ("ExportKey", "fail", 13),   // EnableKeyRotation: "false" on a one-line Properties
            ("TokenKey", "unknown", 17), // KeySpec from a parameter without default: the `when` cannot be decided
            // cfn.yaml
            ("DataKey", "pass", 10),
            ("LogsKey", "fail", 19), // no EnableKeyRotation: the Properties line
            ("BackupKey", "fail", 28), // explicit SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT, rotation off
            ("ArchiveKey", "unknown", 54), // `!Ref` to a parameter without default
            // plan.json
            ("aws_kms_key.data", "pass", 8),
            ("aws_kms_key.logs", "fail", 42),
            // key_usage and customer_master_key_spec left to the provider's defaults
            ("aws_kms_key.provider_defaults", "pass", 96),
            ("aws_kms_key.provider_defaults_unrotated", "fail", 127),
            (
                r#"module.tenant_keys.aws_kms_key.this["acme"]"#,
                "pass",
                140,
            ),
            (
                r#"module.tenant_keys.aws_kms_key.this["globex"]"#,
                "fail",
                176,
            ), // for_each instance in a child module
        ],
    );
    // Asymmetric, HMAC and imported-material keys cannot rotate automatically.
    for id in [
        "SigningKey",
        "WebhookMacKey",
        "ImportedMaterialKey",
        "DeviceKey",
        "aws_kms_key.signing",
        "aws_kms_key.webhooks",
    ] {
        assert!(absent(&f, id), "{id} must have no result");
    }
}

#[test]
fn rds_storage_encryption() {
    let f = scan("rds-storage-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("EventsCluster", "unknown", 12), // `Ref` to a parameter without default
            ("ArchiveCluster", "fail", 21),
            ("CatalogDatabase", "pass", 26),
            // cfn.yaml
            ("AppDatabase", "pass", 10),
            ("LegacyDatabase", "fail", 29),
            ("ReportingDatabase", "fail", 35), // no StorageEncrypted: the Properties line
            ("LedgerCluster", "pass", 42),
            ("AnalyticsCluster", "fail", 69), // no StorageEncrypted: the Properties line
            // plan.json
            ("aws_db_instance.app", "pass", 8),
            ("aws_db_instance.legacy", "fail", 80),
            ("aws_db_instance.reports", "fail", 121), // storage_encrypted null (not configured)
            ("aws_rds_cluster.analytics", "fail", 154),
            ("aws_rds_cluster.ledger", "pass", 166),
            ("aws_rds_cluster.serverless", "fail", 205), // storage_encrypted not configured (known after apply)
            ("module.wiki.aws_db_instance.this", "pass", 252),
            // replicas.yaml: a read replica inherits encryption from its source
            ("EncryptedSource", "pass", 4),
            ("EncryptedReplica", "pass", 13),
            ("PlainSource", "fail", 21),
            ("PlainReplica", "fail", 27),
            ("OutsideReplica", "unknown", 34), // the source is an ARN outside the template
        ],
    );
    // Instances of an Aurora cluster are judged through the cluster.
    for id in [
        "LedgerWriter",
        "LedgerReader",
        "ImportedClusterReader",
        "aws_rds_cluster_instance.ledger_writer",
    ] {
        assert!(absent(&f, id), "{id} must have no result");
    }
}

#[test]
fn redshift_cluster_encryption() {
    let f = scan("redshift-cluster-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("FinanceWarehouse", "pass", 7),
            ("RegulatedWarehouse", "fail", 27), // undecidable `Fn::If` (AWS::Partition)
            // cfn.yaml
            ("Warehouse", "pass", 18),
            ("SandboxWarehouse", "fail", 32), // no Encrypted: the Properties line
            ("MarketingWarehouse", "fail", 47),
            ("PartnerWarehouse", "unknown", 57), // `!Ref` to a parameter without default
            // plan.json
            ("aws_redshift_cluster.sandbox", "fail", 21),
            ("aws_redshift_cluster.warehouse", "pass", 39),
            ("module.finance.aws_redshift_cluster.this", "pass", 74),
            ("module.marketing.aws_redshift_cluster.this", "fail", 123), // child module
        ],
    );
    assert!(finding(&f, "RegulatedWarehouse")
        .message
        .ends_with("(when condition IsGovCloud is false)"));
}

#[test]
fn s3_bucket_secure_transport() {
    let f = scan("s3-bucket-secure-transport");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("ExchangeBucket", "pass", 5), // Condition value as a list ["false"]
            ("InboxBucket", "fail", 63),   // its policy denies only DeleteObject
            ("OutboxBucket", "fail", 86),  // no bucket policy
            // cfn.yaml
            ("SiteBucket", "pass", 5), // "aws:SecureTransport": "false" (a string)
            ("UploadsBucket", "pass", 31), // aws:SecureTransport: false (a boolean)
            ("MediaBucket", "fail", 50), // the template's policies are for another bucket
            ("ReportsBucket", "fail", 65), // an Allow with aws:SecureTransport true is not a deny
            ("ArchiveBucket", "pass", 84), // policy names the bucket by its BucketName; BoolIfExists
            // Its own policy denies plain HTTP; another policy whose `Bucket` is a
            // parameter without default does not make that unknown.
            ("LandingBucket", "pass", 110),
            ("QuarantineBucket", "unknown", 130), // a policy for a parameter-named bucket may be for this one
            // partial-deny.yaml
            ("ExportsBucket", "fail", 6), // Deny for one role, and for one action to everyone
            ("ImportsBucket", "pass", 27), // Principal {AWS: ["*"]}, Action ["*"]
            // plan.json
            // Values parsed by json() are reported at the policy string itself.
            ("aws_s3_bucket.logs", "fail", 39),
            ("aws_s3_bucket.assets", "pass", 8), // aws_s3_bucket_policy with bucket = aws_s3_bucket.assets.id
            ("aws_s3_bucket.legacy", "pass", 23), // deprecated inline policy argument
            ("aws_s3_bucket.tmp", "fail", 54),   // no policy at all
            // The policy is jsonencode(...) of the bucket's ARN: known only after apply.
            ("aws_s3_bucket.uploads", "unknown", 114),
            ("module.cdn_origin.aws_s3_bucket.this", "pass", 122), // child module; BoolIfExists with a list
        ],
    );
}

#[test]
fn s3_bucket_sse_kms() {
    let f = scan("s3-bucket-sse-kms");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("AssetsBucket", "pass", 12),
            ("AccessLogsBucket", "fail", 34), // AES256 (SSE-S3)
            ("ReportsBucket", "pass", 40), // `Fn::If` decided by the parameter's default: aws:kms
            ("PartnerBucket", "fail", 61), // undecidable `Fn::If`: the true branch is AES256
            // cfn.yaml
            ("CuratedBucket", "pass", 17),
            ("RegulatedBucket", "pass", 29), // aws:kms:dsse
            ("StagingBucket", "fail", 44),   // AES256 (SSE-S3)
            ("ExportsBucket", "fail", 48),   // no BucketEncryption: the Properties line
            ("ScratchBucket", "fail", 55),   // no Properties at all: the logical id line
            ("RawBucket", "unknown", 65),    // `!Ref` to a parameter without default
            // plan.json
            ("aws_s3_bucket.data", "pass", 26), // separate configuration whose `bucket` is aws_s3_bucket.data.id
            ("aws_s3_bucket.legacy", "pass", 41), // deprecated inline server_side_encryption_configuration
            ("aws_s3_bucket.legacy_aes", "fail", 99), // inline configuration with AES256
            ("aws_s3_bucket.named", "pass", 140), // separate configuration naming the bucket literally (aws:kms:dsse)
            ("aws_s3_bucket.scratch", "fail", 161), // no configuration: S3's default SSE-S3 (known after apply)
            ("aws_s3_bucket.logs", "fail", 213), // separate configuration with AES256: its sse_algorithm line
            ("module.archive.aws_s3_bucket.this", "pass", 266), // child module; the key comes in through a module variable
        ],
    );
    assert!(finding(&f, "PartnerBucket")
        .message
        .ends_with("(when condition InChina is true)"));
}

#[test]
fn sg_no_public_admin_ports() {
    let f = scan("sg-no-public-admin-ports");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("WindowsSecurityGroup", "fail", 11), // IpProtocol "6" (TCP by number) to 3389
            ("JumpHostSecurityGroup", "pass", 15), // 22 from a security group, ICMPv6 (58) from ::/0
            ("LegacyRangeSecurityGroup", "fail", 32), // ports "20"-"25" as strings
            ("AnyProtocolIngress", "fail", 41),    // standalone ingress, protocol -1 from ::/0
            ("PartnerSshIngress", "pass", 44),     // standalone ingress, 22 from a partner network
            // cfn.yaml
            ("WebSecurityGroup", "pass", 16), // 443 and 80 from the internet
            ("InternalSshSecurityGroup", "pass", 31), // 22 from 10.0.0.0/8
            ("OpenSshSecurityGroup", "fail", 55), // the second rule: 22 from 0.0.0.0/0
            ("WideOpenSecurityGroup", "fail", 66), // 0-65535 from 0.0.0.0/0
            ("AllTrafficSecurityGroup", "fail", 75), // protocol "-1" from 0.0.0.0/0
            ("RdpSecurityGroup", "fail", 86), // 3389 from ::/0
            ("PingSecurityGroup", "pass", 88), // ICMP from anywhere
            ("OfficeSecurityGroup", "unknown", 108), // CIDR from a parameter without default
            ("DefaultedSshSecurityGroup", "fail", 119), // CIDR from a parameter whose default is 0.0.0.0/0
            ("BastionSecurityGroup", "pass", 121),      // no inline rules
            ("BastionSshIngress", "fail", 134), // standalone AWS::EC2::SecurityGroupIngress, 22 from 0.0.0.0/0
            ("BastionHttpsIngress", "pass", 136),
            // plan.json
            ("aws_security_group.all_open", "fail", 36), // protocol "-1": the 0.0.0.0/0 item of ingress (not egress)
            ("aws_security_group.bastion", "fail", 108), // the second CIDR of the rule
            ("aws_security_group.internal", "pass", 152), // all traffic from 10.0.0.0/8
            ("aws_security_group.ping", "pass", 223),    // ICMP from anywhere
            ("aws_security_group.web", "pass", 294),
            ("aws_security_group_rule.https", "pass", 417),
            ("aws_security_group_rule.rdp_v6", "fail", 455), // 3389 from ::/0
            ("aws_vpc_security_group_ingress_rule.all_v6", "fail", 479), // ip_protocol -1 from ::/0
            ("aws_vpc_security_group_ingress_rule.ssh", "fail", 498), // 22 from 0.0.0.0/0
            ("aws_vpc_security_group_ingress_rule.vpn_ssh", "pass", 511),
            ("module.eks.aws_security_group.node", "pass", 535), // child module: 22 from a security group only
        ],
    );
    assert!(
        absent(&f, "aws_security_group_rule.egress_all"),
        "egress rules are not judged"
    );
}

#[test]
fn sns_topic_encryption() {
    let f = scan("sns-topic-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("AuditTopic", "pass", 8),
            ("SharedKeyTopic", "unknown", 17), // `Fn::ImportValue`
            ("StatusTopic", "fail", 22),       // no KmsMasterKeyId: the Properties line
            // cfn.yaml
            ("OrderEventsTopic", "pass", 18), // `!Ref` to a key of the template
            ("BillingTopic", "pass", 24),
            ("DeployNotificationsTopic", "fail", 31),
            ("EmptyKeyTopic", "fail", 37),   // KmsMasterKeyId: ""
            ("AlertsTopic", "unknown", 42),  // `!Ref` to a parameter without default
            ("ReplicatedTopic", "fail", 47), // undecidable `!If` with AWS::NoValue
            // plan.json
            ("aws_sns_topic.alarms", "pass", 26),
            ("aws_sns_topic.deployments", "fail", 62),
            ("aws_sns_topic.orders", "pass", 70), // kms_master_key_id = aws_kms_key.sns.id (known after apply)
            ("module.billing.aws_sns_topic.this", "fail", 109), // child module, kms_master_key_id ""
        ],
    );
    assert!(finding(&f, "ReplicatedTopic")
        .message
        .ends_with("(when condition InPrimaryRegion is false)"));
}

#[test]
fn sqs_queue_encryption() {
    let f = scan("sqs-queue-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("OrdersQueue", "pass", 8),
            ("OrdersDeadLetterQueue", "pass", 20), // no settings: SSE-SQS, the default since 2022
            ("EventsQueue", "pass", 27),           // SqsManagedSseEnabled: "true"
            // cfn.yaml
            ("IngestQueue", "pass", 9), // SqsManagedSseEnabled: true
            ("PaymentsQueue", "pass", 16),
            ("ThumbnailQueue", "pass", 22), // no settings: SSE-SQS by default
            ("LegacyQueue", "fail", 31),    // SqsManagedSseEnabled: false
            ("PartnerQueue", "pass", 33),   // `!Ref` to a parameter: some key is named
            // plan.json
            ("aws_sqs_queue.ingest", "pass", 26),
            ("aws_sqs_queue.legacy", "fail", 64),
            ("aws_sqs_queue.payments", "pass", 72), // kms_master_key_id = aws_kms_key.sqs.arn
            ("aws_sqs_queue.thumbnails", "pass", 93), // neither argument configured: SSE-SQS by default
            ("module.worker.aws_sqs_queue.dlq", "pass", 119),
        ],
    );
}

// ---- in-transit, certificate, secret and edge-protection policies (issue 14) ----

#[test]
fn redshift_require_ssl() {
    let f = scan("redshift-require-ssl");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("EventsCluster", "pass", 15), // require_ssl "TRUE"
            ("AdhocCluster", "fail", 46),  // a custom group without require_ssl
            // cfn.yaml
            ("AnalyticsCluster", "pass", 21),
            ("ReportingCluster", "fail", 35), // no ClusterParameterGroupName: the default group
            ("StagingCluster", "fail", 62),   // require_ssl "false"
            ("LegacyCluster", "fail", 72),    // default.redshift-1.0
            ("SharedCluster", "unknown", 82), // `!Ref` to a parameter without default
            ("PartnerCluster", "unknown", 84), // a group defined outside the template
            ("FinanceCluster", "pass", 103),  // require_ssl as a YAML boolean
            // plan.json
            ("aws_redshift_cluster.warehouse", "pass", 33),
            ("aws_redshift_cluster.scratch", "fail", 62), // unset: the provider default group
            ("aws_redshift_cluster.audit", "fail", 94),
            ("aws_redshift_cluster.partner", "unknown", 101),
            ("module.bi.aws_redshift_cluster.this", "fail", 165),
        ],
    );
    assert_eq!(
        finding(&f, "PartnerCluster").message,
        "cannot be decided: the cluster parameter group is not defined in this template, so its require_ssl cannot be read"
    );
}

#[test]
fn rds_force_ssl() {
    let f = scan("rds-force-ssl");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("InventoryDatabase", "fail", 25), // postgres16 group with rds.force_ssl "0"
            ("LedgerCluster", "fail", 40),     // Multi-AZ DB cluster on default.mysql8.0
            // cfn.yaml
            ("OrdersDatabase", "pass", 14), // PostgreSQL 16: the default group forces TLS
            ("LegacyPostgres", "fail", 30), // PostgreSQL 14 on the default group
            ("ReportingDatabase", "pass", 46), // postgres15 group that leaves rds.force_ssl at 1
            ("AnalyticsDatabase", "pass", 66), // postgres14 group with rds.force_ssl 1
            ("ShopDatabase", "pass", 87),   // MySQL with require_secure_transport ON
            ("WikiDatabase", "fail", 102),  // MariaDB on the default group
            ("CrmDatabase", "fail", 128),   // SQL Server with rds.force_ssl "0"
            ("EventsCluster", "pass", 138), // Aurora PostgreSQL cluster group with rds.force_ssl 1
            ("SessionsCluster", "fail", 158), // Aurora MySQL on the default cluster group
            ("ExternalDatabase", "unknown", 173), // `!Ref` to a parameter without default
            ("PartnerDatabase", "unknown", 175), // a group defined outside the template
            ("LegacyPostgresReplica", "fail", 203), // a replica of PostgreSQL 14, on the default group
            ("OrdersReplica", "pass", 206),         // a replica of PostgreSQL 16
            ("ReportingMysql", "fail", 229), // a MySQL group with require_secure_transport OFF
            ("InventoryCluster", "pass", 239), // Aurora MySQL group with require_secure_transport ON
            ("CacheCluster", "fail", 263),     // ... and OFF
            ("AnalyticsCluster", "fail", 281), // Aurora PostgreSQL group without rds.force_ssl
            ("SharedCluster", "unknown", 283), // a cluster group defined outside the template
            // plan.json
            ("aws_db_instance.orders", "pass", 30),
            ("aws_db_instance.catalog", "pass", 54), // postgres, version and group unset: the latest default forces TLS
            ("aws_db_instance.shop", "fail", 84),
            ("aws_db_instance.billing", "fail", 145), // require_secure_transport OFF
            ("aws_rds_cluster.events", "pass", 172),
            ("aws_db_instance.partner", "unknown", 192), // a group the plan does not define
            ("aws_rds_cluster.cache", "fail", 253),
            ("aws_rds_cluster.ledger", "pass", 280),
            ("aws_rds_cluster.analytics", "fail", 337),
            ("aws_rds_cluster.shared", "unknown", 342),
            ("module.sessions.aws_rds_cluster.this", "fail", 381),
            // default-on.yaml: default groups that force TLS by version
            ("Mariadb118", "pass", 5), // MariaDB 11.8+: require_secure_transport ON
            ("Mariadb114", "fail", 17), // MariaDB 11.4: OFF
            ("Mysql97", "pass", 23),   // MySQL 9.7+: ON
            ("Mysql84", "fail", 35),   // MySQL 8.4: OFF
            ("InheritsOn", "pass", 42), // a mariadb11.8 group that leaves it alone
            ("TurnedOff", "fail", 66), // a mariadb11.8 group that sets OFF
        ],
    );
    assert!(
        absent(&f, "EventsWriter") && absent(&f, "ErpDatabase"),
        "cluster members and Oracle are not judged"
    );
}

#[test]
fn sqs_secure_transport() {
    let f = scan("sqs-secure-transport");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("PaymentsQueue", "pass", 5), // Bool aws:SecureTransport false (a boolean)
            ("RefundsQueue", "fail", 31), // only an Allow with SecureTransport true: HTTP is not denied
            // cfn.yaml
            ("OrdersQueue", "pass", 5),
            ("EventsQueue", "fail", 28),        // a policy without a Deny
            ("NotificationsQueue", "fail", 51), // no policy at all
            ("BillingQueue", "pass", 56),       // one policy for two queues
            ("BillingDeadLetterQueue", "pass", 64), // BoolIfExists with a list
            ("AuditQueue", "unknown", 100),     // the policy document is imported
            ("ReportsQueue", "fail", 103),      // Deny for one role only
            ("InvoicesQueue", "fail", 121),     // Deny of sqs:SendMessage only
            ("ShipmentsQueue", "fail", 139),    // its Deny names another queue
            ("ReturnsQueue", "pass", 157),      // Principal {AWS: ["*"]}, Action "*", Resource "*"
            // plan.json
            ("aws_sqs_queue.orders", "pass", 8), // aws_sqs_queue_policy naming the queue's id
            ("aws_sqs_queue.legacy", "pass", 38), // inline `policy`
            ("aws_sqs_queue.jobs", "fail", 57),
            ("aws_sqs_queue.audit", "unknown", 99), // the policy is computed at apply time
            ("module.worker.aws_sqs_queue.dlq", "fail", 120),
        ],
    );
}

#[test]
fn opensearch_encryption() {
    let f = scan("opensearch-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("CatalogSearch", "fail", 13), // no EncryptionAtRestOptions: the Properties line
            ("ProductSearch", "fail", 29), // EnforceHTTPS false on one branch of an undecidable `Fn::If`
            // cfn.yaml
            ("SearchDomain", "pass", 10),
            ("LogsDomain", "fail", 34),
            ("MetricsDomain", "fail", 43), // no node-to-node encryption
            ("PublicDomain", "fail", 60),  // EnforceHTTPS false
            ("DefaultTlsDomain", "fail", 70), // no TLSSecurityPolicy: the TLS 1.0 default
            ("OldClientsDomain", "fail", 83), // Policy-Min-TLS-1-0-2019-07
            ("ConfigurableDomain", "unknown", 90), // `!Ref` to a parameter without default
            ("LegacyElasticsearch", "pass", 97), // AWS::Elasticsearch::Domain
            // plan.json
            ("aws_opensearch_domain.search", "pass", 8),
            ("aws_opensearch_domain.logs", "fail", 81),
            ("aws_opensearch_domain.metrics", "fail", 108), // domain_endpoint_options not configured
            ("aws_opensearch_domain.traces", "fail", 178),  // tls_security_policy not configured
            ("aws_elasticsearch_domain.legacy", "fail", 228),
            ("aws_opensearch_domain.audit", "fail", 266), // node_to_node_encryption disabled
            ("module.app.aws_opensearch_domain.this", "pass", 286),
        ],
    );
    assert!(finding(&f, "ProductSearch")
        .message
        .ends_with("(when condition IsProd is false)"));
}

#[test]
fn cloudfront_origin_https() {
    let f = scan("cloudfront-origin-https");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("DocsDistribution", "fail", 24), // the second of two custom origins is http-only
            ("StatusDistribution", "pass", 36),
            // cfn.yaml
            ("WebDistribution", "pass", 13), // a custom origin (https-only, TLSv1.2) and an S3 origin
            ("PlainDistribution", "fail", 43), // http-only
            ("MatchViewerDistribution", "fail", 58), // match-viewer
            ("DefaultProtocolsDistribution", "fail", 73), // no OriginSSLProtocols: TLSv1 and SSLv3
            ("OldProtocolsDistribution", "fail", 91), // TLSv1.1 listed
            ("ConfigurableDistribution", "unknown", 107), // `!Ref` to a parameter without default
            ("AssetsDistribution", "pass", 115), // S3 origins only
            ("LegacyDistribution", "fail", 138), // the legacy CustomOrigin property
            ("LegacyTlsDistribution", "fail", 153), // ... allowing TLSv1
            // plan.json
            ("aws_cloudfront_distribution.site", "pass", 8),
            ("aws_cloudfront_distribution.api", "fail", 117),
            ("aws_cloudfront_distribution.legacy", "fail", 201),
            ("aws_cloudfront_distribution.assets", "pass", 255),
            ("module.media.aws_cloudfront_distribution.this", "fail", 370),
        ],
    );
    assert_eq!(
        finding(&f, "DocsDistribution").message,
        "distribution DocsDistribution reaches origin search with OriginProtocolPolicy http-only, so requests to it can travel in plain HTTP"
    );
}

#[test]
fn acm_certificate_dns_validation() {
    let f = scan("acm-certificate-dns-validation");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("PortalCertificate", "fail", 9), // "email", in lower case
            ("PortalWildcardCertificate", "pass", 12),
            // cfn.yaml
            ("ApiCertificate", "pass", 12),
            ("MarketingCertificate", "fail", 29),
            ("StatusCertificate", "fail", 36), // no ValidationMethod: CloudFormation defaults to email
            ("ConfigurableCertificate", "unknown", 49), // `!Ref` to a parameter without default
            ("EdgeCertificate", "pass", 51),   // HTTP validation renews unattended too
            // plan.json
            ("aws_acm_certificate.api", "pass", 8),
            ("aws_acm_certificate.legacy", "fail", 49),
            ("aws_acm_certificate.imported", "fail", 69), // ACM never renews imported certificates
            ("module.edge.aws_acm_certificate.this", "pass", 103),
        ],
    );
    assert!(
        absent(&f, "InternalCertificate") && absent(&f, "aws_acm_certificate.internal"),
        "private certificates need no validation"
    );
}

#[test]
fn listener_uses_acm_certificate() {
    let f = scan("listener-uses-acm-certificate");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("IntranetClassic", "pass", 5),
            ("IntranetListener", "fail", 29), // an ACM certificate and an IAM one
            // cfn.yaml
            ("HttpsListener", "pass", 35), // `!Ref` to an ACM certificate of the template
            ("LegacyListener", "fail", 56), // `!GetAtt` of an AWS::IAM::ServerCertificate
            ("MqttListener", "fail", 69),  // TLS listener with an IAM ARN
            ("ApiListener", "pass", 74),   // `!Sub` ACM ARN: the literal parts decide
            ("PartnerListener", "unknown", 95), // `!Ref` to a parameter without default
            ("ExtraCertificates", "fail", 118), // AWS::ElasticLoadBalancingV2::ListenerCertificate
            ("ClassicLoadBalancer", "fail", 131), // Classic HTTPS listener
            ("IamDistribution", "fail", 150), // IamCertificateId
            ("AcmDistribution", "pass", 154),
            // plan.json
            ("aws_lb_listener.https", "pass", 34), // via aws_acm_certificate_validation
            ("aws_lb_listener.legacy", "fail", 74),
            ("aws_lb_listener_certificate.old_brand", "fail", 123), // aws_iam_server_certificate.old.arn
            ("aws_elb.classic", "pass", 127),
            ("aws_cloudfront_distribution.cdn", "fail", 219),
            ("module.api.aws_lb_listener.this", "pass", 233), // an ACM ARN read from a data source
        ],
    );
    assert!(
        absent(&f, "HttpListener") && absent(&f, "aws_lb_listener.http"),
        "plain HTTP listeners have no certificate"
    );
}

#[test]
fn vpc_endpoints_for_s3_dynamodb() {
    let f = scan("vpc-endpoints-for-s3-dynamodb");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("LegacyVpc", "fail", 5), // a NAT-routed private subnet, no endpoint
            ("ZonalVpc", "fail", 17), // the S3 gateway endpoint is in one of two private route tables
            // cfn.yaml
            ("AppVpc", "pass", 11), // both gateway endpoints (`!Sub` and `!Join` service names)
            ("DataVpc", "fail", 68), // S3 only
            ("MirrorVpc", "unknown", 158), // the endpoint's service is a parameter without default
            ("StreamVpc", "fail", 166), // the DynamoDB gateway endpoint is in no route table
            // plan.json
            ("aws_vpc.main", "pass", 8), // route_table_ids, and an aws_vpc_endpoint_route_table_association
            ("aws_vpc.batch", "fail", 135), // an aws_route to the NAT gateway, no endpoints
            ("aws_vpc.jobs", "fail", 273), // S3 only
            ("aws_vpc.stream", "fail", 374), // the DynamoDB endpoint is in no route table
            ("module.network.aws_vpc.this", "fail", 495), // the S3 endpoint is in no route table
        ],
    );
    assert!(
        absent(&f, "PublicVpc") && absent(&f, "aws_vpc.edge"),
        "VPCs without NAT-routed subnets are not judged"
    );
}

#[test]
fn lambda_env_encryption() {
    let f = scan("lambda-env-encryption");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("InvoiceFunction", "fail", 12), // KmsKeyArn ""
            ("LedgerFunction", "pass", 16),  // a customer key's ARN
            // cfn.yaml
            ("ApiFunction", "pass", 36), // `!GetAtt` of a key of the template
            ("WorkerFunction", "fail", 53), // no KmsKeyArn: the Properties line
            ("ManagedKeyFunction", "fail", 84), // `!Sub ...:alias/aws/lambda`
            ("ExportFunction", "unknown", 104), // `!Ref` to a parameter without default
            ("NotifyFunction", "fail", 111), // AWS::Serverless::Function
            // plan.json
            ("aws_lambda_function.api", "pass", 26), // kms_key_arn = aws_kms_key.lambda.arn
            ("aws_lambda_function.worker", "fail", 85),
            ("module.etl.aws_lambda_function.this", "fail", 123), // the alias/aws/lambda ARN
        ],
    );
    for id in [
        "HealthFunction",
        "EmptyEnvironmentFunction",
        "aws_lambda_function.cron",
    ] {
        assert!(absent(&f, id), "{id} has no environment variables");
    }
    assert_eq!(
        finding(&f, "ManagedKeyFunction").message,
        "function ManagedKeyFunction encrypts its environment variables with an AWS managed key (arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/lambda)"
    );
}

#[test]
fn ebs_snapshot_copy_encrypted() {
    let f = scan("ebs-snapshot-copy-encrypted");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("LedgerRestore", "pass", 5), // Encrypted "true"
            ("LedgerArchiveRestore", "fail", 20),
            // cfn.yaml
            ("RestoredDataVolume", "pass", 13),
            ("RestoredLogsVolume", "fail", 24), // no Encrypted: the Properties line
            ("RestoredScratchVolume", "fail", 34),
            ("ConfigurableRestore", "unknown", 49), // `!Ref` to a parameter without default
            // plan.json
            ("aws_ebs_volume.restored", "pass", 8),
            ("aws_ebs_volume.data", "fail", 33), // `encrypted` not configured
            ("aws_ebs_snapshot_copy.dr", "pass", 63),
            ("aws_ebs_snapshot_copy.archive", "fail", 88),
            ("aws_ami_copy.golden", "fail", 110),
            ("module.backup.aws_ebs_snapshot_copy.this", "pass", 121),
        ],
    );
    assert!(
        absent(&f, "EmptyVolume") && absent(&f, "aws_ebs_volume.scratch"),
        "volumes not made from a snapshot are ebs-volume-encryption's"
    );
}

#[test]
fn shield_advanced_protection() {
    let f = scan("shield-advanced-protection");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("StoreDistribution", "pass", 5), // ResourceArn is a `Fn::Join` naming the distribution
            ("MediaDistribution", "fail", 22),
            // cfn.yaml
            ("WebLoadBalancer", "pass", 13),
            ("AdminLoadBalancer", "fail", 25),
            ("PartnerLoadBalancer", "unknown", 46), // Scheme from a parameter without default
            ("SiteDistribution", "pass", 49),       // `!Sub ...:distribution/${SiteDistribution}`
            ("DocsDistribution", "fail", 71), // the only CloudFront protection names another distribution
            // plan.json
            ("aws_lb.web", "pass", 8),
            ("aws_lb.api", "fail", 43), // `internal` not configured: internet-facing
            ("aws_cloudfront_distribution.cdn", "pass", 86),
            ("module.site.aws_cloudfront_distribution.this", "fail", 167),
        ],
    );
    for id in [
        "InternalLoadBalancer",
        "MqttLoadBalancer",
        "aws_lb.internal",
    ] {
        assert!(absent(&f, id), "{id} is not an internet-facing ALB");
    }
    assert!(f
        .iter()
        .all(|x| x.severity == deadbolt::compile::ir::Severity::Info));
}

#[test]
fn no_plaintext_secrets() {
    let f = scan("no-plaintext-secrets");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("SlackSecret", "fail", 13), // a password inside a literal SecretString JSON
            ("GeneratedSecret", "pass", 16), // GenerateSecretString
            ("${Channel}Worker", "unknown", 32), // Fn::ForEach over a parameter without default
            // cfn.yaml
            ("ApiFunction", "pass", 21), // NoEcho parameter, an ARN, names about secrets
            ("PaymentsFunction", "fail", 49), // Stripe live key
            ("WebhookFunction", "fail", 62), // a token from a parameter without NoEcho
            ("ReportsFunction", "pass", 64), // dynamic references
            ("GeocoderFunction", "fail", 85), // an API key in inline code
            ("AppTaskDefinition", "fail", 107), // ECS Environment {Name, Value}
            ("WorkerTaskDefinition", "pass", 112), // ECS Secrets only
            ("DatabasePasswordParameter", "fail", 129), // SSM String named as a password
            ("DatabaseHostParameter", "pass", 131),
            ("BastionHost", "fail", 143),  // `mysql -p...` in user data
            ("AppServer", "pass", 151),    // user data that reads Secrets Manager
            ("ReportServer", "fail", 170), // cfn-init file content
            ("WorkerLaunchTemplate", "fail", 185), // a private key written by user data
            ("BuildProject", "fail", 213), // CodeBuild PLAINTEXT variable (the PARAMETER_STORE one passes)
            ("OrdersDatabase", "pass", 218), // MasterUserPassword from a NoEcho parameter
            ("Directory", "fail", 233),    // the NoEcho parameter's Default is in the template
            ("DeployerSecretParameter", "fail", 248), // `!GetAtt Key.SecretAccessKey`
            // plan.json
            ("aws_lambda_function.api", "fail", 26),
            ("aws_lambda_function.worker", "pass", 36),
            ("aws_ecs_task_definition.app", "fail", 72), // container_definitions JSON
            ("aws_ecs_task_definition.worker", "pass", 84),
            ("aws_ssm_parameter.slack", "fail", 137), // Slack webhook in a String parameter
            ("aws_ssm_parameter.flags", "pass", 144),
            ("aws_instance.bastion", "fail", 173), // credentials file in user_data_base64
            ("aws_launch_template.web", "pass", 180),
            ("aws_codebuild_project.orders", "fail", 222),
            ("module.ci.aws_ssm_parameter.deployer_secret", "fail", 269), // aws_iam_access_key.secret
        ],
    );
    assert!(
        absent(&f, "aws_ssm_parameter.db_password"),
        "SecureString parameters are encrypted"
    );
    assert_eq!(
        finding(&f, "BastionHost").message,
        "BastionHost has a secret in plain text at UserData (line 4): password (**************); 1 found in all"
    );
    assert_eq!(
        finding(&f, "aws_instance.bastion").message,
        "aws_instance.bastion has a secret in plain text at user_data_base64 (base64, line 5): AWS access key ID (AKIA****************); 2 found in all"
    );
    // No message shows a secret of the fixtures.
    for secret in [
        "S3cret-Root-99",
        "sk_live_51Hq",
        "Orders-Db-2024",
        "Adm1n-Passw0rd",
        "Rep0rts-Reader",
        "npm_q7Rk",
        "AKIAZ3MHQWERTYUIOP7Q",
        "Slack-Notif",
    ] {
        assert!(
            f.iter().all(|x| !x.message.contains(secret)),
            "{secret} leaked into a message"
        );
    }
}

// ---- Inspector-style policies (issue 11) ----

/// The results of a policy that gives one result per item (`each`): (resource,
/// key, status, line, severity), in output order.
fn keyed(findings: &[Finding]) -> Vec<(String, String, String, u32, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f.resource.clone(),
                f.key.clone().unwrap_or_default(),
                f.status.as_str().to_string(),
                f.line,
                f.severity.as_str().to_string(),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, &str, &str, u32, &str)]) -> Vec<(String, String, String, u32, String)> {
    rows.iter()
        .map(|(r, k, s, l, v)| {
            (
                r.to_string(),
                k.to_string(),
                s.to_string(),
                *l,
                v.to_string(),
            )
        })
        .collect()
}

#[test]
fn ec2_internet_reachable_port() {
    let f = scan("ec2-internet-reachable-port");
    insta::assert_snapshot!(render(&f));
    assert_eq!(
        keyed(&f),
        owned(&[
            // cfn.json: SSH over IPv6 only (no public IPv4 in that subnet); a network ACL that
            // denies 22 before it allows TCP leaves 8443; one that drops the replies (only 443
            // out) closes everything; a subnet without an internet route.
            ("Ipv6Host", "TCP/IPv6/22", "fail", 302, "high"),
            ("FilteredHost", "TCP/IPv4/8443", "fail", 317, "info"),
            ("StatelessHost", "", "pass", 331, "medium"),
            ("IsolatedHost", "", "pass", 345, "medium"),
            // cfn.yaml
            ("WebServer", "TCP/IPv4/443", "fail", 103, "info"),
            ("WebServer", "TCP/IPv4/80", "fail", 103, "info"),
            ("LegacyDb", "TCP/IPv4/22", "fail", 106, "high"),
            ("LegacyDb", "TCP/IPv4/3306", "fail", 106, "high"),
            ("Bastion", "TCP/IPv4/22", "unknown", 109, "high"), // AdminCidr has no default
            ("OfficeDesktop", "TCP/IPv4/3389", "fail", 112, "high"), // Fn::FindInMap: a public /24
            ("Reporting", "TCP/IPv4/5432", "unknown", 115, "high"), // Fn::If on an undecided condition
            (
                "AppServer",
                "TCP/IPv4/443 via Alb/HttpsListener",
                "fail",
                118,
                "info"
            ),
            // plan.json: a new deployment, every id known only after apply
            ("aws_instance.web", "TCP/IPv4/22", "fail", 203, "high"),
            ("aws_instance.web", "TCP/IPv4/443", "fail", 203, "info"),
            ("aws_instance.db", "", "pass", 216, "medium"),
            (
                "aws_instance.reporting",
                "TCP/IPv4/5432",
                "fail",
                229,
                "high"
            ),
            ("aws_instance.ops", "TCP/IPv4/22", "unknown", 242, "high"),
        ])
    );
    let reporting = f.iter().find(|x| x.resource == "Reporting").unwrap();
    assert!(
        reporting
            .message
            .ends_with("condition IsProd cannot be decided (--param Environment=VALUE) (line 86)"),
        "{}",
        reporting.message
    );
    // Each failing result carries its Inspector finding; passes carry none.
    let app = f.iter().find(|x| x.resource == "AppServer").unwrap();
    let finding = app.finding.as_deref().expect("an Inspector finding");
    assert_eq!(finding["type"], "NETWORK_REACHABILITY");
    assert_eq!(
        finding["networkReachabilityDetails"]["openPortRange"],
        serde_json::json!({"begin": 443, "end": 443})
    );
    assert_eq!(
        finding["networkReachabilityDetails"]["targetPortRange"],
        serde_json::json!({"begin": 8080, "end": 8080})
    );
    let steps: Vec<&str> = finding["networkReachabilityDetails"]["networkPath"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["componentId"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "Igw",
            "PublicRoutes",
            "Vpc.default-network-acl",
            "LbSg",
            "Alb",
            "HttpsListener",
            "AppTargets",
            "AppSg",
            "AppServer.NetworkInterfaces[0]",
            "AppServer"
        ]
    );
    assert!(f
        .iter()
        .filter(|x| x.status == deadbolt::result::Status::Pass)
        .all(|x| x.finding.is_none()));
    let bastion = f.iter().find(|x| x.resource == "Bastion").unwrap();
    assert_eq!(bastion.finding.as_deref().unwrap()["status"], "UNKNOWN");
}

#[test]
fn ec2_internet_reachable_port_with_parameters() {
    // --param decides the parameter and the condition (through the evaluator's Fn::If).
    let checked = deadbolt::scan::load_policies(&[]).unwrap();
    let policies: Vec<_> = checked
        .policies
        .into_iter()
        .filter(|p| p.id == "ec2-internet-reachable-port")
        .collect();
    let dir = repo().join("fixtures/catalog/ec2-internet-reachable-port/cfn.yaml");
    let loaded = deadbolt::load::load_inputs(&[dir]);
    let run = |env: &str| {
        let mut params = Params::default();
        params.values.insert("Environment".into(), env.into());
        params
            .values
            .insert("AdminCidr".into(), "203.0.113.10/32".into());
        let f = evaluate(&policies, &loaded.templates, &params, None);
        keyed(
            &f.into_iter()
                .filter(|x| x.resource == "Reporting" || x.resource == "Bastion")
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        run("dev"),
        owned(&[
            ("Bastion", "TCP/IPv4/22", "fail", 109, "high"),
            ("Reporting", "TCP/IPv4/5432", "fail", 115, "high"),
        ])
    );
    assert_eq!(
        run("prod"),
        owned(&[
            ("Bastion", "TCP/IPv4/22", "fail", 109, "high"),
            ("Reporting", "", "pass", 115, "medium"),
        ])
    );
}

#[test]
fn db_port_not_internet_reachable() {
    let f = scan("db-port-not-internet-reachable");
    insta::assert_snapshot!(render(&f));
    expect_only(
        &f,
        &[
            // cfn.json
            ("MysqlHost", "fail", 99),      // an Elastic IP makes it public
            ("MemcachedHost", "pass", 123), // no public address
            ("MemcachedPublic", "fail", 138), // UDP 11211, AssociatePublicIpAddress
            // cfn.yaml
            ("MongoNode", "fail", 82),    // 27017-27019
            ("SqlServer", "pass", 85),    // the ACL denies 1433 first; 443 is no database
            ("InternalDb", "pass", 88),   // 5432 from the VPC only
            ("SearchNode", "fail", 91),   // an NLB's 443 forwards to Elasticsearch's 9200
            ("CacheNode", "unknown", 94), // Fn::ImportValue source
            // plan.json
            ("aws_instance.cache", "fail", 176),
            ("aws_instance.warehouse", "pass", 189), // private subnet
            ("aws_instance.search", "unknown", 202), // a subnet from another stack
        ],
    );
    assert_eq!(
        finding(&f, "MongoNode").message,
        "MongoNode exposes a database to the internet: TCP ports 27017-27019 (MongoDB) over IPv4, by Igw > PublicRoutes > DataAcl > MongoSg > MongoNode.NetworkInterfaces[0] > MongoNode"
    );
}

/// Runs `package-vulnerability` over inventories (`--inventory` arguments,
/// relative to the repository) and the fixture advisories (when `advisories`).
fn scan_packages(
    inventories: &[&str],
    advisories: bool,
) -> (Vec<Finding>, Vec<deadbolt::load::LoadError>) {
    use deadbolt::inspector::packages::{scan::PackageScan, Advisories, InventoryArg};
    let checked = deadbolt::scan::load_policies(&[]).unwrap();
    let policies: Vec<_> = checked
        .policies
        .into_iter()
        .filter(|p| p.id == "package-vulnerability")
        .collect();
    let fixtures = repo().join("fixtures/catalog/package-vulnerability");
    let invs = inventories
        .iter()
        .map(|spec| {
            let mut arg = InventoryArg::parse(spec).unwrap();
            arg.path = repo().join(&arg.path);
            arg.read().unwrap()
        })
        .collect();
    let adv = advisories.then(|| Advisories::load(&fixtures.join("osv")));
    let scan = PackageScan::new(invs, adv);
    let errors = scan.errors().cloned().collect();
    let mut params = Params::default();
    params.engines.packages = Some(std::sync::Arc::new(scan));
    let mut f = deadbolt::scan::evaluate_inventories(&policies, &params).findings;
    f.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (f, errors)
}

#[test]
fn package_vulnerability() {
    let (f, errors) = scan_packages(
        &[
            "fixtures/catalog/package-vulnerability/inventory.json",
            "Bastion=fixtures/catalog/package-vulnerability/bastion-dpkg.txt",
            "Warehouse@almalinux:9=fixtures/catalog/package-vulnerability/warehouse-rpm.txt",
        ],
        true,
    );
    assert!(errors.is_empty(), "{errors:?}");
    insta::assert_snapshot!(render(&f));
    let image = "registry.example.com/build@sha256:5f0c2e1b3a9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e";
    assert_eq!(
        keyed(&f),
        owned(&[
            (
                "Bastion",
                "DSA-5514-1 libc6 2.36-9+deb12u1",
                "fail",
                2,
                "medium"
            ),
            (
                "Bastion",
                "DSA-5514-1 libc-bin 2.36-9+deb12u1",
                "fail",
                3,
                "medium"
            ),
            // USN-6119-1's CVSS vectors: 5.9 and 6.5, so medium; libssl3 through the
            // binaries the record lists.
            (
                "WebServer",
                "USN-6119-1 openssl 3.0.2-0ubuntu1.9",
                "fail",
                3,
                "medium"
            ),
            (
                "WebServer",
                "USN-6119-1 libssl3 3.0.2-0ubuntu1.9",
                "fail",
                4,
                "medium"
            ),
            (
                "WebServer",
                "GHSA-35jh-r3h4-6jhm lodash 4.17.20 /srv/app/node_modules/lodash/package.json",
                "fail",
                5,
                "high",
            ),
            // "Moderate: openssl security and bug fix update": Red Hat's rating.
            (
                "ReportsDb",
                "ALSA-2023:3722 openssl-libs 3.0.7-13.el9",
                "fail",
                9,
                "medium"
            ),
            (
                image,
                "DSA-5514-1 libc6 2.36-9+deb12u1",
                "fail",
                13,
                "medium"
            ),
            (
                image,
                "DSA-5514-1 libc-bin 2.36-9+deb12u1",
                "fail",
                14,
                "medium"
            ),
            ("LegacyHost", "", "pass", 16, "high"),
            (
                "Warehouse",
                "ALSA-2023:3722 openssl-libs 3.0.7-6.el9_2",
                "fail",
                2,
                "medium"
            ),
        ])
    );
    let lodash = f
        .iter()
        .find(|x| x.key.as_deref().is_some_and(|k| k.contains("lodash")))
        .unwrap();
    assert_eq!(
        lodash.message,
        "WebServer: lodash 4.17.20 is affected by CVE-2021-23337 (GHSA-35jh-r3h4-6jhm); upgrade lodash to 4.17.21"
    );
    let finding = lodash.finding.as_deref().unwrap();
    assert_eq!(finding["type"], "PACKAGE_VULNERABILITY");
    assert_eq!(finding["severity"], "HIGH");
    assert_eq!(
        finding["packageVulnerabilityDetails"]["vulnerablePackages"][0],
        serde_json::json!({"name": "lodash", "version": "4.17.20", "fixedInVersion": "4.17.21",
            "packageManager": "NPM", "remediation": "upgrade lodash to 4.17.21",
            "filePath": "/srv/app/node_modules/lodash/package.json"})
    );
    assert_eq!(
        finding["resources"],
        serde_json::json!([{"type": "AWS_EC2_INSTANCE", "id": "WebServer"}])
    );
    let img = f.iter().find(|x| x.resource == image).unwrap();
    assert_eq!(
        img.finding.as_deref().unwrap()["resources"][0]["type"],
        "AWS_ECR_CONTAINER_IMAGE"
    );
}

#[test]
fn package_vulnerability_unknowns() {
    // Without advisories, every entry is unknown (never "0 failed").
    let (f, _) = scan_packages(
        &["fixtures/catalog/package-vulnerability/inventory.json"],
        false,
    );
    assert_eq!(f.len(), 4);
    assert!(f.iter().all(|x| {
        x.status == deadbolt::result::Status::Unknown
        && x.message
            == "cannot be decided: no advisories were given (--advisories DIR of OSV JSON files)"
    }));
    // A version that does not parse, and packages without an OS: unknown, and load errors.
    let d = tempfile::tempdir().unwrap();
    let inv = d.path().join("inventory.json");
    std::fs::write(
        &inv,
        "{\"instances\": [\n  {\"resource\": \"Odd\", \"os\": \"ubuntu:22.04\", \"packages\": [\n    {\"name\": \"openssl\", \"version\": \"ubuntu-3.0\", \"manager\": \"dpkg\"}]},\n  {\"resource\": \"NoOs\", \"packages\": [\n    {\"name\": \"openssl\", \"version\": \"3.0.2-0ubuntu1.9\", \"manager\": \"dpkg\"},\n    {\"name\": \"curl\", \"version\": \"7.81.0-1\", \"manager\": \"dpkg\"}]}]}\n",
    )
    .unwrap();
    let (f, errors) = scan_packages(&[inv.to_str().unwrap()], true);
    assert_eq!(
        keyed(&f),
        owned(&[
            (
                "Odd",
                "USN-6119-1 openssl ubuntu-3.0",
                "unknown",
                3,
                "medium"
            ),
            ("NoOs", "unmatched dpkg", "unknown", 5, "high"),
        ])
    );
    assert!(
        f[0].message
            .contains("\"ubuntu-3.0\" is not a valid Debian version"),
        "{}",
        f[0].message
    );
    assert!(
        f[1].message.contains(
            "2 dpkg packages cannot be matched: the OS of the inventory entry is not known"
        ),
        "{}",
        f[1].message
    );
    let errors: Vec<(u32, String)> = errors
        .iter()
        .map(|e| (e.line(), e.message.clone()))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert!(errors[0]
        .1
        .starts_with("Odd openssl: \"ubuntu-3.0\" is not a valid Debian version"));
    assert_eq!(errors[1].0, 5);
    assert!(
        errors[1]
            .1
            .starts_with("NoOs: the OS of the inventory entry is not known")
            && errors[1].1.ends_with("(2 dpkg packages)"),
        "{}",
        errors[1].1
    );
}
