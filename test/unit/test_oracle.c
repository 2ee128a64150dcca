// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the oracle's counting, on hand-built page tables. */
#include <stdio.h>
#include <string.h>

#include "oracle_core.h"
#include "unit.h"

#define MAX_PAGES 64

static struct oracle_page pages[MAX_PAGES];
static size_t n_pages;

/* VM vm maps pfn `times` times; mapcount is filled in by finish_table */
static void map(uint32_t vm, uint64_t pfn, int times, int ksm)
{
	while (times--) {
		pages[n_pages].vm = vm;
		pages[n_pages].pfn = pfn;
		pages[n_pages].ksm = ksm;
		n_pages++;
	}
}

/* Map counts as the kernel would give them, plus extra mappings by
 * processes outside the table for one pfn. */
static void finish_table(uint64_t outside_pfn, uint32_t outside)
{
	size_t i, j;

	for (i = 0; i < n_pages; i++) {
		pages[i].mapcount = pages[i].pfn == outside_pfn ? outside : 0;
		for (j = 0; j < n_pages; j++)
			pages[i].mapcount += pages[j].pfn == pages[i].pfn;
	}
}

static void check_counts(const struct oracle_vm_counts *c, long unique,
			 long self, long inter, long mapped)
{
	CHECK_EQ(c->unique, unique);
	CHECK_EQ(c->self_shared, self);
	CHECK_EQ(c->inter_shared, inter);
	CHECK_EQ(c->ksm_mapped, mapped);
	CHECK_EQ(c->predicted_freed, unique + self);
}

static long freed(int a, int b, int c)
{
	unsigned char set[3] = { a, b, c };

	return oracle_freed(pages, n_pages, set);
}

/* interface.md's worked example: 3 VMs x 8 pages on 4 KSM pages */
static void test_worked_example(void)
{
	struct oracle_vm_counts c[3];
	struct oracle_result res;

	n_pages = 0;
	map(0, 100, 3, 1);	/* A */
	map(0, 101, 3, 1);	/* B */
	map(0, 102, 2, 1);	/* C */
	map(1, 100, 1, 1);
	map(1, 101, 1, 1);
	map(1, 102, 1, 1);
	map(1, 103, 5, 1);	/* D */
	map(2, 102, 1, 1);
	map(2, 101, 1, 1);
	map(2, 100, 1, 1);
	map(2, 103, 5, 1);
	finish_table(0, 0);
	oracle_count(pages, n_pages, 3, &res, c);
	CHECK_EQ(res.ksm_pages, 4);
	CHECK_EQ(res.ksm_mappings, 24);
	CHECK_EQ(res.inconsistent, 0);
	check_counts(&c[0], 0, 0, 3, 8);
	check_counts(&c[1], 0, 0, 4, 8);
	check_counts(&c[2], 0, 0, 4, 8);
	CHECK_EQ(freed(1, 0, 0), 0);
	CHECK_EQ(freed(0, 1, 1), 1);	/* D only */
	CHECK_EQ(freed(1, 1, 0), 0);	/* vm3 still maps everything */
	CHECK_EQ(freed(1, 1, 1), 4);
	CHECK_EQ(freed(0, 0, 0), 0);
}

static void test_mixed(void)
{
	struct oracle_vm_counts c[2];
	struct oracle_result res;

	n_pages = 0;
	map(0, 10, 1, 0);	/* private pages */
	map(0, 11, 1, 0);
	map(1, 12, 1, 0);
	map(0, 20, 4, 1);	/* self-shared, 4 mappings */
	map(1, 21, 2, 1);	/* self-shared in vm 1 */
	map(0, 22, 1, 1);	/* inter-shared */
	map(1, 22, 1, 1);
	map(1, 23, 1, 1);	/* also mapped outside the table */
	map(0, 24, 1, 1);	/* KSM page left with one mapping */
	finish_table(23, 2);
	oracle_count(pages, n_pages, 2, &res, c);
	check_counts(&c[0], 2, 2, 1, 6);
	check_counts(&c[1], 1, 1, 2, 4);
	/* mapped once and by no one else: 10, 11, 24 and 12 */
	CHECK_EQ(c[0].uss, 3);
	CHECK_EQ(c[1].uss, 1);
	CHECK_EQ(res.ksm_pages, 5);
	CHECK_EQ(res.ksm_mappings, 10);
	/* evicting vm 0 frees its 2 private + 20 + 24; 22 stays with vm 1 */
	CHECK_EQ(freed(1, 0, 0), c[0].predicted_freed);
	CHECK_EQ(freed(0, 1, 0), 2);	/* 12 and 21: 23 has outside users */
	CHECK_EQ(freed(1, 1, 0), 7);	/* everything but 23 */
}

static void test_inconsistent_and_single(void)
{
	struct oracle_vm_counts c[1];
	struct oracle_result res;

	n_pages = 0;
	map(0, 5, 3, 1);
	map(0, 6, 1, 0);
	map(0, 7, 1, 0);
	finish_table(0, 0);
	pages[0].mapcount = 1;	/* changed under the reader */
	oracle_count(pages, n_pages, 1, &res, c);
	CHECK_EQ(res.inconsistent, 1);

	/* smaps says one of the two private-looking pages is KSM */
	finish_table(0, 0);
	oracle_count(pages, n_pages, 1, &res, c);
	oracle_add_single_ksm(&res, &c[0], 1);
	check_counts(&c[0], 1, 2, 0, 4);
	CHECK_EQ(res.ksm_pages, 2);
	CHECK_EQ(res.ksm_mappings, 4);
	CHECK_EQ(freed(1, 0, 0), 3);
}

/* What oracle_sets() reported: "n:members=pages" per line, in order. */
static char sets_seen[256];

static void record_set(const uint32_t *members, int n, long pages, void *ctx)
{
	size_t len = strlen(sets_seen);
	int i;

	(void)ctx;
	len += snprintf(sets_seen + len, sizeof(sets_seen) - len, "%d:", n);
	for (i = 0; i < n; i++)
		len += snprintf(sets_seen + len, sizeof(sets_seen) - len,
				i ? ",%u" : "%u", members[i]);
	snprintf(sets_seen + len, sizeof(sets_seen) - len, "=%ld ", pages);
}

static void test_sets(void)
{
	struct oracle_vm_counts c[3];
	struct oracle_result res;

	n_pages = 0;
	map(2, 30, 1, 1);	/* {0, 2}, twice */
	map(0, 30, 3, 1);
	map(0, 31, 1, 1);
	map(2, 31, 1, 1);
	map(1, 32, 2, 1);	/* {1} */
	map(0, 33, 1, 1);	/* {0, 1, 2} */
	map(1, 33, 1, 1);
	map(2, 33, 1, 1);
	map(1, 34, 1, 1);	/* also mapped outside: "*" */
	map(0, 35, 1, 0);	/* not KSM: in no set */
	map(1, 35, 1, 0);
	finish_table(34, 1);
	oracle_count(pages, n_pages, 3, &res, c);
	sets_seen[0] = '\0';
	CHECK_EQ(oracle_sets(pages, n_pages, record_set, NULL), 0);
	CHECK(!strcmp(sets_seen, "1:1=1 2:0,2=2 3:0,1,2=1 -1:=1 "));
	sets_seen[0] = '\0';
	CHECK_EQ(oracle_sets(pages, 0, record_set, NULL), 0);
	CHECK(!strcmp(sets_seen, ""));
}

static void test_empty(void)
{
	struct oracle_vm_counts c[1];
	struct oracle_result res;

	n_pages = 0;
	oracle_count(pages, 0, 1, &res, c);
	CHECK_EQ(res.ksm_pages, 0);
	check_counts(&c[0], 0, 0, 0, 0);
	CHECK_EQ(freed(1, 0, 0), 0);
}

int main(void)
{
	test_worked_example();
	test_mixed();
	test_inconsistent_and_single();
	test_sets();
	test_empty();
	return unit_report("test_oracle");
}
