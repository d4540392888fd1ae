#!/usr/bin/env bash
# start-docker.sh - make sure a Docker engine answers on this machine (idempotent).
#
#   - installs docker.io (dockerd 20.10 + the /usr/bin/docker client) when dockerd is missing;
#   - starts dockerd in the background (data root /var/lib/dfopt-lab-docker, log
#     /tmp/dfopt-dockerd.log) when `/usr/bin/docker info` fails;
#   - waits until it answers, failing loudly after 60 s.
#
# The daemon is shared by everyone on the machine: this script never stops it and never
# removes images.  Use /usr/bin/docker (the 20.10 client), not /usr/local/bin/docker.
set -Eeuo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DATA_ROOT=${DATA_ROOT:-/var/lib/dfopt-lab-docker}
LOG=${DOCKERD_LOG:-/tmp/dfopt-dockerd.log}
LOCK=${DOCKERD_LOCK:-/tmp/dfopt-dockerd.lock}

log() { printf '[start-docker %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Debian's docker.io puts dockerd in /usr/sbin; some setups have /usr/bin/dockerd.
if [ ! -x "$DOCKERD" ] && [ -x /usr/bin/dockerd ]; then DOCKERD=/usr/bin/dockerd; fi
if [ ! -x "$DOCKERD" ] || [ ! -x "$DOCKER" ]; then
	log "installing docker.io"
	[ "$(id -u)" = 0 ] || die "need root to install docker.io"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io
	[ -x "$DOCKERD" ] || DOCKERD=$(command -v dockerd || true)
	[ -n "$DOCKERD" ] && [ -x "$DOCKERD" ] || die "docker.io installed but no dockerd found"
	[ -x "$DOCKER" ] || die "docker.io installed but no $DOCKER"
fi

if "$DOCKER" info >/dev/null 2>&1; then
	log "engine already up: $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
	exit 0
fi

# Several developers may run this at once: only one of them starts the daemon.
exec 9>"$LOCK"
flock -w 90 9 || die "could not take $LOCK"
if ! "$DOCKER" info >/dev/null 2>&1; then
	if pgrep -x dockerd >/dev/null 2>&1; then
		log "a dockerd process exists but does not answer yet; waiting for it"
	else
		[ "$(id -u)" = 0 ] || die "need root to start dockerd"
		mkdir -p "$DATA_ROOT"
		log "starting $DOCKERD --data-root $DATA_ROOT (log $LOG)"
		setsid nohup "$DOCKERD" --data-root "$DATA_ROOT" >"$LOG" 2>&1 </dev/null 9>&- &
	fi
fi
for _ in $(seq 60); do
	if "$DOCKER" info >/dev/null 2>&1; then
		log "engine up: $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
		exit 0
	fi
	sleep 1
done
tail -30 "$LOG" >&2 || true
die "dockerd did not answer within 60 s (see $LOG)"
