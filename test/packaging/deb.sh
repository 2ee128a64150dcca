#!/bin/bash
# The Debian packages as a user gets them: build (make deb), lintian, then
# install both with apt into a minimal Debian 12 root, run ksm-victim
# there, install a kernel's headers so that DKMS builds the module the way
# a kernel upgrade does, and remove everything again.
#
#   deb.sh WORK_DIR
#
# Prints PASS/FAIL lines; logs in WORK_DIR/log. Needs root (debootstrap,
# chroot, mount). The base root (debootstrap --variant=minbase bookworm and
# what dkms and the tests need from the archive) is cached by date under
# $KSMVS_CACHE/debian-root and rebuilt when older than
# $KSMVS_ROOT_MAX_AGE_DAYS (7) days; each run works on an overlay of it.
set -uo pipefail

work=${1:?usage: deb.sh WORK_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
mirror=${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}
max_age=${KSMVS_ROOT_MAX_AGE_DAYS:-7}
# What the root holds before our packages: dkms and what the 6.1 headers
# need (so that a warm run downloads nothing), systemd to check the units,
# man-db for the man page, node_exporter for its textfile directory.
base_packages="dkms linux-compiler-gcc-12-x86 libelf1 libssl3 systemd man-db prometheus-node-exporter"

log() { echo "deb: $*" >&2; }
pass() { echo "PASS deb/$1"; }
fail() { echo "FAIL deb/$1: $2"; }

if [ "$(id -u)" != 0 ]; then
	fail root "needs root for debootstrap, chroot and mount"
	exit 1
fi

# what a killed run may have left mounted
umount "$work/root/proc" 2>/dev/null
umount "$work/root" 2>/dev/null
rm -rf --one-file-system "$work"
mkdir -p "$work/log"
work=$(cd "$work" && pwd)
logs=$work/log

# --- build and lint ------------------------------------------------------

t0=$(date +%s)
if make -s -C "$top" deb >"$logs/build" 2>&1; then
	pass build
else
	fail build "make deb failed: $(tail -n 3 "$logs/build" | tr '\n' ' ')"
	exit 1
fi
log "make deb: $(($(date +%s) - t0)) s"
debs=$top/build/deb
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog")
arch=$(dpkg --print-architecture)
dkms_deb=$debs/ksm-vmshare-dkms_${version}_all.deb
tools_deb=$debs/ksm-vmshare-tools_${version}_${arch}.deb
for deb in "$dkms_deb" "$tools_deb"; do
	[ -f "$deb" ] || { fail files "no $deb"; exit 1; }
done
pass files

# The control fields the issue asks for.
field() { dpkg-deb -f "$1" "$2"; }
bad=
[ "$(field "$dkms_deb" Architecture)" = all ] || bad="$bad dkms Architecture $(field "$dkms_deb" Architecture);"
case $(field "$dkms_deb" Depends) in
dkms | "dkms "* | *", dkms"*) ;;
*) bad="$bad dkms Depends '$(field "$dkms_deb" Depends)';" ;;
esac
[ -z "$bad" ] && pass control || fail control "$bad"

# lintian: no error; warnings and the rest are shown, not failed.
t0=$(date +%s)
# (exit 2: an error tag, --fail-on; 1: lintian itself failed)
lintian --fail-on error --info --pedantic \
	"$debs"/ksm-vmshare_"${version}"_"${arch}".changes >"$logs/lintian" 2>&1
status=$?
grep -E '^[EWIPX]: ' "$logs/lintian" | sed 's/^/  lintian: /' >&2
errors=$(grep -c '^E: ' "$logs/lintian")
if [ "$status" = 0 ] && [ "$errors" = 0 ]; then
	pass lintian
else
	fail lintian "exit $status, $errors errors: $(grep -m 1 -v 'root privileges' "$logs/lintian")"
fi
# and lintian here does fail a broken package: the tools without copyright
rm -rf "$work/broken"
mkdir -p "$work/broken"
if dpkg-deb -R "$tools_deb" "$work/broken/tree" &&
	rm "$work/broken/tree/usr/share/doc/ksm-vmshare-tools/copyright" &&
	dpkg-deb -b "$work/broken/tree" "$work/broken/ksm-vmshare-tools_${version}_${arch}.deb" \
		>"$logs/lintian-broken" 2>&1; then
	lintian --fail-on error "$work/broken/ksm-vmshare-tools_${version}_${arch}.deb" \
		>"$logs/lintian-broken" 2>&1
	status=$?
else
	status="none (the broken package could not be made)"
fi
if [ "$status" = 2 ] && grep -q '^E: ksm-vmshare-tools: no-copyright-file' "$logs/lintian-broken"; then
	pass lintian-fails-broken
else
	fail lintian-fails-broken "lintian exit $status on a package without copyright: $(grep -m 1 -v 'root privileges' "$logs/lintian-broken")"
fi
log "lintian: $(($(date +%s) - t0)) s, $(grep -c '^W: ' "$logs/lintian") warnings"

# --- the Debian root ------------------------------------------------------

# make_base DIR: debootstrap, and what the root needs from the archive
make_base() {
	local dir=$1
	debootstrap --variant=minbase bookworm "$dir" "$mirror/debian" ||
		return 1
	cat >"$dir/etc/apt/sources.list" <<SOURCES
deb $mirror/debian bookworm main
deb $mirror/debian bookworm-updates main
deb $mirror/debian-security bookworm-security main
SOURCES
	# no service starts in a chroot
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
	chroot "$dir" apt-get -qq update &&
		chroot "$dir" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $base_packages &&
		chroot "$dir" apt-get clean
}

# The newest cached base root not older than max_age days, else a new one.
roots=$cache/debian-root
mkdir -p "$roots"
base=
for dir in $(ls -d "$roots"/bookworm-*/ 2>/dev/null | sort -r); do
	if [ -f "$dir/ready" ] && [ -n "$(find "$dir/ready" -mtime -"$max_age")" ]; then
		base=${dir%/}
		break
	fi
done
if [ -z "$base" ]; then
	t0=$(date +%s)
	base=$roots/bookworm-$(date +%Y%m%d)
	log "debootstrap into $base"
	rm -rf --one-file-system "$base" "$base.tmp"
	if ! make_base "$base.tmp" >"$logs/debootstrap" 2>&1; then
		fail root "debootstrap failed: $(tail -n 3 "$logs/debootstrap" | tr '\n' ' ')"
		rm -rf --one-file-system "$base.tmp"
		exit 1
	fi
	touch "$base.tmp/ready"
	mv "$base.tmp" "$base"
	# older roots are no use any more
	for dir in "$roots"/bookworm-*; do
		[ "$dir" = "$base" ] || rm -rf --one-file-system "$dir"
	done
	log "base root: $(($(date +%s) - t0)) s"
fi

# This run's root: an overlay on the cached one (a copy where overlayfs
# cannot be mounted). The cached root is never written.
root=$work/root
mkdir -p "$root" "$work/upper" "$work/overlay-work"
mounted=()
cleanup() {
	local m i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[i]}
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	mounted=()
}
trap cleanup EXIT
if mount -t overlay overlay \
	-o "lowerdir=$base,upperdir=$work/upper,workdir=$work/overlay-work" "$root" 2>/dev/null; then
	mounted+=("$root")
else
	log "overlayfs not available: copying the root"
	rmdir "$root"
	cp -a "$base" "$root"
fi
mount -t proc proc "$root/proc" && mounted+=("$root/proc")

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# --- install as a user would ---------------------------------------------

mkdir -p "$root/tmp/debs"
cp "$dkms_deb" "$tools_deb" "$root/tmp/debs/"
t0=$(date +%s)
if in_root sh -c "cd /tmp/debs && apt-get install -y --no-install-recommends \
	./$(basename "$dkms_deb") ./$(basename "$tools_deb")" >"$logs/install" 2>&1; then
	pass install
else
	fail install "apt-get install failed: $(tail -n 3 "$logs/install" | tr '\n' ' ')"
	exit 1
fi
log "install: $(($(date +%s) - t0)) s"

# Where the files land.
missing=
for f in usr/sbin/ksm-victim usr/share/man/man8/ksm-victim.8.gz \
	usr/lib/modules-load.d/ksm-vmshare.conf \
	lib/systemd/system/ksm-vmshare-exporter.service \
	lib/systemd/system/ksm-vmshare-exporter.timer \
	usr/share/doc/ksm-vmshare-tools/examples/ksm-vmshare.rules.yml \
	"usr/src/ksm-vmshare-$version/dkms.conf" "usr/src/ksm-vmshare-$version/Kbuild" \
	"usr/src/ksm-vmshare-$version/Makefile" "usr/src/ksm-vmshare-$version/module/main.c"; do
	[ -e "$root/$f" ] || missing="$missing /$f"
done
[ -z "$missing" ] && pass paths || fail paths "missing:$missing"
[ -x "$root/usr/sbin/ksm-victim" ] && pass executable || fail executable "/usr/sbin/ksm-victim is not executable"
modules_load=$(grep -v '^#' "$root/usr/lib/modules-load.d/ksm-vmshare.conf" 2>/dev/null | grep .)
[ "$modules_load" = ksm_vmshare ] && pass modules-load ||
	fail modules-load "ksm-vmshare.conf loads '$modules_load'"
grep -qx "PACKAGE_VERSION=\"$version\"" "$root/usr/src/ksm-vmshare-$version/dkms.conf" &&
	pass dkms-conf-version || fail dkms-conf-version "dkms.conf does not say version $version"
man_path=$(in_root man -w ksm-victim 2>&1)
[ "$man_path" = /usr/share/man/man8/ksm-victim.8.gz ] && pass man ||
	fail man "man -w ksm-victim: $man_path"
# the package enables the timer (a symlink; nothing starts in a chroot)
[ -L "$root/etc/systemd/system/timers.target.wants/ksm-vmshare-exporter.timer" ] &&
	pass timer-enabled || fail timer-enabled "the timer is not enabled"
if in_root systemd-analyze verify ksm-vmshare-exporter.timer \
	ksm-vmshare-exporter.service >"$logs/verify" 2>&1; then
	pass units-verify
else
	fail units-verify "systemd-analyze verify: $(head -n 2 "$logs/verify" | tr '\n' ' ')"
fi
# the dkms package's postinst added the source to dkms
status=$(in_root dkms status 2>&1)
case $status in
"ksm-vmshare/$version: added"*) pass dkms-added ;;
*) fail dkms-added "dkms status: $status" ;;
esac

# --- run it ---------------------------------------------------------------

if in_root ksm-victim --help >"$logs/help" 2>&1 && grep -q '^usage: ksm-victim' "$logs/help"; then
	pass help
else
	fail help "ksm-victim --help: $(head -n 2 "$logs/help" | tr '\n' ' ')"
fi
# a saved snapshot and libvirt-style command lines, as in test/victim
mkdir -p "$root/tmp/snap/pids/1234" "$root/tmp/snap/pids/1300" "$root/tmp/snap/pids/1400"
cp "$top/test/victim/normal.txt" "$root/tmp/snap/ksm_vmshare"
printf 'qemu-system-x86_64\0-name\0guest=web,,prod,debug-threads=on\0-uuid\0d2f3c1c4-5a8e-4c1f-9b43-0e1b2c3d4e5f\0' \
	>"$root/tmp/snap/pids/1234/cmdline"
printf '/usr/bin/qemu-system-x86_64\0-name\0db\0' >"$root/tmp/snap/pids/1300/cmdline"
printf 'qemu-system-x86_64\0-m\0001G\0' >"$root/tmp/snap/pids/1400/cmdline"
in_root ksm-victim --proc /tmp/snap/ksm_vmshare --pid-root /tmp/snap/pids \
	>"$logs/victim" 2>&1
status=$?
if [ "$status" = 0 ] && grep -q '^victim: db (pid 1300) frees' "$logs/victim"; then
	pass victim
else
	fail victim "exit $status: $(tail -n 2 "$logs/victim" | tr '\n' ' ')"
fi
# the packaged build (dynamic, Debian's flags) answers as the tree's does
(cd "$root/tmp/snap" && "$top/tools/ksm-victim" --proc ksm_vmshare --pid-root pids) \
	>"$logs/victim.tree" 2>&1
if cmp -s "$logs/victim" "$logs/victim.tree"; then
	pass victim-same-as-tree
else
	fail victim-same-as-tree "$(diff "$logs/victim.tree" "$logs/victim" | head -n 3 | tr '\n' ' ')"
fi

# The exporter's own command line, as the unit runs it, on the snapshot:
# the file lands in node_exporter's textfile directory (made by Debian's
# prometheus-node-exporter) and promtool accepts it.
exec_start=$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/ksm-vmshare-exporter.service")
prom=$root/var/lib/prometheus/node-exporter/ksm_vmshare.prom
in_root sh -c "$exec_start --proc /tmp/snap/ksm_vmshare --pid-root /tmp/snap/pids" \
	>"$logs/exporter" 2>&1
status=$?
if [ "$status" = 0 ] && [ -f "$prom" ]; then
	pass exporter-file
else
	fail exporter-file "'$exec_start' exited $status, $prom: $(ls -l "$prom" 2>&1)"
fi
if bin=$("$top/test/packaging/prometheus-bin.sh" 2>"$logs/promtool") &&
	"$bin/promtool" check metrics <"$prom" >>"$logs/promtool" 2>&1; then
	pass exporter-promtool
else
	fail exporter-promtool "$(tail -n 3 "$logs/promtool" | tr '\n' ' ')"
fi
# predicted_freed in 4 KiB pages: db 20100, web (libvirt's name and uuid) 5024
if grep -qx 'ksm_vmshare_vm_freed_on_migration_bytes{domain="db",uuid="",pid="1300"} 82329600' "$prom" &&
	grep -qx 'ksm_vmshare_vm_freed_on_migration_bytes{domain="web,prod",uuid="d2f3c1c4-5a8e-4c1f-9b43-0e1b2c3d4e5f",pid="1234"} 20578304' "$prom"; then
	pass exporter-values
else
	fail exporter-values "$(grep freed_on_migration_bytes "$prom" | tr '\n' ' ')"
fi

# --- a kernel upgrade: its headers arrive, DKMS builds the module ----------

series=6.1
kernel=$("$top/test/rig/kernels.sh" "$series") || { fail headers "kernel 6.1 could not be fetched"; exit 1; }
release=$(cat "$kernel/release")
kversion=$(cat "$kernel/version")
kdebs=$cache/debs
headers=$(ls "$kdebs/linux-headers-${release}_${kversion//:/%3a}_"*.deb 2>/dev/null)
common=$(ls "$kdebs/linux-headers-${release%-amd64}-common_${kversion//:/%3a}_"*.deb 2>/dev/null)
kbuild=$(ls "$kdebs/linux-kbuild-${series}_"*.deb 2>/dev/null | sort -V | tail -n 1)
if [ -z "$headers" ] || [ -z "$common" ] || [ -z "$kbuild" ]; then
	fail headers "no cached header packages for $release in $kdebs"
	exit 1
fi
cp "$headers" "$common" "$kbuild" "$root/tmp/debs/"
t0=$(date +%s)
# dpkg, not apt: apt would fetch the same files again from the archive
if in_root sh -c "cd /tmp/debs && dpkg -i $(basename "$headers") \
	$(basename "$common") $(basename "$kbuild")" >"$logs/headers" 2>&1; then
	pass headers
else
	fail headers "installing the headers failed: $(tail -n 3 "$logs/headers" | tr '\n' ' ')"
	exit 1
fi
log "headers and the DKMS build in the root: $(($(date +%s) - t0)) s"
ko=$root/lib/modules/$release/updates/dkms/ksm_vmshare.ko
if [ -f "$ko" ]; then
	pass autoinstall
else
	fail autoinstall "the headers' hook did not install $ko: $(grep -i -m 2 'dkms\|error' "$logs/headers" | tr '\n' ' ')"
fi
vermagic=$(modinfo -F vermagic "$ko" 2>&1)
case $vermagic in
"$release "*) pass autoinstall-vermagic ;;
*) fail autoinstall-vermagic "vermagic '$vermagic'" ;;
esac
grep -q '^updates/dkms/ksm_vmshare.ko:' "$root/lib/modules/$release/modules.dep" 2>/dev/null &&
	pass depmod || fail depmod "ksm_vmshare.ko is not in modules.dep"
status=$(in_root dkms status 2>&1)
case $status in
*"ksm-vmshare/$version, $release, "*": installed"*) pass dkms-installed ;;
*) fail dkms-installed "dkms status: $status" ;;
esac

# --- and away again -------------------------------------------------------

if in_root apt-get purge -y ksm-vmshare-dkms ksm-vmshare-tools >"$logs/purge" 2>&1; then
	pass purge
else
	fail purge "apt-get purge failed: $(tail -n 3 "$logs/purge" | tr '\n' ' ')"
fi
left=
for f in "lib/modules/$release/updates/dkms/ksm_vmshare.ko" "usr/src/ksm-vmshare-$version" \
	"var/lib/dkms/ksm-vmshare" usr/sbin/ksm-victim lib/systemd/system/ksm-vmshare-exporter.timer \
	etc/systemd/system/timers.target.wants/ksm-vmshare-exporter.timer \
	usr/lib/modules-load.d/ksm-vmshare.conf; do
	[ -e "$root/$f" ] || [ -L "$root/$f" ] && left="$left /$f"
done
[ -z "$left" ] && pass purge-clean || fail purge-clean "left behind:$left"
grep -q '^updates/dkms/ksm_vmshare.ko:' "$root/lib/modules/$release/modules.dep" 2>/dev/null &&
	fail purge-depmod "ksm_vmshare.ko still in modules.dep" || pass purge-depmod

cleanup
rm -rf --one-file-system "$work/upper" "$work/overlay-work" "$work/root"
