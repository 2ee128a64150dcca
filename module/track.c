// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: the tracker
 *
 * One spinlock guards the shadow map (shadow.c), the list of VMs and the
 * state. The probes call in here with preemption off, possibly under
 * KSM's own locks: every call takes the lock once, does O(1) work or a
 * walk of one KSM page's mappings, allocates only without waiting
 * (alloc.c), and leaves whatever may sleep or visit the whole map to the
 * work item (repair.c), which goes a bounded step per lock hold.
 *
 * Why "tracking" can be claimed: every change of the kernel's own count
 * of an mm's merged pages, mm->ksm_merging_pages, happens in
 * stable_tree_append(), remove_rmap_item_from_tree() or
 * remove_node_from_stable_tree(), the three probed functions, and ksmd
 * holds ksm_thread_mutex both while it runs them and when it starts a
 * full scan. So at the start of every full scan (ksmvs_on_scan()) each
 * VM's ksm_mapped must equal that count. The check runs there, O(VMs);
 * "tracking" is shown only while the last one held for every VM; a VM
 * that differs, or lost an event to a failed allocation, is repaired on
 * its own (forgotten, then walked again: repair.c), with exponential
 * back-off so that a VM whose pages come and go (swap, khugepaged) cannot
 * make the module spin. No event ever clears the whole map.
 *
 * A repaired VM's events go by per-mapping records from the start of its
 * forget until KSMVS_WINDOW_SCANS full scans after its walk (the shadow's
 * walk window); it is compared with the kernel only after that. Every
 * other VM's events change counts only.
 *
 * A VM is freed only once KSM has let go of its mm (MMF_VM_MERGEABLE
 * cleared by KSM when it frees the mm's slot, and no user left): until
 * then ksmd may still append for it, and its mappings still make other
 * VMs' pages inter-shared.
 */
#include <linux/mm.h>
#include <linux/sched/clock.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "ksm_vmshare.h"

/* The first page table's slots, and the first record hash's buckets. */
#define KSMVS_INITIAL_SLOTS		4096
#define KSMVS_INITIAL_REC_BITS		10
/* Slots or buckets moved per lock hold when a table is resized. */
#define KSMVS_STEP_SLOTS		1024
/* Slots or records looked at per lock hold when visiting the map. */
#define KSMVS_STEP_MAPPINGS		4096
/*
 * A VM's walk window ends at the second full scan start after its walk:
 * at the first, no join of a pte the walk saw is in flight; by the
 * second, ksmd has passed every address once more, so the leave of any
 * mapping whose pte changed before the walk could see it has come.
 */
#define KSMVS_WINDOW_SCANS		2
/* Full scans between two repairs of one VM: first, and at most. */
#define KSMVS_BACKOFF_MIN		2
#define KSMVS_BACKOFF_MAX		64

/*
 * Why the state is not "tracking". Repairing alone, before the first
 * check has ever held, is just warming up: the walks of what was merged
 * before loading.
 */
static const char reason_repairing[] = "repairing";

static struct {
	spinlock_t lock;		/* everything below */
	u64 locked_at;			/* local_clock() when taken */
	struct shadow *shadow;
	struct list_head vms;		/* struct ksmvs_vm */
	struct delayed_work *maint;	/* repair.c's work item */
	const char *reason;		/* why not tracking, or NULL */
	bool warming;			/* no check has held since loading */
	bool layout_bad;		/* permanent: never guess a layout */
	bool vm_overflow;		/* an mm found no room in the table */
	bool discover;			/* look for unknown mms */
	bool stopping;
	unsigned long missed_seen;	/* probe misses at the last check */
	struct ksmvs_stats stats;
} track = {
	.lock = __SPIN_LOCK_UNLOCKED(track.lock),
	.vms = LIST_HEAD_INIT(track.vms),
	.warming = true,
};

static void lock_track(void)
{
	spin_lock(&track.lock);
	track.locked_at = local_clock();
}

/* Unlock; with sum, add the time held to it (per-event costs, for make bench). */
static void unlock_track_adding(u64 *sum)
{
	u64 held = local_clock() - track.locked_at;

	if (sum)
		*sum += held;
	if (held > track.stats.lock_hold_max_ns)
		track.stats.lock_hold_max_ns = held;
	spin_unlock(&track.lock);
}

static void unlock_track(void)
{
	unlock_track_adding(NULL);
}

#ifdef KSMVS_PLANTED_BUGS
/* planted.c's bugs that need this lock: built for the rig only (Kbuild) */
void ksmvs_track_locked_call(void (*fn)(void))
{
	lock_track();
	fn();
	unlock_track();
}
#endif

/* The VM's object is ours to free (ksmvs_vm_free()), after mmdrop(). */
static void shadow_free(enum shadow_obj kind, void *obj)
{
	if (kind != SHADOW_OBJ_VM)
		ksmvs_obj_free(kind, obj);
}

static const struct shadow_ops shadow_ops = {
	.alloc = ksmvs_obj_alloc,
	.free = shadow_free,
};

bool ksmvs_stopping(void)
{
	return READ_ONCE(track.stopping);
}

/* Called with the lock held: let the work item look, now or soon. */
static void kick_locked(void)
{
	if (!track.stopping)
		mod_delayed_work(system_unbound_wq, track.maint, 0);
}

static void kick_later_locked(unsigned long delay)
{
	if (!track.stopping)
		queue_delayed_work(system_unbound_wq, track.maint, delay);
}

/* A table's load asks the work item to resize it (grow or shrink). */
static bool resize_wanted_locked(void)
{
	return shadow_wanted_slots(track.shadow) ||
	       shadow_wanted_rec_bits(track.shadow);
}

/*
 * What a wrong layout may have recorded is forgotten by the work item,
 * VM by VM (a repair whose walk records nothing once the layout is bad).
 */
void ksmvs_layout_failed(const char *what)
{
	struct ksmvs_vm *vm;

	lock_track();
	if (!track.layout_bad) {
		track.layout_bad = true;
		track.reason = "layout";
		list_for_each_entry(vm, &track.vms, list) {
			vm->needs_repair = true;
			vm->repair_after = 0;
		}
		kick_locked();
		pr_err("ksm_vmshare: this kernel's KSM rmap_item layout does not match (%s); tracking stopped\n",
		       what);
	}
	unlock_track();
}

static struct ksmvs_vm *find_vm(const void *mm)
{
	struct shadow_vm *sv = shadow_vm_find(track.shadow, mm);

	return sv ? container_of(sv, struct ksmvs_vm, sv) : NULL;
}

/* Its counts are wrong: repair it when its back-off allows. */
static void needs_repair_locked(struct ksmvs_vm *vm, const char *reason)
{
	vm->needs_repair = true;
	if (!track.reason)
		track.reason = reason;
	if (track.stats.scans >= vm->repair_after)
		kick_locked();
}

/*
 * mm comes from a public source (an argument of __ksm_enter(), or a
 * task's mm): it is safe to take a reference to it. base and checkable:
 * see struct ksmvs_vm. walk: the mm may have merged pages before the
 * module saw it (found by a look at the tasks, not at __ksm_enter()), so
 * it starts with a walk. An mm seen registering needs none: KSM gives it
 * no merged page without a join, even a forked child whose page tables
 * map its parent's KSM pages (ksmd joins those when it scans the child).
 */
int ksmvs_add_mm(struct mm_struct *mm, long base, bool checkable, bool walk)
{
	struct shadow_vm *sv;
	struct ksmvs_vm *vm;
	int ret = 0;

	lock_track();
	if (find_vm(mm))
		goto out;
	sv = shadow_vm_add(track.shadow, mm);
	if (!sv) {
		ret = -ENOMEM;
		if (track.shadow->n_vms < SHADOW_MAX_VMS) {
			track.stats.alloc_failures++;
			track.discover = true;	/* a later look finds it */
			if (!track.reason)
				track.reason = "nomem";
			kick_later_locked(HZ);
		} else if (!track.vm_overflow) {
			track.vm_overflow = true;
			pr_warn("ksm_vmshare: more than %u mergeable processes; the others are not tracked\n",
				SHADOW_MAX_VMS);
		}
		goto out;
	}
	vm = container_of(sv, struct ksmvs_vm, sv);
	mmgrab(mm);
	vm->mm = mm;
	vm->base = base;
	vm->checkable = checkable;
	vm->backoff = KSMVS_BACKOFF_MIN;
	vm->repair_after = 0;
	vm->walked_at = 0;
	vm->needs_repair = walk;
	vm->repairing = false;
	vm->gone = false;
	list_add_tail(&vm->list, &track.vms);
	if (walk) {
		/* not verified until a check after its walk holds */
		if (!track.reason)
			track.reason = reason_repairing;
		kick_locked();
	}
out:
	unlock_track();
	return ret;
}

/*
 * KSM lets go of the mm right after this (no rmap_item left) or when ksmd
 * next reaches it: look in a second, and at every full scan after that.
 */
void ksmvs_on_exit(struct mm_struct *mm)
{
	lock_track();
	if (find_vm(mm))
		kick_later_locked(HZ);
	unlock_track();
}

/*
 * A mapping joins, from a probe or from the walk: shadow_join()'s result,
 * or -ENOENT if no VM has mm. Called with the lock held.
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
		needs_repair_locked(vm, "nomem");
	} else if (resize_wanted_locked()) {
		kick_locked();
	}
	return ret;
}

/*
 * mm here was read from KSM's private rmap_item and is only compared,
 * never dereferenced. One not in the table is no proof of a wrong layout
 * (the table may be full, or the mm may have registered where no probe
 * saw it): count it, and have the work item look for it.
 */
void ksmvs_on_join(const void *mm, unsigned long addr, const void *node)
{
	lock_track();
	if (!track.layout_bad) {
		switch (join_locked(mm, addr, node)) {
		case -ENOENT:
			track.stats.joins_untracked++;
			if (!track.vm_overflow && !track.discover) {
				track.discover = true;
				kick_locked();
			}
			break;
		case -ENOMEM:
			break;
		default:
			track.stats.joins++;
		}
	}
	unlock_track_adding(&track.stats.join_hold_ns);
}

void ksmvs_on_leave(const void *mm, unsigned long addr, const void *node)
{
	struct ksmvs_vm *vm;

	lock_track();
	vm = find_vm(mm);
	if (vm && shadow_leave(track.shadow, &vm->sv, addr, node))
		track.stats.leaves++;
	else
		track.stats.leaves_unknown++;
	unlock_track_adding(&track.stats.leave_hold_ns);
}

void ksmvs_on_drop(const void *node)
{
	lock_track();
	if (shadow_drop_page(track.shadow, node) >= 0)
		track.stats.pages_dropped++;
	unlock_track();
}

void ksmvs_on_migrate(const void *node)
{
	lock_track();
	track.stats.migrations++;
	if (shadow_has_page(track.shadow, node))
		track.stats.migrations_tracked++;
	unlock_track();
}

/* KSM has freed the mm's slot: nothing of it will join or leave again. */
static bool ksm_let_go(const struct ksmvs_vm *vm)
{
	return !ksmvs_mm_mergeable(vm->mm) &&
	       !atomic_read(&vm->mm->mm_users);
}

/*
 * ksmd starts a full scan, holding ksm_thread_mutex: no join, leave or
 * drop can run until it goes on, so every VM's count must now equal the
 * kernel's. O(VMs) under the lock.
 */
void ksmvs_on_scan(unsigned long probe_missed)
{
	bool held = true, kick = false;
	struct ksmvs_vm *vm;

	lock_track();
	track.stats.scans++;
	if (track.layout_bad) {
		unlock_track();
		return;
	}
	if (probe_missed != track.missed_seen) {
		/* a lost event of unknown VM: the counts below will say */
		track.missed_seen = probe_missed;
		track.reason = "missed";
		held = false;
	}
	list_for_each_entry(vm, &track.vms, list) {
		long kernel, mine;

		if (vm->gone)
			continue;
		if (ksm_let_go(vm)) {
			kick = true;
			continue;
		}
		if (vm->sv.window == SHADOW_WINDOW_WALK && !vm->repairing &&
		    track.stats.scans >= vm->walked_at + KSMVS_WINDOW_SCANS) {
			/* its records can go: the work item frees them */
			kick = true;
			if (shadow_window_end(track.shadow, &vm->sv)) {
				/* a tombstone could not be allocated */
				track.stats.windows_dirty++;
				vm->needs_repair = true;
			}
		}
		if (vm->sv.window != SHADOW_WINDOW_NONE) {
			/* being rebuilt: not comparable yet */
			held = false;
			continue;
		}
		if (!vm->checkable) {
			/* walked again now and then, never compared */
			if (!vm->repairing &&
			    track.stats.scans >= vm->repair_after) {
				vm->needs_repair = true;
				kick = true;
			}
			continue;
		}
		if (vm->repairing || vm->needs_repair) {
			/* known wrong already: not a new failure */
			held = false;
			kick |= !vm->repairing &&
				track.stats.scans >= vm->repair_after;
			continue;
		}
		kernel = READ_ONCE(vm->mm->ksm_merging_pages);
		mine = vm->sv.counts.ksm_mapped + vm->base;
		if (mine == kernel) {
			vm->backoff = KSMVS_BACKOFF_MIN;
			continue;
		}
		held = false;
		track.stats.checks_failed++;
		vm->needs_repair = true;
		if (!track.reason)
			track.reason = "mismatch";
		kick |= track.stats.scans >= vm->repair_after;
	}
	/* pages whose set record could not be made wait for the work item */
	kick |= track.shadow->lost.pages > 0;
	/* so do tables that leaves or a purge left too large */
	kick |= resize_wanted_locked();
	if (held) {
		track.stats.verified_scans++;
		track.warming = false;
		track.reason = NULL;
	} else {
		track.stats.verified_scans = 0;
		if (!track.reason)
			track.reason = reason_repairing;
	}
	if (kick)
		kick_locked();
	unlock_track();
}

/* 1 if the walk recorded a mapping the shadow did not know. */
int ksmvs_walk_record(struct mm_struct *mm, unsigned long addr,
		      const void *node)
{
	int ret = 0;

	lock_track();
	if (!track.layout_bad)
		ret = join_locked(mm, addr, node);
	unlock_track();
	return ret;
}

void ksmvs_walk_unrecord(struct mm_struct *mm, unsigned long addr,
			 const void *node)
{
	struct ksmvs_vm *vm;

	lock_track();
	vm = find_vm(mm);
	if (vm)
		shadow_leave(track.shadow, &vm->sv, addr, node);
	unlock_track();
}

/* Whether the work item should look for mms not in the table. */
bool ksmvs_discovery_wanted(void)
{
	bool wanted;

	lock_track();
	wanted = track.discover;
	track.discover = false;
	unlock_track();
	return wanted;
}

/* all_fit: every mergeable mm found had (or got) a place in the table. */
void ksmvs_discovery_done(bool all_fit)
{
	lock_track();
	if (all_fit && track.vm_overflow) {
		track.vm_overflow = false;
		pr_info("ksm_vmshare: every mergeable process is tracked again\n");
	}
	unlock_track();
}

/* A VM KSM has let go of, now marked gone; the caller forgets and frees it. */
struct ksmvs_vm *ksmvs_next_gone(void)
{
	struct ksmvs_vm *vm, *found = NULL;

	lock_track();
	list_for_each_entry(vm, &track.vms, list) {
		if (!vm->gone && !vm->repairing && ksm_let_go(vm)) {
			vm->gone = true;
			found = vm;
			break;
		}
	}
	unlock_track();
	return found;
}

/* A VM due for repair, now marked repairing; NULL if none is due. */
struct ksmvs_vm *ksmvs_next_repair(void)
{
	struct ksmvs_vm *vm, *found = NULL;

	lock_track();
	list_for_each_entry(vm, &track.vms, list) {
		if (vm->needs_repair && !vm->repairing && !vm->gone &&
		    track.stats.scans >= vm->repair_after) {
			vm->repairing = true;
			vm->needs_repair = false;
			found = vm;
			break;
		}
	}
	unlock_track();
	return found;
}

/*
 * Open the VM's walk window (ending one still open): false if the records
 * of its last window must be freed first (ksmvs_purge_step()).
 */
bool ksmvs_window_begin(struct ksmvs_vm *vm)
{
	bool begun;

	lock_track();
	if (vm->sv.window == SHADOW_WINDOW_WALK)
		shadow_window_end(track.shadow, &vm->sv);
	begun = shadow_window_begin(track.shadow, &vm->sv);
	unlock_track();
	return begun;
}

/* A gone VM, forgotten: its window ends at once (it has no events). */
void ksmvs_window_close(struct ksmvs_vm *vm)
{
	lock_track();
	shadow_window_end(track.shadow, &vm->sv);
	unlock_track();
}

/* Free records of ended windows; true once none is left. */
bool ksmvs_purge_step(unsigned long *cursor)
{
	bool done;

	lock_track();
	done = shadow_window_purge_step(track.shadow, cursor,
					KSMVS_STEP_MAPPINGS);
	unlock_track();
	return done;
}

/* Forget some of the VM's mappings; true once all are forgotten. */
bool ksmvs_forget_step(struct ksmvs_vm *vm, unsigned long *cursor)
{
	bool done;

	lock_track();
	done = shadow_vm_forget_step(track.shadow, &vm->sv, cursor,
				     KSMVS_STEP_MAPPINGS);
	unlock_track();
	return done;
}

/* Find lost pages their set record; true once none is left to look at. */
bool ksmvs_fix_sets_step(unsigned long *cursor)
{
	bool done;

	lock_track();
	done = shadow_sets_fix_step(track.shadow, cursor, KSMVS_STEP_MAPPINGS);
	unlock_track();
	return done;
}

bool ksmvs_sets_lost(void)
{
	return READ_ONCE(track.shadow->lost.pages) > 0;
}

/*
 * Walked again: its window ends KSMVS_WINDOW_SCANS full scans from now,
 * and the check that follows says whether that was enough.
 */
void ksmvs_repair_done(struct ksmvs_vm *vm)
{
	lock_track();
	vm->repairing = false;
	vm->walked_at = track.stats.scans;
	vm->repair_after = track.stats.scans +
		(vm->checkable ? vm->backoff : KSMVS_BACKOFF_MAX);
	vm->backoff = min(vm->backoff * 2, KSMVS_BACKOFF_MAX);
	track.stats.repairs++;
	unlock_track();
}

/* A gone VM, forgotten: out of the table, and its mm let go. */
void ksmvs_vm_free(struct ksmvs_vm *vm)
{
	bool removed;

	lock_track();
	removed = shadow_vm_remove(track.shadow, &vm->sv);
	if (removed) {
		list_del(&vm->list);
		/* the room it leaves may let an untracked mm in */
		if (track.vm_overflow)
			track.discover = true;
	}
	unlock_track();
	if (WARN_ON_ONCE(!removed))
		return;
	mmdrop(vm->mm);
	ksmvs_obj_free(SHADOW_OBJ_VM, vm);
}

unsigned long ksmvs_wanted_slots(void)
{
	unsigned long n;

	lock_track();
	n = shadow_wanted_slots(track.shadow);
	unlock_track();
	return n;
}

/* False if joins since it was sized have filled what n would hold. */
bool ksmvs_resize_begin(struct shadow_page *slots, unsigned long n)
{
	bool begun;

	lock_track();
	begun = shadow_resize_begin(track.shadow, slots, n);
	unlock_track();
	return begun;
}

/* Move some slots; the old table, for the caller to free, once done. */
struct shadow_page *ksmvs_resize_step(void)
{
	struct shadow_page *old;

	lock_track();
	old = shadow_resize_step(track.shadow, KSMVS_STEP_SLOTS);
	unlock_track();
	return old;
}

unsigned int ksmvs_wanted_rec_bits(void)
{
	unsigned int bits;

	lock_track();
	bits = shadow_wanted_rec_bits(track.shadow);
	unlock_track();
	return bits;
}

bool ksmvs_rec_rehash_begin(struct shadow_rec **recs, unsigned int bits)
{
	bool begun;

	lock_track();
	begun = shadow_rec_rehash_begin(track.shadow, recs, bits);
	unlock_track();
	return begun;
}

/* Move some record buckets; the old array, once done. */
struct shadow_rec **ksmvs_rec_rehash_step(void)
{
	struct shadow_rec **old;

	lock_track();
	old = shadow_rec_rehash_step(track.shadow, KSMVS_STEP_SLOTS);
	unlock_track();
	return old;
}

/* Every VM is forgotten and walked again, one at a time. */
void ksmvs_request_resync(void)
{
	struct ksmvs_vm *vm;

	lock_track();
	track.stats.resyncs++;
	list_for_each_entry(vm, &track.vms, list) {
		vm->repair_after = 0;
		vm->backoff = KSMVS_BACKOFF_MIN;
		needs_repair_locked(vm, "resync");
	}
	track.reason = "resync";
	unlock_track();
}

/* Objects at their caches' sizes, both tables (and old ones), the struct. */
static unsigned long shadow_bytes_locked(void)
{
	return shadow_bytes(track.shadow, ksmvs_obj_bytes);
}

static enum ksmvs_state state_locked(void)
{
	if (track.layout_bad)
		return KSMVS_DEGRADED;
	if (track.warming && (!track.reason || track.reason == reason_repairing))
		return KSMVS_WARMING;
	if (track.reason || track.vm_overflow)
		return KSMVS_DEGRADED;
	return KSMVS_TRACKING;
}

/*
 * Copy the header and every VM's counters: O(VMs). The rows' mms are
 * held until ksmvs_release_rows(), so the caller may look at them (pid,
 * anonymous pages) without the lock. Gone VMs have no row.
 */
/* Copy every set record, O(sets): the caller holds the lock. */
static unsigned long copy_sets_locked(struct shadow_set *to)
{
	const struct shadow_set *set = NULL;
	unsigned int bucket = 0;
	unsigned long n = 0;

	while ((set = shadow_set_next(track.shadow, &bucket, set)))
		to[n++] = *set;
	return n;
}

/*
 * Rows, and with sets non-NULL every set record, from one hold of the
 * lock: the buffers are allocated before, and again if the table grew
 * in between.
 */
static int snapshot(struct ksmvs_summary *sum, struct ksmvs_row **rows,
		    unsigned int *n_rows, struct shadow_set **sets,
		    unsigned long *n_sets)
{
	struct shadow_set *set_copy = NULL;
	unsigned long want_sets = 0;
	struct ksmvs_row *r;
	struct ksmvs_vm *vm;
	unsigned int n;

again:
	lock_track();
	n = track.shadow->n_vms;
	if (sets)
		want_sets = track.shadow->n_sets;
	unlock_track();
	r = kvcalloc(n + 1, sizeof(*r), GFP_KERNEL);
	if (sets)
		set_copy = kvmalloc_array(want_sets + 1, sizeof(*set_copy),
					  GFP_KERNEL);
	if (!r || (sets && !set_copy)) {
		kvfree(r);
		kvfree(set_copy);
		return -ENOMEM;
	}
	lock_track();
	if (track.shadow->n_vms > n ||
	    (sets && track.shadow->n_sets > want_sets)) {
		unlock_track();
		kvfree(r);
		kvfree(set_copy);
		goto again;
	}
	n = 0;
	list_for_each_entry(vm, &track.vms, list) {
		if (vm->gone)
			continue;
		mmgrab(vm->mm);
		r[n].mm = vm->mm;
		r[n].counts = vm->sv.counts;
		r[n].index = vm->sv.index;
		r[n].unchecked = !vm->checkable;
		n++;
	}
	if (sets) {
		*n_sets = copy_sets_locked(set_copy);
		*sets = set_copy;
	}
	sum->set_star_pages = track.shadow->star.pages;
	sum->set_lost_pages = track.shadow->lost.pages;
	sum->state = state_locked();
	sum->reason = track.layout_bad ? "layout" :
		      track.reason ? track.reason :
		      track.vm_overflow ? "too-many-vms" : NULL;
	if (sum->state == KSMVS_WARMING)
		sum->reason = NULL;
	sum->ksm_pages = track.shadow->ksm_pages;
	sum->ksm_mappings = track.shadow->ksm_mappings;
	sum->shadow_bytes = shadow_bytes_locked();
	sum->shadow_table_bytes = shadow_table_bytes(track.shadow);
	sum->stats = track.stats;
	unlock_track();
	sum->pool_taken = ksmvs_pool_taken();
	*rows = r;
	*n_rows = n;
	return 0;
}

int ksmvs_snapshot(struct ksmvs_summary *sum, struct ksmvs_row **rows,
		   unsigned int *n_rows)
{
	return snapshot(sum, rows, n_rows, NULL, NULL);
}

int ksmvs_snapshot_sets(struct ksmvs_summary *sum, struct ksmvs_row **rows,
			unsigned int *n_rows, struct shadow_set **sets,
			unsigned long *n_sets)
{
	return snapshot(sum, rows, n_rows, sets, n_sets);
}

void ksmvs_release_rows(struct ksmvs_row *rows, unsigned int n_rows)
{
	unsigned int i;

	for (i = 0; i < n_rows; i++)
		mmdrop(rows[i].mm);
	kvfree(rows);
}

int ksmvs_track_init(struct delayed_work *maint)
{
	struct shadow_page *slots;
	struct shadow_rec **recs;
	int err;

	BUILD_BUG_ON(offsetof(struct ksmvs_vm, sv) != 0);
	err = ksmvs_alloc_init(sizeof(struct ksmvs_vm));
	if (err)
		return err;
	track.shadow = kvzalloc(sizeof(*track.shadow), GFP_KERNEL);
	slots = kvcalloc(KSMVS_INITIAL_SLOTS, sizeof(*slots), GFP_KERNEL);
	recs = kvcalloc(1UL << KSMVS_INITIAL_REC_BITS, sizeof(*recs),
			GFP_KERNEL);
	if (!track.shadow || !slots || !recs) {
		kvfree(recs);
		kvfree(slots);
		kvfree(track.shadow);
		ksmvs_alloc_exit();
		return -ENOMEM;
	}
	shadow_init(track.shadow, &shadow_ops, slots, KSMVS_INITIAL_SLOTS, recs,
		    KSMVS_INITIAL_REC_BITS);
	track.maint = maint;
	return 0;
}

/* From now on nothing queues the work item. */
void ksmvs_track_stop(void)
{
	lock_track();
	track.stopping = true;
	unlock_track();
}

/*
 * After the probes and the work item are gone: nothing can call in any
 * more, so the whole map may be freed without the lock.
 */
void ksmvs_track_exit(void)
{
	struct ksmvs_vm *vm, *next;

	while (track.shadow->old_slots)
		kvfree(shadow_resize_step(track.shadow, ~0UL));
	while (track.shadow->old_recs)
		kvfree(shadow_rec_rehash_step(track.shadow, ~0UL));
	shadow_clear(track.shadow);
	list_for_each_entry_safe(vm, next, &track.vms, list) {
		list_del(&vm->list);
		shadow_vm_remove(track.shadow, &vm->sv);
		mmdrop(vm->mm);
		ksmvs_obj_free(SHADOW_OBJ_VM, vm);
	}
	kvfree(track.shadow->slots);
	kvfree(track.shadow->recs);
	kvfree(track.shadow);
	ksmvs_alloc_exit();
}
