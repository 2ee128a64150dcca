# run=2 unmerges everything and stops ksmd; run=1 merges it all again.
. ../lib.sh

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_module restart/merged
echo 2 >"$KSM/run"
# ksmd is stopped now: the counters cannot move, and must all be 0
check_eq restart/unmerged/pages_shared 0 "$(ksm pages_shared)"
compare_module restart/unmerged
check_eq restart/unmerged/module_pages 0 "$(module_key ksm_pages)"
echo 1 >"$KSM/run"
wait_quiesce || exit 1
compare_expect restart/remerged ./recipe
compare_module restart/remerged
stop_vms
exit $FAILED
