/* SPDX-License-Identifier: GPL-2.0 */
/* Per-event records streamed through the BPF ring buffer `events`: only in trace and record
 * mode (rodata trace_mask != 0); every other mode aggregates in maps and emits nothing. */
#ifndef PFNSCOPE_TRACE_H
#define PFNSCOPE_TRACE_H

#include "pfnscope.h"

enum trace_rec_type {
	TE_NONE,
	TE_FAULT,	/* a completed fault (fault-count hook): addr, count = error code/flags */
	TE_PFN,		/* a pfn reached a page table: src = enum pfn_src, count = pages */
	TE_TEARDOWN,	/* unmap_page_range() over a VMA: addr = vm_start */
	TE_PIN,		/* pin or reference taken: kind = enum pin_kind, count = refs */
	TE_UNPIN,	/* FOLL_PIN refs released: count = refs */
	TE_RSS,		/* kmem:rss_stat: member's counter is now pfn (pages, signed) */
	TE_BAD_PTE,	/* print_bad_pte() */
	TE_EXIT,	/* a process (thread group leader) exited: count = exit code */
	TE__MAX,
};

#define TRACE_ALL_TYPES (((1u << TE__MAX) - 1) & ~1u)

struct trace_rec {
	__u64 ts_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 vma_id;		/* vma_val.id of the row, 0 if unknown */
	__u64 addr;		/* user virtual address, 0 if none */
	__u64 pfn;		/* TE_PFN/TE_PIN/TE_UNPIN/TE_BAD_PTE; TE_RSS: counter value */
	__u64 count;
	__u32 tgid;
	__u32 tid;
	__u8 type;		/* enum trace_rec_type */
	__u8 src;		/* TE_PFN: enum pfn_src; TE_PIN: enum pin_kind; TE_RSS: member */
	__u8 state;		/* TE_PFN: PFNST_* */
	__u8 req_cache;		/* TE_PFN: PAT index requested */
	__u8 inst_cache;	/* TE_PFN: PAT index installed, 0xff unknown */
	__u8 _pad[3];
	__u32 mm_id;		/* TE_RSS: tracepoint mm id; else low bits of mm_val.id */
	__u32 _pad2;
};

#endif /* PFNSCOPE_TRACE_H */
