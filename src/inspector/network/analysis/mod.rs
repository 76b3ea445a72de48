//! The reachability analysis, written once on the canonical model.
//!
//! A packet from the internet reaches an interface when: the interface has a
//! public address of its family; the subnet's route table sends the reply to
//! an internet gateway (longest prefix match); the subnet's network ACL admits
//! it inbound and lets the reply out on an ephemeral port (ACLs are stateless,
//! rules in number order, first match wins); and one of the interface's
//! security groups admits it (groups are allow-only and stateful).
//!
//! Values the template cannot tell are handled by evaluating twice: once
//! resolving every unknown towards "reachable" (optimistic) and once towards
//! "not reachable" (pessimistic). Reachable in both → Open; only in the
//! optimistic run → Unknown, with the reasons met on the way.

use std::collections::{BTreeSet, HashMap};

use super::addr::AddrSet;
use super::model::*;
use super::{Exposure, InstanceReport, NetworkReport, PortRange, Protocol, Status, Step, Via};
use crate::doc::Template;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Optimistic,
    Pessimistic,
}
use Mode::{Optimistic as Opt, Pessimistic as Pes};

/// A target group member: the target and its port, if it names one.
type Member<'a> = (&'a Link, &'a Option<Val<u16>>);

/// Reasons met during one optimistic evaluation.
type Reasons = BTreeSet<Reason>;

const EPHEMERAL: Ports = Ports {
    from: 1024,
    to: 65535,
};

/// Yes, no, or depends on something unknown.
#[derive(Clone, Debug, PartialEq)]
enum Tri {
    Yes,
    No,
    Maybe(Reason),
}

impl Tri {
    fn from_val(v: &Val<bool>) -> Tri {
        match v {
            Val::Known(true) => Tri::Yes,
            Val::Known(false) => Tri::No,
            Val::Unknown(r) => Tri::Maybe(r.clone()),
        }
    }

    /// Whether it holds in this mode; a Maybe consulted optimistically is recorded.
    fn pick(&self, mode: Mode, why: &mut Reasons) -> bool {
        match self {
            Tri::Yes => true,
            Tri::No => false,
            Tri::Maybe(r) => {
                if mode == Opt {
                    why.insert(r.clone());
                }
                mode == Opt
            }
        }
    }

    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Maybe(r), _) | (_, Tri::Maybe(r)) => Tri::Maybe(r),
            _ => Tri::Yes,
        }
    }

    fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::Maybe(r), _) | (_, Tri::Maybe(r)) => Tri::Maybe(r),
            _ => Tri::No,
        }
    }
}

/// Which network ACL a subnet uses.
#[derive(Clone, Debug)]
enum AclRef {
    /// The VPC's default ACL with its default rules (allow all).
    DefaultAllowAll(String),
    Custom(usize),
    Unknown(Reason, String),
}

/// Where an interface is: a subnet of the template, the default VPC, or unknown.
#[derive(Clone, Debug)]
enum Place {
    Subnet(usize),
    DefaultVpc,
    Unknown(Reason),
}

/// A security group of an interface.
#[derive(Clone, Debug)]
enum GroupRef {
    Model(usize),
    /// The VPC's default group as AWS creates it: admits only its own members.
    DefaultSelfOnly(String),
    Unknown(Reason, String),
}

struct Ctx<'a> {
    tpl: &'a Template,
    net: &'a Network,
    vpc: HashMap<usize, usize>,
    subnet: HashMap<usize, usize>,
    table: HashMap<usize, usize>,
    acl: HashMap<usize, usize>,
    group: HashMap<usize, usize>,
    plist: HashMap<usize, usize>,
    eni: HashMap<usize, usize>,
    tg: HashMap<usize, usize>,
    routes: HashMap<usize, Vec<&'a Route>>,
    /// Routes whose table cannot be resolved: they may belong to any table.
    stray_routes: Vec<&'a Route>,
    entries: HashMap<usize, Vec<&'a NaclEntry>>,
    stray_entries: Vec<NaclEntry>,
    rules: HashMap<usize, Vec<&'a SgRule>>,
    stray_rules: Vec<SgRule>,
    listeners: HashMap<usize, Vec<&'a Listener>>,
    rule_targets: HashMap<usize, Vec<&'a Link>>,
    attachments: HashMap<usize, Vec<Member<'a>>>,
}

fn index<T>(items: &[T], key: impl Fn(&T) -> usize) -> HashMap<usize, usize> {
    items.iter().enumerate().map(|(i, x)| (key(x), i)).collect()
}

pub fn run(tpl: &Template, net: &Network) -> NetworkReport {
    let mut cx = Ctx {
        tpl,
        net,
        vpc: index(&net.vpcs, |v| v.res),
        subnet: index(&net.subnets, |s| s.res),
        table: index(&net.route_tables, |t| t.res),
        acl: index(&net.nacls, |a| a.res),
        group: index(&net.groups, |g| g.res),
        plist: index(&net.prefix_lists, |p| p.res),
        eni: net
            .enis
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.res.map(|r| (r, i)))
            .collect(),
        tg: index(&net.target_groups, |t| t.res),
        routes: HashMap::new(),
        stray_routes: Vec::new(),
        entries: HashMap::new(),
        stray_entries: Vec::new(),
        rules: HashMap::new(),
        stray_rules: Vec::new(),
        listeners: HashMap::new(),
        rule_targets: HashMap::new(),
        attachments: HashMap::new(),
    };
    for (i, t) in net.route_tables.iter().enumerate() {
        cx.routes.entry(i).or_default().extend(t.routes.iter());
    }
    for (link, r) in &net.routes {
        match link {
            Link::Res(t) => {
                if let Some(&ti) = cx.table.get(t) {
                    cx.routes.entry(ti).or_default().push(r);
                }
            }
            Link::Unknown(_) => cx.stray_routes.push(r),
            Link::External(_) => {}
        }
    }
    for (i, a) in net.nacls.iter().enumerate() {
        cx.entries.entry(i).or_default().extend(a.entries.iter());
    }
    for (link, e) in &net.nacl_entries {
        match link {
            Link::Res(a) => {
                if let Some(&ai) = cx.acl.get(a) {
                    cx.entries.entry(ai).or_default().push(e);
                }
            }
            Link::Unknown(why) => {
                let mut e = e.clone();
                e.uncertain = Some(why.clone());
                cx.stray_entries.push(e);
            }
            Link::External(_) => {}
        }
    }
    for (i, g) in net.groups.iter().enumerate() {
        cx.rules.entry(i).or_default().extend(g.ingress.iter());
    }
    for (link, r) in &net.ingress {
        match link {
            Link::Res(g) => {
                if let Some(&gi) = cx.group.get(g) {
                    cx.rules.entry(gi).or_default().push(r);
                }
            }
            Link::Unknown(why) => {
                let mut r = r.clone();
                r.uncertain = Some(why.clone());
                cx.stray_rules.push(r);
            }
            Link::External(_) => {}
        }
    }
    for (link, l) in &net.listeners {
        if let Link::Res(lb) = link {
            cx.listeners.entry(*lb).or_default().push(l);
        }
    }
    for (link, tgs) in &net.listener_rules {
        if let Link::Res(l) = link {
            cx.rule_targets.entry(*l).or_default().extend(tgs.iter());
        }
    }
    for (tg, target, port) in &net.attachments {
        if let Link::Res(t) = tg {
            if let Some(&ti) = cx.tg.get(t) {
                cx.attachments.entry(ti).or_default().push((target, port));
            }
        }
    }

    let mut reports: Vec<InstanceReport> = net
        .instances
        .iter()
        .map(|inst| {
            let r = &tpl.resources[inst.res];
            InstanceReport {
                instance: r.id.clone(),
                resource_index: inst.res,
                rtype: r.rtype.clone(),
                pos: r.pos,
                exposures: cx.direct(inst),
            }
        })
        .collect();
    for lb in &net.load_balancers {
        for e in cx.through_load_balancer(lb) {
            if let Some(rep) = reports
                .iter_mut()
                .find(|r| r.resource_index == e.resource_index)
            {
                rep.exposures.push(e);
            }
        }
    }
    for r in &mut reports {
        r.exposures.sort_by(|a, b| {
            (a.protocol, a.family, a.ports, &a.path).cmp(&(b.protocol, b.family, b.ports, &b.path))
        });
        r.exposures.dedup();
    }
    NetworkReport {
        file: tpl.path.to_string(),
        instances: reports,
    }
}

fn universe_for(f: Family) -> AddrSet {
    AddrSet::all(f)
}

fn net_family(n: &ipnet::IpNet) -> Family {
    Family::of(n)
}

fn proto_matches(p: &Val<Proto>, want: Protocol) -> Tri {
    match p {
        Val::Known(Proto::All) => Tri::Yes,
        Val::Known(Proto::Tcp) => {
            if want == Protocol::Tcp {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        Val::Known(Proto::Udp) => {
            if want == Protocol::Udp {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        Val::Known(_) => Tri::No,
        Val::Unknown(r) => Tri::Maybe(r.clone()),
    }
}

/// Whether a rule's ports cover the elementary interval starting at `port`
/// (intervals are cut at every known rule boundary, so a known range either
/// covers the whole interval or none of it).
fn ports_match(proto: &Val<Proto>, ports: &Val<Ports>, port: u16) -> Tri {
    if matches!(proto, Val::Known(Proto::All)) {
        return Tri::Yes;
    }
    match ports {
        Val::Known(p) => {
            if p.from <= port && port <= p.to {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        Val::Unknown(r) => Tri::Maybe(r.clone()),
    }
}

fn uncertain(u: &Option<Reason>) -> Tri {
    match u {
        None => Tri::Yes,
        Some(r) => Tri::Maybe(r.clone()),
    }
}

/// Cut points of `[range.from, range.to]` at the boundaries of the given port ranges.
fn intervals(range: Ports, bounds: impl Iterator<Item = Ports>) -> Vec<Ports> {
    let mut cuts: Vec<u32> = vec![range.from as u32, range.to as u32 + 1];
    for p in bounds {
        for c in [p.from as u32, p.to as u32 + 1] {
            if c > range.from as u32 && c <= range.to as u32 {
                cuts.push(c);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| Ports {
            from: w[0] as u16,
            to: (w[1] - 1) as u16,
        })
        .collect()
}

impl<'a> Ctx<'a> {
    fn id(&self, res: usize) -> &'a str {
        &self.tpl.resources[res].id
    }

    fn place(&self, eni: &Eni) -> Place {
        match &eni.subnet {
            None => Place::DefaultVpc,
            Some(Link::Res(s)) => match self.subnet.get(s) {
                Some(&si) => Place::Subnet(si),
                None => Place::Unknown(Reason::new(
                    format!("{} is not a subnet of this template", self.id(*s)),
                    eni.pos,
                )),
            },
            Some(Link::External(id)) => Place::Unknown(Reason::new(
                format!("subnet {id} is not defined in this template"),
                eni.pos,
            )),
            Some(Link::Unknown(r)) => Place::Unknown(r.clone()),
        }
    }

    fn vpc_of_subnet(&self, si: usize) -> Option<usize> {
        match &self.net.subnets[si].vpc {
            Link::Res(v) => self.vpc.get(v).copied(),
            _ => None,
        }
    }

    fn vpc_name(&self, si: usize) -> String {
        match &self.net.subnets[si].vpc {
            Link::Res(v) => self.id(*v).to_string(),
            Link::External(id) => id.clone(),
            Link::Unknown(_) => "(unknown VPC)".into(),
        }
    }

    // ---- route tables ----------------------------------------------------

    /// The route table of a subnet: (component step, table index if modelled).
    fn subnet_table(&self, si: usize) -> Result<(Step, Option<usize>), Reason> {
        let sres = self.net.subnets[si].res;
        let mut stray = None;
        for (s, t) in &self.net.route_table_assocs {
            match s {
                Link::Res(x) if *x == sres => {
                    return match t {
                        Link::Res(tr) => match self.table.get(tr) {
                            Some(&ti) => {
                                Ok((Step::new(self.id(*tr), "AWS::EC2::RouteTable"), Some(ti)))
                            }
                            None => Err(Reason::new(
                                format!("{} is not a route table of this template", self.id(*tr)),
                                Default::default(),
                            )),
                        },
                        Link::External(id) => Err(Reason::new(
                            format!("route table {id} is not defined in this template"),
                            Default::default(),
                        )),
                        Link::Unknown(r) => Err(r.clone()),
                    };
                }
                Link::Unknown(r) => stray = Some(r.clone()),
                _ => {}
            }
        }
        if let Some(r) = stray {
            return Err(Reason::new(
                format!(
                    "a route table association names a subnet that cannot be known ({})",
                    r.message
                ),
                r.pos,
            ));
        }
        // The VPC's main route table.
        let vpc_res = match &self.net.subnets[si].vpc {
            Link::Res(v) => *v,
            Link::External(id) => {
                return Err(Reason::new(
                    format!(
                        "VPC {id} is not defined in this template: its main route table is unknown"
                    ),
                    Default::default(),
                ))
            }
            Link::Unknown(r) => return Err(r.clone()),
        };
        for (v, t) in &self.net.main_route_tables {
            if *v == Link::Res(vpc_res) {
                if let Link::Res(tr) = t {
                    if let Some(&ti) = self.table.get(tr) {
                        return Ok((Step::new(self.id(*tr), "AWS::EC2::RouteTable"), Some(ti)));
                    }
                }
            }
        }
        for (ti, t) in self.net.route_tables.iter().enumerate() {
            if t.main && t.vpc == Link::Res(vpc_res) {
                return Ok((Step::new(self.id(t.res), "AWS::EC2::RouteTable"), Some(ti)));
            }
        }
        // As created with the VPC: local routes only.
        Ok((
            Step::new(
                format!("{}.main-route-table", self.id(vpc_res)),
                "AWS::EC2::RouteTable",
            ),
            None,
        ))
    }

    /// Addresses whose replies the table sends to an internet gateway, by
    /// longest prefix match, and the gateway (of the widest such route).
    fn internet_routes(
        &self,
        table: Option<usize>,
        vpc: Option<usize>,
        f: Family,
        mode: Mode,
        why: &mut Reasons,
    ) -> (AddrSet, Option<Step>) {
        // (prefix length, set, via internet gateway, gateway step)
        let mut entries: Vec<(u32, AddrSet, bool, Option<Step>)> = Vec::new();
        if let Some(v) = vpc {
            for c in &self.net.vpcs[v].cidrs {
                if let Val::Known(n) = c {
                    if net_family(n) == f {
                        entries.push((n.prefix_len() as u32, AddrSet::net(n), false, None));
                    }
                }
            }
        }
        let routes: Vec<&Route> = table
            .and_then(|t| self.routes.get(&t))
            .map(|r| r.to_vec())
            .unwrap_or_default()
            .into_iter()
            .chain(self.stray_routes.iter().copied())
            .collect();
        for r in routes {
            let (igw, step, target_reason) = match &r.target {
                Target::Internet(link) => (
                    Tri::Yes,
                    Some(match link {
                        Link::Res(g) => Step::new(self.id(*g), "AWS::EC2::InternetGateway"),
                        Link::External(id) => Step::new(id.clone(), "AWS::EC2::InternetGateway"),
                        Link::Unknown(_) => {
                            Step::new("(internet gateway)", "AWS::EC2::InternetGateway")
                        }
                    }),
                    None,
                ),
                Target::Unknown(why) => (
                    Tri::Maybe(why.clone()),
                    Some(Step::new("(unknown gateway)", "AWS::EC2::InternetGateway")),
                    Some(why.clone()),
                ),
                _ => (Tri::No, None, None),
            };
            let mut dests: Vec<Val<ipnet::IpNet>> = Vec::new();
            match &r.dest {
                Dest::Cidr(c) => dests.push(c.clone()),
                Dest::PrefixList(Link::Res(p)) => match self.plist.get(p) {
                    Some(&pi) => dests.extend(self.net.prefix_lists[pi].cidrs.iter().cloned()),
                    None => dests.push(Val::Unknown(Reason::new(
                        "the destination prefix list is not a prefix list of this template",
                        r.pos,
                    ))),
                },
                Dest::PrefixList(Link::External(id)) => dests.push(Val::Unknown(Reason::new(
                    format!("prefix list {id} is not defined in this template"),
                    r.pos,
                ))),
                Dest::PrefixList(Link::Unknown(w)) => dests.push(Val::Unknown(w.clone())),
            }
            for d in dests {
                match (d, &igw) {
                    (Val::Known(n), Tri::Yes | Tri::No) => {
                        if net_family(&n) == f {
                            entries.push((
                                n.prefix_len() as u32,
                                AddrSet::net(&n),
                                igw == Tri::Yes,
                                step.clone(),
                            ));
                        }
                    }
                    (d, _) => {
                        // Unknown destination or target: optimistically the
                        // route sends everything it may to the gateway;
                        // pessimistically it takes everything elsewhere.
                        let could_igw = igw != Tri::No;
                        let could_other = igw != Tri::Yes;
                        let reason = d.reason().cloned().or(target_reason.clone());
                        let known_dest = d.known().filter(|n| net_family(n) == f).cloned();
                        if d.known().is_some() && known_dest.is_none() {
                            continue; // the other family
                        }
                        if let (Opt, Some(r)) = (mode, reason) {
                            why.insert(r);
                        }
                        let (len, set) = match &known_dest {
                            Some(n) => (n.prefix_len() as u32, AddrSet::net(n)),
                            None => (if mode == Opt { 0 } else { 129 }, universe_for(f)),
                        };
                        if mode == Opt && could_igw {
                            entries.push((len, set, true, step.clone()));
                        } else if mode == Pes && could_other {
                            entries.push((len, set, false, None));
                        }
                    }
                }
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut claimed = AddrSet::empty();
        let mut out = AddrSet::empty();
        let mut gateway: Option<(u32, Step)> = None;
        for (len, set, is_igw, step) in entries {
            let m = set.minus(&claimed);
            if is_igw && !m.is_empty() {
                out = out.union(&m);
                if let Some(s) = step {
                    if gateway.as_ref().is_none_or(|(l, _)| len <= *l) {
                        gateway = Some((len, s));
                    }
                }
            }
            claimed = claimed.union(&set);
        }
        (out, gateway.map(|(_, s)| s))
    }

    // ---- network ACLs ----------------------------------------------------

    fn subnet_acl(&self, si: usize) -> AclRef {
        let sres = self.net.subnets[si].res;
        let vpc_name = self.vpc_name(si);
        let default_step = format!("{vpc_name}.default-network-acl");
        let mut stray: Option<Reason> = None;
        for (s, a) in &self.net.nacl_assocs {
            match s {
                Link::Res(x) if *x == sres => {
                    return match a {
                        Link::Res(ar) => match self.acl.get(ar) {
                            Some(&ai) => AclRef::Custom(ai),
                            None => AclRef::Unknown(
                                Reason::new(
                                    format!(
                                        "{} is not a network ACL of this template",
                                        self.id(*ar)
                                    ),
                                    Default::default(),
                                ),
                                self.id(*ar).into(),
                            ),
                        },
                        Link::External(id) => AclRef::Unknown(
                            Reason::new(
                                format!("network ACL {id} is not defined in this template"),
                                Default::default(),
                            ),
                            id.clone(),
                        ),
                        Link::Unknown(r) => {
                            AclRef::Unknown(r.clone(), "(unknown network ACL)".into())
                        }
                    };
                }
                Link::Unknown(r) => stray = Some(r.clone()),
                _ => {}
            }
        }
        for (ai, a) in self.net.nacls.iter().enumerate() {
            if a.subnets.contains(&Link::Res(sres)) {
                return AclRef::Custom(ai);
            }
        }
        if let Some(r) = stray {
            return AclRef::Unknown(
                Reason::new(
                    format!(
                        "a network ACL association names a subnet that cannot be known ({})",
                        r.message
                    ),
                    r.pos,
                ),
                default_step,
            );
        }
        // Terraform can manage the default ACL's rules.
        if let Link::Res(v) = &self.net.subnets[si].vpc {
            for (ai, a) in self.net.nacls.iter().enumerate() {
                if a.default && a.vpc == Link::Res(*v) {
                    return AclRef::Custom(ai);
                }
            }
        }
        AclRef::DefaultAllowAll(default_step)
    }

    fn acl_step(&self, a: &AclRef) -> Step {
        match a {
            AclRef::DefaultAllowAll(id) => Step::new(id.clone(), "AWS::EC2::NetworkAcl"),
            AclRef::Custom(ai) => {
                Step::new(self.id(self.net.nacls[*ai].res), "AWS::EC2::NetworkAcl")
            }
            AclRef::Unknown(_, id) => Step::new(id.clone(), "AWS::EC2::NetworkAcl"),
        }
    }

    fn acl_entries(&self, a: &AclRef) -> Vec<&NaclEntry> {
        match a {
            AclRef::Custom(ai) => self
                .entries
                .get(ai)
                .map(|v| v.to_vec())
                .unwrap_or_default()
                .into_iter()
                .chain(self.stray_entries.iter())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Addresses (of family `f`) the ACL lets through in one direction for
    /// protocol `p` on the port interval starting at `port`.
    #[allow(clippy::too_many_arguments)]
    fn acl_allows(
        &self,
        a: &AclRef,
        egress: bool,
        f: Family,
        p: Protocol,
        port: u16,
        mode: Mode,
        why: &mut Reasons,
    ) -> AddrSet {
        let entries = match a {
            AclRef::DefaultAllowAll(_) => return universe_for(f),
            AclRef::Unknown(r, _) => {
                return if mode == Opt {
                    why.insert(r.clone());
                    universe_for(f)
                } else {
                    AddrSet::empty()
                };
            }
            AclRef::Custom(_) => self.acl_entries(a),
        };
        // Effective order: unknown numbers go first when they can only help
        // (an allow optimistically, a deny pessimistically), else last.
        let mut sorted: Vec<(i64, &NaclEntry)> = entries
            .into_iter()
            .filter(|e| e.egress == egress)
            .map(|e| {
                let may_allow = !matches!(e.allow, Val::Known(false));
                let n = match &e.number {
                    Val::Known(n) => *n,
                    Val::Unknown(_) => {
                        if (mode == Opt) == may_allow {
                            i64::MIN
                        } else {
                            i64::MAX
                        }
                    }
                };
                (n, e)
            })
            .collect();
        sorted.sort_by_key(|(n, _)| *n);
        let mut remaining = universe_for(f);
        let mut allowed = AddrSet::empty();
        for (_, e) in sorted {
            if remaining.is_empty() {
                break;
            }
            let allow = match &e.allow {
                Val::Known(a) => *a,
                Val::Unknown(r) => {
                    if mode == Opt {
                        why.insert(r.clone());
                    }
                    mode == Opt
                }
            };
            if let Val::Known(n) = &e.cidr {
                if net_family(n) != f {
                    continue;
                }
            }
            // An unknown part of the rule makes it match when that helps this mode.
            let helps = allow == (mode == Opt);
            let m = proto_matches(&e.proto, p)
                .and(ports_match(&e.proto, &e.ports, port))
                .and(uncertain(&e.uncertain));
            let matches = match m {
                Tri::Yes => true,
                Tri::No => false,
                Tri::Maybe(r) => {
                    if mode == Opt {
                        why.insert(r);
                    }
                    helps
                }
            };
            if !matches {
                continue;
            }
            let set = match &e.cidr {
                Val::Known(n) => AddrSet::net(n).intersect(&remaining),
                Val::Unknown(r) => {
                    if mode == Opt {
                        why.insert(r.clone());
                    }
                    if helps {
                        remaining.clone()
                    } else {
                        continue;
                    }
                }
            };
            if allow {
                allowed = allowed.union(&set);
            }
            remaining = remaining.minus(&set);
        }
        allowed
    }

    /// Addresses the ACL lets replies go back to on some ephemeral port.
    fn acl_return(
        &self,
        a: &AclRef,
        egress: bool,
        f: Family,
        p: Protocol,
        mode: Mode,
        why: &mut Reasons,
    ) -> AddrSet {
        let entries = self.acl_entries(a);
        let bounds = entries
            .iter()
            .filter(|e| e.egress == egress)
            .filter_map(|e| e.ports.known().copied());
        let mut out = AddrSet::empty();
        for iv in intervals(EPHEMERAL, bounds) {
            out = out.union(&self.acl_allows(a, egress, f, p, iv.from, mode, why));
        }
        out
    }

    // ---- security groups -------------------------------------------------

    fn groups_of(&self, eni: &Eni, place: &Place) -> Vec<GroupRef> {
        let mut out = Vec::new();
        for g in &eni.groups {
            out.push(match g {
                Link::Res(r) => match self.group.get(r) {
                    Some(&gi) => GroupRef::Model(gi),
                    None => GroupRef::Unknown(
                        Reason::new(
                            format!("{} is not a security group of this template", self.id(*r)),
                            eni.pos,
                        ),
                        self.id(*r).into(),
                    ),
                },
                Link::External(id) => GroupRef::Unknown(
                    Reason::new(
                        format!("security group {id} is not defined in this template"),
                        eni.pos,
                    ),
                    id.clone(),
                ),
                Link::Unknown(r) => GroupRef::Unknown(r.clone(), "(unknown security group)".into()),
            });
        }
        if out.is_empty() {
            // No group given: the VPC's default group.
            let vpc = match place {
                Place::Subnet(si) => match &self.net.subnets[*si].vpc {
                    Link::Res(v) => Some(*v),
                    _ => None,
                },
                _ => None,
            };
            if let Some(v) = vpc {
                if let Some(gi) = self
                    .net
                    .groups
                    .iter()
                    .position(|g| g.default && g.vpc == Some(Link::Res(v)))
                {
                    return vec![GroupRef::Model(gi)];
                }
                out.push(GroupRef::DefaultSelfOnly(format!(
                    "{}.default-security-group",
                    self.id(v)
                )));
            } else {
                out.push(GroupRef::DefaultSelfOnly(
                    "default-vpc.default-security-group".into(),
                ));
            }
        }
        out
    }

    fn group_step(&self, g: &GroupRef) -> Step {
        match g {
            GroupRef::Model(gi) => {
                Step::new(self.id(self.net.groups[*gi].res), "AWS::EC2::SecurityGroup")
            }
            GroupRef::DefaultSelfOnly(id) | GroupRef::Unknown(_, id) => {
                Step::new(id.clone(), "AWS::EC2::SecurityGroup")
            }
        }
    }

    fn group_rules(&self, gi: usize) -> impl Iterator<Item = &SgRule> {
        self.rules
            .get(&gi)
            .into_iter()
            .flat_map(|v| v.iter().copied())
            .chain(self.stray_rules.iter())
    }

    fn rule_ports<'s>(&'s self, groups: &'s [GroupRef]) -> impl Iterator<Item = Ports> + 's {
        groups.iter().flat_map(move |g| {
            let rules: Vec<Ports> = match g {
                GroupRef::Model(gi) => self
                    .group_rules(*gi)
                    .filter_map(|r| r.ports.known().copied())
                    .collect(),
                _ => Vec::new(),
            };
            rules.into_iter()
        })
    }

    /// Source addresses (of family `f`) a group admits for `p` on the interval
    /// at `port`; `from_groups` lists groups whose members also count as
    /// sources (a load balancer's groups), reported through the bool.
    #[allow(clippy::too_many_arguments)]
    fn group_allows(
        &self,
        g: &GroupRef,
        f: Family,
        p: Protocol,
        port: u16,
        from_groups: &[usize],
        mode: Mode,
        why: &mut Reasons,
    ) -> (AddrSet, bool) {
        let gi = match g {
            GroupRef::Model(gi) => *gi,
            GroupRef::DefaultSelfOnly(_) => return (AddrSet::empty(), false),
            GroupRef::Unknown(r, _) => {
                return if mode == Opt {
                    why.insert(r.clone());
                    (universe_for(f), true)
                } else {
                    (AddrSet::empty(), false)
                };
            }
        };
        let mut out = AddrSet::empty();
        let mut by_group = false;
        for r in self.group_rules(gi) {
            let m = proto_matches(&r.proto, p)
                .and(ports_match(&r.proto, &r.ports, port))
                .and(uncertain(&r.uncertain));
            if !m.pick(mode, why) {
                continue;
            }
            match &r.peer {
                Peer::Cidr(Val::Known(n)) => {
                    if net_family(n) == f {
                        out = out.union(&AddrSet::net(n));
                    }
                }
                Peer::Cidr(Val::Unknown(reason)) => {
                    if mode == Opt {
                        why.insert(reason.clone());
                        out = universe_for(f);
                    }
                }
                Peer::PrefixList(link) => {
                    let cidrs: Result<Vec<Val<ipnet::IpNet>>, Reason> = match link {
                        Link::Res(pr) => match self.plist.get(pr) {
                            Some(&pi) => Ok(self.net.prefix_lists[pi].cidrs.clone()),
                            None => Err(Reason::new(format!("{} is not a prefix list of this template", self.id(*pr)), r.pos)),
                        },
                        Link::External(id) => Err(Reason::new(format!("prefix list {id} is not defined in this template; its entries cannot be known"), r.pos)),
                        Link::Unknown(w) => Err(w.clone()),
                    };
                    match cidrs {
                        Ok(list) => {
                            for c in list {
                                match c {
                                    Val::Known(n) if net_family(&n) == f => {
                                        out = out.union(&AddrSet::net(&n))
                                    }
                                    Val::Known(_) => {}
                                    Val::Unknown(w) => {
                                        if mode == Opt {
                                            why.insert(w);
                                            out = universe_for(f);
                                        }
                                    }
                                }
                            }
                        }
                        Err(w) => {
                            if mode == Opt {
                                why.insert(w);
                                out = universe_for(f);
                            }
                        }
                    }
                }
                Peer::Group(link) => match link {
                    Link::Res(src) => {
                        if from_groups.iter().any(|x| self.net.groups[*x].res == *src) {
                            by_group = true;
                        }
                    }
                    Link::Unknown(w) => {
                        if !from_groups.is_empty() && mode == Opt {
                            why.insert(w.clone());
                            by_group = true;
                        }
                    }
                    Link::External(_) => {}
                },
            }
        }
        (out, by_group)
    }

    // ---- public addresses --------------------------------------------------

    fn public_v4(&self, inst: &Instance, eni: &Eni, place: &Place) -> Tri {
        let mut eip = Tri::No;
        for e in &self.net.eips {
            let on_instance = match &e.instance {
                Some(Link::Res(i)) if *i == inst.res => {
                    Tri::from_val(&Val::Known(eni.device_index == 0))
                }
                Some(Link::Unknown(r)) => Tri::Maybe(r.clone()),
                _ => Tri::No,
            };
            let on_eni = match (&e.eni, eni.res) {
                (Some(Link::Res(x)), Some(me)) if *x == me => Tri::Yes,
                (Some(Link::Unknown(r)), _) => Tri::Maybe(r.clone()),
                _ => Tri::No,
            };
            eip = eip.or(on_instance.or(on_eni));
        }
        let own = match (&eni.public_ip, eni.at_launch) {
            (Some(v), _) => Tri::from_val(v),
            (None, true) => match place {
                Place::Subnet(si) => Tri::from_val(&self.net.subnets[*si].map_public_ip),
                Place::DefaultVpc => Tri::Yes,
                Place::Unknown(r) => Tri::Maybe(r.clone()),
            },
            (None, false) => Tri::No,
        };
        eip.or(own)
    }

    fn has_v6(&self, eni: &Eni, place: &Place) -> Tri {
        match place {
            Place::Subnet(si) => {
                let s = &self.net.subnets[*si];
                let asks = match &eni.ipv6 {
                    Some(v) => Tri::from_val(v),
                    None => Tri::from_val(&s.assign_ipv6),
                };
                Tri::from_val(&s.ipv6).and(asks)
            }
            // The default VPC has no IPv6 block unless one is added.
            Place::DefaultVpc => Tri::No,
            Place::Unknown(r) => match &eni.ipv6 {
                Some(Val::Known(false)) | None => Tri::No,
                _ => Tri::Maybe(r.clone()),
            },
        }
    }

    // ---- the direct path -------------------------------------------------

    fn enis_of(&self, inst: &'a Instance) -> Vec<&'a Eni> {
        let mut out: Vec<&Eni> = inst.enis.iter().collect();
        let mut attached: Vec<(Link, i64)> = inst.attached.clone();
        for (e, i, idx) in &self.net.eni_attachments {
            if *i == Link::Res(inst.res) {
                attached.push((e.clone(), *idx));
            }
        }
        for (link, _) in attached {
            if let Link::Res(r) = link {
                if let Some(&ei) = self.eni.get(&r) {
                    out.push(&self.net.enis[ei]);
                }
            }
        }
        out
    }

    fn direct(&self, inst: &'a Instance) -> Vec<Exposure> {
        let mut out = Vec::new();
        let r = &self.tpl.resources[inst.res];
        for eni in self.enis_of(inst) {
            let place = self.place(eni);
            let mut assumptions = Vec::new();
            let (table, table_idx, vpc_idx, acl) = match &place {
                Place::Subnet(si) => {
                    let acl = self.subnet_acl(*si);
                    match self.subnet_table(*si) {
                        Ok((step, t)) => (Ok(step), t, self.vpc_of_subnet(*si), acl),
                        Err(why) => (Err(why), None, self.vpc_of_subnet(*si), acl),
                    }
                }
                Place::DefaultVpc => {
                    assumptions.push(format!(
                        "{} names no subnet: it launches in the default VPC, assumed to be as AWS creates it (a route to an internet gateway, the default network ACL, public IPv4 addresses on launch)",
                        r.id
                    ));
                    (
                        Ok(Step::new(
                            "default-vpc.main-route-table",
                            "AWS::EC2::RouteTable",
                        )),
                        None,
                        None,
                        AclRef::DefaultAllowAll("default-vpc.default-network-acl".into()),
                    )
                }
                Place::Unknown(why) => (
                    Err(why.clone()),
                    None,
                    None,
                    AclRef::Unknown(why.clone(), "(unknown network ACL)".into()),
                ),
            };
            let groups = self.groups_of(eni, &place);
            for f in [Family::V4, Family::V6] {
                let public = match f {
                    Family::V4 => self.public_v4(inst, eni, &place),
                    Family::V6 => self.has_v6(eni, &place),
                };
                if public == Tri::No {
                    continue;
                }
                let mut base_reasons = Reasons::new();
                let pub_o = public.pick(Opt, &mut base_reasons);
                let pub_p = public.pick(Pes, &mut Reasons::new());
                let (routes_o, routes_p, gw_step) = match (&table, &place) {
                    (_, Place::DefaultVpc) => {
                        if f == Family::V4 {
                            (
                                AddrSet::all(f),
                                AddrSet::all(f),
                                Some(Step::new(
                                    "default-vpc.internet-gateway",
                                    "AWS::EC2::InternetGateway",
                                )),
                            )
                        } else {
                            (AddrSet::empty(), AddrSet::empty(), None)
                        }
                    }
                    (Ok(_), _) => {
                        let (o, step) =
                            self.internet_routes(table_idx, vpc_idx, f, Opt, &mut base_reasons);
                        let (p, _) =
                            self.internet_routes(table_idx, vpc_idx, f, Pes, &mut Reasons::new());
                        (o, p, step)
                    }
                    (Err(why), _) => {
                        base_reasons.insert(why.clone());
                        (
                            AddrSet::all(f),
                            AddrSet::empty(),
                            Some(Step::new(
                                "(unknown internet gateway)",
                                "AWS::EC2::InternetGateway",
                            )),
                        )
                    }
                };
                if !pub_o || routes_o.is_empty() {
                    continue;
                }
                let internet = AddrSet::internet(f);
                let table_step = match &table {
                    Ok(s) => s.clone(),
                    Err(_) => Step::new("(unknown route table)", "AWS::EC2::RouteTable"),
                };
                for p in [Protocol::Tcp, Protocol::Udp] {
                    let mut rr = base_reasons.clone();
                    let ret_o = self.acl_return(&acl, true, f, p, Opt, &mut rr);
                    let ret_p = self.acl_return(&acl, true, f, p, Pes, &mut Reasons::new());
                    let base_o = internet.intersect(&routes_o).intersect(&ret_o);
                    if base_o.is_empty() {
                        continue;
                    }
                    let base_p = if pub_p {
                        internet.intersect(&routes_p).intersect(&ret_p)
                    } else {
                        AddrSet::empty()
                    };
                    let acl_bounds: Vec<Ports> = self
                        .acl_entries(&acl)
                        .iter()
                        .filter(|e| !e.egress)
                        .filter_map(|e| e.ports.known().copied())
                        .collect();
                    let bounds = acl_bounds.into_iter().chain(self.rule_ports(&groups));
                    let mut pieces: Vec<(Ports, Status, usize)> = Vec::new();
                    for iv in intervals(Ports::ALL, bounds) {
                        let mut why = rr.clone();
                        let in_o = self.acl_allows(&acl, false, f, p, iv.from, Opt, &mut why);
                        let a_o = base_o.intersect(&in_o);
                        if a_o.is_empty() {
                            continue;
                        }
                        let in_p =
                            self.acl_allows(&acl, false, f, p, iv.from, Pes, &mut Reasons::new());
                        let a_p = base_p.intersect(&in_p);
                        let mut open = None;
                        let mut maybe = None;
                        for (k, g) in groups.iter().enumerate() {
                            if open.is_none() {
                                let (sp, _) = self.group_allows(
                                    g,
                                    f,
                                    p,
                                    iv.from,
                                    &[],
                                    Pes,
                                    &mut Reasons::new(),
                                );
                                if sp.intersects(&a_p) {
                                    open = Some(k);
                                }
                            }
                            if maybe.is_none() {
                                let (so, _) =
                                    self.group_allows(g, f, p, iv.from, &[], Opt, &mut why);
                                if so.intersects(&a_o) {
                                    maybe = Some(k);
                                }
                            }
                        }
                        let piece = match (open, maybe) {
                            (Some(k), _) => (iv, Status::Open, k),
                            (None, Some(k)) => (iv, Status::Unknown(why.into_iter().collect()), k),
                            (None, None) => continue,
                        };
                        // Merge with the previous piece when it continues it.
                        if let Some(last) = pieces.last_mut() {
                            if last.0.to as u32 + 1 == piece.0.from as u32
                                && last.1 == piece.1
                                && last.2 == piece.2
                            {
                                last.0.to = piece.0.to;
                                continue;
                            }
                        }
                        pieces.push(piece);
                    }
                    for (ports, status, k) in pieces {
                        let mut path = Vec::new();
                        path.push(gw_step.clone().unwrap_or_else(|| {
                            Step::new("(internet gateway)", "AWS::EC2::InternetGateway")
                        }));
                        path.push(table_step.clone());
                        path.push(self.acl_step(&acl));
                        path.push(self.group_step(&groups[k]));
                        path.push(Step::new(eni.id.clone(), "AWS::EC2::NetworkInterface"));
                        path.push(Step::new(r.id.clone(), "AWS::EC2::Instance"));
                        out.push(Exposure {
                            instance: r.id.clone(),
                            resource_index: inst.res,
                            protocol: p,
                            family: f,
                            ports: PortRange {
                                begin: ports.from,
                                end: ports.to,
                            },
                            path,
                            status,
                            via: Via::Direct,
                            assumptions: assumptions.clone(),
                            pos: r.pos,
                        });
                    }
                }
            }
        }
        out
    }
}

mod via_lb;
