#!/bin/bash
# Pack the test guest's initramfs: busybox, our /init, the static test
# programs, the scenarios and (if given) the modules built for that kernel,
# each as /ksmvs/NAME.ko (the module, and the rig's control module for the
# reload experiment of issue 13: test/rig/reload-experiment.sh).
#
#   initramfs.sh [--arch ARCH] [--with-qemu] [--selftests DIR] OUT.cpio.gz BINDIR [MODULE.ko...]
#
# --arch arm64: a guest of that architecture (default amd64, this
# machine's): BINDIR then holds busybox and ksm-victim too, cross-built or
# unpacked for it (cross-programs.sh), and every program is checked to be
# of that architecture.
#
# With KSMVS_KMODS=DIR (from kmods.sh), the kernel's own modules in DIR go
# to /ksmvs/kmods.
#
# --with-qemu adds this machine's qemu-system-x86_64 with the libraries ldd
# names, its TCG accelerator module and its firmware, for scenarios that run
# real QEMU VMs inside the guest (tens of MB: only those scenarios get it).
# With --arch arm64 it adds instead the qemu-system-aarch64 of the tree
# --qemu-root DIR names (guest-qemu.sh: Debian's arm64 packages unpacked),
# with the libraries its ELF headers need (ldd cannot run it here); the
# virt machine the scenarios start wants no firmware.
# --selftests DIR puts the files of DIR (the kernel's own KSM selftests,
# built by selftests.sh) in /ksmvs/selftests.
set -euo pipefail

with_qemu=0
selftests=
arch=amd64
qemu_root=
while :; do
	case ${1:-} in
	--arch) arch=${2:?--arch needs an architecture}; shift 2 ;;
	--with-qemu) with_qemu=1; shift ;;
	--qemu-root) qemu_root=${2:?--qemu-root needs a directory}; shift 2 ;;
	--selftests) selftests=${2:?--selftests needs a directory}; shift 2 ;;
	*) break ;;
	esac
done
usage="usage: initramfs.sh [--arch ARCH] [--with-qemu [--qemu-root DIR]] [--selftests DIR] OUT.cpio.gz BINDIR [MODULE.ko...]"
out=${1:?$usage}
bindir=${2:?$usage}
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,ksmvs/bin,proc,sys,dev,tmp}
case $arch in
amd64)
	busybox=/bin/busybox
	victim=$top/tools/ksm-victim
	machine=x86-64
	;;
arm64)
	busybox=$bindir/busybox
	victim=$bindir/ksm-victim
	machine=aarch64
	triplet=aarch64-linux-gnu
	;;
*) echo "initramfs: unknown architecture '$arch'" >&2; exit 1 ;;
esac
cp "$busybox" "$stage/bin/busybox"
file -b "$stage/bin/busybox" | grep -q 'statically linked' || {
	echo "initramfs: $busybox is not static (install busybox-static)" >&2
	exit 1
}
install -m 0755 "$top/test/rig/init" "$stage/init"
install -m 0755 "$bindir"/vmload "$bindir"/ksm-oracle "$bindir"/readas "$bindir"/qmon "$bindir"/timeit "$bindir"/mergers \
	"$bindir"/softoffline "$victim" "$stage/ksmvs/bin/"
# a program of another architecture would fail in the guest as "not found"
for program in "$stage/bin/busybox" "$stage"/ksmvs/bin/*; do
	file -b "$program" | grep -q "$machine" || {
		echo "initramfs: ${program##*/} is not an $arch program: $(file -b "$program")" >&2
		exit 1
	}
done
cp -r "$top/test/scenarios" "$stage/ksmvs/scenarios"
for module in "$@"; do
	cp "$module" "$stage/ksmvs/"
done
# KSMVS_KMODS: a directory of the kernel's own modules (kmods.sh) for
# scenarios that need them (zram), loaded in the order its "order" names
if [ -n "${KSMVS_KMODS:-}" ]; then
	mkdir -p "$stage/ksmvs/kmods"
	cp "$KSMVS_KMODS"/order "$stage/ksmvs/kmods/"
	# (a kernel with them built in, the debug kernel, has none)
	for ko in "$KSMVS_KMODS"/*.ko; do
		[ ! -e "$ko" ] || cp "$ko" "$stage/ksmvs/kmods/"
	done
fi
if [ -n "$selftests" ]; then
	mkdir -p "$stage/ksmvs/selftests"
	cp "$selftests"/* "$stage/ksmvs/selftests/"
fi

# copy_path FILE: FILE at the same path in the guest, links dereferenced
copy_path() {
	mkdir -p "$stage$(dirname "$1")"
	cp -L "$1" "$stage$1"
}

# copy_needed ROOT FILE: the shared libraries FILE of ROOT needs, and
# theirs, at their paths under ROOT's library directories, and its
# program interpreter
copy_needed() {
	local root=$1 file=$2 lib dir found interp
	interp=$(readelf -l "$file" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ ! -e "$stage$interp" ]; then
		# (trixie's libc6 ships it under /usr; /lib is its link)
		for found in "$interp" "/usr$interp" ""; do
			[ -e "$root$found" ] && break
		done
		[ -n "$found" ] || { echo "initramfs: no $interp in $root" >&2; return 1; }
		mkdir -p "$stage$(dirname "$interp")"
		cp -L "$root$found" "$stage$interp"
	fi
	for lib in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		found=
		for dir in /usr/lib/$triplet /lib/$triplet /usr/lib /lib; do
			[ -e "$root$dir/$lib" ] && found=$dir/$lib && break
		done
		[ -n "$found" ] || { echo "initramfs: no $lib in $root" >&2; return 1; }
		[ -e "$stage$found" ] && continue
		mkdir -p "$stage$(dirname "$found")"
		cp -L "$root$found" "$stage$found"
		copy_needed "$root" "$stage$found" || return 1
	done
}

if [ "$with_qemu" = 1 ] && [ "$arch" != amd64 ]; then
	[ -n "$qemu_root" ] || { echo "initramfs: --with-qemu on $arch needs --qemu-root" >&2; exit 1; }
	qemu=/usr/bin/qemu-system-aarch64
	mkdir -p "$stage/usr/bin"
	cp -L "$qemu_root$qemu" "$stage$qemu"
	copy_needed "$qemu_root" "$stage$qemu"
elif [ "$with_qemu" = 1 ]; then
	qemu=$(command -v qemu-system-x86_64)
	copy_path "$qemu"
	ldd "$qemu" | awk '/=> \// { print $3 } /^\t\// { print $1 }' |
		while read -r lib; do copy_path "$lib"; done
	copy_path /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so
	for dir in /usr/share/qemu /usr/share/seabios; do
		mkdir -p "$stage$dir"
		cp -rL "$dir/." "$stage$dir/"
	done
fi

(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
