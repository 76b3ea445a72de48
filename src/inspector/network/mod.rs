//! Network reachability: which instances the internet can reach, on which
//! ports, and by which path.
//!
//! `analyze` builds the canonical [`model::Network`] of a template with the
//! adapter for its format ([`cfn`] or [`terraform`]) and runs the analysis
//! ([`analysis`]) on the model. Every instance of the template gets an
//! [`InstanceReport`]; each open (or possibly open) port range is an
//! [`Exposure`] with its path, status and a ready-made Inspector finding.

pub mod addr;
pub mod analysis;
pub mod cfn;
pub mod model;
mod read;
pub mod terraform;

use serde::Serialize;

pub use model::{Family, Reason};

use crate::doc::{Pos, Template, TemplateKind};
use crate::inspector::ports::{self, Severity};
use crate::inspector::resolve::{default_resolver, Resolve};

/// The two protocols Inspector reports reachability for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// An inclusive port range, as Inspector's `openPortRange`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PortRange {
    pub begin: u16,
    pub end: u16,
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.begin == self.end {
            write!(f, "{}", self.begin)
        } else {
            write!(f, "{}-{}", self.begin, self.end)
        }
    }
}

/// One hop of a network path, as Inspector's `networkPath.steps[]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Step {
    #[serde(rename = "componentId")]
    pub component_id: String,
    #[serde(rename = "componentType")]
    pub component_type: String,
}

impl Step {
    pub fn new(id: impl Into<String>, rtype: impl Into<String>) -> Self {
        Step {
            component_id: id.into(),
            component_type: rtype.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Reachable whatever the values the template leaves open.
    Open,
    /// Reachable for some values the template cannot tell (the reasons say which).
    Unknown(Vec<Reason>),
}

/// How the internet reaches the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// Through its own public address.
    Direct,
    /// Through an internet-facing load balancer that forwards to it.
    LoadBalancer {
        load_balancer: String,
        listener: String,
        target_group: Option<String>,
        /// The instance port the traffic arrives on.
        target_ports: PortRange,
    },
}

/// One port range of one instance reachable from the internet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// The instance's logical id (CloudFormation) or address (Terraform).
    pub instance: String,
    /// Index of the instance in `Template::resources`.
    pub resource_index: usize,
    pub protocol: Protocol,
    pub family: Family,
    /// The ports as the internet sees them (the listener port for a load balancer).
    pub ports: PortRange,
    pub path: Vec<Step>,
    pub status: Status,
    pub via: Via,
    /// Facts assumed rather than read from the template (the default VPC's defaults).
    pub assumptions: Vec<String>,
    /// Position of the instance in its file.
    pub pos: Pos,
}

impl Exposure {
    /// From the recognised-ports table: the highest of the ports in the range.
    pub fn severity(&self) -> Severity {
        ports::severity(self.ports.begin, self.ports.end)
    }

    /// Recognised services in the range (`SSH`, `MySQL`, ...).
    pub fn services(&self) -> Vec<&'static str> {
        ports::services(self.ports.begin, self.ports.end)
    }

    pub fn is_open(&self) -> bool {
        self.status == Status::Open
    }

    /// The Inspector v2 finding (`list-findings` shape) for this exposure.
    pub fn finding(&self, file: &str) -> serde_json::Value {
        crate::inspector::finding::network_finding(self, file)
    }
}

/// The result for one instance: empty `exposures` means the internet cannot
/// reach it (nothing unknown either).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceReport {
    pub instance: String,
    pub resource_index: usize,
    pub rtype: String,
    pub pos: Pos,
    pub exposures: Vec<Exposure>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NetworkReport {
    pub file: String,
    /// Every instance of the template, in template order.
    pub instances: Vec<InstanceReport>,
}

impl NetworkReport {
    pub fn exposures(&self) -> impl Iterator<Item = &Exposure> {
        self.instances.iter().flat_map(|i| i.exposures.iter())
    }

    pub fn instance(&self, id: &str) -> Option<&InstanceReport> {
        self.instances.iter().find(|i| i.instance == id)
    }

    /// Inspector findings for every exposure, in report order.
    pub fn findings(&self) -> Vec<serde_json::Value> {
        self.exposures().map(|e| e.finding(&self.file)).collect()
    }
}

/// Build the template's network model with the adapter for its format.
pub fn model(tpl: &Template, res: &dyn Resolve) -> model::Network {
    match tpl.kind {
        TemplateKind::CloudFormation => cfn::adapt(tpl, res),
        TemplateKind::TerraformPlan => terraform::adapt(tpl, res),
    }
}

/// Reachability of every instance of `tpl`, reading values through `res`.
pub fn analyze(tpl: &Template, res: &dyn Resolve) -> NetworkReport {
    let net = model(tpl, res);
    analysis::run(tpl, &net)
}

/// [`analyze`] with the template's default resolver.
pub fn analyze_default(tpl: &Template) -> NetworkReport {
    let res = default_resolver(tpl);
    analyze(tpl, res.as_ref())
}
