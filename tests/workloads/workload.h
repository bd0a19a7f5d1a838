/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers the static test workloads share (each is one .c file plus this header). */
#ifndef PFNSCOPE_WORKLOAD_H
#define PFNSCOPE_WORKLOAD_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "PROG: WHAT: strerror(errno)" and exit 1. */
static inline void die_errno(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* A whole number >= @min from @s, or "PROG: bad WHAT 'S'" and exit 2. */
static inline long parse_num(const char *prog, const char *s, const char *what, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min) {
		fprintf(stderr, "%s: bad %s '%s'\n", prog, what, s);
		exit(2);
	}
	return v;
}

#endif /* PFNSCOPE_WORKLOAD_H */
