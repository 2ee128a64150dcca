# Dup chains: the recipe cannot say which dup holds whose mappings, but the
# oracle must still agree with the kernel's counters, and chains must exist.
. ../lib.sh

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_expect dupchain ./recipe
check_kernel dupchain
wait_tracking
compare_module dupchain/module
chains=$(ksm stable_node_chains)
dups=$(ksm stable_node_dups)
if [ "$chains" -ge 3 ] && [ "$dups" -ge 6 ]; then
	pass "dupchain/chains_formed"
else
	fail "dupchain/chains_formed" "stable_node_chains $chains, stable_node_dups $dups; want >= 3 and >= 6"
fi
stop_vms
exit $FAILED
