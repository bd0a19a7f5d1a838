// SPDX-License-Identifier: GPL-2.0
/*
 * Per-mm RSS from kmem:rss_stat, the kernel's own counters. The classic tracepoint's record
 * carries the counter's value (size, bytes): on 6.2+ trace_rss_stat() computes it with
 * percpu_counter_sum(), exact but O(nr_cpus) per event. The raw tracepoint is cheaper but only
 * exact where it passes the count itself (6.1: rss_stat(mm, member, count)); the planner picks
 * it only there (candidate min_args).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.bpf.h"
#include "rss.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Learns mm pointer -> the tracepoint's mm_id for exit_mmap() (rss.bpf.h): once per row
 * and owner, not per event (rss_stat fires on most faults). */
static __always_inline void learn_mm_id(__u32 mm_id)
{
	__u64 mm = (__u64)BPF_CORE_READ(bpf_get_current_task_btf(), mm); /* verifier_cost */

	if (mm)
		bpf_map_update_elem(&mm_ids, &mm, &mm_id, BPF_ANY);
}

/* @learn: the id is the tracepoint's keyed hash, to be learnt (classic tracepoint) */
static __always_inline void rss_update(__u32 mm_id, bool curr, __u32 member, __s64 pages,
				       bool learn)
{
	__u32 tgid = current_tgid();
	struct rss_mm_val *v, init = {};
	bool fresh = false;

	if (member > 3)
		return;
	member &= 3;	/* keeps the verifier's bound through clang's spills */
	v = bpf_map_lookup_elem(&rss_mm, &mm_id);
	if (v && v->exited) {	/* the mm_struct was freed and reused: a new address space */
		if (!tgid_traced(tgid)) {	/* ... of a process nobody asked for */
			bpf_map_delete_elem(&rss_mm, &mm_id);
			return;
		}
		__builtin_memset(v, 0, sizeof(*v));
		fresh = true;
	} else if (!v) {
		/* adopted when a traced task changes it: its own, or a child's being forked (whose
		 * counters copy_pte_range() fills with curr=0, the owner's tgid learnt later) */
		if (!tgid_traced(tgid))
			return;
		init.tgid = curr ? tgid : 0;
		if (insert_failed(bpf_map_update_elem(&rss_mm, &mm_id, &init, BPF_NOEXIST))) {
			count_drop(DROP_PROC_MAP_FULL);
			return;
		}
		v = bpf_map_lookup_elem(&rss_mm, &mm_id);
		if (!v)
			return;
		fresh = true;
	}
	if (curr) {
		if (learn && (fresh || v->tgid != tgid))
			learn_mm_id(mm_id);
		v->tgid = tgid;
	}
	/* the bound again at the use, behind a barrier: clang drops a mask it can prove
	 * redundant, and reloads member from a spill the verifier knows nothing about (6.1's
	 * verifier: "R1 unbounded memory access") */
	barrier_var(member);
	member &= 3;
	v->pages[member] = pages;
	if (pages > v->peak[member])
		v->peak[member] = pages;
	v->events++;
	{
		struct trace_rec *e = trace_reserve(TE_RSS);

		if (e) {
			/* the address space's owner, not whoever runs: another task may change
			 * its counters (a fork's parent fills the child's, the last mmput()
			 * may run in a task reading /proc) */
			if (v->tgid)
				e->tgid = e->tid = v->tgid;
			e->src = member;
			e->pfn = pages;
			e->mm_id = mm_id;
			trace_submit(e);
		}
	}
}

SEC("tracepoint/kmem/rss_stat")
int rss_tp(struct trace_event_raw_rss_stat *ctx)
{
	rss_update(ctx->mm_id, ctx->curr, ctx->member, ctx->size >> 12, true);
	return 0;
}

/* 6.1: rss_stat(mm, member, count) */
SEC("tp_btf/rss_stat")
int BPF_PROG(rss_tp_btf, struct mm_struct *mm, int member, long count)
{
	struct task_struct *task = bpf_get_current_task_btf();

	rss_update(mm_hash((void *)ctx_arg_u64(ctx, 0)), mm == task->mm, member, count, false);
	return 0;
}
