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
#include "pfn.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* tgid of the loader: its next fork is followed while follow_next_fork is set (check -- CMD),
 * so the child is traced from its first instruction, before exec. */
const volatile __u32 loader_tgid = 0;
__u32 follow_next_fork = 0;

/* ----- process bookkeeping ----- */

/*
 * A new process can get the pid of one that exited while pfnscope ran (pid_max wrapped, or
 * ns_last_pid was set). Rows are keyed by tgid, so without this the new process would add to
 * the old one's `procs` row, exited flag and all, and with --pid/-- cmd filtering an unrelated
 * process could inherit the old one's `traced` entry. The fork tracepoint runs before the child
 * does: the stale entries go, a row that no reader has taken yet is counted as lost, and the
 * new process's row starts with mms_before (include/pfnscope.h).
 */
static __always_inline void forget_exited_proc(__u32 tgid, struct task_struct *child)
{
	struct proc_val *p = bpf_map_lookup_elem(&procs, &tgid), fresh = {};
	__u32 which = SEQ_MM;
	struct mm_val *m;
	__u64 *next, mm;

	if (!p || !p->exited || bpf_map_delete_elem(&procs, &tgid))
		return;
	count_drop(DROP_PID_REUSED);
	mm = (__u64)BPF_CORE_READ(child, mm);	/* verifier_cost, common.bpf.h */
	/*
	 * The old process's VMA rows stay (keyed by tgid, they cannot be told apart by key):
	 * its address spaces got their ids before this fork, the child's (dup_mm() ran already,
	 * its id given now if a fork-copy hook saw it, else later) from here on. The report
	 * tells the earlier process's rows by their mm (src/collect.c collect_report()).
	 */
	m = mm ? bpf_map_lookup_elem(&mms, &mm) : NULL;
	next = bpf_map_lookup_elem(&seqs, &which);
	if (m && m->id)
		fresh.mms_before = m->id - 1;
	else if (next)
		fresh.mms_before = *next;
	if (insert_failed(bpf_map_update_elem(&procs, &tgid, &fresh, BPF_NOEXIST)))
		count_drop(DROP_PROC_MAP_FULL);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(task_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct traced_val tv = { .parent = ptgid };

	if (ptgid == ctgid)			/* a new thread */
		return 0;
	if (!filter_tgids) {
		forget_exited_proc(ctgid, child);
		return 0;
	}
	if (ptgid == loader_tgid && follow_next_fork) {
		tv.parent = 0;
	} else if (!bpf_map_lookup_elem(&traced, &ptgid)) {
		bpf_map_delete_elem(&traced, &ctgid);	/* not followed: a former holder's entry */
		return 0;
	}
	forget_exited_proc(ctgid, child);
	if (bpf_map_update_elem(&traced, &ctgid, &tv, BPF_ANY))
		count_drop(DROP_TRACED_FULL);
	return 0;
}

#define SIGNAL_GROUP_EXIT 0x00000004	/* include/linux/sched/signal.h */

/*
 * sched_process_exit fires in do_exit() after exit_mm(): the thread can take no further fault,
 * so its min_flt/maj_flt are final. Their sum over all threads is what /proc/PID/stat shows.
 * The process has exited when its last thread has: do_exit() counts signal->live down before
 * exit_mm(), so the thread that sees it at 0 is the last. Not the group leader's exit: a
 * leader can leave first (pthread_exit()) while the other threads still fault, and a thread
 * that execs kills the old leader with the process going on. The wait status is what
 * wait_task_zombie() reports: the group exit code after exit_group(), else the leader's.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(task_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct signal_struct *sig = BPF_CORE_READ(p, signal);	/* verifier_cost, common.bpf.h */
	struct task_struct *leader;
	struct proc_val *pv;

	if (!tgid_traced(tgid))
		return 0;
	pv = proc_get(tgid);
	if (!pv)
		return 0;
	__sync_fetch_and_add(&pv->task_minflt, p->min_flt);
	__sync_fetch_and_add(&pv->task_majflt, p->maj_flt);
	__sync_fetch_and_add(&pv->threads_exited, 1);
	if (BPF_CORE_READ(sig, live.counter) == 0) {
		leader = BPF_CORE_READ(p, group_leader);
		pv->exited = 1;
		pv->exit_code = (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT) ?
			BPF_CORE_READ(sig, group_exit_code) : BPF_CORE_READ(leader, exit_code);
		pv->ppid = BPF_CORE_READ(leader, real_parent, tgid);
		bpf_probe_read_kernel_str(pv->comm, sizeof(pv->comm), leader->comm);
		trace_vma(TE_EXIT, NULL, 0, 0, pv->exit_code);
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
static __always_inline void trace_fault(__u64 vma_id, __u64 address, __u64 flags)
{
	struct trace_rec *e = trace_reserve(TE_FAULT);

	if (!e)
		return;
	e->vma_id = vma_id;
	e->addr = address;
	e->count = flags;
	trace_submit(e);
}

static __always_inline struct vma_val *account_fault(struct vm_area_struct *vma, __u64 address,
					  unsigned int flags, bool gup, unsigned int ret)
{
	__u32 tgid = current_tgid();
	unsigned int error_mask;
	struct proc_val *pv;
	struct vma_val *v;
	bool major;

	if (!tgid_traced(tgid))
		return NULL;
	v = vma_get(vma, tgid);
	if (ret & bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_RETRY)) {
		if (v)
			__sync_fetch_and_add(&v->faults_retry, 1);
		return v;
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
		return v;
	}
	major = (ret & bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_MAJOR)) ||
		(flags & bpf_core_enum_value(enum fault_flag, FAULT_FLAG_TRIED));
	pv = proc_get(tgid);
	if (pv)
		__sync_fetch_and_add(&pv->faults, 1);
	count_add(CNT_FAULTS, 1);
	trace_fault(v ? v->id : 0, address, flags);
	if (!v)
		return NULL;
	__sync_fetch_and_add(&v->faults, 1);
	if (major)
		__sync_fetch_and_add(&v->faults_major, 1);
	if (gup)
		__sync_fetch_and_add(&v->faults_gup, 1);
	return v;
}

SEC("fexit/handle_mm_fault")
int BPF_PROG(fault_count_fexit, struct vm_area_struct *vma, unsigned long address,
	     unsigned int flags, struct pt_regs *regs, vm_fault_t ret)
{
	account_fault(vma, address, flags, regs == NULL, ret);
	return 0;
}

/* kprobe backend: the entry stashes the arguments the return needs, per thread */
struct fault_stash {
	struct vm_area_struct *vma;
	__u64 address;
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
	struct fault_stash s = { .vma = vma, .address = address, .flags = flags,
				 .gup = regs == NULL };

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
	account_fault(s->vma, s->address, s->flags, s->gup, ret);
	bpf_map_delete_elem(&fault_stash, &id);
	return 0;
}

/*
 * Tracepoint backend (kernels without fentry/kprobes): exceptions:page_fault_user fires once
 * per user-mode #PF in handle_page_fault() (arch/x86/mm/fault.c), before the VMA is looked up.
 * It cannot see GUP faults, retries or errors; the VMA is found with bpf_find_vma().
 */
/*
 * bpf_find_vma() takes mmap_lock with a trylock and, called with interrupts off as here,
 * releases it through irq_work: microseconds per fault. A per-CPU cache of the last VMA found
 * avoids it while the address space is unchanged: mm->mm_lock_seq (6.4+, per-VMA locking) is
 * odd while a writer holds mmap_lock and moves on every write, the kernel's own test for a
 * lockless VMA lookup. Kernels without it always take the slow path.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);	/* page-aligned: an entry never straddles CPUs */
	__uint(max_entries, 1);			/* one per possible CPU (src/fault.c) */
	__type(key, __u32);
	__type(value, struct vma_cache);
} vma_cache SEC(".maps");

/*
 * This CPU's entry. A plain array indexed by CPU, not a BPF_MAP_TYPE_PERCPU_ARRAY: the verifier
 * inlines both lookups, but the per-CPU one loads the value's address out of the map
 * (array->pptrs[], percpu_array_map_gen_lookup()): one more page on every fault, a page walk
 * on a host whose kernel TLB entries are gone at every #PF (PTI without PCID,
 * docs/kernel-notes.md). On 6.10+ x86-64 bpf_get_smp_processor_id() is inlined too (a
 * per-CPU load of cpu_number).
 */
static __always_inline struct vma_cache *vma_cache_here(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&vma_cache, &cpu);
}

struct mm_struct___seq {
	struct {
		unsigned int sequence;
	} mm_lock_seq;
} __attribute__((preserve_access_index));

/* @mm is a BTF pointer (task->mm of bpf_get_current_task_btf()): a direct load, relocated
 * by CO-RE, costs no helper call (BPF_CORE_READ would be a bpf_probe_read_kernel()). */
static __always_inline bool mm_seq(struct mm_struct *mm, __u32 *seq)
{
	struct mm_struct___seq *ms = (void *)mm;

	if (!bpf_core_field_exists(ms->mm_lock_seq))
		return false;
	*seq = ms->mm_lock_seq.sequence;
	return !(*seq & 1);
}

struct fault_lookup {
	__u64 mm;
	__u64 address;
	__u64 error;
	__u32 seq;
	bool cacheable;
};

/* Moves the cache's pending faults into the rows of its VMA and process. pending is zeroed
 * before the adds: a reader adds the rows first and the cache after (src/state.c), so it can
 * miss a flush in flight for one read, never count it twice. A row gone meanwhile (an agent
 * eviction or fold) takes its pending faults with it. */
static __always_inline void vma_cache_flush(struct vma_cache *c)
{
	__u64 n = c->pending;
	struct proc_val *pv;
	struct vma_val *v;

	if (!n)
		return;
	c->pending = 0;
	v = bpf_map_lookup_elem(&vmas, &c->key);
	if (v)
		__sync_fetch_and_add(&v->faults, n);
	pv = bpf_map_lookup_elem(&procs, &c->key.tgid);
	if (pv)
		__sync_fetch_and_add(&pv->faults, n);
}

/*
 * The faults that grow the main stack find no VMA at their address on the tracepoint backend
 * (the tracepoint fires before lock_mm_and_find_vma() -> expand_stack() extends the VMA down
 * to the page), and a second bpf_find_vma() from the same program is refused (-EBUSY: the
 * first one's mmap_unlock_irq_work is still queued, interrupts being off). So the stack's row
 * is remembered in its address space's `mms` entry when a fault finds it (remember_stack()),
 * and a fault with no VMA below mm->start_stack, within RLIMIT_STACK of it, is charged to that
 * row (stack_growth()): no other VMA holds the address, so the kernel either grows the VMA
 * above it, the stack, or answers SIGSEGV (rare, and not counted in min_flt either).
 *
 * That holds because the top-down layout keeps the mmap area at least max(RLIMIT_STACK,
 * 128 MiB) below the stack (mmap_base(), arch/x86/mm/mmap.c). An unlimited RLIMIT_STACK
 * selects the legacy bottom-up layout instead (mmap_is_legacy()), and the window would then
 * reach every mapping and the NULL page: an access to 0x10000 under `ulimit -s unlimited`,
 * answered with SIGSEGV, moved the stack row's start there (a 128 TiB "stack"). An unlimited
 * stack is given the 128 MiB window; growth beyond it is counted as vma_lookup_no_vma.
 */
#define VM_GROWSDOWN 0x100	/* include/linux/mm.h */
#define RLIMIT_STACK 3		/* include/uapi/asm-generic/resource.h */
#define RLIM_INFINITY (~0UL)	/* include/uapi/linux/resource.h */
#define STACK_WINDOW_UNLIMITED (128UL << 20)	/* MIN_GAP's 128 MiB, arch/x86/mm/mmap.c */

static __always_inline void remember_stack(struct task_struct *task, struct vm_area_struct *vma,
					   struct vma_val *v, __u64 mm)
{
	__u64 start_stack;
	struct mm_val *m;

	if (!(v->vm_flags & VM_GROWSDOWN))	/* most faults: one test on a field already read */
		return;
	start_stack = BPF_CORE_READ(task, mm, start_stack);	/* verifier_cost, common.bpf.h */
	if (start_stack < v->vm_start || start_stack >= v->vm_end)
		return;
	m = bpf_map_lookup_elem(&mms, &mm);
	if (m && m->stack_cookie != (__u64)vma) {
		m->stack_tgid = task->tgid;
		m->stack_anchor = v->vm_end;	/* anchor_of() a VM_GROWSDOWN VMA */
		m->stack_cookie = (__u64)vma;
	}
}

static __always_inline struct vma_val *stack_growth(struct task_struct *task,
						  struct mm_struct *mm, __u64 address)
{
	__u64 start_stack = mm->start_stack, key_mm = (__u64)mm;
	__u64 window = BPF_CORE_READ(task, signal, rlim[RLIMIT_STACK].rlim_cur); /* verifier_cost */
	struct vma_key key = {};
	struct mm_val *m;
	struct vma_val *v;

	if (window == RLIM_INFINITY)
		window = STACK_WINDOW_UNLIMITED;
	if (address >= start_stack || start_stack - address > window)
		return NULL;
	m = bpf_map_lookup_elem(&mms, &key_mm);
	if (!m || !m->stack_cookie || m->stack_tgid != task->tgid)
		return NULL;
	key.tgid = m->stack_tgid;
	key.vm_start = m->stack_anchor;
	key.vma_cookie = m->stack_cookie;
	v = bpf_map_lookup_elem(&vmas, &key);
	if (!v)
		return NULL;
	__sync_fetch_and_add(&v->faults, 1);
	if ((address & ~0xfffULL) < v->vm_start)	/* where expand_stack() will take it */
		v->vm_start = address & ~0xfffULL;
	return v;
}

static long fault_vma_cb(struct task_struct *task, struct vm_area_struct *vma,
			 struct fault_lookup *fl)
{
	struct vma_val *v = account_fault(vma, fl->address, fl->error, false, 0);
	struct vma_cache *c;

	if (v)
		remember_stack(task, vma, v, fl->mm);
	c = vma_cache_here();
	/* no row (table full, not traced): every fault takes this path and counts */
	if (!c || !fl->cacheable || !v)
		return 0;
	c->mm = fl->mm;
	c->seq = fl->seq;
	c->start = v->vm_start;		/* refreshed by vma_get() just now */
	c->end = v->vm_end;
	c->key.tgid = current_tgid();
	c->key.vm_start = anchor_of(v->vm_start, v->vm_end, v->vm_flags);
	c->key.vma_cookie = (__u64)vma;
	c->row_id = v->id;
	c->pending = 0;
	c->trace = !!(trace_mask & (1u << TE_FAULT));
	c->valid = 1;
	return 0;
}

/*
 * A fault the cache does not hold: the VMA is looked up (bpf_find_vma()) and the cache refilled.
 * A subprogram of its own, so that the hit path in fault_count_addr() builds nothing on the
 * stack for it. @seq is mm->mm_lock_seq, or SEQ_UNCACHEABLE (a writer holds mmap_lock, or the
 * kernel has no mm_lock_seq).
 */
#define SEQ_UNCACHEABLE (~0ULL)

static __noinline int fault_count_miss(struct task_struct *task, struct vma_cache *c,
				       __u64 address, __u64 error, __u64 seq)
{
	struct mm_struct *mm = task->mm;
	struct fault_lookup fl = { .mm = (__u64)mm, .address = address, .error = error,
				   .seq = seq, .cacheable = seq != SEQ_UNCACHEABLE };
	__u32 tgid = task->tgid;
	struct proc_val *pv;
	long err;

	if (!tgid_traced(tgid))
		return 0;
	vma_cache_flush(c);
	c->valid = 0;
	err = bpf_find_vma(task, address, fault_vma_cb, &fl, 0);
	if (err) {
		/*
		 * -ENOENT: no VMA holds the address at fault entry. The main stack growing takes
		 * this path on every new page: the fault is below the stack VMA's vm_start, and
		 * do_user_addr_fault() -> lock_mm_and_find_vma() -> expand_stack() extends it
		 * afterwards. Else an access the kernel answers with SIGSEGV. -EBUSY: mmap_lock
		 * contended, or this CPU's mmap_unlock_irq_work of an earlier lookup still queued.
		 */
		struct vma_val *v = err == -ENOENT ? stack_growth(task, mm, address) : NULL;

		if (!v)
			count_drop(err == -ENOENT ? DROP_VMA_NONE : DROP_VMA_LOOKUP);
		pv = proc_get(tgid);
		if (pv)
			__sync_fetch_and_add(&pv->faults, 1);
		count_add(CNT_FAULTS, 1);
		trace_fault(v ? v->id : 0, address, error);
	}
	return 0;
}

/*
 * Counts the fault if this CPU's cache holds its VMA: the same VMA as the last fault here,
 * the address space unchanged since (@seq, mm->mm_lock_seq now). A hit touches nothing but the
 * entry (one cache line), the task and the mm: no .rodata (the tgid filter passed when the
 * entry was filled, trace_mask is copied into it), no counters (the entry's own `hits` stands
 * in for CNT_FAULTS, include/vma.h), nothing on the stack.
 */
static __always_inline bool fault_cache_hit(struct task_struct *task, struct vma_cache *c,
					    __u64 address, __u64 error, __u32 seq)
{
	if (!c->valid || c->mm != (__u64)task->mm || c->seq != seq || address < c->start ||
	    address >= c->end || c->key.tgid != task->tgid)
		return false;
	c->pending++;
	c->hits++;
	if (c->trace)
		trace_fault(c->row_id, address, error);
	return true;
}

static __always_inline int fault_count_addr(unsigned long address, unsigned long error)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct vma_cache *c = vma_cache_here();
	__u32 seq;

	if (!c)
		return 0;
	if (!mm_seq(task->mm, &seq))
		return fault_count_miss(task, c, address, error, SEQ_UNCACHEABLE);
	if (fault_cache_hit(task, c, address, error, seq))
		return 0;
	return fault_count_miss(task, c, address, error, seq);
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(fault_count_tp, unsigned long address, struct pt_regs *regs, unsigned long error)
{
	return fault_count_addr(address, error);
}

/*
 * exceptions:page_fault_kernel fires for a #PF taken in kernel mode (trace_page_fault_entries(),
 * arch/x86/mm/fault.c): on a user address that is the kernel touching user memory for the
 * task, copy_to_user() from read() into a fresh buffer, say, and do_user_addr_fault() ->
 * handle_mm_fault() counts it in the task's min_flt like any other. Not counted, as the
 * kernel does not count them: a kernel address (the top bit set on x86-64), a task without an
 * address space, and a fault with page faults disabled (pagefault_disable(): the *_nofault and
 * *_inatomic accessors), which do_user_addr_fault() sends to the exception fixup without
 * handling (faulthandler_disabled()); the caller then usually faults the page in again with
 * faults enabled, and that one counts.
 */
struct task_struct___pfd {
	int pagefault_disabled;
} __attribute__((preserve_access_index));

/*
 * What is left is a fault like a user-mode one: fault_count_ktp counts a hit of the VMA cache
 * itself (fault_cache_hit(), a few instructions) and tail-calls fault_count_tp for the rest
 * (slot 0, set by src/fault.c between load and attach) instead of holding a second copy of it:
 * the two tracepoints are one event class (x86_exceptions), their programs' contexts the same
 * three arguments. That copy cost 3.5 ms of BPF_PROG_LOAD in the agent and 6-8 ms in trace
 * (on 6.18 a quarter of bpf_check() is instruction patching, bpf_patch_insn_data(), and a
 * quarter the by-name lookups of "__safe_trusted" types through all 126,700 BTF types that
 * each pointer load makes, btf_nested_type_is_trusted()), and 14.6 KB of kernel memory.
 * Tail calls between these two tp_btf programs load and run on 6.1 and 6.18.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fault_tail SEC(".maps");

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(fault_count_ktp, unsigned long address, struct pt_regs *regs, unsigned long error)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct___pfd *t = (void *)task;
	struct vma_cache *c;
	__u32 seq;

	if ((long)address < 0 || !task->mm)
		return 0;
	if (bpf_core_field_exists(t->pagefault_disabled) && t->pagefault_disabled)
		return 0;
	/* a hit needs no tail call (one page fewer: the prog array's); a miss is fault_count_tp's */
	c = vma_cache_here();
	if (c && mm_seq(task->mm, &seq) && fault_cache_hit(task, c, address, error, seq))
		return 0;
	bpf_tail_call(ctx, &fault_tail, 0);
	count_drop(DROP_TAIL_CALL);	/* an empty slot: the fault is not counted */
	return 0;
}

/* ----- fault-return: the page a vm_ops->fault handler hands the VM ----- */

/*
 * __do_fault() (mm/memory.c) calls vma->vm_ops->fault(vmf); on success the handler's page is
 * in vmf->page. Handlers that insert a pfn themselves (vmf_insert_pfn, DAX) return
 * VM_FAULT_NOPAGE and are seen by pfn-insert instead.
 */
static __always_inline void fault_return(struct vm_fault *vmf, unsigned int ret)
{
	unsigned int skip = bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_NOPAGE) |
			    bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_RETRY) |
			    bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_OOM) |
			    bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGBUS) |
			    bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGSEGV) |
			    bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON) |
			    bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON_LARGE);
	struct vm_area_struct *vma;
	struct page *page;
	__u32 tgid = current_tgid(), ref = 0;
	__u64 prot;
	__u8 st;

	if ((ret & skip) || !tgid_traced(tgid))
		return;
	page = BPF_CORE_READ(vmf, page);
	vma = BPF_CORE_READ(vmf, vma);
	if (!page || !vma)
		return;
	st = page_state(page, &ref);
	/* do_set_pte()/set_pte_range() build the pte from vma->vm_page_prot */
	prot = BPF_CORE_READ(vma, vm_page_prot.pgprot);
	pfn_record(vma, tgid, SRC_FAULT_RETURN, page_to_pfn(page), st, ref, prot, prot, true, 1);
}

SEC("fexit/__do_fault")
int BPF_PROG(fault_return_fexit, struct vm_fault *vmf, vm_fault_t ret)
{
	fault_return(vmf, ret);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} do_fault_stash SEC(".maps");

SEC("kprobe/__do_fault")
int BPF_KPROBE(fault_return_kprobe, struct vm_fault *vmf)
{
	__u64 id = bpf_get_current_pid_tgid(), v = (__u64)vmf;

	if (!tgid_traced(id >> 32))
		return 0;
	if (bpf_map_update_elem(&do_fault_stash, &id, &v, BPF_ANY))
		count_drop(DROP_STASH_FULL);
	return 0;
}

SEC("kretprobe/__do_fault")
int BPF_KRETPROBE(fault_return_kretprobe, vm_fault_t ret)
{
	__u64 id = bpf_get_current_pid_tgid(), *v;

	if (!tgid_traced(id >> 32))
		return 0;
	v = bpf_map_lookup_elem(&do_fault_stash, &id);
	if (!v) {
		count_drop(DROP_STASH_MISS);
		return 0;
	}
	fault_return((struct vm_fault *)*v, ret);
	bpf_map_delete_elem(&do_fault_stash, &id);
	return 0;
}

/* ----- pte-install: the fault-handler page made it into a pte ----- */

static __always_inline void pte_install(struct vm_fault *vmf, __u64 nr)
{
	__u32 tgid = current_tgid();
	struct vma_val *v;

	if (!tgid_traced(tgid))
		return;
	v = vma_get(BPF_CORE_READ(vmf, vma), tgid);
	if (v)
		__sync_fetch_and_add(&v->ptes_installed, nr);
}

/* do_set_pte(vmf, page, addr) up to 6.5 */
SEC("fentry/do_set_pte")
int BPF_PROG(pte_install_fentry, struct vm_fault *vmf)
{
	pte_install(vmf, 1);
	return 0;
}

SEC("kprobe/do_set_pte")
int BPF_KPROBE(pte_install_kprobe, struct vm_fault *vmf)
{
	pte_install(vmf, 1);
	return 0;
}

/* set_pte_range(vmf, folio, page, nr, addr) since 6.6; nr is ctx[3] */
SEC("fentry/set_pte_range")
int pte_install_range_fentry(unsigned long long *ctx)
{
	pte_install((struct vm_fault *)ctx[0], ctx[3]);
	return 0;
}

SEC("kprobe/set_pte_range")
int BPF_KPROBE(pte_install_range_kprobe, struct vm_fault *vmf, void *folio, void *page,
	       unsigned int nr)
{
	pte_install(vmf, nr);
	return 0;
}

/* ----- pfn-insert: insert_pfn(vma, addr, pfn, prot, mkwrite) ----- */

/*
 * Every vmf_insert_pfn*() and vmf_insert_mixed*() ends in insert_pfn() (mm/memory.c). Its
 * prot is the one installed (vmf_insert_pfn_prot() applied track_pfn_insert()'s PAT
 * adjustment before the call); the driver's request is vma->vm_page_prot. pgprot_t and pfn_t
 * are passed by value: read them from ctx.
 */
static __always_inline void pfn_insert(struct vm_area_struct *vma, __u64 raw_pfn,
				       __u64 inst_prot)
{
	__u32 tgid = current_tgid(), ref = 0;
	__u64 pfn = raw_pfn;
	__u8 st, tflags = 0;

	if (!tgid_traced(tgid))
		return;
	if (bpf_core_type_exists(pfn_t___old)) {
		pfn = raw_pfn & ~PFN_T_FLAGS_MASK;
		if (raw_pfn & PFN_T_DEV)
			tflags |= PFNST_PFN_DEV;
		if (raw_pfn & PFN_T_MAP)
			tflags |= PFNST_PFN_MAP;
	}
	st = page_state(pfn_to_page(pfn), &ref) | tflags;
	pfn_record(vma, tgid, SRC_PFN_INSERT, pfn, st, ref, BPF_CORE_READ(vma, vm_page_prot.pgprot),
		   inst_prot, true, 1);
}

SEC("fentry/insert_pfn")
int pfn_insert_fentry(unsigned long long *ctx)
{
	pfn_insert((struct vm_area_struct *)ctx[0], ctx[2], ctx[3]);
	return 0;
}

SEC("kprobe/insert_pfn")
int BPF_KPROBE(pfn_insert_kprobe, struct vm_area_struct *vma, unsigned long addr,
	       unsigned long pfn, unsigned long prot)
{
	pfn_insert(vma, pfn, prot);
	return 0;
}

/* ----- pfn-remap: remap_pfn_range(vma, addr, pfn, size, prot) at mmap time ----- */

/*
 * remap_pfn_range() calls track_pfn_remap(vma, &prot, ...) (x86 PAT: the memtype reserved for
 * the range may replace the requested cache mode) and then fills the ptes with the adjusted
 * prot. fexit of track_pfn_remap stashes that installed prot per thread; fexit of
 * remap_pfn_range records requested (its own argument) and installed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} remap_prot_stash SEC(".maps");

SEC("fexit/track_pfn_remap")
int pfn_track_fexit(unsigned long long *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), prot = 0;

	if (!tgid_traced(id >> 32))
		return 0;
	/* the pgprot_t * argument, read after the call adjusted it */
	if (bpf_probe_read_kernel(&prot, sizeof(prot), (void *)ctx[1]) == 0 &&
	    bpf_map_update_elem(&remap_prot_stash, &id, &prot, BPF_ANY))
		count_drop(DROP_STASH_FULL);
	return 0;
}

static __always_inline void pfn_remap(struct vm_area_struct *vma, __u64 pfn, __u64 size,
				      __u64 req_prot)
{
	__u64 id = bpf_get_current_pid_tgid(), *inst;
	__u32 tgid = id >> 32, ref = 0;
	struct vma_val *v;
	bool known = false;
	__u64 inst_prot = 0;
	__u8 st;

	if (!tgid_traced(tgid))
		return;
	inst = bpf_map_lookup_elem(&remap_prot_stash, &id);
	if (inst) {
		inst_prot = *inst;
		known = true;
		bpf_map_delete_elem(&remap_prot_stash, &id);
	}
	/* remap_pfn_range_notrack() sets VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP, and a
	 * remapped VMA takes no fault that would refresh them: record them (the kprobe entry
	 * runs before they are set) */
	v = vma_get(vma, tgid);
	if (v)
		v->vm_flags |= 0x4000 | 0x400 | 0x40000 | 0x4000000;
	/* the state of the first page stands for the range */
	st = page_state(pfn_to_page(pfn), &ref);
	pfn_record(vma, tgid, SRC_PFN_REMAP, pfn, st, ref, req_prot, inst_prot, known, size >> 12);
}

SEC("fexit/remap_pfn_range")
int pfn_remap_fexit(unsigned long long *ctx)
{
	if (ctx[5] == 0)	/* int return value: 0 on success */
		pfn_remap((struct vm_area_struct *)ctx[0], ctx[2], ctx[3], ctx[4]);
	return 0;
}

SEC("kprobe/remap_pfn_range")
int BPF_KPROBE(pfn_remap_kprobe, struct vm_area_struct *vma, unsigned long addr,
	       unsigned long pfn, unsigned long size, unsigned long prot)
{
	pfn_remap(vma, pfn, size, prot);
	return 0;
}

/* ----- page-insert: vm_insert_page(vma, addr, page) ----- */

static __always_inline void page_insert(struct vm_area_struct *vma, struct page *page)
{
	__u32 tgid = current_tgid(), ref = 0;
	__u64 prot;
	__u8 st;

	if (!tgid_traced(tgid))
		return;
	st = page_state(page, &ref);
	prot = BPF_CORE_READ(vma, vm_page_prot.pgprot);
	pfn_record(vma, tgid, SRC_PAGE_INSERT, page_to_pfn(page), st, ref, prot, prot, true, 1);
}

/* page_to_pfn() needs the page pointer as a number (ctx_arg_u64) */
SEC("fentry/vm_insert_page")
int vm_insert_page_fentry(unsigned long long *ctx)
{
	page_insert((struct vm_area_struct *)ctx[0], (struct page *)ctx_arg_u64(ctx, 2));
	return 0;
}

SEC("kprobe/vm_insert_page")
int BPF_KPROBE(vm_insert_page_kprobe, struct vm_area_struct *vma, unsigned long addr,
	       struct page *page)
{
	page_insert(vma, page);
	return 0;
}

/* ----- vma-iter: snapshot of the traced processes' special VMAs ----- */

/*
 * Runs on demand (bpf_iter_create + read) over every task's VMAs: registers the
 * VM_PFNMAP/VM_MIXEDMAP/VM_IO VMAs of traced processes in `vmas`, so that mappings that take
 * no fault (remap_pfn_range fills them at mmap time) are listed on kernels where the pfn hooks
 * cannot attach. The iterator visits each thread: only the group leader is used.
 */
SEC("iter/task_vma")
int vma_iter(struct bpf_iter__task_vma *ctx)
{
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct vma_val *v;
	__u64 flags;

	if (!task || !vma || task->pid != task->tgid || !tgid_traced(task->tgid))
		return 0;
	flags = BPF_CORE_READ(vma, vm_flags);
	if (!(flags & (0x400 | 0x4000 | 0x10000000)))	/* VM_PFNMAP | VM_IO | VM_MIXEDMAP */
		return 0;
	v = vma_get_task(vma, task->tgid, task);
	if (v)
		v->seen_by_iter = 1;
	return 0;
}
