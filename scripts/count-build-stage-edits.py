#!/usr/bin/env python3
"""Counts the SAFE edits dfopt proposes inside stages that do not ship (do not reach the final image).

Reads `dfopt check --format json` output (a file, or standard input), finds each finding's stage by
the FROM lines of its file, works out which stages ship the way dfopt's model does (the final stage,
the stages it is built FROM, the stages copied wholesale with `COPY --from=<stage> / /`), and prints
the safe edits in non-shipping stages per rule. Joins of an `apt-get update` RUN with the install
that follows are counted apart: they fix a build bug (a cached, stale package list) and stay.

Usage: dfopt check --format json PATHS | count-build-stage-edits.py [--root DIR] [-]
Paths in the JSON are read relative to --root (default: the current folder).
"""
import argparse
import collections
import json
import re
import shlex
import sys
from pathlib import Path

FROM_RE = re.compile(r"^\s*from\s+(?:--\S+\s+)*(\S+)(?:\s+as\s+(\S+))?", re.I)
COPY_FROM_RE = re.compile(r"^\s*copy\s+.*--from=(\S+)\s+(.*)$", re.I)
UPDATE_ONLY_RE = re.compile(r"^\s*run\s+(apt-get|apt)\s+(-\S+\s+)*update(\s+-\S+)*\s*$", re.I)


def logical_lines(text):
    """(first line number, joined text) of each instruction, following `\\` continuations."""
    out, buf, start = [], [], None
    for n, line in enumerate(text.splitlines(), 1):
        if start is None:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = n
        elif line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            buf.append(line.rstrip()[:-1])
            continue
        buf.append(line)
        out.append((start, " ".join(buf)))
        buf, start = [], None
    if start is not None:
        out.append((start, " ".join(buf)))
    return out


def stages_of(text):
    """[(first line, alias, base, [(copy-from, sources)])] per stage, and the instructions."""
    stages, ins = [], logical_lines(text)
    for line, body in ins:
        m = FROM_RE.match(body)
        if m:
            stages.append({"line": line, "base": m.group(1).lower(),
                           "alias": (m.group(2) or "").lower(), "copies": []})
            continue
        c = COPY_FROM_RE.match(body)
        if c and stages:
            try:
                words = shlex.split(c.group(2))
            except ValueError:
                words = c.group(2).split()
            words = [w for w in words if not w.startswith("--")]
            stages[-1]["copies"].append((c.group(1).lower(), words[:-1]))
    return stages, ins


def named(stages, ref):
    if ref.isdigit():
        return int(ref) if int(ref) < len(stages) else None
    for i, s in enumerate(stages):
        if s["alias"] and s["alias"] == ref:
            return i
    return None


def whole_root(src):
    parts = [p for p in src.split("/") if p and p != "."]
    return parts in ([], ["*"])


def shipping(stages):
    ships = [False] * len(stages)
    pending = [len(stages) - 1] if stages else []
    while pending:
        i = pending.pop()
        if ships[i]:
            continue
        ships[i] = True
        parent = next((j for j in range(i) if stages[j]["alias"] == stages[i]["base"]), None)
        if parent is not None:
            pending.append(parent)
        for ref, sources in stages[i]["copies"]:
            j = named(stages, ref)
            if j is not None and any(whole_root(s) for s in sources):
                pending.append(j)
    return ships


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="?", default="-")
    ap.add_argument("--root", default=".")
    a = ap.parse_args()
    data = json.load(sys.stdin if a.json == "-" else open(a.json))
    per_rule = collections.Counter()
    joins = 0
    files = set()
    for f in data["files"]:
        safe = [x for x in f.get("findings", []) if x.get("fix") and x["fix"]["safety"] == "safe"]
        if not safe:
            continue
        try:
            text = (Path(a.root) / f["path"]).read_text(errors="replace")
        except OSError:
            continue
        stages, ins = stages_of(text)
        if len(stages) < 2:
            continue
        ships = shipping(stages)
        for x in safe:
            idx = max((i for i, s in enumerate(stages) if s["line"] <= x["line"]), default=None)
            if idx is None or ships[idx]:
                continue
            first = next((b for l, b in ins if l == x["line"]), "")
            if x["rule"] == "chain-runs" and UPDATE_ONLY_RE.match(first) and x["message"].startswith("2 "):
                joins += 1
                continue
            per_rule[x["rule"]] += 1
            files.add(f["path"])
    for rule, n in sorted(per_rule.items()):
        print(f"{rule}\t{n}")
    print(f"update+install joins\t{joins}")
    print(f"TOTAL safe edits in non-shipping stages (excluding update+install joins): "
          f"{sum(per_rule.values())} in {len(files)} files")


if __name__ == "__main__":
    main()
