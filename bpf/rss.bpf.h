/* SPDX-License-Identifier: GPL-2.0 */
/* Map `rss_mm` (per-mm RSS from kmem:rss_stat), shared by the rss and zap objects. */
#ifndef PFNSCOPE_RSS_BPF_H
#define PFNSCOPE_RSS_BPF_H

#include "pfnscope.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* rows on demand: common.bpf.h */
	__uint(max_entries, 16384);
	__type(key, __u32);		/* the tracepoint's mm_id */
	__type(value, struct rss_mm_val);
} rss_mm SEC(".maps");

/*
 * The classic tracepoint's mm_id is mm_ptr_to_hash() (include/trace/events/kmem.h): on recent
 * kernels ptr_to_hashval(), the siphash %p uses with a per-boot secret, which BPF cannot
 * compute. So the id is learnt: when a task changes its own counters (curr=1), its mm pointer
 * maps to the event's mm_id here, and exit_mmap() finds the row through it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* rows on demand: common.bpf.h */
	__uint(max_entries, 16384);
	__type(key, __u64);		/* mm_struct address */
	__type(value, __u32);		/* the tracepoint's mm_id */
} mm_ids SEC(".maps");

/* Our own id for an mm where we name it ourselves (the raw tracepoint passes the mm):
 * hash_64() with the golden ratio. */
static __always_inline __u32 mm_hash(const void *mm)
{
	return ((__u64)mm * 0x61C8864680B583EBULL) >> 32;
}

/* The rss_mm key of @mm: learnt from the tracepoint, else our own hash. */
static __always_inline __u32 mm_rss_id(__u64 mm)
{
	__u32 *id = bpf_map_lookup_elem(&mm_ids, &mm);

	return id ? *id : mm_hash((void *)mm);
}

#endif /* PFNSCOPE_RSS_BPF_H */
