//! Paths through internet-facing load balancers: internet gateway → the load
//! balancer's subnet (route table, network ACL) → its security group → the
//! load balancer → listener → target group → the instance's security group →
//! interface → instance.

use super::*;

/// One way into a load balancer from the internet, for one family and protocol.
struct Front {
    gateway: Step,
    table: Step,
    acl: Step,
    group: Option<Step>,
    /// Reachable whatever the unknowns (else only optimistically).
    open: bool,
    reasons: Reasons,
    /// Client addresses that get in (optimistic run), for NLB client-IP preservation.
    clients: AddrSet,
    subnet: usize,
}

impl<'a> Ctx<'a> {
    pub(super) fn through_load_balancer(&self, lb: &LoadBalancer) -> Vec<Exposure> {
        let mut out = Vec::new();
        let mut facing_why = Reasons::new();
        let facing = Tri::from_val(&lb.internet_facing);
        if !facing.pick(Opt, &mut facing_why) {
            return out;
        }
        let facing_sure = facing.pick(Pes, &mut Reasons::new());
        let lb_id = self.id(lb.res);
        let lb_type = if lb.kind == LbKind::Classic {
            "AWS::ElasticLoadBalancing::LoadBalancer"
        } else {
            "AWS::ElasticLoadBalancingV2::LoadBalancer"
        };
        // The load balancer's groups; an ALB or classic LB without any uses the
        // VPC's default group (which admits only its members), an NLB without
        // any filters nothing.
        let lb_groups: Option<Vec<GroupRef>> = match &lb.groups {
            Some(gs) if !gs.is_empty() => Some(
                gs.iter()
                    .map(|g| match g {
                        Link::Res(r) => match self.group.get(r) {
                            Some(&gi) => GroupRef::Model(gi),
                            None => GroupRef::Unknown(
                                Reason::new(
                                    format!(
                                        "{} is not a security group of this template",
                                        self.id(*r)
                                    ),
                                    Default::default(),
                                ),
                                self.id(*r).into(),
                            ),
                        },
                        Link::External(id) => GroupRef::Unknown(
                            Reason::new(
                                format!("security group {id} is not defined in this template"),
                                Default::default(),
                            ),
                            id.clone(),
                        ),
                        Link::Unknown(r) => {
                            GroupRef::Unknown(r.clone(), "(unknown security group)".into())
                        }
                    })
                    .collect(),
            ),
            _ if lb.kind == LbKind::Network => None,
            _ => Some(vec![GroupRef::DefaultSelfOnly(format!(
                "{lb_id}.default-security-group"
            ))]),
        };
        let lb_group_idx: Vec<usize> = lb_groups
            .iter()
            .flatten()
            .filter_map(|g| match g {
                GroupRef::Model(gi) => Some(*gi),
                _ => None,
            })
            .collect();
        let subnets: Vec<usize> = lb
            .subnets
            .iter()
            .filter_map(|s| match s {
                Link::Res(r) => self.subnet.get(r).copied(),
                _ => None,
            })
            .collect();
        let lb_cidrs: Option<AddrSet> = {
            let mut set = Some(AddrSet::empty());
            for &si in &subnets {
                match &self.net.subnets[si].cidr {
                    Some(Val::Known(n)) => set = set.map(|s| s.union(&AddrSet::net(n))),
                    _ => set = None,
                }
            }
            if subnets.is_empty() {
                None
            } else {
                set
            }
        };

        let mut listeners: Vec<&Listener> = lb.listeners.iter().collect();
        listeners.extend(self.listeners.get(&lb.res).into_iter().flatten().copied());
        for l in listeners {
            let (ports, port_reason) = match &l.port {
                Val::Known(p) => (PortRange { begin: *p, end: *p }, None),
                Val::Unknown(r) => (
                    PortRange {
                        begin: 0,
                        end: 65535,
                    },
                    Some(r.clone()),
                ),
            };
            // (target instance, target port, target group step)
            let mut targets: Vec<(usize, Val<u16>, Option<Step>)> = Vec::new();
            if lb.kind == LbKind::Classic {
                let port = l.instance_port.clone().unwrap_or(l.port.clone());
                for i in &lb.instances {
                    if let Link::Res(r) = i {
                        targets.push((*r, port.clone(), None));
                    }
                }
            } else {
                let mut tgs: Vec<&Link> = l.target_groups.iter().collect();
                if let Some(res) = l.res {
                    tgs.extend(self.rule_targets.get(&res).into_iter().flatten().copied());
                }
                for tg in tgs {
                    let Link::Res(tr) = tg else { continue };
                    let Some(&ti) = self.tg.get(tr) else { continue };
                    let group = &self.net.target_groups[ti];
                    let kind = group
                        .target_type
                        .known()
                        .map(String::as_str)
                        .unwrap_or("instance");
                    let step = Step::new(
                        self.id(group.res),
                        "AWS::ElasticLoadBalancingV2::TargetGroup",
                    );
                    let mut members: Vec<(&Link, &Option<Val<u16>>)> =
                        group.targets.iter().map(|(l, p)| (l, p)).collect();
                    members.extend(self.attachments.get(&ti).into_iter().flatten().copied());
                    for (m, port) in members {
                        let port = port.clone().or(group.port.clone()).unwrap_or(Val::Unknown(
                            Reason::new(
                                "neither the target nor the target group sets a port",
                                Default::default(),
                            ),
                        ));
                        let inst = match (kind, m) {
                            ("instance", Link::Res(r)) => Some(*r),
                            ("ip", Link::External(ip)) => self
                                .net
                                .instances
                                .iter()
                                .find(|i| i.private_ip.is_some_and(|n| n.addr().to_string() == *ip))
                                .map(|i| i.res),
                            _ => None,
                        };
                        if let Some(r) = inst {
                            targets.push((r, port, Some(step.clone())));
                        }
                    }
                }
            }
            if targets.is_empty() {
                continue;
            }
            let mut protos = Vec::new();
            if l.tcp {
                protos.push(Protocol::Tcp);
            }
            if l.udp {
                protos.push(Protocol::Udp);
            }
            let families: &[Family] = if lb.dualstack {
                &[Family::V4, Family::V6]
            } else {
                &[Family::V4]
            };
            for &f in families {
                for &p in &protos {
                    let Some(front) = self.front(
                        &subnets,
                        lb_groups.as_deref(),
                        f,
                        p,
                        ports.begin,
                        port_reason.as_ref(),
                    ) else {
                        continue;
                    };
                    for (inst_res, tport, tg_step) in &targets {
                        let Some(inst) = self.net.instances.iter().find(|i| i.res == *inst_res)
                        else {
                            continue;
                        };
                        let Some(eni) = self
                            .enis_of(inst)
                            .into_iter()
                            .min_by_key(|e| e.device_index)
                        else {
                            continue;
                        };
                        let mut why = front.reasons.clone();
                        why.extend(facing_why.iter().cloned());
                        let (tports, tport_known) = match tport {
                            Val::Known(t) => (PortRange { begin: *t, end: *t }, true),
                            Val::Unknown(r) => {
                                why.insert(r.clone());
                                (
                                    PortRange {
                                        begin: 0,
                                        end: 65535,
                                    },
                                    false,
                                )
                            }
                        };
                        let src: Option<AddrSet> =
                            if lb.kind == LbKind::Network && lb_groups.is_none() {
                                Some(front.clients.clone())
                            } else {
                                lb_cidrs.clone()
                            };
                        let hop = |mode: Mode, why: &mut Reasons| {
                            self.back_hop(
                                eni,
                                &src,
                                front.subnet,
                                &lb_group_idx,
                                f,
                                p,
                                tports.begin,
                                mode,
                                why,
                            )
                        };
                        let Some(k_o) = hop(Opt, &mut why) else {
                            continue;
                        };
                        let sure = front.open
                            && facing_sure
                            && tport_known
                            && hop(Pes, &mut Reasons::new()).is_some();
                        let place = self.place(eni);
                        let groups = self.groups_of(eni, &place);
                        let inst_r = &self.tpl.resources[inst.res];
                        let mut path = vec![
                            front.gateway.clone(),
                            front.table.clone(),
                            front.acl.clone(),
                        ];
                        path.extend(front.group.clone());
                        path.push(Step::new(lb_id, lb_type));
                        path.push(Step::new(l.id.clone(), l.rtype));
                        path.extend(tg_step.clone());
                        path.push(self.group_step(&groups[k_o.min(groups.len() - 1)]));
                        path.push(Step::new(eni.id.clone(), "AWS::EC2::NetworkInterface"));
                        path.push(Step::new(inst_r.id.clone(), "AWS::EC2::Instance"));
                        out.push(Exposure {
                            instance: inst_r.id.clone(),
                            resource_index: inst.res,
                            protocol: p,
                            family: f,
                            ports,
                            path,
                            status: if sure {
                                Status::Open
                            } else {
                                Status::Unknown(why.into_iter().collect())
                            },
                            via: Via::LoadBalancer {
                                load_balancer: lb_id.to_string(),
                                listener: l.id.clone(),
                                target_group: tg_step.as_ref().map(|s| s.component_id.clone()),
                                target_ports: tports,
                            },
                            assumptions: Vec::new(),
                            pos: inst_r.pos,
                        });
                    }
                }
            }
        }
        out
    }

    /// The first subnet of the load balancer through which the internet gets
    /// to the listener port (one where it surely does, else one where it may).
    fn front(
        &self,
        subnets: &[usize],
        groups: Option<&[GroupRef]>,
        f: Family,
        p: Protocol,
        port: u16,
        port_reason: Option<&Reason>,
    ) -> Option<Front> {
        let mut maybe: Option<Front> = None;
        for &si in subnets {
            let mut why = Reasons::new();
            if let Some(r) = port_reason {
                why.insert(r.clone());
            }
            let Ok((table, ti)) = self.subnet_table(si) else {
                continue;
            };
            let vpc = self.vpc_of_subnet(si);
            let (ro, gw) = self.internet_routes(ti, vpc, f, Opt, &mut why);
            if ro.is_empty() {
                continue;
            }
            let (rp, _) = self.internet_routes(ti, vpc, f, Pes, &mut Reasons::new());
            let acl = self.subnet_acl(si);
            let internet = AddrSet::internet(f);
            let eval =
                |mode: Mode, routes: &AddrSet, why: &mut Reasons| -> (AddrSet, Option<usize>) {
                    let base = internet
                        .intersect(routes)
                        .intersect(&self.acl_allows(&acl, false, f, p, port, mode, why))
                        .intersect(&self.acl_return(&acl, true, f, p, mode, why));
                    match groups {
                        None => (base, None),
                        Some(gs) => {
                            for (k, g) in gs.iter().enumerate() {
                                let (s, _) = self.group_allows(g, f, p, port, &[], mode, why);
                                let hit = base.intersect(&s);
                                if !hit.is_empty() {
                                    return (hit, Some(k));
                                }
                            }
                            (AddrSet::empty(), None)
                        }
                    }
                };
            let (clients, k_o) = eval(Opt, &ro, &mut why);
            if clients.is_empty() {
                continue;
            }
            let (sure_set, _) = eval(Pes, &rp, &mut Reasons::new());
            let open = !sure_set.is_empty() && port_reason.is_none();
            let front = Front {
                gateway: gw.unwrap_or_else(|| {
                    Step::new("(internet gateway)", "AWS::EC2::InternetGateway")
                }),
                table,
                acl: self.acl_step(&acl),
                group: k_o.and_then(|k| groups.map(|gs| self.group_step(&gs[k]))),
                open,
                reasons: why,
                clients,
                subnet: si,
            };
            if open {
                return Some(front);
            }
            if maybe.is_none() {
                maybe = Some(front);
            }
        }
        maybe
    }

    /// Load balancer → instance: the instance's groups admit the target port
    /// from the load balancer (by group or by address), and both subnets'
    /// network ACLs let the traffic and its replies through. Returns the index
    /// of the instance group that admits it.
    #[allow(clippy::too_many_arguments)]
    fn back_hop(
        &self,
        eni: &Eni,
        src: &Option<AddrSet>,
        lb_subnet: usize,
        lb_groups: &[usize],
        f: Family,
        p: Protocol,
        port: u16,
        mode: Mode,
        why: &mut Reasons,
    ) -> Option<usize> {
        let place = self.place(eni);
        let groups = self.groups_of(eni, &place);
        // Addresses: unknown subnet blocks count as "any" optimistically and
        // must be fully allowed pessimistically.
        let check = |allowed: &AddrSet, set: &Option<AddrSet>, why: &mut Reasons| -> bool {
            match set {
                Some(s) => allowed.intersects(s),
                None => {
                    if mode == Opt {
                        why.insert(Reason::new(
                            "the load balancer's or the instance's subnet block is not known",
                            Default::default(),
                        ));
                        !allowed.is_empty()
                    } else {
                        allowed.contains_set(&AddrSet::all(f))
                    }
                }
            }
        };
        let mut admitted = None;
        for (k, g) in groups.iter().enumerate() {
            let (set, by_group) = self.group_allows(g, f, p, port, lb_groups, mode, why);
            if by_group || check(&set, src, why) {
                admitted = Some(k);
                break;
            }
        }
        let k = admitted?;
        let inst_cidr: Option<AddrSet> = match &place {
            Place::Subnet(si) => match &self.net.subnets[*si].cidr {
                Some(Val::Known(n)) if net_family(n) == f => Some(AddrSet::net(n)),
                _ => None,
            },
            _ => None,
        };
        let inst_acl = match &place {
            Place::Subnet(si) => self.subnet_acl(*si),
            Place::DefaultVpc => AclRef::DefaultAllowAll("default-vpc.default-network-acl".into()),
            Place::Unknown(r) => AclRef::Unknown(r.clone(), "(unknown network ACL)".into()),
        };
        let lb_acl = self.subnet_acl(lb_subnet);
        let ok = check(
            &self.acl_allows(&inst_acl, false, f, p, port, mode, why),
            src,
            why,
        ) && check(&self.acl_return(&inst_acl, true, f, p, mode, why), src, why)
            && check(
                &self.acl_allows(&lb_acl, true, f, p, port, mode, why),
                &inst_cidr,
                why,
            )
            && check(
                &self.acl_return(&lb_acl, false, f, p, mode, why),
                &inst_cidr,
                why,
            );
        ok.then_some(k)
    }
}
