# make bench: what the module costs, measured side by side in one boot.
#  - ksmd's full scan with and without the probes (the leave probe fires
#    on every unstable page of every scan);
#  - reading /proc/ksm_vmshare against computing the same from page tables
#    (ksm-oracle), for three VMs of two sizes: the first stays nearly flat,
#    the second grows with the pages;
#  - the shadow's memory per tracked mapping, from the growth between sizes.
. ../lib.sh

# ms per full scan, over 10 scans
SCANS=10
scan_ms() {
	local s0 t0
	s0=$(ksm full_scans)
	t0=$(now_ms)
	wait_until 300 "$SCANS full scans" sh -c "[ \$(cat $KSM/full_scans) -ge $((s0 + SCANS)) ]" || return 1
	echo $((($(now_ms) - t0) / SCANS))
}

measure_reads() {
	proc_ns=$(timeit read 200 "$PROC")
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
off=0
on=0
for round in 1 2 3; do
	off=$((off + $(scan_ms)))
	module_load || exit 1
	wait_tracking
	on=$((on + $(scan_ms)))
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
small="$maps $proc_ns $oracle_ns $bytes"

# the same number of VMs, six times the pages
stop_vms
: >"$RUN/alive"
start_vms ./large || exit 1
wait_quiesce || exit 1
wait_tracking
compare_module bench/large
measure_reads
large="$maps $proc_ns $oracle_ns $bytes"

echo "$off1 $on1 $off2 $on2 $small $large" | awk '{
	off = ($1 + $3) / 2; on = ($2 + $4) / 2
	printf "ksmd full scan (18,000 pages, 7,000 of them unstable, no sleeps), mean of 3 x 10 scans:\n  %d ms without the module, %d ms with it: ratio %.2f\n", off, on, on / off
	printf "\n%-10s %12s %16s %14s %10s\n", "mappings", "proc read", "ksm-oracle run", "oracle/proc", "shadow"
	printf "%-10d %9.1f us %13.1f ms %14.0f %7.1f KiB\n", $5, $6 / 1000, $7 / 1e6, $7 / $6, $8 / 1024
	printf "%-10d %9.1f us %13.1f ms %14.0f %7.1f KiB\n", $9, $10 / 1000, $11 / 1e6, $11 / $10, $12 / 1024
	printf "\nthree VMs both times: proc read grew %.2fx while the mappings grew %.2fx (ksm-oracle: %.2fx)\n", $10 / $6, $9 / $5, $11 / $7
	printf "shadow memory per tracked mapping, from the growth: %.1f bytes\n", ($12 - $8) / ($9 - $5)
}' >"$RUN/show"
show "$RUN/show"
data bench/figures "$RUN/show"
stop_vms
exit $FAILED
