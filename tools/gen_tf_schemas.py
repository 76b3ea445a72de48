#!/usr/bin/env python3
"""Generate deadbolt's Terraform AWS provider schema data from @cdktf/provider-aws.

The policy checker (src/schema/terraform.rs) rejects misspelt Terraform
resource types and attribute paths (`r.server_side_encryption_configuratoin`)
with a "did you mean" hint, as it does for CloudFormation. HashiCorp publishes
the whole AWS provider schema, pre-digested, in the `@cdktf/provider-aws` npm
package; this script distils it into one small, deterministic text file that
is embedded into the binary:

  data/terraform/aws.txt   every `aws_*` managed resource with its attributes,
                           nested blocks and scalar types (format below)
  data/terraform/aws.txt.gz  the same, gzipped: what the binary embeds

The file is the union of the provider's last 6.x, 5.x and 4.x releases, so
a plan made by an older provider (RDS `name`, removed in 5.0) is never
rejected; an attribute whose type changed between them (Redshift `encrypted`,
a bool in 4.x, a string in 6.x) is typed `a`.

Usage (stdlib only; the packages are 34, 37 and 88 MB; ~45 s):

  python3 tools/gen_tf_schemas.py       # the pinned DEFAULT_VERSIONS, from registry.npmjs.org
  python3 tools/gen_tf_schemas.py --version 21.22.1 --version 19.65.1
  python3 tools/gen_tf_schemas.py --tarball provider-aws-21.22.1.tgz ...  # `npm pack` output, newest first

Generated from @cdktf/provider-aws 21.22.1 (provider 6.25.0), 19.65.1
(provider 5.99.1) and 12.0.13 (provider 4.62.0).

Left out: cdktf types a few very deep blocks as `any` since provider 5.33
(WAFv2 `rule.statement` of aws_wafv2_web_acl and aws_wafv2_rule_group,
QuickSight `definition`); they stay free-form (unchecked) rather than taking
an older version's tree, which would reject statements added since
(`asn_match_statement`, `ja4_fingerprint`).

Where the facts come from
-------------------------
The package's jsii assembly (`package/.jsii`, JSON, schema "jsii/0.10.0")
gives the structure; its compiled JavaScript (`package/lib/*/index.js`) gives
the exact Terraform names, which cdktf's camelCase cannot always be reversed
to (`selfAttribute` is `self`, `fetchPasswordData` is `get_password_data`,
`addressLine1` is `address_line_1`).

  types[FQN].kind == "class" and .base == "cdktf.TerraformResource"
      one managed resource (data sources have base cdktf.TerraformDataSource
      and are left out: policies judge resources). Its Terraform type is the
      link text of .docs.summary ("Represents a {@link URL aws_s3_bucket}"),
      checked against `terraformResourceType: '...'` in the JavaScript.
  types[FQN].properties[] (not .static)
      the class's getters: every attribute Terraform reports in a plan,
      settable and computed (`arn`, `id`, `tags_all`). A getter `xInput`
      next to a getter `x` is cdktf's echo of the input and is skipped, as
      are cdktf's own `internalValue`, `terraformAttribute`,
      `terraformResource`, `wrapsSet`.
  properties[].type
      {"primitive": "string"|"number"|"boolean"|"any"}, or a union of one with
      "cdktf.IResolvable" -> scalar; {"collection": {"kind": "array",
      "elementtype": primitive}} -> list (sets too); {"collection": {"kind":
      "map"}}, cdktf.StringMap/NumberMap/BooleanMap/AnyMap -> map;
      {"fqn": F} with types[F].base == "cdktf.ComplexList" -> a list of
      blocks whose item is the return type of F's `get` method;
      base "cdktf.ComplexObject" -> a block (or a nested object attribute,
      below); cdktf.IResolvable alone -> any.
  The `config` parameter of the class's initializer (an `XxxConfig` struct)
  and, for a nested OutputReference class, its `internalValue` type name
  the struct whose properties[].docs tell a block ("<name> block.") from a
  nested object attribute (only a "Docs at Terraform Registry" link). The
  anchor of that link (`...#sse_algorithm`) cross-checks the JavaScript name.

In a plan (`terraform show -json`) every block is a JSON list, even one
limited to a single item, while a nested object attribute is a JSON object:
blocks are written `L`, object attributes `O`.

aws.txt format
--------------
Line-oriented, one space of indentation per nesting level:

  # comment                    (the source package and provider version)
  %aws_iam_policy_document     a data source that is not also a resource type:
                               named so the checker can tell a policy that a
                               plan's data sources are not judged
  =N                           start of shared subtree N (its lines follow,
                               indented by one); later `name L=N` / `O=N`
                               use it. Written before first use.
  @aws_s3_bucket               a resource type; its attributes follow
   arn s                       NAME CODE
   cors_rule L                 list of blocks; the item's attributes follow
    allowed_headers ls
   logging L=4                 list of blocks whose item is shared subtree 4

  CODE: s string, n number, b bool, a any (JSON, dynamic), m map (any keys),
        l<code> list or set of scalars (ls, ln, lb, la),
        lm list of maps, L list of blocks, O nested object.

Names within a level are sorted, resources are sorted, so the output is
byte-for-byte reproducible for one package version.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "@cdktf/provider-aws"
REGISTRY = "https://registry.npmjs.org/"

# Subtrees shared by at least this many lines' worth of repetition are written
# once (WAFv2 statements, QuickSight visuals and the like repeat thousands of
# times across resources).
SHARE_MIN_LINES = 2

# The last release for each of the provider's major versions 6, 5 and 4: plans
# made with an older provider keep attributes a newer one removed (RDS `name`,
# ElastiCache `number_cache_clusters`), and a valid path is never rejected.
DEFAULT_VERSIONS = ["21.22.1", "19.65.1", "12.0.13"]

CDKTF_INTERNAL = {"internalValue", "terraformAttribute", "terraformResource", "wrapsSet"}
CDKTF_MAPS = {"cdktf.StringMap", "cdktf.NumberMap", "cdktf.BooleanMap", "cdktf.AnyMap"}
CDKTF_MAP_LISTS = {
    "cdktf.StringMapList",
    "cdktf.NumberMapList",
    "cdktf.BooleanMapList",
    "cdktf.AnyMapList",
}
CDKTF_LIST_LISTS = {"cdktf.StringListList", "cdktf.NumberListList", "cdktf.BooleanListList"}

ACCESSOR = {
    "getStringAttribute": "s",
    "getNumberAttribute": "n",
    "getBooleanAttribute": "b",
    "getListAttribute": "ls",
    "getNumberListAttribute": "ln",
    "getStringMapAttribute": "m",
    "getNumberMapAttribute": "m",
    "getBooleanMapAttribute": "m",
}
SCALAR = {"string": "s", "number": "n", "boolean": "b", "any": "a", "json": "a", "date": "s"}


# --------------------------------------------------------------------------
# fetching


def registry_tarball(version: str | None) -> tuple[bytes, str]:
    """Download the package tarball, verifying the registry's sha512 integrity."""
    meta_url = REGISTRY + PACKAGE.replace("/", "%2F") + "/" + (version or "latest")
    with urllib.request.urlopen(meta_url, timeout=60) as r:
        meta = json.load(r)
    dist = meta["dist"]
    print(f"downloading {dist['tarball']}", file=sys.stderr)
    with urllib.request.urlopen(dist["tarball"], timeout=600) as r:
        data = r.read()
    integrity = dist.get("integrity", "")
    if integrity.startswith("sha512-"):
        got = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if got != integrity[len("sha512-"):]:
            sys.exit(f"{dist['tarball']}: sha512 mismatch (registry says {integrity})")
    return data, meta["version"]


class Package:
    """The .jsii assembly and the getter -> Terraform name map of the JS."""

    def __init__(self, tar_bytes: bytes):
        # class -> getter -> (Terraform name, cdktf accessor or None)
        self.js_names: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.js_types: dict[str, str] = {}
        self.provider_versions: set[str] = set()
        jsii = None
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:gz") as tar:
            for m in tar:
                if m.name == "package/.jsii":
                    jsii = json.load(tar.extractfile(m))
                elif m.name.startswith("package/lib/") and m.name.endswith(".js"):
                    # Large resources keep their block classes in
                    # `index-structs/structsN.js` beside `index.js`.
                    if m.name.startswith("package/lib/data-aws-"):
                        continue
                    self._read_js(tar.extractfile(m).read().decode())
        if jsii is None:
            sys.exit("no package/.jsii in the tarball: not a jsii package")
        if jsii.get("name") != PACKAGE:
            sys.exit(f"the tarball holds {jsii.get('name')!r}, not {PACKAGE}")
        self.jsii = jsii
        self.types: dict = jsii["types"]

    # A class body ends at a line holding only "}" at column 0 in tsc output.
    CLASS_RE = re.compile(r"^class (\w+) extends ([\w.]+) \{$(.*?)^\}$", re.M | re.S)
    GETTER_RE = re.compile(r"^    get (\w+)\(\) \{\n\s*return (.*?);\n    \}$", re.M)
    FIELD_RE = re.compile(r"this\._(\w+) = new [\w.]+\(this, \"(\w+)\"")
    NAME_RE = re.compile(r"this\.(get\w*Attribute|interpolationForAttribute)\('([A-Za-z0-9_]+)'\)")
    TYPE_RE = re.compile(r"terraformResourceType: '([a-z0-9_]+)'")
    PROVIDER_RE = re.compile(r"providerVersion: '([0-9.]+)'")

    def _read_js(self, text: str) -> None:
        for m in self.CLASS_RE.finditer(text):
            cls, base, body = m.group(1), m.group(2), m.group(3)
            fields = dict(self.FIELD_RE.findall(body))
            names: dict[str, str] = {}
            for g in self.GETTER_RE.finditer(body):
                getter, expr = g.group(1), g.group(2)
                n = self.NAME_RE.search(expr)
                if n:
                    names[getter] = (n.group(2), n.group(1))
                else:
                    f = re.fullmatch(r"this\._(\w+)", expr.strip())
                    if f and f.group(1) in fields:
                        names[getter] = (fields[f.group(1)], None)
            self.js_names[cls] = names
            if base == "cdktf.TerraformResource":
                v = self.PROVIDER_RE.search(body)
                if v:
                    self.provider_versions.add(v.group(1))
                t = self.TYPE_RE.search(body)
                if t:
                    self.js_types[cls] = t.group(1)


# --------------------------------------------------------------------------
# walking the assembly

# Docs links: registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/s3_bucket
# in recent packages, www.terraform.io/docs/providers/aws/r/s3_bucket in older ones.
ANCHOR_RE = re.compile(r"\{@link https://\S+#(\w+) ")
RESOURCE_RE = re.compile(r"^Represents a \{@link https://\S+ (aws_\w+)\}")


def camel_to_snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


class Walker:
    def __init__(self, pkg: Package):
        self.pkg = pkg
        self.types = pkg.types
        self.fallback_names: list[str] = []
        self.anchor_mismatch: list[str] = []
        self.depth_cut = 0
        self.memo: dict = {}
        self.cycles: set[str] = set()

    def short(self, fqn: str) -> str:
        return fqn.rsplit(".", 1)[-1]

    def struct_props(self, fqn: str | None) -> dict[str, dict]:
        t = self.types.get(fqn or "")
        if not t or t.get("kind") != "interface":
            return {}
        return {p["name"]: p for p in t.get("properties", [])}

    def js(self, cls_fqn: str, getter: str) -> tuple[str | None, str | None]:
        return self.pkg.js_names.get(self.short(cls_fqn), {}).get(getter, (None, None))

    def tf_name(self, cls_fqn: str, getter: str, struct_prop: dict | None) -> str:
        js = self.js(cls_fqn, getter)[0]
        anchor = None
        if struct_prop is not None:
            docs = struct_prop.get("docs", {})
            m = ANCHOR_RE.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
            anchor = m.group(1) if m else None
        if js and anchor and js != anchor:
            self.anchor_mismatch.append(f"{cls_fqn}.{getter}: js {js}, docs {anchor}")
        if js:
            return js
        if anchor:
            return anchor
        self.fallback_names.append(f"{cls_fqn}.{getter}")
        return camel_to_snake(getter)

    def class_attrs(self, cls_fqn: str, struct_fqn: str | None, depth: int) -> dict | None:
        """NAME -> node for a resource class or a ComplexObject (block item).

        Memoised: one class is one subtree wherever it is used. None for a
        class that (indirectly) contains itself, which becomes `any`.
        """
        key = (cls_fqn, struct_fqn)
        if key in self.memo:
            if self.memo[key] is None:
                self.cycles.add(cls_fqn)
            return self.memo[key]
        self.memo[key] = None
        out = self._class_attrs(cls_fqn, struct_fqn, depth)
        self.memo[key] = out
        return out

    def _class_attrs(self, cls_fqn: str, struct_fqn: str | None, depth: int) -> dict:
        cls = self.types[cls_fqn]
        props = [p for p in cls.get("properties", []) if not p.get("static")]
        getters = {p["name"] for p in props}
        struct = self.struct_props(struct_fqn)
        out: dict = {}
        for p in props:
            g = p["name"]
            if g in CDKTF_INTERNAL and g not in struct:
                continue
            if g.endswith("Input") and g[: -len("Input")] in getters and g not in struct:
                continue
            sp = struct.get(g)
            name = self.tf_name(cls_fqn, g, sp)
            node = self.node(p["type"], sp, depth)
            if node == "a":
                # Computed booleans are typed IResolvable; the JavaScript
                # accessor (getBooleanAttribute) says what they hold.
                node = ACCESSOR.get(self.js(cls_fqn, g)[1], "a")
            if name == "timeouts" and depth == 0 and not isinstance(node, str):
                # A single nested block (SDKv2 and the plugin framework's
                # timeouts package alike): an object in plans, not a list.
                node = ("O", node[1])
            if name in out and out[name] != node:
                sys.exit(f"{cls_fqn}: two getters for attribute {name}")
            out[name] = node
        return out

    def node(self, ty: dict, struct_prop: dict | None, depth: int):
        if depth > 64:
            # The provider's schemas are finite (WAFv2 nests statements three
            # deep); this only guards against a malformed assembly.
            self.depth_cut += 1
            return "a"
        if "primitive" in ty:
            return SCALAR.get(ty["primitive"], "a")
        if "union" in ty:
            members = [m for m in ty["union"]["types"] if m.get("fqn") != "cdktf.IResolvable"]
            if len(members) == 1:
                return self.node(members[0], struct_prop, depth)
            return "a"
        if "collection" in ty:
            c = ty["collection"]
            if c["kind"] == "map":
                return "m"
            el = self.node(c["elementtype"], None, depth + 1)
            if isinstance(el, str):
                return "l" + ("m" if el == "m" else el[0] if el in "snba" else "a")
            return ("L", el[1])  # a list of structs (inputs only)
        fqn = ty.get("fqn", "")
        if fqn in CDKTF_MAPS:
            return "m"
        if fqn in CDKTF_MAP_LISTS:
            return "lm"
        if fqn in CDKTF_LIST_LISTS or fqn == "cdktf.IResolvable":
            return "a"
        t = self.types.get(fqn)
        if t is None:
            return "a"
        base = t.get("base")
        if base == "cdktf.ComplexList":
            get = next((m for m in t.get("methods", []) if m["name"] == "get"), None)
            item_fqn = get["returns"]["type"].get("fqn") if get else None
            if not item_fqn or item_fqn not in self.types:
                return "a"
            item_struct = self.item_struct(item_fqn)
            attrs = self.class_attrs(item_fqn, item_struct, depth + 1)
            return "a" if attrs is None else ("L", attrs)
        if base == "cdktf.ComplexObject":
            attrs = self.class_attrs(fqn, self.item_struct(fqn), depth + 1)
            if attrs is None:
                return "a"
            summary = (struct_prop or {}).get("docs", {}).get("summary", "")
            if struct_prop is not None and not summary.endswith(" block."):
                return ("O", attrs)  # a nested object attribute: an object in plans
            if struct_prop is None:
                # Computed-only: cdktf models computed lists as ComplexList,
                # so a lone ComplexObject is a computed object attribute.
                return ("O", attrs)
            return ("L", attrs)
        if base == "cdktf.ComplexMap":
            return "m"
        if t.get("kind") == "interface":
            return ("O", self.struct_attrs(fqn, depth + 1))
        return "a"

    def struct_attrs(self, fqn: str, depth: int) -> dict:
        out = {}
        for g, p in self.struct_props(fqn).items():
            out[self.tf_name(fqn, g, p)] = self.node(p["type"], p, depth)
        return out

    def item_struct(self, cls_fqn: str) -> str | None:
        """The struct an OutputReference wraps (its `internalValue` type)."""
        for p in self.types[cls_fqn].get("properties", []):
            if p["name"] == "internalValue":
                ty = p["type"]
                cands = ty.get("union", {}).get("types", [ty])
                for c in cands:
                    if c.get("fqn", "").startswith(PACKAGE):
                        return c["fqn"]
        return None

    def resources(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for fqn, t in sorted(self.types.items()):
            if t.get("kind") != "class" or t.get("base") != "cdktf.TerraformResource":
                continue
            m = RESOURCE_RE.search(t.get("docs", {}).get("summary", ""))
            if not m:
                sys.exit(f"{fqn}: no Terraform type in its docs summary")
            tf_type = m.group(1)
            js_type = self.pkg.js_types.get(self.short(fqn))
            if js_type and js_type != tf_type:
                sys.exit(f"{fqn}: docs say {tf_type}, JavaScript says {js_type}")
            params = t.get("initializer", {}).get("parameters", [])
            config = next((p["type"].get("fqn") for p in params if p["name"] == "config"), None)
            if tf_type in out:
                sys.exit(f"{tf_type} defined twice")
            out[tf_type] = self.class_attrs(fqn, config, 0)
        return out

    def data_sources(self) -> set[str]:
        """Names of the data sources (base cdktf.TerraformDataSource)."""
        out = set()
        for fqn, t in self.types.items():
            if t.get("kind") == "class" and t.get("base") == "cdktf.TerraformDataSource":
                m = RESOURCE_RE.search(t.get("docs", {}).get("summary", ""))
                if not m:
                    sys.exit(f"{fqn}: no Terraform type in its docs summary")
                out.add(m.group(1))
        return out


# --------------------------------------------------------------------------
# writing


class Tables:
    """Hash-consed attribute tables: equal subtrees get one id.

    Attribute maps are shared between parents (memoised classes), so the
    schema is a DAG; walking it as a tree would repeat WAFv2's statements
    exponentially. Tables are keyed by tuples of (name, code, child id), which
    hash in time proportional to one level.
    """

    def __init__(self):
        self.ids: dict[tuple, int] = {}
        self.rows: list[tuple] = []
        self.by_dict: dict[int, tuple[int, dict]] = {}

    def intern(self, attrs: dict) -> int:
        hit = self.by_dict.get(id(attrs))
        if hit is not None:
            return hit[0]
        row = []
        for name in sorted(attrs):
            v = attrs[name]
            if isinstance(v, str):
                row.append((name, v, -1))
            else:
                row.append((name, v[0], self.intern(v[1])))
        key = tuple(row)
        tid = self.ids.get(key)
        if tid is None:
            tid = len(self.rows)
            self.ids[key] = tid
            self.rows.append(key)
        self.by_dict[id(attrs)] = (tid, attrs)  # keeps `attrs` alive: ids stay unique
        return tid


class Writer:
    def __init__(self, resources: dict[str, dict]):
        self.tables = Tables()
        self.roots = {k: self.tables.intern(v) for k, v in sorted(resources.items())}
        rows = self.tables.rows
        # Lines a table takes when written out in full, and the attribute paths
        # it holds; children always have smaller ids than their parents.
        self.size = [0] * len(rows)
        self.paths = [0] * len(rows)
        for tid, row in enumerate(rows):
            self.size[tid] = sum(1 + (self.size[c] if c >= 0 else 0) for _, _, c in row)
            self.paths[tid] = sum(1 + (self.paths[c] if c >= 0 else 0) for _, _, c in row)
        self.refs = [0] * len(rows)
        for row in rows:
            for _, _, c in row:
                if c >= 0:
                    self.refs[c] += 1
        self.names: dict[int, int] = {}
        self.lines: list[str] = []

    def attribute_paths(self) -> int:
        return sum(self.paths[t] for t in self.roots.values())

    def shared(self, tid: int) -> bool:
        return self.refs[tid] > 1 and self.size[tid] >= SHARE_MIN_LINES

    def define(self, tid: int) -> int:
        """Write shared table `tid` (and the shared tables inside it) first."""
        if tid in self.names:
            return self.names[tid]
        body: list[str] = []
        self._body(tid, 1, body)
        n = len(self.names)
        self.names[tid] = n
        self.lines.append(f"={n}")
        self.lines.extend(body)
        return n

    def _body(self, tid: int, depth: int, out: list[str]) -> None:
        pad = " " * depth
        for name, code, child in self.tables.rows[tid]:
            if child < 0:
                out.append(f"{pad}{name} {code}")
            elif self.shared(child):
                out.append(f"{pad}{name} {code}={self.define(child)}")
            else:
                out.append(f"{pad}{name} {code}")
                self._body(child, depth + 1, out)

    def write(self, header: list[str], data_sources: list[str]) -> str:
        self.lines = ["# " + h for h in header]
        self.lines.extend("%" + d for d in data_sources)
        for rtype, tid in self.roots.items():
            body: list[str] = []
            self._body(tid, 1, body)
            self.lines.append("@" + rtype)
            self.lines.extend(body)
        return "\n".join(self.lines) + "\n"


def merge(newer: dict, older: dict, memo: dict) -> dict:
    """Union of two attribute maps; the newer version's shape wins ties."""
    key = (id(newer), id(older))
    if key in memo:
        return memo[key][0]
    out = dict(newer)
    for name, old in older.items():
        new = out.get(name)
        if new is None:
            out[name] = old
        elif isinstance(new, str) or isinstance(old, str):
            if new != old:
                # The attribute changed shape between versions (a list of
                # strings that became a block, a number that became a
                # string): either may be in a plan, so nothing is assumed.
                out[name] = "a"
        elif new[1] is not old[1]:
            out[name] = (new[0], merge(new[1], old[1], memo))
    memo[key] = (out, newer, older)
    return out


def load_version(
    tarball: Path | None, version: str | None
) -> tuple[Package, dict, set[str], str]:
    data = tarball.read_bytes() if tarball else registry_tarball(version)[0]
    pkg = Package(data)
    walker = Walker(pkg)
    resources = walker.resources()
    if walker.anchor_mismatch:
        sys.exit("JavaScript and docs disagree on names:\n  " + "\n  ".join(walker.anchor_mismatch[:20]))
    if len(pkg.provider_versions) != 1:
        sys.exit(f"expected one provider version in the package, found {sorted(pkg.provider_versions)}")
    provider = next(iter(pkg.provider_versions))
    print(
        f"{PACKAGE} {pkg.jsii['version']} (provider {provider}): {len(resources)} resources, "
        f"{Writer(resources).attribute_paths()} attribute paths, "
        f"{len(walker.fallback_names)} names by camelCase fallback, "
        f"{len(walker.cycles)} self-containing classes",
        file=sys.stderr,
    )
    for f in walker.fallback_names[:20]:
        print("  fallback name:", f, file=sys.stderr)
    return pkg, resources, walker.data_sources(), provider


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument(
        "--tarball", type=Path, action="append", help="a provider-aws .tgz from `npm pack`, newest first"
    )
    src.add_argument("--version", action="append", help="package versions to download, newest first")
    ap.add_argument("--out", type=Path, default=here / "data" / "terraform" / "aws.txt")
    args = ap.parse_args()

    sources = [(t, None) for t in args.tarball or []] or [
        (None, v) for v in args.version or DEFAULT_VERSIONS
    ]
    merged: dict = {}
    memo: dict = {}
    data_sources: set[str] = set()
    provenance = []
    for tarball, version in sources:
        pkg, resources, data, provider = load_version(tarball, version)
        data_sources |= data
        for rtype, attrs in resources.items():
            merged[rtype] = merge(merged[rtype], attrs, memo) if rtype in merged else attrs
        provenance.append(f"provider {provider} ({PACKAGE} {pkg.jsii['version']})")
    header = [
        "Terraform AWS provider resource schemas: the union of " + ", ".join(provenance),
        "generated by tools/gen_tf_schemas.py; do not edit (format in the tool's docstring)",
    ]
    writer = Writer(merged)
    text = writer.write(header, sorted(data_sources - set(merged)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    # The binary embeds the gzip (0.1 MB instead of 0.5 MB); the text is what
    # reviewers read, and a unit test keeps the two identical.
    gz = args.out.with_name(args.out.name + ".gz")
    gz.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
    print(f"{gz}: {gz.stat().st_size} bytes", file=sys.stderr)
    print(
        f"{args.out}: {len(text.encode())} bytes; {len(merged)} resources, "
        f"{writer.attribute_paths()} attribute paths",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
