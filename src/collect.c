// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

void collect_vma_names(struct vma_row *row, struct ksyms *ks)
{
	const struct ksym *s;

	vma_display_name(&row->val, row->name, sizeof(row->name));
	ksyms_format(ks, row->val.vm_ops, KSYM_DATA, env.show_kernel_addresses,
		     row->vm_ops, sizeof(row->vm_ops));
	ksyms_format(ks, row->val.fault_fn, KSYM_TEXT, env.show_kernel_addresses,
		     row->fault_handler, sizeof(row->fault_handler));
	ksyms_format(ks, row->val.mmap_fn, KSYM_TEXT, env.show_kernel_addresses,
		     row->mmap_handler, sizeof(row->mmap_handler));
	/* the module that owns the VMA: its fault handler, mmap or vm_ops (vm_ops last:
	 * vma_init() points every new VMA at vmlinux's dummy_vm_ops, so a driver that sets
	 * none still has one) */
	s = ksyms_find(ks, row->val.fault_fn, KSYM_TEXT, 0x10000);
	if (!s)
		s = ksyms_find(ks, row->val.mmap_fn, KSYM_TEXT, 0x10000);
	if (!s)
		s = ksyms_find(ks, row->val.vm_ops, KSYM_DATA, 0x1000);
	snprintf(row->module, sizeof(row->module), "%s", s && s->module ? s->module : "");
}

static int collect_vmas(const struct state *st, struct ksyms *ks, struct report *r)
{
	int err = STATE_ROWS(&st->t[ST_VMAS], r->vmas, r->nr_vmas, struct vma_row, key, val);

	for (size_t i = 0; i < r->nr_vmas && !err; i++)
		collect_vma_names(&r->vmas[i], ks);
	return err;
}

static int collect_procs(const struct state *st, struct report *r)
{
	int err = STATE_ROWS(&st->t[ST_PROCS], r->procs, r->nr_procs, struct proc_row, pid, val);

	for (size_t i = 0; i < r->nr_procs; i++)
		r->procs[i].stat_minflt = r->procs[i].stat_majflt = -1;
	return err;
}

static void collect_drops(const struct state *st, struct report *r)
{
	const struct state_table *t = &st->t[ST_DROPS];

	for (size_t i = 0; i < t->n; i++) {
		__u32 d = *(__u32 *)st_key(t, i);

		if (d < DROP__MAX)
			r->drops[d] = *(__u64 *)st_val(t, i);
	}
}

static int cmp_mm_id(const void *a, const void *b)
{
	const struct mm_row *x = a, *y = b;

	return x->val.id < y->val.id ? -1 : x->val.id > y->val.id;
}

/* r->mms is sorted by id (collect_mms) */
struct mm_row *mm_of(const struct report *r, __u64 id)
{
	struct mm_row key = { .val.id = id };

	return r->nr_mms ? bsearch(&key, r->mms, r->nr_mms, sizeof(*r->mms), cmp_mm_id) : NULL;
}

/*
 * Rows with tgid 0 are what a child's VMA inherited at fork (bpf/zap.bpf.c fork_copy): give
 * them to the owner of their mm, merging with the row its later events made.
 */
static void assign_fork_rows(struct report *r)
{
	for (size_t i = 0; i < r->nr_vmas; i++) {
		struct vma_row *seed = &r->vmas[i], *own = NULL;
		const struct mm_row *mm;

		if (seed->key.tgid || !(mm = mm_of(r, seed->val.mm)) || !mm->val.tgid)
			continue;
		for (size_t j = 0; j < r->nr_vmas; j++)
			if (r->vmas[j].key.tgid == mm->val.tgid &&
			    r->vmas[j].key.vma_cookie == seed->key.vma_cookie &&
			    r->vmas[j].key.vm_start == seed->key.vm_start)
				own = &r->vmas[j];
		if (!own) {
			seed->key.tgid = mm->val.tgid;
			seed->val.remote = 0;
			continue;
		}
		for (int m = 0; m < RSS_MEMBERS; m++) {
			own->val.rss_in[m] += seed->val.rss_in[m];
			own->val.rss_out[m] += seed->val.rss_out[m];
		}
		own->val.rss_in_reserved += seed->val.rss_in_reserved;
		seed->hidden = true;
		seed->merged = true;
	}
}

static int collect_mms(const struct state *st, struct report *r)
{
	int err = STATE_ROWS(&st->t[ST_MMS], r->mms, r->nr_mms, struct mm_row, cookie, val);

	if (err)
		return err;
	if (r->nr_mms)
		sort_n(r->mms, r->nr_mms, sizeof(*r->mms), cmp_mm_id);
	assign_fork_rows(r);
	/* net RSS per member: the sum of the address space's VMA rows */
	for (size_t v = 0; v < r->nr_vmas; v++) {
		const struct vma_val *vv = &r->vmas[v].val;
		struct mm_row *mm = r->vmas[v].merged ? NULL : mm_of(r, vv->mm);

		if (!mm || r->vmas[v].key.tgid != mm->val.tgid)
			continue;
		mm->nr_vmas++;
		for (int m = 0; m < RSS_MEMBERS; m++)
			mm->net[m] = add_wrap(mm->net[m], rss_net(vv, m));
	}
	return 0;
}

int collect_timeline_sample(const struct state *st, struct report *r)
{
	const struct state_table *vt = &st->t[ST_VMAS];
	struct timeline_sample *s, *ns;
	size_t cap = 0;
	struct mm_row *mms = NULL;
	size_t nmms = 0;

	if (STATE_ROWS(&st->t[ST_MMS], mms, nmms, struct mm_row, cookie, val)) {
		free(mms);
		return -ENOMEM;
	}
	ns = realloc(r->timeline, (r->nr_samples + 1) * sizeof(*ns));
	if (!ns) {
		free(mms);
		return -ENOMEM;
	}
	r->timeline = ns;
	s = &r->timeline[r->nr_samples++];
	memset(s, 0, sizeof(*s));
	s->t_ns = st->t_ns;
	for (size_t row = 0; row < vt->n && vt->ksz == sizeof(struct vma_key); row++) {
		struct vma_val v = {};
		struct vma_key key;
		struct timeline_vma *tv;
		bool any = false;

		memcpy(&key, st_key(vt, row), sizeof(key));
		memcpy(&v, st_val(vt, row), vt->vsz < sizeof(v) ? vt->vsz : sizeof(v));
		for (int i = 0; i < RSS_MEMBERS; i++)
			any |= v.rss_in[i] != v.rss_out[i];
		if (!any && !v.faults)
			continue;
		if (s->nr == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct timeline_vma *n = realloc(s->vmas, ncap * sizeof(*n));

			if (!n) {
				free(mms);
				return -ENOMEM;
			}
			s->vmas = n;
			cap = ncap;
		}
		tv = &s->vmas[s->nr++];
		tv->pid = key.tgid;
		if (!key.tgid) {	/* a fork-time row: its owner is the mm's (see assign_fork_rows) */
			for (size_t i = 0; i < nmms; i++)
				if (mms[i].val.id == v.mm)
					tv->pid = mms[i].val.tgid;
		}
		tv->vm_start = v.vm_start;
		tv->faults = v.faults;
		for (int i = 0; i < RSS_MEMBERS; i++)
			tv->rss[i] = rss_net(&v, i);
	}
	/* merge rows of the same VMA (a fork-time row and its owner's) */
	for (size_t i = 0; i < s->nr; i++)
		for (size_t j = i + 1; j < s->nr; j++) {
			if (s->vmas[i].pid != s->vmas[j].pid ||
			    s->vmas[i].vm_start != s->vmas[j].vm_start)
				continue;
			for (int k = 0; k < RSS_MEMBERS; k++)
				s->vmas[i].rss[k] = add_wrap(s->vmas[i].rss[k], s->vmas[j].rss[k]);
			s->vmas[i].faults += s->vmas[j].faults;
			s->vmas[j--] = s->vmas[--s->nr];
		}
	free(mms);
	if (st->t[ST_PINS].present && st->t[ST_PINS].vsz >= sizeof(struct pin_val)) {
		struct pins_sample *ps = realloc(r->pin_samples,
						 (r->nr_pin_samples + 1) * sizeof(*ps));
		__u64 refs = 0;

		if (!ps)
			return -ENOMEM;
		for (size_t i = 0; i < st->t[ST_PINS].n; i++)
			refs += ((const struct pin_val *)st_val(&st->t[ST_PINS], i))->refs;
		r->pin_samples = ps;
		ps[r->nr_pin_samples].t_ns = st->t_ns;
		ps[r->nr_pin_samples++].outstanding = refs;
	}
	return STATE_ROWS(&st->t[ST_RSS], s->mms, s->nr_mms, struct rss_row, mm_id, val);
}

int collect_report(const struct state *st, struct ksyms *ks, struct report *r)
{
	int err;
	unsigned long before = ks ? ks->unresolved : 0;

	r->vmas_map_max = st->t[ST_VMAS].max_entries;
	err = collect_vmas(st, ks, r);
	if (!err)
		err = collect_procs(st, r);
	collect_drops(st, r);
	if (!err)
		err = STATE_ROWS(&st->t[ST_PFNS], r->pfns, r->nr_pfns, struct pfn_row, key, val);
	if (err)
		return err;
	report_sort(r);
	err = collect_mms(st, r);
	if (err)
		return err;
	report_sort(r);	/* fork rows changed hands */
	if (st->t[ST_RSS].present) {
		struct rss_row *rows = NULL;
		size_t n = 0;

		err = STATE_ROWS(&st->t[ST_RSS], rows, n, struct rss_row, mm_id, val);
		for (size_t i = 0; i < n && !err; i++)
			for (size_t p = 0; p < r->nr_procs; p++) {
				struct proc_row *pr = &r->procs[p];

				if (!rows[i].val.tgid || pr->pid != rows[i].val.tgid)
					continue;
				pr->have_rss_stat = true;
				for (int k = 0; k < RSS_MEMBERS; k++) {
					pr->rss_stat[k] = add_wrap(pr->rss_stat[k], rows[i].val.pages[k]);
					if (rows[i].val.peak[k] > pr->rss_stat_peak[k])
						pr->rss_stat_peak[k] = rows[i].val.peak[k];
				}
			}
		free(rows);
		if (err)
			return err;
	}
	/*
	 * Per process, the sum of its VMA rows, to show what could not be attributed. A process
	 * that took an exited one's pid while pfnscope ran has its `procs` row started afresh
	 * with mms_before (bpf/fault.bpf.c forget_exited_proc()): the earlier process's rows keep
	 * the tgid and are told by their address space, numbered before that fork. An exec's
	 * earlier address space and a fork's rows (assign_fork_rows()) are numbered after it.
	 */
	for (size_t i = 0, v = 0; i < r->nr_procs; i++) {
		__u64 before = r->procs[i].val.mms_before;

		while (v < r->nr_vmas && r->vmas[v].key.tgid < r->procs[i].pid)
			v++;
		for (; v < r->nr_vmas && r->vmas[v].key.tgid == r->procs[i].pid; v++) {
			struct vma_row *vr = &r->vmas[v];

			vr->earlier = before && vr->val.mm && vr->val.mm <= before;
			if (!vr->earlier)
				r->procs[i].vma_faults += vr->val.faults;
		}
	}
	r->syms_unresolved = ks ? ks->unresolved - before : 0;
	return 0;
}
