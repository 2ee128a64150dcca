#!/bin/bash
# Run scenarios on Debian's stock kernels under QEMU.
#
#   run.sh [-k "6.1 6.12"] [-s "SCENARIO..."] [-r RUNS] [--no-unit] [--no-packaging]
#
# For each kernel series (kernels.sh's names: 6.1 and 6.12, trixie for
# Debian 13's own 6.12, sid for unstable's newest, arm64 for Debian 13's
# arm64 kernel under qemu-system-aarch64; and debug, 6.12's source built
# with KASAN, lockdep, kmemleak and more: debug-kernel.sh): fetch
# it (cached), build the module against its headers (trixie and sid with
# their own toolchain, in a root of theirs: chroot.sh; arm64 cross-built in
# a trixie root, with the guest's programs: cross-programs.sh), pack an
# initramfs,
# then boot once per scenario, or RUNS times in a row (-r: each run a fresh
# boot; the summary says how many runs had a FAIL). Results land in
# build/results/RELEASE/SCENARIO/ (run1/, run2/... with -r). The last line
# is "N passed, N failed", over the unit tests' checks and the scenarios'
# PASS/FAIL lines.
#
# Without -s, the three amd64 references (6.1, 6.12, trixie) run every
# scenario, sid and arm64 a core set, and the debug kernel three scenarios
# and a share of the others (all below). By default all six kernels run.
#
# Then the packaging tests (test/packaging/): DKMS builds for each amd64
# kernel, booted (trixie's and sid's with that release's own dkms and
# compiler, in its root); the Prometheus rules; the Debian packages in a
# Debian root. They run with every scenario (no -s) or when -s names
# "packaging". (arm64 has none yet: its DKMS-built module would need an
# arm64 node_exporter in the guest and a cross dkms build, not written.)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
# the debug kernel first: its long boots start early and the stock
# kernels' short ones fill the lanes after them
series_list="debug 6.1 6.12 trixie sid arm64"
scenarios=
runs=1
unit=1
packaging=1
# What the debug kernel runs when -s does not say. 5-20 times slower than
# a stock kernel under TCG even at a quarter of the recipes' sizes
# (debug-kernel.sh), all 21 of its scenarios take an estimated 4,500 s of
# boots on an idle machine (twice that with five guests at once): with
# the five stock kernels more than CI's 90 minutes on two cores (README). So every run boots baseline (joins, leaves, drops),
# faults (failed allocations, repairs) and planted (the detectors fire),
# and one of three shares of the others, in turn by the commit's number
# (git rev-list --count HEAD): any three commits in a row run every
# scenario on it. KSMVS_DEBUG_SHARE=0, 1 or 2 picks a share, =all runs
# them all. The shares are about a third of those boots each (from one
# boot of each scenario there).
debug_always="baseline faults planted"
debug_shares=(
	"selftests thpchurn demo sets example"
	"many lateload pressure unloadstress names"
	"changes swap fork churn compact dupchain restart evict"
)
# What unstable's 7.x and arm64 run when -s does not say: issue 10's core
# set (and compact, which arm64 needed a fix of its own for), as it allows
# when CI's time forces it; the three amd64 references run everything.
core_scenarios="baseline changes lateload faults evict demo compact"
core_series="sid arm64"
named=0
while [ $# -gt 0 ]; do
	case $1 in
	-k) series_list=$2; shift 2 ;;
	-s) scenarios=$2; named=1; shift 2 ;;
	-r) runs=$2; shift 2 ;;
	--no-unit) unit=0; shift ;;
	--no-packaging) packaging=0; shift ;;
	*) echo "usage: run.sh [-k SERIES...] [-s SCENARIO...] [-r RUNS] [--no-unit] [--no-packaging]" >&2; exit 2 ;;
	esac
done
case $runs in
'' | *[!0-9]* | 0) echo "run.sh: -r wants a number of runs, not '$runs'" >&2; exit 2 ;;
esac
if [ -n "$scenarios" ]; then
	case " $scenarios " in
	*" packaging "*) scenarios=$(echo " $scenarios " | sed 's/ packaging / /g') ;;
	*) packaging=0 ;;
	esac
else
	scenarios=$(cd test/scenarios && for d in */; do
		[ -f "$d/run.sh" ] && [ ! -e "$d/bench-only" ] && [ ! -e "$d/stress-only" ] &&
			[ ! -e "$d/packaging-only" ] && echo "${d%/}"
	done)
fi

# the debug kernel's share of this run (above): by the commit's number,
# or in a shallow clone, which cannot count, by its hash
commit_number() {
	if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = false ]; then
		git rev-list --count HEAD
	else
		echo $((16#$(git rev-parse --short=8 HEAD 2>/dev/null || echo 0)))
	fi
}
debug_share=${KSMVS_DEBUG_SHARE:-$(($(commit_number) % ${#debug_shares[@]}))}
bad_share() {
	echo "run.sh: KSMVS_DEBUG_SHARE is all or a number below ${#debug_shares[@]}, not '$debug_share'" >&2
	exit 2
}
case $debug_share in
all) ;;
'' | *[!0-9]*) bad_share ;;
*) [ "$debug_share" -lt "${#debug_shares[@]}" ] || bad_share ;;
esac

# a fresh clone has no build/ (make creates it only for the unit tests)
mkdir -p build
passed=0
failed=0
summary=()
start=$(date +%s)

# count FILE: add the PASS/FAIL lines of FILE to the totals, and say how
# many in $counted (no subshell: the totals must survive)
count() {
	local p f
	p=$(grep -c '^PASS ' "$1")
	f=$(grep -c '^FAIL ' "$1")
	passed=$((passed + p))
	failed=$((failed + f))
	grep '^FAIL ' "$1" | sed 's/^/  /' >&2
	counted="$p passed, $f failed"
}

fail_step() {
	echo "FAIL $1: $2" >&2
	failed=$((failed + 1))
	summary+=("$(printf '%-28s %-12s %s' "$3" "$1" "FAILED: $2")")
}

. test/packaging/hook.sh

# Boots run $lanes at a time, each QEMU on one host thread (boot.sh says
# why one), so the machine's cores run several guests instead of one
# guest's vCPUs. Every boot writes its own directory; its output is
# reported after the kernel's boots, in the order they were started.
lanes=${KSMVS_LANES:-$(nproc)}

# boot_in_lane OUT SCENARIO INITRAMFS TITLE: start one boot once a lane is free
boot_in_lane() {
	while [ "$(jobs -rp | wc -l)" -ge "$lanes" ]; do
		wait -n
	done
	echo "== $4" >&2
	mkdir -p "$1"
	rm -f "$1/seconds"
	(
		t0=$(date +%s)
		test/rig/boot.sh "$kernel/vmlinuz" "$3" "$2" "$1" >"$1/boot.log" 2>&1
		echo $(($(date +%s) - t0)) >"$1/seconds"
	) &
}

# report_boot OUT: a finished boot's output, and its checks counted
report_boot() {
	cat "$1/boot.log" >&2
	[ -s "$1/seconds" ] || echo 0 >"$1/seconds"
	count "$1/results.txt"
}

if [ "$unit" = 1 ]; then
	make -s unit >build/unit.log 2>&1
	unit_status=$?
	cat build/unit.log
	# each test binary ends with "NAME: N passed, N failed"
	read -r p f < <(awk '/^[a-z_]+: [0-9]+ passed, [0-9]+ failed$/ {
		p += $2; f += $4 } END { print p + 0, f + 0 }' build/unit.log)
	passed=$((passed + p))
	failed=$((failed + f))
	# one that did not build or crashed before its line is a failure too
	if [ "$unit_status" != 0 ] && [ "$f" = 0 ]; then
		fail_step unit "a unit test did not build or run to its end (build/unit.log)" host
	else
		summary+=("$(printf '%-28s %-12s %s' host unit "$p passed, $f failed")")
	fi
fi

# Kernel coding style for everything built into the module.
if test/rig/checkpatch.sh module/*.[ch] include/ksm_vmshare/*.h >build/checkpatch.log 2>&1; then
	passed=$((passed + 1))
	summary+=("$(printf '%-28s %-12s %s' host checkpatch clean)")
else
	cat build/checkpatch.log >&2
	fail_step checkpatch "module sources are not checkpatch clean" host
fi

# ksm-victim over saved snapshots
if make -s tools >build/tools.log 2>&1; then
	test/victim/run.sh >build/victim.log 2>&1
	count build/victim.log
	summary+=("$(printf '%-28s %-12s %s' host ksm-victim "$counted")")
else
	cat build/tools.log >&2
	fail_step tools "ksm-victim did not build" host
fi

if ! make -s programs >build/programs.log 2>&1; then
	cat build/programs.log >&2
	fail_step programs "test programs did not build" host
	echo "$passed passed, $failed failed"
	exit 1
fi

started=()	# "RELEASE SCENARIO" of every boot, in order (not those whose initramfs failed)
for series in $series_list; do
	# the debug kernel is built here from Debian's source, the others
	# are Debian's packages
	fetch=(test/rig/kernels.sh "$series")
	[ "$series" != debug ] || fetch=(test/rig/debug-kernel.sh)
	if ! kernel=$("${fetch[@]}"); then
		fail_step fetch "kernel $series could not be fetched or built" "$series"
		continue
	fi
	release=$(cat "$kernel/release")
	work=build/rig/$release
	kernel_scenarios=$scenarios
	if [ "$named" = 0 ] && [ "$series" = debug ]; then
		kernel_scenarios="$debug_always ${debug_shares[*]}"
		[ "$debug_share" = all ] || kernel_scenarios="$debug_always ${debug_shares[$debug_share]}"
	elif [ "$named" = 0 ] && [[ " $core_series " == *" $series "* ]]; then
		kernel_scenarios=$core_scenarios
	fi
	if ! test/rig/build-module.sh "$kernel" "$work"; then
		fail_step module "module did not build cleanly ($work/build.log)" "$release"
		continue
	fi
	passed=$((passed + 1))
	# the guest's programs: this machine's (make programs, above), or
	# cross-built for a kernel of another architecture
	arch=$(cat "$kernel/arch" 2>/dev/null || echo amd64)
	bindir=build
	arch_opt=()
	if [ "$arch" != amd64 ]; then
		bindir=build/$arch
		arch_opt=(--arch "$arch")
		if ! test/rig/cross-programs.sh "$kernel" "$bindir"; then
			fail_step programs "the $arch guest programs did not build ($bindir/build.log)" "$release"
			continue
		fi
	fi
	if ! KSMVS_KMODS=$(test/rig/kmods.sh "$kernel"); then
		fail_step kmods "the kernel's zram module could not be unpacked" "$release"
		continue
	fi
	export KSMVS_KMODS
	# the kernel's own KSM selftests, built only for scenarios that run them
	selftests=()
	for scenario in $kernel_scenarios; do
		[ -e "test/scenarios/$scenario/needs-selftests" ] || continue
		# another architecture's are built in its module's cross root
		cross_root=
		[ "$arch" = amd64 ] ||
			cross_root=$(test/rig/chroot.sh "$(cat "$kernel/chroot")" "$release" "$arch")
		# (the debug kernel's source is 6.12's: its tests are 6.12's)
		if test/rig/selftests.sh "${series/#debug/6.12}" "$work/selftests" "$(cat "$kernel/version")" \
			${cross_root:+"$cross_root"} >"$work/selftests.log" 2>&1; then
			selftests=(--selftests "$work/selftests")
		else
			cat "$work/selftests.log" >&2
			fail_step selftests "the kernel's KSM selftests did not build ($work/selftests.log)" "$release"
		fi
		break
	done
	# the debug kernel's guest also gets a build with the planted bugs
	# (module/planted.c), for the scenario that proves its detectors
	modules=("$work/src/ksm_vmshare.ko")
	if [ "$series" = debug ]; then
		if test/rig/build-module.sh "$kernel" "$work/planted" KSMVS_PLANTED_BUGS=y; then
			cp "$work/planted/src/ksm_vmshare.ko" "$work/ksm_vmshare-planted.ko"
			modules+=("$work/ksm_vmshare-planted.ko")
		else
			fail_step module "the planted-bugs build did not build ($work/planted/build.log)" "$release"
		fi
	fi
	if ! test/rig/initramfs.sh "${arch_opt[@]}" "${selftests[@]}" "$work/initramfs.cpio.gz" "$bindir" \
		"${modules[@]}"; then
		fail_step initramfs "initramfs failed" "$release"
		continue
	fi
	qemu_initramfs=
	for scenario in $kernel_scenarios; do
		# a scenario for some kernels only (planted: the debug kernel's)
		only=test/scenarios/$scenario/only-on
		[ ! -f "$only" ] || grep -qxF "$series" "$only" || continue
		initramfs=$work/initramfs.cpio.gz
		# scenarios with real QEMU VMs get the initramfs that carries QEMU
		if [ -e "test/scenarios/$scenario/needs-qemu" ]; then
			initramfs=$work/initramfs-qemu.cpio.gz
			# another architecture's guest runs Debian's QEMU of
			# that architecture (guest-qemu.sh), not this machine's
			qemu_opt=()
			if [ -z "$qemu_initramfs" ] && [ "$arch" != amd64 ]; then
				if ! qemu_root=$(test/rig/guest-qemu.sh "$arch"); then
					fail_step initramfs "no $arch QEMU for the guest" "$release"
					continue
				fi
				qemu_opt=(--qemu-root "$qemu_root/root")
			fi
			if [ -z "$qemu_initramfs" ] &&
				! test/rig/initramfs.sh "${arch_opt[@]}" --with-qemu "${qemu_opt[@]}" \
					"${selftests[@]}" "$initramfs" "$bindir" \
					"$work/src/ksm_vmshare.ko"; then
				fail_step initramfs "initramfs with QEMU failed" "$release"
				continue
			fi
			qemu_initramfs=$initramfs
		fi
		started+=("$release $scenario")
		if [ "$runs" = 1 ]; then
			boot_in_lane "build/results/$release/$scenario" "$scenario" "$initramfs" \
				"$release: $scenario"
			continue
		fi
		for run in $(seq "$runs"); do
			boot_in_lane "build/results/$release/$scenario/run$run" "$scenario" \
				"$initramfs" "$release: $scenario, run $run of $runs"
		done
	done
	# (none on the debug kernel: no user installs it, and DKMS is proven
	# on every stock amd64 kernel)
	[ "$packaging" = 0 ] || [ "$arch" != amd64 ] || [ "$series" = debug ] ||
		packaging_kernel "$kernel" "$work"
done
# No wait between kernels: the next kernel's module, initramfs and
# packaging tests are made while this one's last boots still run, and its
# boots take the lanes as they free up.
wait
# the boots' outputs and counts, in the order they were started
for boot in "${started[@]}"; do
	release=${boot% *}
	scenario=${boot#* }
	if [ "$runs" = 1 ]; then
		out=build/results/$release/$scenario
		report_boot "$out"
		summary+=("$(printf '%-28s %-12s %-22s %4ss' "$release" "$scenario" "$counted" "$(cat "$out/seconds")")")
		continue
	fi
	bad_runs=
	seconds=0
	for run in $(seq "$runs"); do
		out=build/results/$release/$scenario/run$run
		report_boot "$out"
		seconds=$((seconds + $(cat "$out/seconds")))
		# a run with no PASS line at all did not run
		case $counted in
		"0 passed, "* | *", "[1-9]*" failed") bad_runs="$bad_runs $run" ;;
		esac
	done
	summary+=("$(printf '%-28s %-12s %s runs, failed:%s %6ss' "$release" "$scenario" "$runs" \
		"${bad_runs:- none}" "$seconds")")
done
[ "$packaging" = 0 ] || packaging_host

echo
printf '%s\n' "${summary[@]}"
echo "total time: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
