// SPDX-License-Identifier: GPL-2.0
/* Messages: errors are one line on stderr prefixed with "pfnscope: ". libbpf's own messages go
 * through the same path and are shown only with -v (warnings) or -vv (debug). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"

struct env env;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fputs("pfnscope: ", stderr);
	if (prefix)
		fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void pr_info(const char *fmt, ...)
{
	va_list ap;

	if (env.verbose < 1)
		return;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

void pr_debug(const char *fmt, ...)
{
	va_list ap;

	if (env.verbose < 2)
		return;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && env.verbose < 2)
		return 0;
	if (level != LIBBPF_DEBUG && env.verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void libbpf_print_setup(void)
{
	libbpf_set_print(libbpf_print);
}

/* CAP_BPF (39) and CAP_PERFMON (38) exist since 5.8; CAP_SYS_ADMIN implies both. */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

bool have_bpf_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	bool bpf, perfmon, admin;

	if (syscall(SYS_capget, &hdr, data)) {
		pr_err("cannot read capabilities: %s", strerror(errno));
		return false;
	}
	admin = has_cap(data, CAP_SYS_ADMIN);
	bpf = admin || has_cap(data, CAP_BPF);
	perfmon = admin || has_cap(data, CAP_PERFMON);
	if (bpf && perfmon)
		return true;
	pr_err("missing %s%s%s: run as root (sudo pfnscope ...) or grant them (setcap cap_bpf,cap_perfmon+ep)",
	       bpf ? "" : "CAP_BPF", !bpf && !perfmon ? " and " : "", perfmon ? "" : "CAP_PERFMON");
	return false;
}
