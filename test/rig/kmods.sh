#!/bin/bash
# The few modules of a stock kernel's image package that scenarios load
# in the guest (zram, for a swap device), with the modules they depend on,
# unpacked once per kernel.
#
#   kmods.sh KERNEL_DIR      (KERNEL_DIR from kernels.sh)
#
# Prints a directory holding the .ko files, uncompressed (busybox insmod
# takes no .ko.xz), and a file "order" naming them dependencies first.
set -euo pipefail

kernel=${1:?usage: kmods.sh KERNEL_DIR}
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
release=$(cat "$kernel/release")
version=$(cat "$kernel/version")
out=$kernel/kmods
WANTED="zram"
[ -f "$out/order" ] && { echo "$out"; exit 0; }

# the package kernels.sh names (7.2 moved the modules out of the image
# package), else, for a kernel cached before it did, the image package
deb=$(cat "$kernel/modules-deb" 2>/dev/null) ||
	deb=$(ls "$cache"/debs/linux-image-"$release"-unsigned_*"${version//:/%3a}"_*.deb 2>/dev/null | head -n 1)
[ -f "$deb" ] || deb=
[ -n "$deb" ] || { echo "kmods: no modules package for $release in $cache/debs" >&2; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp/x"
dpkg-deb -c "$deb" | awk '{ print $6 }' | grep '\.ko' >"$out.tmp/list"

# unpack NAME: NAME.ko, uncompressed, into $out.tmp
unpack() {
	local path
	path=$(grep -E "/$1\.ko(\.xz|\.zst)?$" "$out.tmp/list" | head -n 1)
	[ -n "$path" ] || { echo "kmods: no module $1 in $deb" >&2; return 1; }
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out.tmp/x" "$path"
	case $path in
	*.xz) xz -dc "$out.tmp/x/$path" >"$out.tmp/$1.ko" ;;
	*.zst) zstd -dqc "$out.tmp/x/$path" >"$out.tmp/$1.ko" ;;
	*) cp "$out.tmp/x/$path" "$out.tmp/$1.ko" ;;
	esac
}

# add NAME: its dependencies first, then itself, each once
: >"$out.tmp/order"
add() {
	local dep
	grep -qx "$1.ko" "$out.tmp/order" && return 0
	unpack "$1"
	for dep in $(modinfo -F depends "$out.tmp/$1.ko" | tr ',' ' '); do
		add "$dep"
	done
	echo "$1.ko" >>"$out.tmp/order"
}
for m in $WANTED; do
	add "$m"
done
rm -rf "$out.tmp/x" "$out.tmp/list"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
