/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict readers of /proc/ksm_vmshare and /proc/ksm_vmshare_sets
 * (../shared/docs/interface.md): version line, "# key: value" header, one
 * column line, rows. Anything else is refused with the line number and the
 * reason.
 */
#ifndef KSMVS_VMSHARE_FORMAT_H
#define KSMVS_VMSHARE_FORMAT_H

#include <stdio.h>

/* comm after unescaping: the kernel's is at most 15 bytes */
#define VMS_COMM_MAX	64
#define VMS_STATE_MAX	64
#define VMS_KEY_MAX	64
#define VMS_VALUE_MAX	256

struct vms_row {
	long pid;
	long long unique;
	long long self_shared;
	long long inter_shared;
	long long ksm_mapped;
	long long predicted_freed;
	char comm[VMS_COMM_MAX];	/* unescaped; no NUL inside */
};

/* One "# key: value" header line, in file order. */
struct vms_header {
	char key[VMS_KEY_MAX];
	char value[VMS_VALUE_MAX];
	int numeric;			/* value is a whole count */
	long long number;		/* its value when numeric */
};

struct vms_snapshot {
	int version;
	char state[VMS_STATE_MAX];	/* "tracking", "warming", "degraded x" */
	long long ksm_pages;
	long long ksm_mappings;
	long long full_scans_seen;
	long long verified_scans;	/* -1 when the header lacks it */
	long long unowned_vms;		/* -1 when the header lacks it */
	long long unowned_mappings;	/* -1 when the header lacks it */
	struct vms_header *headers;	/* every header line, known or not */
	size_t n_headers;
	struct vms_row *rows;
	size_t n_rows;
};

/* One line of /proc/ksm_vmshare_sets. */
struct vms_set {
	long long pages;
	int star;		/* pids "*": more than max_members VMs */
	int n_pids;
	long *pids;		/* ascending; NULL for star */
	int line;		/* in the file */
};

struct vms_sets {
	int version;
	char state[VMS_STATE_MAX];
	long long max_members;
	struct vms_header *headers;
	size_t n_headers;
	struct vms_set *sets;
	size_t n_sets;
	long long star_pages;	/* pages of the "*" line, 0 if none */
};

/* The only version these readers know. */
#define VMS_FORMAT_VERSION 1

/*
 * Parse a whole file. Returns 0, or -1 with "line N: reason" (or just
 * "reason") in err. The result's arrays are malloc'ed: vms_free() and
 * vms_sets_free() release them.
 */
int vms_parse(FILE *in, struct vms_snapshot *snap, char *err, size_t errlen);
void vms_free(struct vms_snapshot *snap);
int vms_sets_parse(FILE *in, struct vms_sets *sets, char *err, size_t errlen);
void vms_sets_free(struct vms_sets *sets);

/* Whether the counts are exact (state "tracking") or lower bounds. */
int vms_exact(const struct vms_snapshot *snap);

/*
 * Unescape seq_escape-style octal escapes: "\ooo" (three octal digits,
 * at most \377, not \000) is that byte; any other backslash is an error.
 * Raw control characters (below 0x20, 0x7f) are errors too: the writer
 * escapes them. Returns the length, or -1 with the reason in *why.
 */
int vms_unescape(const char *in, char *out, size_t outlen, const char **why);

#endif /* KSMVS_VMSHARE_FORMAT_H */
