#!/bin/sh
# One build step of the dfopt exec oracle (tests/oracle/mod.rs), run as PID 1 of fresh mount, PID
# and network namespaces (`unshare --mount --pid --net --fork`), the way BuildKit's runc executor
# runs a RUN: the stage's root is an overlay of its layers plus its own upper dir, /dev and a new
# /proc are mounted into it, the working directory is created, and the command runs chrooted with
# exactly the environment given. When the step ends, the namespaces go, with every process and
# mount the step left behind.
#
#   step.sh run  LOWERS UPPER WORK ROOT WORKDIR [cache=HOSTDIR:TARGET] [tmpfs=TARGET] -- NAME=VALUE... ARGV...
#   step.sh copy LOWERS UPPER WORK ROOT WORKDIR (from=SRCLOWERS srcroot=MNT | ctx=DIR) dest=PATH -- SRC...
#
# Infrastructure failures exit 213 so that the harness can tell them from a failing RUN.
infra() { echo "oracle step: $*" >&2; exit 213; }
mode=$1 lowers=$2 upper=$3 work=$4 root=$5 wd=$6
shift 6
mounts= from= srcroot= ctx= dest=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case $1 in
    cache=*|tmpfs=*) mounts="$mounts $1" ;;
    from=*) from=${1#from=} ;;
    srcroot=*) srcroot=${1#srcroot=} ;;
    ctx=*) ctx=${1#ctx=} ;;
    dest=*) dest=${1#dest=} ;;
    *) infra "unknown option $1" ;;
  esac
  shift
done
[ $# -gt 0 ] || infra "missing --"
shift
mount --make-rprivate / || infra "make-rprivate"
mount -t overlay overlay -o "lowerdir=$lowers,upperdir=$upper,workdir=$work" "$root" || infra "overlay mount"
mount --bind /dev "$root/dev" || infra "bind /dev"
mount -t proc proc "$root/proc" || infra "proc"

if [ "$mode" = copy ]; then
  if [ -n "$from" ]; then
    mount -t overlay overlay -o "lowerdir=$from" "$srcroot" || infra "source overlay mount"
  else
    srcroot=$ctx
  fi
  cd "$srcroot" || infra "cd source"
  # Docker's COPY: a folder's contents are copied; several sources or a DEST ending in / make DEST
  # a folder; a source that matches nothing fails the build.
  target=$root$dest
  many=no
  [ $# -gt 1 ] && many=yes
  case $dest in */) many=yes ;; esac
  matched=0
  for pattern in "$@"; do
    pattern=${pattern#/}
    [ -n "$pattern" ] || pattern=.
    for src in $pattern; do
      [ -e "$src" ] || [ -L "$src" ] || continue
      matched=$((matched + 1))
      if [ -d "$src" ] && ! [ -L "$src" ]; then
        mkdir -p "$target" && cp -a "$src/." "$target/" || exit 1
      elif [ $many = yes ] || [ -d "$target" ]; then
        mkdir -p "$target" && cp -a "$src" "$target/" || exit 1
      else
        mkdir -p "$(dirname "$target")" && cp -a "$src" "$target" || exit 1
      fi
    done
  done
  [ $matched -gt 0 ] || { echo "COPY failed: no source files were specified or found: $*" >&2; exit 1; }
  exit 0
fi

# Mount targets that do not exist are created for the RUN and removed afterwards (if still
# empty), as BuildKit does with its mount stubs.
created=
for m in $mounts; do
  kind=${m%%=*} spec=${m#*=}
  case $kind in cache) host=${spec%%:*} target=${spec#*:} ;; tmpfs) target=$spec ;; esac
  t=$target top=
  while [ -n "$t" ] && ! [ -e "$root$t" ]; do top=$t; t=${t%/*}; done
  mkdir -p "$root$target" || infra "mkdir $target"
  [ -n "$top" ] && created="$target:$top $created"
  case $kind in
    cache) mount --bind "$host" "$root$target" || infra "cache mount" ;;
    tmpfs) mount -t tmpfs tmpfs "$root$target" || infra "tmpfs mount" ;;
  esac
done
chroot "$root" /usr/bin/mkdir -p "$wd" || infra "mkdir WORKDIR $wd"
[ -z "$mounts" ] && exec chroot "$root" /usr/bin/env -i -C "$wd" "$@"
chroot "$root" /usr/bin/env -i -C "$wd" "$@"
status=$?
for m in $mounts; do umount -l "$root${m##*:}" 2>/dev/null || umount -l "$root${m#tmpfs=}" 2>/dev/null; done
for c in $created; do
  d=${c%%:*} top=${c#*:}
  while rmdir "$root$d" 2>/dev/null && [ "$d" != "$top" ]; do d=${d%/*}; done
done
exit $status
