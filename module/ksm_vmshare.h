/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the module share. The data path runs one way:
 * hooks.c turns kernel events into track.c calls; track.c keeps the shadow
 * map (shadow.c) under one lock, and its state; walk.c finds what was
 * merged before the module loaded; proc.c reads counters.
 */
#ifndef KSM_VMSHARE_H
#define KSM_VMSHARE_H

#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/sched.h>

#include <ksm_vmshare/shadow.h>

/* Module parameters (main.c). */
extern char *ksmvs_symbol_override;
extern unsigned int ksmvs_fail_alloc_every;
extern unsigned int ksmvs_layout_skew;

/**
 * struct ksmvs_vm - one address space registered with KSM
 * @sv: the shadow's part; first, so that the shadow's pointer is ours
 * @mm: the mm, held with mmgrab() for as long as this exists
 * @list: in ksmvs_track.vms, or in the graveyard once removed
 * @exiting: __ksm_exit() has run; removed once its mappings are gone
 */
struct ksmvs_vm {
	struct shadow_vm sv;
	struct mm_struct *mm;
	struct list_head list;
	bool exiting;
};

enum ksmvs_state {
	KSMVS_WARMING,		/* learning pages merged before loading */
	KSMVS_TRACKING,		/* exact once KSM quiesces */
	KSMVS_DEGRADED,		/* something was lost: counts are lower bounds */
};

/**
 * struct ksmvs_stats - event counts, for the proc header and the tests
 * @joins: mappings that joined a KSM page
 * @leaves: known mappings that left one
 * @leaves_unknown: stable mappings that left, not known to the shadow
 *	(merged before loading and not yet walked; 0 once tracking)
 * @pages_dropped: whole KSM pages removed (stale stable nodes)
 * @migrations: KSM pages migrated (compaction), of any VM
 * @migrations_tracked: of those, pages the shadow knew
 * @scans: full scans ksmd started since loading
 * @alloc_failures: shadow allocations that failed
 * @resyncs: walks of the page tables completed (the first one included)
 */
struct ksmvs_stats {
	unsigned long joins;
	unsigned long leaves;
	unsigned long leaves_unknown;
	unsigned long pages_dropped;
	unsigned long migrations;
	unsigned long migrations_tracked;
	unsigned long scans;
	unsigned long alloc_failures;
	unsigned long resyncs;
};

/**
 * struct ksmvs_row - one VM as the proc file shows it
 * @mm: held with mmgrab() until ksmvs_release_rows()
 * @counts: the shadow's counters for it
 */
struct ksmvs_row {
	struct mm_struct *mm;
	struct shadow_counts counts;
};

/**
 * struct ksmvs_summary - the proc header
 * @state: see enum ksmvs_state
 * @reason: why degraded, or NULL
 * @ksm_pages: KSM pages tracked
 * @ksm_mappings: their mappings
 * @shadow_bytes: memory the shadow uses now
 * @stats: event counts
 */
struct ksmvs_summary {
	enum ksmvs_state state;
	const char *reason;
	long ksm_pages;
	long ksm_mappings;
	unsigned long shadow_bytes;
	struct ksmvs_stats stats;
};

/* track.c */
int ksmvs_track_init(void);
void ksmvs_track_exit(void);
void ksmvs_start_walk(void);
int ksmvs_add_mm(struct mm_struct *mm);
void ksmvs_on_exit(struct mm_struct *mm);
int ksmvs_on_join(const void *mm, unsigned long addr, const void *node);
void ksmvs_on_leave(const void *mm, unsigned long addr, const void *node);
void ksmvs_on_drop(const void *node);
void ksmvs_on_migrate(const void *node);
void ksmvs_on_scan(void);
void ksmvs_degrade(const char *reason);
void ksmvs_layout_failed(const char *what);
int ksmvs_walk_record(struct mm_struct *mm, unsigned long addr,
		      const void *node);
void ksmvs_walk_unrecord(struct mm_struct *mm, unsigned long addr,
			 const void *node);
bool ksmvs_stopping(void);
int ksmvs_snapshot(struct ksmvs_summary *sum, struct ksmvs_row **rows,
		   unsigned int *n_rows);
void ksmvs_release_rows(struct ksmvs_row *rows, unsigned int n_rows);
void ksmvs_request_resync(void);

/* walk.c */
void ksmvs_scan_processes(void);
void ksmvs_walk_mm(struct mm_struct *mm);

/* hooks.c */
int ksmvs_hooks_register_vm_hooks(void);
int ksmvs_hooks_register_page_hooks(void);
void ksmvs_hooks_unregister(void);
unsigned long ksmvs_hooks_missed(void);

/* proc.c */
int ksmvs_proc_init(void);
void ksmvs_proc_exit(void);

#endif /* KSM_VMSHARE_H */
