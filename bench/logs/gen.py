#!/usr/bin/env python3
"""Generate large security logs for the detection benchmark.

Flow logs (VPC Flow Logs): N records in the default version-2 format and the
same records in a custom version-5 field order with the header line AWS writes
to S3; plain and gzip. CloudTrail: M events in `{"Records": [...]}` files as
delivered to S3 (gzip). Route 53 Resolver query logs: JSON lines (gzip). Threat
lists, a trusted list and an ip-ranges.json in AWS's format go beside them, with
a manifest of the attacks injected so a benchmark can check its alert counts.

The traffic is a realistic mix: internal clients calling services and the
internet, inbound internet noise, port scans, SSH and RDP brute force, traffic
with listed malicious addresses, NODATA/SKIPDATA records, IPv6, and records out
of order within a delivery window. Only the standard library is used.

    python3 bench/logs/gen.py --out bench/logs/data               # 10 M flow records, 1 M events
    python3 bench/logs/gen.py --out /tmp/small --flow-records 100000 --ct-events 10000 --dns-queries 10000
"""

import argparse
import gzip
import ipaddress
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
import zlib

import expect

T0 = 1_709_251_200  # 2024-03-01T00:00:00Z
SPAN = 24 * 3600
ACCOUNT = "123456789012"
REGION = "us-east-1"
AZS = ["use1-az1", "use1-az2", "use1-az4", "use1-az6"]

V5_FIELDS = (
    "version srcaddr dstaddr srcport dstport protocol start end type packets bytes "
    "account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type "
    "sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service "
    "pkt-dst-aws-service traffic-path flow-direction log-status"
)

# Addresses on the threat list (documentation ranges, so nothing real is named).
MALICIOUS_IPS = ["198.51.100.%d" % i for i in range(10, 40)]
MALICIOUS_CIDRS = ["203.0.113.128/25"]
TRUSTED_IPS = ["198.51.100.20"]  # on both lists: trusted wins
SCANNER_POOL = ["192.0.2.%d" % i for i in range(1, 200)]
CRYPTO_DOMAINS = ["pool.supportxmr.com", "xmr.pool.minergate.com", "mine.moneropool.com", "eth.2miners.com"]
C2_DOMAINS = ["evil-c2.example", "beacon.badactor.example"]
EXFIL_PARENT = "exfil-tunnel.example"
# The ip-ranges.json written beside the lists (--aws-ip-ranges).
AWS_IP_RANGES = {
    "syncToken": "1709251200",
    "createDate": "2024-03-01-00-00-00",
    "prefixes": [
        {"ip_prefix": "10.0.0.0/8", "region": REGION, "service": "EC2", "network_border_group": REGION},
        {"ip_prefix": "3.80.0.0/12", "region": REGION, "service": "AMAZON", "network_border_group": REGION},
        {"ip_prefix": "52.94.0.0/22", "region": REGION, "service": "AMAZON", "network_border_group": REGION},
    ],
    "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f18::/33", "region": REGION, "service": "EC2", "network_border_group": REGION},
    ],
}


class Host:
    __slots__ = ("ip", "ip6", "eni", "instance", "subnet", "az")

    def __init__(self, i, rnd):
        self.ip = "10.%d.%d.%d" % (i // 4000, (i // 250) % 16, 1 + i % 250)
        self.ip6 = "2600:1f18:%x:%x::%x" % (i // 256, i % 256, 1 + i)
        self.eni = "eni-%017x" % rnd.getrandbits(68)
        self.instance = "i-%017x" % rnd.getrandbits(68)
        self.subnet = "subnet-%017x" % (i // 100 + 0x0A000)
        self.az = AZS[(i // 100) % len(AZS)]


def public_ip(rand):
    """An address outside private and documentation space, roughly like the
    internet. `rand` is a Random's random()."""
    while True:
        a = 1 + int(rand() * 223)
        if a in (10, 127, 169, 172, 192, 198, 203, 100):
            continue
        return "%d.%d.%d.%d" % (a, int(rand() * 256), int(rand() * 256), 1 + int(rand() * 254))


class GzipPipe:
    """A gzip -6 subprocess fed through a pipe (system gzip is much faster than
    Python's zlib), with the plain text written alongside when wanted."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.p = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=self.f)

    def write(self, b):
        self.p.stdin.write(b)

    def close(self):
        self.p.stdin.close()
        self.p.wait()
        self.f.close()


def open_out(path):
    if path.endswith(".gz"):
        return GzipPipe(path)
    return open(path, "wb")


def gen_flow(args, out, manifest):
    rnd = random.Random(args.seed)
    hosts = [Host(i, rnd) for i in range(args.hosts)]
    public_hosts = hosts[: max(1, args.hosts // 20)]  # reachable from the internet
    services = [(443, 6), (443, 6), (443, 6), (80, 6), (53, 17), (123, 17), (3306, 6), (5432, 6), (6379, 6), (8080, 6), (22, 6)]
    n = args.flow_records
    outputs = []
    for name in args.flow_outputs.split(","):
        name = name.strip()
        if not name:
            continue
        path = os.path.join(out, "flow-%s" % name)
        f = open_out(path)
        if name.startswith("v5"):
            f.write((V5_FIELDS + "\n").encode())
        outputs.append((name.startswith("v5"), f, path))

    # Attack episodes, spread over the day: (kind, start index, length, params).
    episodes = []
    counts = {"portscan": 0, "ssh_brute_force": 0, "rdp_brute_force": 0, "malicious_ip_accepted": 0}
    budget = {"portscan": 0.03, "ssh": 0.02, "rdp": 0.01}
    for kind, share in budget.items():
        remaining = int(n * share)
        while remaining > 0:
            length = min(remaining, rnd.randrange(30, 400) if kind != "portscan" else rnd.randrange(12, 1000))
            start = rnd.randrange(0, max(1, n - length))
            episodes.append((start, kind, length))
            remaining -= length
    episodes.sort()
    counts["portscan"] = sum(1 for e in episodes if e[1] == "portscan")
    counts["ssh_brute_force"] = sum(1 for e in episodes if e[1] == "ssh")
    counts["rdp_brute_force"] = sum(1 for e in episodes if e[1] == "rdp")
    active = []  # [kind, left, src, dst, next_port, src6?]
    # Every OK record between an attacker and its target, from the attack's
    # start on: (start, order, dstport, protocol), for the expected alerts.
    watch = {}
    malicious_resources = set()
    ep_i = 0
    batch = []
    batch_v5 = []
    want_v5 = any(v5 for v5, _, _ in outputs)
    want_v2 = any(not v5 for v5, _, _ in outputs)
    rand = rnd.random

    def randrange(a, b=None):
        # random.randrange is slow in a 10-million-record loop.
        if b is None:
            return int(rand() * a)
        return a + int(rand() * (b - a))

    def choice(seq):
        return seq[int(rand() * len(seq))]
    started = time.time()
    for i in range(n):
        while ep_i < len(episodes) and episodes[ep_i][0] <= i:
            _, kind, length = episodes[ep_i]
            target = choice(public_hosts)
            src = choice(SCANNER_POOL) if kind == "portscan" else public_ip(rand)
            active.append([kind, length, src, target, randrange(1, 1024)])
            watch.setdefault((src, target.ip), [])
            ep_i += 1
        # Time runs forward with up to two minutes of jitter (out of order).
        t = T0 + (i * SPAN) // n + randrange(-120, 120)
        status = "OK"
        host = None
        r = rand()
        if active and rand() < 0.06 * len(active):
            ep = active[randrange(len(active))]
            kind, _, src, host, port = ep
            ep[1] -= 1
            if ep[1] <= 0:
                active.remove(ep)
            dst = host.ip
            if kind == "portscan":
                dport, proto, action, flags = port, 6, "REJECT", 2
                ep[4] = port + randrange(1, 4)
                packets, nbytes = 1, 44
            else:
                dport = 22 if kind == "ssh" else 3389
                proto, action, flags = 6, ("ACCEPT" if rand() < 0.7 else "REJECT"), 3
                packets, nbytes = randrange(6, 30), randrange(800, 5000)
            sport = randrange(32768, 61000)
            direction, path = "ingress", "-"
        elif r < 0.001:
            # A listed malicious address talking with an instance, accepted.
            host = hosts[randrange(len(hosts))]
            bad = choice(MALICIOUS_IPS) if rand() < 0.8 else "203.0.113.%d" % randrange(128, 255)
            if rand() < 0.5:
                src, dst, direction = bad, host.ip, "ingress"
                sport, dport = randrange(1024, 65535), choice([443, 80, 22])
            else:
                src, dst, direction = host.ip, bad, "egress"
                sport, dport = randrange(32768, 61000), choice([443, 4444, 8443])
            proto, action, flags = 6, "ACCEPT", 19
            packets, nbytes = randrange(3, 200), randrange(200, 90000)
            path = "8" if direction == "egress" else "-"
            counts["malicious_ip_accepted"] += 1
            if bad not in TRUSTED_IPS:
                malicious_resources.add(host.eni)
        elif r < 0.006:
            host = hosts[randrange(len(hosts))]
            status = "NODATA" if rand() < 0.8 else "SKIPDATA"
        elif r < 0.05:
            # Internet noise at public instances, mostly rejected.
            host = choice(public_hosts)
            src, dst, direction = public_ip(rand), host.ip, "ingress"
            sport, dport = randrange(1024, 65535), choice([23, 445, 1433, 8080, 80, 443, 5900])
            proto = 6
            action = "REJECT" if dport not in (80, 443) else "ACCEPT"
            flags = 2 if action == "REJECT" else 3
            packets, nbytes, path = randrange(1, 4), randrange(40, 300), "-"
        else:
            # Normal traffic: a client to a service, or the response.
            host = hosts[randrange(len(hosts))]
            dport, proto = services[randrange(len(services))]
            if rand() < 0.5:
                peer = hosts[randrange(len(hosts))].ip
            else:
                peer = public_ip(rand)
            sport = randrange(32768, 61000)
            packets, nbytes = randrange(1, 400), randrange(60, 400000)
            action = "ACCEPT" if rand() < 0.985 else "REJECT"
            flags = 19 if proto == 6 else 0
            if rand() < 0.5:
                src, dst, direction = host.ip, peer, "egress"
                path = "8" if not peer.startswith("10.") else "1"
            else:
                src, dst, direction = peer, host.ip, "ingress"
                sport, dport = dport, sport
                path = "-"
            if rand() < 0.03:
                src = host.ip6 if direction == "egress" else "2001:db8:%x::%x" % (randrange(65536), randrange(65536))
                dst = "2001:db8:%x::%x" % (randrange(65536), randrange(65536)) if direction == "egress" else host.ip6
        start = t
        end = t + randrange(1, 60)
        if status != "OK":
            if want_v2:
                batch.append("2 %s %s - - - - - - - %d %d - %s\n" % (ACCOUNT, host.eni, start, end, status))
            if want_v5:
                batch_v5.append(
                    "5 - - - - - %d %d - - - %s vpc-0a1b2c3d4e5f60718 %s %s %s %s %s - - - - - - - - - - %s\n"
                    % (start, end, ACCOUNT, host.subnet, host.instance, host.eni, REGION, host.az, status)
                )
        else:
            tracked = watch.get((src, dst))
            if tracked is not None:
                tracked.append((start, i, dport, proto))
            if want_v2:
                batch.append(
                    "2 %s %s %s %s %d %d %d %d %d %d %d %s OK\n"
                    % (ACCOUNT, host.eni, src, dst, sport, dport, proto, packets, nbytes, start, end, action)
                )
            if want_v5:
                ty = "IPv6" if ":" in src else "IPv4"
                svc_src = "S3" if dport == 443 and direction == "ingress" and rand() < 0.05 else "-"
                batch_v5.append(
                    "5 %s %s %d %d %d %d %d %s %d %d %s vpc-0a1b2c3d4e5f60718 %s %s %s %s %s - - %s %d %s %s %s - %s %s OK\n"
                    % (src, dst, sport, dport, proto, start, end, ty, packets, nbytes, ACCOUNT, host.subnet,
                       host.instance, host.eni, REGION, host.az, action, flags, src, dst, svc_src, path, direction)
                )
        if len(batch) >= 20000 or len(batch_v5) >= 20000:
            flush_flow(outputs, batch, batch_v5)
            batch, batch_v5 = [], []
    flush_flow(outputs, batch, batch_v5)
    for _, f, path in outputs:
        f.close()
        print("  %s: %.0f MB" % (path, os.path.getsize(path) / 1e6), file=sys.stderr)
    manifest["flow"] = {
        "records": n,
        "files": [os.path.basename(p) for _, _, p in outputs],
        "v5_format": V5_FIELDS,
        "injected_episodes": counts,
        "expected_alerts": {
            "recon-portscan": expect.windowed(watch, 3600, 10, lambda r: r[3] in (6, 17), lambda r: r[2], distinct=True),
            "ssh-brute-force": expect.windowed(watch, 600, 20, lambda r: r[3] == 6 and r[2] == 22),
            "rdp-brute-force": expect.windowed(watch, 600, 20, lambda r: r[3] == 6 and r[2] == 3389),
            # One alert per instance (its interface in the v2 format).
            "malicious-ip-flow": len(malicious_resources),
        },
        "seconds": round(time.time() - started, 1),
    }


def flush_flow(outputs, batch, batch_v5):
    v2 = "".join(batch).encode()
    v5 = "".join(batch_v5).encode()
    for is_v5, f, _ in outputs:
        f.write(v5 if is_v5 else v2)


def iam_user(name):
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper()[:8].ljust(8, "X") + "EXAMPLE",
        "arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, name),
        "accountId": ACCOUNT,
        "accessKeyId": "AKIA" + name.upper()[:8].ljust(8, "X") + "EXAMPLE",
        "userName": name,
    }


def assumed_role(role, session, ec2=False):
    ident = {
        "type": "AssumedRole",
        "principalId": "AROA%sEXAMPLE:%s" % (role.upper()[:6], session),
        "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (ACCOUNT, role, session),
        "accountId": ACCOUNT,
        "accessKeyId": "ASIA%sEXAMPLE" % role.upper()[:6],
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROA%sEXAMPLE" % role.upper()[:6],
                "arn": "arn:aws:iam::%s:role/%s" % (ACCOUNT, role),
                "accountId": ACCOUNT,
                "userName": role,
            },
            "attributes": {"creationDate": "2024-03-01T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    if ec2:
        ident["sessionContext"]["ec2RoleDelivery"] = "2.0"
    return ident


ROOT = {"type": "Root", "principalId": ACCOUNT, "arn": "arn:aws:iam::%s:root" % ACCOUNT, "accountId": ACCOUNT}
NORMAL_CALLS = [
    ("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, "filterSet": {}}),
    ("s3.amazonaws.com", "ListBuckets", True, {"Host": "s3.amazonaws.com"}),
    ("sts.amazonaws.com", "GetCallerIdentity", True, None),
    ("iam.amazonaws.com", "ListUsers", True, None),
    ("kms.amazonaws.com", "Decrypt", True, {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    ("logs.amazonaws.com", "PutLogEvents", False, {"logGroupName": "/app/web", "logStreamName": "i-0abc"}),
    ("ec2.amazonaws.com", "RunInstances", False, {"instanceType": "t3.micro", "minCount": 1, "maxCount": 1}),
    ("s3.amazonaws.com", "CreateBucket", False, {"bucketName": "app-artifacts"}),
    ("lambda.amazonaws.com", "Invoke", False, {"functionName": "thumbnailer"}),
    ("dynamodb.amazonaws.com", "DescribeTable", True, {"tableName": "orders"}),
    ("cloudtrail.amazonaws.com", "LookupEvents", True, {"maxResults": 50}),
    ("iam.amazonaws.com", "CreateAccessKey", False, "self"),
    ("iam.amazonaws.com", "AttachRolePolicy", False, "readonly-policy"),
]
# The detection each injected kind of event must trigger.
CT_DETECTIONS = {
    "root_usage": "root-credential-usage",
    "stop_logging": "cloudtrail-logging-disabled",
    "delete_trail": "cloudtrail-logging-disabled",
    "access_key_for_other_user": "access-key-for-other-user",
    "admin_policy_attached": "iam-admin-policy-attached",
    "admin_inline_policy": "iam-admin-policy-attached",
    "guardduty_disabled": "guardduty-disabled",
    "instance_credentials_outside": "instance-credentials-outside",
    "malicious_ip_api": "malicious-ip-api",
}
USERS = ["alice", "bob", "carol", "deploy-bot", "ci-runner", "dave"]
CORP_IPS = ["192.0.2.%d" % i for i in range(200, 250)]


def ct_event(rnd, t, source, name, ident, ip, params, read_only, error=None, response=None, event_type="AwsApiCall"):
    e = {
        "eventVersion": "1.09",
        "userIdentity": ident,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
        "eventSource": source,
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2023",
        "requestParameters": params,
        "responseElements": response,
        "requestID": "%08x-%04x-4%03x-8%03x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(12), rnd.getrandbits(12), rnd.getrandbits(48)),
        "eventID": "%08x-%04x-4%03x-a%03x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(12), rnd.getrandbits(12), rnd.getrandbits(48)),
        "readOnly": read_only,
        "eventType": event_type,
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        e["errorCode"], e["errorMessage"] = error, "User is not authorized to perform this operation"
    return e


def gen_cloudtrail(args, out, manifest):
    rnd = random.Random(args.seed + 1)
    m = args.ct_events
    per_file = args.ct_per_file
    counts = {k: 0 for k in [
        "root_usage", "stop_logging", "delete_trail", "access_key_for_other_user",
        "admin_policy_attached", "admin_inline_policy", "guardduty_disabled",
        "instance_credentials_outside", "malicious_ip_api", "failed_sensitive_calls",
    ]}
    # A detection without `group by` alerts once per principal: the principals
    # (userIdentity.arn) each detection must name.
    principals = {d: set() for d in CT_DETECTIONS.values()}
    aws_ranges = [ipaddress.ip_network(p["ip_prefix"]) for p in AWS_IP_RANGES["prefixes"]]
    started = time.time()
    ct_dir = os.path.join(out, "cloudtrail")
    os.makedirs(ct_dir, exist_ok=True)
    files = 0
    written = 0
    admin_doc = urllib.parse.quote(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    while written < m:
        k = min(per_file, m - written)
        events = []
        for j in range(k):
            i = written + j
            kind = None
            t = T0 + (i * SPAN) // m + rnd.randrange(-300, 300)
            r = rnd.random()
            user = rnd.choice(USERS)
            ip = rnd.choice(CORP_IPS)
            if r < 0.0004:
                events.append(ct_event(rnd, t, "signin.amazonaws.com", "ConsoleLogin", ROOT, public_ip(rnd.random), None, False,
                                       response={"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn"))
                counts["root_usage"] += 1
                kind = "root_usage"
            elif r < 0.0006:
                events.append(ct_event(rnd, t, "ec2.amazonaws.com", "DescribeRegions", ROOT, public_ip(rnd.random), None, True))
                counts["root_usage"] += 1
                kind = "root_usage"
            elif r < 0.00065:
                events.append(ct_event(rnd, t, "cloudtrail.amazonaws.com", "StopLogging", iam_user(user), ip,
                                       {"name": "arn:aws:cloudtrail:%s:%s:trail/main" % (REGION, ACCOUNT)}, False))
                counts["stop_logging"] += 1
                kind = "stop_logging"
            elif r < 0.00068:
                events.append(ct_event(rnd, t, "cloudtrail.amazonaws.com", "DeleteTrail", iam_user(user), ip, {"name": "main"}, False))
                counts["delete_trail"] += 1
                kind = "delete_trail"
            elif r < 0.0008:
                other = rnd.choice([u for u in USERS if u != user])
                events.append(ct_event(rnd, t, "iam.amazonaws.com", "CreateAccessKey", iam_user(user), ip, {"userName": other}, False,
                                       response={"accessKey": {"userName": other, "status": "Active", "accessKeyId": "AKIAOTHEREXAMPLE"}}))
                counts["access_key_for_other_user"] += 1
                kind = "access_key_for_other_user"
            elif r < 0.0009:
                api = rnd.choice(["AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"])
                key = {"AttachUserPolicy": "userName", "AttachRolePolicy": "roleName", "AttachGroupPolicy": "groupName"}[api]
                events.append(ct_event(rnd, t, "iam.amazonaws.com", api, iam_user(user), ip,
                                       {key: "backdoor", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, False))
                counts["admin_policy_attached"] += 1
                kind = "admin_policy_attached"
            elif r < 0.00095:
                events.append(ct_event(rnd, t, "iam.amazonaws.com", "PutUserPolicy", iam_user(user), ip,
                                       {"userName": "backdoor", "policyName": "inline-admin", "policyDocument": admin_doc}, False))
                counts["admin_inline_policy"] += 1
                kind = "admin_inline_policy"
            elif r < 0.00098:
                if rnd.random() < 0.5:
                    events.append(ct_event(rnd, t, "guardduty.amazonaws.com", "DeleteDetector", iam_user(user), ip, {"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}, False))
                else:
                    events.append(ct_event(rnd, t, "guardduty.amazonaws.com", "UpdateDetector", iam_user(user), ip,
                                           {"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": False}, False))
                counts["guardduty_disabled"] += 1
                kind = "guardduty_disabled"
            elif r < 0.0012:
                inst = "i-%017x" % rnd.getrandbits(68)
                events.append(ct_event(rnd, t, "s3.amazonaws.com", "ListBuckets", assumed_role("web-instance-role", inst, ec2=True), public_ip(rnd.random), None, True))
                counts["instance_credentials_outside"] += 1
                caller = ipaddress.ip_address(events[-1]["sourceIPAddress"])
                if not any(caller in r for r in aws_ranges):
                    kind = "instance_credentials_outside"
            elif r < 0.0015:
                events.append(ct_event(rnd, t, "ec2.amazonaws.com", "DescribeInstances", iam_user(user), rnd.choice(MALICIOUS_IPS), None, True))
                counts["malicious_ip_api"] += 1
                if events[-1]["sourceIPAddress"] not in TRUSTED_IPS:
                    kind = "malicious_ip_api"
            elif r < 0.0018:
                # Sensitive calls that failed: must not alert.
                events.append(ct_event(rnd, t, "cloudtrail.amazonaws.com", "StopLogging", iam_user(user), ip, {"name": "main"}, False, error="AccessDenied"))
                counts["failed_sensitive_calls"] += 1
            elif r < 0.1:
                # An instance role used from inside AWS (its own address).
                inst = "i-%017x" % rnd.getrandbits(68)
                events.append(ct_event(rnd, t, "s3.amazonaws.com", "GetBucketLocation", assumed_role("web-instance-role", inst, ec2=True),
                                       "10.0.%d.%d" % (rnd.randrange(16), rnd.randrange(1, 250)), {"bucketName": "app-data"}, True))
            elif r < 0.15:
                events.append(ct_event(rnd, t, "kms.amazonaws.com", "GenerateDataKey", {"type": "AWSService", "invokedBy": "s3.amazonaws.com"},
                                       rnd.choice(["AWS Internal", "s3.amazonaws.com"]), {"keySpec": "AES_256"}, True))
            else:
                src, name, ro, params = NORMAL_CALLS[rnd.randrange(len(NORMAL_CALLS))]
                if params == "self":
                    params = {"userName": user}
                elif params == "readonly-policy":
                    params = {"roleName": "reporting", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
                ident = iam_user(user) if rnd.random() < 0.6 else assumed_role("deploy", "ci-%d" % rnd.randrange(1000))
                if name == "CreateAccessKey":
                    # A user creating its own key. A role session has no user
                    # of its own: its CreateAccessKey for a user is for another
                    # user, which access-key-for-other-user rightly reports.
                    ident = iam_user(user)
                events.append(ct_event(rnd, t, src, name, ident, ip, params, ro))
            if kind is not None:
                principals[CT_DETECTIONS[kind]].add(events[-1]["userIdentity"]["arn"])
        fname = "%s_CloudTrail_%s_%s_%05d.json.gz" % (ACCOUNT, REGION, "20240301T0000Z", files)
        with gzip.open(os.path.join(ct_dir, fname), "wb", compresslevel=6) as f:
            f.write(json.dumps({"Records": events}, separators=(",", ":")).encode())
        files += 1
        written += k
    total = sum(os.path.getsize(os.path.join(ct_dir, f)) for f in os.listdir(ct_dir))
    print("  %s: %d files, %.0f MB gzip" % (ct_dir, files, total / 1e6), file=sys.stderr)
    manifest["cloudtrail"] = {
        "events": m, "files": files, "dir": "cloudtrail", "injected": counts,
        "expected_alerts": {d: len(p) for d, p in sorted(principals.items())},
        "seconds": round(time.time() - started, 1),
    }


def gen_dns(args, out, manifest):
    rnd = random.Random(args.seed + 2)
    q = args.dns_queries
    normal = ["www.amazon.com.", "api.github.com.", "s3.us-east-1.amazonaws.com.", "sts.amazonaws.com.", "pypi.org.",
              "registry.npmjs.org.", "ntp.ubuntu.com.", "Login.Microsoftonline.com.", "dynamodb.us-east-1.amazonaws.com.",
              "ec2.internal.", "ip-10-0-1-5.ec2.internal.", "updates.example.org."]
    counts = {"crypto": 0, "c2": 0, "guardduty_test_domain": 0, "exfil_queries": 0, "exfil_bursts": 0}
    started = time.time()
    path = os.path.join(out, "dns-resolver.log.gz")
    f = open_out(path)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    burst = 0
    burst_src = None
    lines = []
    # The instances (srcids.instance) that must alert, and the exfiltration
    # queries per source: (time, order).
    instances = {"crypto-mining-dns": set(), "c2-dns": set()}
    exfil = {}
    for i in range(q):
        t = T0 + (i * SPAN) // q + rnd.randrange(-30, 30)
        src = "10.0.%d.%d" % (rnd.randrange(16), rnd.randrange(1, 250))
        r = rnd.random()
        if burst > 0:
            name = "".join(rnd.choice(alphabet) for _ in range(40)) + "." + EXFIL_PARENT + "."
            src = burst_src
            burst -= 1
            counts["exfil_queries"] += 1
            exfil.setdefault(src, []).append((t, i))
        elif r < 0.0005:
            burst, burst_src = 40, src
            counts["exfil_bursts"] += 1
            name = "start." + EXFIL_PARENT + "."
        elif r < 0.001:
            name = "%s.%s." % (rnd.choice(["a", "b", "x1"]), rnd.choice(CRYPTO_DOMAINS))
            counts["crypto"] += 1
            instances["crypto-mining-dns"].add(zlib.crc32(src.encode()))
        elif r < 0.0012:
            name = rnd.choice(C2_DOMAINS) + "."
            counts["c2"] += 1
            instances["c2-dns"].add(zlib.crc32(src.encode()))
        elif r < 0.0013:
            name = "GuardDutyC2ActivityB.com."
            counts["guardduty_test_domain"] += 1
            instances["c2-dns"].add(zlib.crc32(src.encode()))
        else:
            name = normal[rnd.randrange(len(normal))]
        rec = {
            "version": "1.100000", "account_id": ACCOUNT, "region": REGION, "vpc_id": "vpc-0a1b2c3d4e5f60718",
            "query_timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), "query_name": name,
            "query_type": "A", "query_class": "IN", "rcode": "NOERROR", "answers": [],
            "srcaddr": src, "srcport": str(rnd.randrange(1024, 65535)), "transport": "UDP",
            "srcids": {"instance": "i-%017x" % zlib.crc32(src.encode())},
        }
        lines.append(json.dumps(rec, separators=(",", ":")))
        if len(lines) >= 20000:
            f.write(("\n".join(lines) + "\n").encode())
            lines = []
    if lines:
        f.write(("\n".join(lines) + "\n").encode())
    f.close()
    print("  %s: %.0f MB" % (path, os.path.getsize(path) / 1e6), file=sys.stderr)
    expected = {d: len(v) for d, v in instances.items()}
    expected["dns-exfiltration"] = expect.windowed(exfil, 600, 20, lambda r: True)
    manifest["dns"] = {
        "queries": q, "file": os.path.basename(path), "injected": counts,
        "expected_alerts": expected,
        "seconds": round(time.time() - started, 1),
    }


def write_lists(out):
    d = os.path.join(out, "lists")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ips.txt"), "w") as f:
        f.write("# GuardDuty ThreatIntelSet (TXT): one IP or CIDR a line\n")
        f.write("\n".join(MALICIOUS_IPS + MALICIOUS_CIDRS) + "\n")
    with open(os.path.join(d, "trusted.txt"), "w") as f:
        f.write("# trusted addresses win over every threat list\n" + "\n".join(TRUSTED_IPS) + "\n")
    with open(os.path.join(d, "crypto-domains.txt"), "w") as f:
        f.write("\n".join(CRYPTO_DOMAINS) + "\n")
    with open(os.path.join(d, "c2-domains.txt"), "w") as f:
        f.write("\n".join(C2_DOMAINS) + "\n")
    with open(os.path.join(d, "ip-ranges.json"), "w") as f:
        json.dump(AWS_IP_RANGES, f, indent=2)
    # Every list parses as what it claims.
    for x in MALICIOUS_IPS + TRUSTED_IPS:
        ipaddress.ip_address(x)
    for c in MALICIOUS_CIDRS:
        ipaddress.ip_network(c)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench/logs/data")
    ap.add_argument("--flow-records", type=int, default=10_000_000)
    ap.add_argument("--flow-outputs", default="v2.log,v2.log.gz,v5.log,v5.log.gz",
                    help="which flow files to write (comma-separated from v2.log, v2.log.gz, v5.log, v5.log.gz)")
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--ct-events", type=int, default=1_000_000)
    ap.add_argument("--ct-per-file", type=int, default=5000)
    ap.add_argument("--dns-queries", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20240301)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = {"seed": args.seed, "start": T0, "span_seconds": SPAN}
    write_lists(args.out)
    if args.flow_records > 0:
        print("flow logs: %d records" % args.flow_records, file=sys.stderr)
        gen_flow(args, args.out, manifest)
    if args.ct_events > 0:
        print("CloudTrail: %d events" % args.ct_events, file=sys.stderr)
        gen_cloudtrail(args, args.out, manifest)
    if args.dns_queries > 0:
        print("Route 53 Resolver: %d queries" % args.dns_queries, file=sys.stderr)
        gen_dns(args, args.out, manifest)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
