// SPDX-License-Identifier: GPL-2.0
/* Victim and cheapest-set selection; see select.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
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
	res->from_sets = 0;
	res->freed_exact = 0;
	res->candidates = n;
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

/* --- with /proc/ksm_vmshare_sets ------------------------------------- */

size_t select_exact_max = SELECT_EXACT_MAX;

static long long sat_add(long long a, long long b)
{
	return a > LLONG_MAX - b ? LLONG_MAX : a + b;
}

static int by_pid(const void *a, const void *b)
{
	const long *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

static int by_pid_ll(const void *a, const void *b)
{
	const long long *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* vms[] index of pid, or -1: a binary search over (pid, index) pairs */
static long index_of(const long *pairs, size_t n, long pid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pairs[2 * mid] == pid)
			return pairs[2 * mid + 1];
		if (pairs[2 * mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int sets_view_build(const struct vm_entry *vms, size_t n,
		    const struct vms_sets *sets, int everyone,
		    struct sets_view *view)
{
	long *pairs = malloc((2 * n + 1) * sizeof(*pairs));
	size_t i, members = 0, l = 0, m = 0;

	memset(view, 0, sizeof(*view));
	if (!pairs)
		return -1;
	for (i = 0; i < n; i++) {
		pairs[2 * i] = vms[i].row.pid;
		pairs[2 * i + 1] = (long)i;
	}
	qsort(pairs, n, 2 * sizeof(*pairs), by_pid);
	for (i = 0; i < sets->n_sets; i++)
		members += sets->sets[i].n_pids;
	view->pages = malloc((sets->n_sets + 1) * sizeof(*view->pages));
	view->start = malloc((sets->n_sets + 1) * sizeof(*view->start));
	view->member = malloc((members + 1) * sizeof(*view->member));
	if (!view->pages || !view->start || !view->member) {
		free(pairs);
		sets_view_free(view);
		return -1;
	}
	for (i = 0; i < sets->n_sets; i++) {
		const struct vms_set *s = &sets->sets[i];
		size_t first = m;
		int k;

		if (s->star)
			continue;
		for (k = 0; k < s->n_pids; k++) {
			long idx = index_of(pairs, n, s->pids[k]);

			if (idx < 0)
				break;
			view->member[m++] = (size_t)idx;
		}
		if (k < s->n_pids) {
			m = first;	/* names a VM outside vms[]: never freed */
			continue;
		}
		view->start[l] = first;
		view->pages[l++] = s->pages;
	}
	view->start[l] = m;
	view->n_lines = l;
	view->n_vms = n;
	view->star_pages = sets->star_pages;
	view->everyone = everyone;
	view->max_members = sets->max_members;
	free(pairs);
	return 0;
}

void sets_view_free(struct sets_view *view)
{
	free(view->pages);
	free(view->start);
	free(view->member);
	memset(view, 0, sizeof(*view));
}

/* Whether "*" pages are freed by a set of count VMs, and whether known. */
static long long star_part(const struct sets_view *view, size_t count,
			   int *exact)
{
	if (!view->star_pages || (long long)count <= view->max_members)
		return 0;
	if (count == view->n_vms && view->everyone)
		return view->star_pages;
	*exact = 0;
	return 0;
}

long long select_freed(const struct vm_entry *vms, const struct sets_view *view,
		       const unsigned char *chosen, int *exact)
{
	long long freed = 0;
	size_t i, j, count = 0;

	*exact = 1;
	for (i = 0; i < view->n_vms; i++) {
		if (!chosen[i])
			continue;
		freed = sat_add(freed, vms[i].row.unique);
		count++;
	}
	for (i = 0; i < view->n_lines; i++) {
		for (j = view->start[i]; j < view->start[i + 1]; j++)
			if (!chosen[view->member[j]])
				break;
		if (j == view->start[i + 1])
			freed = sat_add(freed, view->pages[i]);
	}
	return sat_add(freed, star_part(view, count, exact));
}

/* Whether set a beats set b: less moved, fewer VMs, more freed. */
static int better(long long moved_a, int count_a, long long freed_a,
		  long long moved_b, int count_b, long long freed_b)
{
	if (moved_a != moved_b)
		return moved_a < moved_b;
	if (count_a != count_b)
		return count_a < count_b;
	return freed_a > freed_b;
}

/*
 * Every subset: freed[S] = sum over VMs of S of unique + sum over lines
 * within S of pages, by a sum over subsets (O(n 2^n)); then the cheapest
 * that reaches the need.
 */
static int exact_sets(const struct vm_entry *vms, const struct sets_view *view,
		      long long need, struct need_result *res)
{
	size_t n = view->n_vms, full = ((size_t)1 << n) - 1, s, i, j;
	long long *freed = calloc(full + 1, sizeof(*freed));
	long long best_moved = 0, best_freed = 0;
	size_t best = 0;
	int best_count = 0;

	if (!freed)
		return -1;
	for (i = 0; i < n; i++)
		freed[(size_t)1 << i] = vms[i].row.unique;
	for (i = 0; i < view->n_lines; i++) {
		size_t mask = 0;

		for (j = view->start[i]; j < view->start[i + 1]; j++)
			mask |= (size_t)1 << view->member[j];
		freed[mask] = sat_add(freed[mask], view->pages[i]);
	}
	for (i = 0; i < n; i++)
		for (s = 0; s <= full; s++)
			if (s & ((size_t)1 << i))
				freed[s] = sat_add(freed[s], freed[s ^ ((size_t)1 << i)]);
	for (s = 1; s <= full; s++) {
		long long moved = 0, f = freed[s];
		int count = __builtin_popcountll(s), exact = 1;

		f = sat_add(f, star_part(view, (size_t)count, &exact));
		if (f < need)
			continue;
		for (i = 0; i < n; i++)
			if (s & ((size_t)1 << i))
				moved = sat_add(moved, vms[i].moved);
		if (!best || better(moved, count, f, best_moved, best_count,
				    best_freed)) {
			best = s;
			best_moved = moved;
			best_count = count;
			best_freed = f;
		}
	}
	free(freed);
	res->found = best != 0;
	for (i = 0; i < n; i++)
		res->chosen[i] = (best >> i) & 1;
	res->exact_search = 1;
	return 0;
}

/* The heuristic's state: the set so far and, per line, VMs not yet in it. */
struct greedy_state {
	const struct vm_entry *vms;
	const struct sets_view *view;
	unsigned char *in;		/* n flags: the set */
	size_t *missing;		/* per line */
	size_t *vm_start, *vm_lines;	/* per VM: the lines naming it */
	unsigned long *line_stamp, *vm_stamp;
	unsigned long stamp;
	size_t *by_pages;		/* lines, the most pages first */
	long long freed;
};

static const struct sets_view *sort_view;

static int by_line_pages(const void *a, const void *b)
{
	long long x = sort_view->pages[*(const size_t *)a];
	long long y = sort_view->pages[*(const size_t *)b];

	return x > y ? -1 : x < y;
}

static int greedy_init(struct greedy_state *g, const struct vm_entry *vms,
		       const struct sets_view *view)
{
	size_t n = view->n_vms, i, j, total = view->start[view->n_lines];

	memset(g, 0, sizeof(*g));
	g->vms = vms;
	g->view = view;
	g->in = calloc(n + 1, 1);
	g->missing = calloc(view->n_lines + 1, sizeof(*g->missing));
	g->vm_start = calloc(n + 2, sizeof(*g->vm_start));
	g->vm_lines = calloc(total + 1, sizeof(*g->vm_lines));
	g->line_stamp = calloc(view->n_lines + 1, sizeof(*g->line_stamp));
	g->vm_stamp = calloc(n + 1, sizeof(*g->vm_stamp));
	g->by_pages = calloc(view->n_lines + 1, sizeof(*g->by_pages));
	if (!g->in || !g->missing || !g->vm_start || !g->vm_lines ||
	    !g->line_stamp || !g->vm_stamp || !g->by_pages)
		return -1;
	for (i = 0; i < view->n_lines; i++)
		g->by_pages[i] = i;
	sort_view = view;
	qsort(g->by_pages, view->n_lines, sizeof(*g->by_pages), by_line_pages);
	for (i = 0; i < view->n_lines; i++) {
		g->missing[i] = view->start[i + 1] - view->start[i];
		for (j = view->start[i]; j < view->start[i + 1]; j++)
			g->vm_start[view->member[j] + 2]++;
	}
	for (i = 0; i < n; i++)
		g->vm_start[i + 2] += g->vm_start[i + 1];
	for (i = 0; i < view->n_lines; i++)
		for (j = view->start[i]; j < view->start[i + 1]; j++)
			g->vm_lines[g->vm_start[view->member[j] + 1]++] = i;
	return 0;
}

static void greedy_free(struct greedy_state *g)
{
	free(g->in);
	free(g->missing);
	free(g->vm_start);
	free(g->vm_lines);
	free(g->line_stamp);
	free(g->vm_stamp);
	free(g->by_pages);
}

/*
 * What adding the VMs of group[] (none in the set yet) frees and moves:
 * their unique pages and the lines whose missing VMs all are in the group.
 */
static void group_gain(struct greedy_state *g, const size_t *group, size_t k,
		       long long *gain, long long *cost)
{
	const struct sets_view *v = g->view;
	size_t a, b, c;

	*gain = *cost = 0;
	g->stamp++;
	for (a = 0; a < k; a++)
		g->vm_stamp[group[a]] = g->stamp;
	for (a = 0; a < k; a++) {
		const struct vm_entry *e = &g->vms[group[a]];

		*gain = sat_add(*gain, e->row.unique);
		*cost = sat_add(*cost, e->moved);
		for (b = g->vm_start[group[a]]; b < g->vm_start[group[a] + 1]; b++) {
			size_t l = g->vm_lines[b];

			if (g->line_stamp[l] == g->stamp)
				continue;
			g->line_stamp[l] = g->stamp;
			for (c = v->start[l]; c < v->start[l + 1]; c++)
				if (!g->in[v->member[c]] &&
				    g->vm_stamp[v->member[c]] != g->stamp)
					break;
			if (c == v->start[l + 1])
				*gain = sat_add(*gain, v->pages[l]);
		}
	}
}

static void greedy_add(struct greedy_state *g, size_t vm)
{
	size_t b;

	g->in[vm] = 1;
	g->freed = sat_add(g->freed, g->vms[vm].row.unique);
	for (b = g->vm_start[vm]; b < g->vm_start[vm + 1]; b++) {
		size_t l = g->vm_lines[b];

		if (!--g->missing[l])
			g->freed = sat_add(g->freed, g->view->pages[l]);
	}
}

/*
 * What the set in answer (count VMs) stops freeing without VM vm: its
 * unique pages, the lines naming it that lie within the set, and the "*"
 * line if it counted.
 */
static long long removal_loss(const struct greedy_state *g,
			      const unsigned char *answer, size_t count,
			      size_t vm)
{
	const struct sets_view *v = g->view;
	long long loss = g->vms[vm].row.unique;
	int exact;
	size_t b, c;

	for (b = g->vm_start[vm]; b < g->vm_start[vm + 1]; b++) {
		size_t l = g->vm_lines[b];

		for (c = v->start[l]; c < v->start[l + 1]; c++)
			if (!answer[v->member[c]])
				break;
		if (c == v->start[l + 1])
			loss = sat_add(loss, v->pages[l]);
	}
	return sat_add(loss, star_part(v, count, &exact) -
			     star_part(v, count - 1, &exact));
}

/*
 * Groups larger than this (VMs missing from one line) are not tried, nor
 * more than GROUP_TRIES groups a step: the lines with the most pages.
 */
#define GROUP_MAX 8
#define GROUP_TRIES 256

/* Whether gain/cost a beats gain/cost b, compared without division. */
static int better_ratio(long long gain_a, long long cost_a, long long gain_b,
			long long cost_b)
{
	long double l = (long double)gain_a * cost_b;
	long double r = (long double)gain_b * cost_a;

	return l > r || (l == r && cost_a < cost_b);
}

static int heuristic_sets(const struct vm_entry *vms,
			  const struct sets_view *view, long long need,
			  struct need_result *res)
{
	size_t n = view->n_vms, i, j, k, group[GROUP_MAX];
	size_t best_group[GROUP_MAX], best_k = 0, tries;
	unsigned char *answer = calloc(n + 1, 1);
	long long answer_moved = -1, moved = 0;
	struct greedy_state g = { 0 };
	int ret = -1, exact;

	if (!answer || greedy_init(&g, vms, view))
		goto out;
	while (g.freed < need) {
		long long best_gain = 0, best_cost = 0, gain, cost;

		best_k = 0;
		/*
		 * single VMs, then the VMs still missing from each of the
		 * GROUP_TRIES largest lines that miss more than one
		 */
		for (i = 0, tries = 0; i < n + view->n_lines && tries < GROUP_TRIES; i++) {
			k = 0;
			if (i < n) {
				if (g.in[i])
					continue;
				group[k++] = i;
			} else {
				size_t l = g.by_pages[i - n];

				if (g.missing[l] < 2 || g.missing[l] > GROUP_MAX)
					continue;
				tries++;
				for (j = view->start[l]; j < view->start[l + 1]; j++)
					if (!g.in[view->member[j]])
						group[k++] = view->member[j];
			}
			group_gain(&g, group, k, &gain, &cost);
			if (gain <= 0)
				continue;
			/* a move that completes the need: a candidate answer */
			if (sat_add(g.freed, gain) >= need &&
			    (answer_moved < 0 || sat_add(moved, cost) < answer_moved)) {
				answer_moved = sat_add(moved, cost);
				memcpy(answer, g.in, n);
				for (j = 0; j < k; j++)
					answer[group[j]] = 1;
			}
			if (!best_k || better_ratio(gain, cost, best_gain, best_cost)) {
				best_gain = gain;
				best_cost = cost;
				best_k = k;
				memcpy(best_group, group, k * sizeof(*group));
			}
		}
		if (!best_k)
			break;	/* nothing left frees anything */
		for (j = 0; j < best_k; j++)
			greedy_add(&g, best_group[j]);
		moved = sat_add(moved, best_cost);
	}
	if (g.freed >= need && (answer_moved < 0 || moved < answer_moved)) {
		answer_moved = moved;
		memcpy(answer, g.in, n);
	}
	res->found = answer_moved >= 0;
	if (res->found) {
		/* drop what the need does not need, the most moved first */
		long long freed = select_freed(vms, view, answer, &exact);
		size_t count = 0;

		for (i = 0; i < n; i++)
			count += answer[i];
		for (;;) {
			long long loss, drop_loss = 0;
			size_t drop = n;

			for (i = 0; i < n; i++) {
				if (!answer[i] || (drop < n && vms[i].moved <= vms[drop].moved))
					continue;
				loss = removal_loss(&g, answer, count, i);
				if (freed - loss >= need) {
					drop = i;
					drop_loss = loss;
				}
			}
			if (drop == n)
				break;
			answer[drop] = 0;
			freed -= drop_loss;
			count--;
		}
		memcpy(res->chosen, answer, n);
	}
	res->exact_search = 0;
	ret = 0;
out:
	greedy_free(&g);
	free(answer);
	return ret;
}

int select_need_sets(const struct vm_entry *vms, const struct sets_view *view,
		     long long need, struct need_result *res)
{
	size_t n = view->n_vms, i;
	int ret;

	memset(res->chosen, 0, n);
	res->found = 0;
	res->from_sets = 1;
	res->candidates = n;
	if (n <= select_exact_max)
		ret = exact_sets(vms, view, need, res);
	else
		ret = heuristic_sets(vms, view, need, res);
	if (ret)
		return -1;
	res->freed = res->moved = 0;
	res->count = 0;
	res->freed_exact = 0;
	if (!res->found) {
		memset(res->chosen, 0, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!res->chosen[i])
			continue;
		res->moved = sat_add(res->moved, vms[i].moved);
		res->count++;
	}
	res->freed = select_freed(vms, view, res->chosen, &res->freed_exact);
	return 0;
}

const char *select_sets_check(const struct vms_snapshot *snap,
			      const struct vms_sets *sets, char *buf,
			      size_t len)
{
	/* per row, sorted by pid: pid, its own set's pages, all its sets' */
	long long (*acc)[3] = calloc(snap->n_rows + 1, sizeof(*acc));
	const char *why = NULL;
	size_t i, k;

	if (!acc) {
		snprintf(buf, len, "out of memory");
		return buf;
	}
	for (k = 0; k < snap->n_rows; k++)
		acc[k][0] = snap->rows[k].pid;
	qsort(acc, snap->n_rows, sizeof(*acc), by_pid_ll);
	for (i = 0; i < sets->n_sets && !why; i++) {
		const struct vms_set *s = &sets->sets[i];

		for (k = 0; k < (size_t)s->n_pids; k++) {
			long long pid = s->pids[k], (*a)[3];

			a = bsearch(&pid, acc, snap->n_rows, sizeof(*acc), by_pid_ll);
			if (!a) {
				snprintf(buf, len, "pid %ld has a set but no row",
					 s->pids[k]);
				why = buf;
				break;
			}
			(*a)[2] = sat_add((*a)[2], s->pages);
			if (s->n_pids == 1)
				(*a)[1] = s->pages;
		}
	}
	for (k = 0; k < snap->n_rows && !why; k++) {
		const struct vms_row *row = &snap->rows[k];
		long long pid = row->pid, (*a)[3], both;

		a = bsearch(&pid, acc, snap->n_rows, sizeof(*acc), by_pid_ll);
		both = sat_add(row->self_shared, row->inter_shared);
		if ((*a)[1] != row->self_shared) {
			snprintf(buf, len, "pid %ld: self_shared %lld, but its own set has %lld pages",
				 row->pid, row->self_shared, (*a)[1]);
			why = buf;
		} else if (sets->star_pages ? (*a)[2] > both : (*a)[2] != both) {
			snprintf(buf, len, "pid %ld: self_shared + inter_shared %lld, but its sets add up to %lld pages",
				 row->pid, both, (*a)[2]);
			why = buf;
		}
	}
	free(acc);
	return why;
}
