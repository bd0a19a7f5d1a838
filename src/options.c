// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pfnscope.h"
#include "options.h"
#include "planner.h"
#include "trace_view.h"

enum { OPT_SHOW_KADDR = 0x1000 };

static const struct argp_option common_options[] = {
	{ "verbose", 'v', NULL, 0, "More messages (-vv: libbpf debug and verifier logs)", -1 },
	{ "show-kernel-addresses", OPT_SHOW_KADDR, NULL, 0,
	  "Print raw kernel addresses next to symbols (hidden by default)", -1 },
	{},
};

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'v':
		env.verbose++;
		break;
	case OPT_SHOW_KADDR:
		env.show_kernel_addresses = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp common_argp = { common_options, common_parse };
const struct argp_child common_children[] = { { &common_argp, 0, "Common options:", 1 }, {} };

volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void stop_on_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

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

int opt_events(struct argp_state *state, const char *arg, unsigned int *types)
{
	if (trace_parse_types(arg, types))
		return usage_error(state, "-e: unknown event type in '%s' (fault, pfn, teardown, "
				   "pin, unpin, rss, bad-pte, exit, all)", arg);
	return 0;
}

static const char *const sev_names[] = {
	[SEV_INFO] = "info", [SEV_WARNING] = "warning", [SEV_ERROR] = "error", [SEV_NONE] = "none",
};

int parse_severity(const char *s, enum severity *out)
{
	for (int i = 0; i <= SEV_NONE; i++)
		if (!strcmp(s, sev_names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

const char *severity_name(enum severity s)
{
	return sev_names[s];
}

int output_open(struct output *o, const char *path)
{
	int fd;

	memset(o, 0, sizeof(*o));
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	snprintf(o->path, sizeof(o->path), "%s", path);
	snprintf(o->tmp, sizeof(o->tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int err = -errno;

		close(fd);
		unlink(o->tmp);
		return err;
	}
	return 0;
}

int output_commit(struct output *o)
{
	int err = 0;

	if (!o->f || o->f == stdout) {
		if (o->f)
			fflush(o->f);
		return 0;
	}
	if (fflush(o->f) || fsync(fileno(o->f)))
		err = -errno;
	if (fclose(o->f) && !err)
		err = -errno;
	o->f = NULL;
	if (!err && rename(o->tmp, o->path))
		err = -errno;
	if (err)
		unlink(o->tmp);
	return err;
}

void output_abort(struct output *o)
{
	if (o->f && o->f != stdout) {
		fclose(o->f);
		unlink(o->tmp);
	}
	o->f = NULL;
}
