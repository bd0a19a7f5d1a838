// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown and RSS per VMA: pages entering a VMA's RSS (rmap add, fork copy) and leaving it
 * (rmap remove), page-table teardown, kernel-reported bad ptes, and the address space's end.
 *
 * Every RSS-counted page mapping goes through the rmap: the mm counter is bumped next to
 * page_add_{new_anon,anon,file}_rmap() and dropped next to page_remove_rmap() (zap_pte_range,
 * wp_page_copy, try_to_unmap_one), and the member is mm_counter(page) at that moment. The one
 * path that maps pages without an rmap call is fork: copy_present_pte() duplicates the rmap
 * inline, so the child's VMA is credited with the parent's net RSS at copy_page_range() exit.
 * These are the 6.1 rmap functions; 6.6+ renamed them to folio_*_rmap_ptes().
 *
 * The maps vmas, procs, traced and drops are the fault object's (bpf_map__reuse_fd).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vma.bpf.h"
#include "page.bpf.h"
#include "rss.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* x86 HPAGE_PMD_NR: a compound (PMD-mapped THP) rmap call maps 512 pages */
#define PMD_PAGES 512
#define RMAP_COMPOUND 0x2	/* rmap_t BIT(1), include/linux/rmap.h (6.1) */

/* the loader's child before exec: its mm is a copy of the loader's, never seen being filled */
const volatile __u32 loader_tgid = 0;

/* The row of @vma under its owner, if the owner is traced. */
static __always_inline struct vma_val *owner_row(struct vm_area_struct *vma)
{
	__u32 tgid = vma_owner_tgid(vma);

	if (!tgid_traced(tgid))
		return NULL;
	return vma_get_task(vma, tgid, bpf_get_current_task_btf());
}

static __always_inline void rss_move(struct vm_area_struct *vma, struct page *page, __u32 member,
				     __s64 nr)
{
	struct vma_val *v = owner_row(vma);
	unsigned long flags;

	if (!v || member >= RSS_MEMBERS)
		return;
	if (nr > 0) {
		__sync_fetch_and_add(&v->rss_in[member], nr);
		if (page && !page_flags(page, &flags) &&
		    flag_set(flags, bpf_core_enum_value(enum pageflags, PG_reserved)))
			__sync_fetch_and_add(&v->rss_in_reserved, nr);
	} else {
		__sync_fetch_and_add(&v->rss_out[member], -nr);
	}
}

static __always_inline __s64 compound_pages(struct page *page)
{
	unsigned long flags;

	if (!page_flags(page, &flags) && flag_set(flags, bpf_core_enum_value(enum pageflags, PG_head)))
		return PMD_PAGES;
	return 1;
}

/* page_add_new_anon_rmap(page, vma, address): compound = PageCompound(page) */
SEC("fentry/page_add_new_anon_rmap")
int rmap_add_new_anon(unsigned long long *ctx)
{
	struct page *page = (struct page *)ctx_arg_u64(ctx, 0);

	rss_move((struct vm_area_struct *)ctx[1], page, RSS_ANON, compound_pages(page));
	return 0;
}

/* page_add_anon_rmap(page, vma, address, rmap_t flags) */
SEC("fentry/page_add_anon_rmap")
int rmap_add_anon(unsigned long long *ctx)
{
	struct page *page = (struct page *)ctx_arg_u64(ctx, 0);

	rss_move((struct vm_area_struct *)ctx[1], page, RSS_ANON,
		 (ctx[3] & RMAP_COMPOUND) ? PMD_PAGES : 1);
	return 0;
}

/* page_add_file_rmap(page, vma, compound) */
SEC("fentry/page_add_file_rmap")
int rmap_add_file(unsigned long long *ctx)
{
	struct page *page = (struct page *)ctx_arg_u64(ctx, 0);

	rss_move((struct vm_area_struct *)ctx[1], page, page_member(page),
		 (ctx[2] & 0xff) ? PMD_PAGES : 1);
	return 0;
}

/* page_remove_rmap(page, vma, compound): the member is read before the rmap is dropped */
SEC("fentry/page_remove_rmap")
int rmap_remove(unsigned long long *ctx)
{
	struct page *page = (struct page *)ctx_arg_u64(ctx, 0);

	rss_move((struct vm_area_struct *)ctx[1], page, page_member(page),
		 (ctx[2] & 0xff) ? -PMD_PAGES : -1);
	return 0;
}

struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* 6.1 mm counters (atomics, exact for a child under construction or an exited mm); false on
 * kernels with percpu RSS counters (6.2+). */
static __always_inline bool mm_rss_read(struct mm_struct *mm, __s64 *out)
{
	struct mm_struct___old *mo = (void *)mm;

	if (!bpf_core_type_exists(struct mm_rss_stat___old))
		return false;
	for (int i = 0; i < 4; i++)
		out[i] = BPF_CORE_READ(mo, rss_stat.count[i].counter);
	return true;
}

/*
 * A CPU's per-CPU offset (__per_cpu_offset[cpu]) without kallsyms, which lacks data symbols
 * on kernels built without KALLSYMS_ALL (the 6.18 host: typed ksyms such as this_cpu_off do
 * not resolve there): a per-CPU array's value on that CPU (bpf_map_lookup_percpu_elem(),
 * 5.19+) minus the array's raw per-CPU pointer (struct bpf_array, kernel/bpf/arraymap.c).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_anchor SEC(".maps");

#define MAX_CPUS 4096
/* libbpf_num_possible_cpus(), set by the loader: the verifier bounds the loop below by it */
const volatile __u32 nr_cpus = 1;

/* a pointer's value as a plain number (root may see it; never leaves the kernel) */
static __always_inline __u64 ptr_value(const void *p)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

/* @fbc's count plus what each CPU has not folded in yet: percpu_counter_sum() without its
 * lock (lib/percpu_counter.c). The per-CPU parts are s32 at fbc->counters + the CPU's
 * offset. */
static __always_inline __s64 percpu_counter_sum_nolock(struct percpu_counter *fbc)
{
	struct bpf_array *anchor = (void *)&cpu_anchor;
	__u64 counters = (__u64)BPF_CORE_READ(fbc, counters), pptr = 0;
	__s64 sum = BPF_CORE_READ(fbc, count);
	__u32 zero = 0;

	if (bpf_probe_read_kernel(&pptr, sizeof(pptr), (void *)(ptr_value(anchor) +
				  bpf_core_field_offset(struct bpf_array, pptrs))) || !pptr)
		return sum;
	for (__u32 cpu = 0; cpu < nr_cpus && cpu < MAX_CPUS; cpu++) {
		void *mine = bpf_map_lookup_percpu_elem(&cpu_anchor, &zero, cpu);
		__s32 part = 0;

		if (!mine)	/* past nr_cpu_ids */
			break;
		if (!bpf_probe_read_kernel(&part, sizeof(part),
					   (void *)(counters + ptr_value(mine) - pptr)))
			sum += part;
	}
	return sum;
}

/* The mm counters of @mm now: 6.1's atomics, or 6.2+'s per-CPU counters summed, which is
 * what /proc/PID/status prints on 6.16+ (task_mem() -> get_mm_counter_sum()). */
static __always_inline void mm_counters_now(struct mm_struct *mm, __s64 *out)
{
	if (mm_rss_read(mm, out))
		return;
#pragma unroll	/* a constant index into the BTF pointer's array */
	for (int i = 0; i < RSS_MEMBERS; i++)
		out[i] = percpu_counter_sum_nolock(&mm->rss_stat[i]);
}

/*
 * RSS of every traced process, read from the kernel's counters when asked (the agent, each
 * interval) instead of on every change: the agent needs no kmem:rss_stat program, whose run
 * on every fault was most of its hot-path cost. One record per thread-group leader.
 */
/*
 * Run once after every hook is attached (zap_seed_mms()): each address space alive now had
 * pages enter before pfnscope saw them, so its RSS cannot net to zero at exit. One born later
 * (fork, exec) is seen from its birth. flags shares an 8-byte word with tgid (mm_val): a
 * 64-bit atomic or, as BPF has 32-bit atomics only with -mcpu=v3.
 */
static long mark_unobserved(struct bpf_map *map, __u64 *key, struct mm_val *m, void *ctx)
{
	__sync_fetch_and_or((__u64 *)&m->tgid, (__u64)MM_UNOBSERVED << 32);
	return 0;
}

SEC("iter/task")
int mm_seed(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct mm_struct *mm;
	struct mm_val *m;

	/* first, every row made while the hooks were being attached, gone processes included:
	 * one that lived and died in that window left pages it was never seen taking */
	if (ctx->meta->seq_num == 0)
		bpf_for_each_map_elem(&mms, mark_unobserved, NULL, 0);
	if (!task || task->pid != task->tgid || !tgid_traced(task->tgid))
		return 0;
	mm = BPF_CORE_READ(task, mm);	/* a value only: see verifier_cost in common.bpf.h */
	if (!mm)
		return 0;
	m = mm_get((__u64)mm, task->tgid);
	if (m)
		__sync_fetch_and_or((__u64 *)&m->tgid, (__u64)MM_UNOBSERVED << 32);
	return 0;
}

SEC("iter/task")
int rss_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct rss_sample r = {};
	struct mm_struct *mm;

	if (!task || task->pid != task->tgid || !tgid_traced(task->tgid))
		return 0;
	mm = task->mm;
	if (!mm)	/* a kernel thread, or past exit_mm() */
		return 0;
	r.tgid = task->tgid;
	mm_counters_now(mm, r.pages);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* kprobe backend: the same four, arguments from registers */
SEC("kprobe/page_add_new_anon_rmap")
int BPF_KPROBE(rmap_add_new_anon_kprobe, struct page *page, struct vm_area_struct *vma)
{
	rss_move(vma, page, RSS_ANON, compound_pages(page));
	return 0;
}

SEC("kprobe/page_add_anon_rmap")
int BPF_KPROBE(rmap_add_anon_kprobe, struct page *page, struct vm_area_struct *vma,
	       unsigned long address, unsigned int flags)
{
	rss_move(vma, page, RSS_ANON, (flags & RMAP_COMPOUND) ? PMD_PAGES : 1);
	return 0;
}

SEC("kprobe/page_add_file_rmap")
int BPF_KPROBE(rmap_add_file_kprobe, struct page *page, struct vm_area_struct *vma, bool compound)
{
	rss_move(vma, page, page_member(page), compound ? PMD_PAGES : 1);
	return 0;
}

SEC("kprobe/page_remove_rmap")
int BPF_KPROBE(rmap_remove_kprobe, struct page *page, struct vm_area_struct *vma, bool compound)
{
	rss_move(vma, page, page_member(page), compound ? -PMD_PAGES : -1);
	return 0;
}

/*
 * copy_page_range(dst_vma, src_vma) copies the parent's present ptes into the child (fork, in
 * the parent's context) with the rmap duplicated inline, and adds what it copied to the
 * child's mm counters (add_mm_rss_vec() in copy_pte_range()). The child's VMA enters with that
 * counter delta, exact; where the counters cannot be read, with the parent VMA's net RSS.
 */
static __always_inline void fork_copied(struct vm_area_struct *dst, struct vm_area_struct *src,
					int ret);

SEC("fexit/copy_page_range")
int BPF_PROG(fork_copy, struct vm_area_struct *dst, struct vm_area_struct *src, int ret)
{
	fork_copied(dst, src, ret);
	return 0;
}

/* kprobe backend: the entry stashes (dst, src) for the return */
struct copy_args {
	__u64 dst, src;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct copy_args);
} copy_stash SEC(".maps");

SEC("kprobe/copy_page_range")
int BPF_KPROBE(fork_copy_kprobe, struct vm_area_struct *dst, struct vm_area_struct *src)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct copy_args a = { (__u64)dst, (__u64)src };

	if (tgid_traced(id >> 32) && bpf_map_update_elem(&copy_stash, &id, &a, BPF_ANY))
		count_drop(DROP_STASH_FULL);
	return 0;
}

SEC("kretprobe/copy_page_range")
int BPF_KRETPROBE(fork_copy_kretprobe, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct copy_args *a = bpf_map_lookup_elem(&copy_stash, &id);

	if (!a)
		return 0;
	fork_copied((struct vm_area_struct *)a->dst, (struct vm_area_struct *)a->src, ret);
	bpf_map_delete_elem(&copy_stash, &id);
	return 0;
}

static __always_inline void fork_copied(struct vm_area_struct *dst, struct vm_area_struct *src,
					int ret)
{
	/* copy_process() runs copy_mm() before it assigns the child's pid and tgid: the child's
	 * rows are keyed with tgid 0 here and given to their owner in userspace, through `mms`
	 * (whose tgid the sched_process_fork program sets) */
	__u32 ptgid = vma_owner_tgid(src);
	struct mm_struct *cmm_p = BPF_CORE_READ(dst, vm_mm);
	__u64 cmm = (__u64)cmm_p, pmm = (__u64)BPF_CORE_READ(src, vm_mm);
	struct vma_key pk = {
		.tgid = ptgid, .vm_start = vma_anchor(src), .vma_cookie = (__u64)src,
	};
	__s64 now[4] = {}, delta[4] = {};
	struct mm_val *cm, *pm;
	struct vma_val *pv, *cv;

	if (ret || !tgid_traced(ptgid))
		return;
	cm = mm_get(cmm, 0);
	if (!cm)
		return;
	pm = bpf_map_lookup_elem(&mms, &pmm);
	if (mm_rss_read(cmm_p, now)) {
		for (int m = 0; m < 4; m++) {
			delta[m] = now[m] - cm->fork_rss_seen[m];
			cm->fork_rss_seen[m] = now[m];
		}
	} else {
		if (ptgid == loader_tgid || (pm && (pm->flags & MM_UNOBSERVED)))
			cm->flags |= MM_UNOBSERVED;
		pv = bpf_map_lookup_elem(&vmas, &pk);
		if (!pv)
			return;
		for (int m = 0; m < RSS_MEMBERS; m++)
			delta[m] = pv->rss_in[m] - pv->rss_out[m];
	}
	if (!delta[0] && !delta[1] && !delta[2] && !delta[3])
		return;
	cv = vma_get_task(dst, 0, bpf_get_current_task_btf());
	if (!cv)
		return;
	for (int m = 0; m < RSS_MEMBERS; m++)
		if (delta[m] > 0)
			__sync_fetch_and_add(&cv->rss_in[m], delta[m]);
	return;
}

/* ----- exec's stack move ----- */

/*
 * exec builds the new stack VMA at STACK_TOP_MAX (__bprm_mm_init()) and copies the arguments
 * into it (copy_strings(): GUP faults, rmap adds on that row). setup_arg_pages() then moves it
 * to its randomised place (6.1: shift_arg_pages(); 6.7+: relocate_vma_down()), moving the
 * ptes with move_page_tables() and no rmap call. The stack's row is keyed by vm_end, which
 * moves, so its pages would leave from another row than the one they entered, and the old row
 * would outlive the VMA (vm_area_free() retires rows by the current key), ready to be
 * continued by a later stack VMA of the same process at the same slab address. The row
 * follows the VMA instead: the entry notes the old key, the return moves the row.
 */
struct stack_move {
	__u64 vma, anchor;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct stack_move);
} stack_stash SEC(".maps");

static __always_inline void stack_move_begin(struct linux_binprm *bprm)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct vm_area_struct *vma = BPF_CORE_READ(bprm, vma);
	struct stack_move sm = { (__u64)vma, 0 };

	if (!vma || !tgid_traced(vma_owner_tgid(vma)))
		return;
	sm.anchor = vma_anchor(vma);
	if (bpf_map_update_elem(&stack_stash, &id, &sm, BPF_ANY))
		count_drop(DROP_STASH_FULL);
}

static __always_inline void stack_move_end(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stack_move *sm = bpf_map_lookup_elem(&stack_stash, &id);
	struct vm_area_struct *vma;
	struct vma_key from, to;
	struct vma_val *v, *w;
	__u32 tgid;
	long err;

	if (!sm)
		return;
	vma = (struct vm_area_struct *)sm->vma;
	tgid = vma_owner_tgid(vma);
	from = (struct vma_key){ .tgid = tgid, .vm_start = sm->anchor, .vma_cookie = sm->vma };
	to = from;
	to.vm_start = vma_anchor(vma);
	bpf_map_delete_elem(&stack_stash, &id);
	if (to.vm_start == from.vm_start || !(v = bpf_map_lookup_elem(&vmas, &from)))
		return;
	v->vm_start = BPF_CORE_READ(vma, vm_start);
	v->vm_end = BPF_CORE_READ(vma, vm_end);
	w = bpf_map_lookup_elem(&vmas, &to);
	if (w) {	/* touched at its new place already: one row */
		__sync_fetch_and_add(&w->faults, v->faults);
		__sync_fetch_and_add(&w->faults_gup, v->faults_gup);
		vma_merge_into(w, v, &from);
		return;
	}
	err = bpf_map_update_elem(&vmas, &to, v, BPF_NOEXIST);
	if (err) {		/* the row stays where it was */
		if (insert_failed(err))
			count_drop(DROP_VMA_MAP_FULL);
		return;
	}
	bpf_map_delete_elem(&vmas, &from);
	v = bpf_map_lookup_elem(&vmas, &to);
	if (!v)
		return;
	/* named when exec made it: no [stack] yet (mm->start_stack is set here) and the old
	 * program's comm (begin_new_exec() has set the new one by now) */
	vma_fill_name(v, vma);
	bpf_get_current_comm(v->comm, sizeof(v->comm));
}

SEC("fentry/setup_arg_pages")
int BPF_PROG(stack_move_fentry, struct linux_binprm *bprm)
{
	stack_move_begin(bprm);
	return 0;
}

SEC("fexit/setup_arg_pages")
int BPF_PROG(stack_move_fexit)
{
	stack_move_end();
	return 0;
}

SEC("kprobe/setup_arg_pages")
int BPF_KPROBE(stack_move_kprobe, struct linux_binprm *bprm)
{
	stack_move_begin(bprm);
	return 0;
}

SEC("kretprobe/setup_arg_pages")
int BPF_KRETPROBE(stack_move_kretprobe)
{
	stack_move_end();
	return 0;
}

/* ----- teardown ----- */

static __always_inline void teardown(struct vm_area_struct *vma)
{
	struct vma_val *v = owner_row(vma);

	if (!v)
		return;
	__sync_fetch_and_add(&v->teardowns, 1);
	trace_vma(TE_TEARDOWN, v, BPF_CORE_READ(vma, vm_start), 0, 1);
}

/* unmap_page_range(tlb, vma, addr, end, details): munmap, exit, MADV_DONTNEED, zap_vma_ptes */
SEC("fentry/unmap_page_range")
int BPF_PROG(teardown_fentry, void *tlb, struct vm_area_struct *vma)
{
	teardown(vma);
	return 0;
}

SEC("kprobe/unmap_page_range")
int BPF_KPROBE(teardown_kprobe, void *tlb, struct vm_area_struct *vma)
{
	teardown(vma);
	return 0;
}

/* vm_area_free(vma) (kernel/fork.c, mm/vma_init.c): the end of a vm_area_struct's life */
static __always_inline void vma_freed(struct vm_area_struct *vma)
{
	__u32 tgid = vma_owner_tgid(vma);

	if (tgid_traced(tgid))
		vma_retire(vma, tgid);
}

SEC("fentry/vm_area_free")
int BPF_PROG(vma_free_fentry, struct vm_area_struct *vma)
{
	vma_freed(vma);
	return 0;
}

SEC("kprobe/vm_area_free")
int BPF_KPROBE(vma_free_kprobe, struct vm_area_struct *vma)
{
	vma_freed(vma);
	return 0;
}

/* print_bad_pte(vma, addr, pte, page): the kernel found a pte it cannot account for */
static __always_inline void bad_pte(struct vm_area_struct *vma, __u64 addr)
{
	struct vma_val *v = owner_row(vma);

	if (!v)
		return;
	__sync_fetch_and_add(&v->bad_ptes, 1);
	trace_vma(TE_BAD_PTE, v, addr, 0, 1);
}

SEC("fentry/print_bad_pte")
int BPF_PROG(bad_pte_fentry, struct vm_area_struct *vma, unsigned long addr)
{
	bad_pte(vma, addr);
	return 0;
}

SEC("kprobe/print_bad_pte")
int BPF_KPROBE(bad_pte_kprobe, struct vm_area_struct *vma, unsigned long addr)
{
	bad_pte(vma, addr);
	return 0;
}

/* ----- mm-exit: the kernel's own counters once everything is torn down ----- */

static __always_inline void mm_exit(struct mm_struct *mm, __u64 key)
{
	struct mm_val *m = bpf_map_lookup_elem(&mms, &key);
	__u32 id = mm_rss_id(key);
	struct rss_mm_val *r = bpf_map_lookup_elem(&rss_mm, &id);

	if (r)
		r->exited = 1;
	bpf_map_delete_elem(&mm_ids, &key);	/* the mm_struct may be reused */

	if (!m)
		return;	/* an mm no traced VMA belonged to */
	m->flags |= MM_EXITED;
	/* exact once every task's cache is synced (exit_mm() calls sync_mm_rss()) */
	if (mm_rss_read(mm, m->kernel_rss_at_exit))
		m->kernel_rss_known = 1;
	/* retire the entry: the mm_struct may be reused for another address space */
	{
		__u64 retired = m->id << 1 | 1;

		if (bpf_map_update_elem(&mms, &retired, m, BPF_NOEXIST) == 0)
			bpf_map_delete_elem(&mms, &key);
	}
}

/* fexit: exit_mmap() has unmapped every VMA by then */
SEC("fexit/exit_mmap")
int BPF_PROG(mm_exit_fexit, struct mm_struct *mm)
{
	mm_exit(mm, ctx_arg_u64(ctx, 0));
	return 0;
}

SEC("tp_btf/exit_mmap")
int BPF_PROG(mm_exit_tp_btf, struct mm_struct *mm)
{
	mm_exit(mm, ctx_arg_u64(ctx, 0));
	return 0;
}

/* a forked mm is registered at birth; the loader's own child's is a copy never seen filled */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(mm_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 mm = (__u64)BPF_CORE_READ(child, mm);
	struct mm_val *m;

	if (!mm || parent->tgid == child->tgid ||
	    (parent->tgid != loader_tgid && !tgid_traced(parent->tgid)))
		return 0;
	m = mm_get(mm, child->tgid);
	if (!m)
		return 0;
	m->tgid = child->tgid;	/* copy_page_range() registered it before the tgid existed */
	if (parent->tgid == loader_tgid)
		m->flags |= MM_UNOBSERVED;
	return 0;
}
