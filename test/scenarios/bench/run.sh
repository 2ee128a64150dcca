# make bench: what the module costs, measured side by side in one boot.
#  - ksmd's full scan with and without the probes (the leave probe fires
#    on every unstable page of every scan);
#  - reading /proc/ksm_vmshare against computing the same from page tables
#    (ksm-oracle), for three VMs of two sizes: the first stays nearly flat,
#    the second grows with the pages;
#  - reading /proc/ksm_vmshare_sets, beside the rows;
#  - the lock's time per join and per leave at 2, 16 and 256 mappings per
#    KSM page;
#  - the shadow's memory per tracked mapping, from the growth between sizes.
# Booted by make bench with -icount shift=0 (ksmvs.icount=1 on the kernel
# command line): the guest clock then counts instructions, 1 ns each, and
# every figure below is in instructions, the same from run to run.
. ../lib.sh

if grep -q 'ksmvs.icount=1' /proc/cmdline; then
	unit_ms="M instr"
	unit_us="k instr"
	unit_ns="instr"
else
	unit_ms="ms"
	unit_us="us"
	unit_ns="ns"
fi

# ns per full scan, over 10 scans (timed from one scan's start to another)
SCANS=10
scan_ns() {
	timeit count "$SCANS" "$KSM/full_scans"
}

measure_reads() {
	proc_ns=$(timeit read 200 "$PROC")
	sets_ns=$(timeit read 200 "$SETS")
	oracle_ns=$(timeit run 3 ksm-oracle $(alive_pids))
	maps=$(module_key ksm_mappings)
	bytes=$(module_key shadow_bytes)
}

ksm_setup
start_vms ./small || exit 1
wait_quiesce || exit 1
# ksmd without pauses, so that a scan's time is its work; three rounds of
# without/with, alternated so that drift falls on both
echo 0 >"$KSM/sleep_millisecs"
echo 10000 >"$KSM/pages_to_scan"
# every page scanned every pass: 6.7+ skips pages that did not merge
# for a growing number of scans (smart_scan, on by default), so that
# scans differ in cost by phase (6.12 measured 31 vs 26 M instructions
# without and with the module, the module's side the cheaper)
[ -e "$KSM/smart_scan" ] && echo 0 >"$KSM/smart_scan"
off=0
on=0
for round in 1 2 3; do
	off=$((off + $(scan_ns)))
	module_load || exit 1
	wait_tracking
	on=$((on + $(scan_ns)))
	[ "$round" = 3 ] || module_unload
done
off1=$((off / 3))
on1=$((on / 3))
off2=$off1
on2=$on1
echo 10 >"$KSM/sleep_millisecs"
echo 1000 >"$KSM/pages_to_scan"
compare_module bench/small
measure_reads
small="$maps $proc_ns $oracle_ns $bytes $sets_ns"

# the same number of VMs, six times the pages
stop_vms
: >"$RUN/alive"
start_vms ./large || exit 1
wait_quiesce || exit 1
wait_tracking
compare_module bench/large
measure_reads
large="$maps $proc_ns $oracle_ns $bytes $sets_ns"

# Per-event cost against mappings per KSM page: the lock's time held per
# join while KSM merges 4,096 mappings, then per leave while run=2
# unmerges them, at 2, 16 and 256 mappings per page.
stop_vms
: >"$RUN/alive"
: >"$RUN/per_event"
for per in 2 16 256; do
	joins0=$(module_key joins)
	join_ns0=$(module_key join_hold_ns)
	start_vms "./maps$per" || exit 1
	wait_quiesce || exit 1
	wait_tracking
	joins=$(($(module_key joins) - joins0))
	join_ns=$(($(module_key join_hold_ns) - join_ns0))
	leaves0=$(($(module_key leaves) + $(module_key leaves_unknown)))
	leave_ns0=$(module_key leave_hold_ns)
	echo 2 >"$KSM/run"
	wait_until 300 "KSM to unmerge" sh -c "[ \$(cat $KSM/pages_shared) = 0 ]" || exit 1
	leaves=$(($(module_key leaves) + $(module_key leaves_unknown) - leaves0))
	leave_ns=$(($(module_key leave_hold_ns) - leave_ns0))
	echo 1 >"$KSM/run"
	echo "$per $joins $join_ns $leaves $leave_ns" >>"$RUN/per_event"
	stop_vms
	: >"$RUN/alive"
done
data bench/per_event "$RUN/per_event"
check_eq bench/per_event/rounds 3 "$(awk '$2 > 0 && $4 > 0' "$RUN/per_event" | wc -l)"

echo "$off1 $on1 $off2 $on2 $small $large" | awk -v ms="$unit_ms" -v us="$unit_us" \
	-v unit_ns="$unit_ns" -v per_event="$RUN/per_event" '{
	off = ($1 + $3) / 2; on = ($2 + $4) / 2
	printf "ksmd full scan (18,000 pages, 7,000 of them unstable, no sleeps), mean of 3 x 10 scans:\n  %.2f %s without the module, %.2f %s with it: ratio %.3f\n", off / 1e6, ms, on / 1e6, ms, on / off
	printf "\n%-10s %12s %12s %16s %14s %10s\n", "mappings", "proc read", "sets read", "ksm-oracle run", "oracle/proc", "shadow"
	printf "%-10d %7.1f %s %7.1f %s %11.1f %s %14.0f %7.1f KiB\n", $5, $6 / 1000, us, $9 / 1000, us, $7 / 1e6, ms, $7 / $6, $8 / 1024
	printf "%-10d %7.1f %s %7.1f %s %11.1f %s %14.0f %7.1f KiB\n", $10, $11 / 1000, us, $14 / 1000, us, $12 / 1e6, ms, $12 / $11, $13 / 1024
	printf "\nthree VMs both times: proc read grew %.2fx, sets read %.2fx, while the mappings grew %.2fx (ksm-oracle: %.2fx)\n", $11 / $6, $14 / $9, $10 / $5, $12 / $7
	printf "shadow memory per tracked mapping, from the growth: %.1f bytes\n", ($13 - $8) / ($10 - $5)
	printf "\nlock held per event, against mappings per KSM page (4,096 mappings merged, then unmerged by run=2):\n"
	printf "%-18s %8s %14s %8s %14s\n", "mappings per page", "joins", "per join", "leaves", "per leave"
	while ((getline line < per_event) > 0) {
		split(line, f, " ")
		printf "%-18d %8d %10.0f %s %8d %10.0f %s\n", f[1], f[2], f[3] / f[2], unit_ns, f[4], f[5] / f[4], unit_ns
	}
}' >"$RUN/show"
show "$RUN/show"
data bench/figures "$RUN/show"
stop_vms
exit $FAILED
