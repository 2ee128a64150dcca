// SPDX-License-Identifier: GPL-2.0
/*
 * Learning what is merged from the page tables: the mms registered with
 * KSM before the module loaded, and the KSM pages each one maps. There is
 * no hook where ksmd re-visits an already merged page, so a VM found
 * this way, or one whose counts the per-scan check found wrong, is walked.
 *
 * The walk changes nothing it looks at. It runs in the mm's own context
 * (kthread_use_mm(): the work item's worker is a kernel thread) and looks
 * pages up with get_user_pages_fast_only(): the lockless GUP-fast path,
 * which never faults a page in, never breaks COW or unmerges, and, unlike
 * get_user_pages_remote() (which always adds FOLL_TOUCH), does not mark
 * pages accessed, so reclaim's view of a guest's memory stays its own.
 * It holds a reference to each page for a moment, as any GUP does.
 *
 * It records only what a present page-table entry proves: a swapped-out
 * or migrating KSM page is not seen. That is not lost for good: the
 * kernel still counts its rmap_item, so the next full scan's check finds
 * the VM short and repairs it again once the page is back (or ksmd has
 * dropped the item, and the counts agree).
 *
 * The walk races with ksmd, madvise and exits, and that is fine: the VM
 * is in its walk window (repair.c opened it, track.c ends it two full
 * scans after the walk), where the shadow's operations are idempotent
 * per mapping (shadow.h), a mapping always
 * changes in the page table before ksmd drops its rmap_item (and so
 * before the leave probe), and every mapping recorded here is looked up
 * once more after it is recorded, so one that changed in between is
 * taken back.
 */
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/page-flags.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>

#include "compat.h"
#include "ksm_vmshare.h"

/* Pages looked up per call; the mmap lock is dropped every WALK_RELOCK. */
#define WALK_BATCH	64
#define WALK_RELOCK	16

/* The stable node of a KSM page is what its mapping points at. */
static const void *ksm_node_of(struct page *page)
{
	struct folio *folio = page_folio(page);

	if (!folio_test_ksm(folio))
		return NULL;
	return ksmvs_folio_stable_node(folio);
}

/* The stable node mapped at addr of the current mm now, or NULL. */
static const void *node_at(unsigned long addr)
{
	const void *node = NULL;
	struct page *page;

	if (get_user_pages_fast_only(addr, 1, 0, &page) == 1) {
		node = ksm_node_of(page);
		put_page(page);
	}
	return node;
}

struct recorded {
	unsigned long addr;
	const void *node;
};

/*
 * Look at up to WALK_BATCH pages of the current mm from addr on, within
 * one VMA. Returns how far it got.
 */
static unsigned long walk_batch(struct mm_struct *mm, unsigned long addr,
				unsigned long end)
{
	unsigned long n = min_t(unsigned long, WALK_BATCH,
				(end - addr) >> PAGE_SHIFT);
	struct page *pages[WALK_BATCH];
	struct recorded rec[WALK_BATCH];
	unsigned int n_rec = 0;
	long got, i;

	got = get_user_pages_fast_only(addr, n, 0, pages);
	if (got <= 0)
		return addr + PAGE_SIZE;	/* not present: skip it */
	for (i = 0; i < got; i++) {
		const void *node = ksm_node_of(pages[i]);
		unsigned long at = addr + i * PAGE_SIZE;

		if (node && ksmvs_walk_record(mm, at, node) == 1) {
			rec[n_rec].addr = at;
			rec[n_rec].node = node;
			n_rec++;
		}
		put_page(pages[i]);
	}
	/* Take back what changed between the lookup and the record. */
	for (i = 0; i < n_rec; i++)
		if (node_at(rec[i].addr) != rec[i].node)
			ksmvs_walk_unrecord(mm, rec[i].addr, rec[i].node);
	/* GUP-fast stops at the first page it cannot take: skip that too */
	return addr + (got + (got < n)) * PAGE_SIZE;
}

/* Walk the mergeable VMAs of mm; called from the work item only. */
void ksmvs_walk_mm(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long addr = 0;
	unsigned int batches = 0;

	if (!mmget_not_zero(mm))
		return;		/* exiting: its leaves will come */
	kthread_use_mm(mm);
	mmap_read_lock(mm);
	while (!ksmvs_stopping()) {
		vma = find_vma(mm, addr);
		if (!vma)
			break;
		if (addr < vma->vm_start)
			addr = vma->vm_start;
		if (!(vma->vm_flags & VM_MERGEABLE)) {
			addr = vma->vm_end;
			continue;
		}
		addr = walk_batch(mm, addr, vma->vm_end);
		if (++batches % WALK_RELOCK == 0) {
			/* let the VM fault and madvise meanwhile */
			mmap_read_unlock(mm);
			/*
			 * The walk runs in the work item, the only one to
			 * resize the tables: do it here too, or a large VM's
			 * window records would pile up in the record hash's
			 * first buckets.
			 */
			ksmvs_resize_tables();
			ksmvs_pool_refill();
			cond_resched();
			mmap_read_lock(mm);
		}
	}
	mmap_read_unlock(mm);
	kthread_unuse_mm(mm);
	mmput(mm);
}

/*
 * Every process whose mm is registered with KSM and not yet in the table.
 * Runs after the __ksm_enter/__ksm_exit probes are in place, so none is
 * missed; from the work item, when a join names an mm the table lacks or
 * a freed VM makes room.
 */
void ksmvs_discover_mms(void)
{
	struct task_struct *p, *t;
	bool all_fit = true;

	rcu_read_lock();
	for_each_process_thread(p, t) {
		struct mm_struct *mm;

		if (t->flags & PF_KTHREAD)
			continue;
		task_lock(t);
		mm = t->mm;
		if (mm && ksmvs_mm_mergeable(mm) &&
		    ksmvs_add_mm(mm, 0, ksmvs_mm_count_trusted(mm, t), true))
			all_fit = false;
		task_unlock(t);
	}
	rcu_read_unlock();
	ksmvs_discovery_done(all_fit);
}
