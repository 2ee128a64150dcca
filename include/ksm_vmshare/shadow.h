/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DOC: the shadow map
 *
 * The accounting core of ksm_vmshare: which VM maps which KSM page, kept
 * incrementally so that every per-VM count is a sum already made when it
 * is read.
 *
 * A KSM page is known by its stable node, an opaque pointer here: it stays
 * the same when the page migrates. A VM is known by its mm, also opaque.
 * Nothing here dereferences either, so the core is plain C that builds in
 * the kernel module and in the user-space unit tests alike; the caller
 * brings the allocator (struct shadow_ops) and the locking (one lock
 * around every call).
 *
 * Per KSM page the shadow keeps the list of its mappings (VM, address),
 * and one pair (VM, count) per VM that maps it. Every operation is
 * idempotent at the level of one mapping: joining a mapping already known
 * or leaving one not known changes nothing. That is what lets a walk of
 * the page tables, racing with the kernel's own merges, fill the shadow
 * without counting anything twice.
 *
 * Per-VM counters change only on transitions: a VM's pair on a page
 * appearing or going (0 <-> 1 mappings), and a page's number of VMs
 * crossing 1 <-> 2.
 *
 * Per KSM page the shadow also knows its exact set of mapping VMs, as one
 * record shared by every page with that same set (struct shadow_set): the
 * histogram /proc/ksm_vmshare_sets serves, from which what evicting any
 * group of VMs frees is exact. A page changes set only when a VM arrives
 * on it or departs; the new set is found by a hash of its members (a sum,
 * so adding or removing one member is O(1)) and a comparison of at most
 * SHADOW_SET_MAX members. A page with more VMs than that is counted in
 * one "star" record without members. When no record can be allocated for
 * a departure (which cannot be refused) the page is counted as "lost"
 * until its next change or shadow_sets_fix_step() finds it one.
 *
 * Nothing here costs time in proportion to the whole map: the caller holds
 * its lock around each call, and the two operations that must visit every
 * page, growing the hash and forgetting one VM, go a bounded number of
 * buckets per call (shadow_rehash_step(), shadow_vm_forget_step()) so that
 * the caller can drop its lock in between.
 */
#ifndef KSM_VMSHARE_SHADOW_H
#define KSM_VMSHARE_SHADOW_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#endif

/* A VM's index lives in the low bits of a page-aligned address. */
#define SHADOW_ADDR_BITS	12
#define SHADOW_MAX_VMS		4096U	/* 1 << SHADOW_ADDR_BITS */
#define SHADOW_VM_BUCKETS	64
/* Members a set record holds: more VMs on one page count as "star". */
#define SHADOW_SET_MAX		64
#define SHADOW_SET_BUCKETS	1024

enum shadow_obj {
	SHADOW_OBJ_PAGE,
	SHADOW_OBJ_PAIR,
	SHADOW_OBJ_MAP,
	SHADOW_OBJ_VM,
	SHADOW_OBJ_SET,
	SHADOW_NR_OBJ,
};

/**
 * struct shadow_ops - what the caller provides
 * @alloc: one zeroed object of the kind; must not sleep; NULL on failure
 * @free: give one back
 */
struct shadow_ops {
	void *(*alloc)(enum shadow_obj kind);
	void (*free)(enum shadow_obj kind, void *obj);
};

/**
 * struct shadow_counts - one VM's view of the KSM pages
 * @self_shared: KSM pages this VM maps and no other VM does
 * @inter_shared: KSM pages this VM maps together with another VM
 * @ksm_mapped: this VM's virtual pages backed by KSM pages
 */
struct shadow_counts {
	long self_shared;
	long inter_shared;
	long ksm_mapped;
};

/**
 * struct shadow_vm - one address space, as the shadow knows it
 * @mm: its identity; never dereferenced by the shadow
 * @hash_next: chain in the VM hash
 * @index: small number packed into mapping records
 * @counts: kept up to date on every transition
 *
 * The caller may embed it in a larger object (shadow_ops.alloc decides).
 */
struct shadow_vm {
	const void *mm;
	struct shadow_vm *hash_next;
	unsigned int index;
	struct shadow_counts counts;
};

/**
 * struct shadow_set - the KSM pages mapped by exactly one set of VMs
 * @hash_next: chain in the set hash
 * @hash: sum of shadow_member_hash() of the members
 * @pages: KSM pages whose mapping VMs are exactly @members
 * @n: number of members
 * @members: VM indexes, ascending
 */
struct shadow_set {
	struct shadow_set *hash_next;
	unsigned long long hash;
	long pages;
	unsigned int n;
	unsigned short members[SHADOW_SET_MAX];
};

struct shadow_page;

/**
 * struct shadow - the whole map
 * @ops: allocator
 * @buckets: KSM pages by stable node; a power of two of them
 * @bucket_bits: log2 of their number
 * @old_buckets: while the hash grows, the previous array, whose buckets
 *	from @moved on still hold their pages; NULL otherwise
 * @old_bits: log2 of the previous array's size
 * @moved: buckets of @old_buckets already moved into @buckets
 * @vm_buckets: VMs by mm
 * @vms: VMs by index
 * @n_vms: VMs known
 * @ksm_pages: KSM pages with at least one mapping (the kernel's pages_shared)
 * @ksm_mappings: mappings of them (pages_shared + pages_sharing)
 * @objects: live objects of each kind, for the memory figures
 * @set_buckets: set records by hash of their members
 * @n_sets: set records in @set_buckets
 * @set_max: pages with more VMs than this count in @star (at most
 *	SHADOW_SET_MAX; lower in the unit tests)
 * @star: pages with more than @set_max VMs; no members
 * @lost: pages whose set record could not be allocated; no members
 */
struct shadow {
	const struct shadow_ops *ops;
	struct shadow_page **buckets;
	unsigned int bucket_bits;
	struct shadow_page **old_buckets;
	unsigned int old_bits;
	unsigned int moved;
	struct shadow_vm *vm_buckets[SHADOW_VM_BUCKETS];
	struct shadow_vm *vms[SHADOW_MAX_VMS];
	unsigned int n_vms;
	long ksm_pages;
	long ksm_mappings;
	long objects[SHADOW_NR_OBJ];
	struct shadow_set *set_buckets[SHADOW_SET_BUCKETS];
	long n_sets;
	unsigned int set_max;
	struct shadow_set star;
	struct shadow_set lost;
};

/* The size of one object of a kind (a VM: the shadow's part of it). */
size_t shadow_obj_size(enum shadow_obj kind);

/* buckets: 1 << bucket_bits zeroed pointers, owned by the caller */
void shadow_init(struct shadow *s, const struct shadow_ops *ops,
		 struct shadow_page **buckets, unsigned int bucket_bits);

struct shadow_vm *shadow_vm_find(struct shadow *s, const void *mm);
/* The VM of mm, added if new; NULL if out of memory or of indexes. */
struct shadow_vm *shadow_vm_add(struct shadow *s, const void *mm);
/*
 * Forget the VM's mappings, as if each had left, in whole buckets from
 * *cursor on until about budget mappings (of any VM) have been looked at:
 * one pass over each page's list. Returns true once every bucket is done.
 * While the hash grows it does nothing and returns false: finish the
 * growth first. Joins between two steps are kept where the cursor has
 * passed.
 */
bool shadow_vm_forget_step(struct shadow *s, struct shadow_vm *vm,
			   unsigned int *cursor, unsigned long budget);
/* Remove a VM that has no mapping left; false (nothing done) if it has. */
bool shadow_vm_remove(struct shadow *s, struct shadow_vm *vm);

/*
 * A mapping of (vm, page-aligned addr) joins the KSM page of node.
 * Returns 1 if added, 0 if it was known already, -ENOMEM (nothing changed).
 */
int shadow_join(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		const void *node);
/* It leaves; returns whether it was known. */
bool shadow_leave(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		  const void *node);
/* The whole KSM page goes; returns the mappings it had, -1 if unknown. */
long shadow_drop_page(struct shadow *s, const void *node);
/* Is node a KSM page with mappings in the shadow? */
bool shadow_has_page(struct shadow *s, const void *node);

/*
 * Forget every KSM page; VMs stay, with zero counts. O(pages): only for
 * when nothing else can call in (unloading, tests).
 */
void shadow_clear(struct shadow *s);

/*
 * The next set record after *prev (NULL: the first), in bucket order from
 * *bucket on; NULL when there are no more. Star and lost are not in it.
 */
const struct shadow_set *shadow_set_next(const struct shadow *s,
					 unsigned int *bucket,
					 const struct shadow_set *prev);
/*
 * Find a set record for lost pages, in whole buckets from *cursor on
 * until about budget pages have been looked at. Returns true once every
 * bucket is done. Like shadow_vm_forget_step(), nothing while the hash
 * grows.
 */
bool shadow_sets_fix_step(struct shadow *s, unsigned int *cursor,
			  unsigned long budget);

/*
 * Buckets the table would like (0: enough, or growing already); the load
 * is kept at most 1.
 */
unsigned int shadow_wanted_bucket_bits(const struct shadow *s);
/*
 * Start growing into new buckets (zeroed, 1 << bits of them): O(1). Until
 * the growth ends every call still finds every page.
 */
void shadow_rehash_begin(struct shadow *s, struct shadow_page **buckets,
			 unsigned int bits);
/*
 * Move up to n old buckets; once all are moved, return the old array for
 * the caller to free (NULL before that).
 */
struct shadow_page **shadow_rehash_step(struct shadow *s, unsigned int n);

#endif /* KSM_VMSHARE_SHADOW_H */
