// SPDX-License-Identifier: GPL-2.0
/*
 * A per-kernel cache of the kernel types the BPF objects' CO-RE relocations use.
 *
 * libbpf 1.1 resolves a CO-RE relocation by walking every type of the kernel BTF for candidates
 * of the same kind and name (bpf_object__relocate_core() -> bpf_core_find_cands() ->
 * bpf_core_add_cands()): 126,700 types on the 6.18 host, ~0.7 ms a walk, one walk per local
 * type per object (17 in the fault object and 6 in zap for the agent), ~20 ms of start-up,
 * the largest stage left. Given `btf_custom_path`, libbpf walks that BTF instead and looks in
 * no module BTF; attach targets are still found in the kernel's own BTF (kbtf.c).
 *
 * So the first session on a kernel, once attached, has bpftool write the minimized BTF of the
 * four objects (`bpftool gen min_core_btf`, BTFgen: only the types and members their
 * relocations resolve to, a few KiB) to DIR/core-<kernel build ID>-<crc32 of the objects>.btf,
 * and every later session opens its objects with it. The name changes with the kernel and with
 * the build, so a file is never used for anything else; one that does not load is removed and
 * the objects are loaded again with the kernel's BTF (corebtf_reject()). The directory and the
 * file must be root's and writable by no one else (they steer what the programs read), DIR is
 * COREBTF_DEFAULT_DIR or --btf-cache, and --btf-cache=off turns all of it off.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>
#include <bpf/btf.h>
#include "pfnscope.h"
#include "corebtf.h"
#include "fault.h"
#include "zap.h"
#include "rss.h"
#include "pins.h"

static const struct {
	const char *name;
	const void *(*bytes)(size_t *sz);
} objects[] = {
	{ "fault.bpf.o", fault_obj_bytes },
	{ "zap.bpf.o", zap_obj_bytes },
	{ "rss.bpf.o", rss_obj_bytes },
	{ "gup.bpf.o", gup_obj_bytes },
};
#define NOBJ (sizeof(objects) / sizeof(objects[0]))

static bool looked_up, rejected, generating;	/* rejected: here, or by an earlier session */
static char dir[256], path[512], bad[520], status[640];
static const char *found;	/* path, where it can be used */
static pthread_t gen_tid;

int corebtf_build_id(const void *notes, size_t n, char *hex, size_t hexsz)
{
	const unsigned char *p = notes, *end = p + n;

	/* a sequence of Elf64_Nhdr (three 32-bit words, as Elf32_Nhdr), each name and
	 * description padded to 4 bytes (the kernel's notes section, read by sysfs) */
	while (end - p >= (ptrdiff_t)sizeof(Elf64_Nhdr)) {
		const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
		size_t name = (nh->n_namesz + 3) & ~3u, desc = (nh->n_descsz + 3) & ~3u;
		const unsigned char *d = p + sizeof(*nh) + name;

		if (name > (size_t)(end - p) - sizeof(*nh) || desc > (size_t)(end - d))
			break;
		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
		    !memcmp(p + sizeof(*nh), "GNU", 4) && nh->n_descsz &&
		    nh->n_descsz * 2 < hexsz) {
			for (size_t i = 0; i < nh->n_descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", d[i]);
			return 0;
		}
		p = d + desc;
	}
	return -ENOENT;
}

static int kernel_build_id(char *hex, size_t hexsz)
{
	unsigned char buf[4096];
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? corebtf_build_id(buf, n, hex, hexsz) : -ENOENT;
}

static unsigned long objects_crc(void)
{
	unsigned long crc = crc32(0, NULL, 0);

	for (size_t i = 0; i < NOBJ; i++) {
		size_t sz;
		const void *b = objects[i].bytes(&sz);

		crc = crc32(crc, b, sz);
	}
	return crc;
}

/* Root's, and writable by no one else: what is in it decides what the programs read. */
static bool trusted(const char *p, bool want_dir)
{
	struct stat st;

	return !lstat(p, &st) && st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH)) &&
	       (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

const char *corebtf_lookup(void)
{
	char id[129];

	if (looked_up)
		return found;
	looked_up = true;
	snprintf(dir, sizeof(dir), "%s", env.btf_cache ? env.btf_cache : COREBTF_DEFAULT_DIR);
	if (!strcmp(dir, "off")) {
		snprintf(status, sizeof(status), "off (--btf-cache=off)");
		return NULL;
	}
	if (kernel_build_id(id, sizeof(id))) {
		snprintf(status, sizeof(status), "none: the kernel has no build ID in "
			 "/sys/kernel/notes to name it by");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/core-%s-%08lx.btf", dir, id, objects_crc());
	snprintf(bad, sizeof(bad), "%s.bad", path);
	if (!access(bad, F_OK)) {
		snprintf(status, sizeof(status), "not used: %s says why BTFgen's output was not "
			 "made or did not load here", bad);
		rejected = true;
		return NULL;
	}
	if (access(path, F_OK)) {
		snprintf(status, sizeof(status), "not made yet (the first session on this kernel "
			 "makes %s)", path);
		return NULL;
	}
	if (!trusted(dir, true) || !trusted(path, false)) {
		snprintf(status, sizeof(status), "ignored: %s or its directory is not root's alone",
			 path);
		return NULL;
	}
	snprintf(status, sizeof(status), "cached in %s", path);
	pr_info("CO-RE relocations against the cached kernel types in %s", path);
	return found = path;
}

/* Remembered for this kernel and build (a new one of either gets a new name), so that no
 * session pays for the same failure again. */
static void mark_bad(const char *why)
{
	int fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (write(fd, why, strlen(why)) < 0 || write(fd, "\n", 1) < 0)
		pr_info("cannot write %s", bad);
	close(fd);
}

void corebtf_reject(void)
{
	if (!found)
		return;
	pr_info("the objects did not load with %s: removed, loading with the kernel's BTF", found);
	unlink(found);
	mark_bad("an object did not load with it");
	snprintf(status, sizeof(status), "rejected: %s did not load, removed", path);
	found = NULL;
	rejected = true;
}

const char *corebtf_status(void)
{
	corebtf_lookup();
	return status;
}

static const char *find_bpftool(char *buf, size_t n)
{
	const char *env_path = getenv("PATH");
	char dirs[1024];

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/sbin:/sbin",
		 env_path ? env_path : "");
	for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, n, "%s/bpftool", d);
		if (*d == '/' && !access(buf, X_OK))
			return buf;
	}
	return NULL;
}

static int write_file(const char *p, const void *b, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ssize_t w = -1;

	if (fd < 0)
		return -errno;
	w = write(fd, b, n);
	if (close(fd) || w != (ssize_t)n)
		return -EIO;
	return 0;
}

/* Other kernels' and other builds' files: nothing will look for them again. */
static void remove_stale(void)
{
	const char *mine = strrchr(path, '/') + 1;
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[768];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "core-", 5) && strcmp(e->d_name, mine) &&
		    strncmp(e->d_name, mine, strlen(mine))) {	/* mine, and my .bad */
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
}

/* bpftool gen min_core_btf /sys/kernel/btf/vmlinux OUT OBJ...; its stderr into ERR */
static int run_btfgen(const char *tool, const char *tmp, const char *out)
{
	char objpath[NOBJ][320], err[320];
	char *argv[5 + NOBJ + 1];
	posix_spawn_file_actions_t fa;
	int st = 0, rc, k = 0;
	pid_t pid;

	argv[k++] = (char *)tool;
	argv[k++] = "gen";
	argv[k++] = "min_core_btf";
	argv[k++] = "/sys/kernel/btf/vmlinux";
	argv[k++] = (char *)out;
	for (size_t i = 0; i < NOBJ; i++) {
		size_t sz;
		const void *b = objects[i].bytes(&sz);

		snprintf(objpath[i], sizeof(objpath[i]), "%s/%s", tmp, objects[i].name);
		if ((rc = write_file(objpath[i], b, sz)))
			return rc;
		argv[k++] = objpath[i];
	}
	argv[k] = NULL;
	snprintf(err, sizeof(err), "%s/bpftool.err", tmp);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&pid, tool, &fa, NULL, argv, (char *[]){ "LC_ALL=C", NULL });
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -rc;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < NOBJ; i++)
		unlink(objpath[i]);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		FILE *f = fopen(err, "re");
		char line[200] = "";

		if (f && fgets(line, sizeof(line), f))
			line[strcspn(line, "\n")] = 0;
		if (f)
			fclose(f);
		pr_info("bpftool gen min_core_btf failed (%s): the CO-RE cache is not made", line);
		mark_bad(line[0] ? line : "bpftool gen min_core_btf failed");
		unlink(err);
		return -EIO;
	}
	unlink(err);
	return 0;
}

static void *generate(void *arg)
{
	char tool[300], tmp[300], out[320];
	struct btf *btf;

	(void)arg;
	if (!find_bpftool(tool, sizeof(tool))) {
		pr_info("no bpftool: the CO-RE cache (%s) is not made", path);
		return NULL;
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return NULL;
	snprintf(tmp, sizeof(tmp), "%s/.gen-XXXXXX", dir);
	if (!trusted(dir, true) || !mkdtemp(tmp))
		return NULL;
	snprintf(out, sizeof(out), "%s/out.btf", tmp);
	if (!run_btfgen(tool, tmp, out)) {
		btf = btf__parse(out, NULL);	/* what the next session will hand libbpf */
		if (btf && chmod(out, 0644) == 0 && rename(out, path) == 0) {
			pr_info("CO-RE cache made: %s (%u types)", path, btf__type_cnt(btf));
			remove_stale();
		}
		btf__free(btf);
	}
	unlink(out);
	rmdir(tmp);
	return NULL;
}

void corebtf_generate(void)
{
	if (!looked_up || found || rejected || !path[0] || generating)
		return;
	generating = !pthread_create(&gen_tid, NULL, generate, NULL);
}

void corebtf_wait(void)
{
	if (generating)
		pthread_join(gen_tid, NULL);
	generating = false;
}
