// SPDX-License-Identifier: GPL-2.0
/*
 * The mechanism's floor on the hooks pfnscope uses on a tracepoint kernel: empty programs
 * (floor_*); the same hooks writing one 64-byte record per event to a BPF ring buffer
 * (reserve, a timestamp, submit without a wakeup: ring_*), the floor of any per-event stream
 * through BPF_MAP_TYPE_RINGBUF; and the same record through the per-CPU rings trace and record
 * use (bpf/common.bpf.h's trace_reserve()/trace_submit(): pcpu_*), the floor of pfnscope's own
 * stream. bench/floor.c loads one pair.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/page_fault_user")
int BPF_PROG(floor_fault)
{
	return 0;
}

SEC("tracepoint/kmem/rss_stat")
int floor_rss(void *ctx)
{
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* trace's default */
} records SEC(".maps");

struct record {
	__u64 ts_ns;
	__u64 _rest[7];		/* the size of pfnscope's struct trace_rec */
};

static __always_inline void emit(void)
{
	struct record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);

	if (!r)
		return;
	r->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(ring_fault)
{
	emit();
	return 0;
}

SEC("tracepoint/kmem/rss_stat")
int ring_rss(void *ctx)
{
	emit();
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(pcpu_fault)
{
	struct trace_rec *e = trace_reserve(TE_FAULT);

	if (e)
		trace_submit(e);
	return 0;
}

SEC("tracepoint/kmem/rss_stat")
int pcpu_rss(void *ctx)
{
	struct trace_rec *e = trace_reserve(TE_RSS);

	if (e)
		trace_submit(e);
	return 0;
}
