# After every phase: the oracle equals the recipe and the kernel's counters.
. ../lib.sh

ksm_setup
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_expect changes/initial ./recipe
check_kernel changes/initial
for phase in write unmerge leave; do
	run_phase ./recipe "$phase" || exit 1
	wait_quiesce || exit 1
	compare_expect "changes/$phase" ./recipe "$phase"
	check_kernel "changes/$phase"
done
stop_vms
exit $FAILED
