// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "pfnscope.h"
#include "options.h"

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

bool path_in_place(const char *path)
{
	struct stat sb;

	return !lstat(path, &sb) && !S_ISREG(sb.st_mode);
}

int open_in_place(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	struct stat sb;

	if (fd >= 0 && !fstat(fd, &sb) && S_ISREG(sb.st_mode) &&
	    (ftruncate(fd, 0) || fchmod(fd, 0600))) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int open_aside(const char *path, char *tmp, size_t n)
{
	const char *base = strrchr(path, '/');
	int len, fd;

	base = base ? base + 1 : path;
	len = snprintf(tmp, n, "%.*s.%s.XXXXXX", (int)(base - path), path, base);
	if (len < 0 || (size_t)len >= n) {
		tmp[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		tmp[0] = '\0';
	return fd;
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
	/* o->tmp stays "" in place: nothing to rename */
	fd = path_in_place(path) ? open_in_place(path) : open_aside(path, o->tmp, sizeof(o->tmp));
	if (fd < 0)
		return -errno;
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int err = -errno;

		close(fd);
		if (o->tmp[0])
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
	/* a device or a pipe written in place has nothing to fsync (EINVAL) or rename */
	if (fflush(o->f) || (o->tmp[0] && fsync(fileno(o->f))))
		err = -errno;
	if (fclose(o->f) && !err)
		err = -errno;
	o->f = NULL;
	if (!o->tmp[0])
		return err;
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
		if (o->tmp[0])
			unlink(o->tmp);
	}
	o->f = NULL;
}
