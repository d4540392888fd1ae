#!/usr/bin/env python3
"""Tally the multi-stage rule over the shared corpus: conversions (findings with a fix), the final
images they choose, and refusals grouped by reason. Checks issue 12's bars: no end-of-life final
image (distroless debian11/12, or a runtime version transforms/runtimes.toml says has ended) and
no runtime version change (Node major, Python minor, Java major of the build image's tag against
the final image's, or a floating tag floating the same way).

    python3 scripts/multistage-tally.py [--dfopt target/release/dfopt] [--corpus /work/shared]

Every MANIFEST file that is not a parser-result case is named explicitly, as compare-binaries does.
"""
import argparse, collections, json, os, re, subprocess, sys

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

JAVA = {"maven", "gradle", "eclipse-temurin", "openjdk", "amazoncorretto", "sapmachine"}


def runtime_version(image):
    """(runtime, version) an image reference names in its tag: Node major, Python minor, Java
    major; version None for a floating tag (`node`, `python:3-alpine`)."""
    ref = image.split("@")[0]
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    base = name.rsplit("/", 1)[-1].lower()
    tag = tag.lower()
    m = re.match(r"gcr\.io/distroless/(nodejs|java)(\d+)-", ref)
    if m:
        return ("node" if m.group(1) == "nodejs" else "java", m.group(2))
    if base == "node":
        m = re.match(r"(\d+)", tag)
        return ("node", m and m.group(1))
    if base == "python":
        m = re.match(r"(\d+\.\d+)", tag)
        return ("python", m and m.group(1))
    if base in JAVA:
        m = re.search(r"(?:temurin-|openjdk-|corretto-|jdk-?|jre-?)(\d+)", tag)
        if not m and base != "maven" and base != "gradle":
            m = re.match(r"(?:1\.)?(\d+)", tag)
        return ("java", m and m.group(1))
    return (None, None)


def version_change(build, final, msg):
    """Why the final image runs another runtime version than the build image, or None."""
    rt, bv = runtime_version(build)
    if rt is None:
        return None
    said = re.search(r"\((Node\.js|Python|Java) ([\d.]+)\)", msg)
    frt, fv = runtime_version(final)
    if said:
        fv = said.group(2)
    if bv is None:
        # A floating build tag: the final tag must float the same way (`3-alpine` -> `3-alpine`,
        # `3` -> `3-slim`, none -> `slim`).
        btag = build.split("@")[0].rpartition(":")[2] if ":" in build else ""
        ftag = final.split("@")[0].rpartition(":")[2] if ":" in final else ""
        head = btag.split("-")[0] if btag and btag[0].isdigit() else ""
        fhead = ftag.split("-")[0] if ftag and ftag[0].isdigit() else ""
        return None if head == fhead else f"floating `{btag}` became `{ftag}`"
    if fv != bv:
        return f"{rt} {bv} became {fv}"
    return None


# Support windows from the catalogue itself (transforms/runtimes.toml).
import datetime, tomllib
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "transforms", "runtimes.toml"), "rb") as fh:
    CATALOGUE = tomllib.load(fh)


def runtime_ended(final, msg):
    """Whether the final image's runtime version is past its end of life today."""
    rt, v = runtime_version(final)
    said = re.search(r"\((Node\.js|Python|Java) ([\d.]+)\)", msg)
    if said:
        v = said.group(2)
    if rt is None or v is None:
        return False
    entry = CATALOGUE["runtimes"].get(rt, {}).get("versions", {}).get(v)
    if entry is None:
        return True  # not in the catalogue: its support cannot be vouched for
    if "ended" in entry:
        return True
    end = entry.get("end")
    if not end:
        return False
    if len(end) == 7:  # a month: supported through its last day
        y, m = map(int, end.split("-"))
        end_day = datetime.date(y + m // 12, m % 12 + 1, 1) - datetime.timedelta(days=1)
    else:
        end_day = datetime.date.fromisoformat(end)
    return datetime.date.today() > end_day


conversions, images, refusals = [], collections.Counter(), collections.Counter()
version_changes = []
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
            if eol.search(img) or runtime_ended(img, msg):
                eol_hits.append((f["path"], img))
            b = re.search(r"single-stage build on `([^`]+)`", msg)
            why = version_change(b.group(1), img, msg) if b else None
            if why:
                version_changes.append((f["path"], why))
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
print(f"end-of-life images emitted (distroless debian11/12, or a runtime version past its end): {len(eol_hits)}")
for p, img in eol_hits:
    print(f"  {p}: {img}")
print(f"runtime version changes (Node major, Python minor, Java major): {len(version_changes)}")
for p, why in version_changes:
    print(f"  {p}: {why}")
print("refusals by reason:")
for why, n in refusals.most_common():
    print(f"  {n:4}  {why}")
if args.list:
    for p, img in conversions:
        print(f"{p}\t{img}")
