// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect.h"

void vma_display_name(const struct vma_val *v, char *buf, size_t n)
{
	switch (v->kind) {
	case VMA_KIND_FILE:
	case VMA_KIND_SPECIAL:	/* special mapping names already carry their brackets */
		snprintf(buf, n, "%s", v->name[0] ? v->name : "?");
		break;
	case VMA_KIND_HEAP:
		snprintf(buf, n, "[heap]");
		break;
	case VMA_KIND_STACK:
		snprintf(buf, n, "[stack]");
		break;
	case VMA_KIND_UNATTRIBUTED:
		snprintf(buf, n, "[unattributed]");
		break;
	default:
		snprintf(buf, n, "[anon]");
	}
}

static int collect_vmas(int fd, struct ksyms *ks, struct report *r)
{
	struct vma_key key, next;
	size_t cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct vma_row *row;

		key = next;
		prev = &key;
		if (r->nr_vmas == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct vma_row *n = realloc(r->vmas, ncap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			r->vmas = n;
			cap = ncap;
		}
		row = &r->vmas[r->nr_vmas];
		memset(row, 0, sizeof(*row));
		if (bpf_map_lookup_elem(fd, &key, &row->val))
			continue;	/* deleted meanwhile */
		row->key = key;
		vma_display_name(&row->val, row->name, sizeof(row->name));
		ksyms_format(ks, row->val.vm_ops, KSYM_DATA, env.show_kernel_addresses,
			     row->vm_ops, sizeof(row->vm_ops));
		ksyms_format(ks, row->val.fault_fn, KSYM_TEXT, env.show_kernel_addresses,
			     row->fault_handler, sizeof(row->fault_handler));
		ksyms_format(ks, row->val.mmap_fn, KSYM_TEXT, env.show_kernel_addresses,
			     row->mmap_handler, sizeof(row->mmap_handler));
		{
			/* the module that owns the VMA: its fault handler, mmap or vm_ops */
			const struct ksym *s = ksyms_find(ks, row->val.fault_fn, KSYM_TEXT, 0x10000);

			/* vm_ops before mmap: vma_init() points every new VMA at vmlinux's
			 * dummy_vm_ops, so a driver that sets none still has one */
			if (!s)
				s = ksyms_find(ks, row->val.mmap_fn, KSYM_TEXT, 0x10000);
			if (!s)
				s = ksyms_find(ks, row->val.vm_ops, KSYM_DATA, 0x1000);
			if (s && s->module)
				snprintf(row->module, sizeof(row->module), "%s", s->module);
		}
		r->nr_vmas++;
	}
	return 0;
}

static int collect_procs(int fd, struct report *r)
{
	__u32 key, next, *prev = NULL;
	size_t cap = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct proc_row *row;

		key = next;
		prev = &key;
		if (r->nr_procs == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct proc_row *n = realloc(r->procs, ncap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			r->procs = n;
			cap = ncap;
		}
		row = &r->procs[r->nr_procs];
		memset(row, 0, sizeof(*row));
		if (bpf_map_lookup_elem(fd, &key, &row->val))
			continue;
		row->pid = key;
		row->stat_minflt = row->stat_majflt = -1;
		r->nr_procs++;
	}
	return 0;
}

static int collect_drops(int fd, struct report *r)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 d = 0; d < DROP__MAX; d++) {
		r->drops[d] = 0;
		if (bpf_map_lookup_elem(fd, &d, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			r->drops[d] += vals[c];
	}
	free(vals);
	return 0;
}

static int collect_pfns(int fd, struct report *r)
{
	struct pfn_key key, next;
	size_t cap = 0;
	void *prev = NULL;

	if (fd < 0)
		return 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pfn_row *row;

		key = next;
		prev = &key;
		if (r->nr_pfns == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct pfn_row *n = realloc(r->pfns, ncap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			r->pfns = n;
			cap = ncap;
		}
		row = &r->pfns[r->nr_pfns];
		memset(row, 0, sizeof(*row));
		if (bpf_map_lookup_elem(fd, &key, &row->val))
			continue;
		row->key = key;
		r->nr_pfns++;
	}
	return 0;
}

int collect_report(const struct collect_maps *m, struct ksyms *ks, struct report *r)
{
	int err;
	unsigned long before = ks ? ks->unresolved : 0;

	err = collect_vmas(m->vmas_fd, ks, r);
	if (!err)
		err = collect_procs(m->procs_fd, r);
	if (!err)
		err = collect_drops(m->drops_fd, r);
	if (!err)
		err = collect_pfns(m->pfn_fd, r);
	if (err)
		return err;
	report_sort(r);
	/* per-process sum of VMA rows, to show what could not be attributed */
	for (size_t i = 0, v = 0; i < r->nr_procs; i++) {
		while (v < r->nr_vmas && r->vmas[v].key.tgid < r->procs[i].pid)
			v++;
		for (; v < r->nr_vmas && r->vmas[v].key.tgid == r->procs[i].pid; v++)
			r->procs[i].vma_faults += r->vmas[v].val.faults;
	}
	r->syms_unresolved = ks ? ks->unresolved - before : 0;
	return 0;
}
