#!/usr/bin/env python3
"""Keeps the most valuable new fuzz corpus files within a byte budget.

    python3 fuzz/curate.py [--budget BYTES] TARGET...

After `fuzz/run.sh`, fuzz/corpus/TARGET holds the whole minimised corpus (often
megabytes). This runs each target's fuzzer binary with libFuzzer's
`-set_cover_merge=1` to learn every coverage feature of every file, counts the
committed files (tracked by git) and fuzz/seeds/TARGET as already kept, then
greedily keeps the untracked files adding the most new features per byte until
BUDGET bytes (default 2,000,000, shared by all TARGETs) are spent. The other
untracked files are deleted from fuzz/corpus/TARGET (fuzz/work/TARGET, the
fuzzer's working corpus, still has them). Prints the features covered before
and after; `git add fuzz/corpus` then commits the choice.

Needs the fuzzer binaries (`cargo fuzz build -O TARGET`, which run.sh does), in
fuzz/target/x86_64-unknown-linux-gnu/release or $FUZZ_BIN.
"""

import argparse
import heapq
import os
import subprocess
import sys
import tempfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("FUZZ_BIN", os.path.join(FUZZ, "target", "x86_64-unknown-linux-gnu", "release"))
# Each file also costs a git object and a replay in tests/fuzz_corpus.rs.
PER_FILE = 256


def features(target, kept, candidates, tmp):
    """{path: set of features} for every file, from a set-cover merge's control file."""
    ctl = os.path.join(tmp, target + ".ctl")
    out = os.path.join(tmp, target + ".out")
    os.makedirs(out)
    subprocess.run(
        [os.path.join(BIN, target), "-set_cover_merge=1", "-merge_control_file=" + ctl,
         "-rss_limit_mb=4096", out, kept, candidates],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = open(ctl).read().split("\n")
    n = int(lines[0])
    files = lines[2:2 + n]
    fts = {}
    for line in lines[2 + n:]:
        if line.startswith("FT "):
            parts = line.split()
            fts[files[int(parts[1])]] = set(map(int, parts[2:]))
    return {f: fts.get(f, set()) for f in files}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=2_000_000)
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    covered, cands = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for t in args.targets:
            corpus = os.path.join(FUZZ, "corpus", t)
            tracked = set(subprocess.run(
                ["git", "ls-files", "--", "."], cwd=corpus, check=True,
                capture_output=True, text=True).stdout.split())
            kept, new = os.path.join(tmp, t + ".kept"), os.path.join(tmp, t + ".new")
            os.makedirs(kept)
            os.makedirs(new)
            for name in os.listdir(corpus):
                src = os.path.join(corpus, name)
                os.symlink(src, os.path.join(kept if name in tracked else new, name))
            seeds = os.path.join(FUZZ, "seeds", t)
            for name in os.listdir(seeds) if os.path.isdir(seeds) else []:
                os.symlink(os.path.join(seeds, name), os.path.join(kept, "seed-" + name))
            fts = features(t, kept, new, tmp)
            covered[t] = set().union(*(fs for f, fs in fts.items() if f.startswith(kept)))
            total = set().union(*fts.values())
            print("%s: committed files cover %d of %d features" % (t, len(covered[t]), len(total)))
            for f, fs in fts.items():
                if f.startswith(new):
                    cands.append((t, os.path.realpath(f), os.path.getsize(f), fs))
    # Lazy greedy: a file's gain only shrinks as others are chosen.
    heap = [(-len(fs - covered[t]) / (size + PER_FILE), k) for k, (t, _, size, fs) in enumerate(cands)]
    heapq.heapify(heap)
    chosen, spent = set(), 0
    while heap:
        _, k = heapq.heappop(heap)
        t, path, size, fs = cands[k]
        gain = len(fs - covered[t])
        if gain == 0 or spent + size > args.budget:
            continue
        rate = gain / (size + PER_FILE)
        if heap and rate < -heap[0][0]:
            heapq.heappush(heap, (-rate, k))
            continue
        chosen.add(path)
        spent += size
        covered[t] |= fs
    for t, path, size, _ in cands:
        if path not in chosen:
            os.remove(path)
    for t in args.targets:
        n = sum(1 for c in cands if c[0] == t and c[1] in chosen)
        print("%s: kept %d new files; now %d features" % (t, n, len(covered[t])))
    print("%d bytes kept of a %d budget" % (spent, args.budget))


if __name__ == "__main__":
    sys.exit(main())
