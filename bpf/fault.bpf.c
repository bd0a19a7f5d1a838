// SPDX-License-Identifier: GPL-2.0
/*
 * The fault path: fault counts per VMA with the exact semantics of /proc/PID/stat
 * minflt+majflt, and the process bookkeeping (follow forks, capture the kernel's own
 * per-task fault counters at exit) every other object relies on.
 *
 * One logical hook may be served by several programs; the attach planner (src/planner.c)
 * enables exactly one per hook with bpf_program__set_autoload().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vma.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* tgid of the loader: its next fork is followed while follow_next_fork is set (check -- CMD),
 * so the child is traced from its first instruction, before exec. */
const volatile __u32 loader_tgid = 0;
__u32 follow_next_fork = 0;

/* ----- process bookkeeping ----- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(task_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct traced_val tv = { .parent = ptgid };

	if (!filter_tgids || ptgid == ctgid)	/* not filtering, or a new thread */
		return 0;
	if (ptgid == loader_tgid && follow_next_fork)
		tv.parent = 0;
	else if (!bpf_map_lookup_elem(&traced, &ptgid))
		return 0;
	if (bpf_map_update_elem(&traced, &ctgid, &tv, BPF_ANY))
		count_drop(DROP_TRACED_FULL);
	return 0;
}

/* sched_process_exit fires in do_exit() after exit_mm(): the thread can take no further fault,
 * so its min_flt/maj_flt are final. Their sum over all threads is what /proc/PID/stat shows. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(task_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct proc_val *pv;

	if (!tgid_traced(tgid))
		return 0;
	pv = proc_get(tgid);
	if (!pv)
		return 0;
	__sync_fetch_and_add(&pv->task_minflt, p->min_flt);
	__sync_fetch_and_add(&pv->task_majflt, p->maj_flt);
	__sync_fetch_and_add(&pv->threads_exited, 1);
	if (p->pid == tgid) {
		pv->exited = 1;
		pv->exit_code = p->exit_code;
		pv->ppid = BPF_CORE_READ(p, real_parent, tgid);
		bpf_probe_read_kernel_str(pv->comm, sizeof(pv->comm), p->comm);
	}
	return 0;
}

/* ----- fault-count ----- */

/*
 * mm_account_fault() (mm/memory.c, called at the end of handle_mm_fault()): a fault with
 * VM_FAULT_RETRY is not accounted (it is accounted when the retry completes), one with
 * VM_FAULT_ERROR is not counted in min_flt/maj_flt, and it is major if VM_FAULT_MAJOR or
 * FAULT_FLAG_TRIED. min_flt is charged to current, also for GUP faults on another mm.
 */
static __always_inline void account_fault(struct vm_area_struct *vma, unsigned int flags,
					  bool gup, unsigned int ret)
{
	__u32 tgid = current_tgid();
	unsigned int error_mask;
	struct proc_val *pv;
	struct vma_val *v;
	bool major;

	if (!tgid_traced(tgid))
		return;
	v = vma_get(vma, tgid);
	if (ret & bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_RETRY)) {
		if (v)
			__sync_fetch_and_add(&v->faults_retry, 1);
		return;
	}
	error_mask = bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_OOM) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGBUS) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGSEGV) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON_LARGE) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_FALLBACK);
	if (ret & error_mask) {
		if (v)
			__sync_fetch_and_add(&v->faults_error, 1);
		return;
	}
	major = (ret & bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_MAJOR)) ||
		(flags & bpf_core_enum_value(enum fault_flag, FAULT_FLAG_TRIED));
	pv = proc_get(tgid);
	if (pv)
		__sync_fetch_and_add(&pv->faults, 1);
	if (!v)
		return;
	__sync_fetch_and_add(&v->faults, 1);
	if (major)
		__sync_fetch_and_add(&v->faults_major, 1);
	if (gup)
		__sync_fetch_and_add(&v->faults_gup, 1);
}

SEC("fexit/handle_mm_fault")
int BPF_PROG(fault_count_fexit, struct vm_area_struct *vma, unsigned long address,
	     unsigned int flags, struct pt_regs *regs, vm_fault_t ret)
{
	account_fault(vma, flags, regs == NULL, ret);
	return 0;
}

/* kprobe backend: the entry stashes the arguments the return needs, per thread */
struct fault_stash {
	struct vm_area_struct *vma;
	__u32 flags;
	__u32 gup;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct fault_stash);
} fault_stash SEC(".maps");

SEC("kprobe/handle_mm_fault")
int BPF_KPROBE(fault_count_kprobe, struct vm_area_struct *vma, unsigned long address,
	       unsigned int flags, struct pt_regs *regs)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct fault_stash s = { .vma = vma, .flags = flags, .gup = regs == NULL };

	if (!tgid_traced(id >> 32))
		return 0;
	if (bpf_map_update_elem(&fault_stash, &id, &s, BPF_ANY))
		count_drop(DROP_STASH_FULL);
	return 0;
}

SEC("kretprobe/handle_mm_fault")
int BPF_KRETPROBE(fault_count_kretprobe, vm_fault_t ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct fault_stash *s;

	if (!tgid_traced(id >> 32))
		return 0;
	s = bpf_map_lookup_elem(&fault_stash, &id);
	if (!s) {
		count_drop(DROP_STASH_MISS);
		return 0;
	}
	account_fault(s->vma, s->flags, s->gup, ret);
	bpf_map_delete_elem(&fault_stash, &id);
	return 0;
}

/*
 * Tracepoint backend (kernels without fentry/kprobes): exceptions:page_fault_user fires once
 * per user-mode #PF in handle_page_fault() (arch/x86/mm/fault.c), before the VMA is looked up.
 * It cannot see GUP faults, retries or errors; the VMA is found with bpf_find_vma().
 */
static long fault_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	account_fault(vma, 0, false, 0);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(fault_count_tp, unsigned long address, struct pt_regs *regs, unsigned long error)
{
	__u32 tgid = current_tgid();
	struct proc_val *pv;

	if (!tgid_traced(tgid))
		return 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), address, fault_vma_cb, NULL, 0)) {
		count_drop(DROP_VMA_LOOKUP);
		pv = proc_get(tgid);
		if (pv)
			__sync_fetch_and_add(&pv->faults, 1);
	}
	return 0;
}
