/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace-wide definitions: exit codes, logging, common options. */
#ifndef PFNSCOPE_APP_H
#define PFNSCOPE_APP_H

#include <stdbool.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>

/* Exit codes, documented in docs/pfnscope.8 (EXIT STATUS) and README.md. */
enum {
	EXIT_CLEAN = 0,		/* nothing at or above --fail-on */
	EXIT_FINDINGS = 1,	/* findings at or above --fail-on */
	EXIT_USAGE = 2,		/* bad command line or input */
	EXIT_ENV = 3,		/* environment: not root, no BTF, nothing could attach */
	EXIT_INTERNAL = 4,	/* a bug or an unexpected kernel/library failure */
	EXIT_NOEXEC = 126,	/* the command given was found but cannot run (as env(1)) */
	EXIT_NOTFOUND = 127,	/* the command given was not found */
};

struct env {
	int verbose;			/* -v: libbpf warnings, -vv: libbpf debug */
	bool show_kernel_addresses;	/* print raw kernel addresses (off by default) */
};

extern struct env env;

void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void libbpf_print_setup(void);

/* Checks the privileges BPF tracing needs; on failure prints what is missing, returns false. */
bool have_bpf_privileges(void);

/* qsort() of @n elements; an empty array's base may be NULL, which qsort() may not get. */
static inline void sort_n(void *base, size_t n, size_t size,
			  int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}

/* Ascending order of __u64 elements (sort_n(), bsearch()). */
static inline int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_check(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_pins(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);

#endif /* PFNSCOPE_APP_H */
