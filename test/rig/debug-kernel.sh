#!/bin/bash
# Build the debug kernel: Debian's own source of the 6.12 reference kernel
# (linux-source-6.12, the version of bookworm-backports' 6.12 that
# kernels.sh 6.12 boots) with KASAN, KFENCE, lockdep, kmemleak, debug
# lists and objects, SLUB debugging and DEBUG_VM (debug-kernel.config).
#
#   debug-kernel.sh
#
# Prints a directory shaped like kernels.sh's (run.sh boots it as the
# series "debug"):
#   DIR/vmlinuz     the boot image
#   DIR/kdir        the built tree, objects removed: builds out-of-tree
#                   modules with this machine's gcc-12, the compiler that
#                   built the kernel (bookworm's, as for Debian's 6.12 of
#                   bookworm-backports)
#   DIR/kmods/order empty: zram and lzo are built in
#   DIR/cmdline     what boot.sh adds to its command line: slub_debug
#                   (of the caches that matter), loglevel, the scale
#   DIR/qemu-cpu    the -cpu boot.sh gives QEMU: max, without 5-level paging
#   DIR/timeout-factor  how much longer than on a stock kernel a
#                   scenario may take (boot.sh): the detectors' cost
#   DIR/version     the source package's version, DIR/release the uname -r
#   DIR/series, DIR/arch  debug, amd64
#
# Cached by source version and a hash of the config fragment and the build
# recipe under $KSMVS_CACHE/debug-kernel/; the source package (150 MB) is
# deleted once built. When the archive cannot be reached, the newest cached
# build of the same fragment is used.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
aptdir=$cache/apt
mirror=${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}
pkg=linux-source-6.12
fragment=$top/test/rig/debug-kernel.config
jobs=$(nproc)

log() { echo "debug-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

# What decides the built kernel besides the source: the fragment and the
# steps below. A change to either builds a new kernel.
recipe="make defconfig; merge_config.sh -m debug-kernel.config; make olddefconfig; make bzImage modules; gcc: $(gcc -dumpfullversion)"
hash=$( { cat "$fragment"; echo "$recipe"; } | sha256sum | cut -c1-12)

. "$top/test/rig/debian-apt.sh"

# the reference kernel's version: its source, built otherwise
want=$(cat "$("$top/test/rig/kernels.sh" 6.12)/version") ||
	die "cannot resolve the 6.12 reference kernel"

newest_cached() {
	local d
	for d in "$cache"/debug-kernel/*-"$hash"/; do
		[ -f "$d/ready" ] && cat "$d/version"
	done | sort -V | tail -n 1
}

version=
if [ -f "$cache/debug-kernel/$want-$hash/ready" ]; then
	version=$want
elif apt_refresh && available=$(apt-cache "${apt_opts[@]}" madison "$pkg" |
	awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -V) && [ -n "$available" ]; then
	version=$want
	if ! grep -qxF "$want" <<<"$available"; then
		version=$(tail -n 1 <<<"$available")
		log "$pkg $want is gone from the archive; using $version"
	fi
else
	version=$(newest_cached)
	[ -n "$version" ] || die "archive unreachable and no cached debug kernel"
	log "archive unreachable; using the cached debug kernel of $pkg $version"
fi
dir=$cache/debug-kernel/$version-$hash

# How boot.sh boots it, written on every call (not part of the cached
# build, so that a change here needs no new kernel):
boot_settings() {
	# slub_debug: sanity checks, red zones, poisoning and the owners'
	# traces (FZPU) on the module's own caches (ksmvs_*) and on KSM's
	# (ksm_*: rmap_item, stable_node, mm_slot, which the probes read).
	# On every cache it cost a quarter of each scenario's time (baseline
	# 242 s against 168 s, fork 321 s against 243 s); KASAN checks the
	# other slabs for the same out-of-bounds, use-after-free and double
	# free. loglevel=7 after boot.sh's 4: lockdep reports at warning
	# level, which 4 keeps off the console. ksmvs.scale: the scenarios'
	# recipes a quarter of their size (lib.sh), the kernel being 5-20
	# times slower than a stock one under TCG.
	echo "slub_debug=FZPU,ksmvs_*,ksm_* loglevel=7 ksmvs.scale=4" >"$1/cmdline"
	# KASAN reports a wild access in do_raw_spin_lock at boot under -cpu
	# max: identify_cpu() briefly clears the 5-level paging flag with
	# interrupts on (../shared/docs/kernel-facts.md)
	echo "max,la57=off" >"$1/qemu-cpu"
	echo 4 >"$1/timeout-factor"
}

if [ -f "$dir/ready" ]; then
	boot_settings "$dir"
	echo "$dir"
	exit 0
fi

mkdir -p "$cache/debug-kernel"
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
log "downloading $pkg $version (about 150 MB, kept only until built)"
(cd "$dir.tmp" && apt-get "${apt_opts[@]}" -qq download "$pkg=$version") >&2 ||
	die "cannot download $pkg=$version"
deb=$(ls "$dir.tmp"/*.deb)
mkdir -p "$dir.tmp/kdir"
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$pkg.tar.xz" |
	tar -xJ -C "$dir.tmp/kdir" --strip-components=1 ||
	die "cannot unpack $deb"
rm -f "$deb"

# Built in place, not with O=: the tree must build modules after it moves
# into the cache, and nothing in it may name the temporary directory.
kdir=$dir.tmp/kdir
log "building $pkg $version with $jobs jobs (973 s on two idle cores here)"
t0=$(date +%s)
{
	make -C "$kdir" defconfig &&
		(cd "$kdir" && scripts/kconfig/merge_config.sh -m .config "$fragment") &&
		make -C "$kdir" olddefconfig &&
		make -C "$kdir" -j"$jobs" bzImage modules
} >"$dir.tmp/build.log" 2>&1 || {
	tail -n 30 "$dir.tmp/build.log" >&2
	die "the debug kernel did not build ($dir.tmp/build.log)"
}
# every option of the fragment must have survived olddefconfig: one that a
# dependency silently dropped would leave a detector out
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while IFS= read -r line; do
	case $line in
	# off: not set, or not offered at all (a dependency is off)
	*=n) ! grep -qE "^${line%=n}=[ym]$" "$kdir/.config" || echo "$line" ;;
	*) grep -qxF "$line" "$kdir/.config" || echo "$line" ;;
	esac
done)
[ -z "$missing" ] || die "options the kernel's config did not take: $(echo $missing)"
echo "$(($(date +%s) - t0))" >"$dir.tmp/build-seconds"
cp "$kdir/arch/x86/boot/bzImage" "$dir.tmp/vmlinuz"
make -s -C "$kdir" kernelrelease >"$dir.tmp/release"
# what out-of-tree modules need stays (headers, scripts, Module.symvers,
# objtool); the kernel's objects do not
find "$kdir" \( -name '*.o' -o -name '*.a' -o -name '*.ko' \) -delete
rm -f "$kdir/vmlinux" "$kdir/vmlinux.o" "$kdir/arch/x86/boot/compressed/vmlinux"
mkdir -p "$dir.tmp/kmods"
: >"$dir.tmp/kmods/order"
boot_settings "$dir.tmp"
echo "$version" >"$dir.tmp/version"
echo debug >"$dir.tmp/series"
echo amd64 >"$dir.tmp/arch"
echo "$recipe" >"$dir.tmp/recipe"
touch "$dir.tmp/ready"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
log "built $(cat "$dir/release") in $(cat "$dir/build-seconds") s"
echo "$dir"
