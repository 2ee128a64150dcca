#!/bin/bash
# Build the module against one fetched kernel's headers, in a copy of the
# sources of its own (kbuild writes next to them), and refuse warnings.
#
#   build-module.sh KERNEL_DIR WORK_DIR     (KERNEL_DIR from kernels.sh)
#
# Leaves WORK_DIR/src/ksm_vmshare.ko, and the log in WORK_DIR/build.log.
set -uo pipefail

kernel=${1:?usage: build-module.sh KERNEL_DIR WORK_DIR}
work=${2:?usage: build-module.sh KERNEL_DIR WORK_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)

rm -rf "$work/src"
mkdir -p "$work/src"
work=$(cd "$work" && pwd)
cp -r "$top/Kbuild" "$top/module" "$top/include" "$work/src/"
if ! make -C "$kernel/kdir" M="$work/src" modules >"$work/build.log" 2>&1 ||
	grep -q 'warning:' "$work/build.log"; then
	grep -E 'warning:|error:' "$work/build.log" | head -n 20 >&2
	echo "build-module: the module did not build cleanly ($work/build.log)" >&2
	exit 1
fi
