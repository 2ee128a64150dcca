// SPDX-License-Identifier: GPL-2.0
/*
 * Finding what KSM merged before the module loaded (or while it lost
 * track): there is no hook where ksmd re-visits an already merged page, so
 * look at the page tables. Nothing here faults, writes or unmerges: pages
 * are looked up with FOLL_NOFAULT and only read.
 *
 * The walk races with ksmd, madvise and exits, and that is fine: the
 * shadow's operations are idempotent per mapping, a mapping always changes
 * in the page table before ksmd drops its rmap_item (and so before our
 * leave probe), and every mapping recorded here is looked up once more
 * after it is recorded, so one that changed in between is taken back.
 */
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
	return (const void *)((unsigned long)READ_ONCE(folio->mapping) &
			      ~PAGE_MAPPING_FLAGS);
}

/* The stable node mapped at addr now, or NULL. Needs the mmap lock. */
static const void *node_at(struct mm_struct *mm, unsigned long addr)
{
	const void *node = NULL;
	struct page *page;

	if (ksmvs_gup_remote(mm, addr, 1, FOLL_NOFAULT, &page) == 1) {
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
 * Look at up to WALK_BATCH present pages from addr on, within one VMA.
 * Returns how far it got.
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

	got = ksmvs_gup_remote(mm, addr, n, FOLL_NOFAULT, pages);
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
		if (node_at(mm, rec[i].addr) != rec[i].node)
			ksmvs_walk_unrecord(mm, rec[i].addr, rec[i].node);
	/* gup stops at the first page that is not present: skip that too */
	return addr + (got + (got < n)) * PAGE_SIZE;
}

void ksmvs_walk_mm(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long addr = 0;
	unsigned int batches = 0;

	if (!mmget_not_zero(mm))
		return;		/* exiting: its leaves will come */
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
			cond_resched();
			mmap_read_lock(mm);
		}
	}
	mmap_read_unlock(mm);
	mmput(mm);
}

/*
 * Every process whose mm is registered with KSM. Runs after the
 * __ksm_enter/__ksm_exit probes are in place, so none is missed.
 */
void ksmvs_scan_processes(void)
{
	struct task_struct *p, *t;

	rcu_read_lock();
	for_each_process_thread(p, t) {
		struct mm_struct *mm;

		if (t->flags & PF_KTHREAD)
			continue;
		task_lock(t);
		mm = t->mm;
		if (mm && test_bit(MMF_VM_MERGEABLE, &mm->flags))
			ksmvs_add_mm(mm);
		task_unlock(t);
	}
	rcu_read_unlock();
}
