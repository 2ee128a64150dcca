#!/bin/bash
# Issue 13's experiment: whose is the crash when a module that probes KSM
# is unloaded under a busy ksmd? Runs the reload-ours and reload-control
# scenarios (ksm_vmshare, and test/control's empty kprobes on the same
# functions) per kernel and TCG mode, one guest at a time at nice 10, and
# tabulates cycles run and crashes seen.
#
#   reload-experiment.sh [-k "6.1 6.12"] [-m "ours control"] [-t "multi single"]
#                        [-c CYCLES] [-x MAX_CRASHES] [-q LABEL=QEMU | -Q SUITE]
#
# A cell (kernel x QEMU x module x TCG mode) boots the guest again after a
# crash, with the cycles still to run, until CYCLES (default 100) have run
# or MAX_CRASHES (default 3) crashes were seen. -q runs another
# qemu-system-x86_64 (a program or wrapper, named LABEL in the table);
# the default is this machine's, labelled by its version. -Q SUITE runs
# the qemu-system-x86 of Debian's SUITE (trixie, sid) from a debootstrap
# tree in the cache ($KSMVS_CACHE/qemu-chroot/SUITE, made on first use;
# nothing is installed on this machine but debootstrap), through that
# tree's own dynamic loader and libraries.
#
# Results: build/results/reload-exp/LABEL/RELEASE/MODULE-MODE/bootN/
# (console.log, results.txt), one line per boot in .../runs.txt, the table
# in build/results/reload-exp/table.txt and each crash's console excerpt in
# build/results/reload-exp/crashes.txt.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
series_list="6.1 6.12"
modules="ours control"
modes="multi single"
cycles=100
max_crashes=3
qemu=qemu-system-x86_64
label=
suite=
while [ $# -gt 0 ]; do
	case $1 in
	-k) series_list=$2; shift 2 ;;
	-m) modules=$2; shift 2 ;;
	-t) modes=$2; shift 2 ;;
	-c) cycles=$2; shift 2 ;;
	-x) max_crashes=$2; shift 2 ;;
	-q) label=${2%%=*}; qemu=${2#*=}; shift 2 ;;
	-Q) suite=$2; shift 2 ;;
	*) echo "usage: reload-experiment.sh [-k SERIES...] [-m 'ours control'] [-t 'multi single'] [-c CYCLES] [-x MAX_CRASHES] [-q LABEL=QEMU | -Q SUITE]" >&2
	   exit 2 ;;
	esac
done
# chroot_qemu SUITE: a wrapper that runs SUITE's QEMU from its tree
chroot_qemu() {
	local cache=${KSMVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-vmshare}
	local root=$cache/qemu-chroot/$1 wrapper=$top/build/reload/qemu-$1
	if [ ! -x "$root/usr/bin/qemu-system-x86_64" ]; then
		command -v debootstrap >/dev/null ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
		echo "reload-experiment: debootstrap $1 into $root" >&2
		rm -rf "$root"
		mkdir -p "$root"
		# non-merged /usr keeps the paths below the same on every suite
		nice -n 10 debootstrap --variant=minbase --include=qemu-system-x86 \
			--no-merged-usr "$1" "$root" \
			"${KSMVS_DEBIAN_MIRROR:-http://deb.debian.org}/debian" \
			>"$cache/qemu-chroot/$1.log" 2>&1 || return 1
	fi
	mkdir -p "$(dirname "$wrapper")"
	cat >"$wrapper" <<WRAPPER
#!/bin/sh
# Debian $1's QEMU, run from $root with its own loader and libraries
export QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu
exec $root/lib64/ld-linux-x86-64.so.2 \\
	--library-path $root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu \\
	$root/usr/bin/qemu-system-x86_64 -L $root/usr/share/qemu -L $root/usr/share/seabios "\$@"
WRAPPER
	chmod +x "$wrapper"
	echo "$wrapper"
}
if [ -n "$suite" ]; then
	qemu=$(chroot_qemu "$suite") || exit 1
	label=
fi
qemu_version=$("$qemu" --version | sed -n '1s/^QEMU emulator version //p')
[ -n "$qemu_version" ] || { echo "reload-experiment: $qemu does not run" >&2; exit 1; }
[ -n "$label" ] || label="qemu-${qemu_version%% *}${suite:+-$suite}"
export KSMVS_QEMU=$qemu

test/rig/deps.sh
make -s programs tools || exit 1
results=build/results/reload-exp
mkdir -p "$results"
table=$results/table.txt
crashes=$results/crashes.txt

# the lines of a console that say the kernel went wrong
problem_re='BUG:|WARNING:|Oops|Call Trace|Kernel panic|int3|soft lockup|blocked for more than|general protection'

# excerpt CONSOLE: the first problem and what follows it, and the steps of
# the loop just before
excerpt() {
	awk -v re="$problem_re" '
		/^reload: / { last = $0 }
		!hit && $0 ~ re { hit = 1; print "last step: " last; n = 0 }
		hit && n++ < 45 { print }' "$1"
}

build_control() {
	local kernel=$1 work=$2
	rm -rf "$work/control"
	mkdir -p "$work/control"
	cp test/control/ksmvs_control.c test/control/Kbuild "$work/control/"
	if ! make -C "$kernel/kdir" M="$(cd "$work/control" && pwd)" modules \
		>"$work/control.log" 2>&1 || grep -q 'warning:' "$work/control.log"; then
		grep -E 'warning:|error:' "$work/control.log" | head -n 20 >&2
		echo "reload-experiment: the control module did not build ($work/control.log)" >&2
		return 1
	fi
}

for series in $series_list; do
	kernel=$(test/rig/kernels.sh "$series") || exit 1
	release=$(cat "$kernel/release")
	work=build/reload/$release
	test/rig/build-module.sh "$kernel" "$work" || exit 1
	build_control "$kernel" "$work" || exit 1
	test/rig/initramfs.sh "$work/initramfs.cpio.gz" build \
		"$work/src/ksm_vmshare.ko" "$work/control/ksmvs_control.ko" || exit 1
	for module in $modules; do
		for mode in $modes; do
			cell=$results/$label/$release/$module-$mode
			rm -rf "$cell"
			mkdir -p "$cell"
			ran=0 crashed=0 boots=0 other=0 t0=$(date +%s)
			while [ "$ran" -lt "$cycles" ] && [ "$crashed" -lt "$max_crashes" ]; do
				boots=$((boots + 1))
				out=$cell/boot$boots
				want=$((cycles - ran))
				echo "== $label $release $module $mode: boot $boots, $want cycles" >&2
				KSMVS_TCG_THREAD=$mode KSMVS_APPEND="ksmvs.cycles=$want" \
				KSMVS_TIMEOUT=$((600 + want * 20)) \
					nice -n 10 test/rig/boot.sh "$kernel/vmlinuz" \
					"$work/initramfs.cpio.gz" "reload-$module" "$out" \
					2>"$out.stderr"
				status=$?
				done_here=$(grep -c '^reload: cycle [0-9]* done' "$out/console.log")
				ran=$((ran + done_here))
				verdict=ok
				if grep -qE "$problem_re" "$out/console.log"; then
					verdict=crash
					crashed=$((crashed + 1))
					# the cycle the crash hit has run too
					case $(grep '^reload: cycle' "$out/console.log" | tail -n 1) in
					*load) ran=$((ran + 1)) ;;
					esac
					{
						echo "==== $label $release $module $mode boot $boots ($out/console.log)"
						excerpt "$out/console.log"
						echo
					} >>"$crashes"
				elif [ "$status" != 0 ]; then
					# no kernel problem but no clean end: not counted as a
					# crash; stop the cell rather than loop on it
					verdict=failed
					other=$((other + 1))
				fi
				echo "boot $boots: $done_here cycles done, $verdict (boot.sh status $status)" |
					tee -a "$cell/runs.txt" >&2
				[ "$verdict" = failed ] && break
				[ "$done_here" = 0 ] && [ "$verdict" = ok ] && break
			done
			printf '%-10s %-26s %-8s %-7s cycles %4d crashes %d boots %d failed %d  %ds\n' \
				"$label" "$release" "$module" "$mode" "$ran" "$crashed" "$boots" \
				"$other" $(($(date +%s) - t0)) | tee -a "$table"
		done
	done
done
