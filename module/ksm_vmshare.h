/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the module share. Calls go one way, top to bottom:
 *
 *   main.c                      load and unload, parameters
 *   planted.c                   the rig's planted bugs (test builds only)
 *   hooks.c  proc.c  repair.c   probes; /proc; the work item
 *                    walk.c     page tables -> mappings (for repair.c)
 *   track.c                     one lock: VMs, events, the per-scan check
 *   shadow.c  alloc.c           the map; its objects
 *
 * track.c never calls up: the work it wants done (repairs, reaping,
 * growing the hash) it asks for by queueing the work item main.c hands it.
 */
#ifndef KSM_VMSHARE_H
#define KSM_VMSHARE_H

#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

#include <ksm_vmshare/shadow.h>

/* Module parameters (main.c). */
extern char *ksmvs_symbol_override;
extern unsigned int ksmvs_fail_alloc_every;
extern unsigned int ksmvs_layout_skew;

/**
 * struct ksmvs_vm - one address space registered with KSM
 * @sv: the shadow's part; first, so that the shadow's pointer is ours
 * @mm: the mm, held with mmgrab() for as long as this exists
 * @list: in the tracker's list of VMs
 * @base: the part of the kernel's ksm_merging_pages that is not this
 *	module's to count (6.1 copies a forked parent's count into the
 *	child: see compat.h)
 * @repair_after: the full scan before which it is not repaired again
 * @walked_at: the full scans counted when its last walk ended (its walk
 *	window ends KSMVS_WINDOW_SCANS later: track.c)
 * @backoff: full scans to wait after its next repair (doubles while
 *	repairs do not make the check hold, up to KSMVS_BACKOFF_MAX)
 * @checkable: @base is known, so the per-scan check can compare
 * @needs_repair: its counts are known or suspected wrong
 * @repairing: the work item is forgetting and walking it now
 * @gone: KSM has let go of the mm; being forgotten, then freed
 */
struct ksmvs_vm {
	struct shadow_vm sv;
	struct mm_struct *mm;
	struct list_head list;
	long base;
	unsigned long repair_after;
	unsigned long walked_at;
	unsigned int backoff;
	bool checkable;
	bool needs_repair;
	bool repairing;
	bool gone;
};

enum ksmvs_state {
	KSMVS_WARMING,		/* learning pages merged before loading */
	KSMVS_TRACKING,		/* the last per-scan check held for every VM */
	KSMVS_DEGRADED,		/* something was lost or is being repaired */
};

/**
 * struct ksmvs_stats - event counts, for the proc header and the tests
 * @joins: mappings that joined a KSM page
 * @joins_untracked: joins for an mm not in the VM table (full, or never
 *	seen registering)
 * @leaves: known mappings that left one
 * @leaves_unknown: stable mappings that left, not known to the shadow
 *	(merged before loading and not walked, or forgotten by a repair)
 * @pages_dropped: whole KSM pages removed (stale stable nodes)
 * @migrations: KSM pages migrated (compaction), of any VM
 * @migrations_tracked: of those, pages the shadow knew
 * @scans: full scans ksmd started since loading
 * @checks_failed: per-VM checks at a scan's start that did not hold
 * @verified_scans: consecutive full scans whose check held for every VM
 * @repairs: per-VM repairs completed (forget the VM, walk it again)
 * @resyncs: explicit resync requests (a write to the proc file)
 * @alloc_failures: shadow allocations that failed
 * @windows_dirty: walk windows that ended untrusted (a page with the
 *	VM's records was dropped and its tombstone could not be
 *	allocated): rebuilt again
 * @lock_hold_max_ns: the longest the tracking lock was held
 * @join_hold_ns: the lock's time held by joins (of any outcome), summed
 * @leave_hold_ns: the same for leaves, known or not
 */
struct ksmvs_stats {
	unsigned long joins;
	unsigned long joins_untracked;
	unsigned long leaves;
	unsigned long leaves_unknown;
	unsigned long pages_dropped;
	unsigned long migrations;
	unsigned long migrations_tracked;
	unsigned long scans;
	unsigned long checks_failed;
	unsigned long verified_scans;
	unsigned long repairs;
	unsigned long resyncs;
	unsigned long alloc_failures;
	unsigned long windows_dirty;
	u64 lock_hold_max_ns;
	u64 join_hold_ns;
	u64 leave_hold_ns;
};

/**
 * struct ksmvs_row - one VM as the proc file shows it
 * @mm: held with mmgrab() until ksmvs_release_rows()
 * @counts: the shadow's counters for it
 * @index: its index in the shadow, as set records name it
 * @unchecked: the per-scan check cannot compare it (see compat.h)
 */
struct ksmvs_row {
	struct mm_struct *mm;
	struct shadow_counts counts;
	unsigned int index;
	bool unchecked;
};

/**
 * struct ksmvs_summary - the proc header
 * @state: see enum ksmvs_state
 * @reason: why degraded, or NULL
 * @ksm_pages: KSM pages tracked
 * @ksm_mappings: their mappings
 * @set_star_pages: KSM pages of more VMs than a set record holds
 * @set_lost_pages: KSM pages whose set record could not be allocated
 * @shadow_bytes: memory the shadow uses now
 * @shadow_table_bytes: the part of it outside the module's slab caches:
 *	the page table and record buckets (kvmalloc'd) and the struct
 * @pool_taken: objects taken from the spare pools (GFP_NOWAIT failed)
 * @stats: event counts
 */
struct ksmvs_summary {
	enum ksmvs_state state;
	const char *reason;
	long ksm_pages;
	long ksm_mappings;
	long set_star_pages;
	long set_lost_pages;
	unsigned long shadow_bytes;
	unsigned long shadow_table_bytes;
	unsigned long pool_taken;
	struct ksmvs_stats stats;
};

/* alloc.c */
int ksmvs_alloc_init(size_t vm_size);
void ksmvs_alloc_exit(void);
void *ksmvs_obj_alloc(enum shadow_obj kind);
void ksmvs_obj_free(enum shadow_obj kind, void *obj);
void ksmvs_pool_refill(void);
unsigned long ksmvs_pool_taken(void);
size_t ksmvs_obj_bytes(enum shadow_obj kind);

/* track.c: set-up */
int ksmvs_track_init(struct delayed_work *maint);
void ksmvs_track_stop(void);
void ksmvs_track_exit(void);
bool ksmvs_stopping(void);
/* track.c: events, from the probes */
int ksmvs_add_mm(struct mm_struct *mm, long base, bool checkable, bool walk);
void ksmvs_on_exit(struct mm_struct *mm);
void ksmvs_on_join(const void *mm, unsigned long addr, const void *node);
void ksmvs_on_leave(const void *mm, unsigned long addr, const void *node);
void ksmvs_on_drop(const void *node);
void ksmvs_on_migrate(const void *node);
void ksmvs_on_scan(unsigned long probe_missed);
void ksmvs_layout_failed(const char *what);
/* track.c: what the walk learns */
int ksmvs_walk_record(struct mm_struct *mm, unsigned long addr,
		      const void *node);
void ksmvs_walk_unrecord(struct mm_struct *mm, unsigned long addr,
			 const void *node);
/* track.c: for the work item */
bool ksmvs_discovery_wanted(void);
void ksmvs_discovery_done(bool all_fit);
struct ksmvs_vm *ksmvs_next_gone(void);
struct ksmvs_vm *ksmvs_next_repair(void);
bool ksmvs_window_begin(struct ksmvs_vm *vm);
void ksmvs_window_close(struct ksmvs_vm *vm);
bool ksmvs_purge_step(unsigned long *cursor);
bool ksmvs_forget_step(struct ksmvs_vm *vm, unsigned long *cursor);
bool ksmvs_sets_lost(void);
bool ksmvs_fix_sets_step(unsigned long *cursor);
void ksmvs_repair_done(struct ksmvs_vm *vm);
void ksmvs_vm_free(struct ksmvs_vm *vm);
unsigned long ksmvs_wanted_slots(void);
bool ksmvs_resize_begin(struct shadow_page *slots, unsigned long n);
struct shadow_page *ksmvs_resize_step(void);
unsigned int ksmvs_wanted_rec_bits(void);
bool ksmvs_rec_rehash_begin(struct shadow_rec **recs, unsigned int bits);
struct shadow_rec **ksmvs_rec_rehash_step(void);
/* track.c: for the proc file */
void ksmvs_request_resync(void);
int ksmvs_snapshot(struct ksmvs_summary *sum, struct ksmvs_row **rows,
		   unsigned int *n_rows);
int ksmvs_snapshot_sets(struct ksmvs_summary *sum, struct ksmvs_row **rows,
			unsigned int *n_rows, struct shadow_set **sets,
			unsigned long *n_sets);
void ksmvs_release_rows(struct ksmvs_row *rows, unsigned int n_rows);

#ifdef KSMVS_PLANTED_BUGS
/* track.c: the planted bugs' way under the tracking lock */
void ksmvs_track_locked_call(void (*fn)(void));
/* planted.c */
void ksmvs_planted_bugs_at_load(void);
void ksmvs_planted_bugs_at_unload(void);
#else
static inline void ksmvs_planted_bugs_at_load(void)
{
}

static inline void ksmvs_planted_bugs_at_unload(void)
{
}
#endif

/* walk.c */
void ksmvs_discover_mms(void);
void ksmvs_walk_mm(struct mm_struct *mm);

/* repair.c */
extern struct delayed_work ksmvs_maint_work;
void ksmvs_repair_stop(void);
void ksmvs_resize_tables(void);

/* hooks.c */
int ksmvs_hooks_register_vm_hooks(void);
int ksmvs_hooks_register_page_hooks(void);
void ksmvs_hooks_unregister(void);
unsigned long ksmvs_hooks_missed(void);

/* proc.c */
int ksmvs_proc_init(void);
void ksmvs_proc_exit(void);

#endif /* KSM_VMSHARE_H */
