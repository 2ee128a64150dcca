#!/bin/bash
# make install / make install-dkms / make uninstall into a DESTDIR, with the
# default PREFIX and with PREFIX=/usr: every file where it belongs, the
# units calling the installed ksm-victim, nothing left after uninstall.
#
#   install.sh WORK_DIR        prints PASS/FAIL lines
set -uo pipefail

work=${1:?usage: install.sh WORK_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog")

pass() { echo "PASS install/$1"; }
fail() { echo "FAIL install/$1: $2"; }

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

# check PREFIX_NAME PREFIX FILES...: install with PREFIX (none: the
# default), compare the files installed with FILES, then uninstall
check() {
	local name=$1 prefix=$2 dest=$work/$1 unit exec
	shift 2
	local args=(DESTDIR="$dest")
	[ -z "$prefix" ] || args+=(PREFIX="$prefix")
	if ! make -s -C "$top" install install-dkms "${args[@]}" >"$work/$name.log" 2>&1; then
		fail "$name/install" "$(tail -n 2 "$work/$name.log" | tr '\n' ' ')"
		return
	fi
	(cd "$dest" && find . -type f | sed 's|^\.||' | sort) >"$work/$name.got"
	printf '%s\n' "$@" | sort >"$work/$name.want"
	if cmp -s "$work/$name.want" "$work/$name.got"; then
		pass "$name/files"
	else
		fail "$name/files" "$(diff "$work/$name.want" "$work/$name.got" | grep '^[<>]' | tr '\n' ' ')"
	fi
	unit=$(grep -l '^ExecStart=' "$dest"/"${prefix:-/usr/local}"/lib/systemd/system/*.service 2>/dev/null)
	exec=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit" 2>/dev/null)
	[ "$exec" = "${prefix:-/usr/local}/sbin/ksm-victim" ] && pass "$name/unit-exec" ||
		fail "$name/unit-exec" "the service runs '$exec'"
	grep -q '@[A-Z]*@' "$dest"/"${prefix:-/usr/local}"/lib/systemd/system/* &&
		fail "$name/unit-substituted" "a @VARIABLE@ is left in the units" ||
		pass "$name/unit-substituted"
	[ -x "$dest${prefix:-/usr/local}/sbin/ksm-victim" ] &&
		"$dest${prefix:-/usr/local}/sbin/ksm-victim" --help >/dev/null 2>&1 &&
		pass "$name/runs" || fail "$name/runs" "the installed ksm-victim --help failed"
	make -s -C "$top" uninstall "${args[@]}" >>"$work/$name.log" 2>&1
	left=$(cd "$dest" && find . -type f | sed 's|^\.||')
	[ -z "$left" ] && pass "$name/uninstall" || fail "$name/uninstall" "left: $left"
}

dkms_files() {
	local d=/usr/src/ksm-vmshare-$version f
	echo "$d/dkms.conf"
	# all the module's sources but the rig's planted bugs, which a host
	# never gets (the installed list must equal this one exactly)
	(cd "$top" && for f in Kbuild Makefile module/*.[ch] include/ksm_vmshare/*.h; do
		[ "$f" = module/planted.c ] || echo "$d/$f"
	done)
}

check local "" /usr/local/sbin/ksm-victim /usr/local/share/man/man8/ksm-victim.8 \
	/usr/local/lib/modules-load.d/ksm-vmshare.conf \
	/usr/local/lib/systemd/system/ksm-vmshare-exporter.service \
	/usr/local/lib/systemd/system/ksm-vmshare-exporter.timer $(dkms_files)
check usr /usr /usr/sbin/ksm-victim /usr/share/man/man8/ksm-victim.8 \
	/usr/lib/modules-load.d/ksm-vmshare.conf \
	/usr/lib/systemd/system/ksm-vmshare-exporter.service \
	/usr/lib/systemd/system/ksm-vmshare-exporter.timer $(dkms_files)
