/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an operator calls a VM: QEMU's "-name guest=NAME,..." (libvirt's
 * form) or "-name NAME", and its "-uuid UUID", from the process's command
 * line (/proc/PID/cmdline).
 */
#ifndef KSMVS_VMNAME_H
#define KSMVS_VMNAME_H

#include <stddef.h>

/*
 * cmdline: /proc/PID/cmdline, NUL-separated arguments, len bytes.
 * Whether argv[0] is a QEMU system emulator (qemu-system-*, qemu-kvm, kvm).
 */
int vmname_is_qemu(const char *cmdline, size_t len);

/*
 * QEMU's -name value into out, ",," undone; 1 if there was one, 0 if not.
 * A name longer than outlen - 1 bytes is cut there.
 */
int vmname_from_cmdline(const char *cmdline, size_t len, char *out,
			size_t outlen);

/*
 * QEMU's -uuid value (8-4-4-4-12 hex digits, as QEMU requires) into out,
 * which must hold VMNAME_UUID_LEN + 1 bytes; 1 if there was one, 0 if not.
 */
#define VMNAME_UUID_LEN 36
int vmname_uuid_from_cmdline(const char *cmdline, size_t len, char *out);

#endif /* KSMVS_VMNAME_H */
