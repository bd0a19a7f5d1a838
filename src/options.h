/* SPDX-License-Identifier: GPL-2.0 */
/* Options every subcommand takes (an argp child) and small parsers shared by subcommands. */
#ifndef PFNSCOPE_OPTIONS_H
#define PFNSCOPE_OPTIONS_H

#include <argp.h>
#include <errno.h>
#include <stdio.h>

#include <signal.h>

extern const struct argp common_argp;
/* The children list every subcommand's argp uses: the common options. */
extern const struct argp_child common_children[];

/* Set by SIGINT/SIGTERM once stop_on_signals() ran: live subcommands end their loop. */
extern volatile sig_atomic_t stop_requested;
void stop_on_signals(void);

/* A one-line usage error from an argp parser; argp_parse() then returns EINVAL. */
#define usage_error(state, ...)                                            \
	({                                                                 \
		fprintf(stderr, "%s: ", (state)->name);                    \
		fprintf(stderr, __VA_ARGS__);                              \
		fputc('\n', stderr);                                       \
		EINVAL;                                                    \
	})

/* Parsers of the options several subcommands share; each returns 0, or EINVAL after a one-line
 * usage error naming the option (argp then exits 2). */
int opt_pid(struct argp_state *state, const char *opt, const char *arg, int *pid);
int opt_backend(struct argp_state *state, const char *arg, int *backend);
int opt_ringbuf(struct argp_state *state, const char *arg, unsigned long *mib);
int opt_events(struct argp_state *state, const char *arg, unsigned int *types);
int opt_max_vmas(struct argp_state *state, const char *arg, unsigned long *n);

/* Severity of a finding, also the --fail-on threshold. */
enum severity { SEV_INFO, SEV_WARNING, SEV_ERROR, SEV_NONE };
int parse_severity(const char *s, enum severity *out);
const char *severity_name(enum severity s);

/* Creates @path for writing, mode 0600, through a temporary file that output_commit() renames
 * into place: an interrupted or failed run leaves no partial file. "-" is stdout. */
struct output {
	FILE *f;
	char path[4096];
	char tmp[4096 + 16];
};
/* An output path that is not a plain file (a symbolic link such as /dev/stdout, a device, a
 * FIFO, a directory) is written as it is: a file made aside and renamed over it would replace
 * the link or the device node (as root, /dev/null). */
bool path_in_place(const char *path);
/* open() for writing as it is; truncated and made 0600 only if it turns out a plain file. */
int open_in_place(const char *path);
/* A file to be renamed over @path once whole: .NAME.XXXXXX in its directory, mode 0600
 * (mkostemp()), its name left in @tmp ("" on failure). fd or -1 with errno. */
int open_aside(const char *path, char *tmp, size_t n);
/* "-" is stdout; a plain or new file is written aside (open_aside()) and renamed over PATH by
 * output_commit(); anything else (path_in_place()) is written as it is. */
int output_open(struct output *o, const char *path);
int output_commit(struct output *o);
void output_abort(struct output *o);

#endif /* PFNSCOPE_OPTIONS_H */
