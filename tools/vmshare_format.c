// SPDX-License-Identifier: GPL-2.0
/* Strict parsing of /proc/ksm_vmshare and its _sets; see vmshare_format.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmshare_format.h"

#define LINE_MAX_LEN	(1 << 20)	/* a sets line of many pids */
#define MAX_COLUMNS	32
#define MAX_HEADERS	256

/* The columns these readers need; others before the last are allowed. */
enum column {
	COL_PID, COL_UNIQUE, COL_SELF, COL_INTER, COL_MAPPED, COL_FREED,
	COL_COMM, NR_VMS_COLUMNS,
	COL_PAGES = 0, COL_PIDS, NR_SETS_COLUMNS,
	COL_OTHER = -1,
};

static const char *const vms_columns[NR_VMS_COLUMNS] = {
	"pid", "unique", "self_shared", "inter_shared", "ksm_mapped",
	"predicted_freed", "comm",
};

static const char *const sets_columns[NR_SETS_COLUMNS] = { "pages", "pids" };

/* What differs between the two files. */
struct format {
	const char *title;
	const char *const *columns;
	int n_columns;
	const char *const *required;	/* header keys, NULL-terminated */
};

static const char *const vms_required[] = {
	"state", "ksm_pages", "ksm_mappings", "full_scans_seen", NULL,
};

static const char *const sets_required[] = { "state", "max_members", NULL };

static const struct format vms_format = {
	"ksm_vmshare - version: ", vms_columns, NR_VMS_COLUMNS, vms_required,
};

static const struct format sets_format = {
	"ksm_vmshare_sets - version: ", sets_columns, NR_SETS_COLUMNS,
	sets_required,
};

struct reader {
	const struct format *fmt;
	char *err;
	size_t errlen;
	int line;
	int version;
	char state[VMS_STATE_MAX];
	struct vms_header *headers;
	size_t n_headers;
	int seen_columns;
	int n_columns;
	int columns[MAX_COLUMNS];	/* enum column of each position */
	size_t cap_rows;
};

static int fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (r->line)
		n = snprintf(r->err, r->errlen, "line %d: ", r->line);
	if (n < 0 || (size_t)n >= r->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A whole non-negative decimal number that fits a long long. */
static int parse_count(const char *s, long long *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_version(struct reader *r, const char *line)
{
	const char *title = r->fmt->title;
	size_t len = strlen(title);
	long long v;

	if (strncmp(line, title, len))
		return fail(r, "not a %.*s file (expected '%sN')",
			    (int)strcspn(title, " "), title, title);
	if (parse_count(line + len, &v) || v < 1 || v > 1000000)
		return fail(r, "bad version '%s'", line + len);
	r->version = (int)v;
	if (v != VMS_FORMAT_VERSION)
		return fail(r, "unknown version %lld (this ksm-victim reads version %d)",
			    v, VMS_FORMAT_VERSION);
	return 0;
}

static const struct vms_header *find_header(const struct reader *r,
					    const char *key)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++)
		if (!strcmp(r->headers[i].key, key))
			return &r->headers[i];
	return NULL;
}

/* "tracking", "warming", "degraded" or "degraded REASON" */
static int valid_state(const char *s)
{
	return !strcmp(s, "tracking") || !strcmp(s, "warming") ||
	       !strcmp(s, "degraded") ||
	       (!strncmp(s, "degraded ", 9) && s[9] && s[9] != ' ');
}

/* Keys whose value must be a count wherever they appear. */
static int numeric_key(const char *key)
{
	static const char *const keys[] = {
		"ksm_pages", "ksm_mappings", "full_scans_seen",
		"verified_scans", "unowned_vms", "unowned_mappings",
		"max_members", NULL,
	};
	int i;

	for (i = 0; keys[i]; i++)
		if (!strcmp(key, keys[i]))
			return 1;
	return 0;
}

static int parse_header(struct reader *r, char *line)
{
	char *key = line + 2, *colon = strstr(key, ": ");
	struct vms_header *h;
	char *value;

	if (strncmp(line, "# ", 2) || !colon || colon == key)
		return fail(r, "header line is not '# key: value'");
	*colon = '\0';
	value = colon + 2;
	for (char *c = key; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return fail(r, "bad header key '%s'", key);
	if (strlen(key) >= VMS_KEY_MAX)
		return fail(r, "header key longer than %d characters", VMS_KEY_MAX - 1);
	if (!*value)
		return fail(r, "header key '%s' has no value", key);
	if (strlen(value) >= VMS_VALUE_MAX)
		return fail(r, "%s: value longer than %d characters", key,
			    VMS_VALUE_MAX - 1);
	for (char *c = value; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(r, "%s: control character in the value", key);
	if (find_header(r, key))
		return fail(r, "header key '%s' twice", key);
	if (r->n_headers == MAX_HEADERS)
		return fail(r, "more than %d header lines", MAX_HEADERS);
	h = &r->headers[r->n_headers];
	memset(h, 0, sizeof(*h));
	strcpy(h->key, key);
	strcpy(h->value, value);
	h->numeric = !parse_count(value, &h->number);
	if (numeric_key(key) && !h->numeric)
		return fail(r, "%s: '%s' is not a count", key, value);
	if (!strcmp(key, "state")) {
		if (!valid_state(value))
			return fail(r, "unknown state '%s'", value);
		if (strlen(value) >= VMS_STATE_MAX)
			return fail(r, "state too long");
		strcpy(r->state, value);
	}
	r->n_headers++;
	return 0;	/* keys added later are fine */
}

static int parse_columns(struct reader *r, char *line)
{
	const struct format *fmt = r->fmt;
	char *save = NULL, *t;
	int seen[MAX_COLUMNS] = { 0 }, i;

	if (r->seen_columns)
		return fail(r, "a second column line");
	for (i = 0; fmt->required[i]; i++)
		if (!find_header(r, fmt->required[i]))
			return fail(r, "header lacks '%s'", fmt->required[i]);
	r->n_columns = 0;
	for (t = strtok_r(line + 2, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		int c = COL_OTHER;

		if (r->n_columns == MAX_COLUMNS)
			return fail(r, "more than %d columns", MAX_COLUMNS);
		for (i = 0; i < fmt->n_columns; i++)
			if (!strcmp(t, fmt->columns[i]))
				c = i;
		if (c != COL_OTHER && seen[c]++)
			return fail(r, "column '%s' twice", t);
		r->columns[r->n_columns++] = c;
	}
	for (i = 0; i < fmt->n_columns; i++)
		if (!seen[i])
			return fail(r, "column line lacks '%s'", fmt->columns[i]);
	if (r->columns[0] != 0)
		return fail(r, "the column line must start with '%s'", fmt->columns[0]);
	if (r->columns[r->n_columns - 1] != fmt->n_columns - 1)
		return fail(r, "'%s' must be the last column",
			    fmt->columns[fmt->n_columns - 1]);
	r->seen_columns = 1;
	return 0;
}

int vms_unescape(const char *in, char *out, size_t outlen, const char **why)
{
	size_t n = 0;

	for (; *in; in++) {
		unsigned char c = *in;

		if (c == '\\') {
			if (in[1] < '0' || in[1] > '3' || in[2] < '0' ||
			    in[2] > '7' || in[3] < '0' || in[3] > '7') {
				*why = "malformed escape (want \\ and three octal digits)";
				return -1;
			}
			c = (in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0');
			if (!c) {
				*why = "escaped NUL";
				return -1;
			}
			in += 3;
		} else if (c < 0x20 || c == 0x7f) {
			*why = "unescaped control character";
			return -1;
		}
		if (n + 1 >= outlen) {
			*why = "too long";
			return -1;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return (int)n;
}

/*
 * The first n_columns - 1 space-separated fields; returns the rest of the
 * line, the last column, or NULL after fail(). values[] gets the counts of
 * the known columns.
 */
static char *split_fields(struct reader *r, char *p, long long *values)
{
	int i;

	if (!r->seen_columns) {
		fail(r, "a row before the column line");
		return NULL;
	}
	for (i = 0; i < r->n_columns - 1; i++) {
		char *end = strchr(p, ' ');
		long long v;

		if (!end) {
			fail(r, "%d fields, expected %d", i + 1, r->n_columns);
			return NULL;
		}
		*end = '\0';
		if (parse_count(p, &v)) {
			fail(r, "%s: '%s' is not a count",
			     r->columns[i] == COL_OTHER ? "column" :
			     r->fmt->columns[r->columns[i]], p);
			return NULL;
		}
		if (r->columns[i] != COL_OTHER)
			values[r->columns[i]] = v;
		p = end + 1;
	}
	return p;
}

static int grow(struct reader *r, void **array, size_t n, size_t size)
{
	size_t cap;
	void *bigger;

	if (n < r->cap_rows)
		return 0;
	cap = r->cap_rows ? 2 * r->cap_rows : 16;
	bigger = realloc(*array, cap * size);
	if (!bigger)
		return fail(r, "out of memory");
	*array = bigger;
	r->cap_rows = cap;
	return 0;
}

static int parse_row(struct reader *r, struct vms_snapshot *snap, char *line)
{
	long long v[NR_VMS_COLUMNS] = { 0 };
	struct vms_row row = { 0 };
	const char *why;
	char *p = split_fields(r, line, v);

	if (!p)
		return -1;
	if (v[COL_PID] < 1 || v[COL_PID] > 0x7fffffff)
		return fail(r, "pid %lld out of range", v[COL_PID]);
	row.pid = (long)v[COL_PID];
	row.unique = v[COL_UNIQUE];
	row.self_shared = v[COL_SELF];
	row.inter_shared = v[COL_INTER];
	row.ksm_mapped = v[COL_MAPPED];
	row.predicted_freed = v[COL_FREED];
	/*
	 * comm: the rest of the line, spaces and all, octal escapes undone.
	 * It may be empty: prctl(PR_SET_NAME, "") is allowed to anyone.
	 */
	if (vms_unescape(p, row.comm, sizeof(row.comm), &why) < 0)
		return fail(r, "comm '%s': %s", p, why);
	if (row.unique > row.predicted_freed ||
	    row.predicted_freed - row.unique != row.self_shared)
		return fail(r, "predicted_freed %lld is not unique + self_shared",
			    row.predicted_freed);
	for (size_t k = 0; k < snap->n_rows; k++)
		if (snap->rows[k].pid == row.pid)
			return fail(r, "pid %ld twice", row.pid);
	if (grow(r, (void **)&snap->rows, snap->n_rows, sizeof(row)))
		return -1;
	snap->rows[snap->n_rows++] = row;
	return 0;
}

/* "1234" or "12,1301,1377": ascending pids, at most max of them. */
static int parse_pids(struct reader *r, char *p, struct vms_set *set,
		      long long max)
{
	long *pids;
	int n = 1;

	for (char *c = p; *c; c++)
		n += *c == ',';
	if (n > max)
		return fail(r, "%d pids, more than max_members %lld", n, max);
	pids = calloc(n, sizeof(*pids));
	if (!pids)
		return fail(r, "out of memory");
	set->pids = pids;
	set->n_pids = 0;
	for (;;) {
		char *comma = strchr(p, ',');
		long long v;

		if (comma)
			*comma = '\0';
		if (parse_count(p, &v))
			return fail(r, "pids: '%s' is not a pid", p);
		if (v < 1 || v > 0x7fffffff)
			return fail(r, "pid %lld out of range", v);
		if (set->n_pids && v <= pids[set->n_pids - 1])
			return fail(r, "pids not ascending at %lld", v);
		pids[set->n_pids++] = (long)v;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* Orders sets by their pids, to find two lines with the same. */
static int by_pids(const void *a, const void *b)
{
	const struct vms_set *x = *(const struct vms_set *const *)a;
	const struct vms_set *y = *(const struct vms_set *const *)b;
	int i;

	if (x->n_pids != y->n_pids)
		return x->n_pids - y->n_pids;
	for (i = 0; i < x->n_pids; i++)
		if (x->pids[i] != y->pids[i])
			return x->pids[i] < y->pids[i] ? -1 : 1;
	return x->line - y->line;
}

/* Two lines with the same pids: an error on the later one. */
static int check_unique_sets(struct reader *r, struct vms_sets *sets)
{
	const struct vms_set **order = malloc((sets->n_sets + 1) * sizeof(*order));
	size_t i, k = 0;
	int ret = 0;

	if (!order)
		return fail(r, "out of memory");
	for (i = 0; i < sets->n_sets; i++)
		if (!sets->sets[i].star)
			order[k++] = &sets->sets[i];
	qsort(order, k, sizeof(*order), by_pids);
	for (i = 1; i < k && !ret; i++) {
		const struct vms_set *a = order[i - 1], *b = order[i];

		if (a->n_pids == b->n_pids &&
		    !memcmp(a->pids, b->pids, a->n_pids * sizeof(*a->pids))) {
			r->line = b->line;
			ret = fail(r, "the same pids as line %d", a->line);
		}
	}
	free(order);
	return ret;
}

static int parse_set(struct reader *r, struct vms_sets *sets, char *line)
{
	long long v[NR_SETS_COLUMNS] = { 0 };
	struct vms_set set = { 0 };
	char *p = split_fields(r, line, v);
	size_t k;

	if (!p)
		return -1;
	set.pages = v[COL_PAGES];
	if (set.pages < 1)
		return fail(r, "a set of 0 pages");
	if (!strcmp(p, "*")) {
		for (k = 0; k < sets->n_sets; k++)
			if (sets->sets[k].star)
				return fail(r, "a second '*' line");
		set.star = 1;
		sets->star_pages = set.pages;
	} else if (parse_pids(r, p, &set, sets->max_members)) {
		free(set.pids);
		return -1;
	}
	set.line = r->line;
	if (grow(r, (void **)&sets->sets, sets->n_sets, sizeof(set))) {
		free(set.pids);
		return -1;
	}
	sets->sets[sets->n_sets++] = set;
	return 0;
}

/*
 * The common loop: version line, headers, column line, rows. row() parses
 * one row; after the column line, headers_done() copies what the header
 * said.
 */
static int read_lines(struct reader *r, FILE *in,
		      int (*row)(struct reader *, void *, char *),
		      int (*headers_done)(struct reader *, void *), void *dst)
{
	const char *first = r->fmt->columns[0];
	size_t first_len = strlen(first), cap = 0;
	char *line = NULL;
	ssize_t got;
	int ret = 0;

	while ((got = getline(&line, &cap, in)) >= 0) {
		size_t len = (size_t)got;

		r->line++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > LINE_MAX_LEN) {
			ret = fail(r, "line longer than %d characters", LINE_MAX_LEN);
		} else if (strlen(line) != len) {
			ret = fail(r, "a NUL byte in the line");
		} else if (r->line == 1) {
			ret = parse_version(r, line);
		} else if (!strncmp(line, "# ", 2) &&
			   !strncmp(line + 2, first, first_len) &&
			   line[2 + first_len] == ' ') {
			ret = parse_columns(r, line);
			if (!ret)
				ret = headers_done(r, dst);
		} else if (line[0] == '#' && !r->seen_columns) {
			ret = parse_header(r, line);
		} else if (line[0] == '#') {
			ret = fail(r, "header line after the column line");
		} else {
			ret = row(r, dst, line);
		}
		if (ret)
			break;
	}
	free(line);
	if (ret)
		return -1;
	if (ferror(in))
		return fail(r, "read error: %s", strerror(errno));
	r->line = 0;
	if (!r->version)
		return fail(r, "empty file");
	if (!r->seen_columns)
		return fail(r, "no column line ('# %s ...')", first);
	return 0;
}

static long long header_number(const struct reader *r, const char *key)
{
	const struct vms_header *h = find_header(r, key);

	return h ? h->number : -1;
}

static int vms_headers_done(struct reader *r, void *dst)
{
	struct vms_snapshot *snap = dst;

	snap->version = r->version;
	strcpy(snap->state, r->state);
	snap->ksm_pages = header_number(r, "ksm_pages");
	snap->ksm_mappings = header_number(r, "ksm_mappings");
	snap->full_scans_seen = header_number(r, "full_scans_seen");
	snap->verified_scans = header_number(r, "verified_scans");
	snap->unowned_vms = header_number(r, "unowned_vms");
	snap->unowned_mappings = header_number(r, "unowned_mappings");
	return 0;
}

static int vms_row_cb(struct reader *r, void *dst, char *line)
{
	return parse_row(r, dst, line);
}

int vms_parse(FILE *in, struct vms_snapshot *snap, char *err, size_t errlen)
{
	struct reader r = { .fmt = &vms_format, .err = err, .errlen = errlen };

	memset(snap, 0, sizeof(*snap));
	r.headers = calloc(MAX_HEADERS, sizeof(*r.headers));
	if (!r.headers) {
		fail(&r, "out of memory");
		return -1;
	}
	snap->headers = r.headers;
	if (read_lines(&r, in, vms_row_cb, vms_headers_done, snap)) {
		snap->n_headers = r.n_headers;
		vms_free(snap);
		return -1;
	}
	snap->version = r.version;
	snap->n_headers = r.n_headers;
	return 0;
}

void vms_free(struct vms_snapshot *snap)
{
	free(snap->rows);
	free(snap->headers);
	snap->rows = NULL;
	snap->headers = NULL;
	snap->n_rows = snap->n_headers = 0;
}

static int sets_headers_done(struct reader *r, void *dst)
{
	struct vms_sets *sets = dst;

	sets->version = r->version;
	strcpy(sets->state, r->state);
	sets->max_members = header_number(r, "max_members");
	if (sets->max_members < 1 || sets->max_members > 1000000)
		return fail(r, "max_members %lld out of range", sets->max_members);
	return 0;
}

static int sets_row_cb(struct reader *r, void *dst, char *line)
{
	return parse_set(r, dst, line);
}

int vms_sets_parse(FILE *in, struct vms_sets *sets, char *err, size_t errlen)
{
	struct reader r = { .fmt = &sets_format, .err = err, .errlen = errlen };

	memset(sets, 0, sizeof(*sets));
	r.headers = calloc(MAX_HEADERS, sizeof(*r.headers));
	if (!r.headers) {
		fail(&r, "out of memory");
		return -1;
	}
	sets->headers = r.headers;
	if (read_lines(&r, in, sets_row_cb, sets_headers_done, sets) ||
	    check_unique_sets(&r, sets)) {
		vms_sets_free(sets);
		return -1;
	}
	sets->version = r.version;
	sets->n_headers = r.n_headers;
	return 0;
}

void vms_sets_free(struct vms_sets *sets)
{
	size_t i;

	for (i = 0; i < sets->n_sets; i++)
		free(sets->sets[i].pids);
	free(sets->sets);
	free(sets->headers);
	memset(sets, 0, sizeof(*sets));
}

int vms_exact(const struct vms_snapshot *snap)
{
	return !strcmp(snap->state, "tracking");
}
