// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* 0 if @path is a file we may execute, else the errno execve() would give */
static int exec_access(const char *path)
{
	struct stat sb;

	if (stat(path, &sb))
		return errno;
	if (!S_ISREG(sb.st_mode) || access(path, X_OK))
		return EACCES;
	return 0;
}

/* The search is execvp()'s: a name with a slash is a path, else each directory of PATH
 * (glibc's default where it is unset), an empty entry the current directory; a file found
 * but not executable answers EACCES unless a later directory has one that is. */
int command_check(const char *prog, const char *cmd)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[PATH_MAX];
	int err = ENOENT, e;

	if (!*cmd) {
		/* execvp("") fails with ENOENT: err stays */
	} else if (strchr(cmd, '/')) {
		err = exec_access(cmd);
	} else {
		for (p = path ? path : "/bin:/usr/bin"; ; p = end + 1) {
			end = strchrnul(p, ':');
			if (snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - p), p,
				     end > p ? "/" : "", cmd) < (int)sizeof(buf)) {
				e = exec_access(buf);
				if (!e) {
					err = 0;
					break;
				}
				if (e == EACCES)
					err = EACCES;
			}
			if (!*end)
				break;
		}
	}
	if (!err)
		return 0;
	fprintf(stderr, "%s: cannot run %s: %s\n", prog, cmd, strerror(err));
	return err == ENOENT || err == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC;
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
	return t->argv ? command_check(prog, t->argv[0]) : 0;
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
	fault_follow_next_fork(&s->fc, true);
	t->child = spawn_command(t->argv, t->shell_cmd, &t->exec_failed);
	fault_follow_next_fork(&s->fc, false);
	if (t->child < 0) {
		t->done = true;
		return -errno;
	}
	if (!plan_hook_active(&s->plan, HOOK_TASK_FORK))
		fault_trace_pid(&s->fc, t->child);	/* best effort: earlier faults are missed */
	return 0;
}

/*
 * Whether the exec worked reaches the parent through a close-on-exec pipe: a successful
 * execve() closes it (EOF), a failed one has the child write its errno first. Without it a
 * command that cannot run was a child that printed an error and exited 127, after faulting
 * in pages of pfnscope's own image, and was reported on as if it had run.
 */
pid_t spawn_command(char *const argv[], const char *shell_cmd, bool *exec_failed)
{
	int fd[2], e = 0;
	ssize_t n;
	pid_t pid;

	*exec_failed = false;
	if (pipe2(fd, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(fd[0]);
		close(fd[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		close(fd[0]);
		if (shell_cmd)
			execl("/bin/sh", "sh", "-c", shell_cmd, (char *)NULL);
		else
			execvp(argv[0], argv);
		e = errno;
		if (write(fd[1], &e, sizeof(e)) < 0)
			_exit(EXIT_NOEXEC);
		_exit(e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
	}
	close(fd[1]);
	while ((n = read(fd[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fd[0]);
	if (n != sizeof(e))
		return pid;	/* EOF: the exec closed the pipe */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	*exec_failed = true;
	errno = e;
	return -1;
}

int spawn_error(const char *prog, const char *cmd, int err, bool exec_failed)
{
	if (!exec_failed) {
		fprintf(stderr, "%s: cannot start %s: %s\n", prog, cmd, strerror(-err));
		return EXIT_ENV;
	}
	fprintf(stderr, "%s: cannot run %s: %s\n", prog, cmd, strerror(-err));
	return err == -ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

int target_start_error(const struct target *t, const char *prog, int err)
{
	if (t->pid > 0) {
		fprintf(stderr, "%s: cannot watch pid %d: %s\n", prog, t->pid, strerror(-err));
		return EXIT_ENV;
	}
	return spawn_error(prog, t->shell_cmd ? "/bin/sh" : t->argv[0], err, t->exec_failed);
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
