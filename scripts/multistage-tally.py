#!/usr/bin/env python3
"""Tally the multi-stage rule over the shared corpus: conversions (findings with a fix), the final
images they choose, and refusals grouped by reason.

    python3 scripts/multistage-tally.py [--dfopt target/release/dfopt] [--corpus /work/shared]

Every MANIFEST file that is not a parser-result case is named explicitly, as compare-binaries does.
"""
import argparse, collections, json, re, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--dfopt", default="target/release/dfopt")
ap.add_argument("--corpus", default="/work/shared")
ap.add_argument("--list", action="store_true", help="print each conversion's file and image")
args = ap.parse_args()

files = []
with open(f"{args.corpus}/corpus/MANIFEST.tsv") as f:
    for i, line in enumerate(f):
        cols = line.rstrip("\n").split("\t")
        if i == 0 or len(cols) < 6 or cols[5] == "parser-result":
            continue
        files.append("corpus/" + cols[0])

import os
dfopt = os.path.abspath(args.dfopt)
res = subprocess.run(
    [dfopt, "check", "--select", "multi-stage", "--format", "json", "--unsafe-fixes", *files],
    cwd=args.corpus, capture_output=True, text=True)
data = json.loads(res.stdout)

conversions, images, refusals = [], collections.Counter(), collections.Counter()
eol = re.compile(r"gcr\.io/distroless/(nodejs\d+|python3|java\d+|static|base|cc)-debian1[12]\b")
eol_hits = []
for f in data["files"]:
    for fd in f.get("findings", []):
        if fd.get("rule") != "multi-stage":
            continue
        msg = fd.get("message", "")
        if "does not guess" not in msg:
            m = re.search(r"run on `([^`]+)`", msg)
            img = m.group(1) if m else "?"
            conversions.append((f["path"], img))
            images[img] += 1
            if eol.search(img):
                eol_hits.append((f["path"], img))
        else:
            why = msg.split("does not guess: ", 1)[-1]
            # Group by the reason's shape: numbers, paths and names in backticks collapse.
            key = re.sub(r"`[^`]*`", "`…`", why)
            key = re.sub(r"\d+(\.\d+)*", "N", key)[:140]
            refusals[key] += 1

print(f"files: {len(files)}  conversions: {len(conversions)}  refusals: {sum(refusals.values())}")
print("final images:")
for img, n in images.most_common():
    print(f"  {n:4}  {img}")
print(f"end-of-life distroless images emitted: {len(eol_hits)}")
print("refusals by reason:")
for why, n in refusals.most_common():
    print(f"  {n:4}  {why}")
if args.list:
    for p, img in conversions:
        print(f"{p}\t{img}")
