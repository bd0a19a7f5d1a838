/* SPDX-License-Identifier: GPL-2.0 */
/* Where a running agent keeps its state (maps pinned in bpffs, its pid file), and how other
 * commands read it without disturbing it. */
#ifndef PFNSCOPE_AGENTSTATE_H
#define PFNSCOPE_AGENTSTATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "state.h"

#define AGENT_STATE_DIR "/sys/fs/bpf/pfnscope"
#define AGENT_PID_FILE "/run/pfnscope-agent.pid"
#define AGENT_RSS_ITER "rss_iter"	/* the agent's pinned rss iterator link, in its state dir */

/* The pid of the running agent, or 0. */
pid_t agent_running(void);
/* Mounts bpffs on /sys/fs/bpf if it is not. 0 or -errno. */
int bpffs_ensure(void);
/* True if @dir is (or, not made yet, would be) on a BPF filesystem: pins live nowhere else. */
bool on_bpffs(const char *dir);
/* Opens the pinned tables of @dir read-only into @fds; false if there is no agent state. */
bool agent_state_open(const char *dir, struct state_fds *fds);
void agent_state_close(struct state_fds *fds);
/* Removes every pin under @dir and the directory. Returns the number removed. */
int agent_state_remove(const char *dir);

struct report;
struct ksyms;
struct iomem;
struct policy;
/* The agent's state as a report (tables, pins, findings), symbols and iomem loaded here.
 * -ENOENT if there is no agent state. */
int agent_report(const char *dir, struct report *r, struct ksyms **ks, struct iomem **io,
		 const struct policy *pol);

#endif /* PFNSCOPE_AGENTSTATE_H */
