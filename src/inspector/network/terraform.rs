//! Terraform adapter: `aws_*` networking resources of a plan into the
//! canonical [`Network`] model. Values "known after apply" are resolved by the
//! [`Resolve`]r to the resources their expressions reference.

use super::cfn::gateway_target;
use super::model::*;
use super::read::{field, Reader};
use crate::doc::{Node, Resource, Template, Value};
use crate::inspector::resolve::Resolve;

/// A set value: Terraform writes unset strings as "" and unset lists as [].
fn set(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match &v.node {
        Node::Str(s) => !s.is_empty(),
        Node::Seq(s) => !s.is_empty(),
        Node::Null => false,
        _ => true,
    })
}

fn missing(what: &str, r: &Resource) -> Link {
    Link::Unknown(Reason::new(format!("{} has no {what}", r.id), r.props_pos))
}

pub fn adapt(tpl: &Template, res: &dyn Resolve) -> Network {
    let rd = Reader { tpl, res };
    let mut net = Network::default();
    // Gateways first: routes are classified by what their gateway is.
    for (i, r) in tpl.resources.iter().enumerate() {
        let kind = match r.rtype.as_str() {
            "aws_internet_gateway" => GatewayKind::Internet,
            "aws_egress_only_internet_gateway" => GatewayKind::EgressOnly,
            "aws_nat_gateway" => GatewayKind::Nat,
            "aws_vpn_gateway" | "aws_ec2_transit_gateway" => GatewayKind::Other,
            _ => continue,
        };
        net.gateways.push(Gateway { res: i, kind });
    }
    for (i, r) in tpl.resources.iter().enumerate() {
        adapt_resource(&rd, i, r, &mut net);
    }
    net
}

fn adapt_resource(rd: &Reader, i: usize, r: &Resource, net: &mut Network) {
    let p = |k: &str| set(rd.prop(r, k));
    let pos = r.props_pos;
    match r.rtype.as_str() {
        "aws_vpc" => net.vpcs.push(Vpc {
            res: i,
            cidrs: p("cidr_block")
                .and_then(|c| rd.cidr(c))
                .into_iter()
                .collect(),
            ipv6: match (
                p("ipv6_cidr_block"),
                rd.bool(p("assign_generated_ipv6_cidr_block"), false),
            ) {
                (Some(_), _) | (_, Val::Known(true)) => Val::Known(true),
                (None, other) => other,
            },
        }),
        "aws_vpc_ipv4_cidr_block_association" => {
            if let (Some(Link::Res(v)), Some(c)) = (
                rd.link(p("vpc_id")),
                p("cidr_block").and_then(|c| rd.cidr(c)),
            ) {
                if let Some(vpc) = net.vpcs.iter_mut().find(|x| x.res == v) {
                    vpc.cidrs.push(c);
                }
            }
        }
        "aws_subnet" => net.subnets.push(Subnet {
            res: i,
            vpc: rd.link(p("vpc_id")).unwrap_or_else(|| missing("vpc_id", r)),
            cidr: p("cidr_block").and_then(|c| rd.cidr(c)),
            ipv6: Val::Known(p("ipv6_cidr_block").is_some()),
            map_public_ip: rd.bool(p("map_public_ip_on_launch"), false),
            assign_ipv6: rd.bool(p("assign_ipv6_address_on_creation"), false),
        }),
        "aws_route_table" | "aws_default_route_table" => {
            let main = r.rtype == "aws_default_route_table";
            let vpc = if main {
                rd.link(p("vpc_id"))
                    .or_else(|| rd.link(p("default_route_table_id")))
            } else {
                rd.link(p("vpc_id"))
            };
            let mut routes = Vec::new();
            for item in rd.items(p("route")).unwrap_or_default() {
                routes.push(route(rd, &item, net, item.pos));
            }
            net.route_tables.push(RouteTable {
                res: i,
                vpc: vpc.unwrap_or_else(|| missing("vpc_id", r)),
                routes,
                main,
            });
        }
        "aws_route" => {
            let table = rd
                .link(p("route_table_id"))
                .unwrap_or_else(|| missing("route_table_id", r));
            if let Some(props) = &r.props {
                net.routes.push((table, route(rd, props, net, r.pos)));
            }
        }
        "aws_route_table_association" => {
            if let (Some(s), Some(t)) = (rd.link(p("subnet_id")), rd.link(p("route_table_id"))) {
                net.route_table_assocs.push((s, t));
            }
        }
        "aws_main_route_table_association" => {
            if let (Some(v), Some(t)) = (rd.link(p("vpc_id")), rd.link(p("route_table_id"))) {
                net.main_route_tables.push((v, t));
            }
        }
        "aws_network_acl" | "aws_default_network_acl" => {
            let default = r.rtype == "aws_default_network_acl";
            let vpc = rd
                .link(p("vpc_id"))
                .or_else(|| rd.link(p("default_network_acl_id")));
            let mut entries = Vec::new();
            for (key, egress) in [("ingress", false), ("egress", true)] {
                for item in rd.items(p(key)).unwrap_or_default() {
                    entries.push(acl_entry(rd, &item, Some(egress), "rule_no", "action"));
                }
            }
            net.nacls.push(Nacl {
                res: i,
                vpc: vpc.unwrap_or_else(|| missing("vpc_id", r)),
                entries,
                default,
                subnets: rd.links(p("subnet_ids")),
            });
        }
        "aws_network_acl_rule" => {
            let acl = rd
                .link(p("network_acl_id"))
                .unwrap_or_else(|| missing("network_acl_id", r));
            if let Some(props) = &r.props {
                net.nacl_entries.push((
                    acl,
                    acl_entry(rd, props, None, "rule_number", "rule_action"),
                ));
            }
        }
        "aws_network_acl_association" => {
            if let (Some(s), Some(a)) = (rd.link(p("subnet_id")), rd.link(p("network_acl_id"))) {
                net.nacl_assocs.push((s, a));
            }
        }
        "aws_security_group" | "aws_default_security_group" => {
            let mut ingress = Vec::new();
            for item in rd.items(p("ingress")).unwrap_or_default() {
                ingress.extend(sg_rules(rd, &item, Some(i), None));
            }
            net.groups.push(SecurityGroup {
                res: i,
                vpc: rd.link(p("vpc_id")),
                ingress,
                default: r.rtype == "aws_default_security_group",
            });
        }
        "aws_security_group_rule" => {
            if !matches!(p("type").and_then(|t| rd.string(t)), Some(Val::Known(ref t)) if t == "ingress")
            {
                return;
            }
            let group = rd
                .link(p("security_group_id"))
                .unwrap_or_else(|| missing("security_group_id", r));
            let own = if let Link::Res(g) = group {
                Some(g)
            } else {
                None
            };
            let uncertain = if let Link::Unknown(w) = &group {
                Some(w.clone())
            } else {
                None
            };
            if let Some(props) = &r.props {
                for rule in sg_rules(rd, props, own, uncertain) {
                    net.ingress.push((group.clone(), rule));
                }
            }
        }
        "aws_vpc_security_group_ingress_rule" => {
            let group = rd
                .link(p("security_group_id"))
                .unwrap_or_else(|| missing("security_group_id", r));
            let uncertain = if let Link::Unknown(w) = &group {
                Some(w.clone())
            } else {
                None
            };
            let proto = rd.proto(p("ip_protocol"), pos);
            let ports = rd.ports(&proto, p("from_port"), p("to_port"), pos);
            let peer = if let Some(c) = p("cidr_ipv4").or(p("cidr_ipv6")).and_then(|c| rd.cidr(c)) {
                Peer::Cidr(c)
            } else if let Some(pl) = rd.link(p("prefix_list_id")) {
                Peer::PrefixList(pl)
            } else if let Some(g) = rd.link(p("referenced_security_group_id")) {
                Peer::Group(g)
            } else {
                Peer::Cidr(Val::Unknown(Reason::new("the rule names no source", pos)))
            };
            net.ingress.push((
                group,
                SgRule {
                    proto,
                    ports,
                    peer,
                    uncertain,
                    pos: r.pos,
                },
            ));
        }
        "aws_ec2_managed_prefix_list" => {
            let cidrs = rd
                .items(p("entry"))
                .unwrap_or_default()
                .iter()
                .filter_map(|e| set(field(e, "cidr")).and_then(|c| rd.cidr(c)))
                .collect();
            net.prefix_lists.push(PrefixList { res: i, cidrs });
        }
        "aws_instance" => {
            let mut groups = rd.links(p("vpc_security_group_ids"));
            groups.extend(rd.links(p("security_groups")));
            // Not configured: AWS decides from the subnet's MapPublicIpOnLaunch.
            let public_ip = match r
                .props
                .as_ref()
                .and_then(|v| v.get("associate_public_ip_address"))
            {
                Some(Value {
                    node:
                        Node::Computed {
                            configured: false, ..
                        },
                    ..
                })
                | None => None,
                Some(v) if matches!(v.node, Node::Null) => None,
                Some(v) => Some(rd.bool(Some(v), false)),
            };
            let ipv6 = match (
                p("ipv6_address_count").and_then(|c| rd.int(c)),
                p("ipv6_addresses"),
            ) {
                (Some(Val::Known(n)), _) if n > 0 => Some(Val::Known(true)),
                (_, Some(_)) => Some(Val::Known(true)),
                (Some(Val::Unknown(w)), _) => Some(Val::Unknown(w)),
                _ => None,
            };
            let mut attached = Vec::new();
            for ni in rd.items(p("network_interface")).unwrap_or_default() {
                if let Some(e) = rd.link(set(field(&ni, "network_interface_id"))) {
                    let idx = field(&ni, "device_index")
                        .and_then(|v| rd.int(v))
                        .and_then(|v| v.known().copied())
                        .unwrap_or(0);
                    attached.push((e, idx));
                }
            }
            let mut enis = Vec::new();
            if attached.iter().all(|(_, idx)| *idx != 0) {
                enis.push(Eni {
                    id: format!("{}.network_interface[0]", r.id),
                    res: None,
                    subnet: rd.link(p("subnet_id")),
                    groups,
                    public_ip,
                    ipv6,
                    at_launch: true,
                    device_index: 0,
                    pos: r.pos,
                });
            }
            let private_ip = p("private_ip")
                .and_then(|v| rd.string(v))
                .and_then(|s| s.known().and_then(|s| s.parse::<std::net::IpAddr>().ok()))
                .map(ipnet::IpNet::from);
            net.instances.push(Instance {
                res: i,
                enis,
                attached,
                private_ip,
            });
        }
        "aws_network_interface" => {
            net.enis.push(Eni {
                id: r.id.clone(),
                res: Some(i),
                subnet: Some(
                    rd.link(p("subnet_id"))
                        .unwrap_or_else(|| missing("subnet_id", r)),
                ),
                groups: rd.links(p("security_groups")),
                public_ip: None,
                ipv6: match p("ipv6_address_count").and_then(|c| rd.int(c)) {
                    Some(Val::Known(n)) => Some(Val::Known(n > 0)),
                    Some(Val::Unknown(w)) => Some(Val::Unknown(w)),
                    None => p("ipv6_addresses").map(|_| Val::Known(true)),
                },
                at_launch: false,
                device_index: 0,
                pos: r.pos,
            });
            for a in rd.items(p("attachment")).unwrap_or_default() {
                if let Some(inst) = rd.link(set(field(&a, "instance"))) {
                    let idx = field(&a, "device_index")
                        .and_then(|v| rd.int(v))
                        .and_then(|v| v.known().copied())
                        .unwrap_or(1);
                    net.eni_attachments.push((Link::Res(i), inst, idx));
                }
            }
        }
        "aws_network_interface_attachment" => {
            if let (Some(e), Some(inst)) = (
                rd.link(p("network_interface_id")),
                rd.link(p("instance_id")),
            ) {
                let idx = p("device_index")
                    .and_then(|v| rd.int(v))
                    .and_then(|v| v.known().copied())
                    .unwrap_or(1);
                net.eni_attachments.push((e, inst, idx));
            }
        }
        "aws_eip" | "aws_eip_association" => {
            let inst = rd.link(p("instance").or(p("instance_id")));
            let eni = rd.link(p("network_interface").or(p("network_interface_id")));
            if inst.is_some() || eni.is_some() {
                net.eips.push(Eip {
                    instance: inst,
                    eni,
                });
            }
        }
        "aws_lb" | "aws_alb" => {
            let kind = match p("load_balancer_type").and_then(|v| rd.string(v)) {
                Some(Val::Known(t)) if t == "network" => LbKind::Network,
                Some(Val::Known(t)) if t == "gateway" => LbKind::Gateway,
                _ => LbKind::Application,
            };
            let mut subnets = rd.links(p("subnets"));
            for m in rd.items(p("subnet_mapping")).unwrap_or_default() {
                subnets.extend(rd.link(set(field(&m, "subnet_id"))));
            }
            net.load_balancers.push(LoadBalancer {
                res: i,
                kind,
                internet_facing: match rd.bool(p("internal"), false) {
                    Val::Known(b) => Val::Known(!b),
                    Val::Unknown(w) => Val::Unknown(w),
                },
                dualstack: matches!(p("ip_address_type").and_then(|v| rd.string(v)), Some(Val::Known(t)) if t.starts_with("dualstack")),
                subnets,
                groups: p("security_groups").map(|g| rd.links(Some(g))),
                listeners: Vec::new(),
                instances: Vec::new(),
            });
        }
        "aws_lb_listener" | "aws_alb_listener" => {
            let lb = rd
                .link(p("load_balancer_arn"))
                .unwrap_or_else(|| missing("load_balancer_arn", r));
            let (tcp, udp) = protocols(rd, p("protocol"));
            net.listeners.push((
                lb,
                Listener {
                    id: r.id.clone(),
                    res: Some(i),
                    rtype: "AWS::ElasticLoadBalancingV2::Listener",
                    port: rd.port(p("port"), "port", pos),
                    tcp,
                    udp,
                    target_groups: forwards(rd, p("default_action")),
                    instance_port: None,
                    pos: r.pos,
                },
            ));
        }
        "aws_lb_listener_rule" | "aws_alb_listener_rule" => {
            if let Some(l) = rd.link(p("listener_arn")) {
                net.listener_rules.push((l, forwards(rd, p("action"))));
            }
        }
        "aws_lb_target_group" | "aws_alb_target_group" => net.target_groups.push(TargetGroup {
            res: i,
            port: p("port").map(|v| rd.port(Some(v), "port", pos)),
            target_type: p("target_type")
                .and_then(|v| rd.string(v))
                .unwrap_or(Val::Known("instance".into())),
            targets: Vec::new(),
        }),
        "aws_lb_target_group_attachment" | "aws_alb_target_group_attachment" => {
            if let (Some(tg), Some(t)) = (rd.link(p("target_group_arn")), rd.link(p("target_id"))) {
                net.attachments
                    .push((tg, t, p("port").map(|v| rd.port(Some(v), "port", pos))));
            }
        }
        "aws_elb" => {
            let mut listeners = Vec::new();
            for (k, l) in rd
                .items(p("listener"))
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let (tcp, udp) = protocols(rd, field(l, "lb_protocol"));
                listeners.push(Listener {
                    id: format!("{}.listener[{k}]", r.id),
                    res: None,
                    rtype: "AWS::ElasticLoadBalancing::LoadBalancer.Listeners",
                    port: rd.port(field(l, "lb_port"), "lb_port", l.pos),
                    tcp,
                    udp,
                    target_groups: Vec::new(),
                    instance_port: Some(rd.port(field(l, "instance_port"), "instance_port", l.pos)),
                    pos: l.pos,
                });
            }
            net.load_balancers.push(LoadBalancer {
                res: i,
                kind: LbKind::Classic,
                internet_facing: match rd.bool(p("internal"), false) {
                    Val::Known(b) => Val::Known(!b),
                    Val::Unknown(w) => Val::Unknown(w),
                },
                dualstack: false,
                subnets: rd.links(p("subnets")),
                groups: p("security_groups").map(|g| rd.links(Some(g))),
                listeners,
                instances: rd.links(p("instances")),
            });
        }
        _ => {}
    }
}

fn protocols(rd: &Reader, v: Option<&Value>) -> (bool, bool) {
    match v.and_then(|v| rd.string(v)) {
        Some(Val::Known(p)) => match p.to_ascii_uppercase().as_str() {
            "UDP" => (false, true),
            "TCP_UDP" => (true, true),
            _ => (true, false),
        },
        _ => (true, false),
    }
}

fn forwards(rd: &Reader, actions: Option<&Value>) -> Vec<Link> {
    let mut out = Vec::new();
    for a in rd.items(actions).unwrap_or_default() {
        if !matches!(field(&a, "type").and_then(|t| rd.string(t)), Some(Val::Known(ref t)) if t == "forward")
        {
            continue;
        }
        out.extend(rd.link(set(field(&a, "target_group_arn"))));
        for f in rd.items(field(&a, "forward")).unwrap_or_default() {
            for tg in rd.items(field(&f, "target_group")).unwrap_or_default() {
                out.extend(rd.link(set(field(&tg, "arn"))));
            }
        }
    }
    out
}

fn route(rd: &Reader, m: &Value, net: &Network, pos: crate::doc::Pos) -> Route {
    let f = |k: &str| set(field(m, k));
    let dest = if let Some(pl) = f("destination_prefix_list_id") {
        Dest::PrefixList(
            rd.link(Some(pl))
                .unwrap_or(Link::Unknown(Reason::new("no prefix list", pos))),
        )
    } else {
        Dest::Cidr(
            f("destination_cidr_block")
                .or(f("cidr_block"))
                .or(f("destination_ipv6_cidr_block"))
                .or(f("ipv6_cidr_block"))
                .and_then(|c| rd.cidr(c))
                .unwrap_or(Val::Unknown(Reason::new(
                    "the route has no destination",
                    pos,
                ))),
        )
    };
    let target = if let Some(g) = f("gateway_id") {
        gateway_target(rd, rd.link(Some(g)), net)
    } else if f("egress_only_gateway_id").is_some() {
        Target::EgressOnly
    } else if f("nat_gateway_id").is_some() || f("instance_id").is_some() {
        Target::Nat
    } else {
        Target::Other
    };
    Route { dest, target, pos }
}

fn acl_entry(
    rd: &Reader,
    m: &Value,
    egress: Option<bool>,
    number_key: &str,
    action_key: &str,
) -> NaclEntry {
    let pos = m.pos;
    let f = |k: &str| set(field(m, k));
    let proto = rd.proto(f("protocol"), pos);
    let ports = rd.ports(&proto, field(m, "from_port"), field(m, "to_port"), pos);
    let (egress, uncertain) = match egress {
        Some(e) => (e, None),
        None => match rd.bool(field(m, "egress"), false) {
            Val::Known(e) => (e, None),
            Val::Unknown(w) => (false, Some(w)),
        },
    };
    NaclEntry {
        number: f(number_key)
            .and_then(|v| rd.int(v))
            .unwrap_or(Val::Unknown(Reason::new("the rule has no number", pos))),
        egress,
        allow: match f(action_key).and_then(|v| rd.string(v)) {
            Some(Val::Known(a)) if a.eq_ignore_ascii_case("allow") => Val::Known(true),
            Some(Val::Known(a)) if a.eq_ignore_ascii_case("deny") => Val::Known(false),
            Some(Val::Known(a)) => Val::Unknown(Reason::new(
                format!("action {a:?} is neither allow nor deny"),
                pos,
            )),
            Some(Val::Unknown(w)) => Val::Unknown(w),
            None => Val::Unknown(Reason::new("the rule has no action", pos)),
        },
        proto,
        ports,
        cidr: f("cidr_block")
            .or(f("ipv6_cidr_block"))
            .and_then(|c| rd.cidr(c))
            .unwrap_or(Val::Unknown(Reason::new(
                "the rule has neither cidr_block nor ipv6_cidr_block",
                pos,
            ))),
        uncertain,
        pos,
    }
}

/// Rules of an inline `ingress` block or an `aws_security_group_rule`, one
/// per source.
fn sg_rules(rd: &Reader, m: &Value, own: Option<usize>, uncertain: Option<Reason>) -> Vec<SgRule> {
    let pos = m.pos;
    let f = |k: &str| set(field(m, k));
    let proto = rd.proto(f("protocol"), pos);
    let ports = rd.ports(&proto, field(m, "from_port"), field(m, "to_port"), pos);
    let mut peers = Vec::new();
    for key in ["cidr_blocks", "ipv6_cidr_blocks"] {
        if let Some(v) = f(key) {
            match rd.items(Some(v)) {
                Ok(items) => peers.extend(items.iter().filter_map(|c| rd.cidr(c)).map(Peer::Cidr)),
                Err(w) => peers.push(Peer::Cidr(Val::Unknown(w))),
            }
        }
    }
    peers.extend(
        rd.links(f("prefix_list_ids"))
            .into_iter()
            .map(Peer::PrefixList),
    );
    peers.extend(rd.links(f("security_groups")).into_iter().map(Peer::Group));
    peers.extend(rd.link(f("source_security_group_id")).map(Peer::Group));
    if matches!(rd.bool(f("self"), false), Val::Known(true)) {
        if let Some(g) = own {
            peers.push(Peer::Group(Link::Res(g)));
        }
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
