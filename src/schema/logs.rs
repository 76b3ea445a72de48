//! The fields of the log sources detections read, so the checker can refuse a
//! misspelt `f.dstprt` and type-check comparisons before anything runs.

/// A log source a detection reads (`from flowlog as f`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    FlowLog,
    CloudTrail,
    Dns,
}

impl LogSource {
    pub const ALL: [LogSource; 3] = [LogSource::FlowLog, LogSource::CloudTrail, LogSource::Dns];

    pub fn parse(s: &str) -> Option<LogSource> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::FlowLog => "flowlog",
            LogSource::CloudTrail => "cloudtrail",
            LogSource::Dns => "dns",
        }
    }

    /// What the source is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            LogSource::FlowLog => "VPC Flow Logs",
            LogSource::CloudTrail => "CloudTrail",
            LogSource::Dns => "Route 53 Resolver query logs",
        }
    }
}

/// The type of a log field, as far as the checker cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Num,
    Str,
    Bool,
    /// An object whose fields are listed.
    Object(&'static [(&'static str, FieldKind)]),
    /// An object or value whose content varies by event (`requestParameters`).
    Open,
    /// A list of objects with these fields.
    List(&'static [(&'static str, FieldKind)]),
}

use FieldKind::*;

/// VPC Flow Logs fields, versions 2 to 8, as AWS names them. Names with `-` are
/// also reachable with `_` (`f.log_status`), since `-` cannot be in a name.
pub const FLOW_FIELDS: &[(&str, FieldKind)] = &[
    ("version", Num),
    ("account-id", Str),
    ("interface-id", Str),
    ("srcaddr", Str),
    ("dstaddr", Str),
    ("srcport", Num),
    ("dstport", Num),
    ("protocol", Num),
    ("packets", Num),
    ("bytes", Num),
    ("start", Num),
    ("end", Num),
    ("action", Str),
    ("log-status", Str),
    ("vpc-id", Str),
    ("subnet-id", Str),
    ("instance-id", Str),
    ("tcp-flags", Num),
    ("type", Str),
    ("pkt-srcaddr", Str),
    ("pkt-dstaddr", Str),
    ("region", Str),
    ("az-id", Str),
    ("sublocation-type", Str),
    ("sublocation-id", Str),
    ("pkt-src-aws-service", Str),
    ("pkt-dst-aws-service", Str),
    ("flow-direction", Str),
    ("traffic-path", Num),
    ("ecs-cluster-arn", Str),
    ("ecs-cluster-name", Str),
    ("ecs-container-instance-arn", Str),
    ("ecs-container-instance-id", Str),
    ("ecs-container-id", Str),
    ("ecs-second-container-id", Str),
    ("ecs-service-name", Str),
    ("ecs-task-definition-arn", Str),
    ("ecs-task-arn", Str),
    ("ecs-task-id", Str),
    ("reject-reason", Str),
    ("resource-id", Str),
    // 0 cleartext, 1 Nitro-encrypted, 2 application TLS, 3 both.
    ("encryption-status", Num),
    ("instance-tag", Str),
    ("instance-tag-2", Str),
    ("interface-tag", Str),
    ("interface-tag-2", Str),
    ("asg-tag", Str),
    ("asg-tag-2", Str),
    ("interface-type", Str),
    ("next-hop-interface-id", Str),
    ("next-hop-subnet-id", Str),
    ("next-hop-az-id", Str),
    ("next-hop-vpc-id", Str),
    ("next-hop-interface-type", Str),
];

const SESSION_ISSUER: &[(&str, FieldKind)] = &[
    ("type", Str),
    ("principalId", Str),
    ("arn", Str),
    ("accountId", Str),
    ("userName", Str),
];

const SESSION_ATTRIBUTES: &[(&str, FieldKind)] =
    &[("creationDate", Str), ("mfaAuthenticated", Str)];

const SESSION_CONTEXT: &[(&str, FieldKind)] = &[
    ("sessionIssuer", Object(SESSION_ISSUER)),
    ("webIdFederationData", Open),
    ("attributes", Object(SESSION_ATTRIBUTES)),
    ("sourceIdentity", Str),
    ("ec2RoleDelivery", Str),
    ("assumedRoot", Str),
];

const USER_IDENTITY: &[(&str, FieldKind)] = &[
    ("type", Str),
    ("principalId", Str),
    ("arn", Str),
    ("accountId", Str),
    ("accessKeyId", Str),
    ("userName", Str),
    ("sessionContext", Object(SESSION_CONTEXT)),
    ("invokedBy", Str),
    ("identityProvider", Str),
    ("credentialId", Str),
    ("onBehalfOf", Open),
    ("inScopeOf", Open),
];

const RESOURCE: &[(&str, FieldKind)] = &[("ARN", Str), ("accountId", Str), ("type", Str)];

const TLS_DETAILS: &[(&str, FieldKind)] = &[
    ("tlsVersion", Str),
    ("cipherSuite", Str),
    ("clientProvidedHostHeader", Str),
];

/// CloudTrail record fields (the CloudTrail record contents reference).
pub const CLOUDTRAIL_FIELDS: &[(&str, FieldKind)] = &[
    ("eventVersion", Str),
    ("userIdentity", Object(USER_IDENTITY)),
    ("eventTime", Str),
    ("eventSource", Str),
    ("eventName", Str),
    ("awsRegion", Str),
    ("sourceIPAddress", Str),
    ("userAgent", Str),
    ("errorCode", Str),
    ("errorMessage", Str),
    ("requestParameters", Open),
    ("responseElements", Open),
    ("additionalEventData", Open),
    ("requestID", Str),
    ("eventID", Str),
    ("readOnly", Bool),
    ("resources", List(RESOURCE)),
    ("eventType", Str),
    ("apiVersion", Str),
    ("managementEvent", Bool),
    ("recipientAccountId", Str),
    ("serviceEventDetails", Open),
    ("sharedEventID", Str),
    ("vpcEndpointId", Str),
    ("vpcEndpointAccountId", Str),
    ("eventCategory", Str),
    ("addendum", Open),
    ("sessionCredentialFromConsole", Str),
    ("edgeDeviceDetails", Open),
    ("tlsDetails", Object(TLS_DETAILS)),
    ("insightDetails", Open),
];

const ANSWER: &[(&str, FieldKind)] = &[("Rdata", Str), ("Type", Str), ("Class", Str)];
const SRCIDS: &[(&str, FieldKind)] = &[
    ("instance", Str),
    ("resolver_endpoint", Str),
    ("resolver_network_interface", Str),
];

/// Route 53 Resolver query log fields. `query_name` is lower case without its
/// trailing dot; `query_name_raw` keeps it as logged.
pub const DNS_FIELDS: &[(&str, FieldKind)] = &[
    ("version", Str),
    ("account_id", Str),
    ("region", Str),
    ("vpc_id", Str),
    ("query_timestamp", Str),
    ("query_name", Str),
    ("query_name_raw", Str),
    ("query_type", Str),
    ("query_class", Str),
    ("rcode", Str),
    ("answers", List(ANSWER)),
    ("srcaddr", Str),
    ("srcport", Str),
    ("transport", Str),
    ("srcids", Object(SRCIDS)),
    ("firewall_rule_action", Str),
    ("firewall_rule_group_id", Str),
    ("firewall_domain_list_id", Str),
    ("firewall_protection", Str),
];

/// The top-level fields of a source.
pub fn fields(source: LogSource) -> &'static [(&'static str, FieldKind)] {
    match source {
        LogSource::FlowLog => FLOW_FIELDS,
        LogSource::CloudTrail => CLOUDTRAIL_FIELDS,
        LogSource::Dns => DNS_FIELDS,
    }
}

/// A flow field by its name or its `_` spelling (`log_status` → `log-status`).
pub fn flow_field(name: &str) -> Option<(&'static str, FieldKind)> {
    FLOW_FIELDS
        .iter()
        .find(|(n, _)| *n == name || (n.contains('-') && n.replace('-', "_") == name))
        .copied()
}

/// Looks `name` up among `fields`: the field's canonical name and kind.
pub fn lookup(
    fields: &'static [(&'static str, FieldKind)],
    name: &str,
) -> Option<(&'static str, FieldKind)> {
    fields.iter().find(|(n, _)| *n == name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_fields_by_either_spelling() {
        assert_eq!(flow_field("log_status").map(|f| f.0), Some("log-status"));
        assert_eq!(flow_field("log-status").map(|f| f.0), Some("log-status"));
        assert_eq!(flow_field("dstport").map(|f| f.1), Some(FieldKind::Num));
        assert!(flow_field("dstprt").is_none());
    }
}
