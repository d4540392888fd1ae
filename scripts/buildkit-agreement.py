#!/usr/bin/env python3
"""Measures how far dfopt's parser agrees with BuildKit's on the shared corpus.

Usage: scripts/buildkit-agreement.py [--corpus DIR] [--dfopt BIN] [--venv V] [--show N]
                                    [--random N [--seed S]]

For every file in the corpus MANIFEST.tsv (kind `parser-result` skipped: those are BuildKit's result
dumps, not Dockerfiles) it gets

  * BuildKit's view, from PyPI `dockerfile` 3.4.0 (which embeds moby/buildkit's Go parser) run with the
    venv's python (made by scripts/setup-oracles.sh, which this script runs when the venv is missing);
  * dfopt's view, from the hidden `dfopt parse FILE...` (one JSON line per file; many files per call).

A file agrees when BuildKit accepts it and dfopt accepts it too with the same instructions: count, and for
each one the lower-case command, ONBUILD trigger keyword, exec (JSON) form, first and last line, builder
flags and heredoc names. Files BuildKit rejects are not part of the agreement figure: those dfopt accepts
are listed as warnings, and the `buildkit-testfiles-negative` ones must be rejected (a failure if not).

BuildKit's parser is not the whole of what a build accepts: `instructions.Parse` (in
frontend/dockerfile/instructions/parse.go) then refuses some files the parser let through, before anything
runs, and dfopt refuses those too. The ones dfopt models are modelled here as well, on BuildKit's parse
result (see `build_failure`): an unknown instruction (`RUNN x`; not an ONBUILD trigger, which BuildKit only
parses when the image is used as a base), ENV or LABEL without arguments, and a FROM that is not
`image` or `image AS name` with a valid stage name. Such a file counts as rejected by BuildKit, and dfopt
must reject it at the same line (a failure if not).

With --random N it also generates N Dockerfile-like files from a fixed seed (awkward corners on
purpose: heredoc words, flags, JSON, continuations, Unicode blanks, CR/LF) and requires the same
verdict (accept/reject) and, where both accept, the same instructions.

The last line is the summary to quote. Exit status: 0 when agreement is 100% and every negative case is
rejected, 1 otherwise, 2 on a usage or setup error.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# BuildKit's view, run inside the oracle venv (the logic of ../shared/tools/buildkit-parse.py, embedded
# so that the project does not depend on that folder's tools). Reads paths on stdin, one a line.
ORACLE = r'''
import json, sys
import dockerfile

def record(path):
    rec = {"path": path, "ok": False, "error": None, "instructions": []}
    try:
        data = open(path, "rb").read()
    except OSError as e:
        rec["error"] = "IOError: %s" % e
        return rec
    if b"\x00" in data:
        # The wrapper hands the text to Go as a C string: it would be cut at the first NUL.
        rec["error"] = "NulByte: the Go parser would truncate at the first NUL"
        return rec
    text = data.decode("utf-8", errors="replace")
    try:
        cmds = dockerfile.parse_string(text)
    except Exception as e:
        rec["error"] = "%s: %s" % (type(e).__name__, e)
        return rec
    rec["ok"] = True
    rec["instructions"] = [
        {
            "cmd": (c.cmd or "").lower(),
            "sub_cmd": c.sub_cmd,
            "json": c.json,
            "start_line": c.start_line,
            "end_line": c.end_line,
            "flags": list(c.flags),
            "value": list(c.value),
            "heredocs": [h.name for h in (getattr(c, "heredocs", None) or ())],
        }
        for c in cmds
    ]
    return rec

for line in sys.stdin:
    p = line.rstrip("\n")
    if p:
        sys.stdout.write(json.dumps(record(p), ensure_ascii=False) + "\n")
        sys.stdout.flush()
'''

# Pieces for --random: generated Dockerfile-like files that lean on the parser's awkward corners
# (heredoc words, flags, JSON, continuations, Unicode blanks, directives, CR/LF mixes). The `check`
# directive is left out on purpose: the oracle's BuildKit (v0.12) predates it, dfopt follows the
# current BuildKit where it is a directive.
KEYWORDS = ["FROM", "from", "Run", "RUN", "CMD", "COPY", "copy", "ADD", "ENV", "LABEL", "ARG", "ONBUILD",
            "onbuild", "HEALTHCHECK", "SHELL", "ENTRYPOINT", "VOLUME", "WORKDIR", "USER", "EXPOSE",
            "MAINTAINER", "STOPSIGNAL", "FOO"]
BLANKS = [" ", "  ", "\t", " \t", "\u00a0", "\u2003", "\x0b", "\x0c", "\u0085", "\r"]
NEWLINES = ["\n"] * 8 + ["\r\n", "\r\r\n", "\n\r"]
FLAGS = ["--mount=type=cache,target=/x", "--link", "--from=build", "--chown=\"a b\"", "--x", "--",
         "--a=b\\ c", "--q='x y'", "-x", "--from build", "--network=none", "--chmod=755", "--=x", "---",
         "--m=\"unterminated"]
WORDS = ["echo", "hi", "$HOME", "${A}", "${B:-x}", "\"q w\"", "'s q'", "a=b", "A=\"x y\"", "B=", "=x",
         "<<EOF", "<<-EOF", "<<'EOF'", "<<\"EOF\"", "3<<EOF", "<<EOF2", "cat<<EOF", "<<E\"O\"F", "<<\\EOF",
         "<<-'X'", "<<", "<<<x", "a<<b", "|", "&&", ";", "#notcomment", "[", "]", "\"", "'", "\\", "\\\\",
         "`", "c:\\x", "[\"a\"]", "[\"a\", \"b\"]", "[1]", "[\"a\", 1]", "[]", "[\"unterminated", "{",
         "${", "$", "\u00e9", "\u65e5\u672c", "NONE", "CMD", "RUN", "--interval=5s", "x=1", "y",
         "[\"\\ud800\"]", "[\"\\ud83d\\ude00\"]", "[\"\\udc00x\"]", "[[[\"a\"]]]", "[" * 200 + "]" * 200,
         "[null]", "[\"a\",]", "[\"a\"]x", "[1e999]", "[true]", "[\"a\\x\"]", "[\"a\", {}]", "[01]",
         "${A B}", "${A:-x y}", "${A#x}", "\"${A}\"", "<<EOF}", "${A:- <<EOF}"]
DIRECTIVES = ["# syntax=docker/dockerfile:1", "# escape=`", "#escape=\\", "# ESCAPE = `", "# escape=x",
              "# foo=bar", "#", "# comment", "", "  # escape=`", "# syntax = a b "]


def generate_one(r):
    out, esc = [], "\\"
    if r.random() < 0.1:
        out.append("\ufeff")
    if r.random() < 0.3:
        for _ in range(r.randint(1, 3)):
            out.append(r.choice(DIRECTIVES) + r.choice(NEWLINES))
        if any("`" in o and "escape" in o.lower() for o in out):
            esc = "`"
    for _ in range(r.randint(0, 8)):
        if r.random() < 0.1:
            out.append(r.choice(["", "   ", "# c", "  # c", "\t"]) + r.choice(NEWLINES))
            continue
        k = r.choice(KEYWORDS)
        parts = [k]
        if r.random() < 0.3:
            parts += [r.choice(FLAGS) for _ in range(r.randint(1, 2))]
        if k.upper() == "ONBUILD" and r.random() < 0.8:
            parts.append(r.choice(KEYWORDS))
        parts += [r.choice(WORDS) for _ in range(r.randint(0, 5))]
        line = parts[0]
        for p in parts[1:]:
            line += (r.choice(BLANKS) if r.random() < 0.3 else " ") + p
        while r.random() < 0.3:
            line += r.choice([esc, esc + " ", esc + "\t", esc + esc, esc + " \r", "\\", "`"]) + r.choice(NEWLINES)
            if r.random() < 0.3:
                line += r.choice(["# inner", "  # inner", "", "  ", "\t#x"]) + r.choice(NEWLINES)
            line += r.choice(["", "  ", "\t"]) + " ".join(r.choice(WORDS) for _ in range(r.randint(0, 3)))
        line += r.choice(NEWLINES)
        if "<<" in line and r.random() < 0.8:
            for name in ["EOF", "EOF2", "X", "E\"O\"F", "b"]:
                if r.random() < 0.5:
                    line += r.choice(["hello\n", "", "a\nb\n", "\tindent\n", "EOFx\n"])
                    line += r.choice([name, "\t" + name, name + " ", "EOF", " EOF"]) + r.choice(NEWLINES)
        out.append(line)
    text = "".join(out)
    return text.rstrip("\n") if r.random() < 0.2 else text


def generate(directory, seed, count):
    r = random.Random(seed)
    paths = []
    for i in range(count):
        p = os.path.join(directory, f"gen-{seed}-{i}.Dockerfile")
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(generate_one(r))
        paths.append(p)
    return paths


FIELDS = ("cmd", "sub_cmd", "json", "start_line", "end_line", "flags", "heredocs")


# `ParseInstruction`'s switch: every other keyword is an "unknown instruction".
BUILD_KEYWORDS = {"env", "maintainer", "label", "add", "copy", "from", "onbuild", "workdir", "run", "cmd",
                  "healthcheck", "entrypoint", "expose", "user", "volume", "stopsignal", "arg", "shell"}


def valid_stage_name(name):
    """`validStageName` (`^[a-z][a-z0-9-_.]*$`) on Go's `strings.ToLower`, which maps rune by rune
    (U+0130 becomes `i`, where Python's lower() gives `i` plus a combining dot)."""
    low = "".join("i" if c == "\u0130" else c.lower() for c in name)
    return bool(low) and "a" <= low[0] <= "z" and all(
        "a" <= c <= "z" or "0" <= c <= "9" or c in "-_." for c in low)


def build_failure(rec):
    """(line, message) of the first instruction BuildKit's build refuses although its parser accepted
    the file, for the checks dfopt models (see the module doc); None when there is none."""
    for ins in rec["instructions"]:
        cmd, value, line = ins["cmd"], ins.get("value") or [], ins["start_line"]
        if cmd not in BUILD_KEYWORDS:
            return line, f"unknown instruction: {cmd}"
        if cmd in ("env", "label") and not value:
            return line, f"{cmd.upper()} requires at least one argument"
        if cmd == "from":
            if len(value) == 3 and value[1].lower() == "as":
                if not valid_stage_name(value[2]):
                    return line, f"invalid name for build stage: {value[2]!r}"
            elif len(value) != 1:
                return line, "FROM requires either one or three arguments"
    return None


def error_line(rec):
    """The line of dfopt's `LINE:COL: message` error, or None."""
    head = (rec.get("error") or "").split(":", 1)[0]
    return int(head) if head.isdigit() else None


def die(msg):
    sys.stderr.write(f"buildkit-agreement: {msg}\n")
    sys.exit(2)


def read_manifest(corpus):
    path = os.path.join(corpus, "MANIFEST.tsv")
    try:
        with open(path, encoding="utf-8") as f:
            rows = f.read().splitlines()
    except OSError as e:
        die(f"cannot read {path}: {e}")
    header = rows[0].split("\t")
    try:
        ip, ik = header.index("local_path"), header.index("kind")
    except ValueError:
        die(f"{path}: no local_path/kind columns")
    out = []
    for row in rows[1:]:
        cols = row.split("\t")
        if len(cols) <= max(ip, ik) or cols[ik] == "parser-result":
            continue
        out.append((cols[ip], cols[ik]))
    return out


def oracle_python(venv):
    py = os.path.join(venv, "bin", "python")
    ok = os.path.exists(py) and subprocess.run(
        [py, "-c", "import dockerfile"], capture_output=True
    ).returncode == 0
    if not ok:
        setup = os.path.join(ROOT, "scripts", "setup-oracles.sh")
        r = subprocess.run(["bash", setup, venv], stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        if r.returncode != 0:
            die(f"{setup} failed")
    return py


def run_lines(argv, stdin=None):
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True, errors="replace")
    recs = []
    for line in r.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "path" in rec:
            recs.append(rec)
    return r.returncode, recs, r.stderr


def buildkit_view(py, paths):
    """BuildKit's records by path. A crash of the Go side (it can abort the whole interpreter) is
    caught per batch: that batch is redone file by file."""
    out = {}
    for i in range(0, len(paths), 500):
        batch = paths[i : i + 500]
        _, recs, _ = run_lines([py, "-c", ORACLE], "\n".join(batch) + "\n")
        got = {r["path"]: r for r in recs}
        if len(got) < len(batch):
            for p in batch:
                if p not in got:
                    _, one, err = run_lines([py, "-c", ORACLE], p + "\n")
                    got[p] = one[0] if one else {
                        "path": p, "ok": False, "instructions": [],
                        "error": "oracle crashed: " + err.strip()[-200:],
                    }
        out.update(got)
    return out


def dfopt_view(binary, paths):
    """dfopt's records by path; a crash (a panic or a missing record) is reported per file."""
    out = {}
    for i in range(0, len(paths), 200):
        batch = paths[i : i + 200]
        rc, recs, _ = run_lines([binary, "parse", *batch])
        got = {r.get("path"): r for r in recs}
        if rc != 0 or any(p not in got for p in batch):
            for p in batch:
                rc1, one, err = run_lines([binary, "parse", p])
                if rc1 != 0 or not one:
                    got[p] = {"path": p, "ok": False, "instructions": [], "crash": True,
                              "error": f"dfopt parse exited {rc1}: " + err.strip()[-300:]}
                else:
                    got[p] = one[0]
        out.update(got)
    return out


def unjudged(rec):
    err = rec.get("error") or ""
    return err.startswith(("UnicodeDecodeError", "oracle crashed"))


def norm(ins, field):
    v = ins.get(field)
    if field in ("cmd", "sub_cmd") and isinstance(v, str):
        return v.lower()
    if field in ("flags", "heredocs"):
        return list(v or [])
    if field == "json":
        return bool(v)
    return v


def compare(bk, df):
    """A list of differences between BuildKit's and dfopt's instructions (empty when they agree)."""
    diffs = []
    a, b = bk["instructions"], df.get("instructions") or []
    if len(a) != len(b):
        diffs.append(f"instruction count: buildkit {len(a)}, dfopt {len(b)}")
    for n, (x, y) in enumerate(zip(a, b), 1):
        for f in FIELDS:
            vx, vy = norm(x, f), norm(y, f)
            # The wrapper reports an ONBUILD's heredocs from its trigger node, which never holds them
            # (BuildKit attaches them to the ONBUILD node): nothing to compare there.
            if f == "heredocs" and x.get("sub_cmd") and not vx:
                continue
            if vx != vy:
                diffs.append(f"#{n} (line {x.get('start_line')}, {x.get('cmd')}) {f}: "
                             f"buildkit {vx!r}, dfopt {vy!r}")
        if len(diffs) > 6:
            break
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
    ap.add_argument("--dfopt", help="dfopt binary (default: target/release/dfopt, else target/debug/dfopt)")
    ap.add_argument("--venv", default=os.environ.get("DFOPT_ORACLES")
                    or os.path.join(os.path.expanduser("~"), ".cache", "dfopt-oracles"))
    ap.add_argument("--show", type=int, default=20, help="print the first N mismatches (default 20)")
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="also compare N generated files (differential test)")
    ap.add_argument("--seed", type=int, default=1, help="seed for --random (default 1)")
    args = ap.parse_args()

    binary = args.dfopt
    if not binary:
        for c in ("release", "debug"):
            cand = os.path.join(ROOT, "target", c, "dfopt")
            if os.path.exists(cand):
                binary = cand
                break
        else:
            die("no dfopt binary: build it (cargo build --release) or pass --dfopt")
    binary = os.path.abspath(binary)
    corpus = os.path.abspath(args.corpus)
    entries = read_manifest(corpus)
    paths = [os.path.join(corpus, p) for p, _ in entries]
    kinds = {os.path.join(corpus, p): k for p, k in entries}
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        die(f"{len(missing)} MANIFEST files missing, e.g. {missing[0]}")

    py = oracle_python(os.path.abspath(args.venv))
    bk = buildkit_view(py, paths)
    df = dfopt_view(binary, paths)

    accepted = agree = 0
    mismatches, df_rejects, crashes, extra_accepts, negative_bad = [], [], [], [], []
    no_verdict, build_bad, build_rejected = [], [], 0
    for p in paths:
        rel = os.path.relpath(p, corpus)
        b, d = bk[p], df.get(p, {"ok": False, "error": "no record", "instructions": []})
        if d.get("crash"):
            crashes.append(f"{rel}: {d.get('error')}")
        if rel.startswith("buildkit-testfiles-negative/") and d.get("ok"):
            negative_bad.append(f"{rel}: dfopt accepts a BuildKit negative test case")
        if not b["ok"] and unjudged(b):
            # The Go parser accepted the file but the Python wrapper could not hand its result back
            # (a flag or value that is not valid UTF-8 once BuildKit re-encodes it byte by byte).
            no_verdict.append(f"{rel}: {b.get('error')}")
            continue
        if not b["ok"]:
            if d.get("ok"):
                extra_accepts.append(f"{rel}: buildkit: {b.get('error')}")
            continue
        fail = build_failure(b)
        if fail:
            build_rejected += 1
            if d.get("ok") or error_line(d) != fail[0]:
                build_bad.append(f"{rel}: buildkit's build: line {fail[0]}: {fail[1]}; "
                                 f"dfopt: {d.get('error') if not d.get('ok') else 'accepts'}")
            continue
        accepted += 1
        if not d.get("ok"):
            df_rejects.append(rel)
            mismatches.append(f"{rel}: dfopt rejects: {d.get('error')}")
            continue
        diffs = compare(b, d)
        if diffs:
            mismatches.append(f"{rel} [{kinds[p]}]:\n    " + "\n    ".join(diffs))
        else:
            agree += 1

    def section(title, items):
        if items:
            print(f"== {title} ({len(items)}; first {min(len(items), args.show)})")
            for it in items[: args.show]:
                print("  " + it)

    section("mismatches on files BuildKit accepts", mismatches)
    section("dfopt crashed", crashes)
    section("negative cases dfopt accepts (must be rejected)", negative_bad)
    section("files BuildKit's build rejects that dfopt accepts or rejects at another line", build_bad)
    section("warning: files BuildKit rejects that dfopt accepts", extra_accepts)
    section("no verdict: the oracle could not report its result", no_verdict)
    gen_note, gen_ok = "", True
    if args.random > 0:
        with tempfile.TemporaryDirectory(prefix="dfopt-agreement-") as tmp:
            gpaths = generate(tmp, args.seed, args.random)
            gbk, gdf = buildkit_view(py, gpaths), dfopt_view(binary, gpaths)
            gbad, gskip = [], 0
            for p in gpaths:
                b, d = gbk[p], gdf.get(p, {"ok": False, "instructions": []})
                if not b["ok"] and unjudged(b):
                    gskip += 1
                    continue
                fail = build_failure(b) if b["ok"] else None
                if d.get("crash"):
                    gbad.append(f"{os.path.basename(p)}: dfopt crashed: {d.get('error')}")
                elif fail:
                    if d.get("ok") or error_line(d) != fail[0]:
                        gbad.append(f"{os.path.basename(p)}: buildkit's build: line {fail[0]}: {fail[1]}; "
                                    f"dfopt ok={d.get('ok')} ({d.get('error')})\n    "
                                    f"{open(p, encoding='utf-8').read()!r}"[:600])
                elif b["ok"] != bool(d.get("ok")):
                    gbad.append(f"{os.path.basename(p)}: buildkit ok={b['ok']} ({b.get('error')}), "
                                f"dfopt ok={d.get('ok')} ({d.get('error')})\n    {open(p, encoding='utf-8').read()!r}"[:600])
                elif b["ok"]:
                    diffs = compare(b, d)
                    if diffs:
                        gbad.append(f"{os.path.basename(p)}:\n    " + "\n    ".join(diffs)
                                    + f"\n    {open(p, encoding='utf-8').read()!r}"[:600])
            section(f"generated files that disagree (seed {args.seed})", gbad)
            judged = len(gpaths) - gskip
            gen_ok = not gbad
            gen_note = f" | generated {judged - len(gbad)}/{judged} agree (seed {args.seed}, {gskip} without oracle verdict)"
    pct = 100.0 * agree / accepted if accepted else 0.0
    rejected = len(paths) - accepted - len(no_verdict) - build_rejected
    negatives = sum(1 for p in paths if os.path.relpath(p, corpus).startswith("buildkit-testfiles-negative/"))
    print(
        f"agreement: {agree}/{accepted} files ({pct:.2f}%) | dfopt rejects {len(df_rejects)} that BuildKit "
        f"accepts | BuildKit rejects {rejected}, dfopt accepts {len(extra_accepts)} of them (warning) | "
        f"BuildKit's build rejects {build_rejected} more, dfopt at the same line {build_rejected - len(build_bad)} | "
        f"negative cases rejected {negatives - len(negative_bad)}/{negatives} | dfopt crashes {len(crashes)}"
        + (f" | no oracle verdict {len(no_verdict)}" if no_verdict else "")
        + gen_note
    )
    ok = accepted > 0 and agree == accepted and not negative_bad and not crashes and not build_bad and gen_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
