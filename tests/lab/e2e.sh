#!/usr/bin/env bash
# e2e.sh - dfopt's end-to-end bench: for each sample app in tests/apps/<name>/, build the
# original Dockerfile and dfopt's rewrite (`dfopt fix --write --unsafe-fixes`) with the local
# engine, run both, probe both over HTTP, and compare.
#
#   DFOPT=path/to/dfopt   (default target/release/dfopt)
#   APPS="node go ..."    (default: every app whose base images exist in the engine)
#   E2E_REPORT=FILE       markdown table (default target/e2e-report.md)
#   FIX_ARGS="..."        extra flags for `dfopt fix` (e.g. --final distroless)
#   KEEP=1                keep the temp folder and images (for debugging)
#
# Each app folder holds a single-stage Dockerfile and probe.txt (port=, path=, status=, body=).
# Prints a table (app, sizes, layers, final base, same answer) and writes it as markdown.
# Exit 0 when every app builds both ways and answers the same; 1 otherwise; 2 on setup errors.
# Cleans up every container and image it created (tags dfopt-e2e-<pid>-<app>:before/after).
set -Euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
DFOPT=${DFOPT:-$ROOT/target/release/dfopt}
REPORT=${E2E_REPORT:-$ROOT/target/e2e-report.md}
FIX_ARGS=${FIX_ARGS:-}
KEEP=${KEEP:-0}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-30}
export DOCKER_BUILDKIT=1

log() { printf '[e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

case $DFOPT in /*) ;; *) DFOPT=$PWD/$DFOPT ;; esac
[ -x "$DFOPT" ] || die "no dfopt binary at $DFOPT (cargo build --release, or set DFOPT)"
"$DOCKER" info >/dev/null 2>&1 || die "no Docker engine (start one with tests/lab/start-docker.sh)"
command -v curl >/dev/null || die "curl is needed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dfopt-e2e.XXXXXX")
PREFIX=dfopt-e2e-$$
CONTAINERS=()
IMAGES=()
cleanup() {
	local c i
	for c in "${CONTAINERS[@]}"; do "$DOCKER" rm -f "$c" >/dev/null 2>&1 || true; done
	if [ "$KEEP" = 1 ]; then log "kept $TMP and images ${IMAGES[*]}"; return; fi
	for i in "${IMAGES[@]}"; do "$DOCKER" image rm -f "$i" >/dev/null 2>&1 || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the images FROM lines name (stage aliases and ARG-expanded names excluded)
from_images() { # Dockerfile
	awk 'BEGIN{IGNORECASE=1}
		$1 ~ /^FROM$/ { img=""; for (i=2;i<=NF;i++) if ($i !~ /^--/) { img=$i; break }
			if (img != "" && !(tolower(img) in alias) && img !~ /\$/ && tolower(img) != "scratch") print img
			for (i=2;i<NF;i++) if (tolower($i)=="as") alias[tolower($(i+1))]=1 }' "$1" | sort -u
}

# the base image of the final stage, following stage aliases (FROM builder AS final ...)
final_base() { # Dockerfile
	awk 'BEGIN{IGNORECASE=1}
		$1 ~ /^FROM$/ { img=""; for (i=2;i<=NF;i++) if ($i !~ /^--/) { img=$i; break }
			name=""; for (i=2;i<NF;i++) if (tolower($i)=="as") name=tolower($(i+1))
			base=(tolower(img) in of) ? of[tolower(img)] : img
			if (name != "") of[name]=base
			last=base }
		END { print last }' "$1"
}

probe_value() { # FILE KEY
	sed -n "s/^$2=//p" "$1" | head -1
}

# probe NAME IMAGE PORT PATH OUTDIR : run the image, poll the URL, write OUTDIR/NAME.{status,body}
probe() {
	local name=$1 image=$2 port=$3 path=$4 dir=$5 cid hostport deadline code
	cid=$("$DOCKER" run -d --name "$PREFIX-$name" -p "127.0.0.1::$port" "$image") || return 1
	CONTAINERS+=("$PREFIX-$name")
	hostport=$("$DOCKER" port "$cid" "$port/tcp" | head -1)
	hostport=${hostport##*:}
	deadline=$(( $(date +%s) + PROBE_TIMEOUT ))
	: >"$dir/$name.body"; echo 000 >"$dir/$name.status"
	while [ "$(date +%s)" -lt "$deadline" ]; do
		code=$(curl -s -o "$dir/$name.body" -w '%{http_code}' --max-time 3 "http://127.0.0.1:$hostport$path" 2>/dev/null) || code=000
		if [ "$code" != 000 ]; then echo "$code" >"$dir/$name.status"; break; fi
		if [ "$("$DOCKER" inspect -f '{{.State.Running}}' "$cid" 2>/dev/null)" != true ]; then
			log "$name: container exited"; "$DOCKER" logs "$cid" 2>&1 | tail -5 >&2; break
		fi
		sleep 0.5
	done
	"$DOCKER" logs "$cid" >"$dir/$name.log" 2>&1 || true
	"$DOCKER" rm -f "$cid" >/dev/null 2>&1 || true
}

mb() { awk -v b="$1" 'BEGIN{ if (b=="" || b=="-") print "-"; else printf "%.1f", b/1e6 }'; }

if [ -n "${APPS:-}" ]; then
	read -r -a APP_LIST <<<"$APPS"
	EXPLICIT=1
else
	APP_LIST=()
	for d in "$ROOT"/tests/apps/*/; do [ -f "$d/Dockerfile" ] && APP_LIST+=("$(basename "$d")"); done
	EXPLICIT=0
fi

ROWS=()
FAILED=0
for app in "${APP_LIST[@]}"; do
	src=$ROOT/tests/apps/$app
	[ -f "$src/Dockerfile" ] || die "no tests/apps/$app/Dockerfile"
	missing=()
	while read -r img; do
		[ -n "$img" ] || continue
		"$DOCKER" image inspect "$img" >/dev/null 2>&1 || missing+=("$img")
	done < <(from_images "$src/Dockerfile")
	if [ ${#missing[@]} -gt 0 ]; then
		if [ "$EXPLICIT" = 1 ]; then
			log "$app: base image(s) missing: ${missing[*]} (run tests/lab/make-images.sh)"
			ROWS+=("$app|-|-|-|-|build failed (missing ${missing[*]})"); FAILED=1; continue
		fi
		log "$app: skipped, base image(s) missing: ${missing[*]}"; continue
	fi
	work=$TMP/$app; mkdir -p "$work"
	cp -a "$src" "$work/before"; cp -a "$src" "$work/after"
	# offline: a `# syntax=` line would make BuildKit fetch the frontend image
	sed -i '/^#[[:space:]]*syntax[[:space:]]*=/Id' "$work/before/Dockerfile" "$work/after/Dockerfile"
	# shellcheck disable=SC2086
	"$DFOPT" fix --write --unsafe-fixes $FIX_ARGS "$work/after/Dockerfile" >"$work/fix.out" 2>&1
	rc=$?
	if [ $rc -ge 2 ]; then
		log "$app: dfopt fix failed (rc=$rc)"; cat "$work/fix.out" >&2
		ROWS+=("$app|-|-|-|-|dfopt fix failed"); FAILED=1; continue
	fi
	diff -u "$work/before/Dockerfile" "$work/after/Dockerfile" >"$work/fix.diff" || true
	log "$app: dfopt: $(tr '\n' ' ' <"$work/fix.out")"
	declare -A SIZE=() LAYERS=() BASE=()
	ok=1
	for side in before after; do
		tag=$PREFIX-$app:$side
		t0=$(date +%s)
		log "$app: building $side"
		if ! "$DOCKER" build -t "$tag" -f "$work/$side/Dockerfile" "$work/$side" >"$work/build-$side.log" 2>&1; then
			log "$app: $side build FAILED"; tail -20 "$work/build-$side.log" >&2; ok=0
			"$DOCKER" image inspect "$tag" >/dev/null 2>&1 && IMAGES+=("$tag")
			continue
		fi
		IMAGES+=("$tag")
		log "$app: built $side in $(( $(date +%s) - t0 ))s"
		SIZE[$side]=$("$DOCKER" image inspect -f '{{.Size}}' "$tag")
		LAYERS[$side]=$("$DOCKER" image inspect -f '{{len .RootFS.Layers}}' "$tag")
		BASE[$side]=$(final_base "$work/$side/Dockerfile")
	done
	base=${BASE[before]:--}
	[ "${BASE[after]:-}" = "" ] || [ "${BASE[after]}" = "$base" ] || base="$base → ${BASE[after]}"
	if [ $ok = 0 ]; then
		ROWS+=("$app|$(mb "${SIZE[before]:-}")|$(mb "${SIZE[after]:-}")|${LAYERS[before]:--} / ${LAYERS[after]:--}|$base|build failed")
		FAILED=1; unset SIZE LAYERS BASE; continue
	fi
	port=$(probe_value "$src/probe.txt" port); path=$(probe_value "$src/probe.txt" path)
	want_status=$(probe_value "$src/probe.txt" status); want_body=$(probe_value "$src/probe.txt" body)
	probe before "$PREFIX-$app:before" "$port" "$path" "$work" || true
	probe after "$PREFIX-$app:after" "$port" "$path" "$work" || true
	same=no
	if [ "$(cat "$work/before.status")" != 000 ] &&
		[ "$(cat "$work/before.status")" = "$(cat "$work/after.status")" ] &&
		cmp -s "$work/before.body" "$work/after.body"; then
		same=yes
	fi
	note=""
	if [ -n "$want_status" ] && [ "$(cat "$work/before.status")" != "$want_status" ]; then
		note=" (before: HTTP $(cat "$work/before.status"), expected $want_status)"; same=no
	elif [ -n "$want_body" ] && [ "$(cat "$work/before.body")" != "$want_body" ]; then
		note=" (before's body is not the expected one)"; same=no
	fi
	log "$app: before HTTP $(cat "$work/before.status") '$(head -c 80 "$work/before.body")'; after HTTP $(cat "$work/after.status") '$(head -c 80 "$work/after.body")'"
	[ $same = yes ] || FAILED=1
	ROWS+=("$app|$(mb "${SIZE[before]}")|$(mb "${SIZE[after]}")|${LAYERS[before]} / ${LAYERS[after]}|$base|$same$note")
	unset SIZE LAYERS BASE
done

[ ${#ROWS[@]} -gt 0 ] || die "no app was run"

HEAD="app|before MB|after MB|layers before / after|final base|same answer"
{
	echo "| ${HEAD//|/ | } |"
	echo "|---|---:|---:|---:|---|---|"
	for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
} >"$TMP/report.md"
mkdir -p "$(dirname "$REPORT")"
cp "$TMP/report.md" "$REPORT"
{ echo "$HEAD"; printf '%s\n' "${ROWS[@]}"; } | column -t -s '|' -o '  '
log "markdown table written to $REPORT"
exit $FAILED
