#!/usr/bin/env bash
# Compares what two dfopt binaries print over the corpus (standard output, standard error and exit
# status), byte for byte, in the modes that cover
# every rule (safe and unsafe fixes, every output format that carries findings, every final image).
# Used to show that a refactoring changes no output:
#
#   bash scripts/compare-binaries.sh OLD_BIN NEW_BIN [CORPUS]
#
# Exit 0 when every mode prints the same bytes (stdout and exit status), 1 otherwise, with the
# first lines of each differing output. The corpus is read in place and never written: every mode
# is a dry run.
set -uo pipefail
old=${1:?usage: compare-binaries.sh OLD_BIN NEW_BIN [CORPUS]}
new=${2:?usage: compare-binaries.sh OLD_BIN NEW_BIN [CORPUS]}
corpus=${3:-$(cd "$(dirname "$0")/../.." && pwd)/shared/corpus}
old=$(realpath "$old")
new=$(realpath "$new")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

modes=(
  "fix -q --color never"
  "fix -q --color never --unsafe-fixes"
  "fix -q --color never --select ALL --final distroless"
  "fix -q --color never --select ALL --final alpine --unsafe-fixes"
  "fix -q --color never --select ALL --final slim --unsafe-fixes"
  "check -q --color never --format json --unsafe-fixes"
  "check -q --color never --select ALL --final alpine"
  "check -q --color never --select ALL --format sarif"
  "check -q --color never --select ALL --format github --unsafe-fixes"
)

# Every Dockerfile the MANIFEST lists, named explicitly: walking the folder would only take files
# whose names look like Dockerfiles (a tenth of the corpus). Parser-result dumps are not Dockerfiles.
list=$out/files
awk -F'\t' 'NR > 1 && $6 != "parser-result" { print "corpus/" $1 }' "$corpus/MANIFEST.tsv" >"$list"

fail=0
i=0
for mode in "${modes[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086 # the mode is a list of flags
  (cd "$corpus/.." && xargs -a "$list" -d '\n' "$old" $mode --isolated) >"$out/old.$i" 2>"$out/old.$i.err"
  echo "exit $?" >>"$out/old.$i"
  # shellcheck disable=SC2086
  (cd "$corpus/.." && xargs -a "$list" -d '\n' "$new" $mode --isolated) >"$out/new.$i" 2>"$out/new.$i.err"
  echo "exit $?" >>"$out/new.$i"
  # Errors (`path:line:col: error: …`) go to standard error: compare them too.
  cat "$out/old.$i.err" >>"$out/old.$i"
  cat "$out/new.$i.err" >>"$out/new.$i"
  if cmp -s "$out/old.$i" "$out/new.$i"; then
    printf 'same      %8d bytes  dfopt %s\n' "$(wc -c <"$out/old.$i")" "$mode"
  else
    printf 'DIFFERENT               dfopt %s\n' "$mode"
    diff "$out/old.$i" "$out/new.$i" | head -20 | cut -c1-300
    fail=1
  fi
done
if [ "$fail" = 0 ]; then
  echo "identical: ${#modes[@]} modes over $(wc -l <"$list") files"
fi
exit "$fail"
