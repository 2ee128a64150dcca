// SPDX-License-Identifier: GPL-2.0
/* Naming VMs from QEMU command lines; see vmname.h. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "vmname.h"

int vmname_is_qemu(const char *cmdline, size_t len)
{
	const char *argv0 = cmdline, *base;

	if (!len || !memchr(cmdline, '\0', len))
		return 0;
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return !strncmp(base, "qemu-system-", 12) ||
	       !strcmp(base, "qemu-kvm") || !strcmp(base, "kvm");
}

/*
 * One element of a QEMU option value: up to an unescaped ','; ",," is a
 * literal comma. Returns the next element's start, or NULL at the end.
 */
static const char *next_element(const char *p, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *p; p++) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		if (n + 1 < outlen)
			out[n++] = *p;
	}
	out[n] = '\0';
	return *p ? p + 1 : NULL;
}

/* The guest name in "-name" VALUE: "guest=X" anywhere, or a first element
 * without '=' (QEMU's implied key). */
static int name_from_value(const char *value, char *out, size_t outlen)
{
	char elem[4096];
	const char *p = value;
	int first = 1;

	while (p) {
		p = next_element(p, elem, sizeof(elem));
		if (!strncmp(elem, "guest=", 6) && elem[6]) {
			snprintf(out, outlen, "%s", elem + 6);
			return 1;
		}
		if (first && elem[0] && !strchr(elem, '=')) {
			snprintf(out, outlen, "%s", elem);
			return 1;
		}
		first = 0;
	}
	return 0;
}

/* The argument after the first "-OPT" or "--OPT", or NULL. */
static const char *option_value(const char *cmdline, size_t len,
				const char *opt, size_t *vlen)
{
	const char *p = cmdline, *end = cmdline + len;

	while (p < end) {
		const char *arg = p;
		size_t n = strnlen(arg, end - arg);

		p += n + 1;
		if (p >= end)
			break;
		if (arg[0] == '-' && arg[1] == '-')
			arg++;
		if (arg[0] == '-' && !strcmp(arg + 1, opt)) {
			*vlen = strnlen(p, end - p);
			return p;
		}
	}
	return NULL;
}

int vmname_from_cmdline(const char *cmdline, size_t len, char *out,
			size_t outlen)
{
	char value[4096];
	const char *v;
	size_t vlen;

	v = option_value(cmdline, len, "name", &vlen);
	if (!v || vlen >= sizeof(value))
		return 0;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	return name_from_value(value, out, outlen);
}

int vmname_uuid_from_cmdline(const char *cmdline, size_t len, char *out)
{
	const char *v;
	size_t vlen, i;

	v = option_value(cmdline, len, "uuid", &vlen);
	if (!v || vlen != VMNAME_UUID_LEN)
		return 0;
	for (i = 0; i < vlen; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? v[i] != '-' : !isxdigit((unsigned char)v[i]))
			return 0;
	}
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return 1;
}
