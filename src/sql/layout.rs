//! The tables the queries read: Athena's documented layouts for CloudTrail
//! (`cloudtrail_logs`), VPC Flow Logs (`vpc_flow_logs`, the default format or
//! a custom field order) and Route 53 Resolver query logs (`r53_rlogs`), and
//! how a detection's field paths map onto their columns.
//!
//! The columns hold what the logs say, as the SerDes read them: flow log
//! fields as text split on spaces (`-` kept in string columns, NULL in number
//! columns), CloudTrail documents as structs with `requestparameters` and the
//! other free-form members as JSON text, Route 53 names as logged (with the
//! trailing dot). The normalisation the native loaders do — `-` is absent,
//! `query_name` without its final dot in lower case, times from RFC 3339 —
//! is done by the queries.

use crate::load::logs::{FieldType, FlowField, FlowFormat};
use crate::schema::logs::{LogSource, FLOW_FIELDS};

use super::dialect::Dialect;

/// The names of the tables a query reads (`--table source=NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    pub flowlog: String,
    pub cloudtrail: String,
    pub dns: String,
    /// One row per list the run was given: `kind`, `list_name`, `entries`, `source`.
    pub lists: String,
    /// Address ranges of the lists: `kind`, `list_name`, `family`, start and end.
    pub networks: String,
    /// Domains of the lists: `kind`, `list_name`, `domain`.
    pub domains: String,
}

impl Default for Tables {
    fn default() -> Self {
        Tables {
            flowlog: "vpc_flow_logs".into(),
            cloudtrail: "cloudtrail_logs".into(),
            dns: "r53_rlogs".into(),
            lists: "deadbolt_lists".into(),
            networks: "deadbolt_networks".into(),
            domains: "deadbolt_domains".into(),
        }
    }
}

impl Tables {
    pub const KEYS: [&'static str; 6] = [
        "flowlog",
        "cloudtrail",
        "dns",
        "lists",
        "networks",
        "domains",
    ];

    /// Sets one table's name from `source=NAME`.
    pub fn set(&mut self, key: &str, name: &str) -> Result<(), String> {
        let ok = !name.is_empty()
            && name.split('.').all(|p| {
                let mut cs = p.chars();
                cs.next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !ok {
            return Err(format!(
                "`{}` is not a table name: expected letters, digits and `_`, optionally qualified (`logs.vpc_flow_logs`)",
                crate::terminal::clip(name, 80)
            ));
        }
        let slot = match key {
            "flowlog" | "flow" => &mut self.flowlog,
            "cloudtrail" => &mut self.cloudtrail,
            "dns" | "route53" => &mut self.dns,
            "lists" => &mut self.lists,
            "networks" => &mut self.networks,
            "domains" => &mut self.domains,
            other => {
                return Err(format!(
                    "unknown table `{}`: expected one of {}",
                    crate::terminal::clip(other, 40),
                    Self::KEYS.join(", ")
                ))
            }
        };
        *slot = name.to_string();
        Ok(())
    }

    pub fn of(&self, source: LogSource) -> &str {
        match source {
            LogSource::FlowLog => &self.flowlog,
            LogSource::CloudTrail => &self.cloudtrail,
            LogSource::Dns => &self.dns,
        }
    }
}

/// What a field path of a record is in the table.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Text; NULL when the field is absent.
    Str(String),
    /// A number; `nonneg` when it can never be negative (flow log counters).
    Num { sql: String, nonneg: bool },
    /// A flow log address, as text.
    Ip(String),
    /// A free-form member held as JSON text (`requestparameters`).
    JsonText(String),
    /// A struct column: its native path, for its members.
    Struct(Vec<&'static str>, String),
}

/// A member of a struct column: native name, column name, and what it holds.
struct Member {
    name: &'static str,
    column: &'static str,
    kind: Kind,
}

enum Kind {
    Str,
    Json,
    Struct(&'static [Member]),
    /// In the native schema but not a column of the documented table.
    Absent(&'static str),
}

const fn m(name: &'static str, column: &'static str, kind: Kind) -> Member {
    Member { name, column, kind }
}

const SESSION_ATTRIBUTES: &[Member] = &[
    m("mfaAuthenticated", "mfaauthenticated", Kind::Str),
    m("creationDate", "creationdate", Kind::Str),
];
const SESSION_ISSUER: &[Member] = &[
    m("type", "type", Kind::Str),
    m("principalId", "principalid", Kind::Str),
    m("arn", "arn", Kind::Str),
    m("accountId", "accountid", Kind::Str),
    m("userName", "username", Kind::Str),
];
const WEB_ID: &[Member] = &[
    m("federatedProvider", "federatedprovider", Kind::Str),
    m(
        "attributes",
        "attributes",
        Kind::Absent("a map<string,string> column"),
    ),
];
const SESSION_CONTEXT: &[Member] = &[
    m("attributes", "attributes", Kind::Struct(SESSION_ATTRIBUTES)),
    m(
        "sessionIssuer",
        "sessionissuer",
        Kind::Struct(SESSION_ISSUER),
    ),
    m("ec2RoleDelivery", "ec2roledelivery", Kind::Str),
    m(
        "webIdFederationData",
        "webidfederationdata",
        Kind::Struct(WEB_ID),
    ),
    m(
        "sourceIdentity",
        "sourceidentity",
        Kind::Absent("not a column of Athena's cloudtrail_logs DDL"),
    ),
    m(
        "assumedRoot",
        "assumedroot",
        Kind::Absent("not a column of Athena's cloudtrail_logs DDL"),
    ),
];
const ON_BEHALF_OF: &[Member] = &[
    m("userId", "userid", Kind::Str),
    m("identityStoreArn", "identitystorearn", Kind::Str),
];
const USER_IDENTITY: &[Member] = &[
    m("type", "type", Kind::Str),
    m("principalId", "principalid", Kind::Str),
    m("arn", "arn", Kind::Str),
    m("accountId", "accountid", Kind::Str),
    m("invokedBy", "invokedby", Kind::Str),
    m("accessKeyId", "accesskeyid", Kind::Str),
    m("userName", "username", Kind::Str),
    m("onBehalfOf", "onbehalfof", Kind::Struct(ON_BEHALF_OF)),
    m(
        "sessionContext",
        "sessioncontext",
        Kind::Struct(SESSION_CONTEXT),
    ),
];
const ADDENDUM: &[Member] = &[
    m("reason", "reason", Kind::Str),
    m("updatedFields", "updatedfields", Kind::Str),
    m("originalRequestID", "originalrequestid", Kind::Str),
    m("originalEventID", "originaleventid", Kind::Str),
];
const TLS: &[Member] = &[
    m("tlsVersion", "tlsversion", Kind::Str),
    m("cipherSuite", "ciphersuite", Kind::Str),
    m(
        "clientProvidedHostHeader",
        "clientprovidedhostheader",
        Kind::Str,
    ),
];
const NOT_IN_DDL: &str = "not a column of Athena's cloudtrail_logs DDL";
const CLOUDTRAIL: &[Member] = &[
    m("eventVersion", "eventversion", Kind::Str),
    m("userIdentity", "useridentity", Kind::Struct(USER_IDENTITY)),
    m("eventTime", "eventtime", Kind::Str),
    m("eventSource", "eventsource", Kind::Str),
    m("eventName", "eventname", Kind::Str),
    m("awsRegion", "awsregion", Kind::Str),
    m("sourceIPAddress", "sourceipaddress", Kind::Str),
    m("userAgent", "useragent", Kind::Str),
    m("errorCode", "errorcode", Kind::Str),
    m("errorMessage", "errormessage", Kind::Str),
    m("requestParameters", "requestparameters", Kind::Json),
    m("responseElements", "responseelements", Kind::Json),
    m("additionalEventData", "additionaleventdata", Kind::Json),
    m("requestID", "requestid", Kind::Str),
    m("eventID", "eventid", Kind::Str),
    m(
        "resources",
        "resources",
        Kind::Absent("an array of structs, which the SQL translation does not read"),
    ),
    m("eventType", "eventtype", Kind::Str),
    m("apiVersion", "apiversion", Kind::Str),
    m("readOnly", "readonly", Kind::Str),
    m("recipientAccountId", "recipientaccountid", Kind::Str),
    m("serviceEventDetails", "serviceeventdetails", Kind::Json),
    m("sharedEventID", "sharedeventid", Kind::Str),
    m("vpcEndpointId", "vpcendpointid", Kind::Str),
    m("vpcEndpointAccountId", "vpcendpointaccountid", Kind::Str),
    m("eventCategory", "eventcategory", Kind::Str),
    m("addendum", "addendum", Kind::Struct(ADDENDUM)),
    m(
        "sessionCredentialFromConsole",
        "sessioncredentialfromconsole",
        Kind::Str,
    ),
    m("edgeDeviceDetails", "edgedevicedetails", Kind::Json),
    m("tlsDetails", "tlsdetails", Kind::Struct(TLS)),
    m(
        "managementEvent",
        "managementevent",
        Kind::Absent(NOT_IN_DDL),
    ),
    m("insightDetails", "insightdetails", Kind::Absent(NOT_IN_DDL)),
];

const SRCIDS: &[Member] = &[
    m("instance", "instance", Kind::Str),
    m("resolver_endpoint", "resolver_endpoint", Kind::Str),
    m(
        "resolver_network_interface",
        "resolver_network_interface",
        Kind::Absent("not a column of Athena's r53_rlogs DDL"),
    ),
];

/// Route 53 columns that the query derives rather than reads as they are.
const DNS: &[Member] = &[
    m("version", "version", Kind::Str),
    m("account_id", "account_id", Kind::Str),
    m("region", "region", Kind::Str),
    m("vpc_id", "vpc_id", Kind::Str),
    m("query_timestamp", "query_timestamp", Kind::Str),
    m("query_name", "query_name", Kind::Str),
    m("query_name_raw", "query_name", Kind::Str),
    m("query_type", "query_type", Kind::Str),
    m("query_class", "query_class", Kind::Str),
    m("rcode", "rcode", Kind::Str),
    m(
        "answers",
        "answers",
        Kind::Absent("an array of structs, which the SQL translation does not read"),
    ),
    m("srcaddr", "srcaddr", Kind::Str),
    m("srcport", "srcport", Kind::Str),
    m("transport", "transport", Kind::Str),
    m("srcids", "srcids", Kind::Struct(SRCIDS)),
    m("firewall_rule_action", "firewall_rule_action", Kind::Str),
    m(
        "firewall_rule_group_id",
        "firewall_rule_group_id",
        Kind::Str,
    ),
    m(
        "firewall_domain_list_id",
        "firewall_domain_list_id",
        Kind::Str,
    ),
    m(
        "firewall_protection",
        "firewall_protection",
        Kind::Absent("not a column of Athena's r53_rlogs DDL"),
    ),
];

/// The layout of one source's table.
pub struct Layout {
    pub source: LogSource,
    /// The flow log fields the table has (its format).
    pub flow: Vec<FlowField>,
}

impl Layout {
    pub fn new(source: LogSource, flow_format: Option<&FlowFormat>) -> Layout {
        let flow = match flow_format {
            Some(f) => f.fields.clone(),
            None => default_flow_fields(),
        };
        Layout { source, flow }
    }

    /// The column of a flow log field (by its index in `FLOW_FIELDS`).
    pub fn flow_column(&self, dia: &dyn Dialect, index: usize) -> Result<Column, String> {
        let name = FLOW_FIELDS
            .get(index)
            .map(|f| f.0)
            .ok_or("not a flow log field")?;
        let field = FlowField::from_name(name).ok_or("not a flow log field")?;
        if !self.flow.contains(&field) {
            return Err(format!(
                "flow log field `{name}` is not a column of the table's format (give the flow log's format with --flowlog-format)"
            ));
        }
        let col = flow_column_name(field);
        let quoted = if col == "end" || col == "start" || col == "type" || col == "version" {
            dia.ident(&col)
        } else {
            col
        };
        Ok(match field.ty() {
            FieldType::Int | FieldType::Time => Column::Num {
                sql: quoted,
                nonneg: true,
            },
            FieldType::Ip => Column::Ip(format!("NULLIF({quoted}, '-')")),
            FieldType::Str => Column::Str(format!("NULLIF({quoted}, '-')")),
        })
    }

    /// The column at a path of an event (CloudTrail, Route 53), from its root
    /// or from a struct column.
    pub fn event_column(
        &self,
        dia: &dyn Dialect,
        parent: Option<(&[&'static str], &str)>,
        name: &str,
    ) -> Result<Column, String> {
        let root = match self.source {
            LogSource::CloudTrail => CLOUDTRAIL,
            LogSource::Dns => DNS,
            LogSource::FlowLog => return Err("flow log records have no nested fields".into()),
        };
        let mut members = root;
        let mut path: Vec<&'static str> = Vec::new();
        if let Some((p, _)) = parent {
            for seg in p {
                let Some(Member {
                    kind: Kind::Struct(inner),
                    name,
                    ..
                }) = members.iter().find(|m| m.name == *seg)
                else {
                    return Err(format!("`{seg}` is not a struct column"));
                };
                path.push(name);
                members = inner;
            }
        }
        let Some(mem) = members.iter().find(|m| m.name == name) else {
            let table = match self.source {
                LogSource::CloudTrail => "cloudtrail_logs",
                _ => "r53_rlogs",
            };
            return Err(format!(
                "`{}` is not a column of Athena's {table} DDL",
                dotted(&path, name)
            ));
        };
        let sql = match parent {
            Some((_, base)) => format!("{base}.{}", mem.column),
            None => mem.column.to_string(),
        };
        path.push(mem.name);
        Ok(match &mem.kind {
            Kind::Str => self.event_text(dia, &path, sql),
            Kind::Json => Column::JsonText(sql),
            Kind::Struct(_) => Column::Struct(path, sql),
            Kind::Absent(why) => {
                return Err(format!("`{}` is {why}", path.join(".")));
            }
        })
    }

    /// Route 53 columns the native loader normalises.
    fn event_text(&self, dia: &dyn Dialect, path: &[&str], sql: String) -> Column {
        if self.source != LogSource::Dns {
            return Column::Str(sql);
        }
        match path {
            // Lower case (ASCII) without the one trailing dot, as the loader does.
            ["query_name"] => Column::Str(lower_ascii(&format!(
                "CASE WHEN substr({sql}, length({sql})) = '.' THEN substr({sql}, 1, length({sql}) - 1) ELSE {sql} END"
            ))),
            // An int column in Athena's DDL, a string in the native schema.
            ["srcport"] => Column::Str(dia.cast_text(&sql)),
            _ => Column::Str(sql),
        }
    }

    /// The event time in epoch milliseconds as SQL text: flow records by
    /// `start` (else `end`) in seconds; events by their RFC 3339 time field.
    pub fn time_field(&self, dia: &dyn Dialect) -> Result<TimeField, String> {
        match self.source {
            LogSource::FlowLog => {
                let col = |f: FlowField| {
                    self.flow
                        .contains(&f)
                        .then(|| dia.ident(&flow_column_name(f)))
                };
                match (col(FlowField::Start), col(FlowField::End)) {
                    (Some(s), Some(e)) => Ok(TimeField::EpochSeconds(format!("COALESCE({s}, {e})"))),
                    (Some(s), None) => Ok(TimeField::EpochSeconds(s)),
                    (None, Some(e)) => Ok(TimeField::EpochSeconds(e)),
                    (None, None) => Err("the flow log format has neither `start` nor `end`: its records have no event time".into()),
                }
            }
            LogSource::CloudTrail => Ok(TimeField::Rfc3339("eventtime".into())),
            LogSource::Dns => Ok(TimeField::Rfc3339("query_timestamp".into())),
        }
    }

    /// Rows the native loader would not take for a record of the source.
    pub fn validity(&self) -> Option<&'static str> {
        match self.source {
            LogSource::FlowLog => None,
            LogSource::CloudTrail => Some("(eventname IS NOT NULL OR eventversion IS NOT NULL)"),
            LogSource::Dns => Some("query_name IS NOT NULL"),
        }
    }

    /// The columns the default resource is taken from, first present wins.
    pub fn default_resource(&self) -> &'static [&'static [&'static str]] {
        match self.source {
            LogSource::FlowLog => &[&["instance-id"], &["interface-id"], &["srcaddr"]],
            LogSource::CloudTrail => &[
                &["userIdentity", "arn"],
                &["userIdentity", "accessKeyId"],
                &["userIdentity", "principalId"],
                &["sourceIPAddress"],
            ],
            LogSource::Dns => &[&["srcids", "instance"], &["srcaddr"]],
        }
    }
}

pub enum TimeField {
    EpochSeconds(String),
    Rfc3339(String),
}

fn dotted(path: &[&str], name: &str) -> String {
    let mut p: Vec<&str> = path.to_vec();
    p.push(name);
    p.join(".")
}

/// ASCII lower case, as Rust's `to_ascii_lowercase`.
pub fn lower_ascii(x: &str) -> String {
    format!("translate({x}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

/// The version 2 to 5 fields, in the order of Athena's documented DDL.
pub fn default_flow_fields() -> Vec<FlowField> {
    FlowField::ALL[..29].to_vec()
}

/// `log-status` → `log_status`.
pub fn flow_column_name(f: FlowField) -> String {
    f.name().replace('-', "_")
}

fn flow_sql_type(f: FlowField) -> &'static str {
    match f {
        FlowField::Version
        | FlowField::Srcport
        | FlowField::Dstport
        | FlowField::TcpFlags
        | FlowField::TrafficPath => "int",
        _ => match f.ty() {
            FieldType::Int | FieldType::Time => "bigint",
            FieldType::Ip | FieldType::Str => "string",
        },
    }
}

/// The DDL of the log tables and the list tables, for a target.
pub fn ddl(target: super::Target, tables: &Tables, flow: &[FlowField]) -> String {
    use super::Target::*;
    let mut out = String::new();
    match target {
        Athena | Trino => {
            out.push_str(
                "-- deadbolt: the tables the compiled detections read, as Athena's documentation\n\
                 -- defines them (https://docs.aws.amazon.com/athena/latest/ug/). Run in Athena (or\n\
                 -- Hive/Glue, whose tables Trino reads through the Hive connector); change LOCATION.\n\
                 -- Athena engine version 3 is required (RANGE window frames with offsets).\n\n"
            );
            out.push_str(&hive_cloudtrail(&tables.cloudtrail));
            out.push_str(&hive_flow(&tables.flowlog, flow));
            out.push_str(&hive_dns(&tables.dns));
            out.push_str(&hive_lists(tables));
        }
        DuckDb => {
            out.push_str("-- deadbolt: the tables the compiled detections read, in DuckDB, with the\n-- columns of Athena's documented DDL and `filename` (read_csv/read_json(..., filename = true)).\n\n");
            out.push_str(&duck_cloudtrail(&tables.cloudtrail));
            out.push_str(&duck_flow(&tables.flowlog, flow));
            out.push_str(&duck_dns(&tables.dns));
            out.push_str(&plain_lists(tables, "VARCHAR", ""));
        }
        Spark => {
            out.push_str("-- deadbolt: the tables the compiled detections read, in Spark SQL, with the\n-- columns of Athena's documented DDL; input_file_name() names each row's file.\n\n");
            out.push_str(&spark_cloudtrail(&tables.cloudtrail));
            out.push_str(&spark_flow(&tables.flowlog, flow));
            out.push_str(&spark_dns(&tables.dns));
            out.push_str(&plain_lists(
                tables,
                "STRING",
                " USING csv OPTIONS (path 'lists/', sep '\\t', header 'true')",
            ));
        }
    }
    out
}

const CT_COLUMNS: &str = "  eventversion STRING,
  useridentity STRUCT<
    type:STRING, principalid:STRING, arn:STRING, accountid:STRING, invokedby:STRING,
    accesskeyid:STRING, username:STRING,
    onbehalfof:STRUCT<userid:STRING, identitystorearn:STRING>,
    sessioncontext:STRUCT<
      attributes:STRUCT<mfaauthenticated:STRING, creationdate:STRING>,
      sessionissuer:STRUCT<type:STRING, principalid:STRING, arn:STRING, accountid:STRING, username:STRING>,
      ec2roledelivery:STRING,
      webidfederationdata:STRUCT<federatedprovider:STRING, attributes:MAP<STRING,STRING>>>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  resources ARRAY<STRUCT<arn:STRING, accountid:STRING, type:STRING>>,
  eventtype STRING,
  apiversion STRING,
  readonly STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  vpcendpointaccountid STRING,
  eventcategory STRING,
  addendum STRUCT<reason:STRING, updatedfields:STRING, originalrequestid:STRING, originaleventid:STRING>,
  sessioncredentialfromconsole STRING,
  edgedevicedetails STRING,
  tlsdetails STRUCT<tlsversion:STRING, ciphersuite:STRING, clientprovidedhostheader:STRING>";

fn hive_cloudtrail(name: &str) -> String {
    format!(
        "CREATE EXTERNAL TABLE {name} (\n{CT_COLUMNS}\n)\n\
         PARTITIONED BY (region STRING, year STRING, month STRING, day STRING)\n\
         ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n\
         STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n\
         OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n\
         LOCATION 's3://amzn-s3-demo-bucket/AWSLogs/111122223333/CloudTrail/';\n\n"
    )
}

fn flow_columns(
    flow: &[FlowField],
    quote: &dyn Fn(&str) -> String,
    ty: &dyn Fn(FlowField) -> String,
) -> String {
    flow.iter()
        .map(|f| format!("  {} {}", quote(&flow_column_name(*f)), ty(*f)))
        .collect::<Vec<_>>()
        .join(",\n")
}

fn hive_flow(name: &str, flow: &[FlowField]) -> String {
    let custom = flow != default_flow_fields().as_slice();
    let note = if custom {
        "-- A custom format: the columns in the order of the flow log's LogFormat.\n"
    } else {
        "-- The default columns (versions 2 to 5); a custom format lists its fields in its order\n-- (deadbolt compile --flowlog-format '${...}' writes that table).\n"
    };
    let cols = flow_columns(
        flow,
        &|c| {
            if c == "end" {
                "`end`".to_string()
            } else {
                c.to_string()
            }
        },
        &|f| flow_sql_type(f).to_string(),
    );
    format!(
        "{note}CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n{cols}\n)\n\
         PARTITIONED BY (`date` date)\n\
         ROW FORMAT DELIMITED\n\
         FIELDS TERMINATED BY ' '\n\
         LOCATION 's3://amzn-s3-demo-bucket/prefix/AWSLogs/111122223333/vpcflowlogs/us-east-1/'\n\
         TBLPROPERTIES (\"skip.header.line.count\"=\"1\");\n\n"
    )
}

const DNS_COLUMNS_HIVE: &str = "  version string,
  account_id string,
  region string,
  vpc_id string,
  query_timestamp string,
  query_name string,
  query_type string,
  query_class string,
  rcode string,
  answers array<struct<Rdata: string, Type: string, Class: string>>,
  srcaddr string,
  srcport int,
  transport string,
  srcids struct<instance: string, resolver_endpoint: string>,
  firewall_rule_action string,
  firewall_rule_group_id string,
  firewall_domain_list_id string";

fn hive_dns(name: &str) -> String {
    format!(
        "CREATE EXTERNAL TABLE {name} (\n{DNS_COLUMNS_HIVE}\n)\n\
         ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n\
         LOCATION 's3://amzn-s3-demo-bucket/AWSLogs/111122223333/vpcdnsquerylogs/vpc-0123456789abcdef0/';\n\n"
    )
}

const LISTS_NOTE: &str =
    "-- The lists detections test membership in, as `deadbolt compile --threat-list NAME=PATH\n\
-- --trusted-list PATH --aws-ip-ranges PATH -o DIR` writes them (DIR/lists/*.tsv, tab-separated,\n\
-- with a header line). kind is `threat`, `trusted` or `aws`; a list is given when it has a\n\
-- row in the lists table, even with no entries. Networks are merged inclusive ranges of\n\
-- addresses as numbers: IPv4 (family 4) in start_lo/end_lo with start_hi = end_hi = 0, IPv6\n\
-- (family 6) as the upper and lower 64 bits. Domains are lower case without a final dot and\n\
-- match themselves and their subdomains at a label boundary.\n";

fn hive_lists(t: &Tables) -> String {
    let loc = |d: &str| {
        format!(
            "ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t'\nLOCATION 's3://amzn-s3-demo-bucket/deadbolt/{d}/'\nTBLPROPERTIES (\"skip.header.line.count\"=\"1\");\n\n"
        )
    };
    format!(
        "{LISTS_NOTE}CREATE EXTERNAL TABLE {} (kind string, list_name string, entries bigint, source string)\n{}\
         CREATE EXTERNAL TABLE {} (kind string, list_name string, family int,\n  start_hi decimal(20,0), start_lo decimal(20,0), end_hi decimal(20,0), end_lo decimal(20,0))\n{}\
         CREATE EXTERNAL TABLE {} (kind string, list_name string, domain string)\n{}",
        t.lists,
        loc("lists"),
        t.networks,
        loc("networks"),
        t.domains,
        loc("domains"),
    )
}

fn plain_lists(t: &Tables, text: &str, using: &str) -> String {
    let using_for = |d: &str| using.replace("lists/", &format!("lists/{d}.tsv"));
    format!(
        "{LISTS_NOTE}CREATE TABLE {} (kind {text}, list_name {text}, entries BIGINT, source {text}){};\n\
         CREATE TABLE {} (kind {text}, list_name {text}, family INT,\n  start_hi DECIMAL(20,0), start_lo DECIMAL(20,0), end_hi DECIMAL(20,0), end_lo DECIMAL(20,0)){};\n\
         CREATE TABLE {} (kind {text}, list_name {text}, domain {text}){};\n",
        t.lists,
        using_for("lists"),
        t.networks,
        using_for("networks"),
        t.domains,
        using_for("domains"),
    )
}

/// Hive struct syntax to DuckDB's: `STRUCT<a:STRING>` → `STRUCT(a VARCHAR)`.
fn hive_to_duck(cols: &str) -> String {
    let mut out = String::new();
    let mut chars = cols.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => out.push('('),
            '>' => out.push(')'),
            ':' => out.push(' '),
            _ => out.push(c),
        }
        if c == ':' {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
        }
    }
    out.replace("STRING", "VARCHAR")
        .replace("string", "VARCHAR")
        .replace(
            "ARRAY(STRUCT(arn VARCHAR, accountid VARCHAR, type VARCHAR))",
            "STRUCT(arn VARCHAR, accountid VARCHAR, type VARCHAR)[]",
        )
        .replace(
            "array(struct(Rdata VARCHAR, Type VARCHAR, Class VARCHAR))",
            "STRUCT(Rdata VARCHAR, Type VARCHAR, Class VARCHAR)[]",
        )
        .replace("MAP(VARCHAR,VARCHAR)", "MAP(VARCHAR, VARCHAR)")
}

fn duck_cloudtrail(name: &str) -> String {
    format!(
        "CREATE TABLE {name} (\n{},\n  filename VARCHAR\n);\n\n",
        hive_to_duck(CT_COLUMNS)
    )
}

fn duck_flow(name: &str, flow: &[FlowField]) -> String {
    let cols = flow_columns(flow, &|c| format!("\"{c}\""), &|f| match flow_sql_type(f) {
        "int" => "INTEGER".into(),
        "bigint" => "BIGINT".into(),
        _ => "VARCHAR".into(),
    });
    format!("CREATE TABLE {name} (\n{cols},\n  filename VARCHAR\n);\n\n")
}

fn duck_dns(name: &str) -> String {
    format!(
        "CREATE TABLE {name} (\n{},\n  filename VARCHAR\n);\n\n",
        hive_to_duck(DNS_COLUMNS_HIVE).replace("srcport int", "srcport INTEGER")
    )
}

fn spark_cloudtrail(name: &str) -> String {
    format!(
        "CREATE TABLE {name} (\n{}\n) USING json OPTIONS (path 's3://amzn-s3-demo-bucket/cloudtrail-events/');\n\
         -- CloudTrail delivers {{\"Records\": [...]}} files: flatten them to one event a line first\n\
         -- (e.g. spark.read.json(path).selectExpr('explode(Records) AS r').select('r.*')).\n\n",
        CT_COLUMNS.replace("MAP<STRING,STRING>", "MAP<STRING, STRING>")
    )
}

fn spark_flow(name: &str, flow: &[FlowField]) -> String {
    let cols = flow_columns(flow, &|c| format!("`{c}`"), &|f| {
        flow_sql_type(f).to_uppercase()
    });
    format!(
        "CREATE TABLE {name} (\n{cols}\n) USING csv OPTIONS (path 's3://amzn-s3-demo-bucket/vpcflowlogs/', sep ' ', header 'true');\n\n"
    )
}

fn spark_dns(name: &str) -> String {
    format!(
        "CREATE TABLE {name} (\n{}\n) USING json OPTIONS (path 's3://amzn-s3-demo-bucket/vpcdnsquerylogs/');\n\n",
        DNS_COLUMNS_HIVE
    )
}
