// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow's allocator.
 *
 * Probe handlers run with preemption off and cannot wait. On a host short
 * of memory they also must not take what the emergency reserves keep for
 * the kernel's own progress (GFP_ATOMIC would), or one module's
 * bookkeeping could push the host over. So they ask with GFP_NOWAIT, and
 * when that fails take an object from a small pool per kind that process
 * context (the maintenance work, and the walk between batches) refills
 * with GFP_KERNEL. When both fail the caller marks the VM for repair:
 * never a reason to wait, never a reason to forget the other VMs.
 */
#include <linux/atomic.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "ksm_vmshare.h"

/* Objects of each kind kept for when GFP_NOWAIT fails. */
#define KSMVS_POOL_SIZE	64

/**
 * struct ksmvs_pool - spare objects of one kind
 * @lock: protects the rest; taken inside the tracking lock, or alone
 * @n: how many are in @objs
 * @objs: zeroed objects from the kind's cache
 */
struct ksmvs_pool {
	spinlock_t lock;	/* n and objs */
	unsigned int n;
	void *objs[KSMVS_POOL_SIZE];
};

static struct kmem_cache *caches[SHADOW_NR_OBJ];
static struct ksmvs_pool pools[SHADOW_NR_OBJ];
/* spill arrays of 16 << k bytes: "ksmvs_spill16" ... "ksmvs_spill32768" */
static const char *const cache_names[SHADOW_NR_OBJ] = {
	[SHADOW_OBJ_VM] = "ksmvs_vm",
	[SHADOW_OBJ_SET] = "ksmvs_set",
	[SHADOW_OBJ_REC] = "ksmvs_rec",
	[SHADOW_OBJ_SPILL + 0] = "ksmvs_spill16",
	[SHADOW_OBJ_SPILL + 1] = "ksmvs_spill32",
	[SHADOW_OBJ_SPILL + 2] = "ksmvs_spill64",
	[SHADOW_OBJ_SPILL + 3] = "ksmvs_spill128",
	[SHADOW_OBJ_SPILL + 4] = "ksmvs_spill256",
	[SHADOW_OBJ_SPILL + 5] = "ksmvs_spill512",
	[SHADOW_OBJ_SPILL + 6] = "ksmvs_spill1024",
	[SHADOW_OBJ_SPILL + 7] = "ksmvs_spill2048",
	[SHADOW_OBJ_SPILL + 8] = "ksmvs_spill4096",
	[SHADOW_OBJ_SPILL + 9] = "ksmvs_spill8192",
	[SHADOW_OBJ_SPILL + 10] = "ksmvs_spill16384",
	[SHADOW_OBJ_SPILL + 11] = "ksmvs_spill32768",
};

/*
 * Spares to keep of a kind: fewer of the large spills (a page of many
 * VMs is rare, and 64 of the largest would be 2 MiB kept idle).
 */
static unsigned int pool_size(enum shadow_obj kind)
{
	if (kind < SHADOW_OBJ_SPILL + 4)
		return KSMVS_POOL_SIZE;
	return max(2U, KSMVS_POOL_SIZE >> (kind - SHADOW_OBJ_SPILL - 3));
}

/* Allocations asked for since loading, for the fault injection. */
static atomic_t alloc_calls = ATOMIC_INIT(0);
/* Objects taken from a pool because GFP_NOWAIT failed. */
static atomic_long_t pool_taken = ATOMIC_LONG_INIT(0);

void *ksmvs_obj_alloc(enum shadow_obj kind)
{
	unsigned int every = READ_ONCE(ksmvs_fail_alloc_every);
	struct ksmvs_pool *pool = &pools[kind];
	void *obj;

	/* fault injection for the tests: stock kernels have none */
	if (every && (unsigned int)atomic_inc_return(&alloc_calls) % every == 0)
		return NULL;
	obj = kmem_cache_zalloc(caches[kind], GFP_NOWAIT | __GFP_NOWARN);
	if (obj)
		return obj;
	spin_lock(&pool->lock);
	if (pool->n)
		obj = pool->objs[--pool->n];
	spin_unlock(&pool->lock);
	if (obj)
		atomic_long_inc(&pool_taken);
	return obj;
}

void ksmvs_obj_free(enum shadow_obj kind, void *obj)
{
	kmem_cache_free(caches[kind], obj);
}

/* Top the pools up. Process context: may sleep and reclaim. */
void ksmvs_pool_refill(void)
{
	int kind;

	for (kind = 0; kind < SHADOW_NR_OBJ; kind++) {
		struct ksmvs_pool *pool = &pools[kind];

		while (READ_ONCE(pool->n) < pool_size(kind)) {
			void *obj = kmem_cache_zalloc(caches[kind], GFP_KERNEL |
						      __GFP_NOWARN);

			if (!obj)
				return;
			spin_lock(&pool->lock);
			if (pool->n < pool_size(kind)) {
				pool->objs[pool->n++] = obj;
				obj = NULL;
			}
			spin_unlock(&pool->lock);
			if (obj)
				kmem_cache_free(caches[kind], obj);
		}
	}
}

unsigned long ksmvs_pool_taken(void)
{
	return atomic_long_read(&pool_taken);
}

size_t ksmvs_obj_bytes(enum shadow_obj kind)
{
	return kmem_cache_size(caches[kind]);
}

/* vm_size: the size of the object that embeds a struct shadow_vm. */
int ksmvs_alloc_init(size_t vm_size)
{
	int kind;

	for (kind = 0; kind < SHADOW_NR_OBJ; kind++) {
		spin_lock_init(&pools[kind].lock);
		caches[kind] = kmem_cache_create(cache_names[kind],
						 kind == SHADOW_OBJ_VM ? vm_size :
						 shadow_obj_size(kind), 0, 0,
						 NULL);
		if (!caches[kind]) {
			ksmvs_alloc_exit();
			return -ENOMEM;
		}
	}
	ksmvs_pool_refill();
	return 0;
}

/* Every object must be back: the caches refuse to go otherwise. */
void ksmvs_alloc_exit(void)
{
	int kind;

	for (kind = 0; kind < SHADOW_NR_OBJ; kind++) {
		struct ksmvs_pool *pool = &pools[kind];

		while (pool->n)
			kmem_cache_free(caches[kind], pool->objs[--pool->n]);
		kmem_cache_destroy(caches[kind]);
		caches[kind] = NULL;
	}
}
