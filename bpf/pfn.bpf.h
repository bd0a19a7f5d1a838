/* SPDX-License-Identifier: GPL-2.0 */
/* Capture of page state at the moment a pfn reaches a page table; map `pfn_hits`. */
#ifndef PFNSCOPE_PFN_BPF_H
#define PFNSCOPE_PFN_BPF_H

#include "pfn.h"
#include "vma.bpf.h"
#include "page.bpf.h"

/* pfn_t (a u64 with flag bits on top) was removed in 6.16: insert_pfn() takes a plain pfn. */
typedef struct { __u64 val; } pfn_t___old;
#define PFN_T_FLAGS_MASK (0xfffULL << 52)
#define PFN_T_DEV (1ULL << 61)
#define PFN_T_MAP (1ULL << 60)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* rows on demand where no pfn hook attaches (the 6.18 host: the map is unused there);
	 * the loader preallocates it where one does (src/fault.c) */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct pfn_key);
	__type(value, struct pfn_val);
} pfn_hits SEC(".maps");

/* x86 PAT index of a pgprot: PAT (bit 7 on 4K ptes) << 2 | PCD (bit 4) << 1 | PWT (bit 3) */
static __always_inline __u8 cache_index(__u64 prot)
{
	return ((prot >> 7) & 1) << 2 | ((prot >> 4) & 1) << 1 | ((prot >> 3) & 1);
}

static __always_inline void pfn_record(struct vm_area_struct *vma, __u32 tgid, __u8 src,
				       __u64 pfn, __u8 state, __u32 refcount, __u64 req_prot,
				       __u64 inst_prot, bool inst_known, __u64 count)
{
	struct pfn_key key = {};
	struct pfn_val *pv, init = {};
	__u64 now = bpf_ktime_get_ns();

	/* a remap_pfn_range() at mmap time may be the first event of its VMA */
	struct vma_val *v = vma_get(vma, tgid);

	if (!v)
		return;
	key.vma_id = v->id;
	key.src = src;
	key.state = state;
	key.req_cache = cache_index(req_prot);
	key.inst_cache = inst_known ? cache_index(inst_prot) : 0xff;
	key.pfn = pfn;
	if ((state & (PFNST_HAS_PAGE | PFNST_RESERVED | PFNST_REFCOUNT0 | PFNST_PFN_MAP)) ==
	    PFNST_HAS_PAGE) {
		key.state |= PFNST_BUCKET;
		key.pfn = pfn >> PFN_BUCKET_SHIFT << PFN_BUCKET_SHIFT;
	}
	pv = bpf_map_lookup_elem(&pfn_hits, &key);
	if (!pv) {
		init.example_pfn = pfn;
		init.first_ns = now;
		init.fault_fn = (__u64)BPF_CORE_READ(vma, vm_ops, fault);
		long err = bpf_map_update_elem(&pfn_hits, &key, &init, BPF_NOEXIST);

		if (!err)
			count_add(CNT_PFN_ROWS, 1);
		else if (insert_failed(err)) {
			count_drop(DROP_PFN_MAP_FULL);
			return;
		}
		pv = bpf_map_lookup_elem(&pfn_hits, &key);
		if (!pv)
			return;
	}
	__sync_fetch_and_add(&pv->count, count);
	pv->last_ns = now;
	pv->refcount = refcount;
	{
		struct trace_rec *e = trace_reserve(TE_PFN);

		if (e) {
			e->vma_id = key.vma_id;
			e->pfn = pfn;
			e->count = count;
			e->src = src;
			e->state = state;
			e->req_cache = key.req_cache;
			e->inst_cache = key.inst_cache;
			e->mm_id = v->mm;
			trace_submit(e);
		}
	}
}

#endif /* PFNSCOPE_PFN_BPF_H */
