// SPDX-License-Identifier: GPL-2.0
/*
 * Recipe parsing, page layout and contents, and the analytic expectation of
 * what KSM makes of a recipe. Shared by vmload (which fills the memory) and
 * the unit tests.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"

#define MAX_TOKENS 40

struct parser {
	struct recipe *r;
	int line;
	char *err;
	size_t errlen;
	int exited[RECIPE_MAX_VMS];	/* action index + 1 of its exit */
	int acted[RECIPE_MAX_VMS];	/* any action named the VM yet */
};

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, p->errlen, "line %d: ", p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int valid_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= RECIPE_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

/* A whole decimal number in [min, max]; no sign, no suffix. */
static int parse_number(const char *s, unsigned long min, unsigned long max,
			unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int recipe_vm_index(const struct recipe *r, const char *name)
{
	int i;

	for (i = 0; i < r->n_vms; i++)
		if (!strcmp(r->vm_names[i], name))
			return i;
	return -1;
}

static int group_index(const struct recipe *r, const char *name)
{
	int i;

	for (i = 0; i < r->n_groups; i++)
		if (!strcmp(r->groups[i].name, name))
			return i;
	return -1;
}

int recipe_phase_index(const struct recipe *r, const char *name)
{
	int i;

	for (i = 0; i < r->n_phases; i++)
		if (!strcmp(r->phases[i].name, name))
			return i;
	return -1;
}

int recipe_start_phase(const struct recipe *r, int v)
{
	int ph, a;

	for (ph = 0; ph < r->n_phases; ph++)
		for (a = 0; a < r->phases[ph].n_actions; a++) {
			const struct recipe_action *act =
				&r->actions[r->phases[ph].first_action + a];

			if (act->kind == ACTION_START && act->vm == v)
				return ph;
		}
	return -1;
}

unsigned long recipe_group_pages(const struct recipe *r, int g, int v)
{
	const struct recipe_group *grp = &r->groups[g];

	return grp->contents * grp->copies[v];
}

unsigned long recipe_group_offset(const struct recipe *r, int g, int v)
{
	unsigned long off = 0;
	int i;

	for (i = 0; i < g; i++)
		off += recipe_group_pages(r, i, v);
	return off;
}

unsigned long recipe_vm_pages(const struct recipe *r, int v)
{
	return recipe_group_offset(r, r->n_groups, v);
}

static int parse_vm(struct parser *p, char **tok, int n)
{
	struct recipe *r = p->r;
	int i;

	if (n < 2)
		return fail(p, "'vm' needs at least one name");
	if (r->n_groups)
		return fail(p, "'vm' must come before the groups");
	for (i = 1; i < n; i++) {
		if (!valid_name(tok[i]))
			return fail(p, "bad VM name '%s'", tok[i]);
		if (recipe_vm_index(r, tok[i]) >= 0)
			return fail(p, "VM '%s' declared twice", tok[i]);
		if (r->n_vms == RECIPE_MAX_VMS)
			return fail(p, "more than %d VMs", RECIPE_MAX_VMS);
		strcpy(r->vm_names[r->n_vms++], tok[i]);
	}
	return 0;
}

/*
 * recipe_scale: every size divided by divisor, rounded up, so that a slow
 * kernel (the debug kernel) runs the same shapes smaller: group sizes and
 * pages written. What makes a shape stay: copies per VM (dup chains past
 * 256), which VMs hold what, the phases. Rounding up keeps every write
 * within its group and every group at least one page.
 */
void recipe_scale(struct recipe *r, unsigned long divisor)
{
	int i;

	if (divisor <= 1)
		return;
	for (i = 0; i < r->n_groups; i++)
		r->groups[i].contents = (r->groups[i].contents + divisor - 1) / divisor;
	for (i = 0; i < r->n_actions; i++)
		r->actions[i].pages = (r->actions[i].pages + divisor - 1) / divisor;
}

/* "VM" or "VM*COPIES" into grp->copies. */
static int parse_placement(struct parser *p, struct recipe_group *grp,
			   char *spec)
{
	char *star = strchr(spec, '*');
	unsigned long copies = 1;
	int v;

	if (star) {
		*star = '\0';
		if (grp->kind != GROUP_SHARED)
			return fail(p, "'*COPIES' only applies to 'group'");
		if (parse_number(star + 1, 1, RECIPE_MAX_VM_PAGES, &copies))
			return fail(p, "bad copy count '%s'", star + 1);
	}
	v = recipe_vm_index(p->r, spec);
	if (v < 0)
		return fail(p, "unknown VM '%s'", spec);
	if (grp->copies[v])
		return fail(p, "VM '%s' placed twice", spec);
	grp->copies[v] = copies;
	return 0;
}

static int parse_group(struct parser *p, enum recipe_group_kind kind,
		       char **tok, int n)
{
	struct recipe *r = p->r;
	struct recipe_group *grp;
	unsigned long pages;
	int i, v;

	if (r->n_phases)
		return fail(p, "'%s' must come before the phases", tok[0]);
	if (!r->n_vms)
		return fail(p, "'%s' before any 'vm'", tok[0]);
	if (n < 4)
		return fail(p, "usage: %s NAME pages=N VM...", tok[0]);
	if (!valid_name(tok[1]))
		return fail(p, "bad group name '%s'", tok[1]);
	if (group_index(r, tok[1]) >= 0)
		return fail(p, "group '%s' declared twice", tok[1]);
	if (r->n_groups == RECIPE_MAX_GROUPS)
		return fail(p, "more than %d groups", RECIPE_MAX_GROUPS);
	if (strncmp(tok[2], "pages=", 6) ||
	    parse_number(tok[2] + 6, 1, RECIPE_MAX_VM_PAGES, &pages))
		return fail(p, "expected pages=N (1 to %lu), got '%s'",
			    RECIPE_MAX_VM_PAGES, tok[2]);

	grp = &r->groups[r->n_groups];
	memset(grp, 0, sizeof(*grp));
	strcpy(grp->name, tok[1]);
	grp->kind = kind;
	grp->contents = pages;
	for (i = 3; i < n; i++)
		if (parse_placement(p, grp, tok[i]))
			return -1;
	r->n_groups++;
	for (v = 0; v < r->n_vms; v++) {
		/* copies and pages are each bounded, so this cannot overflow */
		if (recipe_vm_pages(r, v) > RECIPE_MAX_VM_PAGES) {
			r->n_groups--;
			return fail(p, "VM '%s' would hold more than %lu pages",
				    r->vm_names[v], RECIPE_MAX_VM_PAGES);
		}
	}
	return 0;
}

static int parse_phase(struct parser *p, char **tok, int n)
{
	struct recipe *r = p->r;
	struct recipe_phase *ph;

	if (n != 2)
		return fail(p, "usage: phase NAME");
	if (!r->n_groups)
		return fail(p, "'phase' before any group");
	if (!valid_name(tok[1]))
		return fail(p, "bad phase name '%s'", tok[1]);
	if (recipe_phase_index(r, tok[1]) >= 0)
		return fail(p, "phase '%s' declared twice", tok[1]);
	if (r->n_phases == RECIPE_MAX_PHASES)
		return fail(p, "more than %d phases", RECIPE_MAX_PHASES);
	ph = &r->phases[r->n_phases++];
	strcpy(ph->name, tok[1]);
	ph->first_action = r->n_actions;
	ph->n_actions = 0;
	return 0;
}

static int parse_action(struct parser *p, enum recipe_action_kind kind,
			char **tok, int n)
{
	struct recipe *r = p->r;
	struct recipe_action *a;
	int want = kind == ACTION_WRITE ? 4 : kind == ACTION_UNMERGE ? 3 : 2;
	static const char *const usage[] = {
		[ACTION_WRITE] = "write VM GROUP PAGES",
		[ACTION_UNMERGE] = "unmerge VM GROUP",
		[ACTION_EXIT] = "exit VM",
		[ACTION_START] = "start VM",
	};
	int v, g = -1;
	unsigned long pages = 0;

	if (!r->n_phases)
		return fail(p, "'%s' outside a phase", tok[0]);
	if (n != want)
		return fail(p, "usage: %s", usage[kind]);
	if (r->n_actions == RECIPE_MAX_ACTIONS)
		return fail(p, "more than %d actions", RECIPE_MAX_ACTIONS);
	v = recipe_vm_index(r, tok[1]);
	if (v < 0)
		return fail(p, "unknown VM '%s'", tok[1]);
	if (p->exited[v])
		return fail(p, "VM '%s' has already exited", tok[1]);
	if (kind == ACTION_START && p->acted[v])
		return fail(p, "VM '%s' %s before it starts", tok[1],
			    recipe_start_phase(r, v) >= 0 ? "starts twice" :
			    "acts");
	if (kind != ACTION_EXIT && kind != ACTION_START) {
		g = group_index(r, tok[2]);
		if (g < 0)
			return fail(p, "unknown group '%s'", tok[2]);
		if (!r->groups[g].copies[v])
			return fail(p, "VM '%s' has no pages in group '%s'",
				    tok[1], tok[2]);
	}
	if (kind == ACTION_WRITE &&
	    parse_number(tok[3], 1, recipe_group_pages(r, g, v), &pages))
		return fail(p, "bad page count '%s' (1 to %lu)", tok[3],
			    recipe_group_pages(r, g, v));

	a = &r->actions[r->n_actions++];
	a->kind = kind;
	a->vm = v;
	a->group = g;
	a->pages = pages;
	r->phases[r->n_phases - 1].n_actions++;
	p->acted[v] = 1;
	if (kind == ACTION_EXIT)
		p->exited[v] = r->n_actions;
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *tok[MAX_TOKENS], *save = NULL, *t;
	int n = 0;

	t = strchr(line, '#');
	if (t)
		*t = '\0';
	for (t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_TOKENS)
			return fail(p, "more than %d words", MAX_TOKENS);
		tok[n++] = t;
	}
	if (!n)
		return 0;
	if (!strcmp(tok[0], "vm"))
		return parse_vm(p, tok, n);
	if (!strcmp(tok[0], "group"))
		return parse_group(p, GROUP_SHARED, tok, n);
	if (!strcmp(tok[0], "unique"))
		return parse_group(p, GROUP_UNIQUE, tok, n);
	if (!strcmp(tok[0], "zero"))
		return parse_group(p, GROUP_ZERO, tok, n);
	if (!strcmp(tok[0], "phase"))
		return parse_phase(p, tok, n);
	if (!strcmp(tok[0], "write"))
		return parse_action(p, ACTION_WRITE, tok, n);
	if (!strcmp(tok[0], "unmerge"))
		return parse_action(p, ACTION_UNMERGE, tok, n);
	if (!strcmp(tok[0], "exit"))
		return parse_action(p, ACTION_EXIT, tok, n);
	if (!strcmp(tok[0], "start"))
		return parse_action(p, ACTION_START, tok, n);
	return fail(p, "unknown directive '%s'", tok[0]);
}

int recipe_parse(FILE *in, struct recipe *r, char *err, size_t errlen)
{
	struct parser p = { .r = r, .err = err, .errlen = errlen };
	char line[1024];

	memset(r, 0, sizeof(*r));
	while (fgets(line, sizeof(line), in)) {
		p.line++;
		if (!strchr(line, '\n') && !feof(in))
			return fail(&p, "line longer than %zu characters",
				    sizeof(line) - 2);
		if (parse_line(&p, line))
			return -1;
	}
	if (ferror(in))
		return fail(&p, "read error");
	if (!r->n_vms || !r->n_groups)
		return fail(&p, "a recipe needs at least one 'vm' and one group");
	return 0;
}

int recipe_parse_file(const char *path, struct recipe *r, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ret = recipe_parse(f, r, err, errlen);
	fclose(f);
	return ret;
}

#define KEY_SHARED	(1ULL << 60)
#define KEY_UNIQUE	(2ULL << 60)
#define KEY_WRITTEN	(3ULL << 60)

uint64_t recipe_page_key(const struct recipe *r, int v, unsigned long page)
{
	int g;

	for (g = 0; g < r->n_groups; g++) {
		const struct recipe_group *grp = &r->groups[g];
		unsigned long n = recipe_group_pages(r, g, v);

		if (page >= n) {
			page -= n;
			continue;
		}
		switch (grp->kind) {
		case GROUP_SHARED:
			return KEY_SHARED | (uint64_t)g << 40 |
			       page / grp->copies[v];
		case GROUP_UNIQUE:
			return KEY_UNIQUE | (uint64_t)v << 48 |
			       (uint64_t)g << 40 | page;
		case GROUP_ZERO:
			return RECIPE_ZERO_KEY;
		}
	}
	return RECIPE_ZERO_KEY;
}

uint64_t recipe_written_key(int v, unsigned long page, int phase)
{
	return KEY_WRITTEN | (uint64_t)phase << 56 | (uint64_t)v << 48 | page;
}

/* splitmix64: cheap, and any two keys give unrelated pages. */
static uint64_t mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void recipe_fill_page(void *page, size_t page_size, uint64_t key)
{
	uint64_t *w = page, state = key;
	size_t i;

	if (key == RECIPE_ZERO_KEY) {
		memset(page, 0, page_size);
		return;
	}
	w[0] = key;	/* distinct keys give distinct pages, whatever mix does */
	for (i = 1; i < page_size / sizeof(*w); i++)
		w[i] = mix(&state);
}

/* One mergeable page of a live VM, as the expectation sees it. */
struct mapping {
	uint64_t key;
	int vm;
};

static int by_key(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->vm - y->vm;
}

/* Keys KSM has merged so far, and those that ever needed a dup chain. */
struct history {
	uint64_t *ksm, *chained;
	size_t n_ksm, n_chained;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int in_set(const uint64_t *set, size_t n, uint64_t key)
{
	return n && bsearch(&key, set, n, sizeof(*set), cmp_u64);
}

struct vm_state {
	uint64_t *keys;		/* current content of each page */
	unsigned char *mergeable;
	int alive;
};

static void apply_action(const struct recipe *r, const struct recipe_action *a,
			 int phase, struct vm_state *vms)
{
	struct vm_state *s = &vms[a->vm];
	unsigned long off, i, n;

	if (a->kind == ACTION_EXIT || a->kind == ACTION_START) {
		s->alive = a->kind == ACTION_START;
		return;
	}
	off = recipe_group_offset(r, a->group, a->vm);
	n = a->kind == ACTION_WRITE ? a->pages :
				      recipe_group_pages(r, a->group, a->vm);
	for (i = off; i < off + n; i++) {
		if (a->kind == ACTION_WRITE)
			s->keys[i] = recipe_written_key(a->vm, i, phase);
		else
			s->mergeable[i] = 0;
	}
}

/* The mergeable pages of live VMs, sorted by content. */
static struct mapping *collect(const struct recipe *r, struct vm_state *vms,
			       size_t *count)
{
	struct mapping *m;
	size_t n = 0, total = 0;
	unsigned long i;
	int v;

	for (v = 0; v < r->n_vms; v++)
		total += recipe_vm_pages(r, v);
	m = malloc((total ? total : 1) * sizeof(*m));
	if (!m)
		return NULL;
	for (v = 0; v < r->n_vms; v++) {
		if (!vms[v].alive)
			continue;
		for (i = 0; i < recipe_vm_pages(r, v); i++) {
			if (!vms[v].mergeable[i])
				continue;
			m[n].key = vms[v].keys[i];
			m[n].vm = v;
			n++;
		}
	}
	qsort(m, n, sizeof(*m), by_key);
	*count = n;
	return m;
}

/*
 * One stage of KSM's work: a content is backed by KSM pages if two or more
 * mappings share it, or if it was merged before and one mapping is left
 * (KSM never unmerges the last mapping of a page by itself).
 */
static int settle(struct mapping *m, size_t n, unsigned int max_sharing,
		  struct history *h, struct recipe_expect *e)
{
	uint64_t *ksm = malloc((n ? n : 1) * sizeof(*ksm));
	uint64_t *chained = malloc((n + h->n_chained + 1) * sizeof(*chained));
	size_t n_ksm = 0, n_chained = 0, i, j, k;
	int unknown_pages = 0;

	if (!ksm || !chained) {
		free(ksm);
		free(chained);
		return -1;
	}
	memcpy(chained, h->chained, h->n_chained * sizeof(*chained));
	n_chained = h->n_chained;

	for (i = 0; i < n; i = j) {
		unsigned long per_vm[RECIPE_MAX_VMS] = { 0 };
		int vms = 0, is_chained;

		for (j = i; j < n && m[j].key == m[i].key; j++)
			per_vm[m[j].vm]++;
		if (j - i < 2 && !in_set(h->ksm, h->n_ksm, m[i].key)) {
			e->vm[m[i].vm].unique++;
			continue;
		}
		ksm[n_ksm++] = m[i].key;
		is_chained = in_set(h->chained, h->n_chained, m[i].key);
		if (!is_chained && j - i > max_sharing) {
			chained[n_chained++] = m[i].key;
			is_chained = 1;
		}
		for (k = 0; k < RECIPE_MAX_VMS; k++)
			vms += per_vm[k] != 0;
		for (k = 0; k < RECIPE_MAX_VMS; k++) {
			struct recipe_vm_expect *x = &e->vm[k];

			if (!per_vm[k])
				continue;
			x->ksm_mapped += per_vm[k];
			if (is_chained) {
				/* which dup holds whose mappings is scan order */
				x->self_shared = RECIPE_UNKNOWN;
				if (vms > 1)
					x->inter_shared = RECIPE_UNKNOWN;
			} else if (vms == 1) {
				if (x->self_shared != RECIPE_UNKNOWN)
					x->self_shared++;
			} else if (x->inter_shared != RECIPE_UNKNOWN) {
				x->inter_shared++;
			}
		}
		if (is_chained)
			unknown_pages = 1;
		else
			e->ksm_pages++;
		e->ksm_mappings += j - i;
	}
	if (unknown_pages)
		e->ksm_pages = RECIPE_UNKNOWN;

	free(h->ksm);
	free(h->chained);
	h->ksm = ksm;		/* already sorted: m is sorted by key */
	h->n_ksm = n_ksm;
	qsort(chained, n_chained, sizeof(*chained), cmp_u64);
	h->chained = chained;
	h->n_chained = n_chained;
	return 0;
}

static void finish(const struct recipe *r, struct vm_state *vms,
		   struct recipe_expect *e)
{
	int v;
	unsigned long i;

	for (v = 0; v < r->n_vms; v++) {
		struct recipe_vm_expect *x = &e->vm[v];

		x->alive = vms[v].alive;
		if (!x->alive) {
			memset(x, 0, sizeof(*x));
			continue;
		}
		/* Pages made unmergeable stay private: unique. */
		for (i = 0; i < recipe_vm_pages(r, v); i++)
			x->unique += !vms[v].mergeable[i];
		x->predicted_freed = x->self_shared == RECIPE_UNKNOWN ?
			RECIPE_UNKNOWN : x->unique + x->self_shared;
	}
}

int recipe_expect(const struct recipe *r, int upto, unsigned int max_sharing,
		  struct recipe_expect *e)
{
	struct vm_state vms[RECIPE_MAX_VMS] = { 0 };
	struct history h = { 0 };
	struct mapping *m = NULL;
	size_t n;
	int v, stage, a, ret = -1;

	for (v = 0; v < r->n_vms; v++) {
		unsigned long i, pages = recipe_vm_pages(r, v);

		vms[v].keys = malloc((pages ? pages : 1) * sizeof(uint64_t));
		vms[v].mergeable = malloc(pages ? pages : 1);
		if (!vms[v].keys || !vms[v].mergeable)
			goto out;
		for (i = 0; i < pages; i++)
			vms[v].keys[i] = recipe_page_key(r, v, i);
		memset(vms[v].mergeable, 1, pages);
		vms[v].alive = recipe_start_phase(r, v) < 0;
	}
	/* Stage -1 is the initial merge; each phase is one more stage. */
	for (stage = -1; stage <= upto; stage++) {
		if (stage >= 0) {
			const struct recipe_phase *ph = &r->phases[stage];

			for (a = 0; a < ph->n_actions; a++)
				apply_action(r, &r->actions[ph->first_action + a],
					     stage, vms);
		}
		memset(e, 0, sizeof(*e));
		m = collect(r, vms, &n);
		if (!m || settle(m, n, max_sharing, &h, e))
			goto out;
		free(m);
		m = NULL;
	}
	finish(r, vms, e);
	ret = 0;
out:
	free(m);
	free(h.ksm);
	free(h.chained);
	for (v = 0; v < r->n_vms; v++) {
		free(vms[v].keys);
		free(vms[v].mergeable);
	}
	return ret;
}
