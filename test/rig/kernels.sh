#!/bin/bash
# Fetch Debian's stock kernel (image + matching headers) for one series and
# unpack it into the cache, without installing anything on this machine.
#
#   kernels.sh SERIES
#
# SERIES is 6.1 (bookworm), 6.12 (bookworm-backports), trixie (Debian 13's
# own 6.12, security updates included), sid (unstable's newest kernel,
# 7.x today) or arm64 (Debian 13's own 6.12 for arm64, booted under
# qemu-system-aarch64). Prints the directory of the unpacked kernel on
# stdout:
#   DIR/vmlinuz   the boot image
#   DIR/kdir      a kbuild tree for out-of-tree modules (KDIR=), on 6.1 and
#                 6.12, whose headers build with this machine's bookworm
#                 toolchain
#   DIR/chroot    instead, on trixie, sid and arm64: the release whose own
#                 toolchain builds the module (build-module.sh, chroot.sh)
#   DIR/arch      the Debian architecture, amd64 or arm64 (a kernel cached
#                 before this file existed is amd64)
#   DIR/modules-deb  the package holding the kernel's modules (kmods.sh)
#   DIR/version   the package version, DIR/release the uname -r
#
# Versions are resolved at run time through the meta package
# linux-image-ARCH of the series' release, because Debian drops old ABI
# numbers from the archive.
# Everything is cached by version under $KSMVS_CACHE; when the archive cannot
# be reached, the newest cached kernel of the series is used instead.
set -euo pipefail

series=${1:?usage: kernels.sh SERIES (6.1, 6.12, trixie, sid or arm64)}
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
aptdir=$cache/apt
mirror=${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}

log() { echo "kernels: $*" >&2; }
die() { log "$*"; exit 1; }

# prefix: what the package version of the series starts with ("" for any);
# chroot: the release that builds its module, if not this machine
# arch: the kernel's Debian architecture
chroot=
arch=amd64
case $series in
6.1 | 6.12) prefix=$series. ;;
trixie | sid)
	prefix=
	chroot=$series
	apt_release=$series
	aptdir=$cache/apt-$series
	;;
arm64)
	# its own apt state: arm64's package lists are not mixed into the
	# amd64 trixie state other runs read
	prefix=
	arch=arm64
	chroot=trixie
	apt_release=trixie
	aptdir=$cache/apt-trixie-arm64
	;;
*) die "unknown series '$series' (known: 6.1, 6.12, trixie, sid, arm64)" ;;
esac

# A private apt state: our suites (backports included) never touch the
# machine's own sources or preferences.
. "$(dirname "$0")/debian-apt.sh"
# apt of this machine (amd64) reads the lists of the kernel's architecture
# only, as if it were native
[ "$arch" = amd64 ] ||
	apt_opts+=(-o APT::Architecture="$arch" -o APT::Architectures="$arch")

# Highest version of PACKAGE whose version starts with $prefix
newest_version() {
	apt-cache "${apt_opts[@]}" madison "$1" |
		awk -F'|' -v s="$prefix" '{ gsub(/ /, "", $2);
			if (index($2, s) == 1) print $2 }' |
		sort -V | tail -n 1
}

# Name of the first dependency of PACKAGE=VERSION that matches REGEX.
dependency() {
	apt-cache "${apt_opts[@]}" show "$1=$2" |
		sed -n 's/^Depends: //p' | head -n 1 | tr ',|' '\n\n' |
		sed 's/^ *//; s/ .*//' | grep -E "$3" | head -n 1
}

# The series a cached kernel belongs to: DIR/series, or for a kernel
# cached before that file existed, by its release (6.1 or 6.12)
cached_series() {
	cat "$1/series" 2>/dev/null || cut -d. -f1-2 "$1/release"
}

newest_cached() {
	local d best=
	for d in "$cache"/kernels/*/; do
		[ -f "$d/ready" ] && [ "$(cached_series "$d")" = "$series" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$(cat "$d/version")" | sort -V | tail -n 1)
	done
	[ -n "$best" ] || return 1
	for d in "$cache"/kernels/*/; do
		[ -f "$d/ready" ] && [ "$(cached_series "$d")" = "$series" ] &&
			[ "$(cat "$d/version")" = "$best" ] && echo "${d%/}" && return 0
	done
	return 1
}

# The packages of RELEASE=VERSION that hold the boot image and the
# modules, and the image's path in the first: up to 7.1 the -unsigned image
# package holds both; from 7.2 (unstable) linux-binary-* holds the image
# and linux-modules-* the modules.
image_packages() {
	local release=$1 version=$2
	if apt-cache "${apt_opts[@]}" show "linux-image-$release-unsigned=$version" \
		>/dev/null 2>&1; then
		echo "linux-image-$release-unsigned linux-image-$release-unsigned ./boot/vmlinuz-$release"
	else
		echo "linux-binary-$release linux-modules-$release ./usr/lib/modules/$release/vmlinuz"
	fi
}

# fetch_headers RELEASE VERSION DIR: unpack the header packages into
# DIR/root and make DIR/kdir a kbuild tree there
fetch_headers() {
	local release=$1 version=$2 dir=$3 headers common kbuild deb
	headers=linux-headers-$release
	common=$(dependency "$headers" "$version" '^linux-headers-.*-common$')
	kbuild=$(dependency "$headers" "$version" '^linux-kbuild-')
	[ -n "$common" ] && [ -n "$kbuild" ] ||
		die "cannot resolve the header packages of $headers=$version"
	(cd "$debs" && apt-get "${apt_opts[@]}" -qq download \
		"$headers=$version" "$common=$version" \
		"$kbuild=$(apt-cache "${apt_opts[@]}" madison "$kbuild" |
			awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -V | tail -n 1)") >&2
	for deb in "$debs/${headers}_"*"${version//:/%3a}"*.deb \
		"$debs/${common}_"*"${version//:/%3a}"*.deb "$debs/${kbuild}_"*.deb; do
		dpkg-deb -x "$deb" "$dir/root"
	done
	# The headers' top Makefile includes the -common tree by its absolute
	# path under /usr/src; point it at our unpacked copy instead.
	local kdir=$dir/root/usr/src/linux-headers-$release final=${dir%.tmp}
	sed -i "s|/usr/src/$common|$final/root/usr/src/$common|g" "$kdir/Makefile"
	ln -s "root/usr/src/linux-headers-$release" "$dir/kdir"
}

fetch() {
	local version=$1 release dir debs image modules path
	release=$(dependency "linux-image-$arch" "$version" '^linux-image-') ||
		die "no image dependency for linux-image-$arch=$version"
	release=${release#linux-image-}
	dir=$cache/kernels/$release-$version
	if [ -f "$dir/ready" ]; then
		echo "$dir"
		return 0
	fi
	read -r image modules path < <(image_packages "$release" "$version")
	debs=$cache/debs
	mkdir -p "$debs"
	log "downloading $release ($version)"
	# shellcheck disable=SC2046 # one package or two
	(cd "$debs" && apt-get "${apt_opts[@]}" -qq download \
		$(printf '%s\n' "$image=$version" "$modules=$version" | sort -u)) >&2

	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/root"
	# Only the boot image is needed from the (large) image package.
	dpkg-deb --fsys-tarfile "$debs/${image}_${version//:/%3a}_$arch.deb" |
		tar -x -C "$dir.tmp/root" "$path"
	mv "$dir.tmp/root/$path" "$dir.tmp/vmlinuz"
	rm -rf "$dir.tmp/root/boot" "$dir.tmp/root/usr/lib"
	echo "$debs/${modules}_${version//:/%3a}_$arch.deb" >"$dir.tmp/modules-deb"
	if [ -n "$chroot" ]; then
		echo "$chroot" >"$dir.tmp/chroot"
	else
		fetch_headers "$release" "$version" "$dir.tmp"
	fi
	echo "$version" >"$dir.tmp/version"
	echo "$release" >"$dir.tmp/release"
	echo "$series" >"$dir.tmp/series"
	echo "$arch" >"$dir.tmp/arch"
	touch "$dir.tmp/ready"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	echo "$dir"
}

if apt_refresh; then
	version=$(newest_version "linux-image-$arch")
	[ -n "$version" ] || die "no linux-image-$arch of series $series in the archive"
	fetch "$version"
else
	log "archive unreachable; using the cache"
	newest_cached || die "archive unreachable and no cached $series kernel"
fi
