// SPDX-License-Identifier: GPL-2.0
/*
 * The work item: everything the probes may not do (sleep, allocate with
 * reclaim, visit the whole map) happens here, in process context, a
 * bounded step per hold of the tracking lock.
 *
 * Each run, in this order: top up the allocator's pools; resize the page
 * table and the record hash if their load asks for it (a thousand slots
 * moved per lock hold); find a set record for the pages that could not
 * get one; free the records of walk windows that ended; look for
 * mergeable mms the table lacks; free the VMs KSM has let go of (their
 * last mappings forgotten first); repair the VMs that are due, one at a
 * time: open its walk window, forget its mappings, walk its page tables
 * again (track.c ends the window at a later full scan). Repairing one VM
 * never touches another's counts beyond the pages they share.
 *
 * Only this work item resizes the tables, fixes sets, frees records or
 * forgets a VM, so these never interleave (the shadow's cursors cannot
 * run while a table is resized).
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "ksm_vmshare.h"

static void maint_fn(struct work_struct *work);
DECLARE_DELAYED_WORK(ksmvs_maint_work, maint_fn);

/*
 * Resize both tables to what their loads want, a step per lock hold. A
 * table that cannot be allocated stays: probes get longer, and joins fail
 * (-ENOMEM, the VM repaired later) once the page table is 95% full.
 */
void ksmvs_resize_tables(void)
{
	unsigned long n = ksmvs_wanted_slots();
	unsigned int bits = ksmvs_wanted_rec_bits();

	if (n) {
		struct shadow_page *fresh, *old;

		fresh = kvcalloc(n, sizeof(*fresh), GFP_KERNEL);
		if (fresh && !ksmvs_resize_begin(fresh, n)) {
			/* sized too small for the joins since: next run */
			kvfree(fresh);
		} else if (fresh) {
			while (!(old = ksmvs_resize_step()))
				cond_resched();
			kvfree(old);
		}
	}
	if (bits) {
		struct shadow_rec **fresh, **old;

		fresh = kvcalloc(1UL << bits, sizeof(*fresh), GFP_KERNEL);
		if (fresh && !ksmvs_rec_rehash_begin(fresh, bits)) {
			kvfree(fresh);
		} else if (fresh) {
			while (!(old = ksmvs_rec_rehash_step()))
				cond_resched();
			kvfree(old);
		}
	}
}

/* Free the records of ended walk windows. */
static void purge_records(void)
{
	unsigned long cursor = 0;

	while (!ksmvs_purge_step(&cursor))
		cond_resched();
}

/* Open the VM's walk window and forget its mappings. */
static void forget(struct ksmvs_vm *vm)
{
	unsigned long cursor = 0;

	while (!ksmvs_window_begin(vm))
		purge_records();
	while (!ksmvs_forget_step(vm, &cursor))
		cond_resched();
}

/* Give pages whose set record could not be made one now. */
static void fix_sets(void)
{
	unsigned long cursor = 0;

	while (!ksmvs_fix_sets_step(&cursor))
		cond_resched();
}

static void maint_fn(struct work_struct *work)
{
	struct ksmvs_vm *vm;

	ksmvs_pool_refill();
	ksmvs_resize_tables();
	if (ksmvs_sets_lost())
		fix_sets();
	purge_records();
	while (!ksmvs_stopping() && (vm = ksmvs_next_gone())) {
		forget(vm);
		ksmvs_window_close(vm);
		purge_records();
		ksmvs_vm_free(vm);
	}
	/*
	 * after the frees: the room they make is what a full table waits for
	 * (ksmvs_vm_free() asks for this look without queueing the work)
	 */
	if (ksmvs_discovery_wanted())
		ksmvs_discover_mms();
	while (!ksmvs_stopping() && (vm = ksmvs_next_repair())) {
		forget(vm);
		ksmvs_walk_mm(vm->mm);
		ksmvs_repair_done(vm);
		ksmvs_pool_refill();
		cond_resched();
	}
	/* the purges and frees above may leave the tables too large */
	ksmvs_resize_tables();
}

/*
 * After ksmvs_track_stop(): nothing queues the work any more, so once
 * this returns it is not running and never will.
 */
void ksmvs_repair_stop(void)
{
	cancel_delayed_work_sync(&ksmvs_maint_work);
}
