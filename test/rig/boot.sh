#!/bin/bash
# Boot one stock kernel under QEMU and run one scenario in it.
#
#   boot.sh VMLINUZ INITRAMFS SCENARIO OUTDIR
#
# OUTDIR/console.log gets the serial console, OUTDIR/results.txt the
# scenario's PASS/FAIL/DATA lines (the guest's second serial port, or on
# arm64 a virtio console: below). Exit 0
# only if the scenario ran to its END line with status 0 and the console
# shows no sign of a kernel problem. The guest panics on any warning
# (panic_on_warn) and QEMU then exits (-no-reboot), so a WARN cannot pass.
#
# An arm64 kernel (kernels.sh's arch file beside VMLINUZ says so) boots in
# qemu-system-aarch64's virt machine instead.
#
# For experiments (test/rig/reload-experiment.sh): KSMVS_QEMU names another
# qemu-system-x86_64 or -aarch64 (a program or wrapper), KSMVS_APPEND adds to the
# guest's kernel command line, KSMVS_TIMEOUT replaces the scenario's time
# limit (its file timeout, default 300 s), KSMVS_TCG_THREAD=multi runs
# multi-threaded TCG (below: not for tests).
set -uo pipefail

vmlinuz=${1:?usage: boot.sh VMLINUZ INITRAMFS SCENARIO OUTDIR}
initramfs=${2:?}
scenario=${3:?}
outdir=${4:?}
top=$(cd "$(dirname "$0")/../.." && pwd)
kernel_dir=$(dirname "$vmlinuz")
limit=${KSMVS_TIMEOUT:-$(cat "$top/test/scenarios/$scenario/timeout" 2>/dev/null || echo 300)}
# the debug kernel (debug-kernel.sh) runs everything several times slower
# and asks for its own options (slub_debug, a console that shows lockdep's
# warning-level reports): files beside its image
timeout_factor=$(cat "$kernel_dir/timeout-factor" 2>/dev/null || echo 1)
limit=$((limit * timeout_factor))
kernel_cmdline=$(cat "$kernel_dir/cmdline" 2>/dev/null)
# the scenarios' own waits inside the guest stretch by as much (lib.sh)
[ "$timeout_factor" = 1 ] || kernel_cmdline="$kernel_cmdline ksmvs.timeout_factor=$timeout_factor"
# a scenario's own guest RAM in MiB (file memory) and kernel options (file
# cmdline), for the bench's largest VMs and its view of the slab caches
memory=$(cat "$top/test/scenarios/$scenario/memory" 2>/dev/null || echo 2048)
scenario_cmdline=$(cat "$top/test/scenarios/$scenario/cmdline" 2>/dev/null)

mkdir -p "$outdir"
console=$outdir/console.log
results=$outdir/results.txt
: >"$console"
: >"$results"

# One host thread runs all the guest's vCPUs (they take turns, preempted
# at any translated block), never multi-threaded TCG: with several, QEMU
# runs a stale translation of code that another vCPU has just patched.
# ksmd executed an int3 at remove_rmap_item_from_tree() after ftrace's
# text_poke_bp() had put the real bytes back and synchronized every CPU
# (an "int3" oops, a call to address 0, or on 6.1 a soft lockup spinning
# on a NOP); test/control's module of empty kprobes crashes the same way
# on QEMU 7.2, 10.0 and 11.1, and neither it nor ours ever with one
# thread (test/rig/reload-experiment.sh, issue 13). Nor is it only ours:
# a CI run crashed in sched_clock_cpu() 2.4 s into boot, before any
# module, at a static key the kernel patches itself. One thread costs
# time (six scenarios on 6.12: 262 s of boots, 231 s multi-threaded);
# run.sh boots several at once instead.
# KSMVS_TCG_THREAD=multi is for experiments only.
accel=tcg,thread=${KSMVS_TCG_THREAD:-single}
# KVM only where it works: stock kernels here do not boot on this
# machine's /dev/kvm, so it is opt-in.
if [ "${KSMVS_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then
	accel=kvm
fi
# KSMVS_ICOUNT=1: one host thread, and the guest clock counts executed
# instructions (1 ns each), so a duration measured inside the guest (a
# lock hold, a full scan) is the same from run to run and is not
# stretched by the host descheduling QEMU. For measurements, not for the
# tests' parallelism.
# KSMVS_SMP=1 for a lock's hold time: with two vCPUs taking turns on one
# host thread, the other vCPU's instructions advance the clock while the
# holder waits for its turn.
# A scenario with the file "icount" always boots so, on one vCPU: its
# events then come in one repeatable order (the many scenario's: a stuck
# too-many-vms state that multi-threaded runs passed by timing luck).
icount=()
icount_arg=
smp=${KSMVS_SMP:-2}
if [ -e "$top/test/scenarios/$scenario/icount" ]; then
	KSMVS_ICOUNT=1
	smp=1
fi
if [ "${KSMVS_ICOUNT:-0}" = 1 ]; then
	accel=tcg,thread=single
	icount=(-icount "shift=0,sleep=off")
	icount_arg=" ksmvs.icount=1"	# the guest's figures are instructions
fi

arch=$(cat "$kernel_dir/arch" 2>/dev/null || echo amd64)
case $arch in
amd64)
	# no_timer_check: on a loaded host, TCG can be too slow for the
	# boot-time check that the timer interrupt arrives through the
	# IO-APIC, and the guest panics before init ("IO-APIC + timer doesn't
	# work!"); the check proves nothing about a virtual machine's timer.
	# (the debug kernel asks for max,la57=off: its file qemu-cpu says why)
	qemu=(qemu-system-x86_64 -cpu "$(cat "$kernel_dir/qemu-cpu" 2>/dev/null || echo max)")
	guest="console=ttyS0 no_timer_check"
	channels=(-serial "file:$console" -serial "file:$results")
	;;
arm64)
	# pauth-impdef: max's pointer authentication with QEMU's own cheap
	# hash instead of the architected QARMA5, which TCG computes in
	# software on every function's return (several times slower; the
	# guest sees PAuth either way).
	qemu=(qemu-system-aarch64 -M virt -cpu "max,pauth-impdef=on")
	# QEMU 7.2's virt machine has a single UART for the guest (a second
	# -serial goes to the secure world's UART, with secure=on, or
	# nowhere), so the results travel on a virtio console, hvc0 (Debian's
	# arm64 kernel has VIRTIO_CONSOLE and VIRTIO_PCI built in): a channel
	# of their own like x86's ttyS1, that kernel messages cannot
	# interleave with, rather than tagged lines split out of the console.
	guest="console=ttyAMA0 ksmvs.results=hvc0"
	channels=(-serial "file:$console" -device virtio-serial-pci
		-chardev "file,id=results,path=$results"
		-device "virtconsole,chardev=results")
	;;
*)
	echo "boot: unknown architecture '$arch'" >&2
	exit 2
	;;
esac
[ -z "${KSMVS_QEMU:-}" ] || qemu[0]=$KSMVS_QEMU
timeout --foreground -k 10 "$limit" \
	"${qemu[@]}" -accel "$accel" "${icount[@]}" -m "$memory" -smp "$smp" \
	-nodefaults -display none -no-reboot \
	-kernel "$vmlinuz" -initrd "$initramfs" \
	-append "$guest panic=-1 panic_on_warn=1 oops=panic softlockup_panic=1 loglevel=4 ksmvs.scenario=$scenario$icount_arg${kernel_cmdline:+ $kernel_cmdline}${scenario_cmdline:+ $scenario_cmdline}${KSMVS_APPEND:+ $KSMVS_APPEND}" \
	"${channels[@]}" \
	</dev/null >"$outdir/qemu.log" 2>&1
qemu_status=$?

# A probe that fails to register is a problem, except the one the faults
# scenario asks for on purpose. (arm64 says "Call trace:", and its oops
# "Internal error: Oops".) The debug kernel's detectors mostly say "BUG:"
# (KASAN, KFENCE, sleeping in atomic context) or "WARNING:" (lockdep);
# list corruption, RCU stalls and the leaks the guest's init finds after
# unloading the module (kmemleak) are named here too.
problems=$(grep -E 'BUG:|WARNING:|Oops|Call [Tt]race|Kernel panic|register_kprobe|cannot probe|blocked for more than|list_(add|del) corruption|list_add double add|detected stall|unreferenced object|possible circular locking|inconsistent lock state' "$console" |
	grep -v 'cannot probe ksmvs_no_such_function' | head -n 5)
# A scenario that plants bugs (planted) expects each detector's report:
# its file console-expects says "NAME REGEX" per line; the reports are then
# what it wants, not problems.
expects=$top/test/scenarios/$scenario/console-expects
status=0
if [ -f "$expects" ]; then
	problems=
	while read -r name regex; do
		if grep -qE "$regex" "$console"; then
			echo "PASS $scenario/$name" >>"$results"
		else
			echo "FAIL $scenario/$name: no \"$regex\" on the console" >>"$results"
			status=1
		fi
	done <"$expects"
fi
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
	echo "FAIL $scenario/boot: no end after ${limit} s (hung)" >>"$results"
	status=1
elif [ "$qemu_status" != 0 ]; then
	echo "FAIL $scenario/boot: qemu exited with $qemu_status: $(tail -n 1 "$outdir/qemu.log")" >>"$results"
	status=1
fi
if [ -n "$problems" ]; then
	echo "FAIL $scenario/console: $(echo "$problems" | head -n 1)" >>"$results"
	status=1
fi
if ! grep -q "^END $scenario status=0" "$results"; then
	# a scenario that stops on an error of its own (a shell syntax error,
	# a failed step before any check) must not count as passing
	if ! grep -q "^END $scenario" "$results"; then
		echo "FAIL $scenario/end: the scenario did not finish" >>"$results"
	elif ! grep -q '^FAIL ' "$results"; then
		echo "FAIL $scenario/end: $(grep "^END $scenario" "$results"), and no FAIL line says why" >>"$results"
	fi
	status=1
fi
if [ "$status" != 0 ]; then
	echo "---- console tail ($console) ----" >&2
	tail -n 40 "$console" >&2
	echo "----" >&2
fi
exit $status
