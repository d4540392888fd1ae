#!/usr/bin/env python3
"""Split a `perf record --call-graph dwarf` profile of dfopt into phases.

Usage: perf script -i perf.data --comm dfopt | scripts/perf-phases.py
Each sample goes to the deepest frame of its stack that names a phase (walk, read, parse, passes,
apply, diff, write, output, ...); samples with none go to `other`.
"""
import re
import sys

PHASES = [  # (phase, regex on a frame's symbol)
    ("walk (discover + ignore)", r"dfopt::discover::"),
    ("read (std::fs::read)", r"std::fs::read"),
    ("decode (UTF-8 check)", r"dfopt::write::decode"),
    ("parse (Dockerfile::parse)", r"dfopt::syntax::Dockerfile::parse"),
    ("passes (findings: rules + analysis + suppressions)", r"dfopt::engine::findings"),
    ("apply fixes", r"dfopt::edit::apply_fixes"),
    ("diff (diff::unified)", r"dfopt::diff::unified"),
    ("write (write_atomic)", r"dfopt::write::write_atomic"),
    ("display_path (cwd + relative)", r"dfopt::cli::display_path"),
    ("rayon idle / scheduling", r"rayon_core::registry::WorkerThread::wait_until_cold$|rayon_core::sleep"),
]
COMPILED = [(p, re.compile(r)) for p, r in PHASES]
ENGINE = re.compile(r"dfopt::engine::fix_source|dfopt::cli::process_bytes|dfopt::cli::process_file")
MAIN_OUT = re.compile(r"dfopt::cli::process$")


def classify(frames):
    # frames: leaf first. Deepest phase = first match from the leaf.
    for sym in frames:
        for phase, rx in COMPILED:
            if rx.search(sym):
                return phase
    for sym in frames:
        if ENGINE.search(sym):
            return "engine/cli glue (clones, formatting, alloc)"
        if MAIN_OUT.search(sym):
            return "main thread: output + collect"
    return "other (startup, exit, kernel, unattributed)"


counts = {}
total = 0
frames = []
in_sample = False


def flush():
    global total, frames
    if frames:
        p = classify(frames)
        counts[p] = counts.get(p, 0) + 1
        total += 1
    frames = []


for line in sys.stdin:
    if not line.strip():
        flush()
        continue
    if not line.startswith((" ", "\t")):
        flush()
        frames = []
        continue
    parts = line.strip().split(None, 1)
    if len(parts) == 2:
        sym = re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0])
        frames.append(sym)
    else:
        frames.append("?")
flush()
print(f"| phase | samples | share |")
print(f"|---|---:|---:|")
for p, c in sorted(counts.items(), key=lambda x: -x[1]):
    print(f"| {p} | {c} | {100.0 * c / max(total, 1):.1f}% |")
print(f"| total | {total} | 100% |")
