// SPDX-License-Identifier: GPL-2.0
/* Renders a struct report as a per-VMA text table or as the versioned JSON document. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "report.h"
#include "vmflags.h"

const char *drop_reason_name(int reason)
{
	static const char *const names[DROP__MAX] = {
		[DROP_VMA_MAP_FULL] = "vma_map_full",
		[DROP_VMA_LOOKUP] = "vma_lookup_failed",
		[DROP_STASH_FULL] = "kprobe_stash_full",
		[DROP_STASH_MISS] = "kretprobe_unmatched",
		[DROP_PROC_MAP_FULL] = "proc_map_full",
		[DROP_TRACED_FULL] = "traced_map_full",
		[DROP_RINGBUF_FULL] = "ringbuf_full",
		[DROP_PFN_MAP_FULL] = "pfn_map_full",
		[DROP_PIN_MAP_FULL] = "pin_map_full",
		[DROP_VMA_NONE] = "vma_lookup_no_vma",
		[DROP_PID_REUSED] = "pid_reused",
		[DROP_TAIL_CALL] = "tail_call_failed",
	};
	return reason >= 0 && reason < DROP__MAX ? names[reason] : "?";
}

const char *pin_kind_name(int kind)
{
	static const char *const names[PIN_KIND__MAX] = {
		[PIN_KIND_PIN] = "FOLL_PIN", [PIN_KIND_LONGTERM] = "FOLL_PIN|FOLL_LONGTERM",
		[PIN_KIND_GET] = "FOLL_GET",
	};
	return kind >= 0 && kind < PIN_KIND__MAX ? names[kind] : "?";
}

const char *vma_kind_name(int kind)
{
	static const char *const names[] = {
		[VMA_KIND_ANON] = "anon", [VMA_KIND_FILE] = "file",
		[VMA_KIND_SPECIAL] = "special", [VMA_KIND_HEAP] = "heap",
		[VMA_KIND_STACK] = "stack", [VMA_KIND_UNATTRIBUTED] = "unattributed",
	};
	return kind >= 0 && kind <= VMA_KIND_UNATTRIBUTED ? names[kind] : "?";
}

static int cmp_vma(const void *a, const void *b)
{
	const struct vma_row *x = a, *y = b;

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	if (x->val.vm_start != y->val.vm_start)
		return x->val.vm_start < y->val.vm_start ? -1 : 1;
	return 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_row *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void report_sort(struct report *r)
{
	sort_n(r->vmas, r->nr_vmas, sizeof(*r->vmas), cmp_vma);
	sort_n(r->procs, r->nr_procs, sizeof(*r->procs), cmp_proc);
}

static int cmp_by_id(const void *a, const void *b)
{
	const struct vma_row *x = *(struct vma_row *const *)a, *y = *(struct vma_row *const *)b;

	return x->val.id < y->val.id ? -1 : x->val.id > y->val.id;
}

static int cmp_by_mm(const void *a, const void *b)
{
	const struct vma_row *x = *(struct vma_row *const *)a, *y = *(struct vma_row *const *)b;

	if (x->val.mm != y->val.mm)
		return x->val.mm < y->val.mm ? -1 : 1;
	return x->val.vm_start < y->val.vm_start ? -1 : x->val.vm_start > y->val.vm_start;
}

int report_index(struct report *r)
{
	free(r->by_id);
	free(r->by_mm);
	r->nr_index = 0;
	r->by_id = malloc((r->nr_vmas + 1) * sizeof(*r->by_id));
	r->by_mm = malloc((r->nr_vmas + 1) * sizeof(*r->by_mm));
	if (!r->by_id || !r->by_mm)
		return -ENOMEM;
	for (size_t i = 0; i < r->nr_vmas; i++)
		r->by_id[i] = r->by_mm[i] = &r->vmas[i];
	r->nr_index = r->nr_vmas;
	sort_n(r->by_id, r->nr_index, sizeof(*r->by_id), cmp_by_id);
	sort_n(r->by_mm, r->nr_index, sizeof(*r->by_mm), cmp_by_mm);
	return 0;
}

struct vma_row *report_vma_by_id(const struct report *r, __u64 id)
{
	size_t lo = 0, hi = r->nr_index;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->by_id[mid]->val.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nr_index && r->by_id[lo]->val.id == id ? r->by_id[lo] : NULL;
}

struct vma_row *report_vma_at(const struct report *r, __u64 mm_id, __u64 addr)
{
	size_t lo = 0, hi = r->nr_index;
	struct vma_row *best = NULL;

	/* the first row past (mm_id, addr); the candidates are the rows just before it */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct vma_row *v = r->by_mm[mid];

		if (v->val.mm < mm_id || (v->val.mm == mm_id && v->val.vm_start <= addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	/* rows of a range's history (split, unmapped) may overlap: the latest one wins; 16 back
	 * is far more than a range's history holds in practice */
	for (size_t i = lo, n = 0; i-- > 0 && n < 16; n++) {
		struct vma_row *v = r->by_mm[i];

		if (v->val.mm != mm_id)
			break;
		if (v->merged || addr >= v->val.vm_end)
			continue;
		if (!best || v->val.id > best->val.id)
			best = v;
	}
	return best;
}

void report_free(struct report *r)
{
	free(r->by_id);
	free(r->by_mm);
	r->by_id = r->by_mm = NULL;
	r->nr_index = 0;
	free(r->vmas);
	free(r->procs);
	free(r->pfns);
	free(r->findings);
	free(r->mms);
	free(r->pins.callers);
	free(r->pins.pins);
	r->pins.callers = NULL;
	r->pins.pins = NULL;
	for (size_t i = 0; i < r->nr_samples; i++) {
		free(r->timeline[i].vmas);
		free(r->timeline[i].mms);
	}
	free(r->timeline);
	free(r->pin_samples);
	r->pin_samples = NULL;
	r->mms = NULL;
	r->timeline = NULL;
	r->vmas = NULL;
	r->procs = NULL;
	r->pfns = NULL;
	r->findings = NULL;
}

static json_object *jhex(__u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_object_new_string(buf);
}

static json_object *plan_json(const struct plan *p)
{
	json_object *arr = json_object_new_array();

	for (int h = 0; h < HOOK__MAX; h++) {
		const struct hook_plan *hp = &p->hooks[h];
		const struct candidate *c = hp->chosen >= 0 ? &hp->def->cand[hp->chosen] : NULL;
		json_object *o = json_object_new_object();
		json_object *rej = json_object_new_array();

		json_object_object_add(o, "hook", json_object_new_string(hp->def->name));
		json_object_object_add(o, "status",
				       json_object_new_string(hook_status_name(hp->status)));
		json_object_object_add(o, "mechanism",
				       json_object_new_string(c ? mech_name(c->mech) : "none"));
		json_object_object_add(o, "target", c ? json_object_new_string(c->target) : NULL);
		if (c && c->limits)
			json_object_object_add(o, "limits", json_object_new_string(c->limits));
		if (hp->status != HOOK_ATTACHED && hp->status != HOOK_PLANNED)
			json_object_object_add(o, "lost", json_object_new_string(hp->def->lost));
		if (hp->error[0])
			json_object_object_add(o, "error", json_object_new_string(hp->error));
		for (int i = 0; i < MAX_CANDIDATES && hp->def->cand[i].target; i++) {
			json_object *ro;

			if (!hp->why[i][0])
				continue;
			ro = json_object_new_object();
			json_object_object_add(ro, "mechanism",
					       json_object_new_string(mech_name(hp->def->cand[i].mech)));
			json_object_object_add(ro, "target",
					       json_object_new_string(hp->def->cand[i].target));
			json_object_object_add(ro, "reason", json_object_new_string(hp->why[i]));
			json_object_array_add(rej, ro);
		}
		json_object_object_add(o, "rejected", rej);
		json_object_array_add(arr, o);
	}
	return arr;
}

json_object *report_header_json(const struct report *r);

json_object *report_header_json(const struct report *r)
{
	json_object *h = json_object_new_object();
	json_object *k = json_object_new_object();
	char ts[32];

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&r->started));
	json_object_object_add(h, "tool", json_object_new_string("pfnscope"));
	json_object_object_add(h, "version", json_object_new_string(PFNSCOPE_VERSION));
	json_object_object_add(h, "schema", json_object_new_int(REPORT_SCHEMA_VERSION));
	json_object_object_add(h, "command", json_object_new_string(r->command));
	json_object_object_add(h, "started", json_object_new_string(ts));
	json_object_object_add(h, "duration_s", json_object_new_double(r->duration_s));
	if (r->argv[0])
		json_object_object_add(h, "traced_command", json_object_new_string(r->argv));
	json_object_object_add(k, "release", json_object_new_string(r->kernel));
	json_object_object_add(h, "kernel", k);
	if (!r->plan)	/* snapshot: the agent's plan is in its metrics, not in its maps */
		return h;
	json_object_object_add(k, "btf", json_object_new_boolean(r->plan->btf));
	json_object_object_add(k, "kprobe_pmu", json_object_new_boolean(r->plan->kprobe_pmu));
	json_object_object_add(k, "tracefs", json_object_new_boolean(r->plan->tracefs));
	json_object_object_add(h, "backend",
			       json_object_new_string(backend_name(r->plan->backend)));
	json_object_object_add(h, "plan", plan_json(r->plan));
	return h;
}

static json_object *vma_json(const struct vma_row *v)
{
	json_object *o = json_object_new_object();
	char flags[160];

	json_object_object_add(o, "pid", json_object_new_int64(v->key.tgid));
	json_object_object_add(o, "comm", json_object_new_string(v->val.comm));
	/* an earlier process with this pid, which exited before the pid was reused */
	json_object_object_add(o, "earlier_process", json_object_new_boolean(v->earlier));
	json_object_object_add(o, "start", jhex(v->val.vm_start));
	json_object_object_add(o, "end", jhex(v->val.vm_end));
	json_object_object_add(o, "size", json_object_new_int64(v->val.vm_end - v->val.vm_start));
	json_object_object_add(o, "pgoff", json_object_new_int64(v->val.vm_pgoff));
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "kind", json_object_new_string(vma_kind_name(v->val.kind)));
	if (v->val.kind == VMA_KIND_FILE) {
		char dev[32];

		/* s_dev is the kernel's internal dev_t: major = dev >> 20, minor = dev & 0xfffff */
		snprintf(dev, sizeof(dev), "%u:%u", v->val.dev >> 20, v->val.dev & 0xfffff);
		json_object_object_add(o, "dev", json_object_new_string(dev));
		json_object_object_add(o, "inode", json_object_new_int64(v->val.ino));
	}
	json_object_object_add(o, "vm_flags",
			       json_object_new_string(vmflags_format(v->val.vm_flags, flags,
								     sizeof(flags))));
	json_object_object_add(o, "vm_flags_raw", jhex(v->val.vm_flags));
	json_object_object_add(o, "vm_ops", json_object_new_string(v->vm_ops));
	json_object_object_add(o, "fault_handler", json_object_new_string(v->fault_handler));
	json_object_object_add(o, "mmap_handler", json_object_new_string(v->mmap_handler));
	json_object_object_add(o, "module", v->module[0] ? json_object_new_string(v->module) : NULL);
	json_object_object_add(o, "remote", json_object_new_boolean(v->val.remote));
	json_object_object_add(o, "seen_by_iter", json_object_new_boolean(v->val.seen_by_iter));
	json_object_object_add(o, "faults", json_object_new_int64(v->val.faults));
	json_object_object_add(o, "faults_major", json_object_new_int64(v->val.faults_major));
	json_object_object_add(o, "faults_gup", json_object_new_int64(v->val.faults_gup));
	json_object_object_add(o, "faults_retry", json_object_new_int64(v->val.faults_retry));
	json_object_object_add(o, "faults_error", json_object_new_int64(v->val.faults_error));
	json_object_object_add(o, "ptes_installed", json_object_new_int64(v->val.ptes_installed));
	{
		json_object *cls = json_object_new_object(), *src = json_object_new_object();
		json_object *top = json_object_new_array();

		for (int c = 0; c < CLASS__MAX; c++)
			json_object_object_add(cls, pfn_class_name(c),
					       json_object_new_int64(v->pages_by_class[c]));
		for (int s = 0; s < SRC__MAX; s++)
			json_object_object_add(src, pfn_src_name(s),
					       json_object_new_int64(v->by_src[s]));
		for (int t = 0; t < TOP_REGIONS && v->top[t].name[0]; t++) {
			json_object *ro = json_object_new_object();

			json_object_object_add(ro, "region", json_object_new_string(v->top[t].name));
			json_object_object_add(ro, "pages", json_object_new_int64(v->top[t].pages));
			json_object_array_add(top, ro);
		}
		json_object_object_add(o, "pages_by_class", cls);
		json_object_object_add(o, "pfn_events", src);
		json_object_object_add(o, "pfn_inserts",
				       json_object_new_int64(v->by_src[SRC_PFN_INSERT] +
							     v->by_src[SRC_PAGE_INSERT]));
		json_object_object_add(o, "reserved_hits", json_object_new_int64(v->reserved_hits));
		json_object_object_add(o, "top_regions", top);
	}
	{
		json_object *net = json_object_new_object(), *in = json_object_new_object();
		json_object *out = json_object_new_object();

		for (int m = 0; m < RSS_MEMBERS; m++) {
			json_object_object_add(net, rss_member_name(m),
					       json_object_new_int64(rss_net(&v->val, m)));
			json_object_object_add(in, rss_member_name(m),
					       json_object_new_int64(v->val.rss_in[m]));
			json_object_object_add(out, rss_member_name(m),
					       json_object_new_int64(v->val.rss_out[m]));
		}
		json_object_object_add(o, "rss", net);
		json_object_object_add(o, "rss_in", in);
		json_object_object_add(o, "rss_out", out);
		/* do_set_pte() charges a fault handler's page to mm_counter_file(), reserved or not */
		json_object_object_add(o, "rss_in_reserved_as_file",
				       json_object_new_int64(v->val.rss_in_reserved));
		json_object_object_add(o, "teardowns", json_object_new_int64(v->val.teardowns));
		{
			json_object *po = json_object_new_object();

			for (int k = 0; k < PIN_KIND__MAX; k++) {
				json_object *ko = json_object_new_object();

				json_object_object_add(ko, "acquired",
						       json_object_new_int64(v->pins_acquired[k]));
				json_object_object_add(ko, "released",
						       json_object_new_int64(v->pins_released[k]));
				json_object_object_add(ko, "outstanding",
						       json_object_new_int64(v->pins_outstanding[k]));
				json_object_object_add(po, pin_kind_name(k), ko);
			}
			json_object_object_add(o, "pins", po);
		}
		json_object_object_add(o, "bad_ptes", json_object_new_int64(v->val.bad_ptes));
	}
	return o;
}

static json_object *mm_json(const struct report *r, const struct mm_row *mm)
{
	json_object *o = json_object_new_object(), *net = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int64(mm->val.tgid));
	json_object_object_add(o, "observed", json_object_new_boolean(!(mm->val.flags & MM_UNOBSERVED)));
	json_object_object_add(o, "exited", json_object_new_boolean(mm->val.flags & MM_EXITED));
	json_object_object_add(o, "vmas", json_object_new_int64(mm->nr_vmas));
	for (int m = 0; m < RSS_MEMBERS; m++)
		json_object_object_add(net, rss_member_name(m), json_object_new_int64(mm->net[m]));
	json_object_object_add(o, "rss_net", net);
	if (mm->val.kernel_rss_known) {
		json_object *k = json_object_new_object();

		for (int m = 0; m < RSS_MEMBERS; m++)
			json_object_object_add(k, rss_member_name(m),
					       json_object_new_int64(mm->val.kernel_rss_at_exit[m]));
		json_object_object_add(o, "kernel_rss_at_exit", k);
	}
	return o;
}

static json_object *pins_json(const struct report *r)
{
	static const char *const tnames[PT__MAX] = {
		[PT_PIN_ACQUIRED] = "pin_acquired", [PT_PIN_RELEASED] = "pin_released",
		[PT_PIN_ZERO] = "pin_zero_page", [PT_PIN_ZERO_RELEASED] = "pin_zero_page_released",
		[PT_GET_ACQUIRED] = "get_acquired",
		[PT_LONGTERM] = "longterm_acquired",
	};
	const struct pin_report *p = &r->pins;
	json_object *o = json_object_new_object(), *t = json_object_new_object();
	json_object *callers = json_object_new_array(), *outs = json_object_new_array();

	json_object_object_add(o, "available", json_object_new_boolean(p->have));
	for (int i = 0; i < PT__MAX; i++)
		json_object_object_add(t, tnames[i], json_object_new_int64(p->totals[i]));
	if (p->vmstat_acquired >= 0) {
		json_object_object_add(t, "vmstat_acquired_delta",
				       json_object_new_int64(p->vmstat_acquired));
		json_object_object_add(t, "vmstat_released_delta",
				       json_object_new_int64(p->vmstat_released));
	}
	json_object_object_add(o, "totals", t);
	for (size_t i = 0; i < p->nr_callers; i++) {
		const struct pin_caller_row *c = &p->callers[i];
		json_object *co = json_object_new_object(), *st = json_object_new_array();

		json_object_object_add(co, "pid", json_object_new_int64(c->key.tgid));
		json_object_object_add(co, "comm", json_object_new_string(c->val.comm));
		json_object_object_add(co, "kind", json_object_new_string(pin_kind_name(c->key.kind)));
		for (int k = 0; k < c->depth; k++)
			json_object_array_add(st, json_object_new_string(c->stack[k]));
		json_object_object_add(co, "stack", st);
		json_object_object_add(co, "acquired", json_object_new_int64(c->val.acquired));
		json_object_object_add(co, "released", json_object_new_int64(c->val.released));
		json_object_object_add(co, "zero_page", json_object_new_int64(c->val.zero_page));
		json_object_object_add(co, "outstanding", json_object_new_int64(c->outstanding));
		json_object_object_add(co, "after_unmap", json_object_new_int64(c->val.after_unmap));
		json_object_object_add(co, "max_hold_s", json_object_new_double(c->val.max_hold_ns / 1e9));
		json_object_array_add(callers, co);
	}
	json_object_object_add(o, "callers", callers);
	for (size_t i = 0; i < p->nr_pins; i++) {
		const struct pin_row *pr = &p->pins[i];
		json_object *po = json_object_new_object();
		char range[48];

		json_object_object_add(po, "pfn", jhex(pr->pfn));
		json_object_object_add(po, "class", json_object_new_string(pfn_class_name(pr->cls)));
		json_object_object_add(po, "region", json_object_new_string(pr->region));
		json_object_object_add(po, "refs", json_object_new_int64(pr->val.refs));
		json_object_object_add(po, "age_s",
				       json_object_new_double((p->now_ns - pr->val.since_ns) / 1e9));
		json_object_object_add(po, "pinner_pid", json_object_new_int64(pr->val.caller.tgid));
		json_object_object_add(po, "kind",
				       json_object_new_string(pin_kind_name(pr->val.caller.kind)));
		json_object_object_add(po, "zero_page", json_object_new_boolean(pr->val.zero_page));
		json_object_object_add(po, "after_unmap", json_object_new_boolean(pr->val.after_unmap));
		if (pr->val.addr)
			json_object_object_add(po, "addr", jhex(pr->val.addr));
		if (pr->vma) {
			snprintf(range, sizeof(range), "0x%llx-0x%llx",
				 (unsigned long long)pr->vma->val.vm_start,
				 (unsigned long long)pr->vma->val.vm_end);
			json_object_object_add(po, "vma", json_object_new_string(range));
			json_object_object_add(po, "vma_pid", json_object_new_int64(pr->vma->key.tgid));
			json_object_object_add(po, "file", json_object_new_string(pr->vma->name));
		}
		json_object_array_add(outs, po);
	}
	json_object_object_add(o, "outstanding", outs);
	return o;
}

static json_object *timeline_json(const struct report *r)
{
	json_object *o = json_object_new_object(), *samples = json_object_new_array();

	json_object_object_add(o, "interval_ms", json_object_new_int(r->timeline_ms));
	for (size_t i = 0; i < r->nr_samples; i++) {
		const struct timeline_sample *s = &r->timeline[i];
		json_object *so = json_object_new_object(), *vs = json_object_new_array();

		json_object_object_add(so, "t_ns", json_object_new_int64(s->t_ns));
		for (size_t j = 0; j < s->nr; j++) {
			json_object *vo = json_object_new_object(), *rss = json_object_new_object();

			json_object_object_add(vo, "pid", json_object_new_int64(s->vmas[j].pid));
			json_object_object_add(vo, "start", jhex(s->vmas[j].vm_start));
			for (int m = 0; m < RSS_MEMBERS; m++)
				json_object_object_add(rss, rss_member_name(m),
						       json_object_new_int64(s->vmas[j].rss[m]));
			json_object_object_add(vo, "rss", rss);
			json_object_object_add(vo, "faults", json_object_new_int64(s->vmas[j].faults));
			json_object_array_add(vs, vo);
		}
		json_object_object_add(so, "vmas", vs);
		if (s->nr_mms) {
			json_object *ps = json_object_new_array();

			for (size_t j = 0; j < s->nr_mms; j++) {
				json_object *po = json_object_new_object(), *rss = json_object_new_object();

				json_object_object_add(po, "pid", json_object_new_int64(s->mms[j].val.tgid));
				for (int m = 0; m < RSS_MEMBERS; m++)
					json_object_object_add(rss, rss_member_name(m),
						json_object_new_int64(s->mms[j].val.pages[m]));
				json_object_object_add(po, "rss_stat", rss);
				json_object_array_add(ps, po);
			}
			json_object_object_add(so, "address_spaces", ps);
		}
		json_object_array_add(samples, so);
	}
	json_object_object_add(o, "samples", samples);
	return o;
}

json_object *finding_json(const struct finding *f)
{
	const struct vma_row *v = f->vma;
	json_object *o = json_object_new_object();
	char range[48];

	json_object_object_add(o, "rule", json_object_new_string(rules[f->rule].id));
	json_object_object_add(o, "severity", json_object_new_string(severity_name(f->severity)));
	json_object_object_add(o, "default_severity",
			       json_object_new_string(severity_name(rules[f->rule].severity)));
	if (f->policy)
		json_object_object_add(o, "policy", json_object_new_string(f->policy->reason));
	json_object_object_add(o, "count", json_object_new_int64(f->count));
	json_object_object_add(o, "source", json_object_new_string(f->src >= 0 ?
				pfn_src_name(f->src) : f->caller ? "pin" : "vma"));
	if (v) {
		json_object_object_add(o, "pid", json_object_new_int64(v->key.tgid));
		json_object_object_add(o, "comm", json_object_new_string(v->val.comm));
		snprintf(range, sizeof(range), "0x%llx-0x%llx", (unsigned long long)v->val.vm_start,
			 (unsigned long long)v->val.vm_end);
		json_object_object_add(o, "vma", json_object_new_string(range));
		json_object_object_add(o, "file", json_object_new_string(v->name));
		json_object_object_add(o, "vm_ops", json_object_new_string(v->vm_ops));
		json_object_object_add(o, "fault_handler", json_object_new_string(v->fault_handler));
		json_object_object_add(o, "mmap_handler", json_object_new_string(v->mmap_handler));
		json_object_object_add(o, "module",
				       v->module[0] ? json_object_new_string(v->module) : NULL);
	}
	if (f->caller) {
		const struct pin_caller_row *c = f->caller;
		json_object *st = json_object_new_array();

		json_object_object_add(o, "pinner_pid", json_object_new_int64(c->key.tgid));
		json_object_object_add(o, "pinner_comm", json_object_new_string(c->val.comm));
		json_object_object_add(o, "pin_kind", json_object_new_string(pin_kind_name(c->key.kind)));
		for (int i = 0; i < c->depth; i++)
			json_object_array_add(st, json_object_new_string(c->stack[i]));
		json_object_object_add(o, "caller_stack", st);
		json_object_object_add(o, "oldest_age_s", json_object_new_double(c->oldest_ns / 1e9));
		json_object_object_add(o, "max_hold_s", json_object_new_double(c->val.max_hold_ns / 1e9));
	}
	if (f->src >= 0) {
		json_object_object_add(o, "example_pfn", jhex(f->example_pfn));
		json_object_object_add(o, "class", json_object_new_string(pfn_class_name(f->cls)));
		json_object_object_add(o, "region", json_object_new_string(f->region));
	}
	if (f->member >= 0) {
		json_object_object_add(o, "member", json_object_new_string(rss_member_name(f->member)));
		json_object_object_add(o, "amount", json_object_new_int64(f->amount));
		json_object_object_add(o, "contributors", json_object_new_string(f->contributors));
	}
	if (f->rule == RULE_MMIO_CACHED) {
		json_object_object_add(o, "requested_cache",
				       json_object_new_string(cache_mode_name(f->req_cache)));
		json_object_object_add(o, "installed_cache",
				       json_object_new_string(f->inst_cache == 0xff ? "unknown" :
							      cache_mode_name(f->inst_cache)));
	}
	json_object_object_add(o, "explanation", json_object_new_string(rules[f->rule].explain));
	return o;
}

static json_object *proc_json(const struct proc_row *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "ppid", json_object_new_int64(p->val.ppid));
	json_object_object_add(o, "comm", json_object_new_string(p->val.comm));
	json_object_object_add(o, "exited", json_object_new_boolean(p->val.exited));
	if (p->val.exited)
		json_object_object_add(o, "exit_status", json_object_new_int(p->val.exit_code));
	json_object_object_add(o, "faults", json_object_new_int64(p->val.faults));
	json_object_object_add(o, "faults_in_vmas", json_object_new_int64(p->vma_faults));
	if (p->val.exited) {
		json_object_object_add(o, "task_minflt", json_object_new_int64(p->val.task_minflt));
		json_object_object_add(o, "task_majflt", json_object_new_int64(p->val.task_majflt));
	}
	if (p->have_rss_stat) {
		json_object *cur = json_object_new_object(), *peak = json_object_new_object();

		for (int m = 0; m < RSS_MEMBERS; m++) {
			json_object_object_add(cur, rss_member_name(m),
					       json_object_new_int64(p->rss_stat[m]));
			json_object_object_add(peak, rss_member_name(m),
					       json_object_new_int64(p->rss_stat_peak[m]));
		}
		json_object_object_add(o, "rss_stat", cur);
		if (p->rss_stat_sampled)
			json_object_put(peak);
		else
			json_object_object_add(o, "rss_stat_peak", peak);
	}
	if (p->stat_minflt >= 0) {
		json_object_object_add(o, "stat_minflt", json_object_new_int64(p->stat_minflt));
		json_object_object_add(o, "stat_majflt", json_object_new_int64(p->stat_majflt));
	}
	return o;
}

int report_write_json(const struct report *r, FILE *f)
{
	json_object *root = json_object_new_object();
	json_object *vmas = json_object_new_array();
	json_object *procs = json_object_new_array();
	json_object *totals = json_object_new_object();
	json_object *dropped = json_object_new_object();
	__u64 faults = 0, ndrops = 0;
	int ret;

	json_object_object_add(root, "pfnscope", report_header_json(r));
	for (size_t i = 0; i < r->nr_procs; i++) {
		json_object_array_add(procs, proc_json(&r->procs[i]));
		faults += r->procs[i].val.faults;
	}
	for (size_t i = 0; i < r->nr_vmas; i++)
		if (!r->vmas[i].hidden)
			json_object_array_add(vmas, vma_json(&r->vmas[i]));
	json_object_object_add(root, "processes", procs);
	{
		json_object *mms = json_object_new_array();

		for (size_t i = 0; i < r->nr_mms; i++)
			json_object_array_add(mms, mm_json(r, &r->mms[i]));
		json_object_object_add(root, "address_spaces", mms);
	}
	json_object_object_add(root, "pins", pins_json(r));
	if (r->timeline_ms)
		json_object_object_add(root, "timeline", timeline_json(r));
	json_object_object_add(root, "vmas", vmas);
	{
		json_object *fa = json_object_new_array(), *sup = json_object_new_array();

		for (size_t i = 0; i < r->nr_findings; i++) {
			const struct finding *f = &r->findings[i];

			if (f->vma ? f->vma->hidden : r->module_filter != NULL)
				continue;
			json_object_array_add(f->severity == SEV_NONE ? sup : fa, finding_json(f));
		}
		json_object_object_add(root, "findings", fa);
		json_object_object_add(root, "suppressed", sup);
	}
	for (int d = 0; d < DROP__MAX; d++) {
		json_object_object_add(dropped, drop_reason_name(d),
				       json_object_new_int64(r->drops[d]));
		ndrops += r->drops[d];
	}
	json_object_object_add(totals, "processes", json_object_new_int64(r->nr_procs));
	json_object_object_add(totals, "vmas", json_object_new_int64(r->nr_vmas));
	{
		json_object *bysev = json_object_new_object();
		__u64 n[SEV_NONE + 1] = {};

		for (size_t i = 0; i < r->nr_findings; i++)
			if (r->findings[i].vma ? !r->findings[i].vma->hidden : !r->module_filter)
				n[r->findings[i].severity]++;
		for (int s = SEV_INFO; s < SEV_NONE; s++)
			json_object_object_add(bysev, severity_name(s), json_object_new_int64(n[s]));
		json_object_object_add(bysev, "suppressed", json_object_new_int64(n[SEV_NONE]));
		json_object_object_add(totals, "findings", bysev);
	}
	json_object_object_add(totals, "faults", json_object_new_int64(faults));
	json_object_object_add(totals, "dropped_events", json_object_new_int64(ndrops));
	json_object_object_add(totals, "dropped", dropped);
	json_object_object_add(totals, "symbols_unresolved",
			       json_object_new_int64(r->syms_unresolved));
	json_object_object_add(root, "totals", totals);

	ret = fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE), f);
	fputc('\n', f);
	json_object_put(root);
	return ret < 0 ? -1 : 0;
}

void report_print_findings(const struct report *r, FILE *f)
{
	size_t shown = 0, suppressed = 0;

	for (size_t i = 0; i < r->nr_findings; i++) {
		const struct finding *fd = &r->findings[i];
		const struct vma_row *v = fd->vma;

		if (v ? v->hidden : r->module_filter != NULL)
			continue;
		if (fd->severity == SEV_NONE) {
			suppressed++;
			continue;
		}
		if (!shown++)
			fprintf(f, "\nFINDINGS\n");
		if (fd->caller) {
			const struct pin_caller_row *c = fd->caller;

			fprintf(f, "%-7s %s: pid %u (%s) %llu %s page%s", severity_name(fd->severity),
				rules[fd->rule].id, c->key.tgid, c->val.comm,
				(unsigned long long)fd->count, pin_kind_name(c->key.kind),
				fd->count == 1 ? "" : "s");
			if (v)
				fprintf(f, " of %llx-%llx %s", (unsigned long long)v->val.vm_start,
					(unsigned long long)v->val.vm_end, v->name);
			if (fd->rule == RULE_PIN_LEAK || fd->rule == RULE_LONGTERM_PIN)
				fprintf(f, ", oldest %.1f s", c->oldest_ns / 1e9);
			fprintf(f, "\n        pinned from:");
			for (int k = 0; k < c->depth && k < 6; k++)
				fprintf(f, " %s%s", k ? "<- " : "", c->stack[k]);
			fprintf(f, "\n        %s\n", rules[fd->rule].explain);
			continue;
		}
		if (fd->src < 0) {
			fprintf(f, "%-7s %s: pid %u (%s) %llx-%llx %s, handler %s: ",
				severity_name(fd->severity), rules[fd->rule].id, v->key.tgid,
				v->val.comm, (unsigned long long)v->val.vm_start,
				(unsigned long long)v->val.vm_end, v->name, v->fault_handler);
			if (fd->member >= 0)
				fprintf(f, "%s RSS off by %+lld pages at exit (%s)\n",
					rss_member_name(fd->member), fd->amount, fd->contributors);
			else
				fprintf(f, "%llu bad pte report%s\n", (unsigned long long)fd->count,
					fd->count == 1 ? "" : "s");
			fprintf(f, "        %s\n", rules[fd->rule].explain);
			continue;
		}
		fprintf(f, "%-7s %s: pid %u (%s) %llx-%llx %s, handler %s%s%s%s: %llu x %s, e.g. pfn "
			"0x%llx (%s, %s)\n", severity_name(fd->severity), rules[fd->rule].id,
			v->key.tgid, v->val.comm, (unsigned long long)v->val.vm_start,
			(unsigned long long)v->val.vm_end, v->name,
			v->fault_handler[0] != '-' ? v->fault_handler : v->mmap_handler,
			v->module[0] && !strstr(v->fault_handler, "[") ? " [" : "",
			v->module[0] && !strstr(v->fault_handler, "[") ? v->module : "",
			v->module[0] && !strstr(v->fault_handler, "[") ? "]" : "",
			(unsigned long long)fd->count, pfn_src_name(fd->src),
			(unsigned long long)fd->example_pfn, pfn_class_name(fd->cls),
			fd->region[0] ? fd->region : "no region");
		if (fd->rule == RULE_MMIO_CACHED)
			fprintf(f, "        requested %s, installed %s\n", cache_mode_name(fd->req_cache),
				fd->inst_cache == 0xff ? "unknown" : cache_mode_name(fd->inst_cache));
		fprintf(f, "        %s\n", rules[fd->rule].explain);
	}
	if (!shown)
		fprintf(f, "\nNo findings.\n");
	if (suppressed)
		fprintf(f, "%zu finding%s suppressed by policy (kernel's own legitimate mappings; "
			"see JSON \"suppressed\")\n", suppressed, suppressed == 1 ? "" : "s");
}

/* One line per hook that is not attached, so a degraded run says what it cannot see. */
static void report_print_plan(const struct report *r, FILE *f)
{
	int attached = 0, missing = 0;

	for (int h = 0; r->plan && h < HOOK__MAX; h++) {
		const struct hook_plan *hp = &r->plan->hooks[h];
		const struct candidate *c = hp->chosen >= 0 ? &hp->def->cand[hp->chosen] : NULL;

		if (hp->status == HOOK_ATTACHED) {
			attached++;
			if (c && c->limits)
				fprintf(f, "degraded: %s via %s %s: %s\n", hp->def->name,
					mech_name(c->mech), c->target, c->limits);
			continue;
		}
		if (hp->status == HOOK_NOT_REQUESTED)	/* this subcommand does without it */
			continue;
		missing++;
		fprintf(f, "missing:  %s (%s): %s\n", hp->def->name, hook_status_name(hp->status),
			hp->def->lost);
	}
	if (missing)
		fprintf(f, "%d hooks attached, %d missing: 'pfnscope probe -v' says why\n\n", attached,
			missing);
}

void report_print_table(const struct report *r, FILE *f)
{
	__u64 ndrops = 0;

	report_print_plan(r, f);
	fprintf(f, "%-7s %-25s %-22s %-21s %-22s %-26s %8s %6s %7s\n", "PID", "RANGE", "NAME",
		"FLAGS", "VM_OPS", "FAULT HANDLER [MODULE]", "FAULTS", "MAJOR", "RSS-IN");
	for (size_t i = 0; i < r->nr_vmas; i++) {
		const struct vma_row *v = &r->vmas[i];
		char range[40], flags[160], handler[SYM_LEN + 70];

		if (v->hidden)
			continue;
		if (v->val.kind == VMA_KIND_UNATTRIBUTED)
			snprintf(range, sizeof(range), "-");
		else
			snprintf(range, sizeof(range), "%llx-%llx",
				 (unsigned long long)v->val.vm_start,
				 (unsigned long long)v->val.vm_end);
		vmflags_format(v->val.vm_flags & ~0xf0ULL, flags, sizeof(flags)); /* drop may* */
		snprintf(handler, sizeof(handler), "%s", v->fault_handler);
		{
			__u64 in = 0;

			for (int m = 0; m < RSS_MEMBERS; m++)
				in += v->val.rss_in[m];
			fprintf(f, "%-7u %-25s %-22.22s %-21.21s %-22.22s %-26.26s %8llu %6llu %7llu\n",
				v->key.tgid, range, v->name, flags, v->vm_ops, handler,
				(unsigned long long)v->val.faults,
				(unsigned long long)v->val.faults_major, (unsigned long long)in);
		}
		if (v->earlier)
			fprintf(f, "%-7s   of an earlier process %u (%s): it exited and its pid was "
				"reused\n", "", v->key.tgid, v->val.comm);
		for (int c = 0; c < CLASS__MAX; c++) {
			if (!v->pages_by_class[c] || (c == CLASS_RAM && !v->reserved_hits &&
						      !v->pages_by_class[CLASS_MMIO] &&
						      !(v->val.vm_flags & (PFN_VM_PFNMAP | PFN_VM_MIXEDMAP))))
				continue;
			fprintf(f, "%-7s   %llu %s page%s (top region: %s)\n", "",
				(unsigned long long)v->pages_by_class[c], pfn_class_name(c),
				v->pages_by_class[c] == 1 ? "" : "s", v->top[0].name);
		}
	}
	fprintf(f, "\n%-7s %-16s %6s %10s %12s %12s\n", "PID", "COMM", "EXIT", "FAULTS",
		"KERNEL-MIN", "KERNEL-MAJ");
	for (size_t i = 0; i < r->nr_procs; i++) {
		const struct proc_row *p = &r->procs[i];
		char ex[16] = "-", kmin[24] = "-", kmaj[24] = "-";

		if (p->val.exited)
			snprintf(ex, sizeof(ex), "%d", p->val.exit_code >> 8 & 0xff);
		if (p->val.exited) {
			snprintf(kmin, sizeof(kmin), "%llu", (unsigned long long)p->val.task_minflt);
			snprintf(kmaj, sizeof(kmaj), "%llu", (unsigned long long)p->val.task_majflt);
		}
		fprintf(f, "%-7u %-16s %6s %10llu %12s %12s\n", p->pid, p->val.comm, ex,
			(unsigned long long)p->val.faults, kmin, kmaj);
	}
	report_print_findings(r, f);
	for (int d = 0; d < DROP__MAX; d++)
		ndrops += r->drops[d];
	fprintf(f, "\n%zu VMAs, %zu processes, %llu dropped events", r->nr_vmas, r->nr_procs,
		(unsigned long long)ndrops);
	for (int d = 0; d < DROP__MAX; d++)
		if (r->drops[d])
			fprintf(f, " (%s: %llu)", drop_reason_name(d),
				(unsigned long long)r->drops[d]);
	if (r->syms_unresolved)
		fprintf(f, ", %lu kernel symbols unresolved", r->syms_unresolved);
	fputc('\n', f);
}
