#!/bin/bash
# Fetch Debian's stock kernel (image + matching headers) for one series and
# unpack it into the cache, without installing anything on this machine.
#
#   kernels.sh SERIES        SERIES is 6.1 (bookworm) or 6.12 (bookworm-backports)
#
# Prints the directory of the unpacked kernel on stdout:
#   DIR/vmlinuz   the boot image
#   DIR/kdir      a kbuild tree for out-of-tree modules (KDIR=)
#   DIR/version   the package version, DIR/release the uname -r
#
# Versions are resolved at run time through the meta package
# linux-image-amd64, because Debian drops old ABI numbers from the archive.
# Everything is cached by version under $KSMVS_CACHE; when the archive cannot
# be reached, the newest cached kernel of the series is used instead.
set -euo pipefail

series=${1:?usage: kernels.sh SERIES (6.1 or 6.12)}
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
aptdir=$cache/apt
mirror=${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}

log() { echo "kernels: $*" >&2; }
die() { log "$*"; exit 1; }

case $series in
6.1 | 6.12) ;;
*) die "unknown series '$series' (known: 6.1, 6.12)" ;;
esac

# A private apt state: our suites (backports included) never touch the
# machine's own sources or preferences.
. "$(dirname "$0")/debian-apt.sh"

# Highest version of PACKAGE whose version starts with "SERIES."
newest_version() {
	apt-cache "${apt_opts[@]}" madison "$1" |
		awk -F'|' -v s="$series." '{ gsub(/ /, "", $2);
			if (index($2, s) == 1) print $2 }' |
		sort -V | tail -n 1
}

# Name of the first dependency of PACKAGE=VERSION that matches REGEX.
dependency() {
	apt-cache "${apt_opts[@]}" show "$1=$2" |
		sed -n 's/^Depends: //p' | head -n 1 | tr ',|' '\n\n' |
		sed 's/^ *//; s/ .*//' | grep -E "$3" | head -n 1
}

newest_cached() {
	local d best=
	for d in "$cache"/kernels/*/; do
		[ -f "$d/ready" ] || continue
		case $(cat "$d/release") in
		"$series".*) best=$(printf '%s\n%s\n' "$best" "$(cat "$d/version")" |
			sort -V | tail -n 1) ;;
		esac
	done
	[ -n "$best" ] || return 1
	for d in "$cache"/kernels/*/; do
		[ -f "$d/ready" ] && [ "$(cat "$d/version")" = "$best" ] &&
			case $(cat "$d/release") in "$series".*) echo "${d%/}"; return 0 ;; esac
	done
	return 1
}

fetch() {
	local version=$1 release image headers common kbuild dir debs
	release=$(dependency linux-image-amd64 "$version" '^linux-image-') ||
		die "no image dependency for linux-image-amd64=$version"
	release=${release#linux-image-}
	dir=$cache/kernels/$release-$version
	if [ -f "$dir/ready" ]; then
		echo "$dir"
		return 0
	fi
	image=linux-image-$release-unsigned
	headers=linux-headers-$release
	common=$(dependency "$headers" "$version" '^linux-headers-.*-common$')
	kbuild=$(dependency "$headers" "$version" '^linux-kbuild-')
	[ -n "$common" ] && [ -n "$kbuild" ] ||
		die "cannot resolve the header packages of $headers=$version"
	debs=$cache/debs
	mkdir -p "$debs"
	log "downloading $release ($version)"
	(cd "$debs" && apt-get "${apt_opts[@]}" -qq download \
		"$image=$version" "$headers=$version" "$common=$version" \
		"$kbuild=$(apt-cache "${apt_opts[@]}" madison "$kbuild" |
			awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -V | tail -n 1)") >&2

	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/root"
	local deb
	for deb in "$debs/${headers}_"*"${version//:/%3a}"*.deb \
		"$debs/${common}_"*"${version//:/%3a}"*.deb "$debs/${kbuild}_"*.deb; do
		dpkg-deb -x "$deb" "$dir.tmp/root"
	done
	# Only the boot image is needed from the (large) image package.
	dpkg-deb --fsys-tarfile "$debs/${image}_${version//:/%3a}_amd64.deb" |
		tar -x -C "$dir.tmp/root" "./boot/vmlinuz-$release"
	mv "$dir.tmp/root/boot/vmlinuz-$release" "$dir.tmp/vmlinuz"

	# The headers' top Makefile includes the -common tree by its absolute
	# path under /usr/src; point it at our unpacked copy instead.
	local kdir=$dir.tmp/root/usr/src/linux-headers-$release
	sed -i "s|/usr/src/$common|$dir/root/usr/src/$common|g" "$kdir/Makefile"
	ln -s "root/usr/src/linux-headers-$release" "$dir.tmp/kdir"
	echo "$version" >"$dir.tmp/version"
	echo "$release" >"$dir.tmp/release"
	touch "$dir.tmp/ready"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	echo "$dir"
}

if apt_refresh; then
	version=$(newest_version linux-image-amd64)
	[ -n "$version" ] || die "no linux-image-amd64 of series $series in the archive"
	fetch "$version"
else
	log "archive unreachable; using the cache"
	newest_cached || die "archive unreachable and no cached $series kernel"
fi
