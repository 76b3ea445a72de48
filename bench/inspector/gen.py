#!/usr/bin/env python3
"""Generate the Inspector benchmark inputs (standard library only).

    python3 bench/inspector/gen.py --out bench/inspector/data

- vpc.yaml: one VPC, 50 subnets (half public), 200 security groups, 2,000
  instances, network ACLs with deny/allow rules, one internet-facing ALB;
- osv/: 50,000 OSV files over Debian:12, PyPI and npm packages;
- inventory.json: 500 instances x 1,500 packages, some of them vulnerable.
"""
import argparse
import json
import os
import random


def vpc(n_inst, n_sg, n_sub, rnd):
    out = ["AWSTemplateFormatVersion: '2010-09-09'", "Resources:",
           "  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}",
           "  Igw: {Type: AWS::EC2::InternetGateway}",
           "  Attach: {Type: AWS::EC2::VPCGatewayAttachment, Properties: {VpcId: !Ref Vpc, InternetGatewayId: !Ref Igw}}",
           "  Public: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref Vpc}}",
           "  ToIgw: {Type: AWS::EC2::Route, Properties: {RouteTableId: !Ref Public, DestinationCidrBlock: 0.0.0.0/0, GatewayId: !Ref Igw}}",
           "  Acl: {Type: AWS::EC2::NetworkAcl, Properties: {VpcId: !Ref Vpc}}",
           "  DenyTelnet: {Type: AWS::EC2::NetworkAclEntry, Properties: {NetworkAclId: !Ref Acl, RuleNumber: 90, Protocol: 6, RuleAction: deny, CidrBlock: 0.0.0.0/0, PortRange: {From: 23, To: 23}}}",
           "  AllowIn: {Type: AWS::EC2::NetworkAclEntry, Properties: {NetworkAclId: !Ref Acl, RuleNumber: 100, Protocol: -1, RuleAction: allow, CidrBlock: 0.0.0.0/0}}",
           "  AllowOut: {Type: AWS::EC2::NetworkAclEntry, Properties: {NetworkAclId: !Ref Acl, RuleNumber: 100, Protocol: -1, RuleAction: allow, Egress: true, CidrBlock: 0.0.0.0/0}}"]
    for s in range(n_sub):
        out.append(f"  Sub{s}: {{Type: AWS::EC2::Subnet, Properties: {{VpcId: !Ref Vpc, CidrBlock: 10.0.{s}.0/24, MapPublicIpOnLaunch: {str(s % 2 == 0).lower()}}}}}")
        if s % 2 == 0:
            out.append(f"  Assoc{s}: {{Type: AWS::EC2::SubnetRouteTableAssociation, Properties: {{SubnetId: !Ref Sub{s}, RouteTableId: !Ref Public}}}}")
        if s % 4 == 0:
            out.append(f"  AclAssoc{s}: {{Type: AWS::EC2::SubnetNetworkAclAssociation, Properties: {{SubnetId: !Ref Sub{s}, NetworkAclId: !Ref Acl}}}}")
    ports = [22, 23, 80, 443, 3306, 5432, 6379, 8080, 9200, 27017]
    for g in range(n_sg):
        out.append(f"  Sg{g}:")
        out.append("    Type: AWS::EC2::SecurityGroup")
        out.append("    Properties:")
        out.append(f"      GroupDescription: group {g}")
        out.append("      VpcId: !Ref Vpc")
        out.append("      SecurityGroupIngress:")
        for _ in range(rnd.randint(2, 6)):
            p = rnd.choice(ports)
            src = rnd.choice(["CidrIp: 0.0.0.0/0", "CidrIp: 10.0.0.0/8", f"SourceSecurityGroupId: !Ref Sg{rnd.randrange(n_sg)}", "CidrIp: 203.0.113.0/24"])
            out.append(f"        - {{IpProtocol: tcp, FromPort: {p}, ToPort: {p + rnd.choice([0, 0, 10])}, {src}}}")
    for i in range(n_inst):
        gs = ", ".join(f"!Ref Sg{rnd.randrange(n_sg)}" for _ in range(rnd.randint(1, 3)))
        out.append(f"  I{i}: {{Type: AWS::EC2::Instance, Properties: {{ImageId: ami-1, SubnetId: !Ref Sub{rnd.randrange(n_sub)}, SecurityGroupIds: [{gs}]}}}}")
    out.append("  Alb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Subnets: [!Ref Sub0, !Ref Sub2], SecurityGroups: [!Ref Sg0]}}")
    targets = ", ".join(f"{{Id: !Ref I{i}}}" for i in range(0, n_inst, 20))
    out.append(f"  Tg: {{Type: AWS::ElasticLoadBalancingV2::TargetGroup, Properties: {{Port: 8080, Protocol: HTTP, VpcId: !Ref Vpc, Targets: [{targets}]}}}}")
    out.append("  L: {Type: AWS::ElasticLoadBalancingV2::Listener, Properties: {LoadBalancerArn: !Ref Alb, Port: 443, Protocol: HTTPS, DefaultActions: [{Type: forward, TargetGroupArn: !Ref Tg}]}}")
    return "\n".join(out) + "\n"


ECOS = [("Debian:12", "dpkg", lambda i: f"{1 + i % 9}.{i % 17}.{i % 5}-{1 + i % 4}"),
        ("PyPI", "pip", lambda i: f"{1 + i % 9}.{i % 17}.{i % 5}"),
        ("npm", "npm", lambda i: f"{1 + i % 9}.{i % 17}.{i % 5}")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench/inspector/data")
    ap.add_argument("--instances", type=int, default=2000)
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--subnets", type=int, default=50)
    ap.add_argument("--advisories", type=int, default=50000)
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--packages", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "osv"), exist_ok=True)
    with open(os.path.join(a.out, "vpc.yaml"), "w") as f:
        f.write(vpc(a.instances, a.groups, a.subnets, rnd))
    # Inventories use 5,000 names per ecosystem, advisories 20,000: most
    # packages have no advisory, and fixed versions are low (1.x), so about one
    # package in 30 is vulnerable, as on a real host.
    names = 5000
    for k in range(a.advisories):
        eco, _, ver = ECOS[k % 3]
        name = f"pkg{rnd.randrange(4 * names)}"
        rec = {"id": f"BENCH-{k}", "modified": "2024-01-01T00:00:00Z", "summary": f"synthetic advisory {k}",
               "aliases": [f"CVE-2024-{k}"],
               "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
               "affected": [{"package": {"ecosystem": eco, "name": name},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1." + ver(rnd.randrange(1000)).split(".", 1)[1]}]}]}],
               "references": [{"type": "WEB", "url": f"https://example.org/{k}"}]}
        d = os.path.join(a.out, "osv", f"{k // 1000:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"BENCH-{k}.json"), "w") as f:
            json.dump(rec, f)
    with open(os.path.join(a.out, "inventory.json"), "w") as f:
        f.write('{"instances": [\n')
        for h in range(a.hosts):
            pk = []
            for j in range(a.packages):
                eco, mgr, ver = ECOS[j % 3]
                pk.append(json.dumps({"name": f"pkg{rnd.randrange(names)}", "version": ver(rnd.randrange(1000)), "manager": mgr}))
            sep = "," if h + 1 < a.hosts else ""
            f.write(f' {{"resource": "I{h}", "os": "debian:12", "packages": [\n  ' + ",\n  ".join(pk) + f"]}}{sep}\n")
        f.write("]}\n")


if __name__ == "__main__":
    main()
