/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A strict reader of /proc/ksm_vmshare (../shared/docs/interface.md):
 * version line, "# key: value" header, one column line, one row per VM.
 * Anything else is refused with the line number and the reason.
 */
#ifndef KSMVS_VMSHARE_FORMAT_H
#define KSMVS_VMSHARE_FORMAT_H

#include <stdio.h>

#define VMS_COMM_MAX	64
#define VMS_STATE_MAX	64

struct vms_row {
	long pid;
	long long unique;
	long long self_shared;
	long long inter_shared;
	long long ksm_mapped;
	long long predicted_freed;
	char comm[VMS_COMM_MAX];
};

struct vms_snapshot {
	int version;
	char state[VMS_STATE_MAX];	/* "tracking", "warming", "degraded x" */
	long long ksm_pages;
	long long ksm_mappings;
	long long full_scans_seen;
	struct vms_row *rows;
	size_t n_rows;
};

/* The only version this reader knows. */
#define VMS_FORMAT_VERSION 1

/*
 * Parse a whole file. Returns 0, or -1 with "LINE: reason" (or just
 * "reason") in err. The snapshot's rows are malloc'ed: vms_free().
 */
int vms_parse(FILE *in, struct vms_snapshot *snap, char *err, size_t errlen);
void vms_free(struct vms_snapshot *snap);

/* Whether the counts are exact (state "tracking") or lower bounds. */
int vms_exact(const struct vms_snapshot *snap);

#endif /* KSMVS_VMSHARE_FORMAT_H */
