/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels ksm_vmshare supports, in one place.
 * Each shim names the version that changed and what changed.
 */
#ifndef KSM_VMSHARE_COMPAT_H
#define KSM_VMSHARE_COMPAT_H

#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/version.h>

/*
 * The stable node of a KSM folio: its mapping without the flag bits.
 * 6.17 renamed the bits (commit "mm: rename PAGE_MAPPING_* to
 * FOLIO_MAPPING_*"): PAGE_MAPPING_FLAGS is FOLIO_MAPPING_FLAGS there.
 */
#ifdef FOLIO_MAPPING_FLAGS
#define KSMVS_MAPPING_FLAGS FOLIO_MAPPING_FLAGS
#else
#define KSMVS_MAPPING_FLAGS PAGE_MAPPING_FLAGS
#endif

static inline const void *ksmvs_folio_stable_node(struct folio *folio)
{
	return (const void *)((unsigned long)READ_ONCE(folio->mapping) &
			      ~KSMVS_MAPPING_FLAGS);
}

/*
 * Whether an mm is registered with KSM (MMF_VM_MERGEABLE). 6.18 made
 * mm->flags an mm_flags_t bitmap that only the mm_flags_*() helpers read
 * (commit "mm: replace mm->flags with bitmap entirely and set to 64
 * bits"); NUM_MM_FLAG_BITS came with it.
 */
#ifdef NUM_MM_FLAG_BITS
static inline bool ksmvs_mm_mergeable(const struct mm_struct *mm)
{
	return mm_flags_test(MMF_VM_MERGEABLE, mm);
}
#else
static inline bool ksmvs_mm_mergeable(const struct mm_struct *mm)
{
	return test_bit(MMF_VM_MERGEABLE, &mm->flags);
}
#endif

/*
 * Whether mm->ksm_merging_pages of an mm found on a task (not seen at
 * __ksm_enter()) counts only the mm's own merges, so that the per-scan
 * check can compare it.
 *
 * Up to 6.1 (and 6.6+ stable kernels older than the 2025 fix's
 * backport), fork's dup_mm() copies the parent's mm_struct, counts
 * included, and ksm_fork() leaves them: a forked child starts with its
 * parent's count and keeps that offset until it exits. The fix makes
 * ksm_fork() zero them before __ksm_enter(); Debian's 6.12 has it (its
 * include/linux/ksm.h), Debian's 6.1 does not. An mm seen at
 * __ksm_enter() is fine on every kernel: the module takes the count it
 * finds there as the offset. One found later is
 * trusted only if it was not made by fork: its task exec'd since its
 * fork (exec bumps self_exec_id past the parent_exec_id fork recorded).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
static inline bool ksmvs_mm_count_trusted(struct mm_struct *mm,
					  struct task_struct *task)
{
	return READ_ONCE(task->self_exec_id) != READ_ONCE(task->parent_exec_id);
}
#else
static inline bool ksmvs_mm_count_trusted(struct mm_struct *mm,
					  struct task_struct *task)
{
	return true;
}
#endif

/*
 * The exact number of anonymous pages an mm maps; get_mm_counter() is only
 * an estimate on both reference kernels.
 *
 * Up to 6.1, with SPLIT_RSS_COUNTING, each task caches up to 64 events of
 * its own in task->rss_stat until it flushes them into mm->rss_stat: add
 * them back. 6.2 turned mm->rss_stat into per-CPU counters and dropped
 * SPLIT_RSS_COUNTING (commit f1a7941243c1, "mm: convert mm's rss stats
 * into percpu_counter"); their exact value is their sum.
 */
#ifdef SPLIT_RSS_COUNTING
static inline long ksmvs_mm_anon_pages(struct mm_struct *mm,
				       struct task_struct *owner)
{
	long pages = atomic_long_read(&mm->rss_stat.count[MM_ANONPAGES]);
	struct task_struct *t;

	if (owner) {
		rcu_read_lock();
		for_each_thread(owner, t)
			if (READ_ONCE(t->mm) == mm)
				pages += READ_ONCE(t->rss_stat.count[MM_ANONPAGES]);
		rcu_read_unlock();
	}
	return pages;
}
#else
static inline long ksmvs_mm_anon_pages(struct mm_struct *mm,
				       struct task_struct *owner)
{
	return percpu_counter_sum(&mm->rss_stat[MM_ANONPAGES]);
}
#endif

/*
 * The task that owns an mm (its pid and name are what the proc file
 * shows). mm->owner exists with CONFIG_MEMCG, which Debian's kernels have;
 * elsewhere, look for a process using the mm. Returns a task with a
 * reference held, or NULL.
 */
static inline struct task_struct *ksmvs_mm_owner(struct mm_struct *mm)
{
	struct task_struct *task = NULL;

	rcu_read_lock();
#ifdef CONFIG_MEMCG
	task = rcu_dereference(mm->owner);
#else
	{
		struct task_struct *p;

		for_each_process(p) {
			if (READ_ONCE(p->mm) == mm) {
				task = p;
				break;
			}
		}
	}
#endif
	if (task && pid_alive(task))
		get_task_struct(task);
	else
		task = NULL;
	rcu_read_unlock();
	return task;
}

#endif /* KSM_VMSHARE_COMPAT_H */
