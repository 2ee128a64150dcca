// SPDX-License-Identifier: GPL-2.0
/*
 * The probe table: where KSM's mappings join and leave KSM pages, where a
 * whole KSM page goes, where one migrates, where an mm registers with KSM
 * and leaves it, and where ksmd starts a full scan. Handlers only read
 * their arguments and call track.c; they never sleep.
 *
 * The functions probed are static in mm/ksm.c but present (not inlined)
 * on Debian's 6.1, 6.12 and 7.2 (../shared/docs/kernel-facts.md). A missing
 * one, or one with a compiler-made copy beside it, fails the load, naming
 * it: a half-working module would print wrong numbers that look right.
 *
 * Why kprobes and not KSM's tracepoints (6.3 on; read in 6.12's mm/ksm.c):
 * none fires where a mapping joins a KSM page (stable_tree_append()) or
 * where one leaves it (remove_rmap_item_from_tree()); ksm_remove_ksm_page
 * gives the page's pfn, not its stable node, and ksm_remove_rmap_item
 * fires only inside a page's drop and only for its non-last mappings. The
 * page events need kprobes on every kernel, so the VM and scan events use
 * them too: one mechanism, one set of argument checks, 6.1 included.
 */
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "compat.h"
#include "ksm_vmshare.h"

/*
 * The head of mm/ksm.c's struct ksm_rmap_item (struct rmap_item up to
 * 6.5), private to that file: the same on 6.1 and 6.12 (6.12's age and
 * remaining_skips fill what was padding after oldchecksum).
 *
 * Every join checks it. At stable_tree_append()'s entry @address must not
 * yet carry STABLE_FLAG; by the next join, leave or page drop (all under
 * KSM's own mutex, so nothing else touches the item in between, and an
 * item is never freed or has its flag cleared without one of them running
 * first) @address must carry STABLE_FLAG and @head must be the stable
 * node the append was given. One failure stops tracking for good
 * ("degraded layout"). @mm is only compared with the mms the module
 * knows, never dereferenced; an unknown one proves nothing about the
 * layout (the table may be full). Only plain kprobes are used: no return
 * probe is left pending on ksmd's stack when the module unloads.
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

/* The last append, checked at the next join or leave. */
static DEFINE_SPINLOCK(pending_lock);
static struct ksmvs_rmap_item *pending_item;
static const void *pending_node;

static struct ksmvs_rmap_item *rmap_item_arg(struct pt_regs *regs, int n)
{
	/* the test skew stays within the 64-byte item: head is at 40 */
	return (struct ksmvs_rmap_item *)(regs_get_kernel_argument(regs, n) +
					  (ksmvs_layout_skew & 16) +
					  (ksmvs_layout_skew & 8));
}

static void check_pending_append(void)
{
	struct ksmvs_rmap_item *item;
	const void *node;

	if (!READ_ONCE(pending_item))
		return;
	spin_lock(&pending_lock);
	item = pending_item;
	node = pending_node;
	pending_item = NULL;
	spin_unlock(&pending_lock);
	if (!item)
		return;
	if (!(READ_ONCE(item->address) & KSM_STABLE_FLAG) ||
	    READ_ONCE(item->head) != node)
		ksmvs_layout_failed("address or head after stable_tree_append");
}

/* stable_tree_append(rmap_item, stable_node, max_page_sharing_bypass) */
static int join_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct ksmvs_rmap_item *item = rmap_item_arg(regs, 0);
	const void *node = (const void *)regs_get_kernel_argument(regs, 1);
	unsigned long address = READ_ONCE(item->address);

	check_pending_append();
	if (address & KSM_STABLE_FLAG) {
		ksmvs_layout_failed("address before stable_tree_append");
		return 0;
	}
	ksmvs_on_join(READ_ONCE(item->mm), address & PAGE_MASK, node);
	spin_lock(&pending_lock);
	pending_item = item;
	pending_node = node;
	spin_unlock(&pending_lock);
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

	/* the item may be the one just appended, about to be freed */
	if (unlikely(READ_ONCE(pending_item)))
		check_pending_append();
	if (likely(!(address & KSM_STABLE_FLAG)))
		return 0;
	ksmvs_on_leave(READ_ONCE(item->mm), address & PAGE_MASK,
		       READ_ONCE(item->head));
	return 0;
}

/* remove_node_from_stable_tree(stable_node): a stale KSM page goes. */
static int drop_pre(struct kprobe *kp, struct pt_regs *regs)
{
	/* the drop clears STABLE_FLAG of the page's items: check first */
	check_pending_append();
	ksmvs_on_drop((const void *)regs_get_kernel_argument(regs, 0));
	return 0;
}

/* folio_migrate_ksm(newfolio, folio): the stable node moves with it. */
static int migrate_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct folio *old = (struct folio *)regs_get_kernel_argument(regs, 1);

	if (folio_test_ksm(old))
		ksmvs_on_migrate(ksmvs_folio_stable_node(old));
	return 0;
}

/*
 * __ksm_enter(mm). The mm's merged-page count here is not the module's to
 * count (0, or on 6.1 a forked child's copy of its parent's: compat.h).
 * __ksm_enter() may still fail (out of memory): the proc file only shows
 * mms that carry MMF_VM_MERGEABLE, and the record of one that never
 * registered is freed once the mm has no user left.
 */
static int enter_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct mm_struct *mm = (struct mm_struct *)regs_get_kernel_argument(regs, 0);

	ksmvs_add_mm(mm, READ_ONCE(mm->ksm_merging_pages), true, false);
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
		ksmvs_on_scan(ksmvs_hooks_missed());
	return 0;
}

static struct kprobe join_probe = { .pre_handler = join_pre };
static struct kprobe enter_probe = { .pre_handler = enter_pre };
static struct kprobe leave_probe = { .pre_handler = leave_pre };
static struct kprobe drop_probe = { .pre_handler = drop_pre };
static struct kprobe migrate_probe = { .pre_handler = migrate_pre };
static struct kprobe exit_probe = { .pre_handler = exit_pre };
static struct kprobe scan_probe = { .pre_handler = scan_pre };

/**
 * struct ksmvs_hook - one entry of the probe table
 * @role: its name in messages and in the symbol_override parameter
 * @symbol: the kernel function probed
 * @kp: its kprobe
 * @registered: whether it is in place
 */
struct ksmvs_hook {
	const char *role;
	const char *symbol;
	struct kprobe *kp;
	bool registered;
};

/* The first two keep the VM table; the rest follow the pages. */
#define KSMVS_VM_HOOKS 2
static struct ksmvs_hook hooks[] = {
	{ "enter", "__ksm_enter", &enter_probe },
	{ "exit", "__ksm_exit", &exit_probe },
	{ "join", "stable_tree_append", &join_probe },
	{ "leave", "remove_rmap_item_from_tree", &leave_probe },
	{ "drop", "remove_node_from_stable_tree", &drop_probe },
	{ "migrate", "folio_migrate_ksm", &migrate_probe },
	{ "scan", "lru_add_drain_all", &scan_probe },
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

/*
 * GCC may emit a specialised copy of a static function (NAME.constprop.N,
 * NAME.isra.N, NAME.part.N) and send some of its calls there: those never
 * pass NAME's entry, and the copy's arguments are not NAME's (some dropped
 * or replaced by constants), so the handlers could not read them either.
 * Such a kernel is refused, naming the copy. GCC (10 on) numbers each
 * function's copies of one kind from 0, so the first is what is looked
 * up, and the one name a copy of a copy gets most often.
 * NAME.cold, the unlikely blocks moved out of line, is not an entry: every
 * call still starts at NAME, so it needs nothing. A call inlined into its
 * caller leaves no name at all; the self-check of every full scan
 * (track.c) is what catches events lost that way.
 */
static const char *const clone_suffixes[] = {
	".constprop.0", ".isra.0", ".part.0", ".constprop.0.isra.0",
};

/*
 * kallsyms_lookup_name() is not exported (since 5.7): a kprobe registered
 * disabled looks the name up without arming anything (no text changes,
 * no handler can run), and only a name that exists costs an unregister.
 */
static bool symbol_present(const char *name)
{
	struct kprobe kp = {
		.symbol_name = name,
		.flags = KPROBE_FLAG_DISABLED,
	};
	int err = register_kprobe(&kp);

	if (!err)
		unregister_kprobe(&kp);
	/* any other refusal (a blacklisted address...) found the name */
	return err != -ENOENT;
}

/* 0, or -EOPNOTSUPP after naming the first copy of symbol found */
static int refuse_clones(const struct ksmvs_hook *h, const char *symbol)
{
	char name[KSYM_NAME_LEN];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(clone_suffixes); i++) {
		if (snprintf(name, sizeof(name), "%s%s", symbol,
			     clone_suffixes[i]) >= (int)sizeof(name))
			continue;
		if (symbol_present(name)) {
			pr_err("ksm_vmshare: %s (for %s) has a compiler-made copy %s whose calls a probe on %s would miss; this kernel is not supported\n",
			       symbol, h->role, name, symbol);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int register_hook(struct ksmvs_hook *h)
{
	static char names[ARRAY_SIZE(hooks)][KSYM_NAME_LEN];
	const char *symbol = symbol_for(h, names[h - hooks], KSYM_NAME_LEN);
	int err;

	/* before the probe goes in: no handler ever runs on a refused kernel */
	err = refuse_clones(h, symbol);
	if (err)
		return err;
	h->kp->symbol_name = symbol;
	err = register_kprobe(h->kp);
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
		unregister_kprobe(h->kp);
		h->registered = false;
	}
}

/* Probe hits lost (a probe hit inside another's handler): any is a loss. */
unsigned long ksmvs_hooks_missed(void)
{
	unsigned long missed = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		missed += READ_ONCE(hooks[i].kp->nmissed);
	return missed;
}
