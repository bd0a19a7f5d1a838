/* SPDX-License-Identifier: GPL-2.0 */
/* Per-event records streamed through the per-CPU rings of the map `events` (bpf/common.bpf.h,
 * src/evring.c): only in trace and record mode (rodata trace_mask != 0); every other mode
 * aggregates in maps and emits nothing. */
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
	/* mm_id and seq: one 8-byte-aligned word (trace_submit()) */
	__u32 seq;		/* ring commit word (TRACE_SEQ_*); set last by the producer */
};

/*
 * The per-CPU rings in `events`, a BPF_F_MMAPABLE array of 64-byte slots: CPU c owns the
 * slots [c * (slots + 2), (c + 1) * (slots + 2)). Its first slot's ts_ns is the producer
 * position (advanced by the BPF side with a compare-and-swap), its second slot's ts_ns the
 * consumer position (written by userspace only), then come `slots` records. Record number p
 * lives in slot 2 + (p & (slots - 1)) and is readable once its seq is TRACE_SEQ(p): the
 * producer writes TRACE_SEQ(p) | TRACE_SEQ_BUSY when it takes the slot and clears the busy
 * bit last.
 */
#define TRACE_SEQ_BUSY	0x80000000u
#define TRACE_SEQ(p)	((__u32)((p) + 1) & ~TRACE_SEQ_BUSY)
#define TRACE_RING_HDR	2	/* slots before a CPU's records: producer, consumer */

#endif /* PFNSCOPE_TRACE_H */
