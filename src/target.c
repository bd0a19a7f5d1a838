// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pfnscope.h"
#include "session.h"
#include "target.h"

bool target_filters(const struct target *t)
{
	return t->pid > 0 || t->shell_cmd || t->argv;
}

/* A zombie still answers kill(pid, 0): read its state from /proc/PID/stat. */
static bool pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int target_check(const struct target *t, const char *prog)
{
	if ((t->pid > 0) + !!t->shell_cmd + !!t->argv > 1) {
		fprintf(stderr, "%s: give one of -p PID, -c CMD or -- CMD, not several\n", prog);
		return EXIT_USAGE;
	}
	if (t->pid > 0 && !pid_alive(t->pid)) {
		fprintf(stderr, "%s: -p %d: no such process (ps -e lists them)\n", prog, t->pid);
		return EXIT_USAGE;
	}
	return 0;
}

int target_start(struct target *t, struct session *s)
{
	if (t->pid > 0) {	/* a running process: its pages so far were not seen entering */
		int err = fault_trace_pid(&s->fc, t->pid);

		if (!err)
			zap_seed_mms(&s->zc);
		return err;
	}
	if (!t->shell_cmd && !t->argv)
		return 0;
	fflush(NULL);
	fault_follow_next_fork(&s->fc, true);
	t->child = fork();
	if (t->child < 0) {
		fault_follow_next_fork(&s->fc, false);
		return -errno;
	}
	if (t->child == 0) {
		if (t->shell_cmd)
			execl("/bin/sh", "sh", "-c", t->shell_cmd, (char *)NULL);
		else
			execvp(t->argv[0], t->argv);
		fprintf(stderr, "pfnscope: cannot run %s: %s\n",
			t->shell_cmd ? "/bin/sh" : t->argv[0], strerror(errno));
		_exit(127);
	}
	fault_follow_next_fork(&s->fc, false);
	if (!plan_hook_active(&s->plan, HOOK_TASK_FORK))
		fault_trace_pid(&s->fc, t->child);	/* best effort: earlier faults are missed */
	return 0;
}

bool target_gone(struct target *t)
{
	if (t->done)
		return true;
	if (t->child > 0)
		t->done = waitpid(t->child, &t->child_status, WNOHANG) == t->child;
	else if (t->pid > 0)
		t->done = !pid_alive(t->pid);
	return t->done;
}

void target_stop(struct target *t)
{
	if (t->child <= 0 || t->done)
		return;
	kill(t->child, SIGTERM);
	waitpid(t->child, &t->child_status, 0);
	t->done = true;
}

void target_describe(const struct target *t, char *buf, size_t n)
{
	size_t len;

	if (t->pid > 0) {
		snprintf(buf, n, "pid %d", t->pid);
	} else if (t->shell_cmd) {
		snprintf(buf, n, "%s", t->shell_cmd);
	} else if (t->argv) {
		buf[0] = '\0';
		len = 0;
		for (char **a = t->argv; *a && len < n; a++)
			len += snprintf(buf + len, n - len, "%s%s", len ? " " : "", *a);
	} else {
		snprintf(buf, n, "every process");
	}
}
