//! `reachable(instance)` and `vulnerabilities(resource)`: the policy side of
//! the Inspector-style engine (`crate::inspector`).
//!
//! Reachability is analysed once per template (memoised on the template, keyed
//! by the `--param` values) and read per instance. CloudFormation values are
//! resolved by the inspector's resolver with the scan's parameters, and the
//! intrinsics it does not know (`Fn::If`, `Fn::Sub`, `Fn::Join`,
//! `Fn::FindInMap`, ...) by the evaluator's own resolution. Package findings
//! are matched once per scan (`PackageScan`) and read per inventory entry.
//!
//! Both return lists of maps meant for `each`: every item has a `key`, a
//! `severity` and an Inspector v2 `finding`; what cannot be known is an
//! unknown `open` / `vulnerable`, so the result is unknown, never a pass.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::context::{Ctx, Params};
use super::expr::unknown_node;
use super::value::{It, V};
use crate::doc::{Entry, Node, Pos, Template, TemplateKind, Value};
use crate::inspector::network::{self, Exposure, NetworkReport, Status, Via};
use crate::inspector::packages::entries::ENTRY_TYPE;
use crate::inspector::packages::scan::EntryRef;
use crate::inspector::packages::{Advisory, PackageFinding, PackageStatus, Unmatched};
use crate::inspector::ports::{self, Severity};
use crate::inspector::resolve::{CfnResolver, Resolved, TerraformResolver};

/// The instance types the reachability analysis reports on.
const INSTANCE_TYPES: &[&str] = &["AWS::EC2::Instance", "aws_instance"];

fn text(s: &str, pos: Pos) -> Value {
    Value::new(Node::Str(s.to_string()), pos)
}

fn int(n: i64, pos: Pos) -> Value {
    Value::new(Node::Int(n), pos)
}

fn boolean(b: bool, pos: Pos) -> Value {
    Value::new(Node::Bool(b), pos)
}

fn entry(key: &str, value: Value) -> Entry {
    Entry {
        key: key.to_string(),
        key_pos: value.pos,
        value,
    }
}

fn list(items: Vec<It<'static>>, pos: Pos) -> It<'static> {
    It::list(items, pos)
}

fn owned(map: Vec<Entry>, pos: Pos) -> It<'static> {
    It::new(V::Owned(Rc::new(Value::new(Node::Map(map), pos))), pos)
}

/// A JSON value (an Inspector finding) as a document value, every part at `pos`.
pub fn json_value(v: &serde_json::Value, pos: Pos) -> Value {
    use serde_json::Value as J;
    let node = match v {
        J::Null => Node::Null,
        J::Bool(b) => Node::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Node::Int(i),
            None => Node::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Node::Str(s.clone()),
        J::Array(items) => Node::Seq(items.iter().map(|i| json_value(i, pos)).collect()),
        J::Object(m) => Node::Map(
            m.iter()
                .map(|(k, v)| entry(k, json_value(v, pos)))
                .collect(),
        ),
    };
    Value::new(node, pos)
}

/// Inspector's severity as a policy severity. UNTRIAGED (no label, no CVSS
/// vector) counts as medium: unrated is not harmless.
pub fn policy_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium | Severity::Untriaged => "medium",
        Severity::Low => "low",
        Severity::Informational => "info",
    }
}

// ---- reachability ----

/// The network report of a template and where each instance is in it.
struct Reachability {
    report: NetworkReport,
    by_resource: HashMap<usize, usize>,
}

/// FNV-1a of the parameter values: the memo key of analyses that read them.
fn params_key(params: &Params) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in &params.values {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn reachability(tpl: &Template, params: &Params) -> Arc<Reachability> {
    tpl.memo.get_or_compute(params_key(params), || {
        let report = match tpl.kind {
            TemplateKind::CloudFormation => {
                let res = CfnResolver::new(tpl)
                    .with_params(&params.values)
                    .with_fallback(Box::new(move |v: &Value| evaluator_resolve(tpl, params, v)));
                network::analyze(tpl, &res)
            }
            TemplateKind::TerraformPlan => network::analyze(tpl, &TerraformResolver::new(tpl)),
        };
        let by_resource = report
            .instances
            .iter()
            .enumerate()
            .map(|(i, r)| (r.resource_index, i))
            .collect();
        Reachability {
            report,
            by_resource,
        }
    })
}

/// Marks a value the evaluator could not know inside a list it resolved, so
/// the resolver meets it again as unknown with its reason.
const UNKNOWN_MARK: &str = "Fn::Deadbolt::Unknown";

/// Resolves an intrinsic with the evaluator (parameters, conditions, mappings).
fn evaluator_resolve(tpl: &Template, params: &Params, v: &Value) -> Resolved {
    if let Some((UNKNOWN_MARK, reason)) = v.intrinsic() {
        return Resolved::Unknown(reason.as_str().unwrap_or_default().to_string());
    }
    let ctx = Ctx::new(tpl, params, 0);
    let it = ctx.resolve_doc(v, v.pos);
    if let Some(cond) = ctx.pending.borrow().as_ref() {
        let mut names = Vec::new();
        if let Some(c) = tpl.conditions.get(cond) {
            parameter_refs(tpl, c, &mut names, 0);
        }
        let how = if names.is_empty() {
            "set its parameters with --param NAME=VALUE".to_string()
        } else {
            names
                .iter()
                .map(|n| format!("--param {n}=VALUE"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Resolved::Unknown(format!("condition {cond} cannot be decided ({how})"));
    }
    match to_resolved(tpl, &it, 0) {
        Ok(r) => r,
        Err(reason) => Resolved::Unknown(reason),
    }
}

/// The parameters a condition refers to, directly or through other conditions.
fn parameter_refs(tpl: &Template, v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > crate::inspector::resolve::MAX_DEPTH {
        return;
    }
    match &v.node {
        Node::Seq(items) => items
            .iter()
            .for_each(|i| parameter_refs(tpl, i, out, depth + 1)),
        Node::Map(entries) => {
            for e in entries {
                match (e.key.as_str(), e.value.as_str()) {
                    ("Ref", Some(p)) if tpl.parameters.contains_key(p) => {
                        if !out.iter().any(|o| o == p) {
                            out.push(p.to_string());
                        }
                    }
                    ("Condition", Some(c)) => {
                        if let Some(inner) = tpl.conditions.get(c) {
                            parameter_refs(tpl, inner, out, depth + 1);
                        }
                    }
                    _ => parameter_refs(tpl, &e.value, out, depth + 1),
                }
            }
        }
        _ => {}
    }
}

fn to_resolved(tpl: &Template, it: &It<'_>, depth: usize) -> Result<Resolved, String> {
    Ok(match &it.v {
        V::Missing => Resolved::Absent,
        V::Unknown {
            target: Some(t), ..
        } => Resolved::Resource {
            index: t.res,
            attribute: t.attr.clone(),
        },
        V::Unknown { reason, .. } => Resolved::Unknown(reason.to_string()),
        V::Res(i) => Resolved::Resource {
            index: *i,
            attribute: None,
        },
        _ => Resolved::Known(to_value(tpl, it, depth)?),
    })
}

/// A value the evaluator resolved, as a document value the resolver can read.
fn to_value(tpl: &Template, it: &It<'_>, depth: usize) -> Result<Value, String> {
    if depth > crate::inspector::resolve::MAX_DEPTH {
        return Err("intrinsic functions nest too deeply".into());
    }
    let pos = it.pos;
    let node = match &it.v {
        V::Null | V::Missing => Node::Null,
        V::Bool(b) => Node::Bool(*b),
        V::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => Node::Int(*n as i64),
        V::Num(n) => Node::Float(*n),
        V::Str(s) => Node::Str(s.to_string()),
        V::Ip(ip) => Node::Str(ip.to_string()),
        V::Seq(items) => Node::Seq(items.to_vec()),
        V::Map(entries) => Node::Map(entries.to_vec()),
        V::Owned(o) => return Ok((**o).clone()),
        V::List(items) => Node::Seq(
            items
                .iter()
                .map(|i| match to_resolved(tpl, i, depth + 1)? {
                    Resolved::Known(v) => Ok(v),
                    Resolved::Absent => Ok(Value::new(Node::Null, i.pos)),
                    Resolved::Resource { index, attribute } => {
                        Ok(reference(tpl, index, attribute, i.pos))
                    }
                    Resolved::Unknown(r) => Ok(marked_unknown(&r, i.pos)),
                })
                .collect::<Result<_, String>>()?,
        ),
        V::Res(_) | V::Unknown { .. } => return Err("a reference is not a plain value".into()),
        V::Set(_) | V::Rec(_) => return Err("a set or log record is not a template value".into()),
    };
    Ok(Value::new(node, pos))
}

/// `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}` for a resource inside a
/// list, which the resolver follows again.
fn reference(tpl: &Template, index: usize, attribute: Option<String>, pos: Pos) -> Value {
    let id = tpl
        .resources
        .get(index)
        .map(|r| r.id.as_str())
        .unwrap_or_default();
    let (name, arg) = match attribute {
        None => ("Ref", text(id, pos)),
        Some(a) => (
            "Fn::GetAtt",
            Value::new(Node::Seq(vec![text(id, pos), text(&a, pos)]), pos),
        ),
    };
    Value::new(Node::Map(vec![entry(name, arg)]), pos)
}

fn marked_unknown(reason: &str, pos: Pos) -> Value {
    Value::new(Node::Map(vec![entry(UNKNOWN_MARK, text(reason, pos))]), pos)
}

/// The resource an engine function was given, or why it cannot take it.
fn resource_arg<'d>(ctx: &Ctx<'d>, arg: &It<'d>, func: &str, pos: Pos) -> Result<usize, It<'d>> {
    arg.resource()
        .filter(|&i| i < ctx.tpl.resources.len())
        .ok_or_else(|| {
            It::unknown(
                format!(
                    "{func}() takes a resource (the `for resource` variable or a reference to one)"
                ),
                pos,
            )
        })
}

/// `reachable(instance)`: every port range of the instance the internet can
/// reach (or may reach), as maps; an empty list when it cannot be reached.
pub fn reachable<'d>(ctx: &Ctx<'d>, arg: &It<'d>, pos: Pos) -> It<'d> {
    let i = match resource_arg(ctx, arg, "reachable", pos) {
        Ok(i) => i,
        Err(u) => return u,
    };
    let r = &ctx.tpl.resources[i];
    if r.rtype == ENTRY_TYPE {
        return It::unknown(
            format!("{} is an inventory entry: its reachability is read from the template that defines it (scan the template with the inventory)", r.id),
            pos,
        );
    }
    if !INSTANCE_TYPES.contains(&r.rtype.as_str()) {
        return It::unknown(
            format!(
                "reachable() analyses EC2 instances ({}); {} is a {}",
                INSTANCE_TYPES.join(", "),
                r.id,
                r.rtype
            ),
            pos,
        );
    }
    let reach = reachability(ctx.tpl, ctx.params);
    let Some(report) = reach
        .by_resource
        .get(&i)
        .map(|&k| &reach.report.instances[k])
    else {
        return list(Vec::new(), r.pos);
    };
    let mut keys: Vec<String> = Vec::with_capacity(report.exposures.len());
    let items = report
        .exposures
        .iter()
        .map(|e| {
            let mut key = exposure_key(e);
            if keys.contains(&key) {
                key = format!("{key} #{}", keys.len() + 1);
            }
            keys.push(key.clone());
            exposure_item(e, &key, &reach.report.file, r.pos)
        })
        .collect();
    list(items, r.pos)
}

/// `TCP/IPv4/22`, or `TCP/IPv4/443 via Alb/Https` through a load balancer.
fn exposure_key(e: &Exposure) -> String {
    let base = format!("{}/{}/{}", e.protocol.name(), e.family.name(), e.ports);
    match &e.via {
        Via::Direct => base,
        Via::LoadBalancer {
            load_balancer,
            listener,
            ..
        } => format!("{base} via {load_balancer}/{listener}"),
    }
}

fn exposure_item(e: &Exposure, key: &str, file: &str, pos: Pos) -> It<'static> {
    let (b, en) = (e.ports.begin, e.ports.end);
    let services = e.services();
    let service_text = named_services(&services);
    let path_text = e
        .path
        .iter()
        .map(|s| s.component_id.as_str())
        .collect::<Vec<_>>()
        .join(" > ");
    let port_word = if b == en { "port" } else { "ports" };
    let mut summary = format!(
        "{} {port_word} {}{service_text} over {}",
        e.protocol.name(),
        e.ports,
        e.family.name()
    );
    let mut m = vec![
        entry("protocol", text(e.protocol.name(), pos)),
        entry("family", text(e.family.name(), pos)),
        entry("begin", int(b.into(), pos)),
        entry("end", int(en.into(), pos)),
        entry("ports", text(&e.ports.to_string(), pos)),
        entry(
            "services",
            Value::new(
                Node::Seq(services.iter().map(|s| text(s, pos)).collect()),
                pos,
            ),
        ),
    ];
    // Through a load balancer the instance's own port is what the internet
    // reaches: a listener on 443 in front of Elasticsearch's 9200 exposes a database.
    let (tb, te) = match &e.via {
        Via::LoadBalancer { target_ports, .. } => (target_ports.begin, target_ports.end),
        Via::Direct => (b, en),
    };
    let database = ports::has_database_port(b, en) || ports::has_database_port(tb, te);
    let admin = ports::has_admin_port(b, en) || ports::has_admin_port(tb, te);
    m.push(entry("database", boolean(database, pos)));
    m.push(entry("admin", boolean(admin, pos)));
    match &e.via {
        Via::Direct => m.push(entry("via", text("direct", pos))),
        Via::LoadBalancer {
            load_balancer,
            listener,
            target_group,
            target_ports,
        } => {
            let target_services = ports::services(target_ports.begin, target_ports.end);
            let named = named_services(&target_services);
            summary.push_str(&format!(
                " through load balancer {load_balancer} to instance port {target_ports}{named}"
            ));
            m.push(entry("via", text("load-balancer", pos)));
            m.push(entry("load_balancer", text(load_balancer, pos)));
            m.push(entry("listener", text(listener, pos)));
            if let Some(tg) = target_group {
                m.push(entry("target_group", text(tg, pos)));
            }
            m.push(entry("target_begin", int(target_ports.begin.into(), pos)));
            m.push(entry("target_end", int(target_ports.end.into(), pos)));
        }
    }
    let steps = e
        .path
        .iter()
        .map(|s| {
            Value::new(
                Node::Map(vec![
                    entry("componentId", text(&s.component_id, pos)),
                    entry("componentType", text(&s.component_type, pos)),
                ]),
                pos,
            )
        })
        .collect();
    m.push(entry("path", Value::new(Node::Seq(steps), pos)));
    m.push(entry("path_text", text(&path_text, pos)));
    match &e.status {
        Status::Open => {
            m.push(entry("status", text("open", pos)));
            m.push(entry("open", boolean(true, pos)));
        }
        Status::Unknown(why) => {
            let reason = format!(
                "whether {summary} is reachable depends on values unknown before deployment: {}",
                why.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            m.push(entry("status", text("unknown", pos)));
            m.push(entry("open", unknown_node(&reason, pos)));
            m.push(entry("reason", text(&reason, pos)));
        }
    }
    m.push(entry(
        "assumptions",
        Value::new(
            Node::Seq(e.assumptions.iter().map(|a| text(a, pos)).collect()),
            pos,
        ),
    ));
    m.push(entry("summary", text(&summary, pos)));
    // Inspector rates the listener's port; the gate also weighs the instance
    // port behind it (Elasticsearch behind a TCP listener on 443 is not "web").
    let severity = e.severity().max(ports::severity(tb, te));
    m.push(entry("severity", text(policy_severity(severity), pos)));
    m.push(entry("key", text(key, pos)));
    m.push(entry("finding", json_value(&e.finding(file), pos)));
    owned(m, pos)
}

/// ` (SSH, HTTP)` for a message; a wide range names its first few services
/// and counts the rest (`services` lists them all).
fn named_services(services: &[&str]) -> String {
    const SHOWN: usize = 4;
    match services.len() {
        0 => String::new(),
        n if n <= SHOWN + 1 => format!(" ({})", services.join(", ")),
        n => format!(
            " ({} and {} more recognised services)",
            services[..SHOWN].join(", "),
            n - SHOWN
        ),
    }
}

// ---- packages ----

/// `vulnerabilities(resource)`: the vulnerable (or possibly vulnerable)
/// packages of an inventory entry, or of the entries that name a template
/// resource; one map per advisory and package.
pub fn vulnerabilities<'d>(ctx: &Ctx<'d>, arg: &It<'d>, pos: Pos) -> It<'d> {
    let i = match resource_arg(ctx, arg, "vulnerabilities", pos) {
        Ok(i) => i,
        Err(u) => return u,
    };
    let Some(scan) = ctx.params.engines.packages.as_deref() else {
        return It::unknown(
            "no package inventory was given (--inventory FILE, or --inventory RESOURCE=dpkg-or-rpm-listing)",
            pos,
        );
    };
    let r = &ctx.tpl.resources[i];
    // Entries point into their inventory (the package lines); a template
    // resource's items point at the resource.
    let (entries, at_packages): (Vec<EntryRef>, bool) = if r.rtype == ENTRY_TYPE {
        match scan.inventory_at(&ctx.tpl.path) {
            Some(inv) => (vec![(inv, i)], true),
            None => {
                return It::unknown(
                    format!(
                        "inventory entry {} is not from an inventory of this scan",
                        r.id
                    ),
                    pos,
                )
            }
        }
    } else {
        let found = scan.entries_for(&r.id);
        if found.is_empty() {
            return It::unknown(
                format!(
                    "no inventory entry names {} (the inventories list {} entries)",
                    r.id,
                    scan.entry_count()
                ),
                pos,
            );
        }
        (found.to_vec(), false)
    };
    let Some(adv) = scan.advisories.as_ref() else {
        return It::unknown(
            "no advisories were given (--advisories DIR of OSV JSON files)",
            pos,
        );
    };
    let mut items = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for e in entries {
        for f in scan.findings(e) {
            let p = if at_packages { f.pos } else { r.pos };
            let mut key = package_key(f);
            if keys.contains(&key) {
                key = format!("{key} #{}", keys.len() + 1);
            }
            keys.push(key.clone());
            let a = &adv.advisories[f.advisory];
            items.push(package_item(f, a, &f.finding(adv), &key, p));
        }
        for u in scan.unmatched(e) {
            let p = if at_packages { u.pos } else { r.pos };
            items.push(unmatched_item(u, p));
        }
    }
    list(items, if at_packages { r.pos } else { pos })
}

/// `CVE-2021-44228 log4j-core 2.14.1`, with the file path when there is one
/// (two copies of one version in two places are two findings).
fn package_key(f: &PackageFinding) -> String {
    let mut k = format!("{} {} {}", f.advisory_id, f.package.name, f.package.version);
    if let Some(p) = &f.package.path {
        k.push_str(&format!(" {p}"));
    }
    k
}

fn package_item(
    f: &PackageFinding,
    a: &Advisory,
    finding: &serde_json::Value,
    key: &str,
    pos: Pos,
) -> It<'static> {
    let cve = finding["packageVulnerabilityDetails"]["vulnerabilityId"]
        .as_str()
        .unwrap_or(&f.advisory_id)
        .to_string();
    let title = finding["title"].as_str().unwrap_or(&cve).to_string();
    // `CVE-2014-3616 (DSA-3029-1)`, or the advisory id alone when it is the CVE.
    let label = if cve == f.advisory_id {
        cve.clone()
    } else {
        format!("{cve} ({})", f.advisory_id)
    };
    let pkg = &f.package;
    let mut m = vec![
        entry("id", text(&f.advisory_id, pos)),
        entry("vulnerability", text(&cve, pos)),
        entry("label", text(&label, pos)),
        entry("title", text(&title, pos)),
        entry(
            "aliases",
            Value::new(
                Node::Seq(a.aliases.iter().map(|x| text(x, pos)).collect()),
                pos,
            ),
        ),
        entry("package", text(&pkg.name, pos)),
        entry("version", text(&pkg.version, pos)),
        entry("manager", text(&pkg.manager, pos)),
        entry("ecosystem", text(&f.ecosystem, pos)),
    ];
    if let Some(a) = &pkg.arch {
        m.push(entry("arch", text(a, pos)));
    }
    if let Some(p) = &pkg.path {
        m.push(entry("path", text(p, pos)));
    }
    if let Some(s) = &a.summary {
        m.push(entry("summary", text(s, pos)));
    }
    if let Some(fixed) = &f.fixed {
        m.push(entry("fixed", text(fixed, pos)));
    }
    m.push(entry("fix_available", boolean(f.fixed.is_some(), pos)));
    m.push(entry("inspector_severity", text(f.severity.name(), pos)));
    match &f.status {
        PackageStatus::Vulnerable => {
            m.push(entry("status", text("vulnerable", pos)));
            m.push(entry("vulnerable", boolean(true, pos)));
        }
        PackageStatus::Unknown(why) => {
            let reason = format!(
                "whether {} {} is affected by {} cannot be told: {why}",
                pkg.name, pkg.version, f.advisory_id
            );
            m.push(entry("status", text("unknown", pos)));
            m.push(entry("vulnerable", unknown_node(&reason, pos)));
            m.push(entry("reason", text(&reason, pos)));
        }
    }
    m.push(entry("remediation", text(&f.remediation(), pos)));
    m.push(entry("severity", text(policy_severity(f.severity), pos)));
    m.push(entry("key", text(key, pos)));
    m.push(entry("finding", json_value(finding, pos)));
    owned(m, pos)
}

/// Packages no advisory could be matched against: one unknown item per manager.
fn unmatched_item(u: &Unmatched, pos: Pos) -> It<'static> {
    let what = match u.packages {
        1 => format!("1 {} package", u.manager),
        n => format!("{n} {} packages", u.manager),
    };
    let reason = format!("{what} cannot be matched: {}", u.reason);
    owned(
        vec![
            entry("id", text("", pos)),
            entry("package", text(&what, pos)),
            entry("manager", text(&u.manager, pos)),
            entry("status", text("unknown", pos)),
            entry("vulnerable", unknown_node(&reason, pos)),
            entry("reason", text(&reason, pos)),
            entry("key", text(&format!("unmatched {}", u.manager), pos)),
        ],
        pos,
    )
}

#[cfg(test)]
mod tests {
    use super::named_services;

    #[test]
    fn wide_ranges_name_a_few_services() {
        assert_eq!(named_services(&[]), "");
        assert_eq!(named_services(&["SSH"]), " (SSH)");
        let all = crate::inspector::ports::services(0, 65535);
        assert!(all.len() > 20, "{all:?}");
        assert_eq!(
            named_services(&all),
            format!(
                " ({} and {} more recognised services)",
                all[..4].join(", "),
                all.len() - 4
            )
        );
        assert_eq!(&all[..4], ["FTP", "SSH", "Telnet", "SMTP"]);
    }
}
