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
 * get_user_pages_remote() lost its "vmas" argument in 6.5
 * (commit ca5e863233e8, "mm/gup: remove vmas parameter from
 * get_user_pages_remote()").
 */
static inline long ksmvs_gup_remote(struct mm_struct *mm, unsigned long start,
				    unsigned long nr_pages,
				    unsigned int gup_flags,
				    struct page **pages)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return get_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL, NULL);
#else
	return get_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL);
#endif
}

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
