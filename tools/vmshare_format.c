// SPDX-License-Identifier: GPL-2.0
/* Strict parsing of /proc/ksm_vmshare; see vmshare_format.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmshare_format.h"

#define LINE_MAX_LEN	4096
#define MAX_COLUMNS	32

/* The columns this reader needs; others before comm are allowed. */
enum column {
	COL_PID, COL_UNIQUE, COL_SELF, COL_INTER, COL_MAPPED, COL_FREED,
	COL_COMM, NR_COLUMNS, COL_OTHER = -1,
};

static const char *const column_names[NR_COLUMNS] = {
	"pid", "unique", "self_shared", "inter_shared", "ksm_mapped",
	"predicted_freed", "comm",
};

struct reader {
	struct vms_snapshot *snap;
	char *err;
	size_t errlen;
	int line;
	int seen_columns;
	int n_columns;
	int columns[MAX_COLUMNS];	/* enum column of each position */
	int have_key[4];		/* state, ksm_pages, ksm_mappings, scans */
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
	static const char title[] = "ksm_vmshare - version: ";
	long long v;

	if (strncmp(line, title, sizeof(title) - 1))
		return fail(r, "not a ksm_vmshare file (expected '%sN')", title);
	if (parse_count(line + sizeof(title) - 1, &v) || v < 1 || v > 1000000)
		return fail(r, "bad version '%s'", line + sizeof(title) - 1);
	r->snap->version = (int)v;
	if (v != VMS_FORMAT_VERSION)
		return fail(r, "unknown version %lld (this ksm-victim reads version %d)",
			    v, VMS_FORMAT_VERSION);
	return 0;
}

static int parse_header(struct reader *r, char *line)
{
	char *key = line + 2, *colon = strstr(key, ": ");
	char *value;
	long long *target = NULL;
	int k = -1;

	if (strncmp(line, "# ", 2) || !colon || colon == key)
		return fail(r, "header line is not '# key: value'");
	*colon = '\0';
	value = colon + 2;
	for (char *c = key; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return fail(r, "bad header key '%s'", key);
	if (!strcmp(key, "state")) {
		if (strncmp(value, "tracking", 9) && strncmp(value, "warming", 8) &&
		    strncmp(value, "degraded", 8))
			return fail(r, "unknown state '%s'", value);
		if (strlen(value) >= VMS_STATE_MAX)
			return fail(r, "state too long");
		strcpy(r->snap->state, value);
		k = 0;
	} else if (!strcmp(key, "ksm_pages")) {
		target = &r->snap->ksm_pages;
		k = 1;
	} else if (!strcmp(key, "ksm_mappings")) {
		target = &r->snap->ksm_mappings;
		k = 2;
	} else if (!strcmp(key, "full_scans_seen")) {
		target = &r->snap->full_scans_seen;
		k = 3;
	}
	if (target && parse_count(value, target))
		return fail(r, "%s: '%s' is not a count", key, value);
	if (k >= 0) {
		if (r->have_key[k])
			return fail(r, "header key '%s' twice", key);
		r->have_key[k] = 1;
	}
	return 0;	/* keys added later are fine */
}

static int parse_columns(struct reader *r, char *line)
{
	char *save = NULL, *t;
	int seen[NR_COLUMNS] = { 0 }, i;

	if (r->seen_columns)
		return fail(r, "a second column line");
	for (i = 0; i < 4; i++)
		if (!r->have_key[i])
			return fail(r, "header lacks '%s'", i == 0 ? "state" :
				    i == 1 ? "ksm_pages" : i == 2 ?
				    "ksm_mappings" : "full_scans_seen");
	r->n_columns = 0;
	for (t = strtok_r(line + 2, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		int c = COL_OTHER;

		if (r->n_columns == MAX_COLUMNS)
			return fail(r, "more than %d columns", MAX_COLUMNS);
		for (i = 0; i < NR_COLUMNS; i++)
			if (!strcmp(t, column_names[i]))
				c = i;
		if (c != COL_OTHER && seen[c]++)
			return fail(r, "column '%s' twice", t);
		r->columns[r->n_columns++] = c;
	}
	for (i = 0; i < NR_COLUMNS; i++)
		if (!seen[i])
			return fail(r, "column line lacks '%s'", column_names[i]);
	if (r->columns[0] != COL_PID)
		return fail(r, "the column line must start with 'pid'");
	if (r->columns[r->n_columns - 1] != COL_COMM)
		return fail(r, "'comm' must be the last column");
	r->seen_columns = 1;
	return 0;
}

static int parse_row(struct reader *r, char *line)
{
	struct vms_row row = { 0 };
	char *p = line;
	int i;

	if (!r->seen_columns)
		return fail(r, "a row before the column line");
	for (i = 0; i < r->n_columns - 1; i++) {
		char *end = strchr(p, ' ');
		long long v;

		if (!end)
			return fail(r, "%d fields, expected %d", i + 1, r->n_columns);
		*end = '\0';
		if (parse_count(p, &v))
			return fail(r, "%s: '%s' is not a count",
				    r->columns[i] == COL_OTHER ? "column" :
				    column_names[r->columns[i]], p);
		switch (r->columns[i]) {
		case COL_PID:
			if (v < 1 || v > 0x7fffffff)
				return fail(r, "pid %lld out of range", v);
			row.pid = (long)v;
			break;
		case COL_UNIQUE:
			row.unique = v;
			break;
		case COL_SELF:
			row.self_shared = v;
			break;
		case COL_INTER:
			row.inter_shared = v;
			break;
		case COL_MAPPED:
			row.ksm_mapped = v;
			break;
		case COL_FREED:
			row.predicted_freed = v;
			break;
		default:
			break;
		}
		p = end + 1;
	}
	/* comm: the rest of the line, spaces and all */
	if (!*p)
		return fail(r, "empty comm");
	snprintf(row.comm, sizeof(row.comm), "%s", p);
	if (row.unique > row.predicted_freed ||
	    row.predicted_freed - row.unique != row.self_shared)
		return fail(r, "predicted_freed %lld is not unique + self_shared",
			    row.predicted_freed);
	for (size_t k = 0; k < r->snap->n_rows; k++)
		if (r->snap->rows[k].pid == row.pid)
			return fail(r, "pid %ld twice", row.pid);
	if (r->snap->n_rows == r->cap_rows) {
		size_t cap = r->cap_rows ? 2 * r->cap_rows : 16;
		struct vms_row *rows = realloc(r->snap->rows, cap * sizeof(*rows));

		if (!rows)
			return fail(r, "out of memory");
		r->snap->rows = rows;
		r->cap_rows = cap;
	}
	r->snap->rows[r->snap->n_rows++] = row;
	return 0;
}

int vms_parse(FILE *in, struct vms_snapshot *snap, char *err, size_t errlen)
{
	struct reader r = { .snap = snap, .err = err, .errlen = errlen };
	char line[LINE_MAX_LEN];

	memset(snap, 0, sizeof(*snap));
	while (fgets(line, sizeof(line), in)) {
		size_t len = strlen(line);
		int ret;

		r.line++;
		if (len && line[len - 1] == '\n') {
			line[--len] = '\0';
		} else if (!feof(in)) {
			fail(&r, "line longer than %d characters", LINE_MAX_LEN - 2);
			goto bad;
		}
		if (r.line == 1)
			ret = parse_version(&r, line);
		else if (!strncmp(line, "# pid ", 6))
			ret = parse_columns(&r, line);
		else if (line[0] == '#' && !r.seen_columns)
			ret = parse_header(&r, line);
		else if (line[0] == '#')
			ret = fail(&r, "header line after the column line");
		else
			ret = parse_row(&r, line);
		if (ret)
			goto bad;
	}
	if (ferror(in)) {
		fail(&r, "read error: %s", strerror(errno));
		goto bad;
	}
	r.line = 0;
	if (!snap->version) {
		fail(&r, "empty file");
		goto bad;
	}
	if (!r.seen_columns) {
		fail(&r, "no column line ('# pid ...')");
		goto bad;
	}
	return 0;
bad:
	vms_free(snap);
	return -1;
}

void vms_free(struct vms_snapshot *snap)
{
	free(snap->rows);
	snap->rows = NULL;
	snap->n_rows = 0;
}

int vms_exact(const struct vms_snapshot *snap)
{
	return !strcmp(snap->state, "tracking");
}
