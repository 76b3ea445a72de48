#!/usr/bin/env python3
"""Generate a large, deterministic corpus of CloudFormation templates (and,
optionally, Terraform plan JSON files) for benchmarking deadbolt.

    python3 bench/gen_corpus.py                      # 2000 templates into bench/corpus
    python3 bench/gen_corpus.py -n 500 --seed 7 -o /tmp/corpus --plans 50

Every template has 20-60 resources drawn from a realistic mix of the types the
built-in catalogue covers (S3 buckets and bucket policies, EBS volumes, EC2
instances, launch templates, security groups and standalone ingress rules, RDS
instances and Aurora clusters, DynamoDB, Redshift, SQS, SNS, EFS, ElastiCache,
ALBs and listeners, WAFv2 web ACLs and associations, CloudFront, KMS keys,
GuardDuty), plus a few types no policy looks at (IAM roles, log groups, Lambda
functions), with Parameters, Conditions, Outputs and intrinsic functions:
short forms (!Ref, !GetAtt, !Sub, !If, !Select, !Join, ...) in YAML and the
Fn:: forms in JSON. About 30% of the policy-relevant resources are made
non-compliant (--bad-ratio).

Files are written as <out>/<group>/tNNNNN.{yaml,json} (YAML:JSON about 70:30 by
default, --json-ratio), in sub-directories of 250 files, and plans as
<out>/plans/planNNNNN.json. The output is a pure function of the arguments:
the same --seed gives byte-identical files. A manifest (corpus-manifest.txt,
JSON under a name that no scanner picks up) records
the arguments and the counts of templates, plans and resources, so a benchmark
can print resources/second without parsing the corpus.

Only the Python standard library is used.
"""

import argparse
import json
import os
import random
import shutil
import sys

# ---------------------------------------------------------------------------
# Intrinsic functions: one representation, rendered as short-form tags in YAML
# and as {"Fn::X": ...} / {"Ref": ...} in JSON.
# ---------------------------------------------------------------------------


class Fn:
    """An intrinsic function call. `name` is the long name without the Fn::
    prefix ("Ref", "GetAtt", "Sub", "If", ...); `arg` its argument."""

    __slots__ = ("name", "arg")

    def __init__(self, name, arg):
        self.name = name
        self.arg = arg

    def to_json(self):
        key = "Ref" if self.name == "Ref" else ("Condition" if self.name == "Condition" else "Fn::" + self.name)
        arg = self.arg
        if self.name == "GetAtt" and isinstance(arg, str):
            arg = arg.split(".", 1)
        return {key: to_json(arg)}


def Ref(x):
    return Fn("Ref", x)


def GetAtt(x):
    return Fn("GetAtt", x)


def Sub(x):
    return Fn("Sub", x)


def If(c, a, b):
    return Fn("If", [c, a, b])


def Equals(a, b):
    return Fn("Equals", [a, b])


def Not(x):
    return Fn("Not", [x])


def And(*xs):
    return Fn("And", list(xs))


def Select(i, xs):
    return Fn("Select", [i, xs])


def GetAZs(r=""):
    return Fn("GetAZs", r)


def Join(sep, xs):
    return Fn("Join", [sep, xs])


def Base64(x):
    return Fn("Base64", x)


def ImportValue(x):
    return Fn("ImportValue", x)


NO_VALUE = Ref("AWS::NoValue")


def to_json(v):
    if isinstance(v, Fn):
        return v.to_json()
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    return v


# ---------------------------------------------------------------------------
# A small YAML emitter: block style for mappings and sequences, flow style for
# short scalar lists, short-form tags for intrinsics. (Written here rather than
# taken from PyYAML to stay stdlib-only and to control the CloudFormation
# idioms exactly.)
# ---------------------------------------------------------------------------

_YAML_RESERVED = {
    "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    "True", "False", "Yes", "No", "On", "Off", "Null", "TRUE", "FALSE", "NULL",
    "Y", "N", "YES", "NO", "ON", "OFF",
}
_PLAIN_FIRST = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/")
_PLAIN_REST = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-:*+=@${}() ")
_FLOW_INDICATORS = set("{}[],")
_SHORT_SCALAR_FNS = ("Ref", "GetAtt", "Sub", "GetAZs", "ImportValue", "Condition", "Base64")


def _looks_numeric(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def yaml_scalar(v, flow=False):
    """A scalar as YAML: plain when that is unambiguous, else single- or double-quoted."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    plain = (
        s
        and s[0] in _PLAIN_FIRST
        and all(c in _PLAIN_REST for c in s)
        and s not in _YAML_RESERVED
        and not _looks_numeric(s)
        and ": " not in s
        and " #" not in s
        and not s.endswith(":")
        and not s.endswith(" ")
        and not (flow and any(c in _FLOW_INDICATORS for c in s))
    )
    if plain:
        return s
    if "'" not in s and "\\" not in s and "\n" not in s:
        return "'" + s + "'"
    return json.dumps(s)


def _is_scalar(v):
    return not isinstance(v, (dict, list, Fn))


def _flowable(v):
    """Whether `v` can be written on one line (flow style)."""
    if _is_scalar(v):
        return not (isinstance(v, str) and "\n" in v)
    if isinstance(v, Fn):
        if v.name in _SHORT_SCALAR_FNS and _is_scalar(v.arg):
            return _flowable(v.arg)
        return (isinstance(v.arg, list) and all(_flowable(x) for x in v.arg)
                and sum(not _is_scalar(x) for x in v.arg) <= 2)
    if isinstance(v, list):
        return len(v) <= 6 and all(_flowable(x) and (_is_scalar(x) or _is_scalar(x.arg) if isinstance(x, Fn) else _is_scalar(x))
                                   for x in v)
    return False


def _flow(v, in_flow=False):
    if isinstance(v, Fn):
        if v.name in _SHORT_SCALAR_FNS and _is_scalar(v.arg):
            return "!%s %s" % (v.name, yaml_scalar(v.arg, in_flow) if v.arg != "" else "''")
        return "!%s [%s]" % (v.name, ", ".join(_flow(x, True) for x in v.arg))
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x, True) for x in v) + "]"
    return yaml_scalar(v, in_flow)


def _literal(prefix, s, indent, out):
    """A multi-line string as a literal block scalar (`|`), as people write UserData."""
    chomp = "" if s.endswith("\n") and not s.endswith("\n\n") else "-"
    out.append("%s|%s" % (prefix, chomp))
    for line in s.rstrip("\n").split("\n") if chomp == "" else s.split("\n"):
        out.append((" " * indent + line) if line else "")


def _value(prefix, x, indent, out):
    """Write `x` after `prefix` ("  Key: " or "  - "); nested blocks go at `indent`."""
    if isinstance(x, Fn) and isinstance(x.arg, Fn):
        # YAML allows one tag per node, so `!Base64 !Sub ...` is written
        # the way CloudFormation authors do: `Fn::Base64: !Sub ...`.
        x = {"Fn::" + x.name: x.arg}
    if isinstance(x, str) and "\n" in x:
        _literal(prefix, x, indent, out)
    elif isinstance(x, list) and not x:
        out.append(prefix + "[]")
    elif isinstance(x, dict) and not x:
        out.append(prefix + "{}")
    elif _flowable(x):
        out.append(prefix + _flow(x))
    elif isinstance(x, Fn):
        if isinstance(x.arg, str) and "\n" in x.arg:
            _literal("%s!%s " % (prefix, x.name), x.arg, indent, out)
        else:
            out.append("%s!%s" % (prefix, x.name))
            yaml_lines(x.arg, indent, out)
    else:
        out.append(prefix.rstrip(" "))
        yaml_lines(x, indent, out)


def yaml_lines(v, indent, out):
    """Append the block rendering of a mapping or sequence `v` at `indent`."""
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            _value("%s%s: " % (pad, yaml_scalar(k)), x, indent + 2, out)
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict) and x and not _flowable(x):
                sub = []
                yaml_lines(x, indent + 2, sub)
                # "- " followed by the first key on the same line.
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
            else:
                _value(pad + "- ", x, indent + 2, out)
    else:
        raise ValueError("yaml_lines needs a container, got %r" % (v,))


def to_yaml(doc, header):
    out = ["# " + line for line in header]
    for k, v in doc.items():
        if out and k != "AWSTemplateFormatVersion":
            out.append("")
        _value("%s: " % yaml_scalar(k), v, 2, out)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# The template generator.
# ---------------------------------------------------------------------------

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
APPS = ["billing", "catalog", "checkout", "search", "ledger", "payments", "auth", "reports",
        "ingest", "media", "orders", "inventory", "notify", "analytics", "gateway", "profile"]
TLS_GOOD = ["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06",
            "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-FS-1-2-Res-2020-10"]
TLS_BAD = ["ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS-1-1-2017-01", "ELBSecurityPolicy-2015-05"]
CF_TLS_GOOD = ["TLSv1.2_2021", "TLSv1.2_2019", "TLSv1.2_2021"]
CF_TLS_BAD = ["TLSv1", "TLSv1_2016", "TLSv1.1_2016"]


class Counter:
    def __init__(self):
        self.resources = 0
        self.bad = 0
        self.by_type = {}


class TemplateGen:
    """Builds one template. Resources are added by `add_*` methods; each returns
    the logical ids it created so related resources can refer to them."""

    def __init__(self, rng, idx, bad_ratio, stats):
        self.rng = rng
        self.idx = idx
        self.bad_ratio = bad_ratio
        self.stats = stats
        self.app = rng.choice(APPS)
        self.resources = {}
        self.outputs = {}
        self.keys = []          # logical ids of KMS keys in this template
        self.sgs = []           # security groups
        self.albs = []
        self.webacls = []
        self.clusters = []
        self.buckets = []
        self.names = set()
        self.bad_ids = set()
        self.use_if = rng.random() < 0.6
        self.params = {
            "Environment": {"Type": "String", "Default": rng.choice(["dev", "staging", "prod"]),
                            "AllowedValues": ["dev", "staging", "prod"],
                            "Description": "Deployment stage"},
            "VpcId": {"Type": "AWS::EC2::VPC::Id", "Description": "VPC to deploy into"},
            "SubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>", "Description": "Private subnets"},
            "PublicSubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>", "Description": "Public subnets"},
            "KmsKeyArn": {"Type": "String", "Default": "",
                          "Description": "Optional customer managed key; empty creates one"},
            "InstanceType": {"Type": "String", "Default": rng.choice(["t3.medium", "m6i.large", "c6i.xlarge"]),
                             "AllowedValues": ["t3.medium", "m6i.large", "c6i.xlarge", "r6i.large"]},
            "LatestAmiId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                            "Default": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"},
            "CertificateArn": {"Type": "String",
                               "Default": "arn:aws:acm:us-east-1:123456789012:certificate/%08x-1111-2222-3333-444455556666" % rng.getrandbits(32)},
        }
        self.conditions = {
            "IsProd": Equals(Ref("Environment"), "prod"),
            "HasKmsKey": Not(Equals(Ref("KmsKeyArn"), "")),
            "IsProdWithKey": And(Fn("Condition", "IsProd"), Fn("Condition", "HasKmsKey")),
        }

    # -- helpers ------------------------------------------------------------
    def bad(self):
        return self.rng.random() < self.bad_ratio

    def name(self, base):
        n = base
        i = 2
        while n in self.names:
            n = "%s%d" % (base, i)
            i += 1
        self.names.add(n)
        return n

    def add(self, lid, rtype, props, bad=False, **extra):
        r = {"Type": rtype}
        r.update(extra)
        r["Properties"] = props
        self.resources[lid] = r
        self.stats.resources += 1
        self.stats.bad += int(bool(bad))
        if bad:
            self.bad_ids.add(lid)
        self.stats.by_type[rtype] = self.stats.by_type.get(rtype, 0) + 1
        return lid

    def tags(self, extra=None):
        t = [{"Key": "Application", "Value": self.app},
             {"Key": "Environment", "Value": Ref("Environment")}]
        if extra:
            t.append({"Key": "Component", "Value": extra})
        if self.rng.random() < 0.3:
            t.append({"Key": "CostCenter", "Value": "cc-%04d" % self.rng.randrange(10000)})
        return t

    def key_ref(self, arn=False):
        """A reference to a customer key: a key of this template, the parameter, or an alias."""
        r = self.rng.random()
        if self.keys and r < 0.6:
            k = self.rng.choice(self.keys)
            return GetAtt(k + ".Arn") if arn else Ref(k)
        if r < 0.85 and self.use_if:
            return If("HasKmsKey", Ref("KmsKeyArn"), NO_VALUE) if self.rng.random() < 0.3 else Ref("KmsKeyArn")
        return "arn:aws:kms:%s:123456789012:key/%08x-aaaa-bbbb-cccc-%012x" % (
            self.rng.choice(REGIONS), self.rng.getrandbits(32), self.rng.getrandbits(48))

    def az(self):
        return Select(self.rng.randrange(3), GetAZs(""))

    def subnet(self, public=False):
        return Select(self.rng.randrange(2), Ref("PublicSubnetIds" if public else "SubnetIds"))

    # -- resources ------------------------------------------------------------
    def add_kms_key(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["DataKey", "AppKey", "StorageKey", "QueueKey", "LogsKey"]))
        statements = [{
            "Sid": "EnableRootAccess",
            "Effect": "Allow",
            "Principal": {"AWS": Sub("arn:aws:iam::${AWS::AccountId}:root")},
            "Action": "kms:*",
            "Resource": "*",
        }, {
            "Sid": "AllowServiceUse",
            "Effect": "Allow",
            "Principal": {"Service": self.rng.choice(["logs.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com"])},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
        }]
        rotation = True
        if bad:
            if self.rng.random() < 0.5:
                statements.append({"Sid": "Everyone", "Effect": "Allow", "Principal": "*",
                                   "Action": "kms:Decrypt", "Resource": "*"})
            else:
                rotation = False
        props = {"Description": "%s key for %s" % (lid, self.app),
                 "KeyPolicy": {"Version": "2012-10-17", "Statement": statements}}
        if rotation or self.rng.random() < 0.5:
            props["EnableKeyRotation"] = rotation
        if self.rng.random() < 0.3:
            props["PendingWindowInDays"] = self.rng.choice([7, 14, 30])
        props["Tags"] = self.tags("kms")
        self.add(lid, "AWS::KMS::Key", props, bad, DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
        self.keys.append(lid)
        if self.rng.random() < 0.4:
            self.add(self.name(lid + "Alias"), "AWS::KMS::Alias",
                     {"AliasName": Sub("alias/${AWS::StackName}-%s" % lid.lower()), "TargetKeyId": Ref(lid)})
        return lid

    def add_bucket(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["AssetsBucket", "LogsBucket", "DataBucket", "ArchiveBucket",
                                         "UploadsBucket", "ReportsBucket", "BackupBucket"]))
        props = {"BucketName": Sub("${AWS::StackName}-%s-${AWS::AccountId}-${AWS::Region}" % lid.lower())}
        if bad:
            mode = self.rng.random()
            if mode < 0.6:
                props["BucketEncryption"] = {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
            # else: no BucketEncryption at all
        else:
            algo = "aws:kms" if self.rng.random() < 0.9 else "aws:kms:dsse"
            rule = {"ServerSideEncryptionByDefault": {"SSEAlgorithm": algo, "KMSMasterKeyID": self.key_ref(arn=True)},
                    "BucketKeyEnabled": True}
            props["BucketEncryption"] = {"ServerSideEncryptionConfiguration": [rule]}
        props["PublicAccessBlockConfiguration"] = {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        if self.rng.random() < 0.6:
            props["VersioningConfiguration"] = {"Status": "Enabled"}
        if self.rng.random() < 0.4:
            props["LifecycleConfiguration"] = {"Rules": [
                {"Id": "expire-old", "Status": "Enabled", "ExpirationInDays": self.rng.choice([30, 90, 365]),
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}
        if self.buckets and self.rng.random() < 0.3:
            props["LoggingConfiguration"] = {"DestinationBucketName": Ref(self.buckets[0]),
                                             "LogFilePrefix": lid.lower() + "/"}
        props["Tags"] = self.tags("storage")
        self.add(lid, "AWS::S3::Bucket", props, bad, DeletionPolicy=self.rng.choice(["Retain", "Delete"]))
        self.buckets.append(lid)
        # A bucket policy for most buckets; ~30% of them lack the SecureTransport deny.
        if self.rng.random() < 0.75:
            pbad = self.bad()
            stmts = []
            if not pbad:
                stmts.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                              "Action": "s3:*",
                              "Resource": [GetAtt(lid + ".Arn"), Sub("${%s.Arn}/*" % lid)],
                              "Condition": {"Bool": {"aws:SecureTransport": self.rng.choice(["false", False])}}})
            stmts.append({"Sid": "AllowAppRead", "Effect": "Allow",
                          "Principal": {"AWS": Sub("arn:aws:iam::${AWS::AccountId}:role/%s-reader" % self.app)},
                          "Action": ["s3:GetObject", "s3:ListBucket"],
                          "Resource": [GetAtt(lid + ".Arn"), Join("", [GetAtt(lid + ".Arn"), "/*"])]})
            if self.rng.random() < 0.5:
                stmts.reverse()
            self.add(self.name(lid + "Policy"), "AWS::S3::BucketPolicy",
                     {"Bucket": Ref(lid), "PolicyDocument": {"Version": "2012-10-17", "Statement": stmts}}, pbad)
        return lid

    def add_volume(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["DataVolume", "ScratchVolume", "LogVolume", "CacheVolume"]))
        props = {"AvailabilityZone": self.az(), "Size": self.rng.choice([20, 50, 100, 200, 500]),
                 "VolumeType": self.rng.choice(["gp3", "gp2", "io2", "st1"])}
        if bad:
            if self.rng.random() < 0.5:
                props["Encrypted"] = False
        else:
            props["Encrypted"] = True
            if self.rng.random() < 0.7:
                props["KmsKeyId"] = self.key_ref()
        props["Tags"] = self.tags("volume")
        return self.add(lid, "AWS::EC2::Volume", props, bad)

    def _block_devices(self, bad):
        n = self.rng.choice([1, 1, 2, 3])
        out = []
        bad_at = self.rng.randrange(n) if bad else -1
        for i in range(n):
            ebs = {"VolumeSize": self.rng.choice([8, 20, 30, 100]), "VolumeType": "gp3",
                   "DeleteOnTermination": True}
            if i == bad_at:
                if self.rng.random() < 0.5:
                    ebs["Encrypted"] = False
            else:
                ebs["Encrypted"] = True
                if self.rng.random() < 0.4:
                    ebs["KmsKeyId"] = self.key_ref()
            out.append({"DeviceName": "/dev/xvda" if i == 0 else "/dev/sd" + "bcdef"[i], "Ebs": ebs})
        if self.rng.random() < 0.15:
            out.append({"DeviceName": "/dev/sdf", "VirtualName": "ephemeral0"})
        return out

    def add_instance(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["WebServer", "Worker", "Bastion", "AppServer", "BatchHost"]))
        props = {"ImageId": Ref("LatestAmiId"), "InstanceType": Ref("InstanceType"),
                 "SubnetId": self.subnet(), "BlockDeviceMappings": self._block_devices(bad),
                 "Monitoring": If("IsProd", True, False) if self.use_if else True}
        if self.sgs:
            props["SecurityGroupIds"] = [GetAtt(self.rng.choice(self.sgs) + ".GroupId")]
        props["UserData"] = Base64(Sub("#!/bin/bash\nset -euo pipefail\necho '%s ${Environment}' > /etc/motd\n"
                                       "/opt/aws/bin/cfn-signal -e $? --stack ${AWS::StackName} --resource %s --region ${AWS::Region}\n"
                                       % (self.app, lid)))
        props["Tags"] = self.tags("compute")
        return self.add(lid, "AWS::EC2::Instance", props, bad)

    def add_launch_template(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["AppLaunchTemplate", "WorkerLaunchTemplate", "LaunchTemplate"]))
        data = {"ImageId": Ref("LatestAmiId"), "InstanceType": Ref("InstanceType"),
                "BlockDeviceMappings": self._block_devices(bad),
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}}
        if self.sgs:
            data["SecurityGroupIds"] = [Ref(self.rng.choice(self.sgs))]
        data["TagSpecifications"] = [{"ResourceType": "instance", "Tags": self.tags("asg")}]
        return self.add(lid, "AWS::EC2::LaunchTemplate",
                        {"LaunchTemplateName": Sub("${AWS::StackName}-%s" % lid.lower()), "LaunchTemplateData": data}, bad)

    def _ingress_rule(self, bad):
        """One ingress rule: a public admin port (bad) or something acceptable."""
        rng = self.rng
        if bad:
            kind = rng.choice(["ssh", "rdp", "range", "all", "ssh6", "all-int"])
            if kind == "ssh":
                return {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0",
                        "Description": "SSH from anywhere"}
            if kind == "rdp":
                return {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIp": "0.0.0.0/0"}
            if kind == "range":
                lo = rng.choice([0, 1, 20, 1024 - 1024])
                return {"IpProtocol": "tcp", "FromPort": lo, "ToPort": rng.choice([65535, 4000]), "CidrIp": "0.0.0.0/0"}
            if kind == "all":
                return {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "all traffic"}
            if kind == "all-int":
                return {"IpProtocol": -1, "FromPort": -1, "ToPort": -1, "CidrIp": "0.0.0.0/0"}
            return {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv6": "::/0"}
        kind = rng.choice(["https", "https", "http6", "ssh-private", "range-private", "icmp", "db-private", "sg-source"])
        if kind == "https":
            return {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "HTTPS"}
        if kind == "http6":
            return {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIpv6": "::/0"}
        if kind == "ssh-private":
            return {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.%d.0.0/16" % rng.randrange(256)}
        if kind == "range-private":
            return {"IpProtocol": "tcp", "FromPort": 1024, "ToPort": 65535, "CidrIp": "172.16.0.0/12"}
        if kind == "icmp":
            return {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIp": "0.0.0.0/0"}
        if kind == "db-private":
            return {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "10.0.0.0/8"}
        if self.sgs:
            return {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                    "SourceSecurityGroupId": GetAtt(self.rng.choice(self.sgs) + ".GroupId")}
        return {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "CidrIp": "192.168.0.0/16"}

    def add_security_group(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["WebSecurityGroup", "AppSecurityGroup", "DbSecurityGroup",
                                         "AdminSecurityGroup", "LbSecurityGroup", "CacheSecurityGroup"]))
        n = self.rng.randint(1, 4)
        rules = [self._ingress_rule(False) for _ in range(n)]
        if bad:
            rules.insert(self.rng.randrange(n + 1), self._ingress_rule(True))
        props = {"GroupDescription": "%s for %s" % (lid, self.app), "VpcId": Ref("VpcId"),
                 "SecurityGroupIngress": rules}
        if self.rng.random() < 0.4:
            props["SecurityGroupEgress"] = [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]
        props["Tags"] = self.tags("network")
        self.add(lid, "AWS::EC2::SecurityGroup", props, bad)
        self.sgs.append(lid)
        return lid

    def add_ingress(self):
        if not self.sgs:
            self.add_security_group()
        bad = self.bad()
        sg = self.rng.choice(self.sgs)
        rule = self._ingress_rule(bad)
        rule["GroupId"] = GetAtt(sg + ".GroupId") if self.rng.random() < 0.5 else Ref(sg)
        return self.add(self.name(sg + "Ingress"), "AWS::EC2::SecurityGroupIngress", rule, bad)

    def add_db_instance(self, cluster=None):
        bad = False if cluster else self.bad()
        lid = self.name((cluster + "Instance") if cluster else self.rng.choice(["Database", "ReportingDb", "AppDb"]))
        if cluster:
            props = {"DBClusterIdentifier": Ref(cluster), "DBInstanceClass": "db.r6g.large",
                     "Engine": "aurora-postgresql", "PubliclyAccessible": False}
        else:
            props = {"Engine": self.rng.choice(["postgres", "mysql", "mariadb"]),
                     "DBInstanceClass": self.rng.choice(["db.t3.medium", "db.m6g.large"]),
                     "AllocatedStorage": str(self.rng.choice([20, 100, 500])),
                     "MasterUsername": "admin",
                     "ManageMasterUserPassword": True,
                     "MultiAZ": If("IsProd", True, False) if self.use_if else True,
                     "BackupRetentionPeriod": 7,
                     "DBSubnetGroupName": Ref(self._db_subnet_group())}
            if bad:
                if self.rng.random() < 0.5:
                    props["StorageEncrypted"] = False
            else:
                props["StorageEncrypted"] = True
                props["KmsKeyId"] = self.key_ref()
            if self.sgs:
                props["VPCSecurityGroups"] = [GetAtt(self.rng.choice(self.sgs) + ".GroupId")]
        props["Tags"] = self.tags("database")
        return self.add(lid, "AWS::RDS::DBInstance", props, bad, DeletionPolicy="Snapshot")

    def _db_subnet_group(self):
        lid = "DbSubnetGroup"
        if lid not in self.resources:
            self.names.add(lid)
            self.add(lid, "AWS::RDS::DBSubnetGroup",
                     {"DBSubnetGroupDescription": "private subnets", "SubnetIds": Ref("SubnetIds")})
        return lid

    def add_db_cluster(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["AuroraCluster", "LedgerCluster", "AnalyticsCluster"]))
        props = {"Engine": "aurora-postgresql", "EngineVersion": "15.4",
                 "MasterUsername": "postgres",
                 "MasterUserPassword": Sub("{{resolve:secretsmanager:${AWS::StackName}-db:SecretString:password}}"),
                 "DBSubnetGroupName": Ref(self._db_subnet_group()),
                 "BackupRetentionPeriod": If("IsProd", 35, 7) if self.use_if else 7,
                 "DeletionProtection": True}
        if bad:
            if self.rng.random() < 0.5:
                props["StorageEncrypted"] = False
        else:
            props["StorageEncrypted"] = True
            props["KmsKeyId"] = self.key_ref()
        props["Tags"] = self.tags("database")
        self.add(lid, "AWS::RDS::DBCluster", props, bad, DeletionPolicy="Snapshot")
        for _ in range(self.rng.choice([1, 2, 2, 3])):
            self.add_db_instance(cluster=lid)
        return lid

    def add_dynamodb(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["SessionsTable", "OrdersTable", "EventsTable", "LocksTable"]))
        props = {"BillingMode": "PAY_PER_REQUEST",
                 "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "S"}],
                 "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                 "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
        if bad:
            if self.rng.random() < 0.5:
                props["SSESpecification"] = {"SSEEnabled": False}
        else:
            props["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": self.key_ref()}
        if self.rng.random() < 0.3:
            props["TimeToLiveSpecification"] = {"AttributeName": "expires", "Enabled": True}
        props["Tags"] = self.tags("table")
        return self.add(lid, "AWS::DynamoDB::Table", props, bad)

    def add_redshift(self):
        bad = self.bad()
        lid = self.name("Warehouse")
        props = {"ClusterType": "multi-node", "NumberOfNodes": 2, "NodeType": "ra3.xlplus", "DBName": "analytics",
                 "MasterUsername": "admin",
                 "MasterUserPassword": Sub("{{resolve:secretsmanager:${AWS::StackName}-rs:SecretString:password}}"),
                 "PubliclyAccessible": False}
        if bad:
            if self.rng.random() < 0.5:
                props["Encrypted"] = False
        else:
            props["Encrypted"] = True
            props["KmsKeyId"] = self.key_ref()
        props["Tags"] = self.tags("warehouse")
        return self.add(lid, "AWS::Redshift::Cluster", props, bad)

    def add_queue(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["JobsQueue", "EventsQueue", "DeadLetterQueue", "IngestQueue"]))
        props = {"VisibilityTimeout": self.rng.choice([30, 60, 300]), "MessageRetentionPeriod": 1209600}
        if bad:
            if self.rng.random() < 0.5:
                props["SqsManagedSseEnabled"] = False
        elif self.rng.random() < 0.5:
            props["KmsMasterKeyId"] = self.key_ref() if self.rng.random() < 0.6 else "alias/aws/sqs"
            props["KmsDataKeyReusePeriodSeconds"] = 300
        else:
            props["SqsManagedSseEnabled"] = True
        props["Tags"] = self.tags("queue")
        return self.add(lid, "AWS::SQS::Queue", props, bad)

    def add_topic(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["AlertsTopic", "EventsTopic", "NotificationsTopic"]))
        props = {"DisplayName": "%s %s" % (self.app, lid)}
        if not bad:
            props["KmsMasterKeyId"] = self.key_ref() if self.rng.random() < 0.7 else "alias/aws/sns"
        elif self.rng.random() < 0.3:
            props["KmsMasterKeyId"] = ""
        props["Tags"] = self.tags("topic")
        return self.add(lid, "AWS::SNS::Topic", props, bad)

    def add_efs(self):
        bad = self.bad()
        lid = self.name("SharedFileSystem")
        props = {"PerformanceMode": "generalPurpose", "ThroughputMode": "bursting",
                 "BackupPolicy": {"Status": "ENABLED"}}
        if bad:
            if self.rng.random() < 0.5:
                props["Encrypted"] = False
        else:
            props["Encrypted"] = True
            if self.rng.random() < 0.5:
                props["KmsKeyId"] = self.key_ref()
        props["FileSystemTags"] = [{"Key": "Name", "Value": Sub("${AWS::StackName}-shared")}]
        return self.add(lid, "AWS::EFS::FileSystem", props, bad)

    def add_cache(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["SessionCache", "RedisCache"]))
        props = {"ReplicationGroupDescription": "%s cache" % self.app, "Engine": "redis",
                 "CacheNodeType": "cache.r6g.large", "NumCacheClusters": 2, "AutomaticFailoverEnabled": True,
                 "AtRestEncryptionEnabled": True}
        if bad:
            if self.rng.random() < 0.5:
                props["TransitEncryptionEnabled"] = False
        else:
            props["TransitEncryptionEnabled"] = True
        if self.sgs:
            props["SecurityGroupIds"] = [GetAtt(self.rng.choice(self.sgs) + ".GroupId")]
        props["Tags"] = self.tags("cache")
        return self.add(lid, "AWS::ElastiCache::ReplicationGroup", props, bad)

    def add_webacl(self):
        lid = self.name("WebAcl")
        props = {"Scope": "REGIONAL", "DefaultAction": {"Allow": {}},
                 "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                      "MetricName": Sub("${AWS::StackName}-waf")},
                 "Rules": [{"Name": "AWSManagedRulesCommonRuleSet", "Priority": 0,
                            "OverrideAction": {"None": {}},
                            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS",
                                                                        "Name": "AWSManagedRulesCommonRuleSet"}},
                            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                                 "MetricName": "common"}},
                           {"Name": "RateLimit", "Priority": 1, "Action": {"Block": {}},
                            "Statement": {"RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}},
                            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                                 "MetricName": "rate"}}]}
        self.add(lid, "AWS::WAFv2::WebACL", props)
        self.webacls.append(lid)
        return lid

    def add_alb(self):
        bad = self.bad()  # no WAF association for an internet-facing ALB
        lid = self.name(self.rng.choice(["PublicLoadBalancer", "ApiLoadBalancer", "LoadBalancer"]))
        internal = self.rng.random() < 0.2
        props = {"Type": "application", "Scheme": "internal" if internal else "internet-facing",
                 "Subnets": Ref("SubnetIds" if internal else "PublicSubnetIds"),
                 "LoadBalancerAttributes": [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]}
        if self.sgs:
            props["SecurityGroups"] = [Ref(self.rng.choice(self.sgs))]
        if self.rng.random() < 0.3:
            del props["Type"]
        self.add(lid, "AWS::ElasticLoadBalancingV2::LoadBalancer", props, bad and not internal)
        self.albs.append(lid)
        tg = self.name(lid + "Targets")
        self.add(tg, "AWS::ElasticLoadBalancingV2::TargetGroup",
                 {"VpcId": Ref("VpcId"), "Protocol": "HTTP", "Port": 8080, "TargetType": "ip",
                  "HealthCheckPath": "/healthz"})
        # HTTP listener: redirect (good) or forward (bad).
        if self.rng.random() < 0.85:
            lbad = self.bad()
            if lbad:
                actions = [{"Type": "forward", "TargetGroupArn": Ref(tg)}]
            else:
                actions = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                                   "StatusCode": "HTTP_301"}}]
            self.add(self.name(lid + "HttpListener"), "AWS::ElasticLoadBalancingV2::Listener",
                     {"LoadBalancerArn": Ref(lid), "Port": 80, "Protocol": "HTTP", "DefaultActions": actions}, lbad)
        lbad = self.bad()
        self.add(self.name(lid + "HttpsListener"), "AWS::ElasticLoadBalancingV2::Listener",
                 {"LoadBalancerArn": Ref(lid), "Port": 443, "Protocol": "HTTPS",
                  "SslPolicy": self.rng.choice(TLS_BAD if lbad else TLS_GOOD),
                  "Certificates": [{"CertificateArn": Ref("CertificateArn")}],
                  "DefaultActions": [{"Type": "forward", "TargetGroupArn": Ref(tg)}]}, lbad)
        if not bad and not internal:
            if not self.webacls and self.rng.random() < 0.6:
                self.add_webacl()
            acl = GetAtt(self.rng.choice(self.webacls) + ".Arn") if self.webacls else ImportValue("shared-regional-web-acl-arn")
            self.add(self.name(lid + "WafAssociation"), "AWS::WAFv2::WebACLAssociation",
                     {"ResourceArn": Ref(lid), "WebACLArn": acl})
        self.outputs[lid + "DnsName"] = {"Description": "DNS name of " + lid, "Value": GetAtt(lid + ".DNSName"),
                                         "Export": {"Name": Sub("${AWS::StackName}-%s-dns" % lid.lower())}}
        return lid

    def add_distribution(self):
        bad = self.bad()
        lid = self.name(self.rng.choice(["Cdn", "StaticSiteDistribution", "AssetsDistribution"]))
        origin_bucket = self.buckets[0] if self.buckets else None
        origin = {"Id": "primary",
                  "DomainName": GetAtt(origin_bucket + ".RegionalDomainName") if origin_bucket else "origin.example.com"}
        if origin_bucket:
            origin["S3OriginConfig"] = {"OriginAccessIdentity": ""}
        else:
            origin["CustomOriginConfig"] = {"OriginProtocolPolicy": "https-only", "HTTPSPort": 443,
                                            "OriginSSLProtocols": ["TLSv1.2"]}
        what = self.rng.choice(["viewer", "tls", "waf", "default-cert"]) if bad else None
        cfg = {"Enabled": True, "Comment": "%s CDN" % self.app, "HttpVersion": "http2and3",
               "Origins": [origin],
               "DefaultCacheBehavior": {"TargetOriginId": "primary",
                                        "ViewerProtocolPolicy": "allow-all" if what == "viewer" else "redirect-to-https",
                                        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                                        "Compress": True},
               "Aliases": [Sub("cdn.%s.${Environment}.example.com" % self.app)]}
        if self.rng.random() < 0.4:
            cfg["CacheBehaviors"] = [{"PathPattern": "/api/*", "TargetOriginId": "primary",
                                      "ViewerProtocolPolicy": "https-only",
                                      "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"}]
        if what == "default-cert":
            cfg["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True}
            del cfg["Aliases"]
        else:
            cfg["ViewerCertificate"] = {"AcmCertificateArn": Ref("CertificateArn"), "SslSupportMethod": "sni-only",
                                        "MinimumProtocolVersion": self.rng.choice(CF_TLS_BAD if what == "tls" else CF_TLS_GOOD)}
        if what != "waf":
            cfg["WebACLId"] = ImportValue("shared-cloudfront-web-acl-arn") if self.rng.random() < 0.5 else \
                "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/%08x" % self.rng.getrandbits(32)
        if origin_bucket and self.rng.random() < 0.5:
            cfg["Logging"] = {"Bucket": GetAtt(origin_bucket + ".DomainName"), "Prefix": "cdn/"}
        return self.add(lid, "AWS::CloudFront::Distribution", {"DistributionConfig": cfg}, bad)

    def add_guardduty(self):
        bad = self.bad()
        lid = self.name("ThreatDetector")
        props = {"Enable": False if bad else True, "FindingPublishingFrequency": "FIFTEEN_MINUTES"}
        if self.rng.random() < 0.5:
            props["Features"] = [{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
                                 {"Name": "EBS_MALWARE_PROTECTION", "Status": "ENABLED"}]
        return self.add(lid, "AWS::GuardDuty::Detector", props, bad, Condition="IsProd") if self.use_if and self.rng.random() < 0.3 \
            else self.add(lid, "AWS::GuardDuty::Detector", props, bad)

    # Types no catalogue policy looks at, for realism.
    def add_role(self):
        lid = self.name(self.rng.choice(["AppRole", "WorkerRole", "FunctionRole", "InstanceRole"]))
        return self.add(lid, "AWS::IAM::Role", {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": self.rng.choice(["ec2.amazonaws.com", "lambda.amazonaws.com"])},
                 "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
            "Policies": [{"PolicyName": "app", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject"],
                 "Resource": Sub("arn:${AWS::Partition}:s3:::${AWS::StackName}-*/*")}]}}],
            "Tags": self.tags("iam")})

    def add_log_group(self):
        lid = self.name(self.rng.choice(["AppLogGroup", "AccessLogGroup", "AuditLogGroup"]))
        props = {"LogGroupName": Sub("/%s/${Environment}/%s" % (self.app, lid.lower())),
                 "RetentionInDays": self.rng.choice([14, 30, 90, 365])}
        if self.keys and self.rng.random() < 0.5:
            props["KmsKeyId"] = GetAtt(self.rng.choice(self.keys) + ".Arn")
        return self.add(lid, "AWS::Logs::LogGroup", props)

    def add_function(self):
        lid = self.name(self.rng.choice(["ProcessorFunction", "ResizeFunction", "WebhookFunction"]))
        roles = [k for k, v in self.resources.items() if v["Type"] == "AWS::IAM::Role"]
        role = GetAtt(roles[0] + ".Arn") if roles else Sub("arn:aws:iam::${AWS::AccountId}:role/%s-lambda" % self.app)
        env = {"STAGE": Ref("Environment"), "APP": self.app}
        if self.buckets:
            env["BUCKET"] = Ref(self.buckets[-1])
        return self.add(lid, "AWS::Lambda::Function", {
            "Runtime": self.rng.choice(["python3.12", "nodejs20.x"]), "Handler": "index.handler",
            "Role": role, "MemorySize": self.rng.choice([128, 256, 1024]), "Timeout": 30,
            "Code": {"ZipFile": "def handler(event, context):\n    return {'statusCode': 200}\n"},
            "Environment": {"Variables": env}, "Tags": self.tags("lambda")})

    # Weighted mix: (method, weight, most resources one call adds). Adders of
    # several resources (bucket + policy, ALB + target group + listeners + WAF
    # association, cluster + instances) have correspondingly lower weights, and
    # are only drawn while they fit, so a template has exactly its target size
    # and no group is cut in half.
    MIX = [
        ("add_bucket", 12, 2), ("add_volume", 8, 1), ("add_instance", 7, 1), ("add_launch_template", 3, 1),
        ("add_security_group", 10, 1), ("add_ingress", 5, 2), ("add_db_instance", 3, 2), ("add_db_cluster", 2, 5),
        ("add_dynamodb", 5, 1), ("add_redshift", 1, 1), ("add_queue", 6, 1), ("add_topic", 5, 1), ("add_efs", 2, 1),
        ("add_cache", 2, 1), ("add_alb", 3, 7), ("add_distribution", 2, 1), ("add_kms_key", 5, 2),
        ("add_guardduty", 1, 1), ("add_role", 5, 1), ("add_log_group", 4, 1), ("add_function", 3, 1),
        ("add_webacl", 1, 1),
    ]

    def build(self, target):
        rng = self.rng
        # Most stacks define a key and a security group first, as real ones do.
        if rng.random() < 0.8:
            self.add_kms_key()
        if rng.random() < 0.7:
            self.add_security_group()
        while len(self.resources) < target:
            room = target - len(self.resources)
            fits = [(m, w) for m, w, most in self.MIX if most <= room]
            getattr(self, rng.choices([m for m, _ in fits], [w for _, w in fits])[0])()
        for k in list(self.resources)[: rng.randint(1, 3)]:
            r = self.resources[k]
            if r["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::DynamoDB::Table"):
                attr = {"AWS::S3::Bucket": "Arn", "AWS::KMS::Key": "Arn", "AWS::SQS::Queue": "Arn",
                        "AWS::SNS::Topic": "TopicArn", "AWS::DynamoDB::Table": "Arn"}[r["Type"]]
                self.outputs[k + attr] = {"Value": GetAtt("%s.%s" % (k, attr)),
                                          "Export": {"Name": Sub("${AWS::StackName}-%s" % k)}}
        doc = {"AWSTemplateFormatVersion": "2010-09-09",
               "Description": "%s stack %05d (generated by deadbolt bench/gen_corpus.py)" % (self.app, self.idx),
               "Parameters": self.params, "Conditions": self.conditions, "Resources": self.resources}
        if self.outputs:
            doc["Outputs"] = self.outputs
        return doc


# ---------------------------------------------------------------------------
# Terraform plans (terraform show -json), a smaller mix.
# ---------------------------------------------------------------------------

def gen_plan(rng, idx, bad_ratio, stats):
    resources, changes, config = [], [], []

    def add(rtype, name, values, bad=False, unknown=None, exprs=None):
        addr = "%s.%s" % (rtype, name)
        resources.append({"address": addr, "mode": "managed", "type": rtype, "name": name,
                          "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
                          "values": values, "sensitive_values": {}})
        changes.append({"address": addr, "mode": "managed", "type": rtype, "name": name,
                        "provider_name": "registry.terraform.io/hashicorp/aws",
                        "change": {"actions": ["create"], "before": None, "after": values,
                                   "after_unknown": unknown or {"id": True, "arn": True},
                                   "before_sensitive": False, "after_sensitive": {}}})
        config.append({"address": addr, "mode": "managed", "type": rtype, "name": name,
                       "provider_config_key": "aws", "expressions": exprs or {}, "schema_version": 0})
        stats.resources += 1
        stats.bad += int(bool(bad))
        stats.by_type[rtype] = stats.by_type.get(rtype, 0) + 1

    n = rng.randint(20, 60)
    i = 0
    add("aws_kms_key", "main", {"description": "main key", "enable_key_rotation": True, "deletion_window_in_days": 30,
                                "policy": None, "customer_master_key_spec": "SYMMETRIC_DEFAULT", "is_enabled": True})
    while len(resources) < n:
        i += 1
        kind = rng.choice(["bucket", "bucket", "volume", "sg", "sg", "db", "queue", "topic", "table", "instance", "rule"])
        bad = rng.random() < bad_ratio
        nm = "%s_%d" % (kind, i)
        if kind == "bucket":
            add("aws_s3_bucket", nm, {"bucket": "app-%05d-%d" % (idx, i), "force_destroy": False, "tags": {"app": "x"}},
                unknown={"id": True, "arn": True, "server_side_encryption_configuration": True})
            add("aws_s3_bucket_server_side_encryption_configuration", nm,
                {"expected_bucket_owner": None,
                 "rule": [{"bucket_key_enabled": True, "apply_server_side_encryption_by_default":
                           [{"sse_algorithm": "AES256" if bad else "aws:kms", "kms_master_key_id": None if bad else ""}]}]},
                bad, unknown={"id": True, "bucket": True},
                exprs={"bucket": {"references": ["aws_s3_bucket.%s.id" % nm, "aws_s3_bucket.%s" % nm]}})
        elif kind == "volume":
            add("aws_ebs_volume", nm, {"availability_zone": "us-east-1a", "size": 100, "type": "gp3",
                                       "encrypted": not bad, "tags": None}, bad)
        elif kind in ("sg", "rule"):
            ing = {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"],
                   "ipv6_cidr_blocks": [], "description": "", "prefix_list_ids": [], "security_groups": [], "self": False}
            if bad:
                ing = dict(ing, from_port=22, to_port=22)
            if kind == "sg":
                add("aws_security_group", nm, {"name": nm, "description": "sg", "ingress": [ing], "tags": None}, bad)
            else:
                add("aws_security_group_rule", nm, {"type": "ingress", "from_port": ing["from_port"],
                                                    "to_port": ing["to_port"], "protocol": "tcp",
                                                    "cidr_blocks": ["0.0.0.0/0"]}, bad,
                    unknown={"id": True, "security_group_id": True})
        elif kind == "db":
            add("aws_db_instance", nm, {"engine": "postgres", "instance_class": "db.t3.medium", "allocated_storage": 20,
                                        "storage_encrypted": not bad, "username": "admin"}, bad)
        elif kind == "queue":
            add("aws_sqs_queue", nm, {"name": nm, "sqs_managed_sse_enabled": not bad, "kms_master_key_id": None}, bad)
        elif kind == "topic":
            add("aws_sns_topic", nm, {"name": nm, "kms_master_key_id": None if bad else "alias/aws/sns"}, bad)
        elif kind == "table":
            add("aws_dynamodb_table", nm, {"name": nm, "billing_mode": "PAY_PER_REQUEST", "hash_key": "pk",
                                           "server_side_encryption": [] if bad else [{"enabled": True, "kms_key_arn": ""}]}, bad)
        elif kind == "instance":
            add("aws_instance", nm, {"ami": "ami-0123456789abcdef0", "instance_type": "t3.micro",
                                     "root_block_device": [{"encrypted": not bad, "volume_size": 20, "volume_type": "gp3"}],
                                     "ebs_block_device": []}, bad,
                unknown={"id": True, "arn": True, "root_block_device": [{"kms_key_id": True}]})
    return {"format_version": "1.2", "terraform_version": "1.7.5",
            "planned_values": {"root_module": {"resources": resources}},
            "resource_changes": changes,
            "configuration": {"provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
                              "root_module": {"resources": config}}}


# ---------------------------------------------------------------------------


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--templates", type=int, default=2000, help="number of templates (default 2000)")
    ap.add_argument("-o", "--out", default=os.path.join(here, "corpus"), help="output directory (default bench/corpus)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--min-resources", type=int, default=20)
    ap.add_argument("--max-resources", type=int, default=60)
    ap.add_argument("--json-ratio", type=float, default=0.3, help="share of templates written as JSON (default 0.3)")
    ap.add_argument("--bad-ratio", type=float, default=0.3, help="share of non-compliant resources (default 0.3)")
    ap.add_argument("--plans", type=int, default=0, help="also write K Terraform plan JSON files (default 0)")
    ap.add_argument("--per-dir", type=int, default=250, help="files per sub-directory (default 250)")
    ap.add_argument("--force", action="store_true", help="empty the output directory first")
    a = ap.parse_args(argv)

    if os.path.exists(a.out) and os.listdir(a.out):
        if not a.force:
            sys.exit("error: %s is not empty (use --force to regenerate)" % a.out)
        shutil.rmtree(a.out)
    os.makedirs(a.out, exist_ok=True)

    rng = random.Random(a.seed)
    stats = Counter()
    n_yaml = n_json = 0
    total_bytes = 0
    for i in range(a.templates):
        # One RNG per template, derived from the corpus seed, so a template does not
        # depend on how many random numbers the previous ones drew.
        trng = random.Random(rng.getrandbits(64))
        gen = TemplateGen(trng, i, a.bad_ratio, stats)
        doc = gen.build(trng.randint(a.min_resources, a.max_resources))
        sub = os.path.join(a.out, "g%03d" % (i // a.per_dir))
        os.makedirs(sub, exist_ok=True)
        if trng.random() < a.json_ratio:
            text = json.dumps(to_json(doc), indent=trng.choice([2, 2, 4])) + "\n"
            path = os.path.join(sub, "t%05d.json" % i)
            n_json += 1
        else:
            header = ["%s stack %05d" % (gen.app, i), "Generated for benchmarking; not a real deployment."]
            text = to_yaml(doc, header)
            path = os.path.join(sub, "t%05d.%s" % (i, "yaml" if trng.random() < 0.8 else "yml"))
            n_yaml += 1
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        total_bytes += len(text.encode("utf-8"))
    cfn_resources = stats.resources

    plan_dir = os.path.join(a.out, "plans")
    for i in range(a.plans):
        prng = random.Random(rng.getrandbits(64))
        os.makedirs(plan_dir, exist_ok=True)
        text = json.dumps(gen_plan(prng, i, a.bad_ratio, stats), indent=2) + "\n"
        with open(os.path.join(plan_dir, "plan%05d.json" % i), "w", encoding="utf-8") as f:
            f.write(text)
        total_bytes += len(text.encode("utf-8"))

    manifest = {
        "generator": "bench/gen_corpus.py",
        "args": {"templates": a.templates, "seed": a.seed, "min_resources": a.min_resources,
                 "max_resources": a.max_resources, "json_ratio": a.json_ratio, "bad_ratio": a.bad_ratio,
                 "plans": a.plans},
        "templates": a.templates, "yaml": n_yaml, "json": n_json, "plans": a.plans,
        "cfn_resources": cfn_resources, "plan_resources": stats.resources - cfn_resources,
        "resources": stats.resources, "noncompliant_resources": stats.bad, "bytes": total_bytes,
        "by_type": dict(sorted(stats.by_type.items())),
    }
    # The manifest is JSON but not a template: name it so scanners skip it (.txt).
    with open(os.path.join(a.out, "corpus-manifest.txt"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote %d templates (%d YAML, %d JSON) and %d plans, %d resources (%d non-compliant), %.1f MB to %s"
          % (a.templates, n_yaml, n_json, a.plans, stats.resources, stats.bad, total_bytes / 1e6, a.out))


if __name__ == "__main__":
    main()
