# Loaded after merging happened: the walk must find every KSM page, without
# unmerging anything. Then load and unload while KSM merges.
. ../lib.sh

ksm_setup
start_vms ./recipe || exit 1
wait_quiesce || exit 1
before="$(ksm_counters)"
module_load || exit 1
wait_tracking
check_eq lateload/nothing_unmerged "$before" "$(ksm_counters)"
compare_module lateload/walked
# slow ksmd down so that the new VMs merge during the loads and unloads
echo 40 >"$KSM/pages_to_scan"
echo 20 >"$KSM/sleep_millisecs"
run_phase ./recipe more || exit 1
during=$(ksm_counters)
for i in $(seq 1 20); do
	module_unload
	sleep 0.2
	module_load || exit 1
	sleep 0.$((i % 7 + 1))
done
if [ "$during" != "$(ksm_counters)" ]; then
	pass lateload/reloads_while_merging
else
	fail lateload/reloads_while_merging "KSM did not merge during the reloads ($during)"
fi
echo 1000 >"$KSM/pages_to_scan"
echo 10 >"$KSM/sleep_millisecs"
wait_quiesce || exit 1
wait_tracking
compare_expect lateload/more ./recipe more
compare_module lateload/reloaded
stop_vms
module_unload
exit $FAILED
