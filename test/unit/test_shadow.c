// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow map against two naive models, after every event of a long
 * random sequence:
 *
 *  - the kernel ("truth"): per (VM, address) the pte's KSM page and the
 *    stable rmap_item's. KSM's orders are kept: a merge replaces the pte
 *    before its join arrives; a COW changes the pte before its leave; a
 *    drop (stale stable node) removes every rmap_item of the node and
 *    sends no leave; the node's address is then reused by later merges.
 *    At a full scan's start no join is in flight, and every leave of a pte
 *    changed before the previous scan's start has come.
 *  - the shadow's own rules ("mirror"): a count per (VM, node), with the
 *    walk window's records for a VM being rebuilt, and the window's
 *    handling of stale records. The shadow must equal the mirror after
 *    every event (set histogram included), and the mirror must equal the
 *    truth for every VM the shadow claims exact: always outside its
 *    window, and at the end of a window that was neither dirty nor hit by
 *    a failed allocation.
 *
 * Interleaved with the events: VMs rebuilt (window begin, forget a few
 * slots at a time, a walk whose page lookups race with merges, COWs and
 * drops, window end two scan starts later, records freed a few buckets at
 * a time), VMs that exit, both tables resized a few slots at a time,
 * lost pages given a set, failed allocations. Dup chains are several
 * stable nodes of one content, which the shadow sees as distinct pages:
 * the random node choice covers them; migrations keep the stable node,
 * so they are no event for the shadow at all.
 *
 * Then the costs: probes per event at 1, 16 and 256 mappings per page,
 * and bytes per mapping for the shapes issue 9 names.
 */
#include <stdlib.h>
#include <string.h>

#include <ksm_vmshare/shadow.h>
#include "unit.h"

#define VMS	8
#define ADDRS	64
#define NODES	24
#define EVENTS	150000
#define NONE	(-1)
#define RECS	4	/* records of one (VM, address): at most 2 in fact */

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

/* the kernel */
static int pte[VMS][ADDRS];		/* KSM page the pte maps, or NONE */
static int rmap[VMS][ADDRS];		/* node of the stable rmap_item */
static int cow_scan[VMS][ADDRS];	/* scan during which the pte changed */
static unsigned long scans;

/* the shadow's rules */
static long cnt[VMS][NODES];		/* mappings of (VM, node) */
static int rec[VMS][ADDRS][RECS];	/* window records: nodes, or NONE */
static unsigned long rec_seq[VMS][ADDRS][RECS];	/* and when made */
/* tombstones: when (VM, node) was last dropped in its window, or 0 */
static unsigned long tomb_seq[VMS][NODES];
static unsigned long seq;		/* records and tombstones made */
static int window[VMS];
static int inexact[VMS];		/* a failed join, or a dirty window */
static int vm_alive[VMS];
static struct shadow_vm *vm_of[VMS];
static int forgetting = NONE;		/* the VM being forgotten: no checks */
static int exiting = NONE;		/* KSM has let go of it: no events */

/* shadow_window_end() for the mirror: v's tombstones no longer count */
static void mirror_window_end(int v)
{
	memset(tomb_seq[v], 0, sizeof(tomb_seq[v]));
}
static int closing;			/* the end: no events at all */

static int why_line;	/* the first sub-check that failed, for the report */
#define OK(cond)	do { if (!(cond) && ok) why_line = __LINE__; ok &= !!(cond); } while (0)

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

/* --- the mirror: what the shadow must do ------------------------------ */

static int rec_slot(int v, int a, int n)
{
	int i;

	for (i = 0; i < RECS; i++)
		if (rec[v][a][i] == n)
			return i;
	return NONE;
}

static long stale_caught;	/* stale records a pair would have passed */

/* A record is live unless its page was dropped after it was made. */
static int rec_live(int v, int a, int i)
{
	int n = rec[v][a][i];

	if (tomb_seq[v][n] > rec_seq[v][a][i]) {
		stale_caught += cnt[v][n] > 0;
		return 0;
	}
	return cnt[v][n] > 0;
}

/* shadow_join() by the rules; returns what it must return */
static int mirror_join(int v, int a, int n, int r)
{
	int i;

	if (window[v] == SHADOW_WINDOW_FORGET)
		return 0;
	if (window[v] == SHADOW_WINDOW_WALK) {
		i = rec_slot(v, a, n);
		if (i != NONE && rec_live(v, a, i))
			return 0;
		if (i != NONE)
			rec[v][a][i] = NONE;	/* stale: dropped */
		if (r < 0)
			return r;
		i = rec_slot(v, a, NONE);
		CHECK(i != NONE);
		if (i == NONE)
			return r;
		rec[v][a][i] = n;
		rec_seq[v][a][i] = ++seq;
	}
	if (r < 0)
		return r;
	cnt[v][n]++;
	return 1;
}

static int mirror_leave(int v, int a, int n)
{
	int i;

	if (window[v] == SHADOW_WINDOW_FORGET)
		return 0;
	if (window[v] == SHADOW_WINDOW_WALK) {
		i = rec_slot(v, a, n);
		if (i == NONE)
			return 0;
		if (!rec_live(v, a, i)) {
			rec[v][a][i] = NONE;
			return 0;
		}
		rec[v][a][i] = NONE;
	}
	if (!cnt[v][n])
		return 0;
	cnt[v][n]--;
	return 1;
}

static int do_join(int v, int a, int n)
{
	int r = shadow_join(&s, vm_of[v], addr_of(a), node_ptr(n));
	int want;

	CHECK(r == 1 || r == 0 || r == -ENOMEM);
	if (r == -ENOMEM)
		CHECK(fail_percent || (s.used + 1) * 100 > s.n_slots * 95);
	want = mirror_join(v, a, n, r);
	CHECK_EQ(r, want);
	if (r < 0)
		inexact[v] = 1;
	return r;
}

static void do_leave(int v, int a, int n)
{
	CHECK_EQ(shadow_leave(&s, vm_of[v], addr_of(a), node_ptr(n)),
		 mirror_leave(v, a, n));
}

/* --- the kernel's events ---------------------------------------------- */

static int join_pending(int v, int a)
{
	return pte[v][a] != NONE && rmap[v][a] == NONE;
}

static int leave_pending(int v, int a)
{
	return rmap[v][a] != NONE && pte[v][a] != rmap[v][a];
}

static void complete_join(int v, int a)
{
	rmap[v][a] = pte[v][a];
	do_join(v, a, rmap[v][a]);
}

static void complete_leave(int v, int a)
{
	int n = rmap[v][a];

	rmap[v][a] = NONE;
	do_leave(v, a, n);
}

static int node_has_pending_join(int n)
{
	int v, a;

	for (v = 0; v < VMS; v++)
		for (a = 0; a < ADDRS; a++)
			if (join_pending(v, a) && pte[v][a] == n)
				return 1;
	return 0;
}

static void drop(int n)
{
	long want = 0, r;
	int v, a, was_dirty[VMS];

	for (v = 0; v < VMS; v++) {
		was_dirty[v] = vm_alive[v] && vm_of[v]->dirty;
		want += cnt[v][n];
		for (a = 0; a < ADDRS; a++) {
			if (rmap[v][a] == n)
				rmap[v][a] = NONE;
			if (pte[v][a] == n)
				pte[v][a] = NONE;
		}
	}
	r = shadow_drop_page(&s, node_ptr(n));
	/* a VM half forgotten: its mirror counts are not the shadow's */
	if (forgetting == NONE)
		CHECK_EQ(r, want ? want : -1);
	/*
	 * records stay behind (rec[] keeps them), counts go; a window VM
	 * gets a tombstone unless it is dirty already, or its allocation
	 * fails (which makes it dirty)
	 */
	for (v = 0; v < VMS; v++) {
		if (window[v] == SHADOW_WINDOW_WALK && cnt[v][n] &&
		    !was_dirty[v] && (tomb_seq[v][n] || !vm_of[v]->dirty))
			tomb_seq[v][n] = ++seq;
		cnt[v][n] = 0;
	}
}

static void ensure_vm(int v)
{
	if (vm_alive[v])
		return;
	vm_of[v] = shadow_vm_add(&s, mm_ptr(v));
	if (vm_of[v]) {
		vm_alive[v] = 1;
		window[v] = SHADOW_WINDOW_NONE;
		inexact[v] = 0;
	}
}

/* One kernel event of a live VM, any VM (v too, in its window). */
static int last_dropped = NONE;

static void kernel_event(void)
{
	int r = rand() % 100, v = rand() % VMS, a = rand() % ADDRS;
	int n = rand() % NODES;

	/*
	 * SLUB hands a freed stable node's memory to the next one: merge
	 * onto the address of the page dropped last, now and then
	 */
	if (last_dropped != NONE && rand() % 4 == 0)
		n = last_dropped;

	if (closing)
		return;
	if (r < 3) {
		ensure_vm(v);
		return;
	}
	if (!vm_alive[v] || v == exiting)
		return;
	if (r < 40) {
		/* replace_page(): the pte first, the join a bit later */
		if (pte[v][a] == NONE && rmap[v][a] == NONE)
			pte[v][a] = n;
		if (rand() % 2 && join_pending(v, a))
			complete_join(v, a);
	} else if (r < 60) {
		if (join_pending(v, a))
			complete_join(v, a);
	} else if (r < 78) {
		/* a write breaks COW: the leave comes when ksmd passes */
		if (rmap[v][a] != NONE && pte[v][a] == rmap[v][a]) {
			pte[v][a] = NONE;
			cow_scan[v][a] = (int)scans;
		}
	} else if (r < 96) {
		if (leave_pending(v, a))
			complete_leave(v, a);
	} else if (r < 98) {
		if (!node_has_pending_join(n)) {
			drop(n);
			last_dropped = n;
		}
	} else {
		/* a pte to another KSM page after the leave (rare) */
		if (leave_pending(v, a) && pte[v][a] == NONE)
			complete_leave(v, a);
	}
}

/*
 * ksmd starts a full scan: every join in flight has come, and every leave
 * of a pte changed before the previous scan's start.
 */
static void scan_start(void)
{
	int v, a;

	for (v = 0; v < VMS; v++)
		for (a = 0; a < ADDRS; a++) {
			if (!vm_alive[v])
				continue;
			if (join_pending(v, a))
				complete_join(v, a);
			if (leave_pending(v, a) && cow_scan[v][a] < (int)scans)
				complete_leave(v, a);
		}
	scans++;
}

/* --- checks ---------------------------------------------------------- */

/*
 * The set histogram against the mirror's: pages per exact set of VMs (a
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
		OK(set->pages > 0 && set->n >= 1 && set->n <= s.set_max);
		for (i = 0; i < set->n; i++) {
			for (v = 0; v < VMS; v++)
				if (vm_alive[v] && vm_of[v]->index == set->members[i])
					mask |= 1 << v;
			OK(i == 0 || set->members[i - 1] < set->members[i]);
		}
		OK(__builtin_popcount(mask) == (int)set->n);
		OK(have[mask] == 0);	/* one record per set */
		have[mask] = set->pages;
		records++;
	}
	OK(records == s.n_sets && s.objects[SHADOW_OBJ_SET] == records);
	for (mask = 0; mask < 1 << VMS; mask++) {
		OK(have[mask] <= want[mask]);
		missing += want[mask] - have[mask];
	}
	OK(s.star.pages <= want_star);
	missing += want_star - s.star.pages;
	OK(missing == s.lost.pages);
	OK(fail_percent || s.lost.pages == 0);
	return ok;
}

/* The shadow against the mirror, counts, sets and objects. */
static int check_mirror(void)
{
	long mapped[VMS] = { 0 }, self[VMS] = { 0 }, inter[VMS] = { 0 };
	long pages = 0, mappings = 0, sets[1 << VMS] = { 0 }, star = 0;
	long spills = 0, recs = 0, vm_recs[VMS] = { 0 };
	int n, v, a, i, ok = 1;

	for (n = 0; n < NODES; n++) {
		int vms = 0, mask = 0;
		long total = 0;

		for (v = 0; v < VMS; v++) {
			vms += cnt[v][n] > 0;
			total += cnt[v][n];
			mask |= (cnt[v][n] > 0) << v;
			if (vm_alive[v])
				OK(shadow_page_count(&s, vm_of[v],
							node_ptr(n)) ==
				      (unsigned long)cnt[v][n]);
		}
		OK(shadow_has_page(&s, node_ptr(n)) == (total > 0));
		if (!total)
			continue;
		if ((unsigned int)vms > s.set_max)
			star++;
		else
			sets[mask]++;
		pages++;
		spills += vms > 2;
		mappings += total;
		for (v = 0; v < VMS; v++) {
			if (!cnt[v][n])
				continue;
			mapped[v] += cnt[v][n];
			if (vms == 1)
				self[v]++;
			else
				inter[v]++;
		}
	}
	OK(s.ksm_pages == pages && s.ksm_mappings == mappings);
	OK(s.used == (unsigned long)pages);
	for (v = 0; v < VMS; v++) {
		if (!vm_alive[v]) {
			OK(shadow_vm_find(&s, mm_ptr(v)) == NULL);
			continue;
		}
		for (a = 0; a < ADDRS; a++)
			for (i = 0; i < RECS; i++)
				vm_recs[v] += rec[v][a][i] != NONE;
		for (n = 0; n < NODES; n++)
			vm_recs[v] += tomb_seq[v][n] != 0;
		OK(vm_of[v]->window == window[v]);
		OK(vm_of[v]->counts.ksm_mapped == mapped[v]);
		OK(vm_of[v]->counts.self_shared == self[v]);
		OK(vm_of[v]->counts.inter_shared == inter[v]);
		/* records out of their window are freed bit by bit */
		if (window[v] == SHADOW_WINDOW_WALK)
			OK(vm_of[v]->n_recs == (unsigned long)vm_recs[v]);
		else
			OK(vm_recs[v] == 0);
		recs += vm_of[v]->n_recs;
	}
	OK(s.n_recs == (unsigned long)recs);
	OK(s.objects[SHADOW_OBJ_REC] == recs);
	for (i = 0; i < SHADOW_SPILL_KINDS; i++)
		spills -= s.objects[SHADOW_OBJ_SPILL + i];
	OK(spills == 0);
	if (!check_sets(sets, star))
		ok = 0;
	return ok;
}

/* The mirror against the kernel, for the VMs the shadow claims exact. */
static int check_truth(void)
{
	int v, a, n, ok = 1;

	for (v = 0; v < VMS; v++) {
		long want[NODES] = { 0 };

		if (!vm_alive[v] || inexact[v] || window[v] != SHADOW_WINDOW_NONE)
			continue;
		for (a = 0; a < ADDRS; a++)
			if (rmap[v][a] != NONE)
				want[rmap[v][a]]++;
		for (n = 0; n < NODES; n++)
			OK(want[n] == cnt[v][n]);
	}
	return ok;
}

static long mismatches;

static void check_all(const char *where)
{
	if (forgetting != NONE)
		return;
	if (!check_mirror() || !check_truth()) {
		if (++mismatches < 5)
			fprintf(stderr, "mismatch %s (line %d)\n", where,
				why_line);
	}
}

static void event(void)
{
	kernel_event();
	check_all("after an event");
}

/* --- the work item's steps -------------------------------------------- */

static void finish_resizes(void)
{
	while (s.old_slots) {
		free(shadow_resize_step(&s, 1 + rand() % 8));
		event();
	}
	while (s.old_recs)
		free(shadow_rec_rehash_step(&s, 1 + rand() % 8));
}

/* A new table of n slots, as the work item sizes it: maybe refused. */
static void resize_begin(unsigned long n)
{
	struct shadow_page *slots = calloc(n, sizeof(*slots));

	if (!shadow_resize_begin(&s, slots, n))
		free(slots);
}

static void resize_some(void)
{
	unsigned long n = shadow_wanted_slots(&s);
	unsigned int bits = shadow_wanted_rec_bits(&s);

	if (s.old_slots)
		free(shadow_resize_step(&s, 1 + rand() % 8));
	else if (n)
		resize_begin(n);
	if (s.old_recs)
		free(shadow_rec_rehash_step(&s, 1 + rand() % 4));
	else if (bits)
		shadow_rec_rehash_begin(&s, calloc(1UL << bits,
					sizeof(struct shadow_rec *)), bits);
}

/* Free records of VMs out of their window, a few buckets per call. */
static void purge_all(void)
{
	unsigned long cursor = 0;

	while (s.old_recs)
		free(shadow_rec_rehash_step(&s, 4));
	while (!shadow_window_purge_step(&s, &cursor, 1 + rand() % 8))
		event();
}

static void fix_sets(void)
{
	unsigned long cursor = 0;
	int fail = fail_percent;

	fail_percent = 0;
	while (!shadow_sets_fix_step(&s, &cursor, 1 + rand() % 8))
		if (s.old_slots)
			break;
	fail_percent = fail;
	CHECK(s.old_slots || s.lost.pages == 0);
}

/* Forget v a few slots at a time, any VM's events in between. */
static void forget(int v)
{
	unsigned long cursor = 0;
	int n;

	if (vm_of[v]->n_recs)
		purge_all();	/* its last window's records first */
	finish_resizes();	/* the worker never forgets while it resizes */
	CHECK(shadow_window_begin(&s, vm_of[v]));
	window[v] = SHADOW_WINDOW_FORGET;
	forgetting = v;
	while (!shadow_vm_forget_step(&s, vm_of[v], &cursor, 1 + rand() % 6))
		kernel_event();
	forgetting = NONE;
	window[v] = SHADOW_WINDOW_WALK;
	for (n = 0; n < NODES; n++)
		cnt[v][n] = 0;
	CHECK_EQ(vm_of[v]->counts.ksm_mapped, 0);
	check_all("after a forget");
}

/*
 * walk.c: each pte looked up, then recorded, then looked up again and
 * taken back if it changed; ksmd runs in between.
 */
static void walk(int v)
{
	int a, seen;

	for (a = 0; a < ADDRS; a++) {
		seen = pte[v][a];
		if (rand() % 4 == 0)
			resize_some();	/* the table grows during walks too */
		if (rand() % 3 == 0)
			event();
		if (seen == NONE)
			continue;
		if (do_join(v, a, seen) != 1)
			continue;
		check_all("after a walk record");
		if (rand() % 3 == 0)
			event();
		if (pte[v][a] != seen) {
			do_leave(v, a, seen);
			check_all("after a walk unrecord");
		}
	}
}

static long windows, dirty_windows, failed_windows;

/*
 * In v's window: the page of one of its records is dropped, a new KSM
 * page gets the freed stable node's address and v merges into it at
 * another address, then at the record's address too. The old record
 * must not pass for the new mapping (a tombstone says it is stale).
 */
static void reuse_in_window(int v)
{
	int a, b, n;

	for (a = 0; a < ADDRS; a++)
		if (rmap[v][a] != NONE && rec_slot(v, a, rmap[v][a]) != NONE)
			break;
	if (a == ADDRS)
		return;
	n = rmap[v][a];
	if (node_has_pending_join(n))
		return;
	drop(n);
	check_all("after a drop in a window");
	b = (a + 1 + rand() % (ADDRS - 1)) % ADDRS;
	if (pte[v][b] != NONE || rmap[v][b] != NONE)
		return;
	pte[v][b] = n;
	complete_join(v, b);
	check_all("after a merge onto a reused node");
	pte[v][a] = n;
	complete_join(v, a);
	check_all("after a merge at a stale record's address");
}

/*
 * Rebuild v: forget, walk, then end the window at the second scan start
 * after the walk (every leave of a pte the walk could not see has come),
 * and free its records. Again while the result is not exact.
 */
static void rebuild(int v)
{
	int tries, a, i;

	for (tries = 0; tries < 4; tries++) {
		int failed = 0, dirty, k;

		forget(v);
		inexact[v] = 0;	/* exact again if the window goes well */
		walk(v);
		if (rand() % 4 == 0)
			reuse_in_window(v);
		failed = inexact[v];
		for (k = 0; k < 2; k++) {
			scan_start();
			check_all("after a scan start");
			if (rand() % 2)
				event();
			failed |= inexact[v];
		}
		dirty = shadow_window_end(&s, vm_of[v]);
		mirror_window_end(v);
		window[v] = SHADOW_WINDOW_NONE;
		for (a = 0; a < ADDRS; a++)
			for (i = 0; i < RECS; i++)
				rec[v][a][i] = NONE;
		windows++;
		dirty_windows += dirty;
		failed_windows += failed;
		inexact[v] = dirty || failed;
		/* the claim: a clean window ends exact */
		if (!inexact[v])
			CHECK(check_truth());
		check_all("after a window end");
		if (rand() % 2)
			purge_all();
		if (!inexact[v])
			return;
	}
}

/* KSM lets go of v: its leaves come, then it is forgotten and freed. */
static void vm_exit(int v)
{
	int a;

	for (a = 0; a < ADDRS; a++) {
		if (join_pending(v, a))
			complete_join(v, a);
		if (rmap[v][a] != NONE) {
			pte[v][a] = NONE;
			complete_leave(v, a);
		}
		pte[v][a] = NONE;
	}
	check_all("after an exit's leaves");
	exiting = v;
	forget(v);
	shadow_window_end(&s, vm_of[v]);
	mirror_window_end(v);
	window[v] = SHADOW_WINDOW_NONE;
	purge_all();
	CHECK(shadow_vm_remove(&s, vm_of[v]));
	vm_alive[v] = 0;
	exiting = NONE;
	check_all("after an exit");
}

static void step(void)
{
	int r = rand() % 1000, v = rand() % VMS;

	if (r < 950) {
		event();
	} else if (r < 970) {
		scan_start();
		check_all("after a scan start");
	} else if (r < 975) {
		fix_sets();
		check_all("after fixing sets");
	} else if (r < 980) {
		unsigned long cursor = 0;

		if (!s.old_recs)
			shadow_window_purge_step(&s, &cursor, 4);
	} else if (r < 996) {
		if (vm_alive[v])
			rebuild(v);
	} else if (vm_alive[v]) {
		vm_exit(v);
	}
}

/*
 * set_max: pages of more VMs count as star (the module: SHADOW_SET_MAX).
 * fail: percent of allocations that fail; a tombstone that fails leaves
 * its window dirty.
 */
static void run(unsigned int seed, int fail, unsigned int set_max)
{
	int i, v;

	srand(seed);
	fail_percent = fail;
	memset(pte, NONE, sizeof(pte));
	memset(rmap, NONE, sizeof(rmap));
	memset(rec, NONE, sizeof(rec));
	memset(cnt, 0, sizeof(cnt));
	memset(vm_alive, 0, sizeof(vm_alive));
	memset(tomb_seq, 0, sizeof(tomb_seq));
	mismatches = 0;
	/* a tiny table at first, so that clusters and resizes happen */
	shadow_init(&s, &ops, calloc(8, sizeof(struct shadow_page)), 8,
		    calloc(2, sizeof(struct shadow_rec *)), 1);
	s.set_max = set_max;
	for (i = 0; i < EVENTS; i++) {
		step();
		if (i % 4 == 0)
			resize_some();
	}
	CHECK_EQ(mismatches, 0);
	if (mismatches)
		fprintf(stderr, "seed %u: %ld mismatches\n", seed, mismatches);
	closing = 1;
	for (v = 0; v < VMS; v++)
		if (vm_alive[v])
			vm_exit(v);
	closing = 0;
	finish_resizes();
	CHECK_EQ(s.ksm_pages, 0);
	CHECK_EQ(s.ksm_mappings, 0);
	CHECK_EQ(s.n_vms, 0);
	free(s.slots);
	free(s.recs);
	CHECK_EQ(live_allocs, 0);	/* nothing leaked */
	printf("seed %u: %ld windows, %ld dirty (a tombstone failed), %ld with a failed allocation; %ld stale records caught on a reused address\n",
	       seed, windows, dirty_windows, failed_windows, stale_caught);
	/* a window goes dirty only when a tombstone cannot be allocated */
	if (!fail)
		CHECK_EQ(dirty_windows, 0);
	/* the address-reuse case, which only tombstones get right, came */
	CHECK(stale_caught > 0);
	windows = dirty_windows = failed_windows = stale_caught = 0;
	last_dropped = NONE;
}

/* --- small cases ------------------------------------------------------ */

static void forget_all(struct shadow_vm *vm)
{
	unsigned long cursor = 0;

	CHECK(shadow_window_begin(&s, vm));
	while (!shadow_vm_forget_step(&s, vm, &cursor, 3))
		;
	shadow_window_end(&s, vm);
}

static void init_small(void)
{
	fail_percent = 0;
	shadow_init(&s, &ops, calloc(64, sizeof(struct shadow_page)), 64,
		    calloc(16, sizeof(struct shadow_rec *)), 4);
}

static void free_small(void)
{
	free(s.slots);
	free(s.recs);
	CHECK_EQ(live_allocs, 0);
}

/* interface.md's worked example, step by step */
static void test_worked_example(void)
{
	struct shadow_vm *v1, *v2, *v3;
	int i;

	init_small();
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
	free_small();
}

/*
 * The window's orders, one by one: the pte seen before the join; a leave
 * of a mapping the walk never saw; a drop with records, and the node's
 * address reused by a new page of the same VM.
 */
static void test_window_orders(void)
{
	struct shadow_vm *v, *w;

	init_small();
	v = shadow_vm_add(&s, mm_ptr(1));
	w = shadow_vm_add(&s, mm_ptr(2));
	shadow_join(&s, v, addr_of(0), node_ptr(0));
	shadow_join(&s, w, addr_of(0), node_ptr(0));
	forget_all(v);	/* window begun and ended: back to counts */
	CHECK(shadow_window_begin(&s, v));
	{
		unsigned long c = 0;

		while (!shadow_vm_forget_step(&s, v, &c, 1))
			;
	}
	CHECK_EQ(v->window, SHADOW_WINDOW_WALK);
	/* the walk sees node 1 at addr 1 before ksmd's join */
	CHECK_EQ(shadow_join(&s, v, addr_of(1), node_ptr(1)), 1);
	CHECK_EQ(shadow_join(&s, v, addr_of(1), node_ptr(1)), 0);
	CHECK_EQ(v->counts.ksm_mapped, 1);
	/* a leave of what the walk never saw */
	CHECK(!shadow_leave(&s, v, addr_of(2), node_ptr(1)));
	CHECK_EQ(v->counts.ksm_mapped, 1);
	/* node 1 dropped; its address comes back as w's page, then v's */
	CHECK_EQ(shadow_drop_page(&s, node_ptr(1)), 1);
	CHECK_EQ(v->n_recs, 2);	/* the record of addr 1 and a tombstone */
	CHECK_EQ(shadow_join(&s, w, addr_of(5), node_ptr(1)), 1);
	CHECK_EQ(shadow_join(&s, v, addr_of(6), node_ptr(1)), 1);
	/* the stale record of addr 1 is no leave to take, nor a known join */
	CHECK(!shadow_leave(&s, v, addr_of(1), node_ptr(1)));
	CHECK_EQ(v->counts.ksm_mapped, 1);
	CHECK_EQ(shadow_drop_page(&s, node_ptr(1)), 2);
	CHECK_EQ(shadow_join(&s, w, addr_of(5), node_ptr(1)), 1);
	CHECK_EQ(shadow_join(&s, v, addr_of(6), node_ptr(1)), 1);
	CHECK_EQ(shadow_join(&s, v, addr_of(6), node_ptr(1)), 0);
	CHECK_EQ(v->counts.ksm_mapped, 1);
	CHECK(!v->dirty);
	CHECK(!shadow_window_end(&s, v));
	{
		unsigned long c = 0;

		while (!shadow_window_purge_step(&s, &c, 1))
			;
	}
	CHECK_EQ(v->n_recs, 0);
	/* a stale record whose page did not come back is just ignored */
	CHECK(shadow_window_begin(&s, v));
	{
		unsigned long c = 0;

		while (!shadow_vm_forget_step(&s, v, &c, 1))
			;
	}
	CHECK_EQ(shadow_join(&s, v, addr_of(3), node_ptr(7)), 1);
	CHECK_EQ(shadow_drop_page(&s, node_ptr(7)), 1);
	CHECK_EQ(shadow_join(&s, v, addr_of(3), node_ptr(7)), 1);
	CHECK(!v->dirty);
	CHECK_EQ(v->counts.ksm_mapped, 1);
	shadow_window_end(&s, v);
	{
		unsigned long c = 0;

		while (!shadow_window_purge_step(&s, &c, 1))
			;
	}
	forget_all(v);
	forget_all(w);
	CHECK(shadow_vm_remove(&s, v));
	CHECK(shadow_vm_remove(&s, w));
	free_small();
}

static void test_index_exhaustion(void)
{
	unsigned int i;

	init_small();
	for (i = 0; i < SHADOW_MAX_VMS; i++)
		if (!shadow_vm_add(&s, (void *)(uintptr_t)(0x1000 + 8 * i)))
			break;
	CHECK_EQ(i, SHADOW_MAX_VMS);
	CHECK(shadow_vm_add(&s, (void *)(uintptr_t)0x999999) == NULL);
	for (i = 0; i < SHADOW_MAX_VMS; i++)
		shadow_vm_remove(&s, s.vms[i]);
	CHECK_EQ(s.n_vms, 0);
	free_small();
}

/* --- costs ----------------------------------------------------------- */

static void grow_fully(void)
{
	unsigned long n;
	unsigned int bits;

	while ((n = shadow_wanted_slots(&s))) {
		resize_begin(n);
		while (s.old_slots)
			free(shadow_resize_step(&s, 1024));
	}
	while ((bits = shadow_wanted_rec_bits(&s))) {
		shadow_rec_rehash_begin(&s, calloc(1UL << bits,
					sizeof(struct shadow_rec *)), bits);
		while (s.old_recs)
			free(shadow_rec_rehash_step(&s, 1024));
	}
}

/* Move the page table to n slots at once (the tests' own resize). */
static void grow_to(unsigned long n)
{
	resize_begin(n);
	while (s.old_slots)
		free(shadow_resize_step(&s, 1024));
}

/*
 * The work item sizes a table outside the lock: a shrink sized while the
 * table emptied must be refused if joins filled it again meanwhile (the
 * move would find no free slot and spin under the lock).
 */
static void test_resize_sized_too_early(void)
{
	struct shadow_vm *v;
	unsigned long n, i;
	struct shadow_page *slots;

	init_small();	/* 64 slots */
	v = shadow_vm_add(&s, mm_ptr(1));
	for (i = 0; i < 50; i++)
		shadow_join(&s, v, addr_of(i), node_ptr(i));
	for (i = 0; i < 50; i++)
		shadow_leave(&s, v, addr_of(i), node_ptr(i));
	n = shadow_wanted_slots(&s);
	CHECK_EQ(n, 0);		/* 64 is the smallest table */
	/* a table grown to 256, emptied: it wants to shrink */
	grow_to(256);
	for (i = 0; i < 20; i++)
		shadow_join(&s, v, addr_of(i), node_ptr(i));
	n = shadow_wanted_slots(&s);
	CHECK(n > 0 && n < 256);
	/* meanwhile, outside the lock, joins fill it past what n holds */
	for (i = 20; i < 200; i++)
		shadow_join(&s, v, addr_of(i), node_ptr(i));
	slots = calloc(n, sizeof(*slots));
	CHECK(!shadow_resize_begin(&s, slots, n));
	free(slots);
	CHECK(s.old_slots == NULL);
	for (i = 0; i < 200; i++)
		CHECK_EQ(shadow_page_count(&s, v, node_ptr(i)), 1);
	forget_all(v);
	CHECK(shadow_vm_remove(&s, v));
	free_small();
}

/* A window's many records gone, the record hash gives its buckets back. */
static void test_rec_hash_shrinks(void)
{
	struct shadow_vm *v;
	unsigned long i, c = 0;
	unsigned int bits;

	init_small();
	v = shadow_vm_add(&s, mm_ptr(1));
	grow_to(4096);
	CHECK(shadow_window_begin(&s, v));
	while (!shadow_vm_forget_step(&s, v, &c, 64))
		;
	for (i = 0; i < 2000; i++)
		shadow_join(&s, v, addr_of(i), node_ptr(i));
	grow_fully();
	CHECK(s.rec_bits >= 11);
	shadow_window_end(&s, v);
	c = 0;
	while (!shadow_window_purge_step(&s, &c, 100))
		;
	CHECK_EQ(s.n_recs, 0);
	bits = shadow_wanted_rec_bits(&s);
	CHECK_EQ(bits, 6);
	grow_fully();
	CHECK_EQ(s.rec_bits, 6);
	CHECK_EQ(shadow_wanted_rec_bits(&s), 0);
	CHECK_EQ(v->counts.ksm_mapped, 2000);
	forget_all(v);
	CHECK(shadow_vm_remove(&s, v));
	free_small();
}


/*
 * A node dropped twice in one window: a record made between the drops is
 * stale after the second, while a record made after it keeps the pair
 * (found by a review: nothing caught a tombstone that kept its first
 * number).
 */
static void test_drop_twice(void)
{
	struct shadow_vm *v;
	unsigned long c = 0;

	init_small();
	v = shadow_vm_add(&s, mm_ptr(1));
	CHECK(shadow_window_begin(&s, v));
	while (!shadow_vm_forget_step(&s, v, &c, 1))
		;
	CHECK_EQ(shadow_join(&s, v, addr_of(1), node_ptr(1)), 1);
	CHECK_EQ(shadow_drop_page(&s, node_ptr(1)), 1);
	CHECK_EQ(shadow_join(&s, v, addr_of(6), node_ptr(1)), 1);
	CHECK_EQ(shadow_drop_page(&s, node_ptr(1)), 1);
	CHECK_EQ(shadow_join(&s, v, addr_of(7), node_ptr(1)), 1);
	/* addr 6's record predates the second drop: stale */
	CHECK_EQ(shadow_join(&s, v, addr_of(6), node_ptr(1)), 1);
	CHECK_EQ(v->counts.ksm_mapped, 2);
	CHECK(!shadow_window_end(&s, v));
	c = 0;
	while (!shadow_window_purge_step(&s, &c, 1))
		;
	forget_all(v);
	CHECK(shadow_vm_remove(&s, v));
	free_small();
}

static struct shadow_vm **shape_vms;

/* pages KSM pages, each mapped by vms VMs maps times each. */
static void build_shape(long pages, int vms, int maps)
{
	long p;
	int v, m;

	fail_percent = 0;
	shadow_init(&s, &ops, calloc(SHADOW_MIN_SLOTS,
				     sizeof(struct shadow_page)),
		    SHADOW_MIN_SLOTS, calloc(64, sizeof(struct shadow_rec *)),
		    6);
	shape_vms = calloc(vms, sizeof(*shape_vms));
	for (v = 0; v < vms; v++)
		shape_vms[v] = shadow_vm_add(&s, mm_ptr(v));
	for (p = 0; p < pages; p++) {
		for (v = 0; v < vms; v++)
			for (m = 0; m < maps; m++)
				CHECK_EQ(shadow_join(&s, shape_vms[v],
						     addr_of(p * maps + m),
						     node_ptr(p)), 1);
		if (shadow_wanted_slots(&s) || shadow_wanted_rec_bits(&s))
			grow_fully();
	}
	grow_fully();
}

static void free_shape(int vms)
{
	int v;

	shadow_clear(&s);
	for (v = 0; v < vms; v++)
		CHECK(shadow_vm_remove(&s, shape_vms[v]));
	free(shape_vms);
	free_small();
}

/*
 * Probes per event in steady state: a random mapping leaves and joins
 * again (its page, VM and set as before), with a resize whenever the
 * table wants one, its moves counted too.
 */
static double probes_per_event(long pages, int vms, int maps)
{
	unsigned long before;
	long i, events = 200000;

	build_shape(pages, vms, maps);
	srand(7);
	before = s.probes;
	for (i = 0; i < events / 2; i++) {
		long p = rand() % pages;
		int v = rand() % vms, m = rand() % maps;
		unsigned long a = addr_of(p * maps + m);

		CHECK(shadow_leave(&s, shape_vms[v], a, node_ptr(p)));
		CHECK_EQ(shadow_join(&s, shape_vms[v], a, node_ptr(p)), 1);
	}
	before = s.probes - before;
	free_shape(vms);
	return (double)before / events;
}

/*
 * What the kernel would spend: kmem_cache_create(size, align 0) rounds an
 * object to 8 bytes (sizeof(void *)) with no debug flags, so each object
 * is its size rounded to 8; a VM counts as its struct shadow_vm (the
 * module embeds it in a larger struct ksmvs_vm: see the note); tables
 * are their bytes (kvmalloc: vmalloc'd past 8 pages, whole pages).
 */
static size_t slab_bytes(enum shadow_obj kind)
{
	return (shadow_obj_size(kind) + 7) & ~(size_t)7;
}

static void bytes_per_mapping(const char *name, long pages, int vms, int maps)
{
	double mappings = (double)pages * vms * maps, per, fixed;
	double load;

	build_shape(pages, vms, maps);
	fixed = sizeof(struct shadow);
	per = (shadow_bytes(&s, slab_bytes) - fixed) / mappings;
	load = (double)s.used / s.n_slots;
	/* the same at the load band's two ends */
	printf("  %-16s %8.2f B/mapping at load %.2f (%.2f at %d%%, %.2f at %d%%); + %.0f B fixed\n",
	       name, per, load,
	       per - sizeof(struct shadow_page) * (1 / load -
		       100.0 / SHADOW_LOAD_MIN) * pages / mappings,
	       SHADOW_LOAD_MIN,
	       per - sizeof(struct shadow_page) * (1 / load -
		       100.0 / SHADOW_LOAD_MAX) * pages / mappings,
	       SHADOW_LOAD_MAX, fixed);
	CHECK(per - sizeof(struct shadow_page) * (1 / load - 100.0 /
	      SHADOW_LOAD_AIM) * pages / mappings <= 24);
	free_shape(vms);
}

static void test_costs(void)
{
	static const struct {
		int vms, maps;
	} shape[] = { { 1, 1 }, { 1, 16 }, { 16, 1 }, { 1, 256 }, { 256, 1 } };
	double one = 0, p;
	unsigned int i;

	printf("probes per event (leave + join again), 4096 pages:\n");
	for (i = 0; i < sizeof(shape) / sizeof(shape[0]); i++) {
		p = probes_per_event(4096, shape[i].vms, shape[i].maps);
		if (i == 0)
			one = p;
		printf("  %3d VMs x %3d mappings per page: %.2f\n",
		       shape[i].vms, shape[i].maps, p);
		if (shape[i].vms * shape[i].maps == 256)
			CHECK(p <= 1.5 * one);
	}
	printf("bytes per mapping (objects rounded to 8 B, tables whole):\n");
	bytes_per_mapping("2 VMs x 1", 65536, 2, 1);
	bytes_per_mapping("4 VMs x 1", 65536, 4, 1);
	bytes_per_mapping("1 VM x 2", 65536, 1, 2);
	bytes_per_mapping("1 VM x 256", 1024, 1, 256);
	bytes_per_mapping("256 VMs x 1", 1024, 256, 1);
}

int main(void)
{
	test_worked_example();
	test_window_orders();
	test_index_exhaustion();
	test_drop_twice();
	test_resize_sized_too_early();
	test_rec_hash_shrinks();
	run(1, 0, SHADOW_SET_MAX);
	/* pages of 4 or more VMs go to star and back */
	run(2, 0, 3);
	run(3, 10, SHADOW_SET_MAX);	/* 1 alloc in 10 fails */
	run(4, 10, 2);
	test_costs();
	return unit_report("test_shadow");
}
