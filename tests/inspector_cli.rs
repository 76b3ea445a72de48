//! Inspector-style checks through `deadbolt scan`: inventories and advisories on
//! the command line, bad inputs as load errors (file and line, the rest scanned,
//! exit 2), `--format inspector`, and the language functions on template
//! instances.

mod common;
use common::{run, Run};
use std::path::{Path, PathBuf};

use serde_json::Value;

const FIX: &str = "fixtures/catalog/package-vulnerability";

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("JSON output: {e}\n{}\n{}", r.stdout, r.stderr))
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write fixture");
    p
}

/// (policy, resource, status, line, key) of every result.
fn rows(v: &Value) -> Vec<(String, String, String, u64, String)> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["policy"].as_str().unwrap().to_string(),
                r["resource"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["key"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn row(p: &str, r: &str, s: &str, l: u64, k: &str) -> (String, String, String, u64, String) {
    (p.into(), r.into(), s.into(), l, k.into())
}

/// `file:line: message` of every error in a JSON report, with the file's name only.
fn errors(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "{}:{}: {}",
                Path::new(e["file"].as_str().unwrap())
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                e["line"],
                e["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn an_inventory_alone_is_a_scan() {
    let inv = format!("{FIX}/inventory.json");
    let adv = format!("{FIX}/osv");
    let r = run(&[
        "scan",
        "--inventory",
        &inv,
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(errors(&v), Vec::<String>::new());
    let got: Vec<_> = rows(&v)
        .into_iter()
        .filter(|x| x.1 == "WebServer" || x.1 == "LegacyHost")
        .collect();
    assert_eq!(
        got,
        vec![
            row(
                "package-vulnerability",
                "WebServer",
                "fail",
                3,
                "USN-6119-1 openssl 3.0.2-0ubuntu1.9"
            ),
            row(
                "package-vulnerability",
                "WebServer",
                "fail",
                4,
                "USN-6119-1 libssl3 3.0.2-0ubuntu1.9"
            ),
            row(
                "package-vulnerability",
                "WebServer",
                "fail",
                5,
                "GHSA-35jh-r3h4-6jhm lodash 4.17.20 /srv/app/node_modules/lodash/package.json"
            ),
            row("package-vulnerability", "LegacyHost", "pass", 16, ""),
        ]
    );
    // The current directory is not scanned when only inventories are named.
    assert!(!r.stderr.contains("nothing to scan"), "{}", r.stderr);
    let human = run(&[
        "scan",
        "--inventory",
        &inv,
        "--advisories",
        &adv,
        "--color",
        "never",
    ]);
    assert_eq!(human.code, 1);
    let policies = deadbolt::scan::load_policies(&[]).unwrap().policies.len();
    assert!(
        human.stdout.ends_with(&format!(
            "6 failed, 0 unknown, 1 passed — 4 inventory entries (9 packages) in 1 inventory, {policies} policies\n"
        )),
        "{}",
        human.stdout
    );
}

#[test]
fn raw_listings_name_their_resource_and_os() {
    let dpkg = format!("Bastion={FIX}/bastion-dpkg.txt");
    let rpm = format!("Warehouse@almalinux:9={FIX}/warehouse-rpm.txt");
    let adv = format!("{FIX}/osv");
    let r = run(&[
        "scan",
        "--inventory",
        &dpkg,
        "--inventory",
        &rpm,
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(
        rows(&v),
        vec![
            row(
                "package-vulnerability",
                "Bastion",
                "fail",
                2,
                "DSA-5514-1 libc6 2.36-9+deb12u1"
            ),
            row(
                "package-vulnerability",
                "Bastion",
                "fail",
                3,
                "DSA-5514-1 libc-bin 2.36-9+deb12u1"
            ),
            row(
                "package-vulnerability",
                "Warehouse",
                "fail",
                2,
                "ALSA-2023:3722 openssl-libs 3.0.7-6.el9_2"
            ),
        ]
    );
    // A JSON inventory names its own resources.
    let bad = format!("Web={FIX}/inventory.json");
    let r = run(&[
        "scan",
        "--inventory",
        &bad,
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        errors(&json(&r)),
        vec![format!(
            "inventory.json:1: a JSON inventory names its own resources: give it as --inventory {FIX}/inventory.json, without Web="
        )]
    );
    let r = run(&[
        "scan",
        "--inventory",
        "Web@debian=x.txt",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2);
    assert!(errors(&json(&r))[0].contains("`debian` is not an OS as ID:VERSION"));
}

#[test]
fn bad_inputs_are_errors_with_file_and_line_and_the_rest_is_scanned() {
    let d = tempfile::tempdir().unwrap();
    let adv = d.path().join("osv");
    std::fs::create_dir(&adv).unwrap();
    std::fs::copy(
        format!("{FIX}/osv/GHSA-35jh-r3h4-6jhm.json"),
        adv.join("GHSA-35jh-r3h4-6jhm.json"),
    )
    .unwrap();
    // Valid JSON, but not OSV (a CVE 5.0 record).
    write(
        &adv,
        "cve.json",
        "{\n  \"dataType\": \"CVE_RECORD\",\n  \"cveMetadata\": {\"cveId\": \"CVE-2021-23337\"}\n}\n",
    );
    // Not of the inventory shape: `packages` is a map.
    let shape = write(
        d.path(),
        "shape.json",
        "{\"instances\": [\n  {\"resource\": \"Api\", \"os\": \"debian:12\",\n   \"packages\": {\"lodash\": \"4.17.20\"}}]}\n",
    );
    // A version that does not parse for its ecosystem.
    let version = write(
        d.path(),
        "version.json",
        "{\"instances\": [\n  {\"resource\": \"Web\", \"os\": \"debian:12\", \"packages\": [\n    {\"name\": \"lodash\", \"version\": \"latest\", \"manager\": \"npm\"},\n    {\"name\": \"lodash-es\", \"version\": \"4.17.20\", \"manager\": \"npm\"}]}]}\n",
    );
    let r = run(&[
        "scan",
        "--inventory",
        shape.to_str().unwrap(),
        "--inventory",
        version.to_str().unwrap(),
        "--advisories",
        adv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = json(&r);
    let mut e = errors(&v);
    e.sort();
    assert_eq!(e.len(), 3, "{e:#?}");
    // serde names the end of the object, where `id` was still missing.
    assert!(
        e[0].starts_with("cve.json:4: not an OSV advisory: missing field `id`"),
        "{e:#?}"
    );
    assert!(
        e[1].starts_with("shape.json:3: instance entry: invalid type: map, expected a sequence"),
        "{e:#?}"
    );
    assert!(
        e[1].contains("expected {\"instances\": [{\"resource\": ID"),
        "{e:#?}"
    );
    assert_eq!(
        e[2],
        "version.json:3: Web lodash: \"latest\" is not a valid semver version: unexpected character 'l' while parsing major version number"
    );
    // The rest is scanned: lodash-es is matched, lodash is unknown.
    assert_eq!(
        rows(&v),
        vec![
            row(
                "package-vulnerability",
                "Web",
                "unknown",
                3,
                "GHSA-35jh-r3h4-6jhm lodash latest"
            ),
            row(
                "package-vulnerability",
                "Web",
                "fail",
                4,
                "GHSA-35jh-r3h4-6jhm lodash-es 4.17.20"
            ),
        ]
    );
    // Human output: the errors on stderr, and the exit code says so.
    let r = run(&[
        "scan",
        "--inventory",
        shape.to_str().unwrap(),
        "--advisories",
        adv.to_str().unwrap(),
        "--color",
        "never",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("shape.json:3:"), "{}", r.stderr);
    assert!(r.stderr.contains("cve.json:4:"), "{}", r.stderr);
}

#[test]
fn an_empty_inventory_is_nothing_to_scan() {
    let d = tempfile::tempdir().unwrap();
    let inv = write(d.path(), "empty.json", "{\"instances\": []}\n");
    let r = run(&[
        "scan",
        "--inventory",
        inv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        errors(&json(&r)),
        vec!["--inventory:1: nothing to scan: the inventories list no entries; give inventories with instances, or template paths"]
    );
}

/// A template whose instances the inventory names (and one it does not).
const TEMPLATE: &str = "Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Igw: {Type: AWS::EC2::InternetGateway}
  Attach: {Type: AWS::EC2::VPCGatewayAttachment, Properties: {VpcId: !Ref Vpc, InternetGatewayId: !Ref Igw}}
  Public: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24, MapPublicIpOnLaunch: true}}
  Routes: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref Vpc}}
  Default: {Type: AWS::EC2::Route, Properties: {RouteTableId: !Ref Routes, DestinationCidrBlock: 0.0.0.0/0, GatewayId: !Ref Igw}}
  Assoc: {Type: AWS::EC2::SubnetRouteTableAssociation, Properties: {SubnetId: !Ref Public, RouteTableId: !Ref Routes}}
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web
      VpcId: !Ref Vpc
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}]
  WebServer:
    Type: AWS::EC2::Instance
    Properties: {ImageId: ami-1, SubnetId: !Ref Public, SecurityGroupIds: [!Ref Sg]}
  Batch:
    Type: AWS::EC2::Instance
    Properties: {ImageId: ami-1, SubnetId: !Ref Public}
";

/// An exposed instance must not run a package with a high or critical advisory.
const COMBINED: &str = "policy exposed-and-vulnerable {
  severity critical
  for resource \"AWS::EC2::Instance\" as i
  let open = reachable(i)[? @.status == \"open\"]
  require len(open) == 0 or none v in vulnerabilities(i): v.severity in [\"high\", \"critical\"]
    else \"{i.id} is reachable on {open[0].summary} and runs a package with a serious advisory\"
}
";

#[test]
fn template_instances_read_their_inventory_entries() {
    let d = tempfile::tempdir().unwrap();
    let tpl = write(d.path(), "app.yaml", TEMPLATE);
    let pol = write(d.path(), "combined.policy", COMBINED);
    let adv = format!("{FIX}/osv");
    let inv = format!("{FIX}/inventory.json");
    let r = run(&[
        "scan",
        tpl.to_str().unwrap(),
        "--policies",
        pol.to_str().unwrap(),
        "--inventory",
        &inv,
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(
        rows(&v),
        vec![
            // Reachable on 443, and lodash 4.17.20 (GHSA-35jh-r3h4-6jhm, HIGH).
            row("exposed-and-vulnerable", "WebServer", "fail", 15, ""),
            // No security group: the VPC's default group admits only its members.
            row("exposed-and-vulnerable", "Batch", "pass", 18, ""),
        ]
    );
    assert_eq!(
        v["results"][0]["message"],
        "WebServer is reachable on TCP port 443 (HTTPS) over IPv4 and runs a package with a serious advisory"
    );
    // Three of the four entries name no resource of the template: a warning.
    assert!(
        r.stderr.contains("inventory.json:8:3: 3 of 4 inventory entries name no resource of the scanned templates: ReportsDb (line 8), registry.example.com/build@sha256:"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("WebServer (line"), "{}", r.stderr);

    // An instance the inventory does not name cannot be judged: unknown.
    let exposed = TEMPLATE.replace(
        "Properties: {ImageId: ami-1, SubnetId: !Ref Public}",
        "Properties: {ImageId: ami-1, SubnetId: !Ref Public, SecurityGroupIds: [!Ref Sg]}",
    );
    let tpl = write(d.path(), "app.yaml", &exposed);
    let r = run(&[
        "scan",
        tpl.to_str().unwrap(),
        "--policies",
        pol.to_str().unwrap(),
        "--inventory",
        &inv,
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    let v = json(&r);
    assert_eq!(v["results"][1]["resource"], "Batch");
    assert_eq!(v["results"][1]["status"], "unknown");
    assert_eq!(
        v["results"][1]["message"],
        "cannot be decided: no inventory entry names Batch (the inventories list 4 entries)"
    );
    // Without any inventory, every instance that needs one is unknown.
    let r = run(&[
        "scan",
        tpl.to_str().unwrap(),
        "--policies",
        pol.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v = json(&r);
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["status"] == "unknown"
            && x["message"].as_str().unwrap().starts_with(
                "cannot be decided: no package inventory was given (--inventory FILE"
            )));
}

#[test]
fn format_inspector_writes_list_findings() {
    let inv = format!("{FIX}/inventory.json");
    let adv = format!("{FIX}/osv");
    let r = run(&[
        "scan",
        "fixtures/catalog/ec2-internet-reachable-port/cfn.yaml",
        "--inventory",
        &inv,
        "--advisories",
        &adv,
        "--format",
        "inspector",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(v.get("errors").is_none());
    let count = |t: &str, status: &str| {
        findings
            .iter()
            .filter(|f| f["type"] == t && f["status"] == status)
            .count()
    };
    // 6 open port ranges, 2 unknown ones (Bastion's AdminCidr, Reporting's condition),
    // 6 vulnerable packages; passes and db-port results (no finding) are not listed.
    assert_eq!(count("NETWORK_REACHABILITY", "ACTIVE"), 6);
    assert_eq!(count("NETWORK_REACHABILITY", "UNKNOWN"), 2);
    assert_eq!(count("PACKAGE_VULNERABILITY", "ACTIVE"), 6);
    assert_eq!(findings.len(), 14);
    let arns: std::collections::HashSet<&str> = findings
        .iter()
        .map(|f| f["findingArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns.len(), 14, "one finding per ARN");
    for f in findings {
        for key in [
            "findingArn",
            "type",
            "title",
            "description",
            "severity",
            "status",
            "remediation",
            "resources",
        ] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
    }
    let db = findings
        .iter()
        .find(|f| {
            f["resources"][0]["id"] == "LegacyDb" && f["title"].as_str().unwrap().contains("3306")
        })
        .unwrap();
    assert_eq!(
        db["title"],
        "Port 3306 is reachable from an Internet Gateway - TCP"
    );
    assert_eq!(db["severity"], "HIGH");
    // What could not be decided and has no finding is beside the findings.
    assert_eq!(
        v["unknown"],
        serde_json::json!([{
            "policy": "db-port-not-internet-reachable", "resource": "Reporting",
            "resource_type": "AWS::EC2::Instance",
            "file": "fixtures/catalog/ec2-internet-reachable-port/cfn.yaml", "line": 115,
            "message": "cannot be decided: whether TCP port 5432 (PostgreSQL) over IPv4 is reachable depends on values unknown before deployment: condition IsProd cannot be decided (--param Environment=VALUE) (line 86)"
        }])
    );
    // The whole report, reviewed.
    insta::assert_snapshot!("format_inspector", r.stdout);

    // A broken input is listed under `errors`: never an empty, clean list.
    let r = run(&[
        "scan",
        "--inventory",
        "no-such-inventory.json",
        "--format",
        "inspector",
    ]);
    assert_eq!(r.code, 2);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]));
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("cannot read the inventory"));
}

#[test]
fn an_inventory_without_advisories_is_unknown_in_every_format() {
    let inv = format!("{FIX}/inventory.json");
    let r = run(&["scan", "--inventory", &inv, "--format", "inspector"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: --inventory is given without --advisories"),
        "{}",
        r.stderr
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]));
    let unknown: Vec<(&str, u64, &str)> = v["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["resource"].as_str().unwrap(),
                u["line"].as_u64().unwrap(),
                u["message"].as_str().unwrap(),
            )
        })
        .collect();
    let why = "cannot be decided: no advisories were given (--advisories DIR of OSV JSON files)";
    let image = "registry.example.com/build@sha256:5f0c2e1b3a9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e";
    assert_eq!(
        unknown,
        [
            ("WebServer", 2, why),
            ("ReportsDb", 8, why),
            (image, 12, why),
            ("LegacyHost", 16, why)
        ]
    );
    // --fail-on-unknown makes it a failing gate.
    let r = run(&[
        "scan",
        "--inventory",
        &inv,
        "--fail-on-unknown",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(json(&r)["summary"]["unknown"], 4);
}

#[test]
fn waived_findings_are_suppressed_in_inspector_output() {
    let d = tempfile::tempdir().unwrap();
    let waivers = write(
        d.path(),
        "waivers.yaml",
        "waivers:\n  - policy: package-vulnerability\n    resource: LegacyHost\n    owner: ops@example.com\n    reason: retired next month\n    expires: 2099-01-01\n  - policy: package-vulnerability\n    resource: ReportsDb\n    owner: dba@example.com\n    reason: patched in the next image\n    expires: 2099-01-01\n",
    );
    let inv = format!("{FIX}/inventory.json");
    let adv = format!("{FIX}/osv");
    let r = run(&[
        "scan",
        "--inventory",
        &inv,
        "--advisories",
        &adv,
        "--waivers",
        waivers.to_str().unwrap(),
        "--format",
        "inspector",
    ]);
    let v: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
    let suppressed: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "SUPPRESSED")
        .collect();
    assert_eq!(suppressed.len(), 1, "{}", r.stdout);
    assert_eq!(suppressed[0]["resources"][0]["id"], "ReportsDb");
}

#[test]
fn advisories_without_an_inventory_warn() {
    let adv = format!("{FIX}/osv");
    let r = run(&[
        "scan",
        "fixtures/catalog/ec2-internet-reachable-port/cfn.json",
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: --advisories is given without --inventory"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_checker_knows_inventory_entries() {
    let d = tempfile::tempdir().unwrap();
    let pol = write(
        d.path(),
        "entries.policy",
        "policy entries-have-an-os {\n  severity low\n  for resource \"Deadbolt::Inventory::Entry\" as e\n  require e.os_name exists\n}\n",
    );
    let r = run(&["check", pol.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(
        out.contains("unknown property `os_name` of Deadbolt::Inventory::Entry"),
        "{out}"
    );
    assert!(
        out.contains("known properties here: inventory, os, package_count"),
        "{out}"
    );
}

#[test]
fn a_dpkg_listing_without_sources_warns() {
    let d = tempfile::tempdir().unwrap();
    // `dpkg-query -W` without -f: binary names only.
    let plain = write(
        d.path(),
        "plain.txt",
        "libc6\t2.36-9+deb12u1\nopenssl\t3.0.11-1~deb12u1\n",
    );
    let spec = format!("Host@debian:12={}", plain.display());
    let adv = format!("{FIX}/osv");
    let r = run(&[
        "scan",
        "--inventory",
        &spec,
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("plain.txt:1:1: no dpkg package of Host (line 1) names its source package"),
        "{}",
        r.stderr
    );
    // Ubuntu's records list the binaries each source builds: no warning.
    let spec = format!("Host@ubuntu:22.04={}", plain.display());
    let r = run(&[
        "scan",
        "--inventory",
        &spec,
        "--advisories",
        &adv,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("names its source package"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_report_format_carries_package_results_and_inventory_errors() {
    let d = tempfile::tempdir().unwrap();
    let bad = write(
        d.path(),
        "bad.json",
        "{\"instances\": [\n  {\"resource\": \"X\"}\n]}\n",
    );
    let inv = format!("{FIX}/inventory.json");
    let adv = format!("{FIX}/osv");
    let out = |n: &str| d.path().join(n).to_string_lossy().into_owned();
    let (sarif, junit, github, inspector) = (
        out("r.sarif"),
        out("r.xml"),
        out("r.github"),
        out("r.inspector.json"),
    );
    let r = run(&[
        "scan",
        "--inventory",
        &inv,
        "--inventory",
        bad.to_str().unwrap(),
        "--advisories",
        &adv,
        "--format",
        "json",
        "--sarif",
        &sarif,
        "--junit",
        &junit,
        "--github",
        &github,
        "--inspector",
        &inspector,
    ]);
    // An unreadable inventory is an error (exit 2); the good one is still scanned.
    assert_eq!(r.code, 2, "{}", r.stderr);
    let read = |p: &str| std::fs::read_to_string(p).unwrap();
    let msg = "WebServer: lodash 4.17.20 is affected by CVE-2021-23337 (GHSA-35jh-r3h4-6jhm); upgrade lodash to 4.17.21";
    let err = "bad.json:2:3: instance entry: missing field `packages`";

    let gh = read(&github);
    assert!(
        gh.contains(&format!(
            "::error file={inv},line=5,col=5,title=deadbolt package-vulnerability (high)::{msg}"
        )),
        "{gh}"
    );
    assert!(gh.contains("bad.json,line=2,col=3,title=deadbolt input error::instance entry: missing field `packages`"), "{gh}");

    let xml = read(&junit);
    assert!(xml.contains(&format!("{inv}:5:5: {msg}")), "{xml}");
    assert!(xml.contains(err), "{xml}");

    let s: Value = serde_json::from_str(&read(&sarif)).unwrap();
    let results = s["runs"][0]["results"].as_array().unwrap();
    let lodash = results
        .iter()
        .find(|x| x["message"]["text"] == msg)
        .expect("the lodash result in SARIF");
    let region = &lodash["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(lodash["level"], "error");
    let notes = serde_json::to_string(&s["runs"][0]["invocations"]).unwrap();
    assert!(notes.contains("missing field `packages`"), "{notes}");

    let insp: Value = serde_json::from_str(&read(&inspector)).unwrap();
    assert_eq!(insp["findings"].as_array().unwrap().len(), 6);
    assert!(insp["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("instance entry: missing field `packages`"));
}
