# Evicting vm1 frees none of its KSM pages: self_shared 0, inter_shared 3.
. ../lib.sh
# interface.md's own numbers, 8 pages a VM: nothing to gain from scaling
# them down on a slow kernel, and the row below is the document's
KSMVS_RECIPE_SCALE=1

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_expect example ./recipe
compare_module example/module
vm1=$(vm_pid vm1)
row=$(awk -v p="$vm1" '$1 == p { print $3, $4, $5 }' "$PROC")
check_eq example/vm1_self_inter_mapped "0 3 8" "$row"
region=$(alive_regions | grep "^$vm1:")
freed=$(ksm-oracle --evict "$vm1" "$region" | sed -n "s/^# freed_by_evicting: $vm1 //p")
check_eq example/vm1_region_freed 0 "$freed"
stop_vms
exit $FAILED
