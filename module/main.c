// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_vmshare: which VM's memory KSM really shares with whom.
 *
 * KSM merges identical pages within and across processes; a VM's pages
 * that only it maps go away with it, the ones other VMs map stay. This
 * module follows every mapping of every KSM page to the VM (mm) that owns
 * it and serves, per VM, unique, self-shared and inter-shared pages and
 * what its eviction would free in /proc/ksm_vmshare
 * (../shared/docs/interface.md).
 *
 * Loading order matters: the VM hooks go in first, then every mm already
 * registered with KSM is found, then the page hooks; the work item then
 * walks the VMs found, to learn what they merged before: nothing falls
 * between. Until the first full scan whose check holds, the state says
 * "warming".
 *
 * Unloading goes the other way, and each step waits for what it stops:
 * the proc file is removed (remove_proc_entry() waits for readers), the
 * probes are unregistered (unregister_kprobe() waits, with
 * synchronize_rcu(), for every handler still running on another CPU;
 * none starts after), nothing may queue the work item any more
 * (ksmvs_track_stop(), under the lock the handlers take), the work item
 * is cancelled and waited for, and only then is the map freed.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "ksm_vmshare.h"

char *ksmvs_symbol_override;
module_param_named(symbol_override, ksmvs_symbol_override, charp, 0444);
MODULE_PARM_DESC(symbol_override,
		 "ROLE=SYMBOL[,...]: probe SYMBOL for ROLE (enter, exit, join, leave, drop, migrate, scan)");

unsigned int ksmvs_layout_skew;
module_param_named(test_layout_skew, ksmvs_layout_skew, uint, 0444);
MODULE_PARM_DESC(test_layout_skew,
		 "testing: read KSM's rmap_item this many bytes off (0, 8 or 16), so that the layout check refuses");

unsigned int ksmvs_fail_alloc_every;
module_param_named(fail_alloc_every, ksmvs_fail_alloc_every, uint, 0644);
MODULE_PARM_DESC(fail_alloc_every,
		 "testing: fail every Nth shadow allocation (0: never)");

static int __init ksmvs_init(void)
{
	int err;

	err = ksmvs_track_init(&ksmvs_maint_work);
	if (err)
		return err;
	err = ksmvs_hooks_register_vm_hooks();
	if (err)
		goto out_hooks;
	ksmvs_discover_mms();
	err = ksmvs_hooks_register_page_hooks();
	if (err)
		goto out_hooks;
	err = ksmvs_proc_init();
	if (err)
		goto out_hooks;
	ksmvs_planted_bugs_at_load();
	return 0;

out_hooks:
	ksmvs_hooks_unregister();
	ksmvs_track_stop();
	ksmvs_repair_stop();
	ksmvs_track_exit();
	return err;
}

static void __exit ksmvs_exit(void)
{
	ksmvs_planted_bugs_at_unload();
	ksmvs_proc_exit();
	ksmvs_hooks_unregister();
	ksmvs_track_stop();
	ksmvs_repair_stop();
	ksmvs_track_exit();
}

module_init(ksmvs_init);
module_exit(ksmvs_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-VM KSM sharing: unique, self-shared and inter-shared pages");
