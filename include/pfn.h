/* SPDX-License-Identifier: GPL-2.0 */
/* Page frames reaching user page tables: aggregated in the kernel per (VMA, source, pfn, page
 * state, caching mode) in map `pfn_hits`, classified in userspace (src/classify.c). */
#ifndef PFNSCOPE_PFN_H
#define PFNSCOPE_PFN_H

#include "vma.h"

/* How the pfn reached the page table. */
enum pfn_src {
	SRC_FAULT_RETURN,	/* vm_ops->fault returned it in vmf->page (__do_fault) */
	SRC_PFN_INSERT,		/* insert_pfn(): vmf_insert_pfn*, vmf_insert_mixed* */
	SRC_PFN_REMAP,		/* remap_pfn_range() at mmap time (count = pages) */
	SRC_PAGE_INSERT,	/* vm_insert_page() */
	SRC__MAX,
};

/* Page state captured at the moment of the event (it cannot be known later). */
#define PFNST_HAS_PAGE	0x01	/* the struct page (memmap) could be read */
#define PFNST_RESERVED	0x02	/* PG_reserved */
#define PFNST_REFCOUNT0	0x04	/* page->_refcount == 0: a free page */
#define PFNST_PFN_DEV	0x08	/* pfn_t PFN_DEV (6.1 insert_pfn; set by every vmf_insert_pfn) */
#define PFNST_PFN_MAP	0x10	/* pfn_t PFN_MAP: with PFN_DEV, a ZONE_DEVICE page (DAX) */
#define PFNST_BUCKET	0x20	/* ordinary RAM page: key.pfn is a 1 GiB bucket, not exact */

/* An ordinary page (struct page, not reserved, referenced, not a device pfn) is RAM by
 * construction: its exact pfn is not kept, which bounds the map. */
#define PFN_BUCKET_SHIFT 18

struct pfn_key {
	__u64 vma_id;		/* vma_val.id of the VMA row */
	__u64 pfn;		/* exact pfn, or bucket start if PFNST_BUCKET */
	__u8 src;		/* enum pfn_src */
	__u8 state;		/* PFNST_* */
	__u8 req_cache;		/* x86 PAT index (PAT<<2|PCD<<1|PWT) of the requested pgprot */
	__u8 inst_cache;	/* of the installed pgprot; 0xff if unknown */
	__u32 _pad;
};

struct pfn_val {
	__u64 count;		/* events (for SRC_PFN_REMAP: pages) */
	__u64 example_pfn;	/* an exact pfn of this bucket */
	__u64 first_ns;
	__u64 last_ns;
	__u64 fault_fn;		/* vm_ops->fault at the time */
	__u32 refcount;		/* page refcount seen last */
	__u32 _pad;
};

#endif /* PFNSCOPE_PFN_H */
