/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Choosing what to migrate: the order VMs are shown in, the victim, and
 * the cheapest set of VMs that frees a given amount.
 */
#ifndef KSMVS_SELECT_H
#define KSMVS_SELECT_H

#include <stddef.h>

#include "vmname.h"
#include "vmshare_format.h"

#define VM_NAME_MAX 128

struct vm_entry {
	struct vms_row row;
	char name[VM_NAME_MAX];		/* -name, ",," undone; else comm */
	char uuid[VMNAME_UUID_LEN + 1];	/* -uuid, "" if none */
	int is_qemu;
	long long moved;	/* pages a migration copies: unique + ksm_mapped */
};

/* Most freed first; ties: less to move, then lower pid. */
void select_sort(struct vm_entry *vms, size_t n);

/* The first of a sorted array that frees anything, or NULL. */
const struct vm_entry *select_victim(const struct vm_entry *vms, size_t n);

struct need_result {
	int found;		/* a set reaches the need */
	int exact_search;	/* the cheapest set, not a heuristic one */
	int from_sets;		/* freed comes from /proc/ksm_vmshare_sets */
	int freed_exact;	/* freed is exact, not a lower bound */
	unsigned char *chosen;	/* n flags */
	long long freed;	/* what evicting the set frees */
	long long moved;	/* sum of moved */
	int count;
	size_t candidates;	/* VMs searched over */
};

/*
 * Without the sets file: the set of VMs with the least memory moved whose
 * predicted_freed adds up to at least need pages; ties: fewer VMs. The sum
 * is a lower bound of what the set frees (pages shared only among its
 * members are freed too). Exact search up to 64 VMs, else a greedy one.
 * chosen must hold n flags. Returns -1 if out of memory.
 */
int select_need(const struct vm_entry *vms, size_t n, long long need,
		struct need_result *res);

/*
 * Exact search over up to this many VMs (2^N subsets, 8 bytes each); a
 * heuristic past it. A variable only so that tests can try the heuristic
 * on small sets.
 */
#define SELECT_EXACT_MAX 20
extern size_t select_exact_max;

/*
 * What the sets file says about the VMs of vms[]: each line whose pids all
 * are among them, indexed into vms[]. Lines naming another pid can never
 * be freed by evicting some of vms[] and are left out. The "*" line counts
 * only when every VM goes: everyone says vms[] is every VM there is (every
 * row, no unowned mm).
 */
struct sets_view {
	size_t n_vms;
	size_t n_lines;
	long long *pages;	/* per line */
	size_t *start;		/* line i's members: member[start[i]..start[i+1]) */
	size_t *member;
	long long star_pages;	/* counted only if everyone */
	int everyone;
	long long max_members;
};

int sets_view_build(const struct vm_entry *vms, size_t n,
		    const struct vms_sets *sets, int everyone,
		    struct sets_view *view);
void sets_view_free(struct sets_view *view);

/*
 * What evicting the VMs flagged in chosen frees, exactly: their unique
 * pages and every line whose VMs all are chosen. *exact is cleared when a
 * "*" line might lie within the set (more than max_members VMs chosen,
 * not all of them).
 */
long long select_freed(const struct vm_entry *vms, const struct sets_view *view,
		       const unsigned char *chosen, int *exact);

/*
 * With the sets file: the set with the least memory moved whose exact
 * freed figure reaches need; ties: fewer VMs, then more freed, then VMs
 * earlier in vms[]. Exact for up to SELECT_EXACT_MAX VMs, a heuristic
 * (greedy by freed per page moved over single VMs and the VMs that
 * complete a shared set, then dropping what is not needed) past that.
 * Returns -1 if out of memory.
 */
int select_need_sets(const struct vm_entry *vms, const struct sets_view *view,
		     long long need, struct need_result *res);

/*
 * Whether the two files agree (read at one moment): every pid of a set has
 * a row; each row's self_shared is its own line's pages, and the lines
 * naming it add up to self_shared + inter_shared (at most that with a "*"
 * line). NULL if they do, else why not (in buf).
 */
const char *select_sets_check(const struct vms_snapshot *snap,
			      const struct vms_sets *sets, char *buf,
			      size_t len);

#endif /* KSMVS_SELECT_H */
