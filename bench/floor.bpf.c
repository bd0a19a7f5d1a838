// SPDX-License-Identifier: GPL-2.0
/*
 * The mechanism's floor on the hooks pfnscope uses on a tracepoint kernel: empty programs
 * (floor_*), and the same hooks writing one 64-byte record per event to a ring buffer the way
 * trace and record do (reserve, a timestamp, submit without a wakeup: ring_*), the floor of
 * any per-event stream. bench/floor.c loads one pair or the other.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

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
