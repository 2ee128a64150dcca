# Planted bugs (debug kernel only): a build of the module with
# module/planted.c loads with every planted bug, and each detector of the
# debug kernel must say so on the console (console-expects, checked by
# boot.sh). A run where one says nothing means that detector would miss a
# real bug of ours too.
. ../lib.sh

PLANTED=/ksmvs/ksm_vmshare-planted.ko
# a stall report 8 s into the planted 15 (3 s, and PROVE_RCU's 5; the
# default waits 60)
echo 3 >/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout
check_eq planted/stall_timeout 3 "$(cat /sys/module/rcupdate/parameters/rcu_cpu_stall_timeout)"
if insmod "$PLANTED" planted_bugs=lock_order,atomic_sleep,list,uaf,kfence,stall,leak \
	2>"$RUN/insmod.err"; then
	pass planted/load
else
	fail planted/load "insmod failed: $(cat "$RUN/insmod.err")"
	exit 1
fi
# slub_debug=FZPU (debug-kernel.sh) names the module's caches and KSM's:
# each must have every check on. The module has 15 (alloc.c: VMs, sets,
# window records and 12 sizes of pair arrays).
module_caches=$(cd /sys/kernel/slab && ls -d ksmvs_* 2>/dev/null)
check_eq planted/slub_debug/module_caches 15 "$(echo $module_caches | wc -w)"
for cache in $module_caches ksm_rmap_item ksm_stable_node; do
	for check in sanity_checks red_zone poison store_user; do
		check_eq "planted/slub_debug/$cache/$check" 1 \
			"$(cat "/sys/kernel/slab/$cache/$check" 2>&1)"
	done
done
# the leak shows once the module is gone: the guest's init scans for it
rmmod ksm_vmshare && pass planted/unload || fail planted/unload "rmmod failed"
exit $FAILED
