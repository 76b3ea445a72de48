#!/usr/bin/env python3
"""Generate deadbolt's CloudFormation schema data from a cfn-lint wheel.

The policy checker (src/schema) needs to know which resource types exist and
which properties a resource accepts, so it can reject misspelt names with a
"did you mean" hint. The public CloudFormation resource-provider schemas ship
inside the `cfn-lint` wheel on PyPI; this script distils them into two small,
deterministic files that are embedded into the binary with `include_str!`:

  data/cfn/types.txt        every resource type name, sorted, one per line
  data/cfn/properties.json  property trees + GetAtt attributes of the COVERED
                            types (compact, sorted keys)

Usage (stdlib only):

  pip download --no-deps -d /tmp/cfnlint cfn-lint
  python3 tools/gen_cfn_schemas.py /tmp/cfnlint/cfn_lint-*.whl
  # or the path of an unpacked wheel directory

properties.json shape:

  {"_source": {"package": "cfn-lint", "version": "...", "schema_date": "..."},
   "AWS::EC2::Volume": {"props": {NAME: NODE, ...}, "attrs": ["VolumeId"]}}

  NODE = {"t": "string"|"boolean"|"integer"|"number"|"array"|"object"|"any",
          "p": {NAME: NODE}   object properties (of the item, for arrays);
                              absent => free-form (policy documents, maps)
          "i": TYPE           item type, arrays only
          "o": 1              object has named properties but also accepts
                              others (additionalProperties/patternProperties)}

Read-only properties are left out of "props" (CloudFormation rejects them in
templates) and listed instead under "attrs" in GetAtt form ("Endpoint.Port").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

# Types whose property trees are embedded. The brief's list, plus neighbours
# that policies on encryption at rest/in transit, KMS, WAF, GuardDuty and
# network exposure routinely need.
COVERED = [
    # storage
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::S3::AccessPoint",
    "AWS::EFS::FileSystem",
    "AWS::Backup::BackupVault",
    "AWS::ECR::Repository",
    # compute
    "AWS::EC2::Volume",
    "AWS::EC2::Instance",
    "AWS::EC2::LaunchTemplate",
    "AWS::AutoScaling::LaunchConfiguration",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::Lambda::Function",
    "AWS::Lambda::Url",
    "AWS::EKS::Cluster",
    "AWS::SageMaker::NotebookInstance",
    # networking
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::NetworkAcl",
    "AWS::EC2::NetworkAclEntry",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::Subnet",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SubnetNetworkAclAssociation",
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::VPCPeeringConnection",
    "AWS::EC2::FlowLog",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::NetworkInterface",
    "AWS::EC2::TransitGateway",
    "AWS::NetworkFirewall::Firewall",
    # load balancing / edge / TLS
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancing::LoadBalancer",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::ApiGateway::DomainName",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::CertificateManager::Certificate",
    "AWS::Transfer::Server",
    # databases / caches
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBProxy",
    "AWS::RDS::DBParameterGroup",
    "AWS::RDS::DBClusterParameterGroup",
    "AWS::DocDB::DBCluster",
    "AWS::Neptune::DBCluster",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::DAX::Cluster",
    "AWS::Redshift::Cluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::CacheCluster",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    # messaging / streaming
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::Kinesis::Stream",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::MSK::Cluster",
    # keys / secrets
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::KMS::ReplicaKey",
    "AWS::SecretsManager::Secret",
    # WAF / detection / audit
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::IPSet",
    "AWS::WAFv2::RuleGroup",
    "AWS::WAFv2::RegexPatternSet",
    "AWS::WAFv2::LoggingConfiguration",
    "AWS::GuardDuty::Detector",
    "AWS::GuardDuty::Filter",
    "AWS::CloudTrail::Trail",
    "AWS::Logs::LogGroup",
    "AWS::Athena::WorkGroup",
    # identity
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::User",
    "AWS::IAM::InstanceProfile",
    # in-transit, certificate, secret and edge-protection checks (issue 14)
    "AWS::Redshift::ClusterParameterGroup",
    "AWS::ElasticLoadBalancingV2::ListenerCertificate",
    "AWS::IAM::ServerCertificate",
    "AWS::IAM::AccessKey",
    "AWS::ECS::TaskDefinition",
    "AWS::SSM::Parameter",
    "AWS::CodeBuild::Project",
    "AWS::Shield::Protection",
    "AWS::DirectoryService::MicrosoftAD",
    "AWS::DirectoryService::SimpleAD",
    "AWS::DMS::Endpoint",
    "AWS::AmazonMQ::Broker",
]

SCHEMA_PREFIX = "cfnlint/data/schemas/"


class Source:
    """Read-only view of the wheel's schema files (zip or unpacked dir)."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None
        if self.zip is None and not (path / SCHEMA_PREFIX).is_dir():
            sys.exit(f"{path}: no {SCHEMA_PREFIX} inside; pass a cfn-lint wheel")

    def names(self, under: str) -> list[str]:
        """Relative names of files directly below `under` (non-recursive)."""
        prefix = SCHEMA_PREFIX + under.rstrip("/") + "/"
        if self.zip is not None:
            out = []
            for n in self.zip.namelist():
                if n.startswith(prefix) and "/" not in n[len(prefix):]:
                    out.append(n[len(prefix):])
            return sorted(out)
        d = self.path / prefix
        return sorted(p.name for p in d.iterdir() if p.is_file()) if d.is_dir() else []

    def read(self, rel: str) -> bytes:
        full = SCHEMA_PREFIX + rel
        if self.zip is not None:
            return self.zip.read(full)
        return (self.path / full).read_bytes()

    def json(self, rel: str):
        return json.loads(self.read(rel))

    def version(self) -> str:
        """cfn-lint version from the dist-info METADATA."""
        if self.zip is not None:
            metas = [n for n in self.zip.namelist() if n.endswith(".dist-info/METADATA")]
            text = self.zip.read(metas[0]).decode() if metas else ""
        else:
            metas = sorted(self.path.glob("*.dist-info/METADATA"))
            text = metas[0].read_text() if metas else ""
        m = re.search(r"^Version:\s*(\S+)", text, re.M)
        if m:
            return m.group(1)
        m = re.search(r"cfn_lint-([^-]+)-", self.path.name)
        return m.group(1) if m else "unknown"


def load_schemas(src: Source) -> tuple[list[str], dict[str, str]]:
    """Return (all type names, us-east-1 type -> schema file) for either layout.

    Recent cfn-lint (1.58 here) stores `providers/<region>.json` (type -> hash) plus
    deduplicated `resources/<hash>.json`; older wheels ship one directory per
    region (`providers/us_east_1/aws-ec2-volume.json`).
    """
    all_types: set[str] = set()
    us_east: dict[str, str] = {}
    provider_files = [n for n in src.names("providers") if n.endswith(".json")]
    if provider_files:
        # Union over every region (and SAM's AWS::Serverless::*): a type only
        # offered in, say, eu-central-1 is still a real type, not a typo.
        for name in provider_files:
            mapping = src.json("providers/" + name)
            all_types.update(mapping)
            if name == "us-east-1.json":
                us_east = {t: "resources/%s.json" % h for t, h in mapping.items()}
    else:
        regions = [
            n for n in _subdirs(src, "providers") if n not in ("__pycache__",)
        ]
        for region in regions:
            for fname in src.names("providers/" + region):
                if not fname.endswith(".json") or fname.startswith("_"):
                    continue
                rel = "providers/%s/%s" % (region, fname)
                type_name = src.json(rel).get("typeName")
                if not type_name:
                    continue
                all_types.add(type_name)
                if region == "us_east_1":
                    us_east[type_name] = rel
    if not us_east:
        sys.exit("no us-east-1 provider schemas found")
    return sorted(all_types), us_east


def _subdirs(src: Source, under: str) -> list[str]:
    prefix = SCHEMA_PREFIX + under + "/"
    if src.zip is not None:
        dirs = set()
        for n in src.zip.namelist():
            if n.startswith(prefix):
                rest = n[len(prefix):]
                if "/" in rest:
                    dirs.add(rest.split("/", 1)[0])
        return sorted(dirs)
    d = src.path / prefix
    return sorted(p.name for p in d.iterdir() if p.is_dir())


def resolve_pointer(doc: dict, ref: str):
    """Resolve a local JSON pointer ("#/definitions/Tag"); None if not local."""
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def simple_type(t) -> str | None:
    """Collapse a JSON-schema `type` to one of our names.

    A list such as ["object", "string"] means "the real type, or a string form
    of it" in CFN schemas, so the non-string member wins; several non-string
    members means anything goes.
    """
    if t is None:
        return None
    if isinstance(t, str):
        return t if t in ("string", "boolean", "integer", "number", "array", "object") else "any"
    if isinstance(t, list):
        rest = sorted({x for x in t if x not in ("string", "null")})
        if not rest:
            return "string" if "string" in t else "any"
        if len(rest) == 1:
            return simple_type(rest[0])
        if rest == ["integer", "number"]:
            return "number"
        return "any"
    return "any"


class Builder:
    def __init__(self, doc: dict):
        self.doc = doc

    def node(self, schema, stack: tuple[str, ...]) -> dict:
        """Compact NODE for `schema`; `stack` holds $refs being expanded."""
        schema, stack, cyclic = self.deref(schema, stack)
        if cyclic or not isinstance(schema, dict):
            # Cycle (e.g. WAFv2 nested statements): stop expanding; the node
            # becomes free-form below this point rather than looping.
            t = simple_type(schema.get("type")) if isinstance(schema, dict) else None
            return {"t": t or "any"}
        props, open_, t = self.collect(schema, stack)
        if t is None:
            t = "object" if props else ("array" if "items" in schema else "any")
        out: dict = {"t": t}
        if t == "array":
            items = schema.get("items")
            if isinstance(items, dict):
                item = self.node(items, stack)
                out["i"] = item["t"]
                if "p" in item:
                    out["p"] = item["p"]
                if "o" in item:
                    out["o"] = 1
            else:
                out["i"] = "any"
        elif t == "object" and (props or not open_ and _closed_empty(schema)):
            # A closed object with no properties (WAF's `Count: {}`) keeps an
            # empty "p" so a stray key under it is still reported.
            out["p"] = props
            if open_:
                out["o"] = 1
        return out

    def deref(self, schema, stack):
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in stack:
                return self.resolve_or_empty(ref), stack, True
            target = resolve_pointer(self.doc, ref)
            if target is None:
                return {}, stack, False
            # Sibling keywords next to $ref (rare) are merged over the target.
            merged = dict(target)
            merged.update({k: v for k, v in schema.items() if k != "$ref"})
            schema = merged
            stack = stack + (ref,)
            seen += 1
            if seen > 64:
                return {}, stack, True
        return schema, stack, False

    def resolve_or_empty(self, ref):
        target = resolve_pointer(self.doc, ref)
        return target if isinstance(target, dict) else {}

    def collect(self, schema: dict, stack) -> tuple[dict, bool, str | None]:
        """Properties of an object schema, merged across oneOf/anyOf/allOf."""
        t = simple_type(schema.get("type"))
        props: dict = {}
        open_ = bool(schema.get("patternProperties")) or schema.get(
            "additionalProperties", False
        ) not in (False, None)
        for name, sub in sorted((schema.get("properties") or {}).items()):
            props[name] = self.node(sub, stack)
        for key in ("allOf", "oneOf", "anyOf"):
            for branch in schema.get(key) or []:
                branch, bstack, cyclic = self.deref(branch, stack)
                if cyclic or not isinstance(branch, dict):
                    continue
                bprops, bopen, bt = self.collect(branch, bstack)
                for name, n in bprops.items():
                    props.setdefault(name, n)
                if bprops and bopen:
                    open_ = True
                if t is None and bt is not None:
                    t = bt
        if t is None and props:
            t = "object"
        return props, open_, t


def _closed_empty(schema: dict) -> bool:
    return schema.get("additionalProperties") is False and not any(
        k in schema for k in ("patternProperties", "oneOf", "anyOf", "allOf")
    )


def strip_readonly(props: dict, pointers: list[str]) -> None:
    """Drop read-only properties: CloudFormation rejects them in templates."""
    for ptr in pointers:
        parts = ptr.split("/")[2:]  # "/properties/A/B" -> [A, B]
        if "*" not in parts:
            _remove(props, parts)


def _remove(props: dict, parts: list[str]) -> bool:
    """Remove the property at `parts`; True if `props` was emptied by it.

    An object left with no settable property is dropped too (e.g. RDS
    Endpoint), but only when the removal emptied it: objects that were empty
    by design stay.
    """
    head = parts[0]
    if head not in props:
        return False
    if len(parts) == 1:
        del props[head]
        return not props
    child = props[head]
    if "p" in child and _remove(child["p"], parts[1:]) and "o" not in child:
        del props[head]
        return not props
    return False


def attrs_of(schema: dict) -> list[str]:
    out = []
    for ptr in schema.get("readOnlyProperties") or []:
        # GetAtt can't address array members, so "A/*/B" pointers are skipped.
        if ptr.startswith("/properties/") and "/*" not in ptr:
            out.append(".".join(ptr[len("/properties/"):].split("/")))
    return sorted(set(out))


def build(src: Source, out_dir: Path) -> None:
    all_types, us_east = load_schemas(src)
    missing = [t for t in COVERED if t not in us_east]
    if missing:
        sys.exit("covered types missing from schemas: " + ", ".join(missing))

    schema_date = ""
    try:
        schema_date = src.json("version.json").get("schema_date", "")
    except (KeyError, FileNotFoundError, ValueError):
        pass

    result: dict = {
        "_source": {"package": "cfn-lint", "version": src.version(), "schema_date": schema_date}
    }
    for type_name in sorted(COVERED):
        schema = src.json(us_east[type_name])
        builder = Builder(schema)
        props = {
            name: builder.node(sub, ())
            for name, sub in sorted((schema.get("properties") or {}).items())
        }
        strip_readonly(props, schema.get("readOnlyProperties") or [])
        result[type_name] = {"props": props, "attrs": attrs_of(schema)}

    out_dir.mkdir(parents=True, exist_ok=True)
    types_path = out_dir / "types.txt"
    types_path.write_text("".join(t + "\n" for t in all_types))
    props_path = out_dir / "properties.json"
    props_path.write_text(json.dumps(result, sort_keys=True, separators=(",", ":")) + "\n")
    for p in (types_path, props_path):
        print("%s: %d bytes" % (p, p.stat().st_size))
    print("types: %d, covered: %d, cfn-lint %s" % (len(all_types), len(COVERED), src.version()))


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wheel", type=Path, help="cfn-lint .whl file or unpacked wheel directory")
    ap.add_argument("--out", type=Path, default=here / "data" / "cfn", help="output directory")
    args = ap.parse_args()
    build(Source(args.wheel), args.out)


if __name__ == "__main__":
    main()
