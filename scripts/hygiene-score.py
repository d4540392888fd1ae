#!/usr/bin/env python3
"""Issue 3's score: how many of the corpus's layer-hygiene hadolint findings dfopt resolves, and why
each one that is left is left.

Usage: scripts/hygiene-score.py [--dfopt target/release/dfopt] [--corpus ../shared/corpus]
                                [--fix-args=--unsafe-fixes] [--jobs N] [--json OUT] [--list]
                                [--min-in-scope 90]

For every corpus Dockerfile with a finding of the issue's codes: hadolint on the original, then
`dfopt fix --write FIX_ARGS` on a copy, then hadolint on the copy. Each finding (before and after) is
put in one category by looking at the RUN it points at:

  in scope              a finding dfopt is meant to fix
  hadolint is wrong     the RUN is already clean in a way hadolint 2.15 does not recognise:
                        `apt-get dist-clean` (DL3009; it keeps the Release files on purpose, so adding
                        `rm -rf /var/lib/apt/lists/*` would delete what apt keeps for security),
                        `apk add --no-network` (DL3019; nothing is downloaded, so nothing is cached),
                        `PIP_NO_CACHE_DIR` set in the file (DL3042; pip disables its cache for any valid
                        value, `off` and `false` included)
  left alone by design  Windows stages and heredoc RUNs, which issue 3 says to leave alone

and prints, per code, before / left / resolved, the raw share resolved, and the share resolved of
the findings in scope. Every finding left in scope is listed with dfopt's own message for that line
(why it did not fix it) when dfopt has one. Needs hadolint (scripts/setup-oracles.sh).
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

CODES = {
    "DL3009", "DL3014", "DL3015", "DL3019", "DL3027", "DL3030", "DL3032", "DL3034", "DL3036",
    "DL3038", "DL3040", "DL3042", "DL3059", "DL3060",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINDOWS_IMAGE = re.compile(r"(?im)^\s*FROM\s+(\S*(windows|nanoserver|servercore)\S*)")
WINDOWS_SHELL = re.compile(r'(?im)^\s*SHELL\s+\[\s*"(powershell|pwsh|cmd)')
ESCAPE_BACKTICK = re.compile(r"(?i)^\s*#\s*escape\s*=\s*`")


def instruction_text(lines, lineno):
    """The text of the instruction starting at 1-based `lineno`, continuation lines included."""
    out = []
    i = lineno - 1
    escape = "\\"
    for head in lines[:5]:
        if ESCAPE_BACKTICK.match(head):
            escape = "`"
    while 0 <= i < len(lines):
        line = lines[i]
        out.append(line)
        stripped = line.rstrip()
        if stripped.lstrip().startswith("#") and i != lineno - 1:
            i += 1
            continue
        if not stripped.endswith(escape):
            break
        i += 1
    return "\n".join(out)


def category(code, text, whole_file):
    first = text.lstrip()
    if WINDOWS_IMAGE.search(whole_file) or WINDOWS_SHELL.search(whole_file) or re.search(
        r"(?i)^RUN\s+(@?powershell|pwsh|cmd\s)", first
    ):
        return "left alone by design: Windows stage"
    if re.match(r"(?i)^RUN\s+(--\S+\s+)*<<", first):
        return "left alone by design: heredoc RUN"
    if code == "DL3009" and re.search(r"\bapt(-get)?\s+(-\S+\s+)*dist-?clean\b", text):
        return "hadolint is wrong: apt-get dist-clean"
    if code == "DL3019":
        adds = re.findall(r"\bapk\s+add\b[^;&|]*", text)
        if adds and all("--no-cache" in a or "--no-network" in a for a in adds):
            return "hadolint is wrong: apk add --no-network"
    if code == "DL3042" and re.search(r"(?im)^\s*ENV\s+PIP_NO_CACHE_DIR[\s=]", whole_file):
        return "hadolint is wrong: PIP_NO_CACHE_DIR is set"
    return "in scope"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dfopt", default=os.path.join(ROOT, "target/release/dfopt"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"))
    ap.add_argument("--hadolint", default=os.path.expanduser("~/.cache/dfopt-oracles/bin/hadolint"))
    ap.add_argument("--fix-args", default="--unsafe-fixes")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json")
    ap.add_argument("--list", action="store_true", help="also list every finding left, by category")
    ap.add_argument("--min-in-scope", type=float, default=None,
                    help="exit 1 when less than this share (%%) of the in-scope findings is resolved")
    args = ap.parse_args()
    if not os.access(args.hadolint, os.X_OK):
        sys.exit(f"hadolint not found at {args.hadolint}: run scripts/setup-oracles.sh")

    manifest = os.path.join(args.corpus, "MANIFEST.tsv")
    rows = [l.split("\t") for l in open(manifest, encoding="utf-8").read().splitlines()[1:]]
    files = [r[0] for r in rows if len(r) > 5 and r[5] != "parser-result"]
    tmp = tempfile.mkdtemp(prefix="dfopt-hygiene-")
    cfg = os.path.join(tmp, "empty.yaml")
    with open(cfg, "w") as f:
        f.write("{}\n")

    def hadolint(path):
        r = subprocess.run([args.hadolint, "-c", cfg, "--no-fail", "-f", "json", path],
                           capture_output=True, text=True)
        try:
            return [x for x in json.loads(r.stdout) if x.get("code") in CODES]
        except ValueError:
            return None

    def classify(path, findings):
        text = open(path, encoding="utf-8", errors="replace").read()
        lines = text.splitlines()
        return [(x["code"], category(x["code"], instruction_text(lines, x["line"]), text), x["line"],
                 lines[x["line"] - 1].strip()[:120] if 0 < x["line"] <= len(lines) else "")
                for x in findings]

    def one(job):
        n, rel = job
        src = os.path.join(args.corpus, rel)
        before = hadolint(src)
        if not before:
            return rel, [], [], []
        d = os.path.join(tmp, str(n))
        os.makedirs(d)
        dst = os.path.join(d, os.path.basename(rel))
        shutil.copyfile(src, dst)
        subprocess.run([args.dfopt, "fix", "--write", "--quiet", *args.fix_args.split(), dst],
                       capture_output=True)
        after = hadolint(dst)
        if after is None:  # hadolint cannot read the output: count nothing as resolved
            after = before
            dst = src
        left = classify(dst, after)
        reasons = []
        if any(cat == "in scope" for _, cat, _, _ in left):
            r = subprocess.run([args.dfopt, "check", "--quiet", "--format", "json",
                                *args.fix_args.split(), dst], capture_output=True, text=True)
            try:
                for f in json.loads(r.stdout).get("files", [{}])[0].get("findings", []):
                    reasons.append((f.get("line"), f.get("rule"), f.get("message")))
            except (ValueError, IndexError, AttributeError):
                pass
        return rel, classify(src, before), left, reasons

    with ThreadPoolExecutor(args.jobs) as ex:
        results = list(ex.map(one, enumerate(files)))
    shutil.rmtree(tmp, ignore_errors=True)

    before = collections.Counter()
    left = collections.Counter()
    by_code = collections.defaultdict(lambda: [0, 0])
    listing = []
    for rel, b, a, reasons in results:
        cb = collections.Counter((c, cat) for c, cat, _, _ in b)
        ca = collections.Counter((c, cat) for c, cat, _, _ in a)
        for key, n in cb.items():
            before[key[1]] += n
            by_code[key[0]][0] += n
        for key, n in ca.items():
            # A finding can move category when RUNs are joined; never count more left than there were.
            kept = min(n, cb.get(key, 0)) if key in cb else n
            left[key[1]] += kept
            by_code[key[0]][1] += kept
        for c, cat, line, text in a:
            why = [f"{r}: {m}" for l, r, m in reasons if l == line]
            listing.append({"file": rel, "code": c, "category": cat, "line": line, "text": text,
                            "dfopt": why})

    total_b = sum(before.values())
    total_l = sum(left.values())
    print("| code | before | left | resolved |")
    print("|---|---:|---:|---:|")
    for code in sorted(by_code):
        b, l = by_code[code]
        print(f"| {code} | {b} | {l} | {b - l} |")
    print()
    print("| category | before | left | resolved |")
    print("|---|---:|---:|---:|")
    for cat in sorted(before):
        print(f"| {cat} | {before[cat]} | {left[cat]} | {before[cat] - left[cat]} |")
    print()
    in_b, in_l = before["in scope"], left["in scope"]
    raw = 100.0 * (total_b - total_l) / total_b if total_b else 100.0
    scoped = 100.0 * (in_b - in_l) / in_b if in_b else 100.0
    if args.list:
        for x in sorted(listing, key=lambda x: (x["category"], x["code"], x["file"])):
            print(f"{x['category']} | {x['code']} | {x['file']}:{x['line']} | {x['text']}")
            for w in x["dfopt"]:
                print(f"    dfopt {w}")
        print()
    else:
        for x in sorted(listing, key=lambda x: (x["code"], x["file"])):
            if x["category"] == "in scope":
                print(f"left in scope: {x['code']} {x['file']}:{x['line']}: {x['text']}")
                for w in x["dfopt"]:
                    print(f"    dfopt {w}")
        print()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"before": dict(before), "left": dict(left), "by_code": by_code,
                       "left_findings": listing}, f, indent=1)
    print(f"hygiene codes: {total_b} before, {total_b - total_l} resolved ({raw:.1f}%) | in scope: "
          f"{in_b} before, {in_b - in_l} resolved ({scoped:.1f}%)")
    if args.min_in_scope is not None and scoped < args.min_in_scope:
        print(f"hygiene-score: in-scope share {scoped:.1f}% is below {args.min_in_scope}%", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
