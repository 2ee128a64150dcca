#!/bin/bash
# Install what building and testing need, from Debian's archive, if missing.
set -euo pipefail

packages=(
	make gcc gcc-12 libc6-dev	# tools, tests; Debian's kernels build with gcc-12
	libelf1 dwarves			# kbuild's objtool; pahole for 6.12's BTF step
	flex bison bc libelf-dev libssl-dev	# building the debug kernel (debug-kernel.sh)
	busybox-static cpio gzip file	# the guest's initramfs
	xz-utils kmod			# the kernel's own modules: .ko.xz on 6.12; modinfo
	qemu-system-x86			# the guest
	qemu-system-arm			# the arm64 guest (qemu-system-aarch64)
	apt dpkg			# fetching kernel packages
	perl				# checkpatch
	jq				# checks ksm-victim --json
	libnuma-dev			# the kernel's KSM selftests (selftests.sh)
	gnuplot-nox			# make bench's plot (plot-bench.sh)
	# test/packaging: DKMS, the Debian packages, the Prometheus rules
	dkms				# dkms build/install per kernel
	debhelper dh-dkms dpkg-dev	# make deb
	lintian
	debootstrap			# the Debian root the packages go into
	curl				# queries the test's Prometheus server
	# (promtool and node_exporter: test/packaging/prometheus-bin.sh)
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
echo "deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" >&2
