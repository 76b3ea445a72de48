//! CloudFormation adapter: AWS::EC2::* and Elastic Load Balancing resources
//! into the canonical [`Network`] model.

use super::model::*;
use super::read::{field, Reader};
use crate::doc::{Resource, Template, Value};
use crate::inspector::resolve::Resolve;

pub fn adapt(tpl: &Template, res: &dyn Resolve) -> Network {
    let rd = Reader { tpl, res };
    let mut net = Network::default();
    for (i, r) in tpl.resources.iter().enumerate() {
        adapt_resource(&rd, i, r, &mut net);
    }
    // Blocks added to VPCs and subnets by their own resources.
    for r in &tpl.resources {
        match r.rtype.as_str() {
            "AWS::EC2::VPCCidrBlock" => {
                if let Some(Link::Res(v)) = rd.link(rd.prop(r, "VpcId")) {
                    if let Some(vpc) = net.vpcs.iter_mut().find(|x| x.res == v) {
                        if let Some(c) = rd.prop(r, "CidrBlock").and_then(|c| rd.cidr(c)) {
                            vpc.cidrs.push(c);
                        }
                        let v6 = rd.prop(r, "Ipv6CidrBlock").is_some()
                            || rd.prop(r, "Ipv6IpamPoolId").is_some()
                            || rd.prop(r, "Ipv6Pool").is_some();
                        let amazon = rd.bool(rd.prop(r, "AmazonProvidedIpv6CidrBlock"), false);
                        vpc.ipv6 = match (v6, amazon) {
                            (true, _) | (_, Val::Known(true)) => Val::Known(true),
                            (false, Val::Unknown(why)) => Val::Unknown(why),
                            _ => vpc.ipv6.clone(),
                        };
                    }
                }
            }
            "AWS::EC2::SubnetCidrBlock" => {
                if let Some(Link::Res(s)) = rd.link(rd.prop(r, "SubnetId")) {
                    if let Some(sub) = net.subnets.iter_mut().find(|x| x.res == s) {
                        sub.ipv6 = Val::Known(true);
                    }
                }
            }
            _ => {}
        }
    }
    net
}

fn adapt_resource(rd: &Reader, i: usize, r: &Resource, net: &mut Network) {
    let p = |k: &str| rd.prop(r, k);
    let pos = r.props_pos;
    match r.rtype.as_str() {
        "AWS::EC2::VPC" => net.vpcs.push(Vpc {
            res: i,
            cidrs: p("CidrBlock")
                .and_then(|c| rd.cidr(c))
                .into_iter()
                .collect(),
            ipv6: Val::Known(false),
        }),
        "AWS::EC2::Subnet" => net.subnets.push(Subnet {
            res: i,
            vpc: rd
                .link(p("VpcId"))
                .unwrap_or(Link::Unknown(Reason::new("the subnet has no VpcId", pos))),
            cidr: p("CidrBlock").and_then(|c| rd.cidr(c)),
            ipv6: Val::Known(p("Ipv6CidrBlock").is_some() || p("Ipv6IpamPoolId").is_some()),
            map_public_ip: rd.bool(p("MapPublicIpOnLaunch"), false),
            assign_ipv6: rd.bool(p("AssignIpv6AddressOnCreation"), false),
        }),
        "AWS::EC2::InternetGateway" => net.gateways.push(Gateway {
            res: i,
            kind: GatewayKind::Internet,
        }),
        "AWS::EC2::EgressOnlyInternetGateway" => net.gateways.push(Gateway {
            res: i,
            kind: GatewayKind::EgressOnly,
        }),
        "AWS::EC2::NatGateway" => net.gateways.push(Gateway {
            res: i,
            kind: GatewayKind::Nat,
        }),
        "AWS::EC2::VPNGateway" | "AWS::EC2::TransitGateway" | "AWS::EC2::CarrierGateway" => {
            net.gateways.push(Gateway {
                res: i,
                kind: GatewayKind::Other,
            })
        }
        "AWS::EC2::RouteTable" => net.route_tables.push(RouteTable {
            res: i,
            vpc: rd.link(p("VpcId")).unwrap_or(Link::Unknown(Reason::new(
                "the route table has no VpcId",
                pos,
            ))),
            routes: Vec::new(),
            main: false,
        }),
        "AWS::EC2::Route" => {
            let table = rd
                .link(p("RouteTableId"))
                .unwrap_or(Link::Unknown(Reason::new(
                    "the route has no RouteTableId",
                    pos,
                )));
            net.routes.push((table, route(rd, r, net)));
        }
        "AWS::EC2::SubnetRouteTableAssociation" => {
            if let (Some(s), Some(t)) = (rd.link(p("SubnetId")), rd.link(p("RouteTableId"))) {
                net.route_table_assocs.push((s, t));
            }
        }
        "AWS::EC2::NetworkAcl" => net.nacls.push(Nacl {
            res: i,
            vpc: rd.link(p("VpcId")).unwrap_or(Link::Unknown(Reason::new(
                "the network ACL has no VpcId",
                pos,
            ))),
            entries: Vec::new(),
            default: false,
            subnets: Vec::new(),
        }),
        "AWS::EC2::NetworkAclEntry" => {
            let acl = rd
                .link(p("NetworkAclId"))
                .unwrap_or(Link::Unknown(Reason::new(
                    "the entry has no NetworkAclId",
                    pos,
                )));
            let proto = rd.proto(p("Protocol"), pos);
            let range = p("PortRange").and_then(|v| rd.map(v).ok());
            let ports = rd.ports(
                &proto,
                range.as_ref().and_then(|m| field(m, "From")),
                range.as_ref().and_then(|m| field(m, "To")),
                p("PortRange").map_or(pos, |v| v.pos),
            );
            let cidr = p("CidrBlock")
                .or(p("Ipv6CidrBlock"))
                .and_then(|c| rd.cidr(c))
                .unwrap_or(Val::Unknown(Reason::new(
                    "the entry has neither CidrBlock nor Ipv6CidrBlock",
                    pos,
                )));
            let action = match p("RuleAction").and_then(|v| rd.string(v)) {
                Some(Val::Known(a)) if a.eq_ignore_ascii_case("allow") => Val::Known(true),
                Some(Val::Known(a)) if a.eq_ignore_ascii_case("deny") => Val::Known(false),
                Some(Val::Known(a)) => Val::Unknown(Reason::new(
                    format!("RuleAction {a:?} is neither allow nor deny"),
                    pos,
                )),
                Some(Val::Unknown(why)) => Val::Unknown(why),
                None => Val::Unknown(Reason::new("the entry has no RuleAction", pos)),
            };
            let egress = rd.bool(p("Egress"), false);
            let number = p("RuleNumber")
                .and_then(|v| rd.int(v))
                .unwrap_or(Val::Unknown(Reason::new(
                    "the entry has no RuleNumber",
                    pos,
                )));
            let mut push = |egress: bool, uncertain: Option<Reason>| {
                net.nacl_entries.push((
                    acl.clone(),
                    NaclEntry {
                        number: number.clone(),
                        egress,
                        allow: action.clone(),
                        proto: proto.clone(),
                        ports: ports.clone(),
                        cidr: cidr.clone(),
                        uncertain,
                        pos: r.pos,
                    },
                ))
            };
            match egress {
                Val::Known(e) => push(e, None),
                // Direction unknown: it may be either.
                Val::Unknown(why) => {
                    push(false, Some(why.clone()));
                    push(true, Some(why));
                }
            }
        }
        "AWS::EC2::SubnetNetworkAclAssociation" => {
            if let (Some(s), Some(a)) = (rd.link(p("SubnetId")), rd.link(p("NetworkAclId"))) {
                net.nacl_assocs.push((s, a));
            }
        }
        "AWS::EC2::SecurityGroup" => {
            let mut ingress = Vec::new();
            match rd.items(p("SecurityGroupIngress")) {
                Ok(items) => {
                    for item in items {
                        match rd.map(&item) {
                            Ok(m) => ingress.extend(sg_rules(rd, &m, None)),
                            Err(why) => ingress.push(unknown_rule(why)),
                        }
                    }
                }
                Err(why) => ingress.push(unknown_rule(why)),
            }
            net.groups.push(SecurityGroup {
                res: i,
                vpc: rd.link(p("VpcId")),
                ingress,
                default: false,
            });
        }
        "AWS::EC2::SecurityGroupIngress" => {
            let group = rd
                .link(p("GroupId").or(p("GroupName")))
                .unwrap_or(Link::Unknown(Reason::new(
                    "the ingress rule has no GroupId",
                    pos,
                )));
            if let Some(props) = &r.props {
                let uncertain = match &group {
                    Link::Unknown(why) => Some(why.clone()),
                    _ => None,
                };
                for rule in sg_rules(rd, props, uncertain) {
                    net.ingress.push((group.clone(), rule));
                }
            }
        }
        "AWS::EC2::PrefixList" => {
            let mut cidrs = Vec::new();
            match rd.items(p("Entries")) {
                Ok(items) => {
                    for e in items {
                        match rd.map(&e) {
                            Ok(m) => {
                                if let Some(c) = field(&m, "Cidr").and_then(|c| rd.cidr(c)) {
                                    cidrs.push(c)
                                }
                            }
                            Err(why) => cidrs.push(Val::Unknown(why)),
                        }
                    }
                }
                Err(why) => cidrs.push(Val::Unknown(why)),
            }
            net.prefix_lists.push(PrefixList { res: i, cidrs });
        }
        "AWS::EC2::Instance" => net.instances.push(instance(rd, i, r)),
        "AWS::EC2::NetworkInterface" => net.enis.push(Eni {
            id: r.id.clone(),
            res: Some(i),
            subnet: Some(rd.link(p("SubnetId")).unwrap_or(Link::Unknown(Reason::new(
                "the interface has no SubnetId",
                pos,
            )))),
            groups: rd.links(p("GroupSet")),
            public_ip: None,
            ipv6: ipv6_request(rd, p("Ipv6AddressCount"), p("Ipv6Addresses")),
            at_launch: false,
            device_index: 0,
            pos: r.pos,
        }),
        "AWS::EC2::NetworkInterfaceAttachment" => {
            if let (Some(e), Some(inst)) =
                (rd.link(p("NetworkInterfaceId")), rd.link(p("InstanceId")))
            {
                let idx = p("DeviceIndex")
                    .and_then(|v| rd.int(v))
                    .and_then(|v| v.known().copied())
                    .unwrap_or(1);
                net.eni_attachments.push((e, inst, idx));
            }
        }
        "AWS::EC2::EIP" => {
            if let Some(inst) = rd.link(p("InstanceId")) {
                net.eips.push(Eip {
                    instance: Some(inst),
                    eni: None,
                });
            }
        }
        "AWS::EC2::EIPAssociation" => {
            let inst = rd.link(p("InstanceId"));
            let eni = rd.link(p("NetworkInterfaceId"));
            if inst.is_some() || eni.is_some() {
                net.eips.push(Eip {
                    instance: inst,
                    eni,
                });
            }
        }
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
            let kind = match p("Type").and_then(|v| rd.string(v)) {
                Some(Val::Known(t)) if t == "network" => LbKind::Network,
                Some(Val::Known(t)) if t == "gateway" => LbKind::Gateway,
                _ => LbKind::Application,
            };
            let mut subnets = rd.links(p("Subnets"));
            if let Ok(maps) = rd.items(p("SubnetMappings")) {
                for m in maps.iter().filter_map(|m| rd.map(m).ok()) {
                    subnets.extend(rd.link(field(&m, "SubnetId")));
                }
            }
            net.load_balancers.push(LoadBalancer {
                res: i,
                kind,
                internet_facing: scheme(rd, p("Scheme")),
                dualstack: matches!(p("IpAddressType").and_then(|v| rd.string(v)), Some(Val::Known(t)) if t.starts_with("dualstack")),
                subnets,
                groups: p("SecurityGroups").map(|g| rd.links(Some(g))),
                listeners: Vec::new(),
                instances: Vec::new(),
            });
        }
        "AWS::ElasticLoadBalancingV2::Listener" => {
            let lb = rd
                .link(p("LoadBalancerArn"))
                .unwrap_or(Link::Unknown(Reason::new(
                    "the listener has no LoadBalancerArn",
                    pos,
                )));
            let (tcp, udp) = listener_protocols(rd, p("Protocol"));
            net.listeners.push((
                lb,
                Listener {
                    id: r.id.clone(),
                    res: Some(i),
                    rtype: "AWS::ElasticLoadBalancingV2::Listener",
                    port: rd.port(p("Port"), "Port", pos),
                    tcp,
                    udp,
                    target_groups: forward_targets(rd, p("DefaultActions")),
                    instance_port: None,
                    pos: r.pos,
                },
            ));
        }
        "AWS::ElasticLoadBalancingV2::ListenerRule" => {
            if let Some(l) = rd.link(p("ListenerArn")) {
                net.listener_rules
                    .push((l, forward_targets(rd, p("Actions"))));
            }
        }
        "AWS::ElasticLoadBalancingV2::TargetGroup" => {
            let mut targets = Vec::new();
            if let Ok(items) = rd.items(p("Targets")) {
                for t in items.iter().filter_map(|t| rd.map(t).ok()) {
                    if let Some(id) = rd.link(field(&t, "Id")) {
                        let port = field(&t, "Port").map(|v| rd.port(Some(v), "Port", pos));
                        targets.push((id, port));
                    }
                }
            }
            net.target_groups.push(TargetGroup {
                res: i,
                port: p("Port").map(|v| rd.port(Some(v), "Port", pos)),
                target_type: p("TargetType")
                    .and_then(|v| rd.string(v))
                    .unwrap_or(Val::Known("instance".into())),
                targets,
            });
        }
        "AWS::ElasticLoadBalancing::LoadBalancer" => {
            let mut listeners = Vec::new();
            if let Ok(items) = rd.items(p("Listeners")) {
                for (k, l) in items.iter().enumerate() {
                    let Ok(m) = rd.map(l) else { continue };
                    let (tcp, udp) = listener_protocols(rd, field(&m, "Protocol"));
                    listeners.push(Listener {
                        id: format!("{}.Listeners[{k}]", r.id),
                        res: None,
                        rtype: "AWS::ElasticLoadBalancing::LoadBalancer.Listeners",
                        port: rd.port(field(&m, "LoadBalancerPort"), "LoadBalancerPort", l.pos),
                        tcp,
                        udp,
                        target_groups: Vec::new(),
                        instance_port: Some(rd.port(
                            field(&m, "InstancePort"),
                            "InstancePort",
                            l.pos,
                        )),
                        pos: l.pos,
                    });
                }
            }
            net.load_balancers.push(LoadBalancer {
                res: i,
                kind: LbKind::Classic,
                internet_facing: scheme(rd, p("Scheme")),
                dualstack: false,
                subnets: rd.links(p("Subnets")),
                groups: p("SecurityGroups").map(|g| rd.links(Some(g))),
                listeners,
                instances: rd.links(p("Instances")),
            });
        }
        _ => {}
    }
}

fn scheme(rd: &Reader, v: Option<&Value>) -> Val<bool> {
    match v.and_then(|v| rd.string(v)) {
        None => Val::Known(true), // internet-facing is the default
        Some(Val::Known(s)) => Val::Known(s != "internal"),
        Some(Val::Unknown(why)) => Val::Unknown(why),
    }
}

fn listener_protocols(rd: &Reader, v: Option<&Value>) -> (bool, bool) {
    match v.and_then(|v| rd.string(v)) {
        Some(Val::Known(p)) => match p.to_ascii_uppercase().as_str() {
            "UDP" => (false, true),
            "TCP_UDP" => (true, true),
            _ => (true, false),
        },
        _ => (true, false),
    }
}

/// Target groups a list of listener actions forwards to.
fn forward_targets(rd: &Reader, actions: Option<&Value>) -> Vec<Link> {
    let mut out = Vec::new();
    for a in rd
        .items(actions)
        .unwrap_or_default()
        .iter()
        .filter_map(|a| rd.map(a).ok())
    {
        let kind = field(&a, "Type").and_then(|t| rd.string(t));
        if !matches!(kind, Some(Val::Known(ref t)) if t.eq_ignore_ascii_case("forward"))
            && kind.is_some()
        {
            continue;
        }
        out.extend(rd.link(field(&a, "TargetGroupArn")));
        if let Some(fc) = field(&a, "ForwardConfig").and_then(|f| rd.map(f).ok()) {
            for tg in rd
                .items(field(&fc, "TargetGroups"))
                .unwrap_or_default()
                .iter()
                .filter_map(|t| rd.map(t).ok())
            {
                out.extend(rd.link(field(&tg, "TargetGroupArn")));
            }
        }
    }
    out
}

fn route(rd: &Reader, r: &Resource, net: &Network) -> Route {
    let p = |k: &str| rd.prop(r, k);
    let pos = r.props_pos;
    let dest = if let Some(pl) = p("DestinationPrefixListId") {
        Dest::PrefixList(
            rd.link(Some(pl))
                .unwrap_or(Link::Unknown(Reason::new("no prefix list", pos))),
        )
    } else {
        Dest::Cidr(
            p("DestinationCidrBlock")
                .or(p("DestinationIpv6CidrBlock"))
                .and_then(|c| rd.cidr(c))
                .unwrap_or(Val::Unknown(Reason::new(
                    "the route has no destination",
                    pos,
                ))),
        )
    };
    let target = if let Some(g) = p("GatewayId") {
        gateway_target(rd, rd.link(Some(g)), net)
    } else if p("EgressOnlyInternetGatewayId").is_some() {
        Target::EgressOnly
    } else if p("NatGatewayId").is_some() || p("InstanceId").is_some() {
        Target::Nat
    } else {
        Target::Other
    };
    Route {
        dest,
        target,
        pos: r.pos,
    }
}

/// What a `GatewayId` names: a template gateway by its type, or an id by its prefix.
pub(super) fn gateway_target(rd: &Reader, link: Option<Link>, net: &Network) -> Target {
    match link {
        Some(Link::Res(g)) => {
            let rtype = rd.tpl.resources[g].rtype.as_str();
            let kind = net.gateways.iter().find(|x| x.res == g).map(|x| x.kind);
            match (kind, rtype) {
                (Some(GatewayKind::Internet), _)
                | (_, "AWS::EC2::InternetGateway" | "aws_internet_gateway") => {
                    Target::Internet(Link::Res(g))
                }
                (Some(GatewayKind::EgressOnly), _) => Target::EgressOnly,
                (Some(GatewayKind::Nat), _) => Target::Nat,
                _ => Target::Other,
            }
        }
        Some(Link::External(id)) => {
            if id.starts_with("igw-") {
                Target::Internet(Link::External(id))
            } else if id.starts_with("eigw-") {
                Target::EgressOnly
            } else if id.starts_with("nat-") {
                Target::Nat
            } else {
                Target::Other
            }
        }
        Some(Link::Unknown(why)) => Target::Unknown(why),
        None => Target::Other,
    }
}

fn unknown_rule(why: Reason) -> SgRule {
    SgRule {
        proto: Val::Unknown(why.clone()),
        ports: Val::Unknown(why.clone()),
        peer: Peer::Cidr(Val::Unknown(why.clone())),
        uncertain: None,
        pos: why.pos,
    }
}

/// One security group ingress rule (inline or standalone) → model rules, one
/// per source it names.
fn sg_rules(rd: &Reader, m: &Value, uncertain: Option<Reason>) -> Vec<SgRule> {
    let pos = m.pos;
    let proto = rd.proto(field(m, "IpProtocol"), pos);
    let ports = rd.ports(&proto, field(m, "FromPort"), field(m, "ToPort"), pos);
    let mut peers = Vec::new();
    for key in ["CidrIp", "CidrIpv6"] {
        if let Some(c) = field(m, key).and_then(|c| rd.cidr(c)) {
            peers.push(Peer::Cidr(c));
        }
    }
    if let Some(pl) = rd.link(field(m, "SourcePrefixListId")) {
        peers.push(Peer::PrefixList(pl));
    }
    if let Some(g) =
        rd.link(field(m, "SourceSecurityGroupId").or(field(m, "SourceSecurityGroupName")))
    {
        peers.push(Peer::Group(g));
    }
    if peers.is_empty() {
        peers.push(Peer::Cidr(Val::Unknown(Reason::new("the rule names no source (CidrIp, CidrIpv6, SourcePrefixListId or SourceSecurityGroupId)", pos))));
    }
    peers
        .into_iter()
        .map(|peer| SgRule {
            proto: proto.clone(),
            ports: ports.clone(),
            peer,
            uncertain: uncertain.clone(),
            pos,
        })
        .collect()
}

fn ipv6_request(rd: &Reader, count: Option<&Value>, addrs: Option<&Value>) -> Option<Val<bool>> {
    if let Some(c) = count.and_then(|c| rd.int(c)) {
        return Some(match c {
            Val::Known(n) => Val::Known(n > 0),
            Val::Unknown(why) => Val::Unknown(why),
        });
    }
    match rd.items(addrs) {
        Ok(items) if !items.is_empty() => Some(Val::Known(true)),
        Ok(_) => None,
        Err(why) => Some(Val::Unknown(why)),
    }
}

fn instance(rd: &Reader, i: usize, r: &Resource) -> Instance {
    // Properties the instance leaves out come from its launch template, if the
    // template declares it.
    let lt_data = rd
        .prop(r, "LaunchTemplate")
        .and_then(|lt| rd.map(lt).ok())
        .and_then(|lt| rd.link(field(&lt, "LaunchTemplateId").or(field(&lt, "LaunchTemplateName"))))
        .and_then(|l| match l {
            Link::Res(k) => rd.tpl.resources[k]
                .props
                .as_ref()
                .and_then(|p| p.get("LaunchTemplateData"))
                .and_then(|d| rd.map(d).ok()),
            _ => None,
        });
    let own = |k: &str| rd.prop(r, k);
    let get = |k: &str| -> Option<Value> {
        own(k)
            .cloned()
            .or_else(|| lt_data.as_ref().and_then(|d| field(d, k)).cloned())
    };
    let pos = r.pos;
    let mut enis = Vec::new();
    let nis = get("NetworkInterfaces");
    let ni_items = rd.items(nis.as_ref());
    let mut attached = Vec::new();
    match ni_items {
        Ok(items) if !items.is_empty() => {
            for (k, item) in items.iter().enumerate() {
                let Ok(m) = rd.map(item) else { continue };
                let idx = field(&m, "DeviceIndex")
                    .and_then(|v| rd.int(v))
                    .and_then(|v| v.known().copied())
                    .unwrap_or(k as i64);
                if let Some(existing) = rd.link(field(&m, "NetworkInterfaceId")) {
                    attached.push((existing, idx));
                    continue;
                }
                enis.push(Eni {
                    id: format!("{}.NetworkInterfaces[{k}]", r.id),
                    res: None,
                    subnet: Some(
                        rd.link(field(&m, "SubnetId"))
                            .or_else(|| rd.link(own("SubnetId")))
                            .unwrap_or(Link::Unknown(Reason::new(
                                "the network interface has no SubnetId",
                                item.pos,
                            ))),
                    ),
                    groups: rd.links(field(&m, "GroupSet").or(field(&m, "Groups"))),
                    public_ip: field(&m, "AssociatePublicIpAddress")
                        .map(|v| rd.bool(Some(v), false)),
                    ipv6: ipv6_request(
                        rd,
                        field(&m, "Ipv6AddressCount"),
                        field(&m, "Ipv6Addresses"),
                    ),
                    at_launch: true,
                    device_index: idx,
                    pos: item.pos,
                });
            }
        }
        Ok(_) => {
            let mut groups = rd.links(get("SecurityGroupIds").as_ref());
            groups.extend(rd.links(get("SecurityGroups").as_ref()));
            enis.push(Eni {
                id: format!("{}.NetworkInterfaces[0]", r.id),
                res: None,
                subnet: rd.link(own("SubnetId")),
                groups,
                public_ip: None,
                ipv6: ipv6_request(rd, own("Ipv6AddressCount"), own("Ipv6Addresses")),
                at_launch: true,
                device_index: 0,
                pos,
            });
        }
        Err(why) => enis.push(Eni {
            id: format!("{}.NetworkInterfaces[0]", r.id),
            res: None,
            subnet: Some(Link::Unknown(why.clone())),
            groups: vec![Link::Unknown(why)],
            public_ip: None,
            ipv6: None,
            at_launch: true,
            device_index: 0,
            pos,
        }),
    }
    let private_ip = own("PrivateIpAddress")
        .and_then(|v| rd.string(v))
        .and_then(|s| s.known().and_then(|s| s.parse::<std::net::IpAddr>().ok()))
        .map(ipnet::IpNet::from);
    Instance {
        res: i,
        enis,
        attached,
        private_ip,
    }
}
