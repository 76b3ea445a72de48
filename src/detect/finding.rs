//! GuardDuty-shaped findings: what the first record of a group says (remote
//! address, ports, API, domain), and the finding object built from an alert,
//! in the shape of GuardDuty's `GetFindings` (schemaVersion 2.0).

use serde_json::{json, Map, Value as J};

use super::engine::{AlertOut, GroupInfo, Record};
use crate::compile::ir::Detection;
use crate::eval::records::RecordEval;
use crate::eval::LogValue;
use crate::schema::logs::{LogSource, FLOW_FIELDS};

fn flow(rec: &Record<'_>, name: &str) -> Option<J> {
    let Record::Fields { fields, .. } = rec else {
        return None;
    };
    let i = FLOW_FIELDS.iter().position(|(n, _)| *n == name)?;
    match fields.field(i) {
        LogValue::Absent => None,
        LogValue::Num(n) => Some(if n.fract() == 0.0 {
            json!(n as i64)
        } else {
            json!(n)
        }),
        LogValue::Str(s) => Some(json!(s)),
        LogValue::Ip(ip) => Some(json!(ip.to_string())),
    }
}

fn text(ev: &RecordEval<'_, '_>, path: &[&str]) -> Option<J> {
    ev.event_text(path).map(|s| J::String(s.into_owned()))
}

/// The details of a record that a finding reports.
pub fn summary(source: LogSource, ev: &RecordEval<'_, '_>, rec: &Record<'_>) -> Map<String, J> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<J>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    match source {
        LogSource::FlowLog => {
            for f in [
                "srcaddr",
                "dstaddr",
                "srcport",
                "dstport",
                "protocol",
                "action",
                "interface-id",
                "instance-id",
                "account-id",
                "region",
                "vpc-id",
                "flow-direction",
            ] {
                put(f, flow(rec, f));
            }
        }
        LogSource::CloudTrail => {
            put("eventName", text(ev, &["eventName"]));
            put("eventSource", text(ev, &["eventSource"]));
            put("sourceIPAddress", text(ev, &["sourceIPAddress"]));
            put("userAgent", text(ev, &["userAgent"]));
            put("awsRegion", text(ev, &["awsRegion"]));
            put("recipientAccountId", text(ev, &["recipientAccountId"]));
            put("errorCode", text(ev, &["errorCode"]));
            for f in [
                "type",
                "principalId",
                "arn",
                "accountId",
                "accessKeyId",
                "userName",
            ] {
                put(&format!("userIdentity.{f}"), text(ev, &["userIdentity", f]));
            }
        }
        LogSource::Dns => {
            for f in [
                "query_name",
                "query_type",
                "srcaddr",
                "account_id",
                "region",
                "vpc_id",
                "transport",
            ] {
                put(f, text(ev, &[f]));
            }
            put("srcids.instance", text(ev, &["srcids", "instance"]));
        }
    }
    m
}

/// The resource concerned when a detection does not say.
pub fn default_resource(source: LogSource, ev: &RecordEval<'_, '_>, rec: &Record<'_>) -> String {
    let s = |v: Option<J>| {
        v.and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| Some(v.to_string()))
        })
    };
    let found = match source {
        LogSource::FlowLog => s(flow(rec, "instance-id"))
            .or_else(|| s(flow(rec, "interface-id")))
            .or_else(|| s(flow(rec, "srcaddr"))),
        LogSource::CloudTrail => s(text(ev, &["userIdentity", "arn"]))
            .or_else(|| s(text(ev, &["userIdentity", "accessKeyId"])))
            .or_else(|| s(text(ev, &["userIdentity", "principalId"])))
            .or_else(|| s(text(ev, &["sourceIPAddress"]))),
        LogSource::Dns => {
            s(text(ev, &["srcids", "instance"])).or_else(|| s(text(ev, &["srcaddr"])))
        }
    };
    found.unwrap_or_else(|| "(unknown)".to_string())
}

/// The type of a resource id, as results name it.
pub fn resource_type(source: LogSource, resource: &str) -> &'static str {
    if resource.starts_with("i-") {
        "AWS::EC2::Instance"
    } else if resource.starts_with("eni-") {
        "AWS::EC2::NetworkInterface"
    } else if resource.starts_with("arn:aws")
        && (resource.contains(":iam::") || resource.contains(":sts::"))
    {
        "AWS::IAM::Principal"
    } else if resource.starts_with("AKIA") || resource.starts_with("ASIA") {
        "AWS::IAM::AccessKey"
    } else if resource.parse::<std::net::IpAddr>().is_ok() {
        "IpAddress"
    } else {
        match source {
            LogSource::FlowLog => "NetworkFlow",
            LogSource::CloudTrail => "AWS::IAM::Principal",
            LogSource::Dns => "DnsQuery",
        }
    }
}

pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Stable finding id: the same alert gets the same id on every run.
fn finding_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x84222325cbf29ce4;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            h2 = h2.rotate_left(5) ^ u64::from(b);
            h2 = h2.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    format!("{h:016x}{h2:016x}")
}

/// Account and region from an S3 delivery key when the records do not say
/// (v2 flow logs have neither field): AWS names delivered objects
/// `ACCOUNT_vpcflowlogs_REGION_...` and `ACCOUNT_CloudTrail_REGION_...`.
pub fn fill_from_key(gd: &mut J, path: &str) {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let mut parts = name.split('_');
    let (Some(account), Some(_service), Some(region)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let is_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let is_region = region.split('-').count() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !is_account || !is_region {
        return;
    }
    let mut changed = false;
    if gd["accountId"].is_null() {
        gd["accountId"] = json!(account);
        changed = true;
    }
    if gd["region"].is_null() {
        gd["region"] = json!(region);
        changed = true;
    }
    if changed {
        gd["arn"] = json!(format!(
            "arn:aws:guardduty:{}:{}:detector/deadbolt/finding/{}",
            gd["region"].as_str().unwrap_or(""),
            gd["accountId"].as_str().unwrap_or(""),
            gd["id"].as_str().unwrap_or("")
        ));
    }
}

/// The GuardDuty finding of an alert.
pub fn guardduty(
    d: &Detection,
    a: &AlertOut,
    info: &GroupInfo,
    message: &str,
    evidence: Vec<J>,
) -> J {
    let s = &info.summary;
    let get = |k: &str| s.get(k).cloned().unwrap_or(J::Null);
    let account = match d.source {
        LogSource::FlowLog => get("account-id"),
        LogSource::CloudTrail => get("recipientAccountId"),
        LogSource::Dns => get("account_id"),
    };
    let region = match d.source {
        LogSource::FlowLog => get("region"),
        LogSource::CloudTrail => get("awsRegion"),
        LogSource::Dns => get("region"),
    };
    let key = a.key.text();
    let id = finding_id(&[&d.id, &key, &a.alert.first.0.to_string()]);
    let resource = if info.resource.starts_with("i-") {
        json!({"resourceType": "Instance", "instanceDetails": {"instanceId": info.resource}})
    } else if d.source == LogSource::CloudTrail {
        json!({"resourceType": "AccessKey", "accessKeyDetails": {
            "accessKeyId": get("userIdentity.accessKeyId"),
            "principalId": get("userIdentity.principalId"),
            "userName": get("userIdentity.userName"),
            "userType": get("userIdentity.type"),
        }})
    } else if info.resource.starts_with("eni-") {
        json!({"resourceType": "Instance", "instanceDetails": {"networkInterfaces": [{"networkInterfaceId": info.resource}]}})
    } else {
        json!({"resourceType": "Instance", "instanceDetails": {"networkInterfaces": [{"privateIpAddress": info.resource}]}})
    };
    let ip = |k: &str| {
        let v = get(k);
        match v.as_str().map(|s| s.contains(':')) {
            Some(true) => json!({"ipAddressV6": v}),
            _ => json!({"ipAddressV4": v}),
        }
    };
    let protocol = match get("protocol").as_i64() {
        Some(6) => json!("TCP"),
        Some(17) => json!("UDP"),
        Some(1) => json!("ICMP"),
        Some(n) => json!(n.to_string()),
        None => J::Null,
    };
    let blocked = get("action").as_str() == Some("REJECT");
    let action = match d.action.as_str() {
        "PORT_PROBE" => json!({"actionType": "PORT_PROBE", "portProbeAction": {
            "blocked": blocked,
            "portProbeDetails": [{"localPortDetails": {"port": get("dstport")}, "localIpDetails": ip("dstaddr"), "remoteIpDetails": ip("srcaddr")}],
        }}),
        "NETWORK_CONNECTION" => {
            json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
                "blocked": blocked,
                "connectionDirection": get("flow-direction").as_str().map(|d| d.to_ascii_uppercase()).unwrap_or_else(|| "UNKNOWN".into()),
                "localIpDetails": ip("dstaddr"),
                "localPortDetails": {"port": get("dstport")},
                "remoteIpDetails": ip("srcaddr"),
                "remotePortDetails": {"port": get("srcport")},
                "protocol": protocol,
            }})
        }
        "DNS_REQUEST" => json!({"actionType": "DNS_REQUEST", "dnsRequestAction": {
            "domain": get("query_name"),
            "protocol": get("transport"),
            "blocked": false,
        }}),
        _ => json!({"actionType": "AWS_API_CALL", "awsApiCallAction": {
            "api": get("eventName"),
            "serviceName": get("eventSource"),
            "callerType": if get("sourceIPAddress").as_str().is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok()) { "Remote IP" } else { "AWS Service" },
            "remoteIpDetails": ip("sourceIPAddress"),
            "errorCode": get("errorCode"),
            "userAgent": get("userAgent"),
        }}),
    };
    let mut service = json!({
        "serviceName": "guardduty",
        "action": action,
        "archived": false,
        "count": a.alert.count,
        "eventFirstSeen": iso(a.alert.first.0),
        "eventLastSeen": iso(a.alert.last_time),
        "resourceRole": "TARGET",
        "additionalInfo": {"deadbolt": {"detection": d.id, "group": key, "values": a.alert.values}},
    });
    if !evidence.is_empty() {
        service["evidence"] = json!({"threatIntelligenceDetails": evidence});
    }
    json!({
        "schemaVersion": "2.0",
        "accountId": account,
        "region": region,
        "partition": "aws",
        "arn": format!("arn:aws:guardduty:{}:{}:detector/deadbolt/finding/{id}", region.as_str().unwrap_or(""), account.as_str().unwrap_or("")),
        "id": id,
        "type": d.finding_type,
        "resource": resource,
        "service": service,
        "severity": d.score,
        "createdAt": iso(a.alert.trigger.0),
        "updatedAt": iso(a.alert.last_time),
        "title": d.title,
        "description": message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn account_and_region_from_delivery_keys() {
        let blank = || json!({"accountId": null, "region": null, "id": "f1"});
        let mut gd = blank();
        fill_from_key(
            &mut gd,
            "logs/AWSLogs/123456789012/vpcflowlogs/eu-west-2/2024/01/02/123456789012_vpcflowlogs_eu-west-2_fl-0abc_20240102T0000Z_1a2b.log.gz",
        );
        assert_eq!(gd["accountId"], "123456789012");
        assert_eq!(gd["region"], "eu-west-2");
        assert_eq!(
            gd["arn"],
            "arn:aws:guardduty:eu-west-2:123456789012:detector/deadbolt/finding/f1"
        );
        // A name that is not a delivery key, and a record that already says.
        let mut gd = blank();
        fill_from_key(&mut gd, "flows/default_v2_log.log");
        assert!(gd["region"].is_null());
        let mut gd = json!({"accountId": "111122223333", "region": "us-east-1", "id": "f1"});
        fill_from_key(&mut gd, "999999999999_CloudTrail_ap-south-1_x.json.gz");
        assert_eq!(gd["region"], "us-east-1");
        assert_eq!(gd["accountId"], "111122223333");
    }
}
