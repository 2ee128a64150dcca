# More mergeable processes than the module's table holds (4096): it says
# so once, keeps serving the VMs it has, does not loop; once enough of
# them are gone, every process is tracked again and exact.
. ../lib.sh

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
mergers many 4150 2 >"$RUN/many.log" 2>&1 &
many=$!
wait_until 240 "4150 processes to be ready" grep -q '^ready ' "$RUN/many.log" || exit 1
wait_quiesce 600 || exit 1
check_eq many/state "degraded too-many-vms" "$(module_key state)"
check_eq many/said_once 1 "$(dmesg | grep -c 'more than 4096 mergeable processes')"
repairs=$(module_key repairs)
scans=$(module_key full_scans_seen)
wait_until 120 "two more full scans" \
	sh -c "[ \$(sed -n 's/^# full_scans_seen: //p' $PROC) -ge $((scans + 2)) ]"
check_eq many/no_repair_loop "$repairs" "$(module_key repairs)"
check_eq many/no_resync 0 "$(module_key resyncs)"
# the rows it serves are still readable and the VM still has one
grep -q "^$(vm_pid web) " "$PROC"
check_eq many/serves_vm 0 $?
kill -TERM "$many"
wait "$many"
wait_quiesce 600 || exit 1
compare_module many/after
check_eq many/vms_left "$(wc -l <"$RUN/alive")" "$(module_key vms)"
stop_vms
exit $FAILED
