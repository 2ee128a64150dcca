/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Choosing what to migrate: the order VMs are shown in, the victim, and
 * the cheapest set of VMs that frees a given amount.
 */
#ifndef KSMVS_SELECT_H
#define KSMVS_SELECT_H

#include <stddef.h>

#include "vmshare_format.h"

#define VM_NAME_MAX 128

struct vm_entry {
	struct vms_row row;
	char name[VM_NAME_MAX];
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
	unsigned char *chosen;	/* n flags */
	long long freed;	/* sum of predicted_freed: a lower bound */
	long long moved;	/* sum of moved */
	int count;
};

/*
 * The set of VMs with the least memory moved whose predicted_freed adds up
 * to at least need pages; ties: fewer VMs. The sum is a lower bound of what
 * the set frees (pages shared only among its members are freed too).
 * Exact search up to 64 VMs, else a greedy one. chosen must hold n flags.
 * Returns -1 if out of memory.
 */
int select_need(const struct vm_entry *vms, size_t n, long long need,
		struct need_result *res);

#endif /* KSMVS_SELECT_H */
