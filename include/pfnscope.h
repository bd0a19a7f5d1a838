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
	DROP_VMA_LOOKUP,	/* bpf_find_vma() failed (mmap_lock contended, no vma) */
	DROP_STASH_FULL,	/* kprobe entry->return stash full */
	DROP_STASH_MISS,	/* kretprobe without matching entry */
	DROP_PROC_MAP_FULL,	/* procs map full */
	DROP_TRACED_FULL,	/* traced-tgid filter map full: a child is not followed */
	DROP_RINGBUF_FULL,	/* trace ring buffer full */
	DROP_PFN_MAP_FULL,	/* pfn_hits map full: a pfn event is not classified */
	DROP__MAX,
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
};

#endif /* PFNSCOPE_H */
