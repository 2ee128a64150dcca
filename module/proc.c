// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/ksm_vmshare: the contract of ../shared/docs/interface.md. A read
 * copies one row of counters per VM and looks at each VM's owner and
 * anonymous page count: O(VMs), whatever the number of pages.
 *
 * /proc/ksm_vmshare_sets: the KSM pages of each exact set of VMs.
 *
 * Writing "resync" to /proc/ksm_vmshare has every VM forgotten and walked
 * again, one at a time (what the module does by itself for a VM whose
 * check fails); anything else is refused with EINVAL and changes nothing.
 */
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/sort.h>
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
 * Rows are VMs registered with KSM whose owning process is still there;
 * an mm known from __ksm_enter() that failed to register has none.
 */
static bool registered(const struct ksmvs_row *row)
{
	return row->counts.ksm_mapped || ksmvs_mm_mergeable(row->mm);
}

/*
 * The process name, octal-escaped (interface.md): any process can name
 * itself anything and mark its memory mergeable, and a newline must not
 * start a row of its own.
 */
static void show_comm(struct seq_file *m, const char *comm)
{
	const unsigned char *c;

	for (c = (const unsigned char *)comm; *c; c++) {
		if (*c == '\\' || *c < 0x20 || *c >= 0x7f)
			seq_printf(m, "\\%03o", *c);
		else
			seq_putc(m, *c);
	}
}

/**
 * struct shown_row - what one row shows, looked up without the lock
 * @pid: the owner's thread-group id, 0 if the owner has exited
 * @comm: its name
 * @unique: anonymous pages not backed by KSM pages
 */
struct shown_row {
	pid_t pid;
	char comm[TASK_COMM_LEN];
	long unique;
};

static void look_up(const struct ksmvs_row *row, struct shown_row *out)
{
	struct task_struct *owner = ksmvs_mm_owner(row->mm);

	out->pid = 0;
	out->comm[0] = '\0';
	if (owner) {
		out->pid = task_tgid_vnr(owner);
		get_task_comm(out->comm, owner);
	}
	/* anonymous pages count KSM-backed ones too */
	out->unique = ksmvs_mm_anon_pages(row->mm, owner) -
		      row->counts.ksm_mapped;
	if (out->unique < 0)
		out->unique = 0;	/* swapped-out KSM pages are not in it */
	if (owner)
		put_task_struct(owner);
}

static void show_header(struct seq_file *m, const struct ksmvs_summary *s,
			unsigned int n_shown, unsigned int unowned,
			long unowned_mappings, unsigned int unchecked)
{
	const struct ksmvs_stats *st = &s->stats;

	seq_printf(m, KSMVS_TITLE "%d\n", KSMVS_FORMAT_VERSION);
	seq_printf(m, "# state: %s%s%s\n", state_names[s->state],
		   s->reason ? " " : "", s->reason ? s->reason : "");
	seq_printf(m, "# ksm_pages: %ld\n", s->ksm_pages);
	seq_printf(m, "# ksm_mappings: %ld\n", s->ksm_mappings);
	seq_printf(m, "# full_scans_seen: %lu\n", st->scans);
	seq_printf(m, "# verified_scans: %lu\n", st->verified_scans);
	seq_printf(m, "# vms: %u\n", n_shown);
	seq_printf(m, "# unowned_vms: %u\n", unowned);
	seq_printf(m, "# unowned_mappings: %ld\n", unowned_mappings);
	seq_printf(m, "# unchecked_vms: %u\n", unchecked);
	seq_printf(m, "# checks_failed: %lu\n", st->checks_failed);
	seq_printf(m, "# repairs: %lu\n", st->repairs);
	seq_printf(m, "# resyncs: %lu\n", st->resyncs);
	seq_printf(m, "# shadow_bytes: %lu\n", s->shadow_bytes);
	seq_printf(m, "# shadow_table_bytes: %lu\n", s->shadow_table_bytes);
	seq_printf(m, "# lock_hold_max_ns: %llu\n", st->lock_hold_max_ns);
	seq_printf(m, "# join_hold_ns: %llu\n", st->join_hold_ns);
	seq_printf(m, "# leave_hold_ns: %llu\n", st->leave_hold_ns);
	seq_printf(m, "# probe_missed: %lu\n", ksmvs_hooks_missed());
	seq_printf(m, "# joins: %lu\n", st->joins);
	seq_printf(m, "# joins_untracked: %lu\n", st->joins_untracked);
	seq_printf(m, "# leaves: %lu\n", st->leaves);
	seq_printf(m, "# leaves_unknown: %lu\n", st->leaves_unknown);
	seq_printf(m, "# pages_dropped: %lu\n", st->pages_dropped);
	seq_printf(m, "# migrations_seen: %lu\n", st->migrations);
	seq_printf(m, "# migrations_tracked: %lu\n", st->migrations_tracked);
	seq_printf(m, "# alloc_failures: %lu\n", st->alloc_failures);
	seq_printf(m, "# windows_dirty: %lu\n", st->windows_dirty);
	seq_printf(m, "# pool_taken: %lu\n", s->pool_taken);
	seq_puts(m, KSMVS_COLUMNS "\n");
}

static int ksmvs_proc_show(struct seq_file *m, void *v)
{
	unsigned int n, i, shown = 0, unowned = 0, unchecked = 0;
	struct shown_row *look;
	struct ksmvs_summary sum;
	struct ksmvs_row *rows;
	long unowned_mappings = 0;
	int err;

	err = ksmvs_snapshot(&sum, &rows, &n);
	if (err)
		return err;
	look = kvcalloc(n + 1, sizeof(*look), GFP_KERNEL);
	if (!look) {
		ksmvs_release_rows(rows, n);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (!registered(&rows[i]))
			continue;
		look_up(&rows[i], &look[i]);
		if (!look[i].pid) {
			unowned++;
			unowned_mappings += rows[i].counts.ksm_mapped;
			continue;
		}
		shown++;
		unchecked += rows[i].unchecked;
	}
	show_header(m, &sum, shown, unowned, unowned_mappings, unchecked);
	for (i = 0; i < n; i++) {
		const struct shadow_counts *c = &rows[i].counts;

		if (!registered(&rows[i]) || !look[i].pid)
			continue;
		seq_printf(m, "%d %ld %ld %ld %ld %ld ", look[i].pid,
			   look[i].unique, c->self_shared, c->inter_shared,
			   c->ksm_mapped, look[i].unique + c->self_shared);
		show_comm(m, look[i].comm);
		seq_putc(m, '\n');
	}
	kvfree(look);
	ksmvs_release_rows(rows, n);
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Every member's pid, ascending, into pids; false if one has none. */
static bool set_pids(const struct shadow_set *set, const pid_t *pid_of,
		     pid_t *pids)
{
	unsigned int k;

	for (k = 0; k < set->n; k++) {
		pids[k] = pid_of[set->members[k]];
		if (!pids[k])
			return false;
	}
	sort(pids, set->n, sizeof(*pids), by_pid, NULL);
	return true;
}

/*
 * /proc/ksm_vmshare_sets: a line per set record, its members' pids
 * ascending. The "*" line takes the pages of more VMs than a record holds,
 * the pages whose record could not be allocated, and the pages of sets
 * that name an mm without a row (its owner has exited, or KSM let go of
 * it and it is being forgotten): a reader counts "*" pages freed only
 * when every VM goes, which is true of all three. A read copies the set
 * records under the lock: O(distinct sets), not pages.
 */
static int ksmvs_sets_show(struct seq_file *m, void *v)
{
	unsigned long n_sets, l, lines = 0;
	long unowned_pages = 0, star;
	pid_t pids[SHADOW_SET_MAX];
	struct ksmvs_summary sum;
	struct shadow_set *sets;
	struct ksmvs_row *rows;
	const char *reason;
	unsigned int n, i, k;
	pid_t *pid_of;
	int err;

	err = ksmvs_snapshot_sets(&sum, &rows, &n, &sets, &n_sets);
	if (err)
		return err;
	pid_of = kvcalloc(SHADOW_MAX_VMS, sizeof(*pid_of), GFP_KERNEL);
	if (!pid_of) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct task_struct *owner = ksmvs_mm_owner(rows[i].mm);

		if (owner) {
			pid_of[rows[i].index] = task_tgid_vnr(owner);
			put_task_struct(owner);
		}
	}
	for (l = 0; l < n_sets; l++) {
		if (set_pids(&sets[l], pid_of, pids))
			lines++;
		else
			unowned_pages += sets[l].pages;
	}
	star = sum.set_star_pages + sum.set_lost_pages + unowned_pages;
	reason = sum.reason;
	if (sum.state == KSMVS_TRACKING && sum.set_lost_pages) {
		sum.state = KSMVS_DEGRADED;
		reason = "nomem";
	}
	seq_printf(m, KSMVS_SETS_TITLE "%d\n", KSMVS_FORMAT_VERSION);
	seq_printf(m, "# state: %s%s%s\n", state_names[sum.state],
		   reason ? " " : "", reason ? reason : "");
	seq_printf(m, "# max_members: %d\n", SHADOW_SET_MAX);
	seq_printf(m, "# ksm_pages: %ld\n", sum.ksm_pages);
	seq_printf(m, "# sets: %lu\n", lines + (star > 0));
	seq_printf(m, "# star_pages: %ld\n", sum.set_star_pages);
	seq_printf(m, "# lost_pages: %ld\n", sum.set_lost_pages);
	seq_printf(m, "# unowned_pages: %ld\n", unowned_pages);
	seq_printf(m, "# verified_scans: %lu\n", sum.stats.verified_scans);
	seq_puts(m, KSMVS_SETS_COLUMNS "\n");
	for (l = 0; l < n_sets; l++) {
		if (!set_pids(&sets[l], pid_of, pids))
			continue;
		seq_printf(m, "%ld ", sets[l].pages);
		for (k = 0; k < sets[l].n; k++)
			seq_printf(m, k ? ",%d" : "%d", pids[k]);
		seq_putc(m, '\n');
	}
	if (star)
		seq_printf(m, "%ld *\n", star);
	kvfree(pid_of);
out:
	kvfree(sets);
	ksmvs_release_rows(rows, n);
	return err;
}

static int ksmvs_sets_open(struct inode *inode, struct file *file)
{
	/* a line per set: let seq_file start with room for many */
	return single_open_size(file, ksmvs_sets_show, NULL, PAGE_SIZE * 4);
}

static const struct proc_ops ksmvs_sets_proc_ops = {
	.proc_open = ksmvs_sets_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

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
	if (!proc_create(KSMVS_SETS_PROC_NAME, 0400, NULL,
			 &ksmvs_sets_proc_ops)) {
		remove_proc_entry(KSMVS_PROC_NAME, NULL);
		return -ENOMEM;
	}
	return 0;
}

void ksmvs_proc_exit(void)
{
	remove_proc_entry(KSMVS_SETS_PROC_NAME, NULL);
	remove_proc_entry(KSMVS_PROC_NAME, NULL);
}
