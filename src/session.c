// SPDX-License-Identifier: GPL-2.0
/* Start and stop of the BPF objects in their order: fault owns the shared maps, zap and gup
 * re-use them, rss re-uses zap's rss_mm (src/session.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <pthread.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "kbtf.h"
#include "corebtf.h"
#include "session.h"
#include "collect.h"
#include "report.h"
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

/*
 * Kernel symbols are asked of the kernel per address (src/kaddr.c: bpf_snprintf("%pS") in a
 * syscall program, ~3 us an address), so nothing reads /proc/kallsyms whole where the kernel
 * can answer: that takes 30-40 ms of kernel time to format and as much again to parse here,
 * and megabytes. The programs need three addresses before they attach: those are asked of
 * the kernel first (kaddr_lookup(), well under a millisecond). Both run on a thread beside
 * start-up; only where the kernel cannot answer is the table read there, and the addresses
 * taken from it. The thread is joined by the first caller of session_ksyms() (a report, a
 * trace line).
 */
/* The job's flag, addrs_ready (thread -> start-up), is set and waited for under its lock;
 * what it announces is written before it is set. */
static void job_set(struct ksyms_job *j, bool *flag)
{
	pthread_mutex_lock(&j->lock);
	*flag = true;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

static void job_wait(struct ksyms_job *j, const bool *flag)
{
	pthread_mutex_lock(&j->lock);
	while (!*flag)
		pthread_cond_wait(&j->cond, &j->lock);
	pthread_mutex_unlock(&j->lock);
}

static void kaddrs_publish(struct ksyms_job *j, const struct kaddrs *ka)
{
	j->ka = *ka;
	job_set(j, &j->addrs_ready);
}

static __u64 ksym_addr(const struct ksyms *ks, const char *name)
{
	const struct ksym *k = ksyms_by_name((struct ksyms *)ks, name);

	return k ? k->addr : 0;
}

static void kaddrs_from_table(const struct ksyms *ks, struct kaddrs *ka)
{
	ka->special_mapping_name = ksym_addr(ks, "special_mapping_name");
	ka->vmemmap_base = ksym_addr(ks, "vmemmap_base");
	ka->zero_pfn = ksym_addr(ks, "zero_pfn");
}

static void *ksyms_thread(void *arg)
{
	struct ksyms_job *j = arg;
	struct kaddrs ka = {};
	bool asked = kaddr_lookup(&ka) == 0;

	if (asked)
		kaddrs_publish(j, &ka);
	j->ks = kaddr_ksyms();	/* the joiner reads it */
	if (!asked) {
		kaddrs_from_table(j->ks, &ka);
		kaddrs_publish(j, &ka);
	}
	return NULL;
}

static void kaddrs_wait(struct ksyms_job *j, struct kaddrs *ka)
{
	job_wait(j, &j->addrs_ready);
	*ka = j->ka;	/* written before the flag, and not again */
}

struct ksyms *session_ksyms(struct session *s)
{
	if (s->ksyms_pending) {
		pthread_join(s->ksyms_tid, NULL);
		s->ksyms_pending = false;
		s->ks = s->job.ks;
		if (!s->quiet && (!s->ks || s->ks->all_zero))
			pr_warn("kernel symbols unavailable (kptr_restrict?): handlers print as "
				"'?'; sudo sysctl kernel.kptr_restrict=0");
	}
	return s->ks;
}

/* Start-up parsed the kernel's BTF (5.5 MB on 6.18) once in the planner and once per BPF
 * object (now once: src/kbtf.c), and the page faults on that memory were most of its cost
 * (13,000 faults for `check -- true`). So the start-up heap keeps what is freed (no trim, no
 * mmap of large blocks: what start-up frees is re-used, not faulted in again), is grown once
 * by 64 MiB, and asks for transparent huge pages there (one fault per 2 MiB where THP is
 * "always" or "madvise"). steady_heap() gives it back once everything is attached. */
#define STARTUP_HEAP (64 << 20)
#define THP_SIZE (2UL << 20)

static void *heap_guard;	/* holds the heap below the first 2 MiB boundary during start-up */
static uintptr_t thp_lo, thp_hi;	/* the range advised MADV_HUGEPAGE */

static void startup_heap(void)
{
	uintptr_t lo, hi;
	void *p;

	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_TOP_PAD, STARTUP_HEAP);
	p = malloc(1 << 20);	/* more than the initial top: sbrk()s 1 + 64 MiB */
	if (!p)
		return;
	lo = ((uintptr_t)p + THP_SIZE - 1) & ~(THP_SIZE - 1);
	hi = (uintptr_t)sbrk(0) & ~(THP_SIZE - 1);
	free(p);
	if (hi <= lo)
		return;
	if (madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0) {	/* advice: may fail */
		thp_lo = lo;
		thp_hi = hi;
	}
	/* the next large blocks (the BTF copies) then start at the boundary; never touched */
	if (lo - (uintptr_t)p > 4096)
		heap_guard = malloc(lo - (uintptr_t)p - 64);
}

static void steady_heap(void)
{
	free(heap_guard);
	heap_guard = NULL;
	if (thp_hi > thp_lo)	/* the agent keeps its heap: 4 KiB pages again (cmd_agent.c) */
		madvise((void *)thp_lo, thp_hi - thp_lo, MADV_NOHUGEPAGE);
	thp_lo = thp_hi = 0;
	mallopt(M_TOP_PAD, 128 << 10);
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 128 << 10);
	malloc_trim(0);
}

int session_start(struct session *s, const struct session_opts *o)
{
	double t0 = stamp();
	struct fault_opts fo = {
		.filter_tgids = o->filter_tgids,
		.ignore_self = o->ignore_self,
		.max_vmas = o->max_vmas,
		.trace_mask = o->trace_mask,
		.ringbuf_bytes = o->ringbuf_bytes,
		.pin_dir = o->pin_dir,
	};
	struct kaddrs ka = {};

	memset(s, 0, sizeof(*s));
	s->quiet = o->quiet;
	for (int i = 0; i < ST__MAX; i++)
		s->fds.fd[i] = -1;
	s->fds.vma_cache = -1;
	if (!have_bpf_privileges())
		return EXIT_ENV;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("the kernel has no BTF (/sys/kernel/btf/vmlinux): pfnscope needs "
		       "CONFIG_DEBUG_INFO_BTF=y");
		return EXIT_ENV;
	}
	libbpf_print_setup();
	startup_heap();
	STAGE("start");
	pthread_mutex_init(&s->job.lock, NULL);
	pthread_cond_init(&s->job.cond, NULL);
	s->ksyms_pending = !pthread_create(&s->ksyms_tid, NULL, ksyms_thread, &s->job);
	s->io = iomem_load();
	if (!o->quiet && (!s->io || s->io->all_zero))
		pr_warn("/proc/iomem addresses unavailable (not root?): pfns cannot be classified");
	STAGE("iomem");
	kbtf_hold();	/* one kernel BTF parse for the planner and every object (kbtf.c) */
	plan_probe(&s->plan, o->backend);
	plan_not_requested(&s->plan, 1u << (o->rss_sampled ? HOOK_RSS : HOOK_RSS_ITER));
	gup_prepare(&s->gc, &s->plan, plan_btf());
	plan_btf_release();	/* the planner's index; the parse itself is kbtf's until loaded */
	STAGE("plan");
	if (fault_start(&s->fc, &s->plan, &fo))
		goto fail;
	s->started = true;
	STAGE("fault");
	zap_start(&s->zc, &s->fc, &s->plan);	/* failures are reported; runs without RSS */
	STAGE("zap");
	rss_start(&s->rc, &s->fc, &s->zc, &s->plan);
	STAGE("rss");
	gup_start(&s->gc, &s->fc, &s->plan);
	kbtf_release();
	STAGE("gup");
	if (s->ksyms_pending) {
		kaddrs_wait(&s->job, &ka);
	} else {	/* no thread: the symbols and the addresses now, on this one */
		s->ks = kaddr_ksyms();
		if (kaddr_lookup(&ka))
			kaddrs_from_table(s->ks, &ka);
	}
	STAGE("kaddrs");
	fault_attach(&s->fc, &ka);
	zap_attach(&s->zc, &ka);
	rss_attach(&s->rc);
	gup_attach(&s->gc, &ka);
	/* every address space alive now was filled, at least in part, before the hooks saw it;
	 * one born from here on is seen from its birth */
	if (zap_seed_mms(&s->zc) && plan_hook_active(&s->plan, HOOK_MM_SEED))
		pr_warn("could not mark the address spaces alive at start (RSS_IMBALANCE may then "
			"name processes that ran before pfnscope)");
	STAGE("attach");
	steady_heap();
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
	kbtf_release();
	steady_heap();
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
	ksyms_free(session_ksyms(s));
	s->io = NULL;
	s->ks = NULL;
}

int session_read(struct session *s, struct state *st, unsigned int mask)
{
	return state_read(st, &s->fds, mask);
}

int session_judge(struct session *s, struct state *st, struct report *rep, const char *module,
		  const struct policy *pol)
{
	int err = session_read(s, st, ST_MASK_ALL);

	if (!err)
		err = collect_report(st, session_ksyms(s), rep);
	if (!err)
		err = pins_collect(st, session_ksyms(s), s->io, rep);
	if (err)
		return err;
	rep->module_filter = module;
	for (size_t i = 0; i < rep->nr_vmas; i++)
		rep->vmas[i].hidden = rep->vmas[i].merged ||
				      (module && strcmp(rep->vmas[i].module, module));
	return findings_evaluate(rep, s->io, pol) ? -ENOMEM : 0;
}

struct evring *session_events(const struct session *s, evring_fn fn, void *ctx)
{
	return evring_open(bpf_map__fd(s->fc.skel->maps.events), s->fc.skel->rodata->trace_slots,
			   libbpf_num_possible_cpus(), fn, ctx);
}
