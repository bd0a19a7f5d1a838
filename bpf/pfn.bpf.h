/* SPDX-License-Identifier: GPL-2.0 */
/* Capture of page state at the moment a pfn reaches a page table; map `pfn_hits`. */
#ifndef PFNSCOPE_PFN_BPF_H
#define PFNSCOPE_PFN_BPF_H

#include "pfn.h"
#include "vma.bpf.h"

/* x86_64 with SPARSEMEM_VMEMMAP: struct page of pfn N is vmemmap_base + N (KASLR-randomised
 * variable, arch/x86/mm/kaslr.c). A typeless weak ksym: 0 if kallsyms lacks it. */
extern const void vmemmap_base __ksym __weak;

/* pfn_t (a u64 with flag bits on top) was removed in 6.16: insert_pfn() takes a plain pfn. */
typedef struct { __u64 val; } pfn_t___old;
#define PFN_T_FLAGS_MASK (0xfffULL << 52)
#define PFN_T_DEV (1ULL << 61)
#define PFN_T_MAP (1ULL << 60)

/* page->flags became memdesc_flags_t { unsigned long f; } in 6.17 */
struct page___old {
	unsigned long flags;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pfn_key);
	__type(value, struct pfn_val);
} pfn_hits SEC(".maps");

static __always_inline __u64 vmemmap(void)
{
	__u64 base = 0;

	if (&vmemmap_base)
		bpf_probe_read_kernel(&base, sizeof(base), &vmemmap_base);
	return base;
}

static __always_inline __u64 page_to_pfn(struct page *page)
{
	__u64 base = vmemmap();

	if (!base || !page)
		return (__u64)-1;
	return ((__u64)page - base) / bpf_core_type_size(struct page);
}

static __always_inline struct page *pfn_to_page(__u64 pfn)
{
	__u64 base = vmemmap();

	return base ? (struct page *)(base + pfn * bpf_core_type_size(struct page)) : NULL;
}

/* PFNST_* of @page, reading it defensively: a pfn without memmap faults the probe read. */
static __always_inline __u8 page_state(struct page *page, __u32 *refcount)
{
	unsigned long flags = 0;
	int ref = 0;
	__u8 st;

	if (!page)
		return 0;
	if (bpf_core_type_exists(memdesc_flags_t)) {
		if (bpf_probe_read_kernel(&flags, sizeof(flags),
					  (void *)page + bpf_core_field_offset(struct page, flags)))
			return 0;
	} else {
		struct page___old *po = (void *)page;

		if (bpf_probe_read_kernel(&flags, sizeof(flags),
					  (void *)po + bpf_core_field_offset(struct page___old, flags)))
			return 0;
	}
	if (bpf_probe_read_kernel(&ref, sizeof(ref),
				  (void *)page + bpf_core_field_offset(struct page, _refcount)))
		return 0;
	st = PFNST_HAS_PAGE;
	if (flags & (1UL << bpf_core_enum_value(enum pageflags, PG_reserved)))
		st |= PFNST_RESERVED;
	if (ref == 0)
		st |= PFNST_REFCOUNT0;
	*refcount = ref;
	return st;
}

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
	if (!vma_get(vma, tgid))
		return;
	key.vma.tgid = tgid;
	key.vma.vm_start = BPF_CORE_READ(vma, vm_start);
	key.vma.vma_cookie = (__u64)vma;
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
		if (bpf_map_update_elem(&pfn_hits, &key, &init, BPF_NOEXIST) == -E2BIG) {
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
}

#endif /* PFNSCOPE_PFN_BPF_H */
