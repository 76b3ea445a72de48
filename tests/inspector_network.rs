//! Reachability: every scenario of issue 11's "Done means", with exact results
//! (which instance, which ports, which path).

use deadbolt::inspector::network::{
    analyze_default, Exposure, Family, NetworkReport, Protocol, Status, Via,
};
use deadbolt::load::load_source;

fn report(name: &str) -> NetworkReport {
    let path = format!(
        "{}/fixtures/inspector/network/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let tpls = load_source(&format!("fixtures/inspector/network/{name}"), &text).unwrap();
    analyze_default(&tpls[0])
}

/// `PROTO FAMILY PORTS status | path ids`, one line per exposure.
fn lines(r: &NetworkReport, instance: &str) -> Vec<String> {
    r.instance(instance)
        .unwrap_or_else(|| panic!("no instance {instance}"))
        .exposures
        .iter()
        .map(line)
        .collect()
}

fn line(e: &Exposure) -> String {
    let status = match &e.status {
        Status::Open => "open".to_string(),
        Status::Unknown(why) => format!(
            "unknown: {}",
            why.iter()
                .map(|r| r.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let path: Vec<&str> = e.path.iter().map(|s| s.component_id.as_str()).collect();
    format!(
        "{} {} {} {} | {}",
        e.protocol.name(),
        e.family.name(),
        e.ports,
        status,
        path.join(" > ")
    )
}

#[test]
fn public_instance_by_family_and_port() {
    let r = report("scenarios.yaml");
    assert_eq!(
        lines(&r, "Web"),
        [
            "TCP IPv4 22 open | Igw > PublicRoutes > Vpc.default-network-acl > WebSg > Web.NetworkInterfaces[0] > Web",
            "TCP IPv4 80 open | Igw > PublicRoutes > Vpc.default-network-acl > WebSg > Web.NetworkInterfaces[0] > Web",
            // The database port is open to the VPC only: not from the internet.
            "TCP IPv6 443 open | Igw > PublicRoutes > Vpc.default-network-acl > WebSg > Web.NetworkInterfaces[0] > Web",
        ]
    );
    let e = &r.instance("Web").unwrap().exposures[0];
    let types: Vec<&str> = e.path.iter().map(|s| s.component_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "AWS::EC2::InternetGateway",
            "AWS::EC2::RouteTable",
            "AWS::EC2::NetworkAcl",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::NetworkInterface",
            "AWS::EC2::Instance"
        ]
    );
}

#[test]
fn nacl_deny_before_allow_splits_the_range() {
    let r = report("scenarios.yaml");
    assert_eq!(
        lines(&r, "DenyFirst"),
        [
            "TCP IPv4 20-21 open | Igw > PublicRoutes > DenySshAcl > RangeSg > DenyFirst.NetworkInterfaces[0] > DenyFirst",
            "TCP IPv4 23-25 open | Igw > PublicRoutes > DenySshAcl > RangeSg > DenyFirst.NetworkInterfaces[0] > DenyFirst",
        ]
    );
}

#[test]
fn subnet_without_internet_route_is_not_reachable() {
    let r = report("scenarios.yaml");
    assert!(lines(&r, "NoRoute").is_empty());
}

#[test]
fn nacl_blocking_return_ports_is_not_reachable() {
    let r = report("scenarios.yaml");
    assert!(lines(&r, "ReturnBlocked").is_empty());
}

#[test]
fn ipv6_only_exposure() {
    let r = report("scenarios.yaml");
    assert_eq!(
        lines(&r, "Ipv6Only"),
        ["TCP IPv6 22 open | Igw > PublicRoutes > Vpc.default-network-acl > SshSg > Ipv6Only.NetworkInterfaces[0] > Ipv6Only"]
    );
}

#[test]
fn custom_nacl_without_ipv6_rules_denies_ipv6() {
    let r = report("scenarios.yaml");
    assert_eq!(
        lines(&r, "NoV6Rules"),
        ["TCP IPv4 22 open | Igw > PublicRoutes > V4OnlyAcl > SshSg > NoV6Rules.NetworkInterfaces[0] > NoV6Rules"]
    );
}

#[test]
fn group_referencing_another_group_admits_members_only() {
    let r = report("scenarios.yaml");
    // The bastion itself is open (standalone ingress resource)...
    assert_eq!(
        lines(&r, "Bastion"),
        ["TCP IPv4 22 open | Igw > PublicRoutes > Vpc.default-network-acl > BastionSg > Bastion.NetworkInterfaces[0] > Bastion"]
    );
    // ...the instance that admits only the bastion's group is not.
    assert!(lines(&r, "BehindBastion").is_empty());
}

#[test]
fn private_instance_behind_internet_facing_load_balancer() {
    let r = report("scenarios.yaml");
    assert_eq!(
        lines(&r, "App"),
        ["TCP IPv4 443 open | Igw > PublicRoutes > Vpc.default-network-acl > LbSg > Alb > Https > AppTargets > AppSg > App.NetworkInterfaces[0] > App"]
    );
    let e = &r.instance("App").unwrap().exposures[0];
    match &e.via {
        Via::LoadBalancer {
            load_balancer,
            target_ports,
            ..
        } => {
            assert_eq!(load_balancer, "Alb");
            assert_eq!((target_ports.begin, target_ports.end), (8080, 8080));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn parameter_without_default_is_unknown_not_pass() {
    let r = report("scenarios.yaml");
    assert_eq!(
        lines(&r, "Admin"),
        ["TCP IPv4 22 unknown: parameter AdminCidr has no default value (set it with --param AdminCidr=VALUE) | Igw > PublicRoutes > Vpc.default-network-acl > AdminSg > Admin.NetworkInterfaces[0] > Admin"]
    );
    let e = &r.instance("Admin").unwrap().exposures[0];
    assert_eq!((e.protocol, e.family), (Protocol::Tcp, Family::V4));
}

#[test]
fn every_instance_is_reported() {
    let r = report("scenarios.yaml");
    let ids: Vec<&str> = r.instances.iter().map(|i| i.instance.as_str()).collect();
    assert_eq!(
        ids,
        [
            "Web",
            "DenyFirst",
            "NoRoute",
            "ReturnBlocked",
            "Ipv6Only",
            "NoV6Rules",
            "Bastion",
            "BehindBastion",
            "Admin",
            "App"
        ]
    );
}

#[test]
fn terraform_plan_through_the_same_model() {
    let r = report("plan.json");
    assert_eq!(
        lines(&r, "aws_instance.web"),
        ["TCP IPv4 22 open | aws_internet_gateway.main > aws_route_table.public > aws_vpc.main.default-network-acl > aws_security_group.ssh > aws_instance.web.network_interface[0] > aws_instance.web"]
    );
    // The private subnet has no association: the main table has local routes only.
    assert!(lines(&r, "aws_instance.db").is_empty());
    // subnet_id known after apply, resolved through the configuration's reference;
    // the public address follows the subnet (associate_public_ip_address not configured).
    assert_eq!(
        lines(&r, "aws_instance.db_public"),
        ["TCP IPv4 5432 open | aws_internet_gateway.main > aws_route_table.public > aws_vpc.main.default-network-acl > aws_security_group.db > aws_instance.db_public.network_interface[0] > aws_instance.db_public"]
    );
    let e = &r.instance("aws_instance.db_public").unwrap().exposures[0];
    assert_eq!(e.services(), ["PostgreSQL"]);
    let mut f = e.finding(&r.file);
    f["findingArn"] = "ARN".into();
    insta::assert_json_snapshot!("network_finding_postgres", f);
}

#[test]
fn default_vpc_instance_is_reachable_with_an_assumption() {
    let tpls = load_source(
        "t.yaml",
        "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: ssh\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}]\n  Box:\n    Type: AWS::EC2::Instance\n    Properties: {ImageId: ami-1, SecurityGroups: [!Ref Sg]}\n",
    )
    .unwrap();
    let r = analyze_default(&tpls[0]);
    assert_eq!(
        lines(&r, "Box"),
        ["TCP IPv4 22 open | default-vpc.internet-gateway > default-vpc.main-route-table > default-vpc.default-network-acl > Sg > Box.NetworkInterfaces[0] > Box"]
    );
    assert!(r.instance("Box").unwrap().exposures[0].assumptions[0].contains("default VPC"));
}
