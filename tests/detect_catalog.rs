//! The detection catalogue over log fixtures (fixtures/detect, written by
//! tools/gen_detect_fixtures.py): each detection at and just below its
//! threshold, across a window edge, with records out of order, IPv6, gzip, a
//! custom field order and trusted-list precedence. Every alert is asserted
//! exactly (detection, resource, file, line, key) and pinned in a snapshot.

use std::path::PathBuf;
use std::sync::Arc;

use deadbolt::detect::lists::{parse_aws_ranges, ThreatList};
use deadbolt::result::{Finding, Status};
use deadbolt::scan::{scan_all, ScanOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn list(name: &str, file: &str) -> Arc<ThreatList> {
    let p = root().join("fixtures/detect/lists").join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    Arc::new(ThreatList::parse(name, file, &text).unwrap())
}

/// Scans `paths` (under fixtures/detect) with the detection catalogue and, when
/// `lists` is true, every list and the AWS ranges.
fn scan(paths: &[&str], lists: bool) -> (Vec<Finding>, Vec<String>) {
    let checked = deadbolt::scan::load_policies(&[]).unwrap();
    assert!(!checked.has_errors());
    let mut opts = ScanOptions::default();
    if lists {
        let e = &mut opts.params.engines;
        e.threat_lists.insert("ips".into(), list("ips", "ips.txt"));
        e.threat_lists.insert(
            "crypto-domains".into(),
            list("crypto-domains", "crypto-domains.txt"),
        );
        e.threat_lists
            .insert("c2-domains".into(), list("c2-domains", "c2-domains.txt"));
        e.trusted = Some(list("trusted", "trusted.txt"));
        let r =
            std::fs::read_to_string(root().join("fixtures/detect/lists/ip-ranges.json")).unwrap();
        e.aws_ranges = Some(Arc::new(parse_aws_ranges("ip-ranges.json", &r).unwrap()));
    }
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| root().join("fixtures/detect").join(p))
        .collect();
    let out = scan_all(&[], &checked.detections, &paths, &opts, None);
    let errors = out.load_errors.iter().map(|e| e.to_string()).collect();
    (out.findings, errors)
}

/// `detection status resource file:line key` of every non-pass result.
fn alerts(f: &[Finding]) -> Vec<String> {
    f.iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| {
            let file = f.file.rsplit("fixtures/detect/").next().unwrap_or(&f.file);
            format!(
                "{} {} {} {file}:{} {}",
                f.policy,
                f.status.as_str(),
                f.resource
                    .rsplit("fixtures/detect/")
                    .next()
                    .unwrap_or(&f.resource),
                f.line,
                f.key.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn message<'a>(f: &'a [Finding], policy: &str, resource: &str) -> &'a str {
    &f.iter()
        .find(|f| f.policy == policy && f.resource == resource)
        .unwrap_or_else(|| panic!("no result for {policy} {resource}"))
        .message
}

fn render(f: &[Finding]) -> String {
    f.iter()
        .map(|f| {
            let file = f.file.rsplit("fixtures/detect/").next().unwrap_or(&f.file);
            let resource = f
                .resource
                .rsplit("fixtures/detect/")
                .next()
                .unwrap_or(&f.resource);
            format!(
                "{file}:{} {} {} {} — {}",
                f.line,
                f.status.as_str(),
                f.policy,
                f.key.as_deref().unwrap_or(resource),
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn portscan_threshold_window_order_ipv6_gzip() {
    let (f, errors) = scan(&["recon-portscan"], true);
    assert!(errors.is_empty(), "{errors:?}");
    let got: Vec<String> = alerts(&f)
        .into_iter()
        .filter(|a| a.starts_with("recon-portscan"))
        .collect();
    assert_eq!(
        got,
        [
            // 12 ports of one IPv6 host, custom field order from the header.
            "recon-portscan fail i-0fedcba9876543210 recon-portscan/custom-ipv6.log:9 2001:db8::10 2001:db8:1::5 @ 2023-11-14T22:13:20.000Z",
            // 10 ports within 59 minutes, records shuffled; the 9-port source and
            // the source whose 10 ports take 61 minutes do not alert.
            "recon-portscan fail eni-0a1b2c3d4e5f60718 recon-portscan/default-v2.log:15 198.51.100.10 10.0.1.5 @ 2023-11-14T22:13:20.000Z",
            "recon-portscan fail eni-0a1b2c3d4e5f60718 recon-portscan/scan.log.gz:4 198.51.100.14 10.0.1.9 @ 2023-11-14T22:13:20.000Z",
        ]
    );
    assert_eq!(
        message(&f, "recon-portscan", "i-0fedcba9876543210"),
        "2001:db8::10 reached 12 distinct ports of 2001:db8:1::5 within 60 minutes"
    );
    insta::assert_snapshot!(render(&f));
}

#[test]
fn brute_force_threshold_window_and_protocol() {
    let (f, errors) = scan(&["ssh-brute-force", "rdp-brute-force"], true);
    assert!(errors.is_empty(), "{errors:?}");
    let got: Vec<String> = alerts(&f)
        .into_iter()
        .filter(|a| a.contains("brute-force fail"))
        .collect();
    assert_eq!(
        got,
        [
            "rdp-brute-force fail eni-0a1b2c3d4e5f60718 rdp-brute-force/attempts.log.gz:15 203.0.113.24 10.0.2.9 @ 2023-11-14T22:13:20.000Z",
            "rdp-brute-force fail i-0fedcba9876543210 rdp-brute-force/custom-ipv6.log:17 2001:db8:2::20 2001:db8:1::7 @ 2023-11-14T22:13:20.000Z",
            "rdp-brute-force fail eni-0a1b2c3d4e5f60718 rdp-brute-force/default-v2.log:19 203.0.113.20 10.0.2.5 @ 2023-11-14T22:13:20.000Z",
            "ssh-brute-force fail eni-0a1b2c3d4e5f60718 ssh-brute-force/attempts.log.gz:9 203.0.113.24 10.0.2.9 @ 2023-11-14T22:13:20.000Z",
            "ssh-brute-force fail i-0fedcba9876543210 ssh-brute-force/custom-ipv6.log:19 2001:db8:2::20 2001:db8:1::7 @ 2023-11-14T22:13:20.000Z",
            "ssh-brute-force fail eni-0a1b2c3d4e5f60718 ssh-brute-force/default-v2.log:5 203.0.113.20 10.0.2.5 @ 2023-11-14T22:13:20.000Z",
        ]
    );
    insta::assert_snapshot!(render(&f));
}

#[test]
fn malicious_ip_flow_honours_the_trusted_list() {
    let (f, _) = scan(&["malicious-ip-flow"], true);
    let got: Vec<String> = alerts(&f)
        .into_iter()
        .filter(|a| a.starts_with("malicious-ip-flow"))
        .collect();
    assert_eq!(
        got,
        [
            "malicious-ip-flow fail i-0fedcba9876543210 malicious-ip-flow/custom-ipv6.log:2 2023-11-14T22:13:25.000Z",
            // 203.0.113.5 is listed; 203.0.113.7 is listed but trusted; the
            // rejected flow and the unlisted address do not alert.
            "malicious-ip-flow fail eni-0a1b2c3d4e5f60718 malicious-ip-flow/default-v2.log:2 2023-11-14T22:13:20.000Z",
        ]
    );
    let finding = f
        .iter()
        .find(|x| {
            x.policy == "malicious-ip-flow" && x.line == 2 && x.file.ends_with("default-v2.log")
        })
        .and_then(|x| x.finding.as_ref())
        .unwrap();
    assert_eq!(
        finding["type"],
        "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom"
    );
    assert_eq!(finding["severity"], 5.0);
    assert_eq!(
        finding["service"]["action"]["actionType"],
        "NETWORK_CONNECTION"
    );
    assert_eq!(
        finding["service"]["evidence"]["threatIntelligenceDetails"][0],
        serde_json::json!({"threatListName": "ips", "threatNames": ["203.0.113.5"]})
    );
    // Without the list, every record it would have judged is unknown, naming the flag.
    let (f, _) = scan(&["malicious-ip-flow"], false);
    let got: Vec<String> = alerts(&f)
        .into_iter()
        .filter(|a| a.starts_with("malicious-ip-flow"))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|a| a.contains(" unknown ")), "{got:?}");
    assert!(f.iter().any(|x| x.message == "cannot be decided for 3 records: threat list `ips` was not given (--threat-list ips=PATH)"));
}

#[test]
fn cloudtrail_detections() {
    let (f, errors) = scan(&["cloudtrail"], true);
    assert!(errors.is_empty(), "{errors:?}");
    let got = alerts(&f);
    assert_eq!(
        got,
        [
            "malicious-ip-api fail arn:aws:iam::111122223333:user/alice cloudtrail/111122223333_CloudTrail_us-east-1_20231114T2215Z_x.json.gz:1 2023-11-14T22:13:20.000Z",
            "root-credential-usage fail arn:aws:iam::111122223333:root cloudtrail/111122223333_CloudTrail_us-east-1_20231114T2215Z_x.json.gz:1 2023-11-14T22:13:22.000Z",
            "access-key-for-other-user fail arn:aws:iam::111122223333:user/mallory cloudtrail/events.json:3 2023-11-14T22:13:31.000Z",
            "iam-admin-policy-attached fail arn:aws:iam::111122223333:user/mallory cloudtrail/events.json:55 2023-11-14T22:13:27.000Z",
            "instance-credentials-outside fail arn:aws:sts::111122223333:assumed-role/web/botocore-session-1 cloudtrail/events.json:338 2023-11-14T22:13:39.000Z",
            "guardduty-disabled fail arn:aws:iam::111122223333:user/eve cloudtrail/events.json:376 2023-11-14T22:13:34.000Z",
            "guardduty-disabled fail arn:aws:iam::111122223333:user/mallory cloudtrail/events.json:468 2023-11-14T22:13:33.000Z",
            "cloudtrail-logging-disabled fail arn:aws:iam::111122223333:user/mallory cloudtrail/events.json:495 2023-11-14T22:13:24.000Z",
            "instance-credentials-outside fail arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0 cloudtrail/events.json:522 2023-11-14T22:13:36.000Z",
        ]
    );
    // One alert per principal, counting its events: mallory's AttachUserPolicy
    // and URL-encoded admin PutRolePolicy; StopLogging and DeleteTrail, not the
    // denied StopLogging.
    let count = |p: &str, r: &str| {
        f.iter()
            .find(|x| x.policy == p && x.resource == r)
            .and_then(|x| x.finding.as_ref())
            .unwrap()["service"]["count"]
            .as_u64()
    };
    assert_eq!(
        count(
            "iam-admin-policy-attached",
            "arn:aws:iam::111122223333:user/mallory"
        ),
        Some(2)
    );
    assert_eq!(
        count(
            "cloudtrail-logging-disabled",
            "arn:aws:iam::111122223333:user/mallory"
        ),
        Some(2)
    );
    // The root user's AwsServiceEvent does not count; the API call in the other
    // file does (one alert for the principal, over both files).
    assert_eq!(
        count("root-credential-usage", "arn:aws:iam::111122223333:root"),
        Some(2)
    );
    let gd = f
        .iter()
        .find(|x| x.policy == "instance-credentials-outside" && x.line == 522)
        .and_then(|x| x.finding.as_ref())
        .unwrap();
    assert_eq!(
        gd["type"],
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
    );
    assert_eq!(gd["severity"], 8.0);
    assert_eq!(
        gd["service"]["action"]["awsApiCallAction"]["remoteIpDetails"]["ipAddressV4"],
        "198.51.100.80"
    );
    assert_eq!(
        gd["resource"]["accessKeyDetails"]["userType"],
        "AssumedRole"
    );
    insta::assert_snapshot!(render(&f));
}

#[test]
fn dns_detections() {
    let (f, errors) = scan(&["dns"], true);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        alerts(&f),
        [
            "dns-exfiltration fail i-0333333333333333c dns/resolver-queries.log:11 10.0.4.20 exfil.example.net @ 2023-11-14T22:15:00.000Z",
            "c2-dns fail i-0111111111111111a dns/resolver-queries.log:17 2023-11-14T22:13:24.000Z",
            "c2-dns fail i-0ffffffffffffffff dns/resolver-queries.log:52 2023-11-14T22:13:23.000Z",
            "crypto-mining-dns fail i-0dddddddddddddddd dns/resolver-queries.log:69 2023-11-14T22:13:20.000Z",
        ]
    );
    assert_eq!(
        message(&f, "dns-exfiltration", "i-0333333333333333c"),
        "10.0.4.20 sent 20 high-entropy queries under exfil.example.net within 10 minutes"
    );
    // Without lists, GuardDuty's test domain still alerts; the rest is unknown.
    let (f, _) = scan(&["dns"], false);
    let got = alerts(&f);
    assert!(
        got.contains(
            &"c2-dns fail i-0ffffffffffffffff dns/resolver-queries.log:52 2023-11-14T22:13:23.000Z"
                .to_string()
        ),
        "{got:?}"
    );
    assert!(
        got.iter().any(|a| a.starts_with("c2-dns unknown")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|a| a.starts_with("crypto-mining-dns unknown")),
        "{got:?}"
    );
    insta::assert_snapshot!(render(&f));
}
