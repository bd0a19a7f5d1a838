/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers every pfnscope BPF object shares: the tgid filter and the loss counters. */
#ifndef PFNSCOPE_COMMON_BPF_H
#define PFNSCOPE_COMMON_BPF_H

#include "pfnscope.h"
#include "trace.h"

#ifndef READ_ONCE
#define READ_ONCE(x)		(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile typeof(x) *)&(x) = (v))
#endif

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef E2BIG
#define E2BIG 7
#endif
#ifndef EBUSY
#define EBUSY 16
#endif
#ifndef ENOENT
#define ENOENT 2
#endif

/* Rows on demand: the tables whose rows come per process, mm, VMA or pfn (not per event) are
 * BPF_F_NO_PREALLOC, filled from the bpf_mem_alloc caches (kernel/bpf/memalloc.c, 6.1+; any
 * context, tracing programs included) as rows appear. Preallocating 65536 VMA rows cost ~60 ms
 * of map creation at start-up (htab_map_alloc -> pcpu_freelist_populate), the whole table's
 * memory whether used or not. Per-event entry->exit stashes stay preallocated: they are
 * updated on every call, and LRU tables can only be preallocated. */

/* 0: watch every process (agent); 1: only tgids in `traced` (check, -p, -c). */
const volatile __u32 filter_tgids = 0;
/*
 * trace and record: their own tgid, never watched. Their reads of the tables fault into fresh
 * VMAs (a read's buffers are mmap()ed), each fault a record naming a new row, each such record
 * a re-read (src/trace_view.c): a system-wide trace over 30,000 rows was 180,000 of its own
 * faults in 10 s, two thirds of its output. 0 elsewhere: the agent's and top's counts are the
 * system's, their own included. The verifier drops the test where it is 0.
 */
const volatile __u32 ignore_tgid = 0;

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
 * Trace/record mode: each type in trace_mask goes to `events`, one lock-free ring per CPU
 * (layout in trace.h; userspace: src/evring.c), read by the consumer on a timer.
 *
 * Not BPF_MAP_TYPE_RINGBUF: bpf_ringbuf_reserve() takes the ring's spinlock with interrupts
 * off (__bpf_ringbuf_reserve()), and on the host that alone cost ~400 ns a record against
 * ~200 ns for the whole record here (docs/performance.md). Not a perf buffer either:
 * bpf_perf_event_output() copies from the stack and needs the program's ctx, which the
 * helpers deep in the fault path do not have.
 *
 * Programs on one CPU can nest (an fentry program is preemptible; tracepoint programs run with
 * preemption off), so a record is taken with a compare-and-swap on the producer position and
 * published by its seq word. With trace_mask 0 the verifier removes all of this as dead code.
 */
const volatile __u32 trace_mask = 0;
const volatile __u32 trace_slots = 0;	/* records per CPU, a power of 2 (loader) */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* sized by the loader in trace mode */
	__type(key, __u32);
	__type(value, struct trace_rec);
} events SEC(".maps");

static __always_inline struct trace_rec *ring_slot(__u32 idx)
{
	return bpf_map_lookup_elem(&events, &idx);
}

static __always_inline struct trace_rec *trace_reserve(__u32 type)
{
	struct trace_rec *prod, *cons, *e = NULL;
	__u32 base;
	__u64 pos, id;
	int i;

	if (!(trace_mask & (1u << type)))
		return NULL;
	base = bpf_get_smp_processor_id() * (trace_slots + TRACE_RING_HDR);
	prod = ring_slot(base);
	cons = ring_slot(base + 1);
	if (!prod || !cons)
		goto full;
	for (i = 0; i < 3; i++) {	/* a nested program may take the position first */
		pos = READ_ONCE(prod->ts_ns);
		if (pos - READ_ONCE(cons->ts_ns) >= trace_slots)
			goto full;
		e = ring_slot(base + TRACE_RING_HDR + (pos & (trace_slots - 1)));
		if (!e)
			goto full;
		if (__sync_val_compare_and_swap(&prod->ts_ns, pos, pos + 1) == pos)
			break;
		e = NULL;
	}
	if (!e)
		goto full;
	WRITE_ONCE(e->seq, TRACE_SEQ(pos) | TRACE_SEQ_BUSY);
	id = bpf_get_current_pid_tgid();
	__builtin_memset(e, 0, offsetof(struct trace_rec, seq));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->tgid = id >> 32;
	e->tid = id;
	return e;
full:
	count_drop(DROP_RINGBUF_FULL);
	return NULL;
}

/*
 * Publish @e: clearing the busy bit is an atomic (a full barrier), after every field. BPF has
 * 32-bit atomics only with -mcpu=v3, so this one covers the last 8 bytes: mm_id, untouched, and
 * seq, whose busy bit is bit 63 of them (x86 is little-endian).
 */
static __always_inline void trace_submit(struct trace_rec *e)
{
	__sync_fetch_and_and((__u64 *)&e->mm_id, ~((__u64)TRACE_SEQ_BUSY << 32));
}

static __always_inline bool tgid_traced(__u32 tgid)
{
	if (ignore_tgid && tgid == ignore_tgid)
		return false;
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

/*
 * verifier_cost: on 6.18 every load of a pointer field through a trusted BTF pointer (a tp_btf
 * argument, bpf_get_current_task_btf(), an iterator's ctx->task, a bpf_find_vma() callback's
 * task and vma) makes check_ptr_to_btf_access() ask btf_nested_type_is_trusted() for
 * "<struct>__safe_trusted", "__safe_trusted_or_null", "__safe_rcu" and "__safe_rcu_or_null":
 * a btf_find_by_name_kind() walk of all 126,700 kernel types each, at every visit of the
 * instruction, about 1 ms of load time per load site (6.1 has no such rules). Paths that run
 * rarely read such pointers with BPF_CORE_READ() (a probe read, no BTF walk for the verifier;
 * the value is then a plain number); the hot path keeps its few direct loads at the top of a
 * program, where each is visited once. fault_count_tp went from 15 to 6 ms of verification
 * (log level 4), task_exit 2-4 -> 0.5, mm_seed and rss_tp 1.2-1.8 -> 0.3 (docs/performance.md).
 */
static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

#endif /* PFNSCOPE_COMMON_BPF_H */
