/* SPDX-License-Identifier: GPL-2.0 */
/* One attach session: the plan, the four BPF objects sharing their maps, symbols and iomem.
 * Every live subcommand (check, trace, top, record, agent, pins) starts one. */
#ifndef PFNSCOPE_SESSION_H
#define PFNSCOPE_SESSION_H

#include <pthread.h>
#include "planner.h"
#include "fault.h"
#include "zap.h"
#include "rss.h"
#include "pins.h"
#include "state.h"
#include "ksyms.h"
#include "iomem.h"
#include "evring.h"

struct session_opts {
	enum backend backend;
	bool filter_tgids;	/* only tgids put in `traced` and their children */
	bool ignore_self;	/* never watch this process (trace, record: bpf/common.bpf.h) */
	__u32 max_vmas;
	__u32 trace_mask;	/* 1 << TE_*: stream these through the ring buffer */
	__u32 ringbuf_bytes;	/* 0: EVRING_DEFAULT_SLOTS records a CPU */
	const char *pin_dir;	/* agent: maps pinned and re-used there */
	/* agent: RSS read from the mm counters when asked (rss-iter) instead of a kmem:rss_stat
	 * program on every change; the other modes keep rss_stat (trace records, peaks) */
	bool rss_sampled;
	bool quiet;		/* no warnings about missing symbols/iomem */
};

/* The kallsyms thread's results (src/session.c) */
struct ksyms_job {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool addrs_ready;	/* ka is filled */
	struct kaddrs ka;
	struct ksyms *ks;	/* read by the joiner */
};

struct session {
	struct plan plan;
	struct fault_ctx fc;
	struct zap_ctx zc;
	struct rss_ctx rc;
	struct gup_ctx gc;
	struct ksyms *ks;	/* through session_ksyms(): read on a thread until needed */
	struct ksyms_job job;
	pthread_t ksyms_tid;
	bool ksyms_pending;	/* the thread is still to be joined */
	bool quiet;
	struct iomem *io;
	struct state_fds fds;
	bool started;
};

/* Checks privileges and BTF, loads symbols and iomem, plans, loads and attaches. Returns 0 or
 * an exit code (EXIT_ENV: nothing could attach the fault-count hook, not root, no BTF). */
int session_start(struct session *s, const struct session_opts *o);
void session_stop(struct session *s);
/* The kernel's symbol table, waiting for the thread that reads it the first time (NULL if
 * unreadable; warns once if it has no addresses). */
struct ksyms *session_ksyms(struct session *s);
/* Reads the tables of @mask. 0 or -errno. */
int session_read(struct session *s, struct state *st, unsigned int mask);
struct report;
struct policy;
/* Reads every table into @st and builds @rep from it with its findings judged under @pol,
 * VMAs of modules other than @module (when given) hidden: what check prints. 0 or -errno. */
int session_judge(struct session *s, struct state *st, struct report *rep, const char *module,
		  const struct policy *pol);
/* The consumer of the per-CPU event rings (trace mode); NULL with errno set. */
struct evring *session_events(const struct session *s, evring_fn fn, void *ctx);
/* Prints the hooks that failed to attach, one warning each. */
void session_warn_failed(const struct session *s);

#endif /* PFNSCOPE_SESSION_H */
