// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "oracle_core.h"

static int by_pfn(const void *a, const void *b)
{
	const struct oracle_page *x = a, *y = b;

	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return x->vm < y->vm ? -1 : x->vm > y->vm;
}

/* End of the run of pages sharing pages[i].pfn. */
static size_t run_end(const struct oracle_page *pages, size_t n, size_t i)
{
	size_t j = i;

	while (j < n && pages[j].pfn == pages[i].pfn)
		j++;
	return j;
}

void oracle_count(struct oracle_page *pages, size_t n, int n_vms,
		  struct oracle_result *res, struct oracle_vm_counts *counts)
{
	size_t i, j, k;

	memset(res, 0, sizeof(*res));
	memset(counts, 0, n_vms * sizeof(*counts));
	qsort(pages, n, sizeof(*pages), by_pfn);

	for (i = 0; i < n; i = j) {
		int vms = 0, outside;

		j = run_end(pages, n, i);
		if (pages[i].mapcount < j - i)
			res->inconsistent++;
		if (pages[i].mapcount == 1 && j - i == 1)
			counts[pages[i].vm].uss++;
		if (!pages[i].ksm) {
			for (k = i; k < j; k++)
				counts[pages[k].vm].unique++;
			continue;
		}
		/* sorted by vm within the run: count distinct VMs */
		for (k = i; k < j; k++)
			vms += k == i || pages[k].vm != pages[k - 1].vm;
		/* mappings by processes outside the table share it too */
		outside = pages[i].mapcount > j - i;
		res->ksm_pages++;
		res->ksm_mappings += j - i;
		for (k = i; k < j; k++) {
			struct oracle_vm_counts *c = &counts[pages[k].vm];

			c->ksm_mapped++;
			if (k > i && pages[k].vm == pages[k - 1].vm)
				continue;
			if (vms == 1 && !outside)
				c->self_shared++;
			else
				c->inter_shared++;
		}
	}
	for (k = 0; k < (size_t)n_vms; k++)
		counts[k].predicted_freed = counts[k].unique +
					    counts[k].self_shared;
}

void oracle_add_single_ksm(struct oracle_result *res,
			   struct oracle_vm_counts *c, long pages)
{
	c->unique -= pages;
	c->self_shared += pages;
	c->ksm_mapped += pages;
	res->ksm_pages += pages;
	res->ksm_mappings += pages;
	/* unique + self_shared, and so predicted_freed, is unchanged */
}

long oracle_freed(const struct oracle_page *pages, size_t n,
		  const unsigned char *evicted)
{
	long freed = 0;
	size_t i, j, k;

	for (i = 0; i < n; i = j) {
		size_t inside = 0;

		j = run_end(pages, n, i);
		for (k = i; k < j; k++)
			inside += evicted[pages[k].vm] != 0;
		if (inside == j - i && pages[i].mapcount <= inside)
			freed++;
	}
	return freed;
}

/* One KSM page's set: its members at pool[start], n of them. */
struct page_set {
	const uint32_t *pool;
	size_t start;
	int n;
};

static int by_members(const void *a, const void *b)
{
	const struct page_set *x = a, *y = b;
	int i;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	for (i = 0; i < x->n; i++) {
		uint32_t p = x->pool[x->start + i], q = y->pool[y->start + i];

		if (p != q)
			return p < q ? -1 : 1;
	}
	return 0;
}

int oracle_sets(const struct oracle_page *pages, size_t n,
		void (*line)(const uint32_t *members, int n_members,
			     long pages, void *ctx),
		void *ctx)
{
	uint32_t *pool = malloc((n + 1) * sizeof(*pool));
	struct page_set *sets = malloc((n + 1) * sizeof(*sets));
	size_t i, j, k, n_sets = 0, used = 0;
	long outside = 0;

	if (!pool || !sets) {
		free(pool);
		free(sets);
		return -1;
	}
	for (i = 0; i < n; i = j) {
		j = run_end(pages, n, i);
		if (!pages[i].ksm)
			continue;
		if (pages[i].mapcount > j - i) {
			outside++;
			continue;
		}
		sets[n_sets].pool = pool;
		sets[n_sets].start = used;
		sets[n_sets].n = 0;
		/* sorted by vm within the run: the distinct ones, ascending */
		for (k = i; k < j; k++) {
			if (k > i && pages[k].vm == pages[k - 1].vm)
				continue;
			pool[used++] = pages[k].vm;
			sets[n_sets].n++;
		}
		n_sets++;
	}
	qsort(sets, n_sets, sizeof(*sets), by_members);
	for (i = 0; i < n_sets; i = j) {
		for (j = i + 1; j < n_sets && !by_members(&sets[i], &sets[j]); j++)
			;
		line(pool + sets[i].start, sets[i].n, (long)(j - i), ctx);
	}
	if (outside)
		line(NULL, -1, outside, ctx);
	free(pool);
	free(sets);
	return 0;
}
