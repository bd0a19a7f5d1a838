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
	bool exec_failed;	/* target_start(): the command could not be run */
};

/* Before anything is loaded or created: @cmd is found as execvp() would search for it, and
 * may be executed. 0, or a one-line error and EXIT_NOTFOUND / EXIT_NOEXEC. */
int command_check(const char *prog, const char *cmd);
/* fork() and exec @shell_cmd through /bin/sh, else @argv (PATH searched). Returns the child's
 * pid; -1 with errno set where fork() failed, or the exec did (then *exec_failed, and the
 * child has been reaped). */
pid_t spawn_command(char *const argv[], const char *shell_cmd, bool *exec_failed);
/* Prints the one-line error for a command that could not be started (-@err, from
 * spawn_command() or target_start()) and returns the exit status: EXIT_NOTFOUND,
 * EXIT_NOEXEC, or EXIT_ENV where it was not the exec that failed. */
int spawn_error(const char *prog, const char *cmd, int err, bool exec_failed);

/* True if a process is watched rather than the whole system. */
bool target_filters(const struct target *t);
/* Validates -p (the process exists) and that only one of -p / -c / CMD is given; prints a
 * one-line error and returns EXIT_USAGE, or 0. */
int target_check(const struct target *t, const char *prog);
/* Adds -p to the filter, or starts the command followed from its first instruction; 0 or
 * -errno (t->exec_failed: the command could not be run; spawn_error() says so). */
int target_start(struct target *t, struct session *s);
/* spawn_error() for what target_start() returned. */
int target_start_error(const struct target *t, const char *prog, int err);
/* Non-blocking: true once the watched process or command is gone (reaps the command). */
bool target_gone(struct target *t);
/* Kills and reaps a command still running (pfnscope was interrupted). */
void target_stop(struct target *t);
/* "pid 123", "command ls -l", "every process": for headers. */
void target_describe(const struct target *t, char *buf, size_t n);

#endif /* PFNSCOPE_TARGET_H */
