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
 * brings the allocator (struct shadow_ops), the tables (plain zeroed
 * arrays it allocates and frees outside its lock) and the locking (one
 * lock around every call).
 *
 * Steady state: counts, not mappings. KSM sends one join and then one
 * leave, or a drop of the whole page, per stable rmap_item, so the shadow
 * needs no record per mapping: per KSM page, one 24-byte slot of an
 * open-addressing table holding its stable node, its set record and up
 * to two (VM index, mapping count) pairs packed in 32 bits each; a page
 * of three VMs or more keeps its pairs in a small array of its own
 * ("spill"), searched by hash once it is large. Every join, leave and
 * drop is then a few probes, however many mappings the page has (a drop
 * also visits the page's VMs: the kernel visits each of its mappings).
 *
 * Idempotence only where it is needed: the walk window. A VM whose counts
 * are being rebuilt (repair, or a VM found after loading) is first
 * forgotten, then its page tables are walked, racing with ksmd: the walk
 * may see a pte before its join arrives (KSM replaces the pte first), and
 * a leave may come for a mapping the walk never saw. From the start of
 * the forget to the window's end, and for that VM only:
 *
 *  - while it is being forgotten, its joins and leaves change nothing:
 *    whatever they did is either wiped by the forget or seen (or not, if
 *    gone) by the walk that follows, which starts after the forget ends;
 *  - afterwards every mapping it gains is also a record (VM, address,
 *    stable node) in a chained hash: a join or a walk record that finds
 *    its record changes nothing, one that does not adds it and counts it;
 *    a leave (or the walk taking one back) that finds no record changes
 *    nothing, one that does removes it and uncounts it;
 *  - the caller ends the window at the start of the second full scan
 *    after the walk (ksmd holds ksm_thread_mutex there): by the first, no
 *    join of a pte the walk saw is still in flight; by the second, the
 *    leave of every pte changed before the walk looked has come (ksmd
 *    sends it when it next passes the address). From then on its events
 *    touch counts only, and its records are freed a bounded step at a
 *    time.
 *
 * A drop of a page that has records of a VM in its window leaves those
 * records behind (finding them would need an index by node). The drop
 * adds one more record instead, a tombstone (VM, node) at an address no
 * user mapping has, holding the sequence number of the drop; every record
 * carries the sequence number of its making. A record found later is
 * stale if a tombstone of its (VM, node) is newer, even when the stable
 * node's address has been reused by a new KSM page meanwhile; it is then
 * ignored and freed. Tombstones go with the window's other records. Only
 * when a tombstone cannot be allocated is the VM's window marked dirty,
 * and the caller rebuilds the VM again instead of trusting it. Nothing is
 * ever silently wrong.
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
 * Allocation never waits and may fail. A join that cannot get what it
 * needs changes nothing and says -ENOMEM. A departure never allocates,
 * except a set record (lost, above) and a smaller spill (kept larger).
 *
 * Nothing here costs time in proportion to the whole map: the caller holds
 * its lock around each call, and what must visit every page or record,
 * resizing a table, forgetting a VM, freeing a window's records, goes a
 * bounded number of slots per call so that the caller can drop its lock in
 * between.
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
typedef unsigned int u32;	/* the kernel's name; 32 bits on Linux */
#endif

/* A VM's index lives in the low bits of a page-aligned address. */
#define SHADOW_ADDR_BITS	12
#define SHADOW_MAX_VMS		4096U	/* 1 << SHADOW_ADDR_BITS */
#define SHADOW_VM_BUCKETS	64
/* Members a set record holds: more VMs on one page count as "star". */
#define SHADOW_SET_MAX		64
#define SHADOW_SET_BUCKETS	1024
/* Mappings of one page by one VM a pair can count (20 bits). */
#define SHADOW_COUNT_MAX	((1U << 20) - 1)
/* Spill arrays: 4 << k 32-bit words, k < SHADOW_SPILL_KINDS. */
#define SHADOW_SPILL_KINDS	12

enum shadow_obj {
	SHADOW_OBJ_VM,
	SHADOW_OBJ_SET,
	SHADOW_OBJ_REC,
	SHADOW_OBJ_SPILL,	/* + k: 16 << k bytes */
	SHADOW_NR_OBJ = SHADOW_OBJ_SPILL + SHADOW_SPILL_KINDS,
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

enum shadow_window {
	SHADOW_WINDOW_NONE,	/* events change counts only */
	SHADOW_WINDOW_FORGET,	/* being forgotten: events change nothing */
	SHADOW_WINDOW_WALK,	/* walked: events and walk go by records */
};

/**
 * struct shadow_vm - one address space, as the shadow knows it
 * @mm: its identity; never dereferenced by the shadow
 * @hash_next: chain in the VM hash
 * @index: small number packed into pairs and records
 * @window: see enum shadow_window
 * @dirty: its window may have counted wrong (a page with its records was
 *	dropped and no tombstone could be allocated): rebuild it again
 * @n_recs: its window records and tombstones, live or left to free
 * @counts: kept up to date on every transition
 *
 * The caller may embed it in a larger object (shadow_ops.alloc decides).
 */
struct shadow_vm {
	const void *mm;
	struct shadow_vm *hash_next;
	unsigned int index;
	unsigned char window;
	bool dirty;
	unsigned long n_recs;
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

/**
 * struct shadow_page - one KSM page: a slot of the page table (24 bytes)
 * @key: its stable node, bit 0 set when the pairs are in @spill; 0 for
 *	an empty slot, SHADOW_SLOT_MOVED for one already moved by a resize
 * @set: its VMs' set record (or the shadow's star or lost record)
 * @pair: up to two (VM index << 20 | mappings) pairs, 0 when unused
 * @spill: three VMs or more: word 0 is log2 of the words | VMs << 8,
 *	then the pairs
 */
struct shadow_page {
	uintptr_t key;
	struct shadow_set *set;
	union {
		u32 pair[2];
		u32 *spill;
	};
};

#define SHADOW_SLOT_MOVED	((uintptr_t)8)

/**
 * struct shadow_rec - a mapping of a VM in its walk window, or a tombstone
 * @next: chain in the record hash
 * @key: page-aligned virtual address | VM index; a tombstone's address is
 *	the top page of the address space, which is the kernel's
 * @node: the stable node it maps (a tombstone: the node dropped)
 * @seq: the shadow's @seq when it was made (a tombstone: when the node
 *	was last dropped; records of (VM, @node) made before are stale)
 */
struct shadow_rec {
	struct shadow_rec *next;
	unsigned long key;
	const void *node;
	unsigned long seq;
};

/**
 * struct shadow - the whole map
 * @ops: allocator
 * @slots: the page table: @n_slots slots, linear probing, at most
 *	SHADOW_LOAD_MAX full
 * @n_slots: its size (any number, not a power of two: see slot_of())
 * @used: pages in @slots
 * @old_slots: while the table is resized, the previous one, whose slots
 *	from @moved on may still hold pages; NULL otherwise
 * @n_old: its size
 * @moved: slots of @old_slots already moved
 * @recs: window records by (VM, address, node): 1 << @rec_bits chains
 * @rec_bits: log2 of their number
 * @old_recs: while @recs grows, the previous buckets (as @old_slots)
 * @old_rec_bits: log2 of their number
 * @recs_moved: buckets of @old_recs already moved
 * @n_recs: records and tombstones in either
 * @vm_buckets: VMs by mm
 * @vms: VMs by index
 * @n_vms: VMs known
 * @ksm_pages: KSM pages with at least one mapping (the kernel's pages_shared)
 * @ksm_mappings: mappings of them (pages_shared + pages_sharing)
 * @objects: live objects of each kind, for the memory figures
 * @probes: slots, pairs and records looked at, ever: the cost measure
 * @set_buckets: set records by hash of their members
 * @n_sets: set records in @set_buckets
 * @set_max: pages with more VMs than this count in @star (at most
 *	SHADOW_SET_MAX; lower in the unit tests)
 * @star: pages with more than @set_max VMs; no members
 * @lost: pages whose set record could not be allocated; no members
 * @seq: records and tombstones made, ever: their order
 */
struct shadow {
	const struct shadow_ops *ops;
	struct shadow_page *slots;
	unsigned long n_slots;
	unsigned long used;
	struct shadow_page *old_slots;
	unsigned long n_old;
	unsigned long moved;
	struct shadow_rec **recs;
	unsigned int rec_bits;
	struct shadow_rec **old_recs;
	unsigned int old_rec_bits;
	unsigned long recs_moved;
	unsigned long n_recs;
	struct shadow_vm *vm_buckets[SHADOW_VM_BUCKETS];
	struct shadow_vm *vms[SHADOW_MAX_VMS];
	unsigned int n_vms;
	long ksm_pages;
	long ksm_mappings;
	long objects[SHADOW_NR_OBJ];
	unsigned long probes;
	struct shadow_set *set_buckets[SHADOW_SET_BUCKETS];
	long n_sets;
	unsigned int set_max;
	struct shadow_set star;
	struct shadow_set lost;
	unsigned long seq;
};

/* The size of one object of a kind (a VM: the shadow's part of it). */
size_t shadow_obj_size(enum shadow_obj kind);

/*
 * slots: n_slots zeroed struct shadow_page; recs: 1 << rec_bits zeroed
 * pointers; both owned by the caller.
 */
void shadow_init(struct shadow *s, const struct shadow_ops *ops,
		 struct shadow_page *slots, unsigned long n_slots,
		 struct shadow_rec **recs, unsigned int rec_bits);

struct shadow_vm *shadow_vm_find(struct shadow *s, const void *mm);
/* The VM of mm, added if new; NULL if out of memory or of indexes. */
struct shadow_vm *shadow_vm_add(struct shadow *s, const void *mm);
/*
 * Remove a VM that has no mapping, no window and no record left; false
 * (nothing done) otherwise.
 */
bool shadow_vm_remove(struct shadow *s, struct shadow_vm *vm);

/*
 * The walk window (see the DOC block). Begin: false (nothing done) if the
 * VM is in a window already or still has records of its last one (free
 * them with shadow_window_purge_step() first). O(1).
 */
bool shadow_window_begin(struct shadow *s, struct shadow_vm *vm);
/*
 * Forget the VM's pairs, in slots from *cursor on until about budget
 * slots have been looked at (a step ends past a cluster's end, so that
 * pages moved back by a deletion meanwhile are not missed). Returns true
 * once every slot is done; the VM is then in SHADOW_WINDOW_WALK, with no
 * mapping. While the table is resized it does nothing and returns false.
 */
bool shadow_vm_forget_step(struct shadow *s, struct shadow_vm *vm,
			   unsigned long *cursor, unsigned long budget);
/*
 * End the window: from now the VM's events change counts only. Returns
 * whether it was dirty (cleared). O(1).
 */
bool shadow_window_end(struct shadow *s, struct shadow_vm *vm);
/*
 * Free records of VMs out of their window, in buckets from *cursor on
 * until about budget records have been looked at. True once done (or
 * none is left); false while the record hash grows.
 */
bool shadow_window_purge_step(struct shadow *s, unsigned long *cursor,
			      unsigned long budget);

/*
 * A mapping of (vm, page-aligned addr) joins the KSM page of node, from
 * KSM or from the walk. Returns 1 if counted, 0 if not (known already, or
 * the VM is being forgotten), -ENOMEM (nothing changed).
 */
int shadow_join(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		const void *node);
/* It leaves, or the walk takes it back; returns whether it was counted. */
bool shadow_leave(struct shadow *s, struct shadow_vm *vm, unsigned long addr,
		  const void *node);
/* The whole KSM page goes; returns the mappings it had, -1 if unknown. */
long shadow_drop_page(struct shadow *s, const void *node);
/* Is node a KSM page with mappings in the shadow? */
bool shadow_has_page(struct shadow *s, const void *node);
/* Mappings of vm on the page of node (0 if none). */
unsigned long shadow_page_count(struct shadow *s, const struct shadow_vm *vm,
				const void *node);

/*
 * Forget every KSM page and record; VMs stay, with zero counts and no
 * window. O(pages): only for when nothing else can call in (unloading,
 * tests). Any resize must be finished first.
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
 * Find a set record for lost pages, in slots from *cursor on until about
 * budget slots have been looked at. Returns true once every slot is done.
 * Like shadow_vm_forget_step(), nothing while the table is resized.
 */
bool shadow_sets_fix_step(struct shadow *s, unsigned long *cursor,
			  unsigned long budget);

/*
 * Slots the page table would like (0: its size is fine, or a resize is
 * under way). The load is kept between SHADOW_LOAD_MIN and
 * SHADOW_LOAD_MAX percent, a resize aiming at SHADOW_LOAD_AIM.
 */
#define SHADOW_LOAD_MIN		55
#define SHADOW_LOAD_AIM		65
#define SHADOW_LOAD_MAX		85
#define SHADOW_MIN_SLOTS	64
unsigned long shadow_wanted_slots(const struct shadow *s);
/*
 * Start resizing into slots (zeroed, n of them): O(1). False (nothing
 * done; the caller frees slots) if a resize is under way or the pages
 * would fill more than SHADOW_LOAD_MAX percent of n: the table was sized
 * outside the lock, and joins may have come meanwhile.
 */
bool shadow_resize_begin(struct shadow *s, struct shadow_page *slots,
			 unsigned long n);
/*
 * Move up to n old slots; once all are moved, return the old table for
 * the caller to free (NULL before that).
 */
struct shadow_page *shadow_resize_step(struct shadow *s, unsigned long n);

/*
 * The same for the record hash: bits wanted (0: none; it grows past one
 * record per bucket and shrinks below one per eight, not below 64
 * buckets), begin, step.
 */
unsigned int shadow_wanted_rec_bits(const struct shadow *s);
bool shadow_rec_rehash_begin(struct shadow *s, struct shadow_rec **recs,
			     unsigned int bits);
struct shadow_rec **shadow_rec_rehash_step(struct shadow *s, unsigned long n);

/* Bytes of the tables (old ones too) and the struct: no objects. */
unsigned long shadow_table_bytes(const struct shadow *s);
/* Bytes of the objects, tables and the struct: what the shadow costs. */
unsigned long shadow_bytes(const struct shadow *s,
			   size_t (*obj_bytes)(enum shadow_obj kind));

#endif /* KSM_VMSHARE_SHADOW_H */
