#!/bin/bash
# The few modules of a stock kernel's image package that scenarios load
# in the guest (zram, for a swap device), unpacked once per kernel.
#
#   kmods.sh KERNEL_DIR      (KERNEL_DIR from kernels.sh)
#
# Prints a directory holding the .ko files, uncompressed (busybox insmod
# takes no .ko.xz), in the order they must be loaded (file "order").
set -euo pipefail

kernel=${1:?usage: kmods.sh KERNEL_DIR}
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
release=$(cat "$kernel/release")
version=$(cat "$kernel/version")
out=$kernel/kmods
[ -f "$out/order" ] && { echo "$out"; exit 0; }

deb=$(ls "$cache"/debs/linux-image-"$release"-unsigned_*"${version//:/%3a}"_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "kmods: no image package for $release in $cache/debs" >&2; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp/x"
# zsmalloc is a module on 6.1 and built in on 6.12; zram needs it first.
dpkg-deb --fsys-tarfile "$deb" |
	tar -x -C "$out.tmp/x" --wildcards \
		"./lib/modules/$release/kernel/mm/zsmalloc.ko*" \
		"./lib/modules/$release/kernel/drivers/block/zram/zram.ko*" 2>/dev/null || true
: >"$out.tmp/order"
for m in zsmalloc zram; do
	f=$(find "$out.tmp/x" -name "$m.ko*" | head -n 1)
	[ -n "$f" ] || continue
	case $f in
	*.xz) xz -dc "$f" >"$out.tmp/$m.ko" ;;
	*.zst) zstd -dqc "$f" >"$out.tmp/$m.ko" ;;
	*) cp "$f" "$out.tmp/$m.ko" ;;
	esac
	echo "$m.ko" >>"$out.tmp/order"
done
rm -rf "$out.tmp/x"
grep -qx zram.ko "$out.tmp/order" || { echo "kmods: no zram module in $deb" >&2; exit 1; }
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
