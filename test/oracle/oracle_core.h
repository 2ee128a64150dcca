/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The oracle's counting, apart from how the pages were found: given every
 * virtual page of every VM with its physical page, the physical page's map
 * count and whether it is a KSM page, compute the per-VM columns of
 * ../shared/docs/interface.md and what evicting any set of VMs frees.
 */
#ifndef KSMVS_ORACLE_CORE_H
#define KSMVS_ORACLE_CORE_H

#include <stddef.h>
#include <stdint.h>

/* One present anonymous virtual page of one VM. */
struct oracle_page {
	uint64_t pfn;
	uint32_t vm;		/* index into the VM table */
	uint32_t mapcount;	/* /proc/kpagecount of pfn: all its mappings */
	uint32_t area;		/* the caller's tag (its VMA); not used here */
	int ksm;		/* pfn is a KSM page */
};

struct oracle_vm_counts {
	long unique;
	long self_shared;
	long inter_shared;
	long ksm_mapped;
	long predicted_freed;
	long uss;		/* pages it alone maps, once: smem's USS */
};

struct oracle_result {
	long ksm_pages;		/* distinct KSM pages mapped by the VMs */
	long ksm_mappings;	/* virtual pages backed by them */
	/* physical pages whose map count was below the mappings found: they
	 * changed while being read, so the counts are not exact */
	long inconsistent;
};

/*
 * Sorts pages by pfn (oracle_freed needs that order) and fills res and
 * counts[0..n_vms-1].
 */
void oracle_count(struct oracle_page *pages, size_t n, int n_vms,
		  struct oracle_result *res, struct oracle_vm_counts *counts);

/*
 * KSM pages mapped exactly once are indistinguishable by map count from
 * private pages; where the kernel tells how many a VM has (smaps "KSM:"),
 * move them from unique to self-shared.
 */
void oracle_add_single_ksm(struct oracle_result *res,
			   struct oracle_vm_counts *c, long pages);

/*
 * Physical pages freed if every VM with evicted[vm] set went away: those
 * all of whose mappings belong to the set. pages must be sorted by
 * oracle_count. Single-mapped KSM pages count as the private pages they
 * look like, which is what they are for this purpose.
 */
long oracle_freed(const struct oracle_page *pages, size_t n,
		  const unsigned char *evicted);

/*
 * The KSM pages per exact set of mapping VMs (interface.md's sets file):
 * line() once per distinct set, with its members as VM indexes ascending
 * and how many KSM pages it has; pages also mapped outside the table come
 * together last, with n_members -1 (the file's "*"). pages must be sorted
 * by oracle_count. Returns -1 if out of memory.
 */
int oracle_sets(const struct oracle_page *pages, size_t n,
		void (*line)(const uint32_t *members, int n_members,
			     long pages, void *ctx),
		void *ctx);

#endif /* KSMVS_ORACLE_CORE_H */
