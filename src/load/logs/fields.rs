//! The fields of a VPC flow log record, as AWS names and types them.
//!
//! Source: the "Available fields" table of the Amazon VPC user guide (flow log
//! records), versions 2 to 11. The version is the flow log version that
//! introduced the field; a custom format's version is the highest among its
//! fields.

/// A flow log field. Names are written as AWS writes them (`dstport`,
/// `pkt-srcaddr`, `log-status`) by [`FlowField::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowField {
    // version 2 (the default format, in this order)
    Version,
    AccountId,
    InterfaceId,
    Srcaddr,
    Dstaddr,
    Srcport,
    Dstport,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    LogStatus,
    // version 3
    VpcId,
    SubnetId,
    InstanceId,
    TcpFlags,
    Type,
    PktSrcaddr,
    PktDstaddr,
    // version 4
    Region,
    AzId,
    SublocationType,
    SublocationId,
    // version 5
    PktSrcAwsService,
    PktDstAwsService,
    FlowDirection,
    TrafficPath,
    // version 7 (Amazon ECS)
    EcsClusterArn,
    EcsClusterName,
    EcsContainerInstanceArn,
    EcsContainerInstanceId,
    EcsContainerId,
    EcsSecondContainerId,
    EcsServiceName,
    EcsTaskDefinitionArn,
    EcsTaskArn,
    EcsTaskId,
    // version 8
    RejectReason,
    // version 9
    ResourceId,
    // version 10
    EncryptionStatus,
    // version 11 (resource tags, next-hop metadata)
    InstanceTag,
    InstanceTag2,
    InterfaceTag,
    InterfaceTag2,
    AsgTag,
    AsgTag2,
    InterfaceType,
    NextHopInterfaceId,
    NextHopSubnetId,
    NextHopAzId,
    NextHopVpcId,
    NextHopInterfaceType,
}

/// How a field's text is typed. `Time` values are epoch seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    Int,
    Ip,
    Str,
    Time,
}

use FieldType::{Int, Ip, Str, Time};
use FlowField as F;

/// (field, name, type, version, inclusive upper bound for integers).
const TABLE: &[(FlowField, &str, FieldType, u8, i64)] = &[
    (F::Version, "version", Int, 2, 255),
    (F::AccountId, "account-id", Str, 2, 0),
    (F::InterfaceId, "interface-id", Str, 2, 0),
    (F::Srcaddr, "srcaddr", Ip, 2, 0),
    (F::Dstaddr, "dstaddr", Ip, 2, 0),
    (F::Srcport, "srcport", Int, 2, 65_535),
    (F::Dstport, "dstport", Int, 2, 65_535),
    (F::Protocol, "protocol", Int, 2, 255),
    (F::Packets, "packets", Int, 2, i64::MAX),
    (F::Bytes, "bytes", Int, 2, i64::MAX),
    (F::Start, "start", Time, 2, i64::MAX),
    (F::End, "end", Time, 2, i64::MAX),
    (F::Action, "action", Str, 2, 0),
    (F::LogStatus, "log-status", Str, 2, 0),
    (F::VpcId, "vpc-id", Str, 3, 0),
    (F::SubnetId, "subnet-id", Str, 3, 0),
    (F::InstanceId, "instance-id", Str, 3, 0),
    // A bitmask of FIN 1, SYN 2, RST 4, SYN-ACK 18 (ORed over the interval).
    (F::TcpFlags, "tcp-flags", Int, 3, 255),
    (F::Type, "type", Str, 3, 0),
    (F::PktSrcaddr, "pkt-srcaddr", Ip, 3, 0),
    (F::PktDstaddr, "pkt-dstaddr", Ip, 3, 0),
    (F::Region, "region", Str, 4, 0),
    (F::AzId, "az-id", Str, 4, 0),
    (F::SublocationType, "sublocation-type", Str, 4, 0),
    (F::SublocationId, "sublocation-id", Str, 4, 0),
    (F::PktSrcAwsService, "pkt-src-aws-service", Str, 5, 0),
    (F::PktDstAwsService, "pkt-dst-aws-service", Str, 5, 0),
    (F::FlowDirection, "flow-direction", Str, 5, 0),
    // 1 through 8 today (8 = through an internet gateway); later paths may be added.
    (F::TrafficPath, "traffic-path", Int, 5, 255),
    (F::EcsClusterArn, "ecs-cluster-arn", Str, 7, 0),
    (F::EcsClusterName, "ecs-cluster-name", Str, 7, 0),
    (
        F::EcsContainerInstanceArn,
        "ecs-container-instance-arn",
        Str,
        7,
        0,
    ),
    (
        F::EcsContainerInstanceId,
        "ecs-container-instance-id",
        Str,
        7,
        0,
    ),
    (F::EcsContainerId, "ecs-container-id", Str, 7, 0),
    (
        F::EcsSecondContainerId,
        "ecs-second-container-id",
        Str,
        7,
        0,
    ),
    (F::EcsServiceName, "ecs-service-name", Str, 7, 0),
    (
        F::EcsTaskDefinitionArn,
        "ecs-task-definition-arn",
        Str,
        7,
        0,
    ),
    (F::EcsTaskArn, "ecs-task-arn", Str, 7, 0),
    (F::EcsTaskId, "ecs-task-id", Str, 7, 0),
    (F::RejectReason, "reject-reason", Str, 8, 0),
    (F::ResourceId, "resource-id", Str, 9, 0),
    // 0 cleartext, 1 Nitro-encrypted, 2 application TLS, 3 both.
    (F::EncryptionStatus, "encryption-status", Int, 10, 255),
    (F::InstanceTag, "instance-tag", Str, 11, 0),
    (F::InstanceTag2, "instance-tag-2", Str, 11, 0),
    (F::InterfaceTag, "interface-tag", Str, 11, 0),
    (F::InterfaceTag2, "interface-tag-2", Str, 11, 0),
    (F::AsgTag, "asg-tag", Str, 11, 0),
    (F::AsgTag2, "asg-tag-2", Str, 11, 0),
    (F::InterfaceType, "interface-type", Str, 11, 0),
    (F::NextHopInterfaceId, "next-hop-interface-id", Str, 11, 0),
    (F::NextHopSubnetId, "next-hop-subnet-id", Str, 11, 0),
    (F::NextHopAzId, "next-hop-az-id", Str, 11, 0),
    (F::NextHopVpcId, "next-hop-vpc-id", Str, 11, 0),
    (
        F::NextHopInterfaceType,
        "next-hop-interface-type",
        Str,
        11,
        0,
    ),
];

/// How many fields there are (the size of per-field lookup tables).
pub const FIELD_COUNT: usize = TABLE.len();

const fn all_fields() -> [FlowField; FIELD_COUNT] {
    let mut out = [FlowField::Version; FIELD_COUNT];
    let mut i = 0;
    while i < FIELD_COUNT {
        out[i] = TABLE[i].0;
        i += 1;
    }
    out
}

const ALL_FIELDS: [FlowField; FIELD_COUNT] = all_fields();

impl FlowField {
    /// Every field, in the order of AWS's table (version 2 first, in the
    /// default format's order).
    pub const ALL: &'static [FlowField] = &ALL_FIELDS;

    /// Index of the field in [`FlowField::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    fn row(self) -> &'static (FlowField, &'static str, FieldType, u8, i64) {
        &TABLE[self.index()]
    }

    /// The name as AWS writes it in formats and header lines.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// The field with that AWS name (`dstport`, `pkt-srcaddr`); exact match.
    pub fn from_name(s: &str) -> Option<Self> {
        TABLE.iter().find(|r| r.1 == s).map(|r| r.0)
    }

    /// The field named as an identifier can be written in a policy: hyphens
    /// as underscores (`log_status`, `pkt_srcaddr`); the AWS name works too.
    pub fn from_ident(s: &str) -> Option<Self> {
        Self::from_name(s).or_else(|| {
            TABLE
                .iter()
                .find(|r| {
                    r.1.len() == s.len()
                        && r.1
                            .bytes()
                            .zip(s.bytes())
                            .all(|(a, b)| a == b || (a == b'-' && b == b'_'))
                })
                .map(|r| r.0)
        })
    }

    pub fn ty(self) -> FieldType {
        self.row().2
    }

    /// The flow log version that introduced the field.
    pub fn version(self) -> u8 {
        self.row().3
    }

    /// Largest value an integer field may hold (ports 65535, protocol 255).
    pub(crate) fn max_int(self) -> i64 {
        self.row().4
    }

    /// What a value of this field looks like, for error messages.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            F::Srcport | F::Dstport => "a port number 0-65535",
            F::Protocol => "an IANA protocol number 0-255",
            F::Start | F::End => "a time in epoch seconds",
            F::Packets | F::Bytes => "a non-negative count",
            F::Version => "a flow log version number",
            F::TcpFlags => "a TCP flags bitmask 0-255",
            F::TrafficPath => "a traffic path number",
            F::EncryptionStatus => "an encryption status number 0-3",
            _ => match self.ty() {
                Ip => "an IPv4 or IPv6 address",
                _ => "a value",
            },
        }
    }
}

impl std::fmt::Display for FlowField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_enum_order_and_names_round_trip() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.0.index(), i, "{}", row.1);
            assert_eq!(FlowField::from_name(row.1), Some(row.0));
            assert_eq!(FlowField::ALL[i], row.0);
        }
        assert_eq!(FlowField::Dstport.name(), "dstport");
        assert_eq!(FlowField::PktSrcAwsService.name(), "pkt-src-aws-service");
        assert_eq!(FlowField::from_name("dst-port"), None);
        assert_eq!(
            FlowField::from_ident("log_status"),
            Some(FlowField::LogStatus)
        );
        assert_eq!(
            FlowField::from_ident("pkt_src_aws_service"),
            Some(FlowField::PktSrcAwsService)
        );
        assert_eq!(
            FlowField::from_ident("pkt-srcaddr"),
            Some(FlowField::PktSrcaddr)
        );
        assert_eq!(FlowField::from_ident("log_statu"), None);
        assert_eq!(FlowField::TrafficPath.version(), 5);
        assert_eq!(FlowField::Start.ty(), FieldType::Time);
        assert_eq!(FlowField::ALL.len(), 54);
    }
}
