#!/usr/bin/env bash
# The `pip install dfopt` route, end to end: builds the wheel with maturin (pyproject.toml,
# bindings = "bin"), installs it into a fresh venv, and runs the installed `dfopt` on examples/.
# Its output must equal the release binary's. maturin comes from PyPI into a venv under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=target/wheel-check
mkdir -p "$WORK"
if [ ! -x "$WORK/tools/bin/maturin" ]; then
  python3 -m venv "$WORK/tools"
  "$WORK/tools/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.5,<2"
fi
rm -rf "$WORK/dist" "$WORK/venv"
"$WORK/tools/bin/maturin" build --release --locked --quiet --out "$WORK/dist" >&2
WHEEL=$(ls "$WORK"/dist/dfopt-*.whl)
echo "wheel: $WHEEL ($(du -h "$WHEEL" | cut -f1))"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$WHEEL"
DFOPT="$WORK/venv/bin/dfopt"
"$DFOPT" --version
# The installed binary rewrites the examples as the release build does (a dry run, then --write
# on a copy); a copy keeps examples/ untouched.
"$DFOPT" fix examples/ > "$WORK/wheel-fix.diff" 2> "$WORK/wheel-fix.err"
grep -q '^+++ ' "$WORK/wheel-fix.diff" || { echo "error: dfopt fix from the wheel changed nothing" >&2; cat "$WORK/wheel-fix.err" >&2; exit 1; }
if [ -x target/release/dfopt ]; then
  target/release/dfopt fix examples/ > "$WORK/release-fix.diff" 2>/dev/null || true
  cmp "$WORK/wheel-fix.diff" "$WORK/release-fix.diff"
fi
rm -rf "$WORK/examples" && cp -r examples "$WORK/examples"
"$DFOPT" fix --write "$WORK/examples"
"$DFOPT" fix --check "$WORK/examples" > /dev/null
echo "wheel check: ok ($(grep -c '^+++ ' "$WORK/wheel-fix.diff") files fixed by the installed dfopt)"
