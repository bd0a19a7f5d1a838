/* SPDX-License-Identifier: GPL-2.0 */
/* struct page access that survives the 6.1 -> 6.18 layout changes: pfn <-> page, flags,
 * refcount. */
#ifndef PFNSCOPE_PAGE_BPF_H
#define PFNSCOPE_PAGE_BPF_H

#include "pfn.h"

/* x86_64 with SPARSEMEM_VMEMMAP: struct page of pfn N is vmemmap_base + N (a KASLR-randomised
 * variable, arch/x86/mm/kaslr.c). The loader writes the variable's address from kallsyms (0 if
 * absent: without KALLSYMS_ALL); reading it here spares libbpf a kallsyms parse per object.
 * .bss, not .rodata: kallsyms is read while the programs load and this is set before attach. */
volatile __u64 vmemmap_base_addr;

/* page->flags became memdesc_flags_t { unsigned long f; } in 6.17 */
struct page___old {
	unsigned long flags;
} __attribute__((preserve_access_index));

static __always_inline __u64 vmemmap(void)
{
	__u64 base = 0;

	if (vmemmap_base_addr)
		bpf_probe_read_kernel(&base, sizeof(base), (void *)vmemmap_base_addr);
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

/* page->flags, read defensively (a pfn without memmap faults the probe read): 0 on failure. */
static __always_inline int page_flags(struct page *page, unsigned long *flags)
{
	*flags = 0;
	if (!page)
		return -1;
	if (bpf_core_type_exists(memdesc_flags_t))
		return bpf_probe_read_kernel(flags, sizeof(*flags),
					     (void *)page + bpf_core_field_offset(struct page, flags));
	return bpf_probe_read_kernel(flags, sizeof(*flags),
				     (void *)page + bpf_core_field_offset(struct page___old, flags));
}

static __always_inline bool flag_set(unsigned long flags, int bit)
{
	return flags & (1UL << bit);
}

/* PFNST_* of @page and its refcount. */
static __always_inline __u8 page_state(struct page *page, __u32 *refcount)
{
	unsigned long flags = 0;
	int ref = 0;
	__u8 st;

	if (page_flags(page, &flags))
		return 0;
	if (bpf_probe_read_kernel(&ref, sizeof(ref),
				  (void *)page + bpf_core_field_offset(struct page, _refcount)))
		return 0;
	st = PFNST_HAS_PAGE;
	if (flag_set(flags, bpf_core_enum_value(enum pageflags, PG_reserved)))
		st |= PFNST_RESERVED;
	if (ref == 0)
		st |= PFNST_REFCOUNT0;
	*refcount = ref;
	return st;
}

/* The mm counter a page is charged to: mm_counter() in include/linux/mm.h. PageAnon() is bit 0
 * of page->mapping (PAGE_MAPPING_ANON); shmem pages are PG_swapbacked. */
static __always_inline __u32 page_member(struct page *page)
{
	unsigned long flags = 0, mapping = 0;

	bpf_probe_read_kernel(&mapping, sizeof(mapping),
			      (void *)page + bpf_core_field_offset(struct page, mapping));
	if (mapping & 1)
		return RSS_ANON;
	page_flags(page, &flags);
	return flag_set(flags, bpf_core_enum_value(enum pageflags, PG_swapbacked)) ? RSS_SHMEM :
										RSS_FILE;
}

#endif /* PFNSCOPE_PAGE_BPF_H */
