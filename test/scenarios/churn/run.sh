# Hundreds of short-lived mergeable processes under a ksmd with no sleeps:
# exits land on ksmd's cursor, and KSM frees slots without __ksm_exit()
# ever seeing the mm leave. No join may name an mm the module lost, no
# global resync may happen, no VM may stay in the table after its process
# and KSM's slot are gone, and the long-lived VMs stay exact.
. ../lib.sh

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
echo 0 >"$KSM/sleep_millisecs"
echo 10000 >"$KSM/pages_to_scan"
mergers churn 400 32 50 >"$RUN/churn.log" 2>&1
check_eq churn/churned "churned 400" "$(tail -n 1 "$RUN/churn.log")"
echo 1000 >"$KSM/pages_to_scan"
echo 10 >"$KSM/sleep_millisecs"
wait_quiesce || exit 1
compare_module churn/after
check_eq churn/joins_untracked 0 "$(module_key joins_untracked)"
check_eq churn/no_resync 0 "$(module_key resyncs)"
check_eq churn/no_unowned 0 "$(module_key unowned_vms)"
# only the long-lived VMs are left in the table
check_eq churn/vms_left "$(wc -l <"$RUN/alive")" "$(module_key vms)"
sed -n 's/^# \(joins\|leaves\|leaves_unknown\|checks_failed\|repairs\|verified_scans\|lock_hold_max_ns\): /\1 /p' \
	"$PROC" >"$RUN/keys"
data churn/keys "$RUN/keys"
stop_vms
exit $FAILED
