#!/bin/bash
# Run the kernel's checkpatch.pl over the module's sources.
#
#   checkpatch.sh FILE...
#
# checkpatch ships only inside Debian's linux-source tarball; the script and
# its data files are pulled out of it once and cached by version.
set -euo pipefail

cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
dir=$cache/checkpatch
if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
	mkdir -p "$cache/debs"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$cache/debs" && ls linux-source-6.1_*.deb >/dev/null 2>&1 ||
		apt-get -qq -o APT::Sandbox::User=root download linux-source-6.1) >&2
	deb=$(ls "$cache"/debs/linux-source-6.1_*.deb | sort -V | tail -n 1)
	dpkg-deb -x "$deb" "$tmp"
	mkdir -p "$dir.tmp"
	tar -xaf "$tmp"/usr/src/linux-source-6.1.tar.xz -C "$dir.tmp" \
		--strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	rm -f "$deb"	# 130 MB, and only three files were needed
fi
# compat.h is the one place kept for version tests (style.md): there, and
# only there, checkpatch's rule against LINUX_VERSION_CODE does not apply.
status=0
for f in "$@"; do
	ignore=
	[ "$(basename "$f")" = compat.h ] && ignore=--ignore=LINUX_VERSION_CODE,CONSTANT_COMPARISON
	perl "$dir/scripts/checkpatch.pl" --no-tree --strict --terse --show-types $ignore -f "$f" || status=1
done
exit $status
