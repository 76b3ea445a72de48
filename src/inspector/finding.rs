//! Inspector v2 finding objects, in the shape `aws inspector2 list-findings`
//! returns. Identifiers are derived from the finding's content, so the same
//! finding has the same ARN on every run.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::inspector::network::{Exposure, Status, Via};
use crate::inspector::packages::{Advisory, PackageFinding, PackageStatus};

fn arn(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!(
        "arn:aws:inspector2:::finding/deadbolt-{}",
        &hex::encode(h.finalize())[..32]
    )
}

fn resource(id: &str) -> Value {
    // Names that look like images (`repo:tag`, `repo@sha256:...`) are container images.
    let kind = if id.contains('@') || (id.contains(':') && id.contains('/')) {
        "AWS_ECR_CONTAINER_IMAGE"
    } else {
        "AWS_EC2_INSTANCE"
    };
    json!({"type": kind, "id": id})
}

/// `{"findings": [...]}`, as `list-findings` prints it.
pub fn list_findings(findings: Vec<Value>) -> Value {
    json!({ "findings": findings })
}

pub fn network_finding(e: &Exposure, file: &str) -> Value {
    let range = if e.ports.begin == e.ports.end {
        format!("Port {}", e.ports.begin)
    } else {
        format!("Port range {} - {}", e.ports.begin, e.ports.end)
    };
    let from = match &e.via {
        Via::Direct => "an Internet Gateway".to_string(),
        Via::LoadBalancer { load_balancer, .. } => {
            format!("an Internet Gateway through load balancer {load_balancer}")
        }
    };
    let title = format!("{range} is reachable from {from} - {}", e.protocol.name());
    let services = e.services();
    let mut description = format!(
        "On {}, {} {} {} is reachable from the internet over {} along the path {}.",
        e.instance,
        e.protocol.name(),
        if e.ports.begin == e.ports.end {
            "port"
        } else {
            "ports"
        },
        e.ports,
        e.family.name(),
        e.path
            .iter()
            .map(|s| s.component_id.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    );
    if !services.is_empty() {
        description.push_str(&format!(" Recognised services: {}.", services.join(", ")));
    }
    if let Status::Unknown(why) = &e.status {
        description.push_str(" Whether it is open depends on values unknown before deployment: ");
        description.push_str(
            &why.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        );
        description.push('.');
    }
    for a in &e.assumptions {
        description.push_str(&format!(" Assumed: {a}."));
    }
    let mut details = json!({
        "openPortRange": {"begin": e.ports.begin, "end": e.ports.end},
        "protocol": e.protocol.name(),
        "networkPath": {"steps": e.path},
    });
    if let Via::LoadBalancer { target_ports, .. } = &e.via {
        details["targetPortRange"] = json!({"begin": target_ports.begin, "end": target_ports.end});
    }
    let path_key: Vec<&str> = e.path.iter().map(|s| s.component_id.as_str()).collect();
    json!({
        "findingArn": arn(&[file, &e.instance, e.protocol.name(), e.family.name(), &e.ports.to_string(), &path_key.join(">")]),
        "type": "NETWORK_REACHABILITY",
        "title": title,
        "description": description,
        "severity": e.severity().name(),
        "status": if e.is_open() { "ACTIVE" } else { "UNKNOWN" },
        "remediation": {"recommendation": {"text": "You can restrict access to your instance by modifying the Security Groups or ACLs in the network path."}},
        "fixAvailable": "YES",
        "resources": [resource(&e.instance)],
        "networkReachabilityDetails": details,
    })
}

fn package_manager(m: &str) -> &'static str {
    match m {
        "npm" | "yarn" | "pnpm" => "NPM",
        "pip" | "pypi" | "python" => "PIP",
        "poetry" => "POETRY",
        "pipenv" => "PIPENV",
        "cargo" | "crates.io" => "CARGO",
        "gem" | "rubygems" => "GEMSPEC",
        "bundler" => "BUNDLER",
        "maven" | "jar" | "gradle" => "JAR",
        "go" | "gomod" => "GOMOD",
        "gobinary" => "GOBINARY",
        _ => "OS",
    }
}

pub fn package_finding(f: &PackageFinding, a: &Advisory) -> Value {
    let cve = std::iter::once(&a.id)
        .chain(a.aliases.iter())
        .find(|x| x.starts_with("CVE-"))
        .unwrap_or(&a.id);
    let mut vp = json!({
        "name": f.package.name,
        "version": f.package.version,
        "fixedInVersion": f.fixed.clone().unwrap_or_else(|| "NotAvailable".into()),
        "packageManager": package_manager(&f.package.manager),
        "remediation": f.remediation(),
    });
    if let Some(arch) = &f.package.arch {
        vp["arch"] = json!(arch);
    }
    if let Some(p) = &f.package.path {
        vp["filePath"] = json!(p);
    }
    let cvss: Vec<Value> = a
        .cvss
        .iter()
        .map(|c| {
            let mut v = json!({"scoringVector": c.vector, "version": c.version, "source": a.id});
            if let Some(s) = c.base_score {
                v["baseScore"] = json!(s);
            }
            v
        })
        .collect();
    let mut description = a
        .details
        .clone()
        .or(a.summary.clone())
        .unwrap_or_else(|| format!("{} affects {}.", a.id, f.package.name));
    if let PackageStatus::Unknown(why) = &f.status {
        description = format!(
            "Whether {} {} is affected cannot be told: {why}. {description}",
            f.package.name, f.package.version
        );
    }
    json!({
        "findingArn": arn(&[&f.inventory, &f.resource, &a.id, &f.package.name, &f.package.version]),
        "type": "PACKAGE_VULNERABILITY",
        "title": format!("{} - {}", cve, f.package.name),
        "description": description,
        "severity": f.severity.name(),
        "status": if f.status == PackageStatus::Vulnerable { "ACTIVE" } else { "UNKNOWN" },
        "remediation": {"recommendation": {"text": f.remediation()}},
        "fixAvailable": if f.fixed.is_some() { "YES" } else { "NO" },
        "resources": [resource(&f.resource)],
        "packageVulnerabilityDetails": {
            "vulnerabilityId": cve,
            "source": a.id.split('-').next().unwrap_or("OSV"),
            "sourceUrl": format!("https://osv.dev/vulnerability/{}", a.id),
            "vendorSeverity": f.severity.name(),
            "relatedVulnerabilities": a.aliases.iter().filter(|x| *x != cve).collect::<Vec<_>>(),
            "referenceUrls": a.references,
            "cvss": cvss,
            "vulnerablePackages": [vp],
        },
    })
}
