/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an operator calls a VM: QEMU's "-name guest=NAME,..." (libvirt's
 * form) or "-name NAME", from the process's command line.
 */
#ifndef KSMVS_VMNAME_H
#define KSMVS_VMNAME_H

#include <stddef.h>

/*
 * cmdline: /proc/PID/cmdline, NUL-separated arguments, len bytes.
 * Whether argv[0] is a QEMU system emulator (qemu-system-*, qemu-kvm, kvm).
 */
int vmname_is_qemu(const char *cmdline, size_t len);

/* QEMU's -name value into out; 1 if there was one, 0 if not. */
int vmname_from_cmdline(const char *cmdline, size_t len, char *out,
			size_t outlen);

#endif /* KSMVS_VMNAME_H */
