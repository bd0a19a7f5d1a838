// SPDX-License-Identifier: GPL-2.0
/* The mechanism's floor: empty programs on the hooks pfnscope uses on a tracepoint kernel. */
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
