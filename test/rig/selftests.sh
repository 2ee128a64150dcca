#!/bin/bash
# Build the kernel's own KSM selftests, static, for the test guest (busybox,
# no libc), from Debian's linux-source of the kernel being tested.
#
#   selftests.sh SERIES OUTDIR [VERSION [CROSS_ROOT]]
#
# SERIES is 6.1 (the tests live in tools/testing/selftests/vm there), 6.12
# (.../mm, with ksm_functional_tests beside ksm_tests), or trixie, sid or
# arm64 (kernels.sh's names: the same as 6.12, from that release's
# linux-source-X.Y, X.Y taken from VERSION, which they need; arm64's is
# trixie's). arm64 also needs CROSS_ROOT, the cross root that built its
# module (chroot.sh trixie KERNEL_RELEASE arm64): the tests are built
# there with its cross compiler, against the release's libnuma-dev of the
# architecture, unpacked into the root once. VERSION is the
# kernel's package version (kernels.sh's DIR/version): its linux-source is
# used while the archive has it, else the newest of the series. The package
# is about 140 MB; only the tests' directory and the headers they include
# are pulled out of it, once, and the package is deleted. Sources and
# binaries are cached by source version under $KSMVS_CACHE/selftests/.
# OUTDIR gets the binaries and "version" (the linux-source version used).
set -euo pipefail

usage="usage: selftests.sh SERIES OUTDIR [VERSION [CROSS_ROOT]]"
series=${1:?$usage}
outdir=${2:?$usage}
want=${3:-}
cross_root=${4:-}
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
aptdir=$cache/apt
mirror=${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}
pkg=linux-source-$series
arch=amd64
case $series in
trixie | sid | arm64)
	[ -n "$want" ] || { echo "selftests: $series needs VERSION" >&2; exit 1; }
	pkg=linux-source-$(echo "$want" | cut -d. -f1-2)
	apt_release=$series
	if [ "$series" = arm64 ]; then
		[ -d "$cross_root" ] || { echo "selftests: arm64 needs CROSS_ROOT" >&2; exit 1; }
		arch=arm64
		apt_release=trixie
	fi
	aptdir=$cache/apt-$apt_release
	;;
esac

log() { echo "selftests: $*" >&2; }
die() { log "$*"; exit 1; }

# What each series' selftest Makefile does for these two programs (CFLAGS,
# the helper sources every program links, LDLIBS), with -static for the
# guest and the kernel's tools/include/uapi standing in for the exported
# headers ($(KHDR_INCLUDES), which a source tree has only after
# "make headers_install").
case $series in
6.1)
	testdir=tools/testing/selftests/vm
	programs="ksm_tests"
	cflags="-Wall"
	helpers=
	ldlibs="-lrt -lpthread"
	;;
6.12 | trixie | arm64)
	testdir=tools/testing/selftests/mm
	programs="ksm_tests ksm_functional_tests"
	cflags="-Wall -O2 -U_FORTIFY_SOURCE"
	helpers="vm_util.c thp_settings.c"
	ldlibs="-lrt -lpthread -lm"
	;;
sid)
	# 7.2: thp_settings.c is hugepage_settings.c, and the tests include
	# "kselftest.h" from the directory above (lib.mk's -I)
	testdir=tools/testing/selftests/mm
	programs="ksm_tests ksm_functional_tests"
	cflags="-Wall -O2 -U_FORTIFY_SOURCE -I .."
	helpers="vm_util.c hugepage_settings.c"
	ldlibs="-lrt -lpthread -lm"
	;;
*) die "unknown series '$series' (known: 6.1, 6.12, trixie, sid, arm64)" ;;
esac
if [ "$arch" = amd64 ] &&
	{ [ ! -e /usr/include/numa.h ] || [ ! -e /usr/lib/x86_64-linux-gnu/libnuma.a ]; }; then
	die "ksm_tests links libnuma statically: install libnuma-dev (test/rig/deps.sh)"
fi

# A private apt state: our suites (backports included) never touch the
# machine's own sources or preferences.
. "$(dirname "$0")/debian-apt.sh"

versions() {
	apt-cache "${apt_opts[@]}" madison "$pkg" 2>/dev/null |
		awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -V
}

newest_cached() {
	local d
	for d in "$cache"/selftests/*/; do
		[ -f "$d/ready" ] && [ "$(cat "$d/series")" = "$series" ] && basename "$d"
	done | sort -V | tail -n 1
}

# Pull the tests' directory and the headers they include out of the
# package of VERSION into $cache/selftests/VERSION/src.
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
fetch() {
	local version=$1 dir=$cache/selftests/$1 deb
	[ -f "$dir/ready" ] && return 0
	tmp=$(mktemp -d "$cache/selftests/.fetch.XXXXXX")
	log "downloading $pkg $version (about 140 MB, kept only until extracted)"
	(cd "$tmp" && apt-get "${apt_opts[@]}" -qq download "$pkg=$version") >&2 ||
		die "cannot download $pkg=$version"
	deb=$(ls "$tmp"/*.deb)
	mkdir -p "$tmp/d/src"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$pkg.tar.xz" |
		tar -xJ -C "$tmp/d/src" --strip-components=1 --wildcards \
			"*/$testdir/*" '*/tools/testing/selftests/kselftest.h' \
			'*/tools/include/uapi/*' '*/tools/arch/x86/include/uapi/*' \
			'*/include/vdso/time64.h' ||
		die "cannot extract the selftests from $deb"
	rm -f "$deb"
	echo "$series" >"$tmp/d/series"
	touch "$tmp/d/ready"
	rm -rf "$dir"
	mv "$tmp/d" "$dir"
	rm -rf "$tmp"
	tmp=
}

mkdir -p "$cache/selftests"
version=
# A cached source of the wanted version needs no archive at all.
if [ -n "$want" ] && [ -f "$cache/selftests/$want/ready" ]; then
	version=$want
elif apt_refresh && available=$(versions) && [ -n "$available" ]; then
	if [ -n "$want" ] && grep -qxF "$want" <<<"$available"; then
		version=$want
	else
		version=$(tail -n 1 <<<"$available")
		[ -z "$want" ] || log "$pkg $want is gone from the archive; using $version"
	fi
	fetch "$version"
else
	version=$(newest_cached) || true
	[ -n "$version" ] || die "archive unreachable and no cached $pkg"
	log "archive unreachable; using the cached $pkg $version"
fi

# Upstream's fix (in 6.13) for 6.12's ksm_functional_tests: the argument
# list of its fork-and-exec case lacks the NULL that ends it, so execv
# fails and the child goes on running the parent's remaining tests. The
# program is built from a fixed copy beside the original.
fix_from='{ prg_name, FORK_EXEC_CHILD_PRG_NAME }'
fix_to='{ prg_name, FORK_EXEC_CHILD_PRG_NAME, NULL }'

# Build once per source version and build command; the command is kept
# beside the binaries so that a change here rebuilds them.
dir=$cache/selftests/$version
src=$dir/src
bin=$dir/bin
cc=gcc
csrc=$src	# the sources where the compiler sees them
numa=	# the architecture's libnuma in the root, when cross-building
in_root=$(dirname "$0")/in-root.sh
# run_cc DIR COMMAND...: a compiler command run in DIR, here or in the root
run_cc() {
	(cd "$1" && shift && "$@")
}
if [ "$arch" != amd64 ]; then
	triplet=aarch64-linux-gnu
	bin=$dir/bin-$arch
	cc=$triplet-gcc
	csrc=/tmp/ksmvs-selftests/src
	numa=/opt/ksmvs-guest/numa
	run_cc() {
		"$in_root" "$cross_root" sh -c 'cd "$1" && shift && exec "$@"' sh "$@"
	}
fi
includes="-I $csrc -isystem $csrc/tools/include/uapi${numa:+ -I $numa/usr/include -L $numa/usr/lib/$triplet}"
recipe="$cc $cflags -static $includes PROGRAM.c $helpers $ldlibs (-lnuma for ksm_tests); fixed: $fix_to"
if [ "$(cat "$bin/recipe" 2>/dev/null)" != "$recipe" ]; then
	for p in $programs; do
		if grep -qF "$fix_from" "$src/$testdir/$p.c"; then
			sed "s/$fix_from/$fix_to/" "$src/$testdir/$p.c" >"$src/$testdir/$p.fixed.c"
		fi
	done
	cout=$bin.tmp
	if [ "$arch" != amd64 ]; then
		# the architecture's static libnuma, once per root (the root's
		# apt knows the architecture: chroot.sh added it)
		if [ ! -e "$cross_root$numa/usr/lib/$triplet/libnuma.a" ]; then
			rm -rf "$cross_root$numa" "$cross_root/tmp/numa-debs"
			mkdir -p "$cross_root/tmp/numa-debs"
			"$in_root" "$cross_root" sh -c "cd /tmp/numa-debs &&
				apt-get -qq -o APT::Sandbox::User=root download libnuma-dev:$arch &&
				dpkg-deb -x libnuma-dev_*.deb $numa" >&2 ||
				die "cannot unpack libnuma-dev:$arch into $cross_root"
			rm -rf "$cross_root/tmp/numa-debs"
		fi
		rm -rf "$cross_root/tmp/ksmvs-selftests"
		mkdir -p "$cross_root/tmp/ksmvs-selftests/out"
		cp -a "$src" "$cross_root/tmp/ksmvs-selftests/"
		cout=/tmp/ksmvs-selftests/out
	fi
	rm -rf "$bin.tmp"
	mkdir -p "$bin.tmp"
	for p in $programs; do
		libs=$ldlibs
		[ "$p" = ksm_tests ] && libs="$libs -lnuma"
		c=$p.c
		[ -e "$src/$testdir/$p.fixed.c" ] && c=$p.fixed.c
		# shellcheck disable=SC2086 # word lists on purpose
		run_cc "$csrc/$testdir" $cc $cflags -static $includes -o "$cout/$p" \
			"$c" $helpers $libs >"$bin.tmp/$p.log" 2>&1 || {
			cat "$bin.tmp/$p.log" >&2
			die "$p did not build from $pkg $version ($cc)"
		}
		[ "$arch" = amd64 ] || cp "$cross_root$cout/$p" "$bin.tmp/"
	done
	[ "$arch" = amd64 ] || rm -rf "$cross_root/tmp/ksmvs-selftests"
	echo "$recipe" >"$bin.tmp/recipe"
	rm -rf "$bin"
	mv "$bin.tmp" "$bin"
fi

mkdir -p "$outdir"
rm -f "$outdir"/*
for p in $programs; do
	install -m 0755 "$bin/$p" "$outdir/$p"
done
echo "$version" >"$outdir/version"
log "$pkg $version: $programs"
