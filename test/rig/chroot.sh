#!/bin/bash
# A minimal Debian root of one release holding that release's own compiler
# and the headers of one of its kernels: the module is built there as a
# user of that release would build it, with no tool of this machine's.
#
#   chroot.sh RELEASE KERNEL_RELEASE [ARCH]
#                                 e.g. chroot.sh sid 7.2.13+deb14-amd64
#
# RELEASE is trixie or sid (debian-apt.sh's suites of it). Prints the
# root's directory; the headers are at ROOT/usr/src/linux-headers-KERNEL_RELEASE.
# Made once per release and kernel (debootstrap --variant=minbase, then
# make, dkms and the headers' packages with their dependencies), cached under
# $KSMVS_CACHE/chroots/RELEASE-KERNEL_RELEASE. Needs root (debootstrap,
# chroot).
#
# ARCH (default amd64, this machine's) is the kernel's Debian architecture.
# Another one (arm64) gets a cross root of its own, cached under
# chroots/RELEASE-ARCH-KERNEL_RELEASE: the release's cross compiler
# (gcc-N-TRIPLET for the headers' gcc-N, libc6-dev-ARCH-cross for the
# static guest programs), the arch's header packages with this machine's
# linux-kbuild (Multi-Arch: foreign, so it satisfies them: its programs run
# here), and the release's busybox-static of ARCH, unpacked at
# ROOT/opt/ksmvs-guest/busybox for the guest's initramfs. The module is
# then built with make ARCH=... CROSS_COMPILE=TRIPLET- (build-module.sh).
set -euo pipefail

usage="usage: chroot.sh RELEASE KERNEL_RELEASE [ARCH]"
apt_release=${1:?$usage}
krelease=${2:?$usage}
arch=${3:-amd64}
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
mirror=${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}
dir=$cache/chroots/$apt_release-$krelease
triplet=
case $arch in
amd64) ;;
arm64)
	triplet=aarch64-linux-gnu
	dir=$cache/chroots/$apt_release-$arch-$krelease
	;;
*) echo "chroot: unknown architecture '$arch' (known: amd64, arm64)" >&2; exit 1 ;;
esac

log() { echo "chroot: $*" >&2; }
die() { log "$*"; exit 1; }

case $apt_release in
trixie | sid) ;;
*) die "unknown release '$apt_release' (known: trixie, sid)" ;;
esac
# (a root made before dkms was in it is made again: dkms cannot be added
# with apt once the headers went in without their image)
if [ -f "$dir/ready" ] && [ -x "$dir/usr/sbin/dkms" ]; then
	echo "$dir"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "needs debootstrap (test/rig/deps.sh)"

# gives apt_sources (no private apt state here: apt runs in the root)
# shellcheck disable=SC2034
aptdir=/nonexistent
. "$(dirname "$0")/debian-apt.sh"

tmp=$dir.tmp.$$
trap 'rm -rf --one-file-system "$tmp"' EXIT
in_root() { chroot "$tmp" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

# The dependencies of the header packages, but none of linux-image-* (the
# kernel runs in the guest; trixie's headers depend on its image, 100 MB
# that no build reads) nor of the header packages themselves, each
# alternative's first choice. In a cross root, the headers' compiler
# gcc-N is the same version's cross compiler gcc-N-TRIPLET.
header_dependencies() {
	in_root apt-cache show "$@" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed 's/|.*//; s/(.*)//; s/ //g' |
		grep -Ev '^linux-(image|headers|kbuild)-' |
		sed "${triplet:+s/^gcc-\([0-9]*\)\$/gcc-\1-$triplet/}" | sort -u
}

t0=$(date +%s)
log "debootstrap $apt_release into $dir (kernel $krelease, $arch)"
mkdir -p "$cache/chroots"
rm -rf --one-file-system "$tmp"
debootstrap --variant=minbase "$apt_release" "$tmp" "$mirror/debian" \
	>"$dir.log" 2>&1 || { tail -n 5 "$dir.log" >&2; die "debootstrap failed ($dir.log)"; }
apt_sources >"$tmp/etc/apt/sources.list"
# This machine's clock can run past a suite's Valid-Until (unstable's
# Release file only lasts a week; seen expired by 22 days here): its
# signature is still checked.
echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99valid-until"
# no service starts in a chroot
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
headers=linux-headers-$krelease
cross=()
if [ -n "$triplet" ]; then
	in_root dpkg --add-architecture "$arch"
	# the arch's own header package; its -common and the kbuild stay
	# this machine's (arch all; Multi-Arch: foreign)
	headers=$headers:$arch
	cross=("gcc-$triplet" "libc6-dev-$arch-cross")
fi
in_root apt-get -qq update >&2
common=$(in_root apt-cache show "$headers" | sed -n 's/^Depends: //p' | tr ',' '\n' |
	sed 's/(.*)//; s/ //g' | grep -E '^linux-(headers-.*-common|kbuild-)' |
	sort -u | tr '\n' ' ') || die "no $headers in $apt_release"
# make, and Debian's dkms for the packaging test of this release's kernel
# (test/packaging/dkms.sh run in the root: what a user of the release
# installs the module with)
# shellcheck disable=SC2046,SC2086 # word lists on purpose
in_root apt-get install -y -qq --no-install-recommends make dkms kmod "${cross[@]}" \
	$(header_dependencies "$headers" $common) >&2
mkdir -p "$tmp/tmp/debs"
in_root sh -c "cd /tmp/debs && apt-get -qq -o APT::Sandbox::User=root \
	download $headers $common" >&2
# (its warnings about the image are expected: no build warning of ours)
in_root sh -c 'dpkg --force-depends -i /tmp/debs/*.deb' >/dev/null 2>&1 ||
	die "the header packages did not install"
if [ -n "$triplet" ]; then
	# what the forced install left unmet must be the image (and the
	# arch's own gcc-N, replaced by the cross compiler) only: a kbuild
	# that did not satisfy the arch's headers would show here
	unmet=$(in_root apt-get check 2>&1 | grep -oE 'Depends: [^ ]+' |
		grep -Ev "^Depends: (linux-image-|gcc-[0-9]+(:$arch)?$)" || true)
	[ -z "$unmet" ] || die "unmet dependencies in the cross root: $unmet"
	in_root sh -c "cd /tmp/debs && apt-get -qq -o APT::Sandbox::User=root \
		download busybox-static:$arch" >&2
	mkdir -p "$tmp/tmp/debs/bb" "$tmp/opt/ksmvs-guest"
	in_root sh -c 'dpkg-deb -x /tmp/debs/busybox-static_*.deb /tmp/debs/bb'
	# (/usr/bin since trixie's merged /usr; /bin before)
	cp "$(ls "$tmp"/tmp/debs/bb/{usr/bin,bin}/busybox 2>/dev/null | head -n 1)" \
		"$tmp/opt/ksmvs-guest/busybox"
fi
rm -rf "$tmp/tmp/debs"
in_root apt-get clean
headers=${headers%:"$arch"}
[ -f "$tmp/usr/src/$headers/Makefile" ] || die "no $headers in the root"
touch "$tmp/ready"
rm -f "$dir.log"
if [ -f "$dir/ready" ] && [ -x "$dir/usr/sbin/dkms" ]; then
	log "another run made $dir meanwhile"
else
	rm -rf --one-file-system "$dir"
	mv "$tmp" "$dir"
fi
log "$dir: $(($(date +%s) - t0)) s"
echo "$dir"
