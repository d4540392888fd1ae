#!/usr/bin/env bash
# apps.sh - the real-app lab: builds every app in tests/lab/apps/<name>/ from its original
# single-stage Dockerfile (sequentially, `docker build --network host` on the dfopt-lab/<image>
# CA variants so npm ci / pip install / cargo build reach the registries, a timeout per build),
# runs it on 127.0.0.1, probes it (probe.txt), prints a table (app, built, answers, image size,
# build seconds) and writes it as markdown.  The bench itself is e2e.sh; this sets its knobs.
#
#   REWRITE=1 DFOPT=path   also apply `dfopt fix --write --unsafe-fixes --select ALL` to a copy,
#                          build and probe the rewrite, and compare (answers the same? smaller?)
#   APPS="express-hooks go-http ..."   a subset (default: all)
#   APPS_REPORT=FILE       markdown (default target/lab-apps.md, target/lab-apps-rewrite.md
#                          with REWRITE=1)
#   BUILD_TIMEOUT=SECS     per build (default 900)
#   DIFF_DIR=DIR           keep dfopt's diff of each app there (REWRITE=1)
#
# Needs: tests/lab/start-docker.sh, then `ONLY=trixie tests/lab/make-images.sh` (the apps use
# the Debian 13 stand-ins; the ca group makes the dfopt-lab/ variants).
# Exit 1 when an ORIGINAL fails to build or to answer what probe.txt expects (or a base image
# is missing); a rewrite that fails to build, answers differently or is not smaller is reported,
# not fatal (STRICT=1 makes it fatal: CI's lab step); 2 on setup errors.
set -Euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REWRITE=${REWRITE:-0}
if [ "$REWRITE" = 1 ]; then DEFAULT_REPORT=$ROOT/target/lab-apps-rewrite.md; else DEFAULT_REPORT=$ROOT/target/lab-apps.md; fi

export APPS_DIR=$HERE/apps
export E2E_REPORT=${APPS_REPORT:-$DEFAULT_REPORT}
export REWRITE
export FIX_ARGS=${FIX_ARGS:---select ALL}
export STRICT=${STRICT:-0}
export REQUIRE_IMAGES=1
export BUILD_NETWORK=${BUILD_NETWORK:-host}
export LAB_CA=${LAB_CA:-1}
export BUILD_TIMEOUT=${BUILD_TIMEOUT:-900}
export PROBE_TIMEOUT=${PROBE_TIMEOUT:-60}
export LOG_TAG=lab-apps
exec bash "$HERE/e2e.sh" "$@"
