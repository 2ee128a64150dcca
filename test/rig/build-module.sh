#!/bin/bash
# Build the module against one fetched kernel's headers, in a copy of the
# sources of its own (kbuild writes next to them), and refuse warnings.
#
#   build-module.sh KERNEL_DIR WORK_DIR [VAR=VALUE...]
#
# KERNEL_DIR from kernels.sh or debug-kernel.sh; VAR=VALUE go to make
# (the debug kernel's second build: KSMVS_PLANTED_BUGS=y, Kbuild).
#
# A kernel of a release other than this machine's (KERNEL_DIR/chroot names
# it: trixie, sid) is built inside a root of that release, with its own
# compiler and headers, as its users would build it (chroot.sh). A kernel
# of another architecture (KERNEL_DIR/arch: arm64) is cross-built there,
# with that release's cross compiler and the arch's headers.
#
# Leaves WORK_DIR/src/ksm_vmshare.ko, and the log in WORK_DIR/build.log.
set -uo pipefail

kernel=${1:?usage: build-module.sh KERNEL_DIR WORK_DIR [VAR=VALUE...]}
work=${2:?usage: build-module.sh KERNEL_DIR WORK_DIR [VAR=VALUE...]}
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)

rm -rf "$work/src"
mkdir -p "$work/src"
work=$(cd "$work" && pwd)
cp -r "$top/Kbuild" "$top/module" "$top/include" "$work/src/"

# build_in_root RELEASE [VAR=VALUE...]: make in a copy of the sources
# inside RELEASE's root, then bring the module back
build_in_root() {
	local root release build status arch cross=() in=$1
	shift
	release=$(cat "$kernel/release")
	arch=$(cat "$kernel/arch" 2>/dev/null || echo amd64)
	case $arch in
	amd64) ;;
	arm64) cross=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-) ;;
	*) echo "build-module: unknown architecture '$arch'"; return 1 ;;
	esac
	# (made once: its log apart, its own messages are no build warnings)
	root=$("$top/test/rig/chroot.sh" "$in" "$release" "$arch" 2>"$work/chroot.log") || {
		cat "$work/chroot.log"
		return 1
	}
	build=$(mktemp -d "$root/tmp/ksm-vmshare.XXXXXX") || return 1
	cp -r "$work/src/." "$build/"
	"$top/test/rig/in-root.sh" "$root" make -C "/usr/src/linux-headers-$release" "${cross[@]}" \
		M="/tmp/${build##*/}" "$@" modules
	status=$?
	[ "$status" != 0 ] || cp "$build/ksm_vmshare.ko" "$work/src/"
	rm -rf "$build"
	return $status
}

if [ -f "$kernel/chroot" ]; then
	build_in_root "$(cat "$kernel/chroot")" "$@" >"$work/build.log" 2>&1
	status=$?
	grep -s '^chroot: ' "$work/chroot.log" >&2
else
	make -C "$kernel/kdir" M="$work/src" "$@" modules >"$work/build.log" 2>&1
	status=$?
fi
if [ "$status" != 0 ] || grep -q 'warning:' "$work/build.log"; then
	grep -E 'warning:|error:|chroot:' "$work/build.log" | head -n 20 >&2
	echo "build-module: the module did not build cleanly ($work/build.log)" >&2
	exit 1
fi
