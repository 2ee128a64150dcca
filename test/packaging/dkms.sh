#!/bin/bash
# Build and install the module through Debian's dkms, as a kernel upgrade
# would, for one fetched kernel, in scratch trees (nothing goes under
# /var/lib/dkms or /lib/modules of this machine).
#
#   dkms.sh KERNEL_DIR WORK_DIR      (KERNEL_DIR from test/rig/kernels.sh)
#
# Prints PASS/FAIL lines. Leaves the installed module at
# WORK_DIR/install/RELEASE/updates/dkms/ksm_vmshare.ko and dkms's logs in
# WORK_DIR/log.
set -uo pipefail

kernel=${1:?usage: dkms.sh KERNEL_DIR WORK_DIR}
work=${2:?usage: dkms.sh KERNEL_DIR WORK_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
release=$(cat "$kernel/release")
kdir=$kernel/kdir
name=dkms/$release

pass() { echo "PASS $name/$1"; }
fail() { echo "FAIL $name/$1: $2"; }

rm -rf "$work"
mkdir -p "$work"/{source,tree,install,log}
work=$(cd "$work" && pwd)
log=$work/log

# The source tree as the package lays it out under /usr/src.
if ! make -s -C "$top" install-dkms DESTDIR="$work/source" \
	DKMSDIR=/ksm-vmshare-src >"$log/install-dkms" 2>&1; then
	fail install-dkms "make install-dkms failed: $(tail -n 1 "$log/install-dkms")"
	exit 1
fi
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$work/source/ksm-vmshare-src/dkms.conf")
if [ -z "$version" ] || [ "$version" = "#MODULE_VERSION#" ]; then
	fail version "dkms.conf has no version: '$version'"
	exit 1
fi
mv "$work/source/ksm-vmshare-src" "$work/source/ksm-vmshare-$version"
module=ksm-vmshare/$version
trees=(--sourcetree "$work/source" --dkmstree "$work/tree" --installtree "$work/install")

# The supported range, by dkms.conf's own regex (as dkms matches it).
regex=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' "$work/source/ksm-vmshare-$version/dkms.conf")
bad=
for k in 6.1 6.1.0-56-amd64 6.1.192 6.6.0-1-amd64 6.9.2 6.10.0 6.12.95+deb12-amd64 \
	6.18.44-fc-v657 7.0.0 10.2.1; do
	[[ $k =~ $regex ]] || bad="$bad $k refused;"
done
for k in 6.0 6.0.0-1-amd64 5.10.0-30-amd64 5.19.17 4.19.0-27-amd64 3.16.0 6 61 6.01; do
	[[ $k =~ $regex ]] && bad="$bad $k accepted;"
done
[ -z "$bad" ] && pass kernel-range || fail kernel-range "$bad"

if ! dkms add "$module" "${trees[@]}" >"$log/add" 2>&1; then
	fail add "dkms add failed: $(tail -n 1 "$log/add")"
	exit 1
fi
pass add

# dkms refuses what the module cannot run on: exit 77, nothing built.
# A kernel older than 6.1, with this kernel's real headers:
dkms build "$module" -k 6.0.0-1-amd64 --kernelsourcedir "$kdir" "${trees[@]}" \
	>"$log/build-6.0" 2>&1
status=$?
[ "$status" = 77 ] && pass exclude-6.0 ||
	fail exclude-6.0 "dkms build for 6.0 exited $status, not 77 (skipped)"
# This kernel without CONFIG_KPROBES (BUILD_EXCLUSIVE_CONFIG reads .config):
for option in CONFIG_KPROBES CONFIG_KSM; do
	mkdir -p "$work/no-$option"
	grep -v "^$option=" "$kdir/.config" >"$work/no-$option/.config"
	dkms build "$module" -k "$release" --kernelsourcedir "$work/no-$option" \
		"${trees[@]}" >"$log/build-no-$option" 2>&1
	status=$?
	[ "$status" = 77 ] && pass "exclude-no-$option" ||
		fail "exclude-no-$option" "dkms build without $option exited $status, not 77"
done

t0=$(date +%s)
if dkms build "$module" -k "$release" --kernelsourcedir "$kdir" "${trees[@]}" \
	>"$log/build" 2>&1; then
	pass build
else
	fail build "dkms build failed: $(tail -n 3 "$log/build" | tr '\n' ' ')"
	find "$work/tree" -name make.log -exec tail -n 20 {} \; >&2
	exit 1
fi
echo "dkms build for $release: $(($(date +%s) - t0)) s" >&2
# kbuild's warnings would pass dkms silently; the rig refuses them
if grep -q 'warning:' "$work/tree/ksm-vmshare/$version/$release/"*/log/make.log; then
	fail build-warnings "$(grep -m 1 'warning:' "$work/tree/ksm-vmshare/$version/$release/"*/log/make.log)"
else
	pass build-warnings
fi

# dkms installs into INSTALLTREE/RELEASE, which must exist (a kernel's
# /lib/modules/RELEASE); depmod is for a real /lib/modules.
mkdir -p "$work/install/$release"
if dkms install "$module" -k "$release" --kernelsourcedir "$kdir" --no-depmod \
	"${trees[@]}" >"$log/install" 2>&1; then
	pass install
else
	fail install "dkms install failed: $(tail -n 3 "$log/install" | tr '\n' ' ')"
	exit 1
fi

ko=$work/install/$release/updates/dkms/ksm_vmshare.ko
if [ -f "$ko" ]; then
	pass ko
else
	fail ko "no $ko"
	exit 1
fi
vermagic=$(modinfo -F vermagic "$ko")
case $vermagic in
"$release "*) pass vermagic ;;
*) fail vermagic "vermagic '$vermagic' is not for $release" ;;
esac
state=$(dkms status "$module" -k "$release" "${trees[@]}" 2>&1)
case $state in
*": installed"*) pass status ;;
*) fail status "dkms status says '$state'" ;;
esac
