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
