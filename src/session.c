// SPDX-License-Identifier: GPL-2.0
/* Start and stop of the BPF objects in their order: fault owns the shared maps, zap and gup
 * re-use them, rss re-uses zap's rss_mm (src/session.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "session.h"
#include "fault.skel.h"

static double stamp(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* PFNSCOPE_TIMING=1: how long each start-up stage took (docs/performance.md) */
static void stage(const char *what, double t0)
{
	if (getenv("PFNSCOPE_TIMING"))
		fprintf(stderr, "pfnscope: timing: %-9s %6.1f ms\n", what, stamp() - t0);
}

#define STAGE(what) stage(what, t0)

int session_start(struct session *s, const struct session_opts *o)
{
	double t0 = stamp();
	struct fault_opts fo = {
		.filter_tgids = o->filter_tgids,
		.max_vmas = o->max_vmas,
		.trace_mask = o->trace_mask,
		.ringbuf_bytes = o->ringbuf_bytes ? o->ringbuf_bytes : 16 << 20,
		.pin_dir = o->pin_dir,
		.lru_vmas = o->lru_vmas,
	};

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < ST__MAX; i++)
		s->fds.fd[i] = -1;
	if (!have_bpf_privileges())
		return EXIT_ENV;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("the kernel has no BTF (/sys/kernel/btf/vmlinux): pfnscope needs "
		       "CONFIG_DEBUG_INFO_BTF=y");
		return EXIT_ENV;
	}
	libbpf_print_setup();
	STAGE("start");
	s->ks = ksyms_load();
	STAGE("kallsyms");
	if (!o->quiet && (!s->ks || s->ks->all_zero))
		pr_warn("kernel symbols unavailable (kptr_restrict?): handlers print as '?'; "
			"sudo sysctl kernel.kptr_restrict=0");
	s->io = iomem_load();
	if (!o->quiet && (!s->io || s->io->all_zero))
		pr_warn("/proc/iomem addresses unavailable (not root?): pfns cannot be classified");
	STAGE("iomem");
	plan_probe(&s->plan, o->backend);
	STAGE("plan");
	if (fault_start(&s->fc, &s->plan, s->ks, &fo))
		goto fail;
	s->started = true;
	STAGE("fault");
	zap_start(&s->zc, &s->fc, &s->plan);	/* failures are reported; runs without RSS */
	STAGE("zap");
	rss_start(&s->rc, &s->fc, &s->zc, &s->plan);
	STAGE("rss");
	gup_start(&s->gc, &s->fc, s->ks, &s->plan);
	STAGE("gup");
	if (!plan_hook_active(&s->plan, HOOK_FAULT_COUNT)) {
		pr_err("no mechanism could attach the fault-count hook (pfnscope probe says why)");
		session_stop(s);
		return EXIT_ENV;
	}
	for (int h = 0; h < HOOK__MAX; h++)
		if (s->plan.hooks[h].status == HOOK_PLANNED)
			s->plan.hooks[h].status = HOOK_NOT_BUILT;
	fault_state_fds(&s->fc, &s->fds);
	s->fds.fd[ST_RSS] = rss_map_fd(&s->rc);
	gup_state_fds(&s->gc, &s->fds);
	return 0;
fail:
	session_stop(s);
	return EXIT_ENV;
}

void session_warn_failed(const struct session *s)
{
	for (int h = 0; h < HOOK__MAX; h++)
		if (s->plan.hooks[h].status == HOOK_ATTACH_FAILED)
			pr_warn("hook %s failed to attach: %s", s->plan.hooks[h].def->name,
				s->plan.hooks[h].error);
}

void session_stop(struct session *s)
{
	if (s->started) {
		gup_stop(&s->gc);
		rss_stop(&s->rc);
		zap_stop(&s->zc);
		fault_stop(&s->fc);
	}
	s->started = false;
	iomem_free(s->io);
	ksyms_free(s->ks);
	s->io = NULL;
	s->ks = NULL;
}

int session_read(struct session *s, struct state *st, unsigned int mask)
{
	return state_read(st, &s->fds, mask);
}

int session_events_fd(const struct session *s)
{
	return bpf_map__fd(s->fc.skel->maps.events);
}
