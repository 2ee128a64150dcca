// SPDX-License-Identifier: GPL-2.0
/*
 * The probe table: where KSM's mappings join and leave KSM pages, where a
 * whole KSM page goes, where one migrates, where an mm registers with KSM
 * and leaves it, and where ksmd starts a full scan. Handlers only read
 * their arguments and call track.c; they never sleep.
 *
 * The functions probed are static in mm/ksm.c but present (not inlined)
 * on Debian's 6.1 and 6.12 (../shared/docs/kernel-facts.md). A missing one
 * fails the load, naming it: a half-working module would print wrong
 * numbers that look right.
 */
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "ksm_vmshare.h"

/*
 * The head of mm/ksm.c's struct ksm_rmap_item (struct rmap_item up to
 * 6.5), private to that file: the same on 6.1 and 6.12 (6.12's age and
 * remaining_skips fill what was padding after oldchecksum). Every join
 * checks it: @address must carry STABLE_FLAG and @head must be the stable
 * node stable_tree_append() was given, and @mm must be an mm registered
 * with KSM. One failure stops tracking for good ("degraded layout").
 */
struct ksmvs_rmap_item {
	void *rmap_list;
	void *anon_vma;		/* or the NUMA node id */
	struct mm_struct *mm;
	unsigned long address;	/* + UNSTABLE_FLAG, STABLE_FLAG, seqnr */
	unsigned int oldchecksum;
	unsigned char age;
	unsigned char remaining_skips;
	const void *head;	/* the stable node, when STABLE_FLAG */
};

#define KSM_UNSTABLE_FLAG	0x100	/* mm/ksm.c */
#define KSM_STABLE_FLAG		0x200

/* Set by the first join whose layout checks all pass. */
static bool layout_verified;

static struct ksmvs_rmap_item *rmap_item_arg(struct pt_regs *regs, int n)
{
	return (struct ksmvs_rmap_item *)regs_get_kernel_argument(regs, n);
}

/* stable_tree_append(rmap_item, stable_node, max_page_sharing_bypass) */
struct join_data {
	struct ksmvs_rmap_item *item;
	const void *node;
};

static int join_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct join_data *d = (struct join_data *)ri->data;

	d->item = rmap_item_arg(regs, 0);
	d->node = (const void *)regs_get_kernel_argument(regs, 1);
	return 0;
}

static int join_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct join_data *d = (struct join_data *)ri->data;
	unsigned long address = READ_ONCE(d->item->address);
	const void *mm = READ_ONCE(d->item->mm);

	if (!(address & KSM_STABLE_FLAG) || READ_ONCE(d->item->head) != d->node) {
		ksmvs_layout_failed("address or head");
		return 0;
	}
	if (ksmvs_on_join(mm, address & PAGE_MASK, d->node) == -ENOENT) {
		/* an mm that never registered: the layout, or a lost event */
		if (READ_ONCE(layout_verified))
			ksmvs_degrade("unknown-mm");
		else
			ksmvs_layout_failed("mm");
		return 0;
	}
	WRITE_ONCE(layout_verified, true);
	return 0;
}

/*
 * remove_rmap_item_from_tree(rmap_item): runs on every scan of every
 * unstable page too, hundreds of thousands of times a second: the test of
 * STABLE_FLAG comes before anything else.
 */
static int leave_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct ksmvs_rmap_item *item = rmap_item_arg(regs, 0);
	unsigned long address = READ_ONCE(item->address);

	if (likely(!(address & KSM_STABLE_FLAG)))
		return 0;
	ksmvs_on_leave(READ_ONCE(item->mm), address & PAGE_MASK,
		       READ_ONCE(item->head));
	return 0;
}

/* remove_node_from_stable_tree(stable_node): a stale KSM page goes. */
static int drop_pre(struct kprobe *kp, struct pt_regs *regs)
{
	ksmvs_on_drop((const void *)regs_get_kernel_argument(regs, 0));
	return 0;
}

/* folio_migrate_ksm(newfolio, folio): the stable node moves with it. */
static int migrate_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct folio *old = (struct folio *)regs_get_kernel_argument(regs, 1);

	if (folio_test_ksm(old))
		ksmvs_on_migrate((const void *)((unsigned long)
			READ_ONCE(old->mapping) & ~PAGE_MAPPING_FLAGS));
	return 0;
}

/* __ksm_enter(mm): only an mm that did register counts, so wait for 0. */
static int enter_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(struct mm_struct **)ri->data =
		(struct mm_struct *)regs_get_kernel_argument(regs, 0);
	return 0;
}

static int enter_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (regs_return_value(regs) == 0)
		ksmvs_on_enter(*(struct mm_struct **)ri->data);
	return 0;
}

/* __ksm_exit(mm) */
static int exit_pre(struct kprobe *kp, struct pt_regs *regs)
{
	ksmvs_on_exit((struct mm_struct *)regs_get_kernel_argument(regs, 0));
	return 0;
}

/*
 * lru_add_drain_all(): ksmd calls it once at the start of every full scan
 * (scan_get_next_rmap_item() on 6.1 and 6.12); everyone else's calls are
 * ignored.
 */
static int scan_pre(struct kprobe *kp, struct pt_regs *regs)
{
	if ((current->flags & PF_KTHREAD) && !strcmp(current->comm, "ksmd"))
		ksmvs_on_scan();
	return 0;
}

static struct kretprobe join_probe = {
	.entry_handler = join_entry,
	.handler = join_return,
	.data_size = sizeof(struct join_data),
	/* only ksmd calls it, one call at a time; a spare for safety */
	.maxactive = 2,
};

static struct kretprobe enter_probe = {
	.entry_handler = enter_entry,
	.handler = enter_return,
	.data_size = sizeof(struct mm_struct *),
	/*
	 * __ksm_enter() may sleep in its allocation, in any process: 0 lets
	 * the kernel choose (2 * CPUs); a miss is reported and repaired by a
	 * resync, which finds every registered mm
	 */
	.maxactive = 0,
};

static struct kprobe leave_probe = { .pre_handler = leave_pre };
static struct kprobe drop_probe = { .pre_handler = drop_pre };
static struct kprobe migrate_probe = { .pre_handler = migrate_pre };
static struct kprobe exit_probe = { .pre_handler = exit_pre };
static struct kprobe scan_probe = { .pre_handler = scan_pre };

/**
 * struct ksmvs_hook - one entry of the probe table
 * @role: its name in messages and in the symbol_override parameter
 * @symbol: the kernel function probed
 * @kp: a kprobe, or NULL
 * @rp: a kretprobe, or NULL
 * @registered: whether it is in place
 */
struct ksmvs_hook {
	const char *role;
	const char *symbol;
	struct kprobe *kp;
	struct kretprobe *rp;
	bool registered;
};

/* The first two keep the VM table; the rest follow the pages. */
#define KSMVS_VM_HOOKS 2
static struct ksmvs_hook hooks[] = {
	{ "enter", "__ksm_enter", NULL, &enter_probe },
	{ "exit", "__ksm_exit", &exit_probe, NULL },
	{ "join", "stable_tree_append", NULL, &join_probe },
	{ "leave", "remove_rmap_item_from_tree", &leave_probe, NULL },
	{ "drop", "remove_node_from_stable_tree", &drop_probe, NULL },
	{ "migrate", "folio_migrate_ksm", &migrate_probe, NULL },
	{ "scan", "lru_add_drain_all", &scan_probe, NULL },
};

/*
 * symbol_override="ROLE=SYMBOL,...": probe another function for a role
 * (a renamed one on some kernel, or a missing one in the tests).
 */
static const char *symbol_for(const struct ksmvs_hook *h, char *buf,
			      size_t len)
{
	const char *p = ksmvs_symbol_override;
	size_t role_len = strlen(h->role);

	while (p && *p) {
		const char *end = strchrnul(p, ',');

		if (!strncmp(p, h->role, role_len) && p[role_len] == '=') {
			p += role_len + 1;
			if (end - p >= len)
				return h->symbol;
			memcpy(buf, p, end - p);
			buf[end - p] = '\0';
			return buf;
		}
		p = *end ? end + 1 : end;
	}
	return h->symbol;
}

static int register_hook(struct ksmvs_hook *h)
{
	static char names[ARRAY_SIZE(hooks)][KSYM_NAME_LEN];
	const char *symbol = symbol_for(h, names[h - hooks], KSYM_NAME_LEN);
	int err;

	if (h->kp) {
		h->kp->symbol_name = symbol;
		err = register_kprobe(h->kp);
	} else {
		h->rp->kp.symbol_name = symbol;
		err = register_kretprobe(h->rp);
	}
	if (err) {
		pr_err("ksm_vmshare: cannot probe %s (for %s): %s%d\n", symbol,
		       h->role, err == -ENOENT ? "no such symbol, error " :
		       "error ", err);
		return err;
	}
	h->registered = true;
	return 0;
}

static int register_range(unsigned int from, unsigned int to)
{
	unsigned int i;
	int err;

	for (i = from; i < to; i++) {
		err = register_hook(&hooks[i]);
		if (err)
			return err;
	}
	return 0;
}

int ksmvs_hooks_register_vm_hooks(void)
{
	return register_range(0, KSMVS_VM_HOOKS);
}

int ksmvs_hooks_register_page_hooks(void)
{
	return register_range(KSMVS_VM_HOOKS, ARRAY_SIZE(hooks));
}

void ksmvs_hooks_unregister(void)
{
	unsigned int i;

	for (i = ARRAY_SIZE(hooks); i-- > 0;) {
		struct ksmvs_hook *h = &hooks[i];

		if (!h->registered)
			continue;
		if (h->kp)
			unregister_kprobe(h->kp);
		else
			unregister_kretprobe(h->rp);
		h->registered = false;
	}
}

/*
 * Probe hits lost (kretprobe instances exhausted, recursion): any is a
 * loss for the shadow.
 */
unsigned long ksmvs_hooks_missed(void)
{
	unsigned long missed = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		if (hooks[i].kp)
			missed += READ_ONCE(hooks[i].kp->nmissed);
		else
			missed += READ_ONCE(hooks[i].rp->nmissed) +
				  READ_ONCE(hooks[i].rp->kp.nmissed);
	}
	return missed;
}
