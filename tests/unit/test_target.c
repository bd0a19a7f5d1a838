// SPDX-License-Identifier: GPL-2.0
/* A command that cannot run is told before anything loads (command_check(): execvp()'s
 * search), or by the exec itself (spawn_command()); recordings are made aside and renamed,
 * so a record that fails to start leaves the file it was given as it was (rec_create());
 * outputs that are not plain files (a link, a device) are written as they are, never renamed
 * over (output_open(), rec_create()). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "../../src/pfnscope.h"	/* the exit codes (include/ has the BPF one) */
#include "target.h"
#include "recording.h"
#include "options.h"

static char dir[64];

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void make_file(const char *name, const char *text, mode_t mode)
{
	char p[128];
	FILE *f;

	path_in(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/pfnscope-target-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

static void test_command_check_paths(void **state)
{
	char p[128];

	assert_int_equal(command_check("t", "/bin/sh"), 0);
	assert_int_equal(command_check("t", "/nonexistent/cmd"), EXIT_NOTFOUND);
	assert_int_equal(command_check("t", ""), EXIT_NOTFOUND);
	assert_int_equal(command_check("t", "/etc/passwd/x"), EXIT_NOTFOUND);	/* ENOTDIR */
	make_file("plain", "#!/bin/sh\n", 0644);
	path_in(p, sizeof(p), "plain");
	assert_int_equal(command_check("t", p), EXIT_NOEXEC);
	assert_int_equal(command_check("t", dir), EXIT_NOEXEC);	/* a directory */
	make_file("run", "#!/bin/sh\n", 0755);
	path_in(p, sizeof(p), "run");
	assert_int_equal(command_check("t", p), 0);
}

/* execvp() goes on past a file it may not execute; EACCES only if nothing later runs */
static void test_command_check_search(void **state)
{
	char old[4096], path[512], sub[128];
	const char *o = getenv("PATH");

	snprintf(old, sizeof(old), "%s", o ? o : "");
	path_in(sub, sizeof(sub), "later");
	assert_int_equal(mkdir(sub, 0755), 0);
	make_file("tool", "#!/bin/sh\n", 0644);
	make_file("later/tool", "#!/bin/sh\n", 0755);
	make_file("only", "#!/bin/sh\n", 0644);
	snprintf(path, sizeof(path), "%s:%s", dir, sub);
	setenv("PATH", path, 1);
	assert_int_equal(command_check("t", "tool"), 0);
	assert_int_equal(command_check("t", "only"), EXIT_NOEXEC);
	assert_int_equal(command_check("t", "pfnscope-no-such-tool"), EXIT_NOTFOUND);
	/* an empty entry is the current directory */
	setenv("PATH", "/nonexistent:", 1);
	assert_int_equal(chdir(sub), 0);
	assert_int_equal(command_check("t", "tool"), 0);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(command_check("t", "tool"), EXIT_NOTFOUND);
	unsetenv("PATH");	/* glibc's default, /bin:/usr/bin */
	assert_int_equal(command_check("t", "sh"), 0);
	setenv("PATH", old, 1);
}

static void test_spawn(void **state)
{
	char *ok_argv[] = { "true", NULL }, *no_argv[] = { "/nonexistent/cmd", NULL };
	char p[128], *busy_argv[] = { p, NULL };
	bool failed = true;
	int status, fd;
	pid_t pid;

	pid = spawn_command(ok_argv, NULL, &failed);
	assert_true(pid > 0);
	assert_false(failed);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	pid = spawn_command(NULL, "exit 7", &failed);
	assert_true(pid > 0);
	assert_false(failed);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);

	errno = 0;
	assert_int_equal(spawn_command(no_argv, NULL, &failed), -1);
	assert_true(failed);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(spawn_error("t", no_argv[0], -ENOENT, true), EXIT_NOTFOUND);
	assert_int_equal(spawn_error("t", no_argv[0], -EAGAIN, false), EXIT_ENV);
	/* the child was reaped: none is left */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	/* found and executable, but open for writing: only the exec can tell (ETXTBSY) */
	path_in(p, sizeof(p), "busy");
	make_file("busy", "#!/bin/sh\nexit 0\n", 0755);
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(command_check("t", p), 0);
	assert_int_equal(spawn_command(busy_argv, NULL, &failed), -1);
	assert_true(failed);
	assert_int_equal(errno, ETXTBSY);
	assert_int_equal(spawn_error("t", p, -ETXTBSY, true), EXIT_NOEXEC);
	close(fd);
}

static void read_file(const char *p, char *buf, size_t n)
{
	FILE *f = fopen(p, "r");
	size_t got;

	assert_non_null(f);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
}

static int hidden_files(void)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_recording_made_aside(void **state)
{
	struct rec_writer w;
	char p[128], link[128], buf[64];
	struct stat sb;

	/* a record that never got going leaves the earlier recording, and no temporary file */
	path_in(p, sizeof(p), "run.pfns");
	make_file("run.pfns", "earlier\n", 0644);
	assert_int_equal(rec_create(&w, p), 0);
	assert_int_equal(hidden_files(), 1);
	read_file(p, buf, sizeof(buf));
	assert_string_equal(buf, "earlier\n");
	assert_int_equal(rec_close(&w, true), 0);
	read_file(p, buf, sizeof(buf));
	assert_string_equal(buf, "earlier\n");
	assert_int_equal(hidden_files(), 0);

	/* one kept takes the name, mode 0600 */
	assert_int_equal(rec_create(&w, p), 0);
	assert_int_equal(rec_close(&w, false), 0);
	read_file(p, buf, sizeof(buf));
	assert_memory_equal(buf, "PFNSCOPE-REC", 12);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(hidden_files(), 0);

	/* a symbolic link is written through and stays a link */
	path_in(link, sizeof(link), "link.pfns");
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(rec_create(&w, link), 0);
	assert_int_equal(rec_close(&w, false), 0);
	assert_int_equal(lstat(link, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	read_file(p, buf, sizeof(buf));
	assert_memory_equal(buf, "PFNSCOPE-REC", 12);

	/* nowhere to write: -errno, nothing made */
	assert_int_equal(rec_create(&w, "/nonexistent/dir/x.pfns"), -ENOENT);
}

/* A /dev/null of our own, mode 0666 (mknod() needs root), so that a regression cannot break
 * the machine's; false where it cannot be made. */
static bool make_null(char *p, size_t n, const char *name)
{
	path_in(p, n, name);
	return !mknod(p, S_IFCHR | 0666, makedev(1, 3)) && !chmod(p, 0666);
}

/* a device is written as it is: never chmod()ed (the old code made /dev/null 0600) or
 * unlinked. A node of our own, so that a regression cannot break the machine's. */
static void test_recording_device(void **state)
{
	struct rec_writer w;
	struct stat sb;
	char p[128];

	if (!make_null(p, sizeof(p), "null")) {
		skip();		/* not root */
		return;
	}
	assert_int_equal(rec_create(&w, p), 0);
	assert_int_equal(rec_close(&w, true), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISCHR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0666);
	assert_int_equal(rec_create(&w, p), 0);
	assert_int_equal(rec_close(&w, false), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0666);
}

static void test_output_in_place(void **state)
{
	char p[128], link[128], buf[64];
	struct output o;
	struct stat sb;

	/* a plain file: made aside, renamed at commit; an abort leaves the old one */
	path_in(p, sizeof(p), "out.json");
	make_file("out.json", "old\n", 0644);
	assert_int_equal(output_open(&o, p), 0);
	fputs("new\n", o.f);
	output_abort(&o);
	read_file(p, buf, sizeof(buf));
	assert_string_equal(buf, "old\n");
	assert_int_equal(hidden_files(), 0);
	assert_int_equal(output_open(&o, p), 0);
	fputs("new\n", o.f);
	assert_int_equal(output_commit(&o), 0);
	read_file(p, buf, sizeof(buf));
	assert_string_equal(buf, "new\n");

	/* a link is written through and stays a link */
	path_in(link, sizeof(link), "out-link.json");
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(output_open(&o, link), 0);
	fputs("through\n", o.f);
	assert_int_equal(output_commit(&o), 0);
	assert_int_equal(lstat(link, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	read_file(p, buf, sizeof(buf));
	assert_string_equal(buf, "through\n");

	/* a device node stays one, its mode untouched (the rename made /dev/null a file) */
	if (!make_null(p, sizeof(p), "out-null")) {
		skip();
		return;
	}
	assert_int_equal(output_open(&o, p), 0);
	fputs("gone\n", o.f);
	assert_int_equal(output_commit(&o), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISCHR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0666);
	assert_int_equal(output_open(&o, dir), -EISDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_check_paths),
		cmocka_unit_test(test_command_check_search),
		cmocka_unit_test(test_spawn),
		cmocka_unit_test(test_recording_made_aside),
		cmocka_unit_test(test_recording_device),
		cmocka_unit_test(test_output_in_place),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
