// SPDX-License-Identifier: GPL-2.0
/* Parsers of the options several subcommands share (src/options.h). Kept apart from
 * options.c, which the policy fuzz target links alone. */
#include <errno.h>
#include <stdlib.h>
#include "pfnscope.h"
#include "options.h"
#include "planner.h"
#include "trace_view.h"

int opt_pid(struct argp_state *state, const char *opt, const char *arg, int *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v <= 0 || v > 0x3fffffff)
		return usage_error(state, "%s: '%s' is not a process id", opt, arg);
	*pid = v;
	return 0;
}

int opt_backend(struct argp_state *state, const char *arg, int *backend)
{
	enum backend b;

	if (parse_backend(arg, &b))
		return usage_error(state, "--backend: unknown mechanism '%s' (auto, fentry, kprobe, "
				   "tracepoint)", arg);
	*backend = b;
	return 0;
}

int opt_ringbuf(struct argp_state *state, const char *arg, unsigned long *mib)
{
	char *end;

	errno = 0;
	*mib = strtoul(arg, &end, 10);
	if (errno || *end || !*mib || *mib > 1024 || (*mib & (*mib - 1)))
		return usage_error(state, "--ringbuf: '%s' is not a power of 2 in 1..1024", arg);
	return 0;
}

int opt_max_vmas(struct argp_state *state, const char *arg, unsigned long *n)
{
	char *end;

	errno = 0;
	*n = strtoul(arg, &end, 0);
	if (errno || *end || *n < 16 || *n > (1UL << 24))
		return usage_error(state, "--max-vmas: '%s' is not a number in 16..16777216", arg);
	return 0;
}

int opt_events(struct argp_state *state, const char *arg, unsigned int *types)
{
	if (trace_parse_types(arg, types))
		return usage_error(state, "-e: unknown event type in '%s' (fault, pfn, teardown, "
				   "pin, unpin, rss, bad-pte, exit, all)", arg);
	return 0;
}
