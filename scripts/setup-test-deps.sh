#!/usr/bin/env bash
# Installs what the test suite's exec oracle (tests/exec_oracle.rs) needs beyond a Rust toolchain:
# busybox (the `SHELL ["/bin/busybox","ash","-c"]` cases), setfattr (attr: empties /tmp, /var/tmp
# and /root of the build root with opaque overlay folders) and the util-linux/coreutils tools that
# the harness drives (unshare, mount, chroot, timeout, setsid). Idempotent: installs only what is
# missing, and runs `apt-get update` only then. Needs root (the oracle itself needs root too).
set -euo pipefail
missing=()
need() { # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need busybox busybox
need setfattr attr
need unshare util-linux
need mount mount
need setsid util-linux
need chroot coreutils
need timeout coreutils
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-test-deps: everything present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-test-deps: missing ${missing[*]}, and not root to install them" >&2
  exit 1
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-test-deps: installed ${missing[*]}"
