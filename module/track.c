// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow map in the kernel: its lock, its allocator, the state
 * (warming, tracking, degraded) and the way back from a loss (a resync).
 *
 * Every event handler here runs in a probe: preemption off, possibly with
 * the caller's locks held. They take one spinlock, allocate only with
 * GFP_ATOMIC (and treat failure as a loss, never as a reason to wait), and
 * leave everything that may sleep (freeing mms, growing the hash, walking
 * page tables) to work items.
 *
 * A loss (failed allocation, missed probe, an mm nobody registered) makes
 * the state "degraded <reason>" and schedules a resync: forget every KSM
 * page, walk the page tables of every VM again while the probes keep
 * running, and go back to "tracking" if nothing was lost meanwhile. The
 * shadow's operations are idempotent per mapping, which is what makes a
 * walk racing with ksmd exact.
 */
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "ksm_vmshare.h"

/* The first hash holds this many KSM pages before it grows. */
#define KSMVS_INITIAL_BUCKET_BITS	12
/*
 * A failed resync is retried after this long, so injected or real
 * allocation failures cannot make it spin.
 */
#define KSMVS_RESYNC_DELAY		HZ

static struct {
	spinlock_t lock;		/* everything below */
	struct shadow *shadow;
	struct list_head vms;		/* struct ksmvs_vm, live */
	struct list_head graveyard;	/* removed, mm still to drop */
	enum ksmvs_state state;
	const char *reason;
	bool layout_bad;		/* permanent: never guess a layout */
	bool stopping;
	unsigned long generation;	/* bumped on every loss */
	unsigned int n_exiting;
	struct ksmvs_stats stats;
} track = {
	.lock = __SPIN_LOCK_UNLOCKED(track.lock),
	.vms = LIST_HEAD_INIT(track.vms),
	.graveyard = LIST_HEAD_INIT(track.graveyard),
};

static atomic_long_t scans = ATOMIC_LONG_INIT(0);
static atomic_t alloc_calls = ATOMIC_INIT(0);
static unsigned long missed_seen;

static struct kmem_cache *caches[SHADOW_NR_OBJ];
static const char *const cache_names[SHADOW_NR_OBJ] = {
	[SHADOW_OBJ_PAGE] = "ksmvs_page",
	[SHADOW_OBJ_PAIR] = "ksmvs_pair",
	[SHADOW_OBJ_MAP] = "ksmvs_map",
	[SHADOW_OBJ_VM] = "ksmvs_vm",
};

static void maint_fn(struct work_struct *work);
static void resync_fn(struct work_struct *work);
static DECLARE_WORK(maint_work, maint_fn);
static DECLARE_DELAYED_WORK(resync_work, resync_fn);

static void *shadow_alloc(enum shadow_obj kind)
{
	unsigned int every = READ_ONCE(ksmvs_fail_alloc_every);

	/* fault injection for the tests: stock kernels have none */
	if (every && (unsigned int)atomic_inc_return(&alloc_calls) % every == 0)
		return NULL;
	return kmem_cache_zalloc(caches[kind], GFP_ATOMIC | __GFP_NOWARN);
}

static void shadow_free(enum shadow_obj kind, void *obj)
{
	if (kind == SHADOW_OBJ_VM) {
		/* mmdrop() may sleep: the maintenance work does it */
		struct ksmvs_vm *vm = obj;

		list_add(&vm->list, &track.graveyard);
		return;
	}
	kmem_cache_free(caches[kind], obj);
}

static const struct shadow_ops shadow_ops = {
	.alloc = shadow_alloc,
	.free = shadow_free,
};

bool ksmvs_stopping(void)
{
	return READ_ONCE(track.stopping);
}

/* Called with track.lock held. */
static void degrade_locked(const char *reason)
{
	track.state = KSMVS_DEGRADED;
	track.reason = reason;
	track.generation++;
	if (!track.stopping && !track.layout_bad)
		mod_delayed_work(system_unbound_wq, &resync_work,
				 KSMVS_RESYNC_DELAY);
}

void ksmvs_degrade(const char *reason)
{
	spin_lock(&track.lock);
	degrade_locked(reason);
	spin_unlock(&track.lock);
}

void ksmvs_layout_failed(const char *what)
{
	spin_lock(&track.lock);
	if (!track.layout_bad) {
		track.layout_bad = true;
		track.state = KSMVS_DEGRADED;
		track.reason = "layout";
		shadow_clear(track.shadow);
		pr_err("ksm_vmshare: this kernel's KSM rmap_item layout does not match (%s); tracking stopped\n",
		       what);
	}
	spin_unlock(&track.lock);
}

void ksmvs_request_resync(void)
{
	spin_lock(&track.lock);
	if (!track.stopping && !track.layout_bad)
		mod_delayed_work(system_unbound_wq, &resync_work, 0);
	spin_unlock(&track.lock);
}

static struct ksmvs_vm *find_vm(const void *mm)
{
	struct shadow_vm *sv = shadow_vm_find(track.shadow, mm);

	return sv ? container_of(sv, struct ksmvs_vm, sv) : NULL;
}

/* A removal or a bigger hash may be due: let the work item look. */
static void want_maint_locked(struct ksmvs_vm *vm)
{
	if ((vm && vm->exiting && !vm->sv.counts.ksm_mapped) ||
	    shadow_wanted_bucket_bits(track.shadow))
		queue_work(system_unbound_wq, &maint_work);
}

/*
 * The mm comes from a public source (an argument of __ksm_enter, or a
 * task's mm): it is safe to take a reference to it.
 */
static int add_mm_locked(struct mm_struct *mm)
{
	struct shadow_vm *sv;
	struct ksmvs_vm *vm;

	if (find_vm(mm))
		return 0;
	sv = shadow_vm_add(track.shadow, mm);
	if (!sv) {
		track.stats.alloc_failures++;
		degrade_locked(track.shadow->n_vms == SHADOW_MAX_VMS ?
			       "too-many-vms" : "nomem");
		return -ENOMEM;
	}
	vm = container_of(sv, struct ksmvs_vm, sv);
	mmgrab(mm);
	vm->mm = mm;
	vm->exiting = false;
	list_add_tail(&vm->list, &track.vms);
	return 0;
}

int ksmvs_add_mm(struct mm_struct *mm)
{
	int ret;

	spin_lock(&track.lock);
	ret = add_mm_locked(mm);
	spin_unlock(&track.lock);
	return ret;
}

void ksmvs_on_exit(struct mm_struct *mm)
{
	struct ksmvs_vm *vm;

	spin_lock(&track.lock);
	vm = find_vm(mm);
	if (vm && !vm->exiting) {
		vm->exiting = true;
		track.n_exiting++;
		want_maint_locked(vm);
	}
	spin_unlock(&track.lock);
}

/*
 * A mapping joins, from a probe or from the walk: shadow_join()'s result,
 * or -ENOENT if no VM has mm. Called with track.lock held.
 */
static int join_locked(const void *mm, unsigned long addr, const void *node)
{
	struct ksmvs_vm *vm = find_vm(mm);
	int ret;

	if (!vm)
		return -ENOENT;
	ret = shadow_join(track.shadow, &vm->sv, addr, node);
	if (ret < 0) {
		track.stats.alloc_failures++;
		degrade_locked("nomem");
	} else {
		want_maint_locked(NULL);	/* the hash may want to grow */
	}
	return ret;
}

/*
 * mm here was read from a private structure and is only compared, never
 * dereferenced: -ENOENT if no VM has it.
 */
int ksmvs_on_join(const void *mm, unsigned long addr, const void *node)
{
	int ret = 0;

	spin_lock(&track.lock);
	if (!track.layout_bad) {
		ret = join_locked(mm, addr, node);
		if (ret >= 0)
			track.stats.joins++;
	}
	spin_unlock(&track.lock);
	return ret == -ENOENT ? -ENOENT : 0;
}

void ksmvs_on_leave(const void *mm, unsigned long addr, const void *node)
{
	struct ksmvs_vm *vm;

	spin_lock(&track.lock);
	vm = find_vm(mm);
	if (vm && shadow_leave(track.shadow, &vm->sv, addr, node)) {
		track.stats.leaves++;
		want_maint_locked(vm);
	} else {
		track.stats.leaves_unknown++;
	}
	spin_unlock(&track.lock);
}

void ksmvs_on_drop(const void *node)
{
	spin_lock(&track.lock);
	if (shadow_drop_page(track.shadow, node) >= 0) {
		track.stats.pages_dropped++;
		if (track.n_exiting)
			queue_work(system_unbound_wq, &maint_work);
	}
	spin_unlock(&track.lock);
}

void ksmvs_on_migrate(const void *node)
{
	spin_lock(&track.lock);
	track.stats.migrations++;
	if (shadow_has_page(track.shadow, node))
		track.stats.migrations_tracked++;
	spin_unlock(&track.lock);
}

/* ksmd starts a full scan: count it, and look for missed probe hits. */
void ksmvs_on_scan(void)
{
	unsigned long missed = ksmvs_hooks_missed();

	atomic_long_inc(&scans);
	if (missed != READ_ONCE(missed_seen)) {
		WRITE_ONCE(missed_seen, missed);
		ksmvs_degrade("missed");
	}
}

/* 1 if the walk recorded a mapping the shadow did not know. */
int ksmvs_walk_record(struct mm_struct *mm, unsigned long addr,
		      const void *node)
{
	int ret = 0;

	spin_lock(&track.lock);
	if (!track.layout_bad)
		ret = join_locked(mm, addr, node);
	spin_unlock(&track.lock);
	return ret;
}

void ksmvs_walk_unrecord(struct mm_struct *mm, unsigned long addr,
			 const void *node)
{
	struct ksmvs_vm *vm;

	spin_lock(&track.lock);
	vm = find_vm(mm);
	if (vm)
		shadow_leave(track.shadow, &vm->sv, addr, node);
	spin_unlock(&track.lock);
}

static void grow_hash(void)
{
	struct shadow_page **fresh, **old = NULL;
	unsigned int bits;

	spin_lock(&track.lock);
	bits = shadow_wanted_bucket_bits(track.shadow);
	spin_unlock(&track.lock);
	if (!bits)
		return;
	fresh = kvcalloc(1UL << bits, sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return;	/* chains get longer; counts stay exact */
	spin_lock(&track.lock);
	if (bits > track.shadow->bucket_bits)
		old = shadow_rehash(track.shadow, fresh, bits);
	else
		old = fresh;
	spin_unlock(&track.lock);
	kvfree(old);
}

/*
 * Free VMs whose last mapping is gone and that exited (or whose process is
 * gone: an mm whose __ksm_enter() failed never sees __ksm_exit()).
 */
static void reap_vms(void)
{
	struct ksmvs_vm *vm, *next;
	LIST_HEAD(dead);

	spin_lock(&track.lock);
	list_for_each_entry_safe(vm, next, &track.vms, list) {
		if (vm->sv.counts.ksm_mapped ||
		    (!vm->exiting && atomic_read(&vm->mm->mm_users)))
			continue;
		list_del(&vm->list);
		if (vm->exiting)
			track.n_exiting--;
		shadow_vm_remove(track.shadow, &vm->sv);
	}
	list_splice_init(&track.graveyard, &dead);
	spin_unlock(&track.lock);

	list_for_each_entry_safe(vm, next, &dead, list) {
		mmdrop(vm->mm);
		kmem_cache_free(caches[SHADOW_OBJ_VM], vm);
	}
}

static void maint_fn(struct work_struct *work)
{
	grow_hash();
	reap_vms();
}

/*
 * Walk every VM's page tables. The snapshot holds each mm with mmgrab(),
 * so none can go away under the walk.
 */
static void walk_all(void)
{
	struct ksmvs_summary sum;
	struct ksmvs_row *rows;
	unsigned int n, i;

	if (ksmvs_snapshot(&sum, &rows, &n)) {
		ksmvs_degrade("nomem");
		return;
	}
	for (i = 0; i < n && !ksmvs_stopping(); i++)
		ksmvs_walk_mm(rows[i].mm);
	ksmvs_release_rows(rows, n);
}

static void resync_fn(struct work_struct *work)
{
	unsigned long generation;

	spin_lock(&track.lock);
	if (track.stopping || track.layout_bad) {
		spin_unlock(&track.lock);
		return;
	}
	generation = track.generation;
	shadow_clear(track.shadow);
	spin_unlock(&track.lock);

	ksmvs_scan_processes();
	walk_all();

	spin_lock(&track.lock);
	/* A loss during the walk has already queued the next resync. */
	if (track.generation == generation && !track.stopping &&
	    !track.layout_bad) {
		track.state = KSMVS_TRACKING;
		track.reason = NULL;
	}
	track.stats.resyncs++;
	spin_unlock(&track.lock);
}

void ksmvs_start_walk(void)
{
	mod_delayed_work(system_unbound_wq, &resync_work, 0);
}

static unsigned long shadow_bytes_locked(void)
{
	unsigned long bytes = sizeof(*track.shadow) +
		(sizeof(struct shadow_page *) << track.shadow->bucket_bits);
	int kind;

	for (kind = 0; kind < SHADOW_NR_OBJ; kind++)
		bytes += track.shadow->objects[kind] *
			 kmem_cache_size(caches[kind]);
	return bytes;
}

/*
 * Copy the header and every VM's counters: O(VMs). The rows' mms are
 * held until ksmvs_release_rows(), so the caller may look at them (pid,
 * anonymous pages) without the lock.
 */
int ksmvs_snapshot(struct ksmvs_summary *sum, struct ksmvs_row **rows,
		   unsigned int *n_rows)
{
	struct ksmvs_row *r;
	struct ksmvs_vm *vm;
	unsigned int n;

again:
	spin_lock(&track.lock);
	n = track.shadow->n_vms;
	spin_unlock(&track.lock);
	r = kvcalloc(n + 1, sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	spin_lock(&track.lock);
	if (track.shadow->n_vms > n) {
		spin_unlock(&track.lock);
		kvfree(r);
		goto again;
	}
	n = 0;
	list_for_each_entry(vm, &track.vms, list) {
		mmgrab(vm->mm);
		r[n].mm = vm->mm;
		r[n].counts = vm->sv.counts;
		n++;
	}
	sum->state = track.state;
	sum->reason = track.reason;
	sum->ksm_pages = track.shadow->ksm_pages;
	sum->ksm_mappings = track.shadow->ksm_mappings;
	sum->shadow_bytes = shadow_bytes_locked();
	sum->stats = track.stats;
	spin_unlock(&track.lock);
	sum->stats.scans = atomic_long_read(&scans);
	*rows = r;
	*n_rows = n;
	return 0;
}

void ksmvs_release_rows(struct ksmvs_row *rows, unsigned int n_rows)
{
	unsigned int i;

	for (i = 0; i < n_rows; i++)
		mmdrop(rows[i].mm);
	kvfree(rows);
}

int ksmvs_track_init(void)
{
	struct shadow_page **buckets;
	int kind;

	BUILD_BUG_ON(offsetof(struct ksmvs_vm, sv) != 0);
	for (kind = 0; kind < SHADOW_NR_OBJ; kind++)
		caches[kind] = kmem_cache_create(cache_names[kind],
						 kind == SHADOW_OBJ_VM ?
						 sizeof(struct ksmvs_vm) :
						 shadow_obj_size(kind), 0, 0,
						 NULL);
	track.shadow = kvzalloc(sizeof(*track.shadow), GFP_KERNEL);
	buckets = kvcalloc(1UL << KSMVS_INITIAL_BUCKET_BITS, sizeof(*buckets),
			   GFP_KERNEL);
	if (!caches[SHADOW_OBJ_VM] || !caches[SHADOW_OBJ_PAGE] ||
	    !caches[SHADOW_OBJ_PAIR] || !caches[SHADOW_OBJ_MAP] ||
	    !track.shadow || !buckets) {
		kvfree(buckets);
		kvfree(track.shadow);
		for (kind = 0; kind < SHADOW_NR_OBJ; kind++)
			kmem_cache_destroy(caches[kind]);
		return -ENOMEM;
	}
	shadow_init(track.shadow, &shadow_ops, buckets,
		    KSMVS_INITIAL_BUCKET_BITS);
	track.state = KSMVS_WARMING;
	return 0;
}

/* After the probes are gone: nothing can call in any more. */
void ksmvs_track_exit(void)
{
	struct ksmvs_vm *vm, *next;
	int kind;

	spin_lock(&track.lock);
	track.stopping = true;
	spin_unlock(&track.lock);
	cancel_delayed_work_sync(&resync_work);
	cancel_work_sync(&maint_work);

	spin_lock(&track.lock);
	shadow_clear(track.shadow);
	list_for_each_entry_safe(vm, next, &track.vms, list) {
		list_del(&vm->list);
		shadow_vm_remove(track.shadow, &vm->sv);
	}
	spin_unlock(&track.lock);
	reap_vms();

	kvfree(track.shadow->buckets);
	kvfree(track.shadow);
	for (kind = 0; kind < SHADOW_NR_OBJ; kind++)
		kmem_cache_destroy(caches[kind]);
}
