//! Reuse in the policy language: file-level constants, predicates with
//! parameters, shared files imported by name, quantifier variables in
//! messages, and type groups — each checked and evaluated end to end.

use std::path::PathBuf;
use std::sync::Arc;

use deadbolt::dsl::{check_sources, Checked, PolicySource};
use deadbolt::eval::{evaluate, Params};
use deadbolt::load::load_source;
use deadbolt::result::{Finding, Status};

fn check(policy: &str) -> Checked {
    check_sources(&[PolicySource {
        name: "test.policy".into(),
        text: Arc::from(policy),
    }])
}

fn run(policy: &str, template: &str) -> Vec<String> {
    let checked = check(policy);
    let diags: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert!(diags.is_empty(), "{diags:#?}");
    lines(&evaluate(
        &checked.policies,
        &load_source("t.yaml", template).expect("template loads"),
        &Params::default(),
        None,
    ))
}

/// `policy resource status line:col message` per finding.
fn lines(f: &[Finding]) -> Vec<String> {
    f.iter()
        .map(|f| {
            format!(
                "{} {} {} {}:{} {}",
                f.policy,
                f.resource,
                f.status.as_str(),
                f.line,
                f.column,
                f.message
            )
        })
        .collect()
}

const LAMBDAS: &str = r#"
Resources:
  Old:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.7
  New:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
  Node:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs12.x
"#;

#[test]
fn file_constants_are_seen_by_every_policy_of_the_file() {
    let policy = r#"
let deprecated_runtimes = ["python3.7", "nodejs12.x"]
let python = "python"

policy no-deprecated {
  severity high
  for resource "AWS::Lambda::Function" as f
  require f.Runtime not in deprecated_runtimes
    else "{f.id} runs {f.Runtime}, one of {count(deprecated_runtimes)} deprecated runtimes"
}

policy python-only {
  severity low
  for resource "AWS::Lambda::Function" as f
  when starts_with(f.Runtime, python)
  require f.Runtime != deprecated_runtimes[0]
}
"#;
    assert_eq!(
        run(policy, LAMBDAS),
        [
            "no-deprecated Old fail 6:7 Old runs python3.7, one of 2 deprecated runtimes",
            "python-only Old fail 6:7 python-only: `f.Runtime != deprecated_runtimes[0]` does not hold",
            "no-deprecated New pass 7:3 no-deprecated",
            "python-only New pass 7:3 python-only",
            "no-deprecated Node fail 14:7 Node runs nodejs12.x, one of 2 deprecated runtimes",
        ]
    );
}

#[test]
fn constants_may_use_constants_defined_later_in_the_file() {
    let policy = r#"
let deprecated = [old_python, "nodejs12.x"]
let old_python = "python3.7"

policy no-deprecated {
  severity high
  for resource "AWS::Lambda::Function" as f
  require f.Runtime not in deprecated
}
"#;
    let failed: Vec<String> = run(policy, LAMBDAS)
        .into_iter()
        .filter(|l| l.contains(" fail "))
        .collect();
    assert_eq!(
        failed,
        [
            "no-deprecated Old fail 6:7 no-deprecated: `f.Runtime not in deprecated` does not hold",
            "no-deprecated Node fail 14:7 no-deprecated: `f.Runtime not in deprecated` does not hold",
        ]
    );
}

const POLICIES: &str = r#"
Resources:
  Admin:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: admin
      PolicyDocument:
        Statement:
          - Sid: ReadLogs
            Effect: Allow
            Action: logs:Get*
            Resource: "*"
          - Sid: Everything
            Effect: Allow
            Action: ["*"]
            Resource: "*"
  Scoped:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Sid: DenyAll
            Effect: Deny
            Action: "*"
            Resource: "*"
"#;

#[test]
fn predicates_take_arguments_and_messages_name_the_deciding_item() {
    let policy = r#"
predicate allows_everything(stmt) =
  stmt.Effect == "Allow" and "*" in to_list(stmt.Action) and "*" in to_list(stmt.Resource)

policy iam-wildcards {
  severity high
  for resource "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy" as p
  require none s in to_list(p.PolicyDocument.Statement): allows_everything(s)
    else "{p.id}: statement {s.Sid} allows everything ({allows_everything(s)})"
}
"#;
    assert_eq!(
        run(policy, POLICIES),
        [
            "iam-wildcards Admin fail 16:13 Admin: statement Everything allows everything (true)",
            "iam-wildcards Scoped pass 17:3 iam-wildcards",
        ]
    );
}

#[test]
fn quantifier_variables_in_messages() {
    // `all`: the first item that fails; `any` that fails: every item.
    let policy = r#"
policy sids {
  severity low
  for resource "AWS::IAM::Policy" as p
  let statements = to_list(p.PolicyDocument.Statement)
  require all s in statements: s.Action != "logs:Get*"
    else "first offender {s.Sid}"
  require any s in statements: s.Effect == "Deny"
    else "no Deny among {s.Sid}"
}
"#;
    let admin_only = POLICIES.split("  Scoped:").next().unwrap();
    assert_eq!(
        run(policy, admin_only),
        ["sids Admin fail 11:13 first offender ReadLogs"]
    );
    let fixed = admin_only.replace("logs:Get*", "logs:GetLogEvents");
    assert_eq!(
        run(policy, &fixed),
        ["sids Admin fail 8:9 no Deny among [ReadLogs, Everything]"]
    );
}

#[test]
fn predicates_call_predicates_and_read_constants() {
    let policy = r#"
let admin_ports = [22, 3389]
predicate world(rule) = cidr_is_world(rule.CidrIp)
predicate opens(rule, port) = rule.FromPort <= port and rule.ToPort >= port
predicate open_admin(rule) = world(rule) and any p in admin_ports: opens(rule, p)

policy sg-admin {
  severity high
  for resource "AWS::EC2::SecurityGroup" as g
  require none r in g.SecurityGroupIngress[*]: open_admin(r)
    else "{g.id} opens {r.FromPort}-{r.ToPort} to the world"
}
"#;
    let t = r#"
Resources:
  Open:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: x
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 3000, ToPort: 3400, CidrIp: 0.0.0.0/0}
  Private:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: x
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/8}
"#;
    assert_eq!(
        run(policy, t),
        [
            "sg-admin Open fail 9:45 Open opens 3000-3400 to the world",
            "sg-admin Private pass 10:3 sg-admin",
        ]
    );
}

#[test]
fn a_predicate_parameter_shadows_nothing_of_the_caller() {
    // The body sees its parameters and file-level names only: `g` inside the
    // predicate is an error, not the caller's resource.
    let checked = check(
        r#"
predicate bad(r) = g.GroupName == r
policy p {
  severity low
  for resource "AWS::EC2::SecurityGroup" as g
  require bad("x")
}
"#,
    );
    let d: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert_eq!(
        d,
        ["test.policy:2:20: error[unknown-name]: unknown name `g` (help: names in scope: r)"]
    );
    assert!(
        checked.policies.is_empty(),
        "a rule using a broken predicate is not compiled"
    );
}

#[test]
fn imports_resolve_beside_the_file_and_in_lib() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fixtures/policies/reuse/iam");
    let checked = deadbolt::scan::load_policies(&[dir]).expect("loads");
    let d: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert!(d.is_empty(), "{d:#?}");
    let ids: Vec<&str> = checked.policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["iam-no-admin-statements"]);
    assert_eq!(
        checked.policies[0].blocks[0].types,
        ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]
    );
    let f = evaluate(
        &checked.policies,
        &load_source("t.yaml", POLICIES).unwrap(),
        &Params::default(),
        None,
    );
    assert_eq!(
        lines(&f),
        [
            "iam-no-admin-statements Admin fail 16:13 Admin: statement Everything allows every action on every resource",
            "iam-no-admin-statements Scoped pass 17:3 iam-no-admin-statements",
        ]
    );
    // Loading the whole tree compiles the shared file too (it has no rules)
    // and still resolves the import to it, once.
    let all = deadbolt::scan::load_policies(&[root.join("fixtures/policies/reuse")]).unwrap();
    let d: Vec<String> = all.diagnostics.iter().map(|d| d.short()).collect();
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(all.policies.len(), 1);
}

#[test]
fn predicates_in_detections_read_flow_records() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let plain = r#"
detection scan-plain {
  severity 5.0
  from flowlog as f
  where f.log_status == "OK" and f.protocol in [6, 17] and f.dstport exists
  group by f.srcaddr, f.dstaddr window 60m
  alert when count_distinct(f.dstport) >= 10
}
"#;
    let reused = r#"
let port_protocols = [6, 17]
predicate probes_a_port(r) = r.log_status == "OK" and r.protocol in port_protocols and r.dstport exists

detection scan-reused {
  severity 5.0
  from flowlog as f
  where probes_a_port(f)
  group by f.srcaddr, f.dstaddr window 60m
  alert when count_distinct(f.dstport) >= 10
}
"#;
    let alerts = |text: &str| -> Vec<String> {
        let checked = check(text);
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let paths = [root.join("fixtures/detect/recon-portscan")];
        let out =
            deadbolt::scan::scan_all(&[], &checked.detections, &paths, &Default::default(), None);
        out.findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .map(|f| format!("{} {}:{} {:?}", f.resource, f.file, f.line, f.key))
            .collect()
    };
    let a = alerts(plain);
    assert!(!a.is_empty(), "the fixture has port scans");
    assert_eq!(a, alerts(reused));
}

const DATABASES: &str = r#"
Resources:
  MysqlGood:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: mysql
      DeletionProtection: true
      BackupRetentionPeriod: 7
  MysqlNoBackups:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: mysql
      DeletionProtection: true
      BackupRetentionPeriod: 1
  PostgresUnprotected:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      BackupRetentionPeriod: 1
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties:
      Engine: aurora-mysql
      DeletionProtection: false
  Bucket:
    Type: AWS::S3::Bucket
"#;

#[test]
fn every_block_whose_when_holds_judges_the_resource() {
    let policy = r#"
policy rds-protected {
  severity high
  for resource "AWS::RDS::DBInstance" as db
  require db.DeletionProtection == true else "{db.id} can be deleted"

  for resource "AWS::RDS::DBInstance" as db
  when db.Engine == "mysql"
  require db.BackupRetentionPeriod >= 7 else "{db.id} keeps {db.BackupRetentionPeriod} days of backups"
}

policy oracle-only {
  severity low
  for resource "AWS::RDS::DBInstance" as db
  when db.Engine == "oracle-ee"
  require db.DeletionProtection == true

  for resource "AWS::RDS::DBInstance" as db
  when db.Engine == "oracle-se2"
  require db.DeletionProtection == true
}
"#;
    assert_eq!(
        run(policy, DATABASES),
        [
            "rds-protected MysqlGood pass 3:3 rds-protected",
            "rds-protected MysqlNoBackups fail 14:7 MysqlNoBackups keeps 1 days of backups",
            "rds-protected PostgresUnprotected fail 17:5 PostgresUnprotected can be deleted",
        ]
    );
}

#[test]
fn type_wildcards_and_groups_select_every_matching_type() {
    let policy = r#"
types databases = ["AWS::RDS::DBInstance", "AWS::RDS::DBCluster"]

policy rds-any {
  severity high
  for resource "AWS::RDS::*" as db
  require db.DeletionProtection == true else "{db.id} ({db.resource_type}) can be deleted"
}

policy rds-group {
  severity high
  for resource databases, "AWS::S3::Bucket" as r
  require r.resource_type != "AWS::S3::Bucket"
}
"#;
    let checked = check(policy);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    assert_eq!(
        checked.policies[1].blocks[0].types,
        [
            "AWS::S3::Bucket",
            "AWS::RDS::DBInstance",
            "AWS::RDS::DBCluster"
        ]
    );
    let failed: Vec<String> = run(policy, DATABASES)
        .into_iter()
        .filter(|l| !l.contains(" pass "))
        .collect();
    assert_eq!(
        failed,
        [
            "rds-any PostgresUnprotected fail 17:5 PostgresUnprotected (AWS::RDS::DBInstance) can be deleted",
            "rds-any Cluster fail 24:7 Cluster (AWS::RDS::DBCluster) can be deleted",
            "rds-group Bucket fail 25:3 rds-group: `r.resource_type != \"AWS::S3::Bucket\"` does not hold",
        ]
    );
}

#[test]
fn a_type_in_an_each_block_and_another_block_is_an_error() {
    let checked = check(
        r#"
policy p {
  severity low
  for resource "AWS::EC2::SecurityGroup" as g
  each r in g.SecurityGroupIngress[*]
  require r.CidrIp exists
  for resource "AWS::EC2::SecurityGroup" as g
  require g.GroupDescription exists
}
"#,
    );
    let d: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert_eq!(d, ["test.policy:7:16: error[duplicate-type]: `AWS::EC2::SecurityGroup` is selected by a block with `each` and by another block (help: a block with `each` gives one result per item, which cannot be joined with another block's result; select the type once)"]);
}

#[test]
fn imports_among_given_sources_need_no_disk() {
    // The built-in catalogue is embedded: imports resolve among its files.
    let src = |name: &str, text: &str| PolicySource {
        name: name.into(),
        text: Arc::from(text),
    };
    let checked = check_sources(&[
        src(
            "builtin:policies/lambda/runtimes.policy",
            "import \"runtimes\"\npolicy lambda-runtimes {\n  severity low\n  for resource \"AWS::Lambda::Function\" as f\n  require f.Runtime not in deprecated\n}\n",
        ),
        src(
            "builtin:policies/lib/runtimes.policy",
            "let deprecated = [\"python3.7\"]\n",
        ),
    ]);
    let d: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(checked.policies.len(), 1);
    // A shared file with a syntax error is reported once, and what it would
    // have defined is unknown where it is used.
    let checked = check_sources(&[
        src(
            "builtin:policies/a.policy",
            "import \"broken\"\npolicy a {\n  severity low\n  for resource \"AWS::Lambda::Function\" as f\n  require f.Runtime not in deprecated\n}\n",
        ),
        src("builtin:policies/broken.policy", "let deprecated = [\n"),
    ]);
    let d: Vec<String> = checked.diagnostics.iter().map(|d| d.short()).collect();
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(
        d[0].starts_with("builtin:policies/broken.policy:1:"),
        "{d:#?}"
    );
    assert!(
        d[1].starts_with(
            "builtin:policies/a.policy:5:28: error[unknown-name]: unknown name `deprecated`"
        ),
        "{d:#?}"
    );
}

#[test]
fn a_quantifier_the_condition_never_reached_is_missing_in_the_message() {
    let policy = r#"
policy short-circuit {
  severity low
  for resource "AWS::IAM::Policy" as p
  require p.PolicyName == "other" and all s in to_list(p.PolicyDocument.Statement): s.Effect == "Deny"
    else "{p.id}: name {p.PolicyName}, statement {s.Sid}"
}
"#;
    let admin_only = POLICIES.split("  Scoped:").next().unwrap();
    assert_eq!(
        run(policy, admin_only),
        ["short-circuit Admin fail 6:7 Admin: name admin, statement (missing)"]
    );
}
