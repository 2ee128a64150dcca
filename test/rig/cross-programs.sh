#!/bin/bash
# Build the guest's programs for a kernel of another architecture (arm64):
# the Makefile's test programs and ksm-victim, static, with the cross
# compiler of the kernel's release, in the same cross root that builds its
# module (chroot.sh RELEASE KERNEL_RELEASE ARCH), plus that release's
# busybox-static of the architecture, which the root holds unpacked.
#
#   cross-programs.sh KERNEL_DIR OUT_DIR     (KERNEL_DIR from kernels.sh)
#
# Leaves in OUT_DIR what initramfs.sh --arch ARCH takes as its BINDIR:
# vmload, ksm-oracle, readas, qmon, timeit, mergers, softoffline, ksm-victim,
# busybox;
# the log in OUT_DIR/build.log. Refuses warnings (the Makefile's -Werror).
set -uo pipefail

usage="usage: cross-programs.sh KERNEL_DIR OUT_DIR"
kernel=${1:?$usage}
out=${2:?$usage}
top=$(cd "$(dirname "$0")/../.." && pwd)
arch=$(cat "$kernel/arch" 2>/dev/null || echo amd64)
case $arch in
arm64) triplet=aarch64-linux-gnu ;;
*) echo "cross-programs: nothing to cross-build for $arch" >&2; exit 1 ;;
esac

mkdir -p "$out"
out=$(cd "$out" && pwd)
release=$(cat "$kernel/release")
root=$("$top/test/rig/chroot.sh" "$(cat "$kernel/chroot")" "$release" "$arch" \
	2>"$out/chroot.log") || { cat "$out/chroot.log" >&2; exit 1; }
grep -s '^chroot: ' "$out/chroot.log" >&2

# the sources only: a host-built tools/ksm-victim must not look up to date
build=$(mktemp -d "$root/tmp/ksmvs-programs.XXXXXX") || exit 1
trap 'rm -rf "$build"' EXIT
mkdir -p "$build/test" "$build/tools"
cp "$top/Makefile" "$build/"
cp -r "$top/test/workload" "$top/test/oracle" "$build/test/"
cp "$top"/tools/*.[ch] "$build/tools/"

"$top/test/rig/in-root.sh" "$root" make -C "/tmp/${build##*/}" BUILD=out \
	CC="$triplet-gcc" programs tools/ksm-victim >"$out/build.log" 2>&1
status=$?
if [ "$status" != 0 ] || grep -q 'warning:' "$out/build.log"; then
	grep -E 'warning:|error:' "$out/build.log" | head -n 20 >&2
	echo "cross-programs: the guest programs did not build cleanly ($out/build.log)" >&2
	exit 1
fi
for program in vmload ksm-oracle readas qmon timeit mergers softoffline; do
	cp "$build/out/$program" "$out/"
done
cp "$build/tools/ksm-victim" "$root/opt/ksmvs-guest/busybox" "$out/"
