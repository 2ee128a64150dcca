// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow map against a naive model that recomputes every count from
 * scratch, after every one of a long random sequence of events: joins,
 * leaves, whole-page drops (stale stable nodes), VMs forgotten a few
 * buckets at a time (a repair, or an exit) while other VMs' events go on,
 * clears, a growing hash moved a few buckets at a time between events, and
 * failed allocations. Dup chains are several stable
 * nodes of one content, which the shadow sees as distinct pages: the
 * random node choice covers them; migrations keep the stable node, so they
 * are no event for the shadow at all.
 */
#include <stdlib.h>
#include <string.h>

#include <ksm_vmshare/shadow.h>
#include "unit.h"

#define VMS	8
#define ADDRS	96
#define NODES	40
#define EVENTS	200000
#define NONE	(-1)

static int fail_percent;	/* allocations that fail, in percent */
static long live_allocs;

static void *test_alloc(enum shadow_obj kind)
{
	if (fail_percent && rand() % 100 < fail_percent)
		return NULL;
	live_allocs++;
	return calloc(1, shadow_obj_size(kind));
}

static void test_free(enum shadow_obj kind, void *obj)
{
	(void)kind;
	live_allocs--;
	free(obj);
}

static const struct shadow_ops ops = { test_alloc, test_free };

static struct shadow s;
static int model[VMS][ADDRS];		/* node mapped at (vm, addr), or NONE */
static int vm_alive[VMS];
static struct shadow_vm *vm_of[VMS];

static const void *node_ptr(int n)
{
	return (const void *)(uintptr_t)(0x10000 + 64 * n);
}

static const void *mm_ptr(int v)
{
	return (const void *)(uintptr_t)(0x7f0000 + 4096 * v);
}

static unsigned long addr_of(int a)
{
	return 0x400000UL + 4096UL * a;
}

/*
 * The set histogram against the model's: pages per exact set of VMs (a
 * bit mask of model VMs), those of more than set_max VMs in star. Pages
 * in lost (a set record could not be allocated) are missing from their
 * set's count, and only while allocations fail.
 */
static int check_sets(const long *want, long want_star)
{
	long have[1 << VMS] = { 0 }, missing = 0;
	const struct shadow_set *set = NULL;
	unsigned int bucket = 0, i;
	long records = 0;
	int ok = 1, mask, v;

	while ((set = shadow_set_next(&s, &bucket, set))) {
		mask = 0;
		ok &= set->pages > 0 && set->n >= 1 && set->n <= s.set_max;
		for (i = 0; i < set->n; i++) {
			for (v = 0; v < VMS; v++)
				if (vm_alive[v] && vm_of[v]->index == set->members[i])
					mask |= 1 << v;
			ok &= i == 0 || set->members[i - 1] < set->members[i];
		}
		ok &= __builtin_popcount(mask) == (int)set->n;
		ok &= have[mask] == 0;	/* one record per set */
		have[mask] = set->pages;
		records++;
	}
	ok &= records == s.n_sets && s.objects[SHADOW_OBJ_SET] == records;
	for (mask = 0; mask < 1 << VMS; mask++) {
		ok &= have[mask] <= want[mask];
		missing += want[mask] - have[mask];
	}
	ok &= s.star.pages <= want_star;
	missing += want_star - s.star.pages;
	ok &= missing == s.lost.pages;
	ok &= fail_percent || s.lost.pages == 0;
	return ok;
}

/* Recompute everything from the model and compare with the shadow. */
static int check_model(void)
{
	long mapped[VMS] = { 0 }, self[VMS] = { 0 }, inter[VMS] = { 0 };
	long pages = 0, mappings = 0, sets[1 << VMS] = { 0 }, star = 0;
	int n, v, a, ok = 1;

	for (n = 0; n < NODES; n++) {
		int per_vm[VMS] = { 0 }, vms = 0, total = 0, mask = 0;

		for (v = 0; v < VMS; v++)
			for (a = 0; a < ADDRS; a++)
				per_vm[v] += model[v][a] == n;
		for (v = 0; v < VMS; v++) {
			vms += per_vm[v] > 0;
			total += per_vm[v];
			mask |= (per_vm[v] > 0) << v;
		}
		if ((unsigned int)vms > s.set_max)
			star += total > 0;
		else
			sets[mask] += total > 0;
		if (!total) {
			ok &= !shadow_has_page(&s, node_ptr(n));
			continue;
		}
		ok &= shadow_has_page(&s, node_ptr(n));
		pages++;
		mappings += total;
		for (v = 0; v < VMS; v++) {
			if (!per_vm[v])
				continue;
			mapped[v] += per_vm[v];
			if (vms == 1)
				self[v]++;
			else
				inter[v]++;
		}
	}
	ok &= s.ksm_pages == pages && s.ksm_mappings == mappings;
	for (v = 0; v < VMS; v++) {
		if (!vm_alive[v]) {
			ok &= shadow_vm_find(&s, mm_ptr(v)) == NULL;
			continue;
		}
		ok &= vm_of[v]->counts.ksm_mapped == mapped[v];
		ok &= vm_of[v]->counts.self_shared == self[v];
		ok &= vm_of[v]->counts.inter_shared == inter[v];
	}
	ok &= s.objects[SHADOW_OBJ_MAP] == mappings;
	ok &= s.objects[SHADOW_OBJ_PAGE] == pages;
	ok &= check_sets(sets, star);
	return ok;
}

static void ensure_vm(int v)
{
	if (vm_alive[v])
		return;
	vm_of[v] = shadow_vm_add(&s, mm_ptr(v));
	if (vm_of[v])
		vm_alive[v] = 1;
}

static void forget_node(int n)
{
	int v, a;

	for (v = 0; v < VMS; v++)
		for (a = 0; a < ADDRS; a++)
			if (model[v][a] == n)
				model[v][a] = NONE;
}

static void finish_rehash(void);

/* A join or a leave of some VM other than v, checked against the model. */
static void other_event(int v)
{
	int w = rand() % VMS, a = rand() % ADDRS, n = rand() % NODES, r;

	if (w == v || !vm_alive[w])
		return;
	if (rand() % 2) {
		if (model[w][a] != NONE)
			n = model[w][a];
		r = shadow_join(&s, vm_of[w], addr_of(a), node_ptr(n));
		CHECK(r == (model[w][a] == NONE) || r == -ENOMEM);
		if (r == 1)
			model[w][a] = n;
	} else if (model[w][a] != NONE) {
		CHECK(shadow_leave(&s, vm_of[w], addr_of(a),
				   node_ptr(model[w][a])));
		model[w][a] = NONE;
	}
}

/*
 * Forget VM v a few buckets at a time, with other VMs' events in between,
 * then remove it if asked. The model is checked once v is forgotten.
 */
static void forget_vm(int v, int remove)
{
	unsigned int cursor = 0;
	int a;

	finish_rehash();	/* the worker never forgets while it grows */
	while (!shadow_vm_forget_step(&s, vm_of[v], &cursor, 1 + rand() % 3))
		other_event(v);
	for (a = 0; a < ADDRS; a++)
		model[v][a] = NONE;
	CHECK(check_model());
	if (remove) {
		CHECK(shadow_vm_remove(&s, vm_of[v]));
		vm_alive[v] = 0;
	}
}

static void step(void)
{
	int r = rand() % 1000, v = rand() % VMS, a = rand() % ADDRS;
	int n = rand() % NODES;

	if (r < 550) {
		/* join; the kernel never joins a mapping to a second node */
		ensure_vm(v);
		if (!vm_alive[v])
			return;
		if (model[v][a] != NONE)
			n = model[v][a];
		r = shadow_join(&s, vm_of[v], addr_of(a), node_ptr(n));
		if (r == 1 || r == 0)
			CHECK_EQ(r, model[v][a] == NONE);
		else
			CHECK_EQ(r, -ENOMEM);
		if (r == 1)
			model[v][a] = n;
	} else if (r < 950) {
		/* leave, mostly of a known mapping */
		if (!vm_alive[v])
			return;
		if (model[v][a] != NONE && rand() % 10)
			n = model[v][a];
		CHECK_EQ(shadow_leave(&s, vm_of[v], addr_of(a), node_ptr(n)),
			 model[v][a] == n);
		if (model[v][a] == n)
			model[v][a] = NONE;
	} else if (r < 985) {
		long want = 0;
		int w, b;

		for (w = 0; w < VMS; w++)
			for (b = 0; b < ADDRS; b++)
				want += model[w][b] == n;
		CHECK_EQ(shadow_drop_page(&s, node_ptr(n)), want ? want : -1);
		forget_node(n);
	} else if (r < 990) {
		/*
		 * The work item finds lost pages a set, a few buckets a call,
		 * with its pools refilled: none is left lost.
		 */
		unsigned int cursor = 0;
		int fail = fail_percent;

		fail_percent = 0;
		while (!shadow_sets_fix_step(&s, &cursor, 1 + rand() % 8))
			if (s.old_buckets)
				break;
		fail_percent = fail;
		CHECK(s.old_buckets || s.lost.pages == 0);
	} else if (r < 998) {
		/* a VM is forgotten (repaired or gone) while others go on */
		if (!vm_alive[v])
			return;
		forget_vm(v, rand() % 2);
	} else {
		shadow_clear(&s);
		memset(model, NONE, sizeof(model));
	}
}

/* The hash grows a few buckets at a time, between events. */
static void rehash_some(void)
{
	unsigned int bits = shadow_wanted_bucket_bits(&s);

	if (s.old_buckets) {
		free(shadow_rehash_step(&s, 1 + rand() % 4));
		return;
	}
	if (!bits)
		return;
	shadow_rehash_begin(&s, calloc(1U << bits, sizeof(struct shadow_page *)),
			    bits);
	CHECK_EQ(s.bucket_bits, bits);
	CHECK_EQ(shadow_wanted_bucket_bits(&s), 0);
}

static void finish_rehash(void)
{
	while (s.old_buckets)
		free(shadow_rehash_step(&s, 1 + rand() % 4));
}

/* set_max: pages of more VMs count as star (the module: SHADOW_SET_MAX) */
static void run(unsigned int seed, int fail, unsigned int set_max)
{
	int i, bad = 0;

	srand(seed);
	fail_percent = fail;
	memset(model, NONE, sizeof(model));
	memset(vm_alive, 0, sizeof(vm_alive));
	/* two buckets at first, so that chains and rehashes happen */
	shadow_init(&s, &ops, calloc(2, sizeof(struct shadow_page *)), 1);
	s.set_max = set_max;
	for (i = 0; i < EVENTS; i++) {
		step();
		if (i % 8 == 0)
			rehash_some();
		if (!check_model()) {
			bad++;
			if (bad < 5)
				fprintf(stderr, "seed %u: mismatch after event %d\n",
					seed, i);
		}
	}
	CHECK_EQ(bad, 0);
	for (i = 0; i < VMS; i++)
		if (vm_alive[i])
			forget_vm(i, 1);
	finish_rehash();
	CHECK_EQ(s.ksm_pages, 0);
	CHECK_EQ(s.ksm_mappings, 0);
	free(s.buckets);
	CHECK_EQ(live_allocs, 0);	/* nothing leaked */
}

static void forget_all(struct shadow_vm *vm)
{
	unsigned int cursor = 0;

	while (!shadow_vm_forget_step(&s, vm, &cursor, 3))
		;
}

/* interface.md's worked example, step by step */
static void test_worked_example(void)
{
	struct shadow_vm *v1, *v2, *v3;
	int i;

	fail_percent = 0;
	shadow_init(&s, &ops, calloc(16, sizeof(struct shadow_page *)), 4);
	v1 = shadow_vm_add(&s, mm_ptr(1));
	v2 = shadow_vm_add(&s, mm_ptr(2));
	v3 = shadow_vm_add(&s, mm_ptr(3));
	CHECK(shadow_vm_add(&s, mm_ptr(1)) == v1);
	for (i = 0; i < 3; i++) {
		shadow_join(&s, v1, addr_of(i), node_ptr(0));		/* A */
		shadow_join(&s, v1, addr_of(3 + i), node_ptr(1));	/* B */
	}
	shadow_join(&s, v1, addr_of(6), node_ptr(2));		/* C */
	shadow_join(&s, v1, addr_of(7), node_ptr(2));
	CHECK_EQ(v1->counts.self_shared, 3);
	for (i = 0; i < 3; i++) {
		shadow_join(&s, v2, addr_of(i), node_ptr(i));
		shadow_join(&s, v3, addr_of(i), node_ptr(i));
	}
	for (i = 3; i < 8; i++) {
		shadow_join(&s, v2, addr_of(i), node_ptr(3));		/* D */
		shadow_join(&s, v3, addr_of(i), node_ptr(3));
	}
	CHECK_EQ(s.ksm_pages, 4);
	CHECK_EQ(s.ksm_mappings, 24);
	CHECK_EQ(v1->counts.self_shared, 0);
	CHECK_EQ(v1->counts.inter_shared, 3);
	CHECK_EQ(v1->counts.ksm_mapped, 8);
	CHECK_EQ(v2->counts.inter_shared, 4);
	/* v2 and v3 go: v1 is alone on A, B, C */
	CHECK(!shadow_vm_remove(&s, v2));	/* not while it has mappings */
	forget_all(v2);
	forget_all(v3);
	CHECK(shadow_vm_remove(&s, v2));
	CHECK(shadow_vm_remove(&s, v3));
	CHECK_EQ(v1->counts.self_shared, 3);
	CHECK_EQ(v1->counts.inter_shared, 0);
	CHECK_EQ(s.ksm_pages, 3);
	forget_all(v1);
	CHECK(shadow_vm_remove(&s, v1));
	CHECK_EQ(live_allocs, 0);
	free(s.buckets);
}

static void test_index_exhaustion(void)
{
	unsigned int i;

	fail_percent = 0;
	shadow_init(&s, &ops, calloc(2, sizeof(struct shadow_page *)), 1);
	for (i = 0; i < SHADOW_MAX_VMS; i++)
		if (!shadow_vm_add(&s, (void *)(uintptr_t)(0x1000 + 8 * i)))
			break;
	CHECK_EQ(i, SHADOW_MAX_VMS);
	CHECK(shadow_vm_add(&s, (void *)(uintptr_t)0x999999) == NULL);
	for (i = 0; i < SHADOW_MAX_VMS; i++)
		shadow_vm_remove(&s, s.vms[i]);
	CHECK_EQ(s.n_vms, 0);
	CHECK_EQ(live_allocs, 0);
	free(s.buckets);
}

int main(void)
{
	test_worked_example();
	test_index_exhaustion();
	run(1, 0, SHADOW_SET_MAX);
	run(2, 0, 3);	/* pages of 4 or more VMs go to star and back */
	run(3, 10, SHADOW_SET_MAX);	/* one allocation in ten fails */
	run(4, 10, 2);
	return unit_report("test_shadow");
}
