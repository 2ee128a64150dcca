/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSM_VMSHARE_H
#define KSM_VMSHARE_H

int ksmvs_proc_init(void);
void ksmvs_proc_exit(void);

#endif /* KSM_VMSHARE_H */
