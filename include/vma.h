/* SPDX-License-Identifier: GPL-2.0 */
/* Per-VMA identity and counters, written by bpf/fault.bpf.c and read by src/vmas.c. */
#ifndef PFNSCOPE_VMA_H
#define PFNSCOPE_VMA_H

#include "pfnscope.h"

/*
 * A live VMA is found by the tgid that touched it, its anchor address and a kernel cookie (the
 * vm_area_struct address, never printed): a split or mremap gives new rows instead of mixing
 * counts. When the kernel frees the vm_area_struct (vm_area_free) its rows are retired: moved to
 * an odd cookie no live VMA can have, so a reused slab object starts a new row. Other maps refer
 * to a row by its id, which never changes.
 */
struct vma_key {
	__u32 tgid;
	__u32 _pad;
	__u64 vm_start;		/* vm_end for a stack (VM_GROWSDOWN): the end that does not move */
	__u64 vma_cookie;
};

/*
 * The tracepoint backend's per-CPU cache of the VMA of the last fault (bpf/fault.bpf.c): while
 * faults stay in that VMA and the address space is unchanged, a fault costs an increment of
 * `pending` and of `hits` instead of two hash lookups and two atomic adds. The pending faults
 * move into the vmas and procs rows of `key` when the cache moves to another VMA; readers add
 * what is still pending to the rows they read (src/state.c: rows first, then the cache).
 * `hits` is never reset: CNT_FAULTS counts the other faults, and the faults counted are
 * CNT_FAULTS plus every CPU's `hits`, each term only ever growing.
 *
 * One entry per possible CPU in a BPF_F_MMAPABLE array (page-aligned values), indexed by CPU:
 * 128 bytes each, so no two CPUs share a line, and what a hit reads and writes (up to
 * key.tgid; row_id only when tracing) lies in the entry's first 64 bytes.
 */
struct vma_cache {
	__u64 mm;
	__u64 start, end;
	__u64 pending;		/* faults in key on this CPU not yet in its rows */
	__u64 hits;		/* faults counted here, never reset (CNT_FAULTS has the rest) */
	__u32 seq;		/* mm->mm_lock_seq when filled */
	__u32 valid;
	__u32 trace;		/* trace_mask had TE_FAULT when filled: a hit is recorded */
	__u32 _pad;
	struct vma_key key;
	__u64 row_id;		/* vma_val.id of key (trace records) */
	__u8 _line[40];		/* to 128 bytes */
};

/* The mm counters of include/linux/mm_types_task.h (NR_MM_COUNTERS), same order. */
enum rss_member {
	RSS_FILE,	/* MM_FILEPAGES */
	RSS_ANON,	/* MM_ANONPAGES */
	RSS_SWAP,	/* MM_SWAPENTS */
	RSS_SHMEM,	/* MM_SHMEMPAGES */
	RSS_MEMBERS,
};

/* Where the VMA's name comes from (what /proc/PID/maps would print). */
enum vma_kind {
	VMA_KIND_ANON,		/* no file, no special name */
	VMA_KIND_FILE,		/* name = dentry name of vm_file */
	VMA_KIND_SPECIAL,	/* name = vm_special_mapping name ([vdso], [vvar], ...) */
	VMA_KIND_HEAP,
	VMA_KIND_STACK,
	VMA_KIND_UNATTRIBUTED,	/* faults whose VMA could not be looked up */
};

/* Identity captured when pfnscope first sees a VMA; vm_end/vm_flags refreshed on each fault. */
struct vma_val {
	__u64 id;		/* unique row id (pfn_key.vma_id refers to it) */
	__u64 vm_start;
	__u64 vm_end;
	__u64 vm_flags;
	__u64 vm_pgoff;
	__u64 vm_ops;		/* kernel address, symbolised in userspace, never printed */
	__u64 fault_fn;		/* vm_ops->fault */
	__u64 mmap_fn;		/* vm_file->f_op->mmap: the driver, when it has no vm_ops */
	__u64 ino;
	__u32 dev;
	__u32 kind;		/* enum vma_kind */
	__u16 remote;		/* touched by a task of another mm (GUP on a foreign VMA) */
	__u16 seen_by_iter;	/* listed by the vma-iter snapshot */
	__u32 rdev;		/* i_rdev of a device file (/dev/mem is 1:1) */
	char name[PFNSCOPE_NAME_LEN];
	char comm[PFNSCOPE_COMM_LEN];
	/* counters */
	__u64 faults;		/* completed faults: minflt+majflt semantics */
	__u64 faults_major;
	__u64 faults_gup;	/* handle_mm_fault() with regs == NULL (get_user_pages) */
	__u64 faults_retry;	/* VM_FAULT_RETRY: retried, counted once when it completes */
	__u64 faults_error;	/* VM_FAULT_ERROR: not counted in minflt/majflt */
	__u64 ptes_installed;	/* ptes set for fault-handler pages (do_set_pte/set_pte_range) */
	/* RSS as the rmap sees it: pages whose mapping entered (rmap add) and left (rmap
	 * remove) this VMA, by mm counter (enum rss_member); fork copies count as entering */
	__u64 rss_in[RSS_MEMBERS];
	__u64 rss_out[RSS_MEMBERS];
	__u64 rss_in_reserved;	/* PG_reserved pages among rss_in (counted as file pages) */
	__u64 teardowns;	/* unmap_page_range() calls on this VMA */
	__u64 bad_ptes;		/* print_bad_pte() reports on this VMA */
	__u64 mm;		/* mm_val.id of its address space */
};

#endif /* PFNSCOPE_VMA_H */
