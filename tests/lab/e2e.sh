#!/usr/bin/env bash
# e2e.sh - dfopt's end-to-end bench: for each app folder (tests/apps/<name>/ by default), build
# the original Dockerfile and dfopt's rewrite (`dfopt fix --write --unsafe-fixes`) with the local
# engine, run both, probe both, and compare.  tests/lab/apps.sh runs the same bench on the
# real-app lab (tests/lab/apps/) with the settings below.
#
#   DFOPT=path/to/dfopt   (default target/release/dfopt; not needed with REWRITE=0)
#   APPS="node go ..."    (default: every app whose base images exist in the engine)
#   APPS_DIR=DIR          app folders (default tests/apps)
#   E2E_REPORT=FILE       markdown table (default target/e2e-report.md)
#   FIX_ARGS="..."        extra flags for `dfopt fix` (e.g. --final distroless, --select ALL)
#   REWRITE=0             build and probe the originals only (no dfopt)
#   STRICT=0              only originals count for the exit code (a rewrite that fails, answers
#                         differently or is not smaller is reported, not fatal)
#   REQUIRE_IMAGES=1      an app whose base image is missing fails instead of being skipped
#   BUILD_NETWORK=host    `docker build --network host` (registries are reachable only that way)
#   LAB_CA=1              build FROM dfopt-lab/<image> wherever make-images.sh made that CA
#                         variant (swapped in the build copies after dfopt ran, so dfopt sees
#                         the real names)
#   BUILD_TIMEOUT=SECS    per build (default 0: none)
#   NO_CACHE=1            docker build --no-cache (honest build times)
#   KEEP=1                keep the temp folder and images (for debugging)
#
# Each app folder holds a single-stage Dockerfile and probe.txt:
#   port=, path=          HTTP probe of the running container (on 127.0.0.1), or
#   mode=run, args=       run the image with args, probe its standard output and exit code;
#   status=, body=, contains=   what the original must answer (exact status, exact body with
#                         trailing newlines ignored, a line it contains: contains= may repeat);
#                         all optional.
# A rewrite must answer byte for byte what the original answered.
# Prints a table and writes it as markdown.  Exit 0 when every original builds and answers
# (and, with STRICT=1, every rewrite dfopt made builds, answers the same and is smaller; an app
# dfopt leaves unchanged passes); 1 otherwise; 2 on setup
# errors.  Cleans up every container and image it created (tags dfopt-e2e-<pid>-<app>:before/
# after); BuildKit's cache stays, so a re-run is quick.
set -Euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
DFOPT=${DFOPT:-$ROOT/target/release/dfopt}
APPS_DIR=${APPS_DIR:-$ROOT/tests/apps}
REPORT=${E2E_REPORT:-$ROOT/target/e2e-report.md}
FIX_ARGS=${FIX_ARGS:-}
REWRITE=${REWRITE:-1}
STRICT=${STRICT:-1}
REQUIRE_IMAGES=${REQUIRE_IMAGES:-0}
BUILD_NETWORK=${BUILD_NETWORK:-}
LAB_CA=${LAB_CA:-0}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-0}
KEEP=${KEEP:-0}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-30}
LOG_TAG=${LOG_TAG:-e2e}
export DOCKER_BUILDKIT=1

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$LOG_TAG" -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

case $APPS_DIR in /*) ;; *) APPS_DIR=$PWD/$APPS_DIR ;; esac
if [ "$REWRITE" = 1 ]; then
	case $DFOPT in /*) ;; *) DFOPT=$PWD/$DFOPT ;; esac
	[ -x "$DFOPT" ] || die "no dfopt binary at $DFOPT (cargo build --release, or set DFOPT)"
fi
"$DOCKER" info >/dev/null 2>&1 || die "no Docker engine (start one with tests/lab/start-docker.sh)"
command -v curl >/dev/null || die "curl is needed"

T_START=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dfopt-e2e.XXXXXX")
PREFIX=dfopt-e2e-$$
CONTAINERS=()
IMAGES=()
cleanup() {
	local c i
	for c in "${CONTAINERS[@]}"; do "$DOCKER" rm -f -v "$c" >/dev/null 2>&1 || true; done
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

# LAB_CA: FROM <image> -> FROM dfopt-lab/<image> where that variant exists
swap_ca_images() { # Dockerfile
	local img re
	while read -r img; do
		[ -n "$img" ] || continue
		"$DOCKER" image inspect "dfopt-lab/$img" >/dev/null 2>&1 || continue
		re=$(printf '%s' "$img" | sed 's/[.[\*^$/]/\\&/g')
		sed -i -E "s/^([[:space:]]*[Ff][Rr][Oo][Mm]([[:space:]]+--[^[:space:]]+)*[[:space:]]+)$re([[:space:]]|\$)/\1dfopt-lab\/$img\3/" "$1"
	done < <(from_images "$1")
}

probe_value() { # FILE KEY
	sed -n "s/^$2=//p" "$1" | head -1
}

# probe NAME IMAGE PROBEFILE OUTDIR : run the image, ask it, write OUTDIR/NAME.{status,body,log}
probe() {
	local name=$1 image=$2 pf=$3 dir=$4 cid hostport deadline code port path args rc
	: >"$dir/$name.body"; echo 000 >"$dir/$name.status"
	if [ "$(probe_value "$pf" mode)" = run ]; then
		args=$(probe_value "$pf" args)
		CONTAINERS+=("$PREFIX-$name")
		# shellcheck disable=SC2086
		timeout "$PROBE_TIMEOUT" "$DOCKER" run --rm --name "$PREFIX-$name" "$image" $args \
			>"$dir/$name.body" 2>"$dir/$name.log"
		rc=$?
		echo "exit $rc" >"$dir/$name.status"
		return 0
	fi
	port=$(probe_value "$pf" port); path=$(probe_value "$pf" path)
	cid=$("$DOCKER" run -d --name "$PREFIX-$name" -p "127.0.0.1::$port" "$image") || return 1
	CONTAINERS+=("$PREFIX-$name")
	hostport=$("$DOCKER" port "$cid" "$port/tcp" | head -1)
	hostport=${hostport##*:}
	deadline=$(( $(date +%s) + PROBE_TIMEOUT ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		code=$(curl -s -o "$dir/$name.body" -w '%{http_code}' --max-time 3 "http://127.0.0.1:$hostport$path" 2>/dev/null) || code=000
		if [ "$code" != 000 ]; then echo "$code" >"$dir/$name.status"; break; fi
		if [ "$("$DOCKER" inspect -f '{{.State.Running}}' "$cid" 2>/dev/null)" != true ]; then
			log "$name: container exited"; "$DOCKER" logs "$cid" 2>&1 | tail -5 >&2; break
		fi
		sleep 0.5
	done
	"$DOCKER" logs "$cid" >"$dir/$name.log" 2>&1 || true
	"$DOCKER" rm -f -v "$cid" >/dev/null 2>&1 || true
}

# expected PROBEFILE DIR NAME : empty when NAME's answer is what probe.txt expects, else why not
expected() {
	local pf=$1 dir=$2 name=$3 st want
	st=$(cat "$dir/$name.status")
	want=$(probe_value "$pf" status)
	if [ "$(probe_value "$pf" mode)" = run ]; then want=${want:-exit 0}; else want=${want:-}; fi
	if [ "$st" = 000 ]; then echo "no answer"; return; fi
	if [ -n "$want" ] && [ "$st" != "$want" ]; then echo "got $st, expected $want"; return; fi
	want=$(probe_value "$pf" body)
	if [ -n "$want" ] && [ "$(cat "$dir/$name.body")" != "$want" ]; then echo "body differs from probe.txt"; return; fi
	while IFS= read -r want; do
		[ -z "$want" ] || grep -qF -- "$want" "$dir/$name.body" || { echo "body lacks '$want'"; return; }
	done < <(sed -n 's/^contains=//p' "$pf")
}

# build SIDE : build $work/$SIDE, set SIZE/LAYERS/SECS/BASE[SIDE]; 0 on success
build() {
	local side=$1 tag t0 rc net=() tmo=()
	tag=$PREFIX-$app:$side
	[ -z "$BUILD_NETWORK" ] || net=(--network "$BUILD_NETWORK")
	[ "${NO_CACHE:-0}" != 1 ] || net+=(--no-cache)
	[ "$BUILD_TIMEOUT" = 0 ] || tmo=(timeout "$BUILD_TIMEOUT")
	t0=$(date +%s)
	log "$app: building $side"
	"${tmo[@]}" "$DOCKER" build "${net[@]}" -t "$tag" -f "$work/$side/Dockerfile" "$work/$side" >"$work/build-$side.log" 2>&1
	rc=$?
	SECS[$side]=$(( $(date +%s) - t0 ))
	BASE[$side]=$(final_base "$work/$side/Dockerfile.orig")
	if [ $rc != 0 ]; then
		[ $rc != 124 ] || log "$app: $side build timed out after ${BUILD_TIMEOUT}s"
		log "$app: $side build FAILED (rc=$rc, log $work/build-$side.log)"; tail -20 "$work/build-$side.log" >&2
		"$DOCKER" image inspect "$tag" >/dev/null 2>&1 && IMAGES+=("$tag")
		return 1
	fi
	IMAGES+=("$tag")
	log "$app: built $side in ${SECS[$side]}s"
	SIZE[$side]=$("$DOCKER" image inspect -f '{{.Size}}' "$tag")
	LAYERS[$side]=$("$DOCKER" image inspect -f '{{len .RootFS.Layers}}' "$tag")
}

mb() { awk -v b="$1" 'BEGIN{ if (b=="" || b=="-") print "-"; else printf "%.1f", b/1e6 }'; }

if [ -n "${APPS:-}" ]; then
	read -r -a APP_LIST <<<"$APPS"
	EXPLICIT=1
else
	APP_LIST=()
	for d in "$APPS_DIR"/*/; do [ -f "$d/Dockerfile" ] && APP_LIST+=("$(basename "$d")"); done
	EXPLICIT=$REQUIRE_IMAGES
fi

if [ "$REWRITE" = 1 ]; then
	HEAD="app|built|answers|MB|build s|rewrite built|rewrite MB|rewrite build s|smaller|final base|same answer"
	ALIGN="|---|---|---|---:|---:|---|---:|---:|---|---|---|"
else
	HEAD="app|built|answers|MB|build s|final base"
	ALIGN="|---|---|---|---:|---:|---|"
fi
ROWS=()
FAILED=0
for app in "${APP_LIST[@]}"; do
	src=$APPS_DIR/$app
	[ -f "$src/Dockerfile" ] || die "no $src/Dockerfile"
	[ -f "$src/probe.txt" ] || die "no $src/probe.txt"
	missing=()
	while read -r img; do
		[ -n "$img" ] || continue
		"$DOCKER" image inspect "$img" >/dev/null 2>&1 || missing+=("$img")
	done < <(from_images "$src/Dockerfile")
	if [ ${#missing[@]} -gt 0 ]; then
		if [ "$EXPLICIT" = 1 ]; then
			log "$app: base image(s) missing: ${missing[*]} (run tests/lab/make-images.sh)"
			if [ "$REWRITE" = 1 ]; then ROWS+=("$app|no (missing ${missing[*]})|-|-|-|-|-|-|-|-|-")
			else ROWS+=("$app|no (missing ${missing[*]})|-|-|-|-"); fi
			FAILED=1; continue
		fi
		log "$app: skipped, base image(s) missing: ${missing[*]}"; continue
	fi
	work=$TMP/$app; mkdir -p "$work"
	cp -a "$src" "$work/before"
	# offline: a `# syntax=` line would make BuildKit fetch the frontend image
	sed -i '/^#[[:space:]]*syntax[[:space:]]*=/Id' "$work/before/Dockerfile"
	declare -A SIZE=() LAYERS=() BASE=() SECS=()
	rewrite_note=""
	if [ "$REWRITE" = 1 ]; then
		cp -a "$work/before" "$work/after"
		# shellcheck disable=SC2086
		"$DFOPT" fix --write --unsafe-fixes $FIX_ARGS "$work/after/Dockerfile" >"$work/fix.out" 2>&1
		rc=$?
		if [ $rc -ge 2 ]; then
			log "$app: dfopt fix failed (rc=$rc)"; cat "$work/fix.out" >&2
			rewrite_note="dfopt fix failed (rc=$rc)"
		fi
		diff -u "$work/before/Dockerfile" "$work/after/Dockerfile" >"$work/fix.diff" || true
		[ -n "$rewrite_note" ] || [ -s "$work/fix.diff" ] || rewrite_note="unchanged"
		log "$app: dfopt: $(tr '\n' ' ' <"$work/fix.out")"
		[ -z "${DIFF_DIR:-}" ] || { mkdir -p "$DIFF_DIR"; cp "$work/fix.diff" "$DIFF_DIR/$app.diff"; }
	fi
	for side in before after; do
		[ -d "$work/$side" ] || continue
		cp "$work/$side/Dockerfile" "$work/$side/Dockerfile.orig"
		[ "$LAB_CA" != 1 ] || swap_ca_images "$work/$side/Dockerfile"
	done
	pf=$src/probe.txt
	# the original
	orig_built=yes; answers=-
	if build before; then
		probe before "$PREFIX-$app:before" "$pf" "$work" || true
		why=$(expected "$pf" "$work" before)
		if [ -z "$why" ]; then answers=yes; else answers="no ($why)"; FAILED=1; fi
		log "$app: original: $(cat "$work/before.status") '$(head -c 80 "$work/before.body" | tr '\n' ' ')'"
	else
		orig_built="no"; FAILED=1
	fi
	row="$app|$orig_built|$answers|$(mb "${SIZE[before]:-}")|${SECS[before]:--}"
	# the rewrite
	if [ "$REWRITE" = 1 ]; then
		if [ -n "$rewrite_note" ]; then
			row="$row|$rewrite_note|-|-|-|${BASE[before]:--}|-"
			[ "$rewrite_note" = unchanged ] || { [ "$STRICT" = 0 ] || FAILED=1; }
		elif [ "$orig_built" != yes ]; then
			row="$row|not tried|-|-|-|${BASE[before]:--}|-"
		else
			base=${BASE[before]:--}
			same=no
			gone=()
			while read -r img; do
				[ -n "$img" ] || continue
				"$DOCKER" image inspect "$img" >/dev/null 2>&1 || gone+=("$img")
			done < <(from_images "$work/after/Dockerfile")
			if [ ${#gone[@]} -gt 0 ]; then
				# the rewrite names an image the lab has no stand-in for (e.g. one never published)
				log "$app: the rewrite names image(s) the lab does not have: ${gone[*]}"
				after_built="no (no image ${gone[*]})"; same="-"
				BASE[after]=$(final_base "$work/after/Dockerfile.orig")
			elif build after; then
				after_built=yes
				probe after "$PREFIX-$app:after" "$pf" "$work" || true
				if [ "$(cat "$work/before.status")" != 000 ] &&
					[ "$(cat "$work/before.status")" = "$(cat "$work/after.status")" ] &&
					cmp -s "$work/before.body" "$work/after.body"; then
					same=yes
				else
					same="no (rewrite: $(cat "$work/after.status") '$(head -c 60 "$work/after.body" | tr '\n|' '  ')')"
				fi
				[ "$answers" = yes ] || same="$same (original did not answer as expected)"
				log "$app: rewrite: $(cat "$work/after.status") '$(head -c 80 "$work/after.body" | tr '\n' ' ')'"
			else
				after_built=no; same="-"
			fi
			[ "${BASE[after]:-}" = "" ] || [ "${BASE[after]}" = "$base" ] || base="$base → ${BASE[after]}"
			smaller=-
			if [ -n "${SIZE[after]:-}" ] && [ -n "${SIZE[before]:-}" ]; then
				if [ "${SIZE[after]}" -lt "${SIZE[before]}" ]; then smaller=yes; else smaller=no; fi
			fi
			# STRICT: a rewrite must build, answer byte for byte the same, and be smaller
			if [ "$same" != yes ] || [ "$smaller" != yes ]; then
				log "$app: rewrite not accepted (built: $after_built, same answer: $same, smaller: $smaller)"
				[ "$STRICT" = 0 ] || FAILED=1
			fi
			row="$row|$after_built|$(mb "${SIZE[after]:-}")|${SECS[after]:--}|$smaller|$base|$same"
		fi
	else
		row="$row|${BASE[before]:--}"
	fi
	ROWS+=("$row")
	unset SIZE LAYERS BASE SECS
done

[ ${#ROWS[@]} -gt 0 ] || die "no app was run"

TOTAL=$(( $(date +%s) - T_START ))
{
	echo "| ${HEAD//|/ | } |"
	echo "$ALIGN"
	for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
	echo
	fix=""; [ "$REWRITE" != 1 ] || fix=${FIX_ARGS:+, fix args: $FIX_ARGS}
	echo "${#ROWS[@]} apps in ${TOTAL} s (REWRITE=$REWRITE${NO_CACHE:+, NO_CACHE=$NO_CACHE}$fix)."
} >"$TMP/report.md"
mkdir -p "$(dirname "$REPORT")"
cp "$TMP/report.md" "$REPORT"
{ echo "$HEAD"; printf '%s\n' "${ROWS[@]}"; } | column -t -s '|' -o '  '
log "${#ROWS[@]} apps in ${TOTAL}s; markdown table written to $REPORT"
exit $FAILED
