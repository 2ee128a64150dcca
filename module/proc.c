// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/ksm_vmshare: the contract of ../shared/docs/interface.md. A read
 * copies one row of counters per VM and looks at each VM's owner and
 * anonymous page count: O(VMs), whatever the number of pages.
 *
 * Writing "resync" asks for a fresh walk of the page tables (what the
 * module does by itself after a loss); anything else is refused with
 * EINVAL and changes nothing.
 */
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include <ksm_vmshare/interface.h>
#include "compat.h"
#include "ksm_vmshare.h"

static const char *const state_names[] = {
	[KSMVS_WARMING] = "warming",
	[KSMVS_TRACKING] = "tracking",
	[KSMVS_DEGRADED] = "degraded",
};

/*
 * Rows are VMs registered with KSM; an mm known from __ksm_enter() that
 * failed to register, or one KSM has let go, has no row.
 */
static bool row_shown(const struct ksmvs_row *row)
{
	return row->counts.ksm_mapped ||
	       test_bit(MMF_VM_MERGEABLE, &row->mm->flags);
}

static void show_header(struct seq_file *m, const struct ksmvs_summary *s,
			unsigned int n_shown)
{
	const struct ksmvs_stats *st = &s->stats;

	seq_printf(m, KSMVS_TITLE "%d\n", KSMVS_FORMAT_VERSION);
	seq_printf(m, "# state: %s%s%s\n", state_names[s->state],
		   s->reason ? " " : "", s->reason ? s->reason : "");
	seq_printf(m, "# ksm_pages: %ld\n", s->ksm_pages);
	seq_printf(m, "# ksm_mappings: %ld\n", s->ksm_mappings);
	seq_printf(m, "# full_scans_seen: %lu\n", st->scans);
	seq_printf(m, "# vms: %u\n", n_shown);
	seq_printf(m, "# shadow_bytes: %lu\n", s->shadow_bytes);
	seq_printf(m, "# probe_missed: %lu\n", ksmvs_hooks_missed());
	seq_printf(m, "# joins: %lu\n", st->joins);
	seq_printf(m, "# leaves: %lu\n", st->leaves);
	seq_printf(m, "# leaves_unknown: %lu\n", st->leaves_unknown);
	seq_printf(m, "# pages_dropped: %lu\n", st->pages_dropped);
	seq_printf(m, "# migrations_seen: %lu\n", st->migrations);
	seq_printf(m, "# migrations_tracked: %lu\n", st->migrations_tracked);
	seq_printf(m, "# alloc_failures: %lu\n", st->alloc_failures);
	seq_printf(m, "# resyncs: %lu\n", st->resyncs);
	seq_puts(m, KSMVS_COLUMNS "\n");
}

static void show_row(struct seq_file *m, const struct ksmvs_row *row)
{
	struct task_struct *owner = ksmvs_mm_owner(row->mm);
	const struct shadow_counts *c = &row->counts;
	char comm[TASK_COMM_LEN] = "?";
	pid_t pid = 0;
	long unique;

	if (owner) {
		pid = task_tgid_vnr(owner);
		get_task_comm(comm, owner);
	}
	/* anonymous pages count KSM-backed ones too */
	unique = ksmvs_mm_anon_pages(row->mm, owner) - c->ksm_mapped;
	if (unique < 0)
		unique = 0;	/* swapped-out KSM pages are not in the count */
	if (owner)
		put_task_struct(owner);
	seq_printf(m, "%d %ld %ld %ld %ld %ld %s\n", pid, unique,
		   c->self_shared, c->inter_shared, c->ksm_mapped,
		   unique + c->self_shared, comm);
}

static int ksmvs_proc_show(struct seq_file *m, void *v)
{
	struct ksmvs_summary sum;
	struct ksmvs_row *rows;
	unsigned int n, i, shown = 0;
	int err;

	err = ksmvs_snapshot(&sum, &rows, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		shown += row_shown(&rows[i]);
	show_header(m, &sum, shown);
	for (i = 0; i < n; i++)
		if (row_shown(&rows[i]))
			show_row(m, &rows[i]);
	ksmvs_release_rows(rows, n);
	return 0;
}

static int ksmvs_proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, ksmvs_proc_show, NULL);
}

static ssize_t ksmvs_proc_write(struct file *file, const char __user *buf,
				size_t len, loff_t *pos)
{
	char cmd[16];

	if (len == 0 || len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, buf, len))
		return -EFAULT;
	cmd[len] = '\0';
	if (strcmp(strim(cmd), "resync"))
		return -EINVAL;
	ksmvs_request_resync();
	return len;
}

static const struct proc_ops ksmvs_proc_ops = {
	.proc_open = ksmvs_proc_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = ksmvs_proc_write,
};

int ksmvs_proc_init(void)
{
	/* Root only: the rows expose other processes' memory. */
	if (!proc_create(KSMVS_PROC_NAME, 0400, NULL, &ksmvs_proc_ops))
		return -ENOMEM;
	return 0;
}

void ksmvs_proc_exit(void)
{
	remove_proc_entry(KSMVS_PROC_NAME, NULL);
}
