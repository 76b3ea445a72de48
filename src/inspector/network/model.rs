//! The canonical network model of one template: what the analysis reads.
//! One adapter per input format fills it ([`super::cfn`], [`super::terraform`]);
//! the analysis ([`super::analysis`]) is written once, on this model only.
//!
//! Links between components are template resource indexes; a value the
//! template cannot tell is `Unknown` with its reason and position, and the
//! analysis turns it into an `unknown` result, never into a pass.

use ipnet::IpNet;

use crate::doc::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// Why a value is not known, and where.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reason {
    pub message: String,
    pub pos: Pos,
}

impl Reason {
    pub fn new(message: impl Into<String>, pos: Pos) -> Self {
        Reason {
            message: message.into(),
            pos,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pos.line > 0 {
            write!(f, "{} (line {})", self.message, self.pos.line)
        } else {
            f.write_str(&self.message)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Val<T> {
    Known(T),
    Unknown(Reason),
}

impl<T> Val<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(t) => Some(t),
            Val::Unknown(_) => None,
        }
    }

    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Val::Known(_) => None,
            Val::Unknown(r) => Some(r),
        }
    }
}

/// A reference to another component.
#[derive(Clone, Debug, PartialEq)]
pub enum Link {
    /// A resource of this template (its index in `Template::resources`).
    Res(usize),
    /// An id of something outside the template (`sg-0123`, `igw-0abc`, `pl-...`).
    External(String),
    Unknown(Reason),
}

/// A protocol as security group and network ACL rules name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    All,
    Tcp,
    Udp,
    Icmp,
    Other(u8),
}

impl Proto {
    /// `-1`/`all`, `tcp`/`6`, `udp`/`17`, `icmp`/`1`, `icmpv6`/`58`, or a number.
    pub fn parse(s: &str) -> Option<Proto> {
        match s.trim().to_ascii_lowercase().as_str() {
            "-1" | "all" => Some(Proto::All),
            "tcp" | "6" => Some(Proto::Tcp),
            "udp" | "17" => Some(Proto::Udp),
            "icmp" | "1" => Some(Proto::Icmp),
            "icmpv6" | "58" => Some(Proto::Other(58)),
            other => other.parse::<u8>().ok().map(Proto::Other),
        }
    }
}

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ports {
    pub from: u16,
    pub to: u16,
}

impl Ports {
    pub const ALL: Ports = Ports { from: 0, to: 65535 };
}

/// Where a security group rule admits traffic from.
#[derive(Clone, Debug, PartialEq)]
pub enum Peer {
    Cidr(Val<IpNet>),
    PrefixList(Link),
    Group(Link),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SgRule {
    pub proto: Val<Proto>,
    /// Ignored for `All` (and for ICMP).
    pub ports: Val<Ports>,
    pub peer: Peer,
    /// Set when it is not known whether the rule belongs to this group at all
    /// (a standalone ingress resource whose GroupId cannot be resolved).
    pub uncertain: Option<Reason>,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NaclEntry {
    pub number: Val<i64>,
    pub egress: bool,
    /// true = allow, false = deny.
    pub allow: Val<bool>,
    pub proto: Val<Proto>,
    pub ports: Val<Ports>,
    pub cidr: Val<IpNet>,
    pub uncertain: Option<Reason>,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Dest {
    Cidr(Val<IpNet>),
    PrefixList(Link),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Internet gateway (the link names it, for the path).
    Internet(Link),
    /// Egress-only internet gateway: outbound IPv6 only.
    EgressOnly,
    /// NAT gateway or instance: outbound only.
    Nat,
    /// VPN / transit gateway, peering, endpoint, local...: not the internet.
    Other,
    Unknown(Reason),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub dest: Dest,
    pub target: Target,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Vpc {
    pub res: usize,
    pub cidrs: Vec<Val<IpNet>>,
    /// Whether the VPC has an IPv6 block (its value is usually Amazon-provided).
    pub ipv6: Val<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subnet {
    pub res: usize,
    pub vpc: Link,
    pub cidr: Option<Val<IpNet>>,
    /// The subnet has an IPv6 block (its value may be unknown).
    pub ipv6: Val<bool>,
    pub map_public_ip: Val<bool>,
    pub assign_ipv6: Val<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RouteTable {
    pub res: usize,
    pub vpc: Link,
    pub routes: Vec<Route>,
    /// Terraform's aws_default_route_table: the VPC's main table.
    pub main: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Nacl {
    pub res: usize,
    pub vpc: Link,
    pub entries: Vec<NaclEntry>,
    /// Terraform's aws_default_network_acl: the VPC's default ACL, with these rules.
    pub default: bool,
    /// Subnets listed on the ACL itself (Terraform `subnet_ids`).
    pub subnets: Vec<Link>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SecurityGroup {
    pub res: usize,
    pub vpc: Option<Link>,
    pub ingress: Vec<SgRule>,
    /// Terraform's aws_default_security_group.
    pub default: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PrefixList {
    pub res: usize,
    pub cidrs: Vec<Val<IpNet>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayKind {
    Internet,
    EgressOnly,
    Nat,
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gateway {
    pub res: usize,
    pub kind: GatewayKind,
}

/// A network interface: standalone, declared inline on an instance, or the
/// instance's implicit primary interface.
#[derive(Clone, Debug, PartialEq)]
pub struct Eni {
    /// Component id for the path (`Eni` resource id, or `Instance.NetworkInterfaces[0]`).
    pub id: String,
    /// The standalone resource, if any.
    pub res: Option<usize>,
    /// None: the instance names no subnet and launches in the default VPC.
    pub subnet: Option<Link>,
    pub groups: Vec<Link>,
    /// Public IPv4 from the interface itself (AssociatePublicIpAddress); None
    /// means "as the subnet says" (MapPublicIpOnLaunch) for interfaces created
    /// at launch, and no public address for standalone ones.
    pub public_ip: Option<Val<bool>>,
    /// Gets IPv6 addresses (Ipv6AddressCount > 0, Ipv6Addresses); None: as the subnet says.
    pub ipv6: Option<Val<bool>>,
    /// Created with the instance (MapPublicIpOnLaunch applies) rather than standalone.
    pub at_launch: bool,
    pub device_index: i64,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub res: usize,
    pub enis: Vec<Eni>,
    /// Standalone interfaces attached to it (resolved from attachments).
    pub attached: Vec<(Link, i64)>,
    /// Private IPv4 address, when literal (for `ip` target groups).
    pub private_ip: Option<IpNet>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Eip {
    pub instance: Option<Link>,
    pub eni: Option<Link>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbKind {
    Application,
    Network,
    Classic,
    Gateway,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Listener {
    pub id: String,
    /// The standalone listener resource (ELBv2), None for classic inline listeners.
    pub res: Option<usize>,
    pub rtype: &'static str,
    pub port: Val<u16>,
    /// TCP, UDP or both (TCP_UDP).
    pub tcp: bool,
    pub udp: bool,
    pub target_groups: Vec<Link>,
    /// Classic load balancers: the instance port the listener forwards to.
    pub instance_port: Option<Val<u16>>,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LoadBalancer {
    pub res: usize,
    pub kind: LbKind,
    pub internet_facing: Val<bool>,
    pub dualstack: bool,
    pub subnets: Vec<Link>,
    /// None: no security groups given (an ALB then uses the VPC's default group;
    /// an NLB without groups filters nothing).
    pub groups: Option<Vec<Link>>,
    pub listeners: Vec<Listener>,
    /// Classic load balancers list their instances.
    pub instances: Vec<Link>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TargetGroup {
    pub res: usize,
    pub port: Option<Val<u16>>,
    /// `instance` (default), `ip`, `lambda` or `alb`.
    pub target_type: Val<String>,
    pub targets: Vec<(Link, Option<Val<u16>>)>,
}

/// The whole model. Standalone rules, routes, entries and associations are kept
/// with the link to their parent, and joined by the analysis.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub nacls: Vec<Nacl>,
    pub groups: Vec<SecurityGroup>,
    pub prefix_lists: Vec<PrefixList>,
    pub gateways: Vec<Gateway>,
    pub instances: Vec<Instance>,
    pub enis: Vec<Eni>,
    pub eips: Vec<Eip>,
    pub load_balancers: Vec<LoadBalancer>,
    pub target_groups: Vec<TargetGroup>,
    /// Standalone (route table, route).
    pub routes: Vec<(Link, Route)>,
    /// Standalone (network ACL, entry).
    pub nacl_entries: Vec<(Link, NaclEntry)>,
    /// Standalone (security group, ingress rule).
    pub ingress: Vec<(Link, SgRule)>,
    /// (subnet, route table).
    pub route_table_assocs: Vec<(Link, Link)>,
    /// (VPC, route table) made main.
    pub main_route_tables: Vec<(Link, Link)>,
    /// (subnet, network ACL).
    pub nacl_assocs: Vec<(Link, Link)>,
    /// (interface, instance, device index).
    pub eni_attachments: Vec<(Link, Link, i64)>,
    /// Standalone listeners: (load balancer, listener).
    pub listeners: Vec<(Link, Listener)>,
    /// Listener rules: (listener resource, target groups).
    pub listener_rules: Vec<(Link, Vec<Link>)>,
    /// Standalone target attachments: (target group, target, port).
    pub attachments: Vec<(Link, Link, Option<Val<u16>>)>,
}
