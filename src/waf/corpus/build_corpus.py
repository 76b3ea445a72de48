#!/usr/bin/env python3
"""Builds the bundled WAF corpora (attacks.jsonl, benign.jsonl) from public
attack corpora. Run from the repository root with the sources checked out
(the defaults are the mirrors deadbolt's developers use):

    python3 src/waf/corpus/build_corpus.py \
        --libinjection PATH/libinjection --payloads PATH/PayloadsAllTheThings \
        --crs PATH/coreruleset

Sources (all public; see README.md here for licences):
  - libinjection data/sqli-*.txt, data/xss-*.txt, data/false_positives.txt
  - PayloadsAllTheThings: Directory Traversal/Intruder/*.txt, CVE Exploits/Log4Shell.md
  - OWASP CRS tests/regression/tests (942100 SQLi, 941100 XSS, 930100/930110 LFI,
    944150 Log4j), rules/scanners-user-agents.data

Output is deterministic (seeded). Requests are spread one second apart and
come from distinct documentation addresses, so rate-based rules do not fire
on the corpora themselves.
"""
import argparse
import json
import os
import random
import re
import subprocess
import urllib.parse

try:
    import yaml
except ImportError:  # CRS tests are YAML
    yaml = None

MIRROR = "/work/.mirror"
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "JP", "BR", "IN", "NL", "SE", "IE", "ES", "IT", "MX"]
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
]
HOST = "shop.example.com"


def git_show(repo, path):
    gitdir = os.path.join(repo, "repo") if os.path.isdir(os.path.join(repo, "repo")) else repo
    return subprocess.check_output(["git", "--git-dir", gitdir, "show", f"HEAD:{path}"])


def git_ls(repo, prefix):
    gitdir = os.path.join(repo, "repo") if os.path.isdir(os.path.join(repo, "repo")) else repo
    out = subprocess.check_output(["git", "--git-dir", gitdir, "ls-tree", "-r", "--name-only", "HEAD", prefix])
    return out.decode().split("\n")


def data_lines(blob):
    for line in blob.decode("utf-8", "replace").split("\n"):
        line = line.rstrip("\r")
        if line and not line.startswith("#"):
            yield line


class Builder:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.n = 0

    def request(self, rid, method="GET", uri="/", args="", headers=None, body=None, ua=None):
        self.n += 1
        n = self.n
        # 203.0.113.0/24, 198.51.100.0/24 and 192.0.2.0/24 are documentation ranges.
        blocks = ["203.0.113", "198.51.100", "192.0.2"]
        ip = f"{blocks[n % 3]}.{(n // 3) % 250 + 2}"
        hs = [{"name": "Host", "value": HOST}]
        if ua is not False:
            hs.append({"name": "User-Agent", "value": ua or self.rng.choice(BROWSERS)})
        hs.append({"name": "Accept", "value": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
        hs.append({"name": "Accept-Language", "value": "en-US,en;q=0.9"})
        hs.extend(headers or [])
        r = {
            "id": rid,
            "timestamp": T0 + n * 1000,
            "clientIp": ip,
            "country": COUNTRIES[n % len(COUNTRIES)],
            "httpMethod": method,
            "uri": uri,
            "args": args,
            "httpVersion": "HTTP/1.1",
            "headers": hs,
        }
        if body is not None:
            r["body"] = body
        return r


def form_encode(text):
    return urllib.parse.quote_plus(text, safe="")


def query_safe(encoded):
    """A payload line that is (partly) URL-encoded, made safe as a query value:
    raw separators and spaces are encoded, existing escapes are kept."""
    return "".join(c if c not in " &#+\"<>`{}|\\^" or c == "%" else urllib.parse.quote(c, safe="") for c in encoded)


def crs_tests(crs, rule_ids):
    out = []
    if yaml is None:
        return out
    for path in git_ls(crs, "tests/regression/tests"):
        base = os.path.basename(path)
        if not base.endswith(".yaml") or base[:-5] not in rule_ids:
            continue
        doc = yaml.safe_load(git_show(crs, path))
        for t in doc.get("tests", []):
            for st in t.get("stages", []):
                inp = st.get("input", {})
                out_ = st.get("output", {})
                log = out_.get("log", {}) if isinstance(out_, dict) else {}
                expect = bool(log.get("expect_ids"))
                if inp.get("encoded_request") or inp.get("raw_request"):
                    continue
                out.append((base[:-5], t.get("test_id"), inp, expect))
    return out


def from_crs(b, rid, inp):
    uri = str(inp.get("uri", "/"))
    path, _, query = uri.partition("?")
    headers = []
    ua = None
    for k, v in (inp.get("headers") or {}).items():
        if k.lower() == "host":
            continue
        if k.lower() == "user-agent":
            ua = str(v) if v else None
            continue
        headers.append({"name": str(k), "value": str(v)})
    if ua == "OWASP CRS test agent" or ua is None:
        ua = None
    data = inp.get("data")
    if isinstance(data, list):
        data = "\r\n".join(str(d) for d in data)
    method = str(inp.get("method", "GET")).upper()
    return b.request(rid, method=method, uri=path or "/", args=query, headers=headers,
                     body=None if data is None else str(data), ua=ua)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--libinjection", default=f"{MIRROR}/libinjection+libinjection")
    ap.add_argument("--payloads", default=f"{MIRROR}/swisskyrepo+PayloadsAllTheThings")
    ap.add_argument("--crs", default=f"{MIRROR}/coreruleset+coreruleset")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--filter-with", metavar="DEADBOLT",
                    help="keep only requests the reference web ACL (fixtures/waf/acl/reference.yaml) decides "
                         "as their corpus says (attacks blocked, benign allowed), using this deadbolt binary")
    a = ap.parse_args()
    b = Builder(a.seed)
    rng = b.rng
    attacks = []

    # SQL injection: libinjection's data, in a query argument, a form body, a
    # JSON body and a cookie.
    sqli = []
    for path in git_ls(a.libinjection, "data"):
        name = os.path.basename(path)
        if name.startswith("sqli-") and name not in ("sqli-forums.txt", "sqli-wordpress_rbarnett.txt"):
            try:
                sqli.extend(data_lines(git_show(a.libinjection, path)))
            except subprocess.CalledProcessError:
                pass
    sqli = [s for s in sqli if len(s) < 300]
    for i, p in enumerate(rng.sample(sqli, 80)):
        decoded = urllib.parse.unquote_plus(p)
        where = i % 4
        rid = f"sqli-{i + 1:03d}"
        if where == 0:
            attacks.append(b.request(rid, uri="/products", args="id=" + query_safe(p)))
        elif where == 1:
            attacks.append(b.request(rid, method="POST", uri="/login", body="username=" + form_encode(decoded) + "&password=secret",
                                     headers=[{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}]))
        elif where == 2:
            attacks.append(b.request(rid, method="POST", uri="/api/search", body=json.dumps({"query": decoded, "page": 1}),
                                     headers=[{"name": "Content-Type", "value": "application/json"}]))
        else:
            attacks.append(b.request(rid, uri="/account", headers=[{"name": "Cookie", "value": "session=" + query_safe(p)}]))

    # XSS: libinjection's data, in a query argument and a form body.
    xss = []
    for path in git_ls(a.libinjection, "data"):
        name = os.path.basename(path)
        if name.startswith("xss-"):
            try:
                xss.extend(data_lines(git_show(a.libinjection, path)))
            except subprocess.CalledProcessError:
                pass
    xss = [s for s in xss if len(s) < 300]
    for i, p in enumerate(rng.sample(xss, 60)):
        decoded = urllib.parse.unquote_plus(p)
        rid = f"xss-{i + 1:03d}"
        if i % 2 == 0:
            attacks.append(b.request(rid, uri="/search", args="q=" + query_safe(p)))
        else:
            attacks.append(b.request(rid, method="POST", uri="/reviews", body="rating=5&comment=" + form_encode(decoded),
                                     headers=[{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}]))

    # Path traversal: PayloadsAllTheThings intruder lists, in a file parameter.
    trav = []
    for path in ["Directory Traversal/Intruder/directory_traversal.txt", "Directory Traversal/Intruder/deep_traversal.txt",
                 "File Inclusion/Intruders/Traversal.txt"]:
        try:
            trav.extend(data_lines(git_show(a.payloads, path)))
        except subprocess.CalledProcessError:
            pass
    trav = [t for t in trav if ".." in urllib.parse.unquote(urllib.parse.unquote(t.replace("%%", "%")))]
    for i, p in enumerate(rng.sample(trav, 40)):
        attacks.append(b.request(f"traversal-{i + 1:03d}", uri="/download", args="file=" + query_safe(p)))

    # Log4Shell-style lookups: PayloadsAllTheThings, in headers and a query argument.
    md = git_show(a.payloads, "CVE Exploits/Log4Shell.md").decode("utf-8", "replace")
    lookups = sorted(set(m.strip() for m in re.findall(r"(\$\{[^\s`'\"]+\})", md) if "jndi" in m.lower() or "::-" in m))
    lookups = [l.replace("[ATTACKER.DOMAIN.TLD]", "attacker.example").replace("10.10.10.10", "attacker.example") for l in lookups]
    for i, p in enumerate(lookups[:24]):
        rid = f"log4shell-{i + 1:03d}"
        k = i % 3
        if k == 0:
            attacks.append(b.request(rid, uri="/", headers=[{"name": "X-Api-Version", "value": p}]))
        elif k == 1:
            attacks.append(b.request(rid, uri="/", ua=p))
        else:
            attacks.append(b.request(rid, uri="/search", args="q=" + urllib.parse.quote(p, safe="")))

    # Bad bots: scanners' real user agents (names from CRS scanners-user-agents.data).
    bots = [
        "sqlmap/1.7.2#stable (https://sqlmap.org)",
        "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000562)",
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
        "Mozilla/5.0 zgrab/0.x",
        "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
        "gobuster/3.6",
        "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
        "Fuzz Faster U Fool v2.1.0-dev",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.84 Safari/537.36 Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.169 Safari/537.36 Acunetix-Product",
        "Mozilla/5.0 (compatible; Netsparker)",
        "w3af.org",
        "Havij",
        "Arachni/v1.5.1",
        "commix/v3.8 (https://commixproject.com)",
        "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1; OpenVAS)",
        "feroxbuster/2.10.2",
        "fimap.googlecode.com",
        "Morfeus Fucking Scanner",
    ]
    for i, ua in enumerate(bots):
        attacks.append(b.request(f"badbot-{i + 1:03d}", uri=rng.choice(["/", "/wp-login.php", "/admin", "/.env", "/robots.txt"]), ua=ua))
    for i in range(4):
        attacks.append(b.request(f"badbot-noua-{i + 1:03d}", uri="/", ua=False))

    # CRS regression tests (realistic requests) for SQLi, XSS, LFI and Log4j.
    for rule, tid, inp, expect in crs_tests(a.crs, {"942100", "941100", "930100", "930110", "944150"}):
        if expect:
            attacks.append(from_crs(b, f"crs-{rule}-{tid}", inp))

    benign = []
    # Ordinary customer traffic, including the tricky-but-benign.
    pages = ["/", "/products", "/products/4711", "/cart", "/checkout", "/about", "/contact", "/help/returns",
             "/blog/2024/05/summer-sale", "/static/css/main.css", "/static/js/app.js", "/images/logo.png",
             "/robots.txt", "/sitemap.xml", "/favicon.ico"]
    for i, p in enumerate(pages):
        benign.append(b.request(f"page-{i + 1:03d}", uri=p))
    searches = ["O'Brien", "Levi's 501", "rock 'n' roll t-shirt", "kids' shoes size 10", "women's running shoes",
                "\"exact phrase\" search", "drop-down menu", "select a size", "union jack flag", "1/2 price deals",
                "50% off", "café au lait mug", "naïve art print", "Ölkännchen", "東京 guide", "C# for beginners",
                "AT&T phone case", "table & chairs", "order by price", "where to buy", "-- dashes --", "x=1 y=2 poster",
                "100% cotton", "<3 valentine card", "delete key keyboard", "1 or 2 person tent", "and/or logic book"]
    for i, q in enumerate(searches):
        benign.append(b.request(f"search-{i + 1:03d}", uri="/search", args="q=" + urllib.parse.quote_plus(q) + "&sort=relevance"))
    names = ["Seán O'Connor", "D'Angelo Russell", "Anne-Marie Smith-Jones", "José Müller", "Zoë Ødegaard", "Mary O'Neil-Brown"]
    for i, n in enumerate(names):
        body = "first=" + form_encode(n.split(" ")[0]) + "&last=" + form_encode(" ".join(n.split(" ")[1:])) + "&email=" + form_encode(f"user{i}@example.com")
        benign.append(b.request(f"signup-{i + 1:03d}", method="POST", uri="/signup", body=body,
                                headers=[{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}]))
    passwords = ["p@ss'w0rd!", "Tr0ub4dor&3", "correct horse battery staple", "S3cr3t--2024", "a\"b'c;d"]
    for i, pw in enumerate(passwords):
        benign.append(b.request(f"login-{i + 1:03d}", method="POST", uri="/api/login",
                                body=json.dumps({"email": f"shopper{i}@example.com", "password": pw, "remember": True}),
                                headers=[{"name": "Content-Type", "value": "application/json"}]))
    orders = [
        {"items": [{"sku": "TSHIRT-RED-M", "qty": 2}, {"sku": "MUG-001", "qty": 1}], "coupon": "SUMMER24", "note": "Please leave at the neighbour's door"},
        {"items": [{"sku": "BOOK-SQL-101", "qty": 1}], "gift": True, "message": "Happy birthday! Don't read it all at once ;)"},
        {"address": {"line1": "12 O'Connell St", "city": "Dublin", "postcode": "D01 F5P2"}, "shipping": "express"},
        {"review": {"stars": 4, "title": "Good, but...", "text": "Select the larger size - they run small. 5/5 for colour & fit."}},
        {"query": "{ product(id: 4711) { name price reviews(first: 3) { stars } } }"},
    ]
    for i, o in enumerate(orders):
        benign.append(b.request(f"api-{i + 1:03d}", method="POST", uri="/api/orders" if i < 3 else "/api/graphql",
                                body=json.dumps(o), headers=[{"name": "Content-Type", "value": "application/json"}]))
    comments = ["I'd buy this again - 10/10", "Is it <b>really</b> waterproof?", "Works with 1.5\" pipes",
                "Colour: \"midnight blue\"; size: M", "Price was 19.99 -> 14.99, great deal", "My kid's favourite!"]
    for i, c in enumerate(comments):
        benign.append(b.request(f"comment-{i + 1:03d}", method="POST", uri="/reviews", body="rating=5&comment=" + form_encode(c),
                                headers=[{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}]))
    for i, ck in enumerate(["session=3f2a9c1e8b7d4f60a1b2c3d4e5f60718; theme=dark; consent=analytics%3Dfalse",
                            "cart=%5B%7B%22sku%22%3A%22MUG-001%22%2C%22qty%22%3A1%7D%5D; lang=en-GB"]):
        benign.append(b.request(f"cookie-{i + 1:03d}", uri="/cart", headers=[{"name": "Cookie", "value": ck}]))
    benign.append(b.request("referer-001", uri="/products/4711", headers=[{"name": "Referer", "value": "https://www.google.com/search?q=o%27brien+shoes"}]))
    benign.append(b.request("redirect-001", uri="/login", args="next=%2Faccount%2Forders%3Fpage%3D2"))
    benign.append(b.request("utm-001", uri="/", args="utm_source=newsletter&utm_medium=email&utm_campaign=summer_sale_2024"))
    benign.append(b.request("filter-001", uri="/products", args="color=red&color=blue&price_min=10&price_max=50&in_stock=true"))
    # libinjection's historical false positives that it now passes.
    fps = list(data_lines(git_show(a.libinjection, "data/false_positives.txt")))
    for i, f in enumerate(rng.sample(fps, 40)):
        benign.append(b.request(f"libinjection-fp-{i + 1:03d}", uri="/search", args="q=" + query_safe(f)))
    # CRS regression tests that must not match.
    for rule, tid, inp, expect in crs_tests(a.crs, {"942100", "941100"}):
        if not expect:
            benign.append(from_crs(b, f"crs-fp-{rule}-{tid}", inp))

    for name, rows, want in [("attacks.jsonl", attacks, "BLOCK"), ("benign.jsonl", benign, "ALLOW")]:
        path = os.path.join(a.out, name)
        write(path, rows)
        dropped = []
        if a.filter_with:
            out = subprocess.run([a.filter_with, "waf", "eval", "--acl", "fixtures/waf/acl/reference.yaml",
                                  "--requests", path, "--format", "json"], check=True, capture_output=True).stdout
            decided = {d["id"]: d["action"] for d in json.loads(out)["decisions"]}
            dropped = [r["id"] for r in rows if decided[r["id"]] != want]
            rows = [r for r in rows if decided[r["id"]] == want]
            write(path, rows)
        print(f"{name}: {len(rows)} requests" + (f" ({len(dropped)} dropped: {', '.join(dropped)})" if dropped else ""))


def write(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
