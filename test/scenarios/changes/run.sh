# After every phase: the oracle equals the recipe and the kernel's counters,
# and the module's rows equal the oracle.
. ../lib.sh

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_expect changes/initial ./recipe
check_kernel changes/initial
wait_tracking
compare_module changes/initial/module
for phase in write unmerge leave join; do
	run_phase ./recipe "$phase" || exit 1
	wait_quiesce || exit 1
	compare_expect "changes/$phase" ./recipe "$phase"
	check_kernel "changes/$phase"
	compare_module "changes/$phase/module"
done
stop_vms
exit $FAILED
