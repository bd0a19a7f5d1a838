/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers every pfnscope BPF object shares: the tgid filter and the loss counters. */
#ifndef PFNSCOPE_COMMON_BPF_H
#define PFNSCOPE_COMMON_BPF_H

#include "pfnscope.h"

#ifndef E2BIG
#define E2BIG 7
#endif
#ifndef EBUSY
#define EBUSY 16
#endif

/* 0: watch every process (agent); 1: only tgids in `traced` (check, -p, -c). */
const volatile __u32 filter_tgids = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
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

static __always_inline void count_drop(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&drops, &reason);

	if (v)
		(*v)++;
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
