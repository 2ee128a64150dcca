#!/bin/bash
# Debian's QEMU for a guest of another architecture (arm64): the scenarios
# that run real QEMU VMs inside the test guest (demo: needs-qemu) need a
# QEMU built for the guest's CPU, as an arm64 host's operator runs it.
#
#   guest-qemu.sh ARCH        (arm64)
#
# Downloads trixie's qemu-system-arm of ARCH with everything it depends on
# (as apt resolves it for an empty system, recommends left out) and
# unpacks the packages into one tree, nothing installed or run. Prints the
# tree's directory, DIR/root/usr/bin/qemu-system-aarch64 in it, for
# initramfs.sh --with-qemu --qemu-root DIR/root. Cached by version under
# $KSMVS_CACHE/guest-qemu/trixie-ARCH-VERSION; when the archive cannot be
# reached, the newest cached one is used.
set -euo pipefail

arch=${1:?usage: guest-qemu.sh ARCH}
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
mirror=${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}
log() { echo "guest-qemu: $*" >&2; }
die() { log "$*"; exit 1; }

case $arch in
arm64) package=qemu-system-arm ;;
*) die "unknown architecture '$arch' (known: arm64)" ;;
esac

# the apt state kernels.sh keeps for the arm64 series: trixie's lists of
# that architecture only
# shellcheck disable=SC2034 # read by debian-apt.sh
aptdir=$cache/apt-trixie-$arch apt_release=trixie
. "$(dirname "$0")/debian-apt.sh"
apt_opts+=(-o APT::Architecture="$arch" -o APT::Architectures="$arch")

if ! apt_refresh; then
	log "archive unreachable; using the cache"
	dir=$(ls -d "$cache/guest-qemu/trixie-$arch-"*/ 2>/dev/null | sort -V | tail -n 1)
	[ -n "$dir" ] && [ -f "$dir/ready" ] || die "archive unreachable and no cached QEMU"
	echo "${dir%/}"
	exit 0
fi
version=$(apt-cache "${apt_opts[@]}" policy "$package" |
	sed -n 's/^ *Candidate: //p')
[ -n "$version" ] && [ "$version" != "(none)" ] || die "no $package in trixie"
dir=$cache/guest-qemu/trixie-$arch-${version//:/%3a}
if [ -f "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi

t0=$(date +%s)
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
# the private state's status is empty: apt lists every package needed
apt-get "${apt_opts[@]}" install -s --no-install-recommends -qq "$package" |
	awk '/^Inst / { gsub(/[()]/, "", $3); print $2 "=" $3 }' \
		>"$dir.tmp/packages"
grep -q "^$package=" "$dir.tmp/packages" || die "apt did not resolve $package"
log "downloading $package $version and $(($(wc -l <"$dir.tmp/packages") - 1)) dependencies"
# shellcheck disable=SC2046 # one word per package
(cd "$dir.tmp/debs" && apt-get "${apt_opts[@]}" -qq download \
	$(cat "$dir.tmp/packages")) >&2
for deb in "$dir.tmp/debs"/*.deb; do
	dpkg-deb -x "$deb" "$dir.tmp/root"
done
rm -rf "$dir.tmp/debs"
echo "$version" >"$dir.tmp/version"
touch "$dir.tmp/ready"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
log "$dir: $(($(date +%s) - t0)) s"
echo "$dir"
