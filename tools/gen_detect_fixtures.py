#!/usr/bin/env python3
"""Writes fixtures/detect/: log fixtures for the detection catalogue's tests.

Each case sits at, just below, or across a detection's threshold or window
edge; records are shuffled (out of order) with a fixed seed; there are IPv6,
gzip and custom-field-order cases, and threat / trusted lists. The expected
alerts are pinned in tests/detect_catalog.rs and policies/detection/tests/.

usage: tools/gen_detect_fixtures.py
"""
import gzip
import json
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "detect")
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
rng = random.Random(7)

V2 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
CUSTOM = "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id instance-id interface-id action tcp-flags flow-direction log-status"


def flow_v2(src, dst, sport, dport, start, action="REJECT", proto=6, eni="eni-0a1b2c3d4e5f60718"):
    return f"2 111122223333 {eni} {src} {dst} {sport} {dport} {proto} 1 40 {start} {start + 60} {action} OK"


def flow_custom(src, dst, sport, dport, start, action="REJECT", proto=6):
    return (f"5 {src} {dst} {sport} {dport} {proto} {start} {start + 60} IPv6 1 40 111122223333 "
            f"vpc-0123456789abcdef0 i-0fedcba9876543210 eni-0f1e2d3c4b5a69788 {action} 2 ingress OK")


def write(path, lines, header=None, gz=False):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    text = "".join(line + "\n" for line in ([header] if header else []) + lines)
    if gz:
        with gzip.GzipFile(full, "wb", mtime=0) as f:
            f.write(text.encode())
    else:
        with open(full, "w") as f:
            f.write(text)


def shuffled(lines):
    lines = list(lines)
    rng.shuffle(lines)
    return lines


def portscan():
    lines = []
    # At the threshold: 10 distinct ports of one host within 59 minutes.
    lines += [flow_v2("198.51.100.10", "10.0.1.5", 40000 + i, 20 + i, T0 + i * 354) for i in range(10)]
    # Just below: 9 distinct ports (one port repeated).
    lines += [flow_v2("198.51.100.11", "10.0.1.6", 41000 + i, 20 + min(i, 8), T0 + i * 60) for i in range(10)]
    # Across the window edge: 10 ports over 61 minutes; no 60-minute window holds 10.
    lines += [flow_v2("198.51.100.12", "10.0.1.7", 42000 + i, 20 + i, T0 + i * 60 + (3060 if i == 9 else 0)) for i in range(10)]
    # ICMP has no ports: never a scan.
    lines += [flow_v2("198.51.100.13", "10.0.1.8", 0, 0, T0 + i, proto=1) for i in range(12)]
    write("recon-portscan/default-v2.log", shuffled(lines), header=V2)
    # IPv6 with a custom v5-style field order, given by its header line.
    v6 = [flow_custom("2001:db8::10", "2001:db8:1::5", 50000 + i, 1000 + i, T0 + i * 30) for i in range(12)]
    write("recon-portscan/custom-ipv6.log", shuffled(v6), header=CUSTOM)
    # Gzip: another scan at the threshold.
    gz = [flow_v2("198.51.100.14", "10.0.1.9", 43000 + i, 8000 + i, T0 + i * 10) for i in range(10)]
    write("recon-portscan/scan.log.gz", shuffled(gz), header=V2, gz=True)


def brute(name, port):
    lines = []
    # At the threshold: 20 attempts within 10 minutes.
    lines += [flow_v2("203.0.113.20", "10.0.2.5", 30000 + i, port, T0 + i * 29) for i in range(20)]
    # Just below: 19 attempts.
    lines += [flow_v2("203.0.113.21", "10.0.2.6", 31000 + i, port, T0 + i * 29) for i in range(19)]
    # Across the window edge: 20 attempts over 10 minutes and 1 second.
    lines += [flow_v2("203.0.113.22", "10.0.2.7", 32000 + i, port, T0 + (601 if i == 19 else i * 30)) for i in range(20)]
    # UDP to the port is not a login attempt.
    lines += [flow_v2("203.0.113.23", "10.0.2.8", 33000 + i, port, T0 + i, proto=17) for i in range(25)]
    write(f"{name}/default-v2.log", shuffled(lines), header=V2)
    v6 = [flow_custom("2001:db8:2::20", "2001:db8:1::7", 34000 + i, port, T0 + i * 10) for i in range(20)]
    write(f"{name}/custom-ipv6.log", shuffled(v6), header=CUSTOM)
    gz = [flow_v2("203.0.113.24", "10.0.2.9", 35000 + i, port, T0 + i * 5) for i in range(20)]
    write(f"{name}/attempts.log.gz", shuffled(gz), header=V2, gz=True)


def malicious_flow():
    lines = [
        flow_v2("10.0.3.5", "203.0.113.5", 40001, 443, T0, action="ACCEPT"),       # listed: alert
        flow_v2("10.0.3.6", "203.0.113.7", 40002, 443, T0 + 1, action="ACCEPT"),   # listed but trusted: no alert
        flow_v2("10.0.3.7", "203.0.113.6", 40003, 443, T0 + 2, action="REJECT"),   # rejected: no alert
        flow_v2("10.0.3.8", "198.51.100.200", 40004, 443, T0 + 3, action="ACCEPT"),  # not listed
    ]
    write("malicious-ip-flow/default-v2.log", lines, header=V2)
    v6 = [flow_custom("2001:db8:bad::1", "2001:db8:1::9", 443, 50123, T0 + 5, action="ACCEPT")]
    write("malicious-ip-flow/custom-ipv6.log", v6, header=CUSTOM)
    write("lists/ips.txt", ["# test threat list", "203.0.113.0/24", "2001:db8:bad::/48", "198.51.100.66"])
    write("lists/trusted.txt", ["# our partner's egress", "203.0.113.7", "partner.example.com"])
    write("lists/crypto-domains.txt", ["pool.minexmr.com", "xmr.pool.example"])
    write("lists/c2-domains.txt", ["evil-c2.example.org"])
    ranges = {"syncToken": "1", "createDate": "2024-01-01-00-00-00",
              "prefixes": [{"ip_prefix": "52.95.0.0/16", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"}],
              "ipv6_prefixes": [{"ipv6_prefix": "2600:1f00::/24", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"}]}
    with open(os.path.join(OUT, "lists", "ip-ranges.json"), "w") as f:
        json.dump(ranges, f, indent=2)
        f.write("\n")


def ts(sec):
    import datetime
    return datetime.datetime.fromtimestamp(T0 + sec, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(sec, name, source, identity, ip="198.51.100.50", params=None, error=None, event_type="AwsApiCall"):
    e = {"eventVersion": "1.09", "userIdentity": identity, "eventTime": ts(sec), "eventSource": source,
         "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.0",
         "requestParameters": params, "responseElements": None,
         "eventID": f"00000000-0000-4000-8000-{sec:012d}", "readOnly": False, "eventType": event_type,
         "managementEvent": True, "recipientAccountId": "111122223333", "eventCategory": "Management"}
    if error:
        e["errorCode"] = error
        e["errorMessage"] = "User is not authorized to perform this operation"
    return e


def user(name):
    return {"type": "IAMUser", "principalId": "AIDA" + name.upper().ljust(17, "X"), "arn": f"arn:aws:iam::111122223333:user/{name}",
            "accountId": "111122223333", "accessKeyId": "AKIA" + name.upper().ljust(16, "Q"), "userName": name}


def role(session, delivery=False):
    ctx = {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID", "arn": "arn:aws:iam::111122223333:role/web",
                             "accountId": "111122223333", "userName": "web"},
           "attributes": {"creationDate": ts(0), "mfaAuthenticated": "false"}}
    if delivery:
        ctx["ec2RoleDelivery"] = "2.0"
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLEROLEID:{session}",
            "arn": f"arn:aws:sts::111122223333:assumed-role/web/{session}", "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLESESSION01", "sessionContext": ctx}


ROOT_ID = {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}


def cloudtrail():
    admin_doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"
    narrow_doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]})
    events = [
        event(0, "GetCallerIdentity", "sts.amazonaws.com", user("alice"), ip="203.0.113.9"),                 # malicious-ip-api
        event(1, "GetCallerIdentity", "sts.amazonaws.com", user("bob"), ip="203.0.113.7"),                   # trusted
        event(2, "ListBuckets", "s3.amazonaws.com", ROOT_ID, ip="198.51.100.7"),                              # root usage
        event(3, "Decrypt", "kms.amazonaws.com", ROOT_ID, ip="AWS Internal", event_type="AwsServiceEvent"),   # not counted
        event(4, "StopLogging", "cloudtrail.amazonaws.com", user("mallory"), params={"name": "management"}),  # logging disabled
        event(5, "StopLogging", "cloudtrail.amazonaws.com", user("eve"), params={"name": "management"}, error="AccessDenied"),
        event(6, "DeleteTrail", "cloudtrail.amazonaws.com", user("mallory"), params={"name": "org-trail"}),
        event(7, "AttachUserPolicy", "iam.amazonaws.com", user("mallory"),
              params={"userName": "mallory", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        event(8, "PutRolePolicy", "iam.amazonaws.com", user("mallory"),
              params={"roleName": "deploy", "policyName": "all", "policyDocument": admin_doc}),
        event(9, "PutUserPolicy", "iam.amazonaws.com", user("alice"),
              params={"userName": "alice", "policyName": "read", "policyDocument": narrow_doc}),
        event(10, "AttachRolePolicy", "iam.amazonaws.com", user("alice"),
              params={"roleName": "ro", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        event(11, "CreateAccessKey", "iam.amazonaws.com", user("mallory"), params={"userName": "alice"}),      # other user
        event(12, "CreateAccessKey", "iam.amazonaws.com", user("carol"), params={"userName": "carol"}),        # self
        event(13, "DeleteDetector", "guardduty.amazonaws.com", user("mallory"), params={"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}),
        event(14, "UpdateDetector", "guardduty.amazonaws.com", user("eve"), params={"detectorId": "12abc", "enable": False}),
        event(15, "UpdateDetector", "guardduty.amazonaws.com", user("carol"), params={"detectorId": "12abc", "enable": True}),
        event(16, "DescribeInstances", "ec2.amazonaws.com", role("i-0123456789abcdef0"), ip="198.51.100.80"),  # stolen
        event(17, "DescribeInstances", "ec2.amazonaws.com", role("I-0AAAAAAAAAAAAAAAA"), ip="52.95.10.20"),     # from AWS
        event(18, "DescribeInstances", "ec2.amazonaws.com", role("i-0bbbbbbbbbbbbbbbb"), ip="10.0.0.12"),      # private
        event(19, "ListBuckets", "s3.amazonaws.com", role("botocore-session-1", delivery=True), ip="2001:db8:77::1"),  # IPv6, outside
        event(20, "ListBuckets", "s3.amazonaws.com", role("app-session"), ip="198.51.100.81"),                 # not an instance role
    ]
    # Delivered as S3 does (one Records object), but pretty-printed so every
    # event has its own line, and out of time order.
    text = json.dumps({"Records": shuffled(events)}, indent=2) + "\n"
    path = os.path.join(OUT, "cloudtrail", "events.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    # The same events gzipped, one line, as S3 delivers them.
    with gzip.GzipFile(os.path.join(OUT, "cloudtrail", "111122223333_CloudTrail_us-east-1_20231114T2215Z_x.json.gz"), "wb", mtime=0) as f:
        f.write(json.dumps({"Records": events[:3]}).encode())


def dns_record(sec, name, src="10.0.4.5", instance="i-0dddddddddddddddd"):
    return json.dumps({"version": "1.100000", "account_id": "111122223333", "region": "us-east-1",
                       "vpc_id": "vpc-0123456789abcdef0", "query_timestamp": ts(sec), "query_name": name,
                       "query_type": "TXT", "query_class": "IN", "rcode": "NOERROR", "answers": [],
                       "srcaddr": src, "srcport": "53211", "transport": "UDP",
                       "srcids": {"instance": instance}})


def dns():
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    def label():
        return "".join(rng.choice(alphabet) for _ in range(40))
    lines = [
        dns_record(0, "pool.minexmr.com."),                                 # crypto: listed
        dns_record(1, "EU1.Pool.MineXMR.com."),                             # crypto: a subdomain, any case
        dns_record(2, "notpool.minexmr.com.evil.net.", src="10.0.4.6", instance="i-0eeeeeeeeeeeeeeee"),  # not under it
        dns_record(3, "guarddutyc2activityb.com.", src="10.0.4.7", instance="i-0ffffffffffffffff"),  # GuardDuty's test domain
        dns_record(4, "beacon.evil-c2.example.org.", src="10.0.4.8", instance="i-0111111111111111a"),  # c2: listed
        dns_record(5, "www.example.com.", src="10.0.4.9", instance="i-0222222222222222b"),
    ]
    # Exfiltration at the threshold: 20 long random labels under one domain in 10 minutes.
    lines += [dns_record(100 + i * 25, f"{label()}.exfil.example.net.", src="10.0.4.20", instance="i-0333333333333333c") for i in range(20)]
    # Just below: 19.
    lines += [dns_record(100 + i * 25, f"{label()}.leak.example.net.", src="10.0.4.21", instance="i-0444444444444444d") for i in range(19)]
    # Long but not random labels are not exfiltration.
    lines += [dns_record(100 + i, f"{'a' * 40}.cdn.example.net.", src="10.0.4.22", instance="i-0555555555555555e") for i in range(25)]
    path = os.path.join(OUT, "dns", "resolver-queries.log")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in shuffled(lines)))


def clean():
    """Ordinary traffic, API calls and lookups: no detection alerts on them."""
    flows = [flow_v2("10.0.9.%d" % (i % 20 + 1), "10.0.8.10", 50000 + i, 443, T0 + i * 7, action="ACCEPT") for i in range(60)]
    write("clean/flow.log", flows, header=V2)
    events = [event(i, "DescribeInstances", "ec2.amazonaws.com", user("carol"), ip="10.0.0.%d" % (i + 2)) for i in range(5)]
    path = os.path.join(OUT, "clean", "cloudtrail.json")
    with open(path, "w") as f:
        f.write(json.dumps({"Records": events}, indent=2) + "\n")
    lines = [dns_record(i, name) for i, name in enumerate(["www.example.com.", "api.example.com.", "s3.us-east-1.amazonaws.com."])]
    with open(os.path.join(OUT, "clean", "dns.log"), "w") as f:
        f.write("".join(line + "\n" for line in lines))


def main():
    clean()
    portscan()
    brute("ssh-brute-force", 22)
    brute("rdp-brute-force", 3389)
    malicious_flow()
    cloudtrail()
    dns()


if __name__ == "__main__":
    main()
