// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_vmshare: per-VM KSM sharing, served in /proc/ksm_vmshare.
 *
 * This is the loadable skeleton: it creates the proc file with the
 * contract's header and no rows. Tracking comes with the hooks and the
 * shadow map.
 */
#include <linux/module.h>

#include "ksm_vmshare.h"

static int __init ksmvs_init(void)
{
	return ksmvs_proc_init();
}

static void __exit ksmvs_exit(void)
{
	ksmvs_proc_exit();
}

module_init(ksmvs_init);
module_exit(ksmvs_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-VM KSM sharing: unique, self-shared and inter-shared pages");
