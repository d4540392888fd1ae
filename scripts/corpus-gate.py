#!/usr/bin/env python3
"""CI's verdict on a corpus-check run (shared/tools/corpus-check.py --json OUT).

corpus-check judges refusals against BuildKit's *parser*: a file the parser accepts but dfopt refuses
counts as a hard failure. dfopt also refuses what BuildKit's *build* rejects although its parser
accepted it (an unknown instruction such as `RUNN`, `ENV` without arguments, `FROM x AS`): BuildKit
fails those builds in `instructions.Parse`, so rewriting them would hide a broken file. This gate
keeps every other hard check of corpus-check as it is, and accepts a refusal of a file BuildKit's
parser accepts only when BuildKit's own parse of that file shows such a build failure at the line
dfopt reports (the same model scripts/buildkit-agreement.py checks over the whole corpus).

Usage: corpus-gate.py --json OUT --corpus DIR --venv VENV
Exit 0 when the run passes, 1 otherwise; prints one line per accepted or failing refusal.
"""
import argparse
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def agreement_module():
    spec = importlib.util.spec_from_file_location("buildkit_agreement", os.path.join(HERE, "buildkit-agreement.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--venv", required=True)
    a = ap.parse_args()
    with open(a.json, encoding="utf-8") as f:
        report = json.load(f)
    s, problems = report["summary"], report["problems"]
    failures = []
    for key in ("crashes", "output_rejected", "not_fixed_point", "comments_lost"):
        if s[key]:
            failures.append(f"{key.replace('_', ' ')}: {s[key]}")
    added = sum((s.get("hadolint") or {}).get("added", {}).values())
    if added:
        failures.append(f"hadolint findings added: {added}")

    refused = problems.get("refused (BuildKit accepts)", [])
    if refused:
        agree = agreement_module()
        py = agree.oracle_python(a.venv)
        entries = []
        for item in refused:
            rel, _, message = item.partition(": ")
            entries.append((rel, message))
        paths = [os.path.join(a.corpus, rel) for rel, _ in entries]
        views = agree.buildkit_view(py, paths)
        for (rel, message), path in zip(entries, paths):
            failure = agree.build_failure(views.get(path, {"instructions": []}))
            # dfopt's message is `FILE:LINE:COL: error: …`; the line must be BuildKit's.
            parts = message.split(":")
            line = next((int(p) for p in parts[1:3] if p.isdigit()), None)
            if failure and line == failure[0]:
                print(f"accepted refusal: {rel}: BuildKit's build fails at line {failure[0]}: {failure[1]}")
            else:
                failures.append(f"refused although BuildKit's build accepts it: {rel}: {message}")
    for f in failures:
        print(f"FAIL {f}")
    print(f"corpus gate: {'passed' if not failures else 'FAILED'} | refusals of parser-accepted files "
          f"{len(refused)}, all build failures: {not any(f.startswith('refused') for f in failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
