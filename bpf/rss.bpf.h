/* SPDX-License-Identifier: GPL-2.0 */
/* Map `rss_mm` (per-mm RSS from kmem:rss_stat), shared by the rss and zap objects. */
#ifndef PFNSCOPE_RSS_BPF_H
#define PFNSCOPE_RSS_BPF_H

#include "pfnscope.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);		/* the tracepoint's mm_id */
	__type(value, struct rss_mm_val);
} rss_mm SEC(".maps");

/* mm_ptr_to_hash() (include/linux/mm.h): hash_ptr(mm, 32), i.e. hash_64() with the golden
 * ratio: the mm_id the classic rss_stat tracepoint records. */
static __always_inline __u32 mm_hash(const void *mm)
{
	return ((__u64)mm * 0x61C8864680B583EBULL) >> 32;
}

#endif /* PFNSCOPE_RSS_BPF_H */
