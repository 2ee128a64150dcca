/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the module and the user-space tools agree on: the name and version
 * of /proc/ksm_vmshare and its column line (../shared/docs/interface.md).
 */
#ifndef KSM_VMSHARE_INTERFACE_H
#define KSM_VMSHARE_INTERFACE_H

#define KSMVS_PROC_NAME		"ksm_vmshare"
#define KSMVS_PROC_PATH		"/proc/" KSMVS_PROC_NAME
#define KSMVS_FORMAT_VERSION	1
#define KSMVS_TITLE		"ksm_vmshare - version: "
#define KSMVS_COLUMNS \
	"# pid unique self_shared inter_shared ksm_mapped predicted_freed comm"

#endif /* KSM_VMSHARE_INTERFACE_H */
