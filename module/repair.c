// SPDX-License-Identifier: GPL-2.0
/*
 * The work item: everything the probes may not do (sleep, allocate with
 * reclaim, visit the whole map) happens here, in process context, a
 * bounded step per hold of the tracking lock.
 *
 * Each run, in this order: top up the allocator's pools; grow the hash if
 * it is too full (buckets moved a few hundred at a time); find a set
 * record for the pages that could not get one; look for mergeable mms the
 * table lacks; free the VMs KSM has let go of (their last mappings
 * forgotten first); repair the VMs that are due, one at a time: forget
 * its mappings, then walk its page tables again. Repairing one VM never
 * touches another's counts beyond the pages they share.
 *
 * Only this work item grows the hash, fixes sets or forgets a VM, so
 * these never interleave (the shadow's bucket cursors cannot run while
 * the hash grows).
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "ksm_vmshare.h"

static void maint_fn(struct work_struct *work);
DECLARE_DELAYED_WORK(ksmvs_maint_work, maint_fn);

/* Grow the hash to what it wants, a step per lock hold. */
static void grow_hash(void)
{
	unsigned int bits = ksmvs_wanted_bucket_bits();
	struct shadow_page **fresh, **old;

	if (!bits)
		return;
	fresh = kvcalloc(1UL << bits, sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return;	/* chains get longer; counts stay exact */
	ksmvs_rehash_begin(fresh, bits);
	while (!(old = ksmvs_rehash_step()))
		cond_resched();
	kvfree(old);
}

static void forget(struct ksmvs_vm *vm)
{
	unsigned int cursor = 0;

	while (!ksmvs_forget_step(vm, &cursor))
		cond_resched();
}

/* Give pages whose set record could not be made one now. */
static void fix_sets(void)
{
	unsigned int cursor = 0;

	while (!ksmvs_fix_sets_step(&cursor))
		cond_resched();
}

static void maint_fn(struct work_struct *work)
{
	struct ksmvs_vm *vm;

	ksmvs_pool_refill();
	grow_hash();
	if (ksmvs_sets_lost())
		fix_sets();
	while (!ksmvs_stopping() && (vm = ksmvs_next_gone())) {
		forget(vm);
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
}

/*
 * After ksmvs_track_stop(): nothing queues the work any more, so once
 * this returns it is not running and never will.
 */
void ksmvs_repair_stop(void)
{
	cancel_delayed_work_sync(&ksmvs_maint_work);
}
