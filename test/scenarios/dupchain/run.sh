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
# a chain per content of webchain (2 of them, 1 at a scale of 2 or more:
# lib.sh) and one for crosschain, each of two dups (300 mappings, 256 a
# dup)
want_chains=$(($(scaled 2) + 1))
want_dups=$((2 * want_chains))
chains=$(ksm stable_node_chains)
dups=$(ksm stable_node_dups)
if [ "$chains" -ge "$want_chains" ] && [ "$dups" -ge "$want_dups" ]; then
	pass "dupchain/chains_formed"
else
	fail "dupchain/chains_formed" "stable_node_chains $chains, stable_node_dups $dups; want >= $want_chains and >= $want_dups"
fi
stop_vms
exit $FAILED
