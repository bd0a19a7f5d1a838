/* SPDX-License-Identifier: GPL-2.0 */
/* Constants and small structs shared by every BPF object and the userspace side. */
#ifndef PFNSCOPE_H
#define PFNSCOPE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>	/* BPF programs get the types from vmlinux.h */
#endif

#define PFNSCOPE_COMM_LEN	16
#define PFNSCOPE_NAME_LEN	48

/* Everything pfnscope loses is counted under one of these reasons (map `drops`). */
enum drop_reason {
	DROP_VMA_MAP_FULL,	/* vmas map full: event counted in the pid's [unattributed] row */
	DROP_VMA_LOOKUP,	/* bpf_find_vma() busy: mmap_lock contended, or its unlock pending */
	DROP_STASH_FULL,	/* kprobe entry->return stash full */
	DROP_STASH_MISS,	/* kretprobe without matching entry */
	DROP_PROC_MAP_FULL,	/* procs map full */
	DROP_TRACED_FULL,	/* traced-tgid filter map full: a child is not followed */
	DROP_RINGBUF_FULL,	/* trace ring buffer full */
	DROP_PFN_MAP_FULL,	/* pfn_hits map full: a pfn event is not classified */
	DROP_PIN_MAP_FULL,	/* pins map full: an outstanding pin is not tracked */
	DROP_VMA_NONE,		/* no VMA at a faulting address: stack growth, or a SIGSEGV */
	DROP_PID_REUSED,	/* an exited process's row, unread, when a new one took its pid */
	DROP_TAIL_CALL,		/* fault_count_ktp's tail call into fault_count_tp failed */
	DROP__MAX,
};

/* Global counters (map `counters`, per CPU): exact totals that outlive any row, and the
 * insertions that tell how many rows an LRU map evicted (inserted - present - deleted). */
enum counter {
	CNT_FAULTS,		/* faults counted (same semantics as proc_val.faults), less the
				 * tracepoint backend's cache hits (vma_cache.hits) */
	CNT_VMA_ROWS,		/* rows inserted into `vmas` */
	CNT_PFN_ROWS,		/* rows inserted into `pfn_hits` */
	CNT_PIN_SITES,		/* rows inserted into `pin_sites` */
	CNT_VMA_MERGED,		/* `vmas` rows deleted in the kernel (fork-time rows merged) */
	CNT__MAX,
};

/* A tgid that pfnscope follows (map `traced`): filled by the loader and by fork. */
struct traced_val {
	__u32 parent;		/* tgid that forked it (0: started by pfnscope) */
	__u32 flags;
};

/* Per-process counters that the kernel itself keeps, read when each thread exits
 * (sched_process_exit fires after exit_mm(), so no fault of that thread can follow). */
struct proc_val {
	__u64 task_minflt;	/* sum over exited threads of task->min_flt */
	__u64 task_majflt;	/* sum over exited threads of task->maj_flt */
	__u64 faults;		/* faults pfnscope counted for this tgid (minflt+majflt semantics) */
	__u32 ppid;
	__u32 threads_exited;
	__s32 exit_code;	/* task->exit_code of the group leader (wait status) */
	__u32 exited;		/* the group leader has exited */
	char comm[PFNSCOPE_COMM_LEN];
	/* address spaces (mm_val.id) up to this one belong to earlier processes that had this
	 * pid: set when a new process took it while pfnscope ran (task_fork), 0 if none did */
	__u64 mms_before;
};

/* Address-space state (map `mms`): keyed by the mm_struct address while it lives, by
 * id << 1 | 1 once exit_mmap() retired it (a reused mm_struct then starts a new entry). */
#define MM_UNOBSERVED	0x1	/* alive before pfnscope attached, or a copy of an untraced mm:
				 * its RSS is not fully seen */
#define MM_EXITED	0x2	/* exit_mmap() finished */

struct mm_val {
	__u64 id;			/* unique, never reused */
	__u32 tgid;
	__u32 flags;
	__s64 kernel_rss_at_exit[4];	/* mm->rss_stat after exit_mmap (6.1: exact atomics) */
	__u32 kernel_rss_known;
	__u32 _pad;
	__s64 fork_rss_seen[4];		/* mm counters after the last copy_page_range() of a fork */
	/* the main stack's row in `vmas` (tgid, anchor, cookie of its struct vma_key), where the
	 * tracepoint backend charges the faults that grow it (bpf/fault.bpf.c stack_growth()) */
	__u64 stack_anchor;
	__u64 stack_cookie;
	__u32 stack_tgid;
	__u32 _pad2;
};

/* Per-mm RSS as the kernel's own counters say (map `rss_mm`, keyed by the tracepoint's mm id):
 * the last value of each counter, in pages, and its peak. */
struct rss_mm_val {
	__u32 tgid;		/* the process whose task last changed it (curr=1); 0 unknown yet */
	__u32 exited;		/* exit_mmap() seen: the next event is a new mm at that address */
	__s64 pages[4];		/* enum rss_member order */
	__s64 peak[4];
	__u64 events;
};

/* One process's mm counters as the rss-iter program reads them on demand (bpf/zap.bpf.c). */
struct rss_sample {
	__u32 tgid;
	__u32 _pad;
	__s64 pages[4];		/* enum rss_member order */
};

/* Sequences shared by every object (map `seqs`): unique VMA-row and mm ids, retired keys. */
enum { SEQ_VMA_ROW, SEQ_MM, SEQ_RETIRED, SEQ__MAX };

/* Kernel-reported bad page-table entries (print_bad_pte), kept for the report. */
struct bad_pte_val {
	__u64 count;
	__u64 pfn;		/* pfn of the last bad entry, ~0 if none */
};

#endif /* PFNSCOPE_H */
