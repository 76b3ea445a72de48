#!/usr/bin/env python3
"""Generates a benchmark request corpus (JSON lines, the documented request
shape): a seeded mix of ordinary shop traffic and attacks (SQLi, XSS, bad
user agents, blocked addresses), with query strings and form or JSON bodies
of realistic sizes.

    python3 bench/waf/gen_requests.py -n 200000 --attack-ratio 0.1 -o bench/out/waf/requests.jsonl
"""
import argparse
import json
import os
import random
import urllib.parse

WORDS = ("shoe red blue shirt size medium large cotton summer sale gift card order track return "
         "coffee mug poster book novel kids women men jacket rain warm price cheap best new").split()
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
SQLI = ["1' OR '1'='1", "1 UNION SELECT username, password FROM users--", "admin'--", "1; DROP TABLE orders",
        "' AND SLEEP(5)#", "1) OR (1=1"]
XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(document.cookie)>", "<svg/onload=alert(1)>",
       "javascript:alert(1)", "<iframe src=//evil.example>"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200_000)
    ap.add_argument("--attack-ratio", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--out", default="bench/out/waf/requests.jsonl")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)

    def words(k):
        return " ".join(rng.choice(WORDS) for _ in range(k))

    with open(a.out, "w") as f:
        for i in range(a.n):
            attack = rng.random() < a.attack_ratio
            method = "GET"
            uri = rng.choice(["/", "/products", "/search", "/cart", "/api/orders", "/checkout", "/account"])
            args = {"q": words(rng.randint(1, 4)), "page": str(rng.randint(1, 20))} if rng.random() < 0.7 else {}
            headers = [{"name": "Host", "value": "shop.example.com"},
                       {"name": "User-Agent", "value": rng.choice(UAS)},
                       {"name": "Accept", "value": "text/html,application/xhtml+xml,*/*;q=0.8"},
                       {"name": "Cookie", "value": f"session={rng.getrandbits(64):016x}; theme=dark"}]
            body = None
            if rng.random() < 0.3:
                method = "POST"
                if rng.random() < 0.5:
                    body = json.dumps({"items": [{"sku": f"SKU-{rng.randint(1, 9999)}", "qty": rng.randint(1, 3)}
                                                 for _ in range(rng.randint(1, 8))], "note": words(rng.randint(3, 40))})
                    headers.append({"name": "Content-Type", "value": "application/json"})
                else:
                    body = urllib.parse.urlencode({"name": words(2), "comment": words(rng.randint(5, 80)), "rating": "5"})
                    headers.append({"name": "Content-Type", "value": "application/x-www-form-urlencoded"})
            ip = f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            if attack:
                kind = rng.randrange(4)
                if kind == 0:
                    args["id"] = rng.choice(SQLI)
                elif kind == 1:
                    if body is None:
                        method, body = "POST", "comment=" + urllib.parse.quote(rng.choice(XSS))
                    else:
                        body += urllib.parse.quote(rng.choice(XSS))
                elif kind == 2:
                    headers[1]["value"] = rng.choice(["sqlmap/1.8#stable", "Mozilla/5.00 (Nikto/2.5.0)", "masscan/1.3"])
                else:
                    ip = f"192.0.2.{rng.randint(1, 254)}"
            r = {"id": f"r{i}", "timestamp": 1_700_000_000_000 + i * 10, "clientIp": ip, "country": rng.choice(["US", "GB", "DE", "FR", "JP"]),
                 "httpMethod": method, "uri": uri, "args": urllib.parse.urlencode(args), "headers": headers}
            if body is not None:
                r["body"] = body
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
