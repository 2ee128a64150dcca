# Load and unload while ksmd runs without pauses through the probed
# functions: the probes come and go under a busy ksmd.
. ../lib.sh

ksm_setup
start_vms ./recipe || exit 1
wait_quiesce || exit 1
echo 0 >"$KSM/sleep_millisecs"
echo 10000 >"$KSM/pages_to_scan"
for i in $(seq 1 30); do
	module_load || exit 1
	sleep 0.$((i % 5))
	module_unload
done
pass unloadstress/30_cycles
echo 10 >"$KSM/sleep_millisecs"
stop_vms
exit $FAILED
