// SPDX-License-Identifier: GPL-2.0
/* Victim and cheapest-set selection; see select.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

static int by_victim_order(const void *a, const void *b)
{
	const struct vm_entry *x = a, *y = b;

	if (x->row.predicted_freed != y->row.predicted_freed)
		return x->row.predicted_freed > y->row.predicted_freed ? -1 : 1;
	if (x->moved != y->moved)
		return x->moved < y->moved ? -1 : 1;
	return (x->row.pid > y->row.pid) - (x->row.pid < y->row.pid);
}

void select_sort(struct vm_entry *vms, size_t n)
{
	qsort(vms, n, sizeof(*vms), by_victim_order);
}

const struct vm_entry *select_victim(const struct vm_entry *vms, size_t n)
{
	return n && vms[0].row.predicted_freed > 0 ? &vms[0] : NULL;
}

/* One candidate set: freed capped at the need, so equal coverage merges. */
struct state {
	long long freed;
	long long moved;
	uint64_t set;
	int count;
};

/* Past this many candidate sets, the exact search gives way to greedy. */
#define MAX_STATES (1 << 16)

static int by_freed_then_cost(const void *a, const void *b)
{
	const struct state *x = a, *y = b;

	if (x->freed != y->freed)
		return x->freed > y->freed ? -1 : 1;
	if (x->moved != y->moved)
		return x->moved < y->moved ? -1 : 1;
	return x->count - y->count;
}

/* Keep only states that no other beats on both freed and cost. */
static size_t prune(struct state *s, size_t n)
{
	long long best_moved = -1;
	int best_count = 0;
	size_t i, out = 0;

	qsort(s, n, sizeof(*s), by_freed_then_cost);
	for (i = 0; i < n; i++) {
		if (best_moved >= 0 && (s[i].moved > best_moved ||
					(s[i].moved == best_moved &&
					 s[i].count >= best_count)))
			continue;
		best_moved = s[i].moved;
		best_count = s[i].count;
		s[out++] = s[i];
	}
	return out;
}

static int exact(const struct vm_entry *vms, size_t n, long long need,
		 struct need_result *res)
{
	size_t count = 1, cap = 64, i, k, best = 0;
	struct state *s = malloc(cap * sizeof(*s));
	int ret = 0;

	if (!s)
		return -1;
	s[0] = (struct state){ 0, 0, 0, 0 };
	for (i = 0; i < n; i++) {
		long long f = vms[i].row.predicted_freed;

		if (f <= 0)
			continue;	/* evicting it frees nothing */
		if (2 * count > cap) {
			struct state *bigger = realloc(s, 2 * count * sizeof(*s));

			if (!bigger) {
				free(s);
				return -1;
			}
			s = bigger;
			cap = 2 * count;
		}
		for (k = 0; k < count; k++) {
			struct state t = s[k];

			t.freed = t.freed + f > need ? need : t.freed + f;
			t.moved += vms[i].moved;
			t.set |= (uint64_t)1 << i;
			t.count++;
			s[count + k] = t;
		}
		count = prune(s, 2 * count);
		if (count > MAX_STATES) {
			ret = 1;	/* too many: let the greedy search answer */
			goto out;
		}
	}
	/*
	 * Pruned and sorted by freed, each state costs less than all before
	 * it: of those that reach the need, the last is the cheapest.
	 */
	res->found = s[0].freed >= need;
	for (best = 0; best + 1 < count && s[best + 1].freed >= need; best++)
		;
	if (res->found)
		for (i = 0; i < n; i++)
			res->chosen[i] = (s[best].set >> i) & 1;
	res->exact_search = 1;
out:
	free(s);
	return ret;
}

static int by_ratio(const void *a, const void *b)
{
	const struct vm_entry *x = *(const struct vm_entry *const *)a;
	const struct vm_entry *y = *(const struct vm_entry *const *)b;
	/* freed per page moved, compared without division */
	long double l = (long double)x->row.predicted_freed * (y->moved ? y->moved : 1);
	long double r = (long double)y->row.predicted_freed * (x->moved ? x->moved : 1);

	return l > r ? -1 : l < r;
}

static int greedy(const struct vm_entry *vms, size_t n, long long need,
		  struct need_result *res)
{
	const struct vm_entry **order = malloc(n * sizeof(*order));
	long long freed = 0;
	size_t i;

	if (!order)
		return -1;
	for (i = 0; i < n; i++)
		order[i] = &vms[i];
	qsort(order, n, sizeof(*order), by_ratio);
	for (i = 0; i < n && freed < need; i++) {
		if (order[i]->row.predicted_freed <= 0)
			break;
		res->chosen[order[i] - vms] = 1;
		freed += order[i]->row.predicted_freed;
	}
	res->found = freed >= need;
	res->exact_search = 0;
	free(order);
	return 0;
}

int select_need(const struct vm_entry *vms, size_t n, long long need,
		struct need_result *res)
{
	size_t i;
	int ret = 1;

	memset(res->chosen, 0, n);
	res->found = 0;
	if (n <= 64)
		ret = exact(vms, n, need, res);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		memset(res->chosen, 0, n);
		if (greedy(vms, n, need, res))
			return -1;
	}
	res->freed = res->moved = 0;
	res->count = 0;
	for (i = 0; i < n; i++) {
		if (!res->chosen[i])
			continue;
		res->freed += vms[i].row.predicted_freed;
		res->moved += vms[i].moved;
		res->count++;
	}
	if (!res->found)
		memset(res->chosen, 0, n);
	return 0;
}
