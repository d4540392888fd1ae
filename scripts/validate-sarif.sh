#!/usr/bin/env bash
# Validates dfopt's SARIF output with sarif-pydantic (the SARIF 2.1.0 schema as pydantic models)
# plus the structural rules GitHub code scanning relies on.
# Usage: validate-sarif.sh DFOPT_BIN VENV
set -euo pipefail
bin=$(realpath "$1"); venv=$2
"$venv/bin/python" -c 'import sarif_pydantic' 2>/dev/null || "$venv/bin/pip" install -q --disable-pip-version-check 'sarif-pydantic==0.6.2'
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/a" "$dir/b"
printf 'FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y curl\n' > "$dir/a/Dockerfile"
printf 'FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["node", "index.js"]\n' > "$dir/b/Dockerfile"
(cd "$dir" && "$bin" check --format sarif --select ALL . > out.sarif || true)
"$venv/bin/python" - "$dir/out.sarif" <<'PY'
import json, sys
from sarif_pydantic import Sarif
doc = json.load(open(sys.argv[1]))
Sarif.model_validate(doc)
assert doc["version"] == "2.1.0"
run = doc["runs"][0]
ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
assert run["results"], "no results"
for r in run["results"]:
    assert r["ruleId"] in ids, r["ruleId"]
    region = r["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] >= 1 and region["startColumn"] >= 1
print(f"SARIF ok: {len(run['results'])} results, {len(ids)} rules")
PY
