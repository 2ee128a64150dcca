# ksm-victim's victim is the oracle's VM that frees most; evicting it frees
# what the module predicted, within 1% + 256 pages.
. ../lib.sh

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
wait_tracking
compare_module evict/before
evict_victim evict
compare_module evict/after
stop_vms
exit $FAILED
