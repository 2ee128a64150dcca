// SPDX-License-Identifier: GPL-2.0
/*
 * ksmvs_control: the control experiment of issue 13, for the test rig only.
 *
 * It does nothing but what ksm_vmshare does to the kernel's text: plain
 * kprobes with empty pre-handlers on exactly the functions that
 * module/hooks.c probes, registered in the order module/main.c registers
 * them (the two VM hooks, then the five page hooks) and unregistered in
 * the order ksmvs_hooks_unregister() does (the reverse). No state, no
 * work items, no proc file: if loading and unloading this crashes a busy
 * ksmd as often as ksm_vmshare does, the crash is the platform's (kernel
 * text patching or the emulator), not ksm_vmshare's.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>

static int empty_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return 0;
}

/* module/hooks.c hooks[], in its order */
static struct kprobe probes[] = {
	{ .symbol_name = "__ksm_enter", .pre_handler = empty_pre },
	{ .symbol_name = "__ksm_exit", .pre_handler = empty_pre },
	{ .symbol_name = "stable_tree_append", .pre_handler = empty_pre },
	{ .symbol_name = "remove_rmap_item_from_tree", .pre_handler = empty_pre },
	{ .symbol_name = "remove_node_from_stable_tree", .pre_handler = empty_pre },
	{ .symbol_name = "folio_migrate_ksm", .pre_handler = empty_pre },
	{ .symbol_name = "lru_add_drain_all", .pre_handler = empty_pre },
};

static unsigned int n_registered;

/* One at a time and last first, as ksmvs_hooks_unregister() does. */
static void unregister_all(void)
{
	while (n_registered > 0)
		unregister_kprobe(&probes[--n_registered]);
}

static int __init control_init(void)
{
	int err;

	for (n_registered = 0; n_registered < ARRAY_SIZE(probes);
	     n_registered++) {
		err = register_kprobe(&probes[n_registered]);
		if (err) {
			pr_err("ksmvs_control: cannot probe %s: error %d\n",
			       probes[n_registered].symbol_name, err);
			unregister_all();
			return err;
		}
	}
	return 0;
}

static void __exit control_exit(void)
{
	unregister_all();
}

module_init(control_init);
module_exit(control_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test rig control: empty kprobes on ksm_vmshare's probe points");
