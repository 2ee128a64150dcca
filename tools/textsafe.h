/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names come from processes: any process can call itself anything, bytes
 * that move a terminal's cursor included. Everything shown is escaped for
 * where it goes: a terminal, a JSON string (RFC 8259), or a Prometheus
 * label value (the text exposition format).
 */
#ifndef KSMVS_TEXTSAFE_H
#define KSMVS_TEXTSAFE_H

#include <stddef.h>
#include <stdio.h>

/*
 * For a terminal: control characters (C0, DEL, C1), bidirectional
 * overrides, line separators, backslash and bytes that are not UTF-8 as
 * seq_escape-style "\ooo" per byte; printable UTF-8 as is. Writes a
 * NUL-terminated string to out (cut at a whole character if outlen is
 * too small) and returns its width in terminal columns (one per
 * character).
 */
size_t text_terminal(const char *s, char *out, size_t outlen);

/*
 * The same, but backslashes kept as they are: for messages that quote a
 * file's text, which has its own backslash escapes.
 */
size_t text_message(const char *s, char *out, size_t outlen);

/* s as a JSON string, quotes included; bytes that are not UTF-8 as U+FFFD. */
void text_json(FILE *f, const char *s);

/*
 * s as a Prometheus label value, quotes included: backslash, double quote
 * and newline escaped; bytes that are not UTF-8 as U+FFFD.
 */
void text_prom_label(FILE *f, const char *s);

/* The length of the valid UTF-8 character at s, 0 if none; *cp its value. */
int text_utf8(const char *s, unsigned int *cp);

#endif /* KSMVS_TEXTSAFE_H */
