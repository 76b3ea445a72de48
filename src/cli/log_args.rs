//! The options that say how logs are read and what detections compare them
//! with, shared by `scan` and `diff`.

use std::sync::Arc;

use clap::Args;

use deadbolt::detect::lists::{parse_aws_ranges, ThreatList};
use deadbolt::eval::engines::Engines;
use deadbolt::load::logs::{FlowFormat, LogOptions};
use deadbolt::load::LoadError;

#[derive(Args, Clone, Default)]
pub struct LogArgs {
    /// A threat list for detections: NAME=PATH, GuardDuty ThreatIntelSet TXT (one
    /// IP, CIDR or domain a line). Detections name it as `threatlist("NAME")`:
    /// the catalogue uses `ips`, `crypto-domains` and `c2-domains` (repeatable).
    #[arg(long = "threat-list", value_name = "NAME=PATH", value_parser = deadbolt::scan::parse_param, help_heading = "Logs")]
    pub threat_lists: Vec<(String, String)>,
    /// Addresses, networks and domains that are never a threat (TXT, as threat lists).
    #[arg(long, value_name = "PATH", help_heading = "Logs")]
    pub trusted_list: Option<String>,
    /// AWS's published ranges (https://ip-ranges.amazonaws.com/ip-ranges.json), for
    /// detections of calls from outside AWS.
    #[arg(long, value_name = "PATH", help_heading = "Logs")]
    pub aws_ip_ranges: Option<String>,
    /// The field order of flow logs without a header line, as in the flow log's
    /// definition: '${version} ${srcaddr} ${dstaddr} ...' (default: the v2 format).
    #[arg(long, value_name = "FORMAT", help_heading = "Logs")]
    pub flowlog_format: Option<String>,
}

impl LogArgs {
    /// Reads the lists into `engines` and the flow format into `logs`. A list that
    /// cannot be read is an error, and the detections that need it say so in
    /// their unknowns.
    pub fn apply(&self, engines: &mut Engines, logs: &mut LogOptions) -> Vec<LoadError> {
        let mut errors = Vec::new();
        for (name, path) in &self.threat_lists {
            match read_list(name, path) {
                Ok(l) => {
                    engines.threat_lists.insert(name.clone(), Arc::new(l));
                }
                Err(e) => {
                    errors.push(e);
                    engines.unreadable_lists.insert(name.clone(), path.clone());
                }
            }
        }
        if let Some(path) = &self.trusted_list {
            match read_list("trusted", path) {
                Ok(l) => engines.trusted = Some(Arc::new(l)),
                Err(e) => errors.push(e),
            }
        }
        if let Some(path) = &self.aws_ip_ranges {
            match std::fs::read_to_string(path)
                .map_err(|e| LoadError::file(path, format!("cannot read AWS's IP ranges: {e}")))
                .and_then(|t| parse_aws_ranges(path, &t))
            {
                Ok(r) => engines.aws_ranges = Some(Arc::new(r)),
                Err(e) => errors.push(e),
            }
        }
        if let Some(f) = &self.flowlog_format {
            match FlowFormat::parse_template(f) {
                Ok(fmt) => logs.flowlog_format = Some(fmt),
                Err(e) => errors.push(LoadError::file("--flowlog-format", e)),
            }
        }
        errors
    }
}

fn read_list(name: &str, path: &str) -> Result<ThreatList, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(path, format!("cannot read the list: {e}")))?;
    ThreatList::parse(name, path, &text)
}
