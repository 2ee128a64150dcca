# Three VMs with cross-VM, self-shared, unique and zero pages: the oracle
# must equal the recipe's expectation and KSM's own counters exactly.
. ../lib.sh

ksm_setup
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_expect baseline ./recipe
check_kernel baseline
stop_vms
exit $FAILED
