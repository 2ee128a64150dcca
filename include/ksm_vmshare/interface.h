/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the module and the user-space tools agree on: the names and
 * versions of /proc/ksm_vmshare and /proc/ksm_vmshare_sets and their
 * column lines (../shared/docs/interface.md).
 */
#ifndef KSM_VMSHARE_INTERFACE_H
#define KSM_VMSHARE_INTERFACE_H

#define KSMVS_PROC_NAME		"ksm_vmshare"
#define KSMVS_PROC_PATH		"/proc/" KSMVS_PROC_NAME
#define KSMVS_FORMAT_VERSION	1
#define KSMVS_TITLE		"ksm_vmshare - version: "
#define KSMVS_COLUMNS \
	"# pid unique self_shared inter_shared ksm_mapped predicted_freed comm"

/* /proc/ksm_vmshare_sets: KSM pages per exact set of mapping VMs */
#define KSMVS_SETS_PROC_NAME	"ksm_vmshare_sets"
#define KSMVS_SETS_PROC_PATH	"/proc/" KSMVS_SETS_PROC_NAME
#define KSMVS_SETS_TITLE	"ksm_vmshare_sets - version: "
#define KSMVS_SETS_COLUMNS	"# pages pids"

#endif /* KSM_VMSHARE_INTERFACE_H */
