# Real QEMU VMs (THP-backed guest RAM) with khugepaged scanning without
# pause: it collapses ranges back into huge pages, KSM splits and merges
# them again. The module must stay exact through the churn, not only
# after it: the per-scan check must hold at every full scan while it goes
# on, and once khugepaged is slowed again the rows equal the oracle.
. ../lib.sh

THP=/sys/kernel/mm/transparent_hugepage
ksm_setup
echo always >"$THP/enabled"
echo 0 >"$THP/khugepaged/scan_sleep_millisecs"
echo 4096 >"$THP/khugepaged/pages_to_scan"
# collapse merged ranges too (the default, 256, spares ranges where more
# than half the entries map KSM pages): KSM splits them and merges again
echo 511 >"$THP/khugepaged/max_ptes_shared"
echo 511 >"$THP/khugepaged/max_ptes_none"
module_load || exit 1
start_qemu_vms ./recipe || exit 1
collapses=$(thp_collapses)
failed=$(module_key checks_failed)
scans=$(module_key full_scans_seen)
# At least a minute of churn, and at least 3 full scans checked during
# it: a slow guest (arm64 under TCG beside other guests did 2 in a
# minute) churns longer, up to 4 minutes.
start=$(now_ms)
: >"$RUN/samples"
while :; do
	sleep 3
	echo "$(module_key full_scans_seen) $(module_key checks_failed) $(module_key state | tr ' ' _) $(ksm_counters) $(thp_collapses)" >>"$RUN/samples"
	elapsed=$(($(now_ms) - start))
	[ "$elapsed" -lt 60000 ] && continue
	[ "$(module_key full_scans_seen)" -ge $((scans + 3)) ] && break
	[ "$elapsed" -lt 240000 ] || break
done
data thpchurn/samples "$RUN/samples"
churned=$(($(thp_collapses) - collapses))
[ "$churned" -gt 0 ]
check_eq thpchurn/khugepaged_collapsed 0 $?
[ "$(module_key full_scans_seen)" -ge $((scans + 3)) ]
check_eq thpchurn/scans_ran 0 $?
check_eq thpchurn/check_held_throughout "$failed" "$(module_key checks_failed)"
check_eq thpchurn/no_resync 0 "$(module_key resyncs)"
echo "collapses $churned" >"$RUN/churned"
data thpchurn/churn "$RUN/churned"
# khugepaged back to its defaults, merged ranges spared again, so that
# KSM can come to rest for the comparison
echo 10000 >"$THP/khugepaged/scan_sleep_millisecs"
echo 256 >"$THP/khugepaged/max_ptes_shared"
wait_quiesce || exit 1
compare_module thpchurn/after
stop_vms
exit $FAILED
