#!/bin/bash
# Print the path of a real promtool, fetching it if needed.
#
# Debian 12 ships promtool only inside the prometheus package (19 MB to
# download, 96 MB installed, plus a server, a system user and JavaScript
# libraries). Rather than install all that, this downloads that .deb with
# apt and unpacks promtool alone (48 MB) into build/promtool/. --fetch
# does so even if promtool is on the PATH.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$top/build/promtool
if [ "${1:-}" != --fetch ] && command -v promtool >/dev/null; then
	command -v promtool
	exit 0
fi
if [ "${1:-}" != --fetch ] && [ -x "$dir/promtool" ]; then
	echo "$dir/promtool"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"	# apt downloads as _apt
cd "$tmp"
# apt-get download fails if the package lists were never fetched
if ! apt-get download -q prometheus >&2; then
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq >&2
	apt-get download -q prometheus >&2
fi
dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool
mkdir -p "$dir"
mv usr/bin/promtool "$dir/promtool"
echo "$dir/promtool"
