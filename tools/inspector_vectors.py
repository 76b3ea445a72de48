#!/usr/bin/env python3
"""Extract public version-ordering test vectors into fixtures/inspector/versions/.

The vectors are facts taken from the projects that define each ordering; the
comparison code in src/inspector/version/ is our own. Run with the paths of bare
git mirrors (or checkouts) of the projects:

    python3 tools/inspector_vectors.py --apt APT.git --rpm RPM.git \
        --apk APK_TOOLS.git --packaging PACKAGING.git --semver SEMVER.git

Each output file starts with a comment naming its source (repository, file,
commit). Lines are `A OP B` with OP one of < = > (whitespace separated), or one
version per line for the sorted and invalid lists.
"""
import argparse
import ast
import os
import re
import subprocess

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "inspector", "versions")


def git_show(repo, rev, path):
    return subprocess.run(["git", "--git-dir", repo, "show", f"{rev}:{path}"],
                          check=True, capture_output=True, text=True).stdout


def head(repo):
    return subprocess.run(["git", "--git-dir", repo, "rev-parse", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()


def write(name, header, lines):
    with open(os.path.join(OUT, name), "w") as f:
        for h in header:
            f.write(f"# {h}\n")
        for line in lines:
            f.write(line + "\n")
    print(f"{name}: {len(lines)} cases")


OPS = {"LESS": "<", "EQUAL": "=", "GREATER": ">", "-1": "<", "0": "=", "1": ">"}


def apt(repo):
    rev = head(repo)
    src = git_show(repo, rev, "test/libapt/compareversion_test.cc")
    # Drop the /* disabled ... */ blocks: dpkg rejects those versions.
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    cases = []
    for a, op, b in re.findall(r'EXPECT_VERSION\("([^"]*)",\s*(LESS|EQUAL|GREATER),\s*"([^"]*)"\)', src):
        cases.append(f"{a.strip()} {OPS[op]} {b.strip()}")
    # The historical versions.lst (moved into the test above in 2014).
    old = subprocess.run(["git", "--git-dir", repo, "log", "--format=%H", "-1", "--",
                          "test/libapt/versions.lst"], check=True, capture_output=True,
                         text=True).stdout.strip()
    lst = git_show(repo, old + "^", "test/libapt/versions.lst")
    for line in lst.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        a, b, r = line.split()
        case = f"{a} {OPS[r]} {b}"
        if case not in cases:
            cases.append(case)
    write("debian.txt", [
        "Debian version ordering (dpkg/apt).",
        f"Source: Debian/apt test/libapt/compareversion_test.cc at {rev}",
        f"and test/libapt/versions.lst at {old}^ (EXPECT_VERSION cases outside disabled blocks).",
    ], cases)


def rpm(repo):
    rev = head(repo)
    src = git_show(repo, rev, "tests/rpmvercmp.at")
    cases = []
    for line in src.splitlines():
        m = re.match(r"^RPMVERCMP\(([^,]*), ([^,]*), (-?1|0)\)", line)
        if m:
            cases.append(f"{m.group(1)} {OPS[m.group(3)]} {m.group(2)}")
    write("rpm.txt", [
        "RPM version segment ordering (rpmvercmp).",
        f"Source: rpm-software-management/rpm tests/rpmvercmp.at at {rev}",
        "(active RPMVERCMP lines; the dnl-commented oddities are left out).",
    ], cases)


def apk(repo):
    rev = head(repo)
    src = git_show(repo, rev, "test/unit/version.data")
    cases, valid, invalid = [], [], []
    for line in src.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) == 3:
            cases.append(" ".join(parts))
        elif parts[0].startswith("!"):
            invalid.append(parts[0][1:])
        else:
            valid.append(parts[0])
    write("apk.txt", [
        "Alpine apk version ordering.",
        f"Source: alpinelinux/apk-tools test/unit/version.data at {rev}",
        "OP is as in apk: < = > and ~ (fuzzy), with ! negating; <~ and >~ combine.",
    ], cases)
    write("apk_validity.txt", [
        "Alpine apk version validity: `+V` valid, `-V` invalid.",
        f"Source: alpinelinux/apk-tools test/unit/version.data at {rev}",
    ], [f"+{v}" for v in valid] + [f"-{v}" for v in invalid])


def packaging(repo):
    rev = head(repo)
    src = git_show(repo, rev, "tests/test_version.py")
    tree = ast.parse(src)
    versions, invalid, normalized = None, [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "VERSIONS" for t in node.targets):
            versions = ast.literal_eval(node.value)
        if isinstance(node, ast.FunctionDef) and node.name in (
                "test_invalid_versions", "test_normalized_versions"):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize":
                    try:
                        values = ast.literal_eval(dec.args[1])
                    except ValueError:
                        continue
                    if node.name == "test_invalid_versions":
                        invalid = values
                    else:
                        normalized = values
    header = [f"Source: pypa/packaging tests/test_version.py at {rev}"]
    write("pep440_sorted.txt", ["PEP 440: VERSIONS, in ascending order."] + header, versions)
    write("pep440_invalid.txt", ["PEP 440: test_invalid_versions (one per line, escaped with repr)."] + header,
          [repr(v)[1:-1] for v in invalid])
    write("pep440_normalized.txt", ["PEP 440: test_normalized_versions, as A = B."] + header,
          [f"{a} = {b}" for a, b in normalized if " " not in a])


def semver(repo):
    rev = head(repo)
    spec = git_show(repo, rev, "semver.md")
    cases = []
    # "Example: 1.0.0 < 2.0.0 < 2.1.0 < 2.1.1." and the pre-release chain.
    flat = re.sub(r"\s*\n\s*", " ", spec)
    for m in re.finditer(r"Example: ((?:[0-9A-Za-z.+-]+ < )+[0-9A-Za-z.+-]+?)\.(?:\s|$)", flat):
        chain = [v.strip() for v in m.group(1).split("<")]
        for a, b in zip(chain, chain[1:]):
            cases.append(f"{a} < {b}")
    # Build metadata is ignored in precedence (item 10's examples are equal to their base).
    for v in re.findall(r"(1\.0\.0(?:-[0-9A-Za-z.-]+)?\+[0-9A-Za-z.-]+)", spec):
        base = v.split("+", 1)[0]
        cases.append(f"{v} = {base}")
    cases = list(dict.fromkeys(cases))
    write("semver.txt", [
        "Semantic Versioning 2.0.0 precedence examples (items 10 and 11).",
        f"Source: semver/semver semver.md at {rev}",
    ], cases)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--apt")
    p.add_argument("--rpm")
    p.add_argument("--apk")
    p.add_argument("--packaging")
    p.add_argument("--semver")
    a = p.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if a.apt: apt(a.apt)
    if a.rpm: rpm(a.rpm)
    if a.apk: apk(a.apk)
    if a.packaging: packaging(a.packaging)
    if a.semver: semver(a.semver)


if __name__ == "__main__":
    main()
