#!/bin/bash
# Debian's Prometheus programs for the tests, unpacked into the cache
# rather than installed: installing the packages would start a Prometheus
# server and a node_exporter on a machine that runs systemd.
#
#   prometheus-bin.sh       prints a directory holding promtool, prometheus
#                           and prometheus-node-exporter
#
# Cached by package version under $KSMVS_CACHE/prometheus.
set -euo pipefail

cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}/prometheus
packages=(prometheus prometheus-node-exporter)

log() { echo "prometheus-bin: $*" >&2; }

versions() {
	local p v
	for p in "${packages[@]}"; do
		v=$(apt-cache policy "$p" | sed -n 's/^ *Candidate: //p')
		[ -n "$v" ] && [ "$v" != "(none)" ] || return 1
		echo "$p=$v"
	done
}

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
if ! wanted=$(versions); then
	$sudo apt-get update -qq >&2
	wanted=$(versions) || { log "no candidate for ${packages[*]}"; exit 1; }
fi
key=$(echo "$wanted" | sed 's/=/-/' | tr '\n' '_' | sed 's/_$//')
dir=$cache/$key
if [ ! -f "$dir/ready" ]; then
	log "unpacking $(echo "$wanted" | tr '\n' ' ')"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
	(cd "$dir.tmp/debs" && apt-get -o APT::Sandbox::User=root download $wanted) >&2
	for deb in "$dir.tmp/debs"/*.deb; do
		dpkg-deb -x "$deb" "$dir.tmp/root"
	done
	mkdir -p "$dir.tmp/bin"
	for f in promtool prometheus prometheus-node-exporter; do
		ln -s "../root/usr/bin/$f" "$dir.tmp/bin/$f"
		"$dir.tmp/bin/$f" --version >/dev/null 2>&1 || { log "$f does not run"; exit 1; }
	done
	rm -rf "$dir.tmp/debs"
	touch "$dir.tmp/ready"
	mv "$dir.tmp" "$dir"
	# older versions are no use any more
	for old in "$cache"/*/; do
		[ "${old%/}" = "$dir" ] || rm -rf "$old"
	done
fi
echo "$dir/bin"
