// SPDX-License-Identifier: GPL-2.0
/* Escaping for terminals, JSON and Prometheus; see textsafe.h. */
#include <string.h>

#include "textsafe.h"

int text_utf8(const char *str, unsigned int *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned int c = s[0], min;
	int len, i;

	if (c < 0x80) {
		*cp = c;
		return c ? 1 : 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters a terminal acts on rather than shows, or that reorder text. */
static int unsafe(unsigned int c, int backslash)
{
	return c < 0x20 || (c == '\\' && backslash) || (c >= 0x7f && c <= 0x9f) ||
	       c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

static size_t escape(const char *s, char *out, size_t outlen, int backslash)
{
	size_t n = 0, width = 0;

	if (!outlen)
		return 0;
	while (*s) {
		unsigned int c;
		int len = text_utf8(s, &c), i;

		if (len && !unsafe(c, backslash)) {
			if (n + len >= outlen)
				break;
			memcpy(out + n, s, len);
			n += len;
			width++;
		} else {
			if (!len)
				len = 1;
			if (n + 4 * len >= outlen)
				break;
			for (i = 0; i < len; i++) {
				unsigned char b = s[i];

				out[n++] = '\\';
				out[n++] = '0' + (b >> 6);
				out[n++] = '0' + ((b >> 3) & 7);
				out[n++] = '0' + (b & 7);
			}
			width += 4 * len;
		}
		s += len;
	}
	out[n] = '\0';
	return width;
}

size_t text_terminal(const char *s, char *out, size_t outlen)
{
	return escape(s, out, outlen, 1);
}

size_t text_message(const char *s, char *out, size_t outlen)
{
	return escape(s, out, outlen, 0);
}

void text_json(FILE *f, const char *s)
{
	fputc('"', f);
	while (*s) {
		unsigned int c;
		int len = text_utf8(s, &c);

		if (!len) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(s, 1, len, f);
		s += len;
	}
	fputc('"', f);
}

void text_prom_label(FILE *f, const char *s)
{
	fputc('"', f);
	while (*s) {
		unsigned int c;
		int len = text_utf8(s, &c);

		if (!len) {
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
			s++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else
			fwrite(s, 1, len, f);
		s += len;
	}
	fputc('"', f);
}
