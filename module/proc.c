// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/ksm_vmshare: the contract of ../shared/docs/interface.md.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include <ksm_vmshare/interface.h>
#include "ksm_vmshare.h"

static int ksmvs_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, KSMVS_TITLE "%d\n", KSMVS_FORMAT_VERSION);
	/* No tracking yet: say so instead of printing counts that look exact. */
	seq_puts(m, "# state: degraded not-tracking\n");
	seq_puts(m, "# ksm_pages: 0\n# ksm_mappings: 0\n# full_scans_seen: 0\n");
	seq_puts(m, KSMVS_COLUMNS "\n");
	return 0;
}

int ksmvs_proc_init(void)
{
	/* Root only: the rows expose other processes' memory layout. */
	if (!proc_create_single(KSMVS_PROC_NAME, 0400, NULL, ksmvs_proc_show))
		return -ENOMEM;
	return 0;
}

void ksmvs_proc_exit(void)
{
	remove_proc_entry(KSMVS_PROC_NAME, NULL);
}
