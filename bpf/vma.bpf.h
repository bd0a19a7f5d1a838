/* SPDX-License-Identifier: GPL-2.0 */
/* Per-VMA rows (map `vmas`) and per-process rows (map `procs`), shared by the fault, zap, gup
 * and rss programs. Only identity capture happens here; naming and classification are done in
 * userspace (src/vmas.c). */
#ifndef PFNSCOPE_VMA_BPF_H
#define PFNSCOPE_VMA_BPF_H

#include "vma.h"
#include "common.bpf.h"

/* Address of special_mapping_name() (mm/mmap.c), from /proc/kallsyms: the ->name callback of
 * every _install_special_mapping() VMA ([vdso], [vvar], [uprobes]...). 0 if unresolved. Set
 * between load and attach (.bss), like vmemmap_base_addr. */
volatile __u64 special_mapping_name_fn;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* rows on demand: common.bpf.h */
	__uint(max_entries, 65536);	/* resized by the loader (--max-vmas) */
	__type(key, struct vma_key);
	__type(value, struct vma_val);
} vmas SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* rows on demand: common.bpf.h */
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct proc_val);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* rows on demand: common.bpf.h */
	__uint(max_entries, 16384);
	__type(key, __u64);		/* mm cookie */
	__type(value, struct mm_val);
} mms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SEQ__MAX);
	__type(key, __u32);
	__type(value, __u64);
} seqs SEC(".maps");

static __always_inline __u64 seq_next(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&seqs, &which);

	return v ? __sync_fetch_and_add(v, 1) + 1 : 0;
}

static __always_inline struct mm_val *mm_get(__u64 mm, __u32 tgid)
{
	struct mm_val *m = bpf_map_lookup_elem(&mms, &mm), init = { .tgid = tgid };

	if (m)
		return m;
	init.id = seq_next(SEQ_MM);
	bpf_map_update_elem(&mms, &mm, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mms, &mm);
}

/* Scratch for building a vma_val: too large for comfort on the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vma_val);
} vma_scratch SEC(".maps");

static __always_inline struct proc_val *proc_get(__u32 tgid)
{
	static const struct proc_val zero;
	struct proc_val *p = bpf_map_lookup_elem(&procs, &tgid);

	if (p)
		return p;
	if (insert_failed(bpf_map_update_elem(&procs, &tgid, &zero, BPF_NOEXIST))) {
		count_drop(DROP_PROC_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&procs, &tgid);
}

static __always_inline void vma_fill_name(struct vma_val *v, struct vm_area_struct *vma)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);
	struct mm_struct *mm;

	if (file) {
		struct inode *inode = BPF_CORE_READ(file, f_inode);

		v->kind = VMA_KIND_FILE;
		v->ino = BPF_CORE_READ(inode, i_ino);
		v->dev = BPF_CORE_READ(inode, i_sb, s_dev);
		v->rdev = BPF_CORE_READ(inode, i_rdev);
		v->mmap_fn = (__u64)BPF_CORE_READ(file, f_op, mmap);
		bpf_probe_read_kernel_str(v->name, sizeof(v->name),
					  BPF_CORE_READ(file, f_path.dentry, d_name.name));
		return;
	}
	/* special_mapping_name() returns ((struct vm_special_mapping *)vm_private_data)->name */
	if (special_mapping_name_fn &&
	    (__u64)BPF_CORE_READ(vma, vm_ops, name) == special_mapping_name_fn) {
		struct vm_special_mapping *sm = BPF_CORE_READ(vma, vm_private_data);

		v->kind = VMA_KIND_SPECIAL;
		bpf_probe_read_kernel_str(v->name, sizeof(v->name), BPF_CORE_READ(sm, name));
		return;
	}
	/* the same tests show_map_vma() (fs/proc/task_mmu.c) uses for [heap] and [stack] */
	mm = BPF_CORE_READ(vma, vm_mm);
	if (v->vm_start <= BPF_CORE_READ(mm, brk) && v->vm_end >= BPF_CORE_READ(mm, start_brk))
		v->kind = VMA_KIND_HEAP;
	else if (v->vm_start <= BPF_CORE_READ(mm, start_stack) &&
		 v->vm_end >= BPF_CORE_READ(mm, start_stack))
		v->kind = VMA_KIND_STACK;
	else
		v->kind = VMA_KIND_ANON;
}

/* The address that names a VMA in its key: vm_start, but vm_end for a stack (VM_GROWSDOWN,
 * whose vm_start moves as it grows, expand_downwards() in mm/mmap.c). */
static __always_inline __u64 anchor_of(__u64 start, __u64 end, __u64 flags)
{
	return (flags & 0x100) ? end : start;	/* VM_GROWSDOWN */
}

static __always_inline __u64 vma_anchor(struct vm_area_struct *vma)
{
	return anchor_of(BPF_CORE_READ(vma, vm_start), BPF_CORE_READ(vma, vm_end),
			 BPF_CORE_READ(vma, vm_flags));
}

/* The row of @vma as seen by @task (of @tgid); created (identity captured) on first sight. */
static __always_inline struct vma_val *vma_get_task(struct vm_area_struct *vma, __u32 tgid,
						    struct task_struct *task)
{
	/* hot path: each field is read once, for the key and the refresh alike */
	__u64 start = BPF_CORE_READ(vma, vm_start), end = BPF_CORE_READ(vma, vm_end);
	__u64 flags = BPF_CORE_READ(vma, vm_flags);
	struct vma_key key = {
		.tgid = tgid,
		.vm_start = anchor_of(start, end, flags),
		.vma_cookie = (__u64)vma,
	};
	struct vma_val *v = bpf_map_lookup_elem(&vmas, &key);
	__u32 zero = 0;
	long err;

	if (v) {
		v->vm_start = start;
		v->vm_end = end;
		v->vm_flags = flags;
		return v;
	}
	v = bpf_map_lookup_elem(&vma_scratch, &zero);
	if (!v)
		return NULL;
	__builtin_memset(v, 0, sizeof(*v));
	v->vm_start = start;
	v->vm_end = end;
	v->vm_flags = flags;
	v->vm_pgoff = BPF_CORE_READ(vma, vm_pgoff);
	v->vm_ops = (__u64)BPF_CORE_READ(vma, vm_ops);
	v->id = seq_next(SEQ_VMA_ROW);
	{
		struct mm_val *m = mm_get((__u64)BPF_CORE_READ(vma, vm_mm), tgid);

		v->mm = m ? m->id : 0;
	}
	if (v->vm_ops)
		v->fault_fn = (__u64)BPF_CORE_READ(vma, vm_ops, fault);
	v->remote = BPF_CORE_READ(vma, vm_mm) != BPF_CORE_READ(task, mm);
	bpf_probe_read_kernel_str(v->comm, sizeof(v->comm), task->comm);
	vma_fill_name(v, vma);
	err = bpf_map_update_elem(&vmas, &key, v, BPF_NOEXIST);
	if (!err)
		count_add(CNT_VMA_ROWS, 1);
	else if (insert_failed(err)) {
		count_drop(DROP_VMA_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&vmas, &key);
}

/* The tgid that owns @vma's address space: mm->owner (CONFIG_MEMCG), else see below.
 * During fork the child's VMAs are touched by the parent: the owner is the child. */
#define PF_KTHREAD 0x00200000	/* include/linux/sched.h */
static __always_inline __u32 vma_owner_tgid(struct vm_area_struct *vma)
{
	struct mm_struct *mm = BPF_CORE_READ(vma, vm_mm);
	struct task_struct *cur;
	struct mm_struct *cur_mm;
	struct mm_val *m;
	__u64 key;

	if (bpf_core_field_exists(mm->owner)) {
		struct task_struct *owner = BPF_CORE_READ(mm, owner);

		if (owner)
			return BPF_CORE_READ(owner, tgid);
	}
	/*
	 * No owner: the last user's exit_mm() or exec_mmap() cleared it (mm_update_next_owner())
	 * and the final mmput() runs exit_mmap(). Usually in the exiting task (its current->mm
	 * already NULL) or the exec'ing one, but any task that held a reference can be the last:
	 * a /proc reader or a task_vma iterator (get_task_mm(), kernel/bpf/task_iter.c), such as
	 * the agent's own. Then the tgid the address space was registered under (mm_get()).
	 */
	cur = bpf_get_current_task_btf();
	cur_mm = BPF_CORE_READ(cur, mm);
	if ((!cur_mm && !(BPF_CORE_READ(cur, flags) & PF_KTHREAD)) || cur_mm == mm)
		return current_tgid();
	key = (__u64)mm;
	m = bpf_map_lookup_elem(&mms, &key);
	return m && m->tgid ? m->tgid : current_tgid();
}

static __always_inline void vma_rekey(struct vma_key *from, struct vma_val *v, __u32 tgid)
{
	struct vma_key to = *from;

	to.tgid = tgid;
	to.vma_cookie = seq_next(SEQ_RETIRED) << 1 | 1;
	if (bpf_map_update_elem(&vmas, &to, v, BPF_NOEXIST) == 0)
		bpf_map_delete_elem(&vmas, from);
}

/*
 * vm_area_free(): the rows of @vma move to retired keys, so the slab object's next VMA cannot
 * add to them. A child's fork-time row (tgid 0, see fork_copy) is folded into its owner's row
 * first, or takes the owner's tgid.
 */
/* Two rows of one VMA become one: @from's RSS is added to @to and @from_key's row deleted. */
static __always_inline void vma_merge_into(struct vma_val *to, const struct vma_val *from,
					   struct vma_key *from_key)
{
	for (int m = 0; m < RSS_MEMBERS; m++) {
		__sync_fetch_and_add(&to->rss_in[m], from->rss_in[m]);
		__sync_fetch_and_add(&to->rss_out[m], from->rss_out[m]);
	}
	__sync_fetch_and_add(&to->rss_in_reserved, from->rss_in_reserved);
	if (!bpf_map_delete_elem(&vmas, from_key))
		count_add(CNT_VMA_MERGED, 1);
}

static __always_inline void vma_retire(struct vm_area_struct *vma, __u32 owner)
{
	struct vma_key ko = { .tgid = owner, .vm_start = vma_anchor(vma), .vma_cookie = (__u64)vma };
	struct vma_key ks = { .tgid = 0, .vm_start = ko.vm_start, .vma_cookie = (__u64)vma };
	struct vma_val *vo = bpf_map_lookup_elem(&vmas, &ko);
	struct vma_val *vs = bpf_map_lookup_elem(&vmas, &ks);

	if (vs && vo)
		vma_merge_into(vo, vs, &ks);
	else if (vs)
		vma_rekey(&ks, vs, owner);
	if (vo)
		vma_rekey(&ko, vo, owner);
}

/* A trace event about row @v (trace/record mode only). */
static __always_inline void trace_vma(__u32 type, const struct vma_val *v, __u64 addr, __u64 pfn,
				      __u64 count)
{
	struct trace_rec *e = trace_reserve(type);

	if (!e)
		return;
	if (v) {
		e->vma_id = v->id;
		e->mm_id = v->mm;
	}
	e->addr = addr;
	e->pfn = pfn;
	e->count = count;
	trace_submit(e);
}

/* The row of @vma as seen by the current task. */
static __always_inline struct vma_val *vma_get(struct vm_area_struct *vma, __u32 tgid)
{
	return vma_get_task(vma, tgid, bpf_get_current_task_btf());
}

#endif /* PFNSCOPE_VMA_BPF_H */
