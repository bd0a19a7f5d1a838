/* SPDX-License-Identifier: GPL-2.0 */
/* What a live subcommand watches: every process, one running pid (-p), or a command it starts
 * (-c 'CMD' or -- CMD ARGS), children included (the task-fork hook follows them). */
#ifndef PFNSCOPE_TARGET_H
#define PFNSCOPE_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

struct session;

struct target {
	pid_t pid;		/* -p */
	const char *shell_cmd;	/* -c */
	char **argv;		/* -- CMD ARGS */
	pid_t child;		/* the command we started */
	int child_status;	/* its wait status once done */
	bool done;
};

/* True if a process is watched rather than the whole system. */
bool target_filters(const struct target *t);
/* Validates -p (the process exists) and that only one of -p / -c / CMD is given; prints a
 * one-line error and returns EXIT_USAGE, or 0. */
int target_check(const struct target *t, const char *prog);
/* Adds -p to the filter, or starts the command followed from its first instruction. */
int target_start(struct target *t, struct session *s);
/* Non-blocking: true once the watched process or command is gone (reaps the command). */
bool target_gone(struct target *t);
/* Kills and reaps a command still running (pfnscope was interrupted). */
void target_stop(struct target *t);
/* "pid 123", "command ls -l", "every process": for headers. */
void target_describe(const struct target *t, char *buf, size_t n);

#endif /* PFNSCOPE_TARGET_H */
