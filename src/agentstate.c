// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "agentstate.h"

pid_t agent_running(void)
{
	char comm[32] = "", path[64];
	FILE *f = fopen(AGENT_PID_FILE, "r");
	int pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return 0;
	/* a stale file naming a reused pid: only a pfnscope process counts */
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	return strncmp(comm, "pfnscope", 8) ? 0 : pid;
}

int bpffs_ensure(void)
{
	struct statfs st;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

bool on_bpffs(const char *dir)
{
	char parent[512], *slash;
	struct statfs st;

	if (!statfs(dir, &st))
		return st.f_type == BPF_FS_MAGIC;
	/* not made yet: its parent decides where it will be */
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash)
		return !statfs(".", &st) && st.f_type == BPF_FS_MAGIC;
	*(slash == parent ? slash + 1 : slash) = '\0';
	return !statfs(parent, &st) && st.f_type == BPF_FS_MAGIC;
}

bool agent_state_open(const char *dir, struct state_fds *fds)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
	char path[512];
	bool any = false;

	for (int i = 0; i < ST__MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, state_table_name(i));
		fds->fd[i] = bpf_obj_get_opts(path, &opts);
		any |= fds->fd[i] >= 0;
	}
	snprintf(path, sizeof(path), "%s/vma_cache", dir);	/* pending faults (state.h) */
	fds->vma_cache = bpf_obj_get_opts(path, &opts);
	return any && fds->fd[ST_VMAS] >= 0;
}

void agent_state_close(struct state_fds *fds)
{
	for (int i = 0; i < ST__MAX; i++) {
		if (fds->fd[i] >= 0)
			close(fds->fd[i]);
		fds->fd[i] = -1;
	}
	if (fds->vma_cache >= 0)
		close(fds->vma_cache);
	fds->vma_cache = -1;
}

int agent_state_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n += !unlink(path);
	}
	closedir(d);
	rmdir(dir);
	return n;
}
