#!/bin/bash
# Pack the test guest's initramfs: busybox, our /init, the static test
# programs, the scenarios and (if given) the module built for that kernel.
#
#   initramfs.sh OUT.cpio.gz BINDIR [MODULE.ko]
set -euo pipefail

out=${1:?usage: initramfs.sh OUT.cpio.gz BINDIR [MODULE.ko]}
bindir=${2:?usage: initramfs.sh OUT.cpio.gz BINDIR [MODULE.ko]}
module=${3:-}
top=$(cd "$(dirname "$0")/../.." && pwd)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,ksmvs/bin,proc,sys,dev,tmp}
cp /bin/busybox "$stage/bin/busybox"
file -b "$stage/bin/busybox" | grep -q 'statically linked' || {
	echo "initramfs: /bin/busybox is not static (install busybox-static)" >&2
	exit 1
}
install -m 0755 "$top/test/rig/init" "$stage/init"
install -m 0755 "$bindir"/vmload "$bindir"/ksm-oracle "$bindir"/readas \
	"$top/tools/ksm-victim" "$stage/ksmvs/bin/"
cp -r "$top/test/scenarios" "$stage/ksmvs/scenarios"
[ -z "$module" ] || cp "$module" "$stage/ksmvs/"

(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
