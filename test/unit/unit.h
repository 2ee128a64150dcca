/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal test harness: CHECK counts, and unit_report() prints the
 * closing line "NAME: N passed, N failed" that the test runner sums.
 */
#ifndef KSMVS_UNIT_H
#define KSMVS_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define CHECK(cond)							\
	do {								\
		if (cond) {						\
			unit_passed++;					\
		} else {						\
			unit_failed++;					\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (a), _b = (b);				\
		if (_a == _b) {						\
			unit_passed++;					\
		} else {						\
			unit_failed++;					\
			fprintf(stderr, "%s:%d: %s == %lld, want %s == %lld\n", \
				__FILE__, __LINE__, #a, _a, #b, _b);	\
		}							\
	} while (0)

static inline int unit_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
	return unit_failed != 0;
}

#endif /* KSMVS_UNIT_H */
