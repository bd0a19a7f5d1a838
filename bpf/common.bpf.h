/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers every pfnscope BPF object shares: the tgid filter and the loss counters. */
#ifndef PFNSCOPE_COMMON_BPF_H
#define PFNSCOPE_COMMON_BPF_H

#include "pfnscope.h"
#include "trace.h"

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef E2BIG
#define E2BIG 7
#endif
#ifndef EBUSY
#define EBUSY 16
#endif

/* Rows on demand: the tables whose rows come per process, mm, VMA or pfn (not per event) are
 * BPF_F_NO_PREALLOC, filled from the bpf_mem_alloc caches (kernel/bpf/memalloc.c, 6.1+; any
 * context, tracing programs included) as rows appear. Preallocating 65536 VMA rows cost ~60 ms
 * of map creation at start-up (htab_map_alloc -> pcpu_freelist_populate), the whole table's
 * memory whether used or not. Per-event entry->exit stashes stay preallocated: they are
 * updated on every call, and LRU tables can only be preallocated. */

/* 0: watch every process (agent); 1: only tgids in `traced` (check, -p, -c). */
const volatile __u32 filter_tgids = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* rows on demand: see above */
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct traced_val);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP__MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count_add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += n;
}

/* A BPF_NOEXIST insert that made no row: the table is full (-E2BIG) or, for a table whose
 * rows come on demand, no element could be had (-ENOMEM). -EEXIST is a row another CPU made
 * meanwhile, which the caller looks up. */
static __always_inline bool insert_failed(long err)
{
	return err && err != -EEXIST;
}

static __always_inline void count_drop(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&drops, &reason);

	if (v)
		(*v)++;
}

/*
 * Trace/record mode: each type in trace_mask goes to the ring buffer `events` (shared by every
 * object). Wakeups are batched: the consumer is woken only once trace_wakeup_bytes are waiting
 * (a wakeup per event costs an irq_work and a context switch; the consumer also polls on a
 * timer). With trace_mask 0 the verifier removes all of this as dead code.
 */
const volatile __u32 trace_mask = 0;
const volatile __u64 trace_wakeup_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);	/* sized by the loader in trace mode */
} events SEC(".maps");

static __always_inline struct trace_rec *trace_reserve(__u32 type)
{
	struct trace_rec *e;
	__u64 id;

	if (!(trace_mask & (1u << type)))
		return NULL;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(DROP_RINGBUF_FULL);
		return NULL;
	}
	id = bpf_get_current_pid_tgid();
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->tgid = id >> 32;
	e->tid = id;
	return e;
}

static __always_inline void trace_submit(struct trace_rec *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= trace_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline bool tgid_traced(__u32 tgid)
{
	if (!filter_tgids)
		return true;
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

/*
 * Argument @i of a fentry/fexit/tp_btf program as a plain number. The verifier types pointer
 * arguments as BTF pointers and refuses arithmetic on them ("math between ptr_ pointer ..."),
 * which hashing or page_to_pfn() need; a copy out of the context is a scalar.
 */
static __always_inline __u64 ctx_arg_u64(unsigned long long *ctx, int i)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
	return v;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

#endif /* PFNSCOPE_COMMON_BPF_H */
