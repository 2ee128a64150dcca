# Three VMs with cross-VM, self-shared, unique and zero pages: the oracle
# must equal the recipe's expectation and KSM's own counters exactly.
. ../lib.sh

ksm_setup
# loaded before any VM: everything it knows, it learns from its probes
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_expect baseline ./recipe
check_kernel baseline
wait_tracking
compare_module baseline/module
stop_vms
exit $FAILED
