// SPDX-License-Identifier: GPL-2.0
/* Classification of the pfn rows and the rules that turn them into findings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdlib.h>
#include "report.h"
#include "vmflags.h"

const char *pfn_src_name(int src)
{
	static const char *const names[SRC__MAX] = {
		[SRC_FAULT_RETURN] = "fault-return", [SRC_PFN_INSERT] = "pfn-insert",
		[SRC_PFN_REMAP] = "pfn-remap", [SRC_PAGE_INSERT] = "page-insert",
	};
	return src >= 0 && src < SRC__MAX ? names[src] : "?";
}

const char *rss_member_name(int m)
{
	static const char *const names[RSS_MEMBERS] = {
		[RSS_FILE] = "file", [RSS_ANON] = "anon", [RSS_SWAP] = "swap", [RSS_SHMEM] = "shmem",
	};
	return m >= 0 && m < RSS_MEMBERS ? names[m] : "?";
}


static void add_region(struct vma_row *v, const char *region, __u64 pages)
{
	int slot = -1;

	for (int i = 0; i < TOP_REGIONS; i++) {
		if (!strcmp(v->top[i].name, region)) {
			v->top[i].pages += pages;
			goto sort;
		}
		if (slot < 0 && !v->top[i].name[0])
			slot = i;
	}
	if (slot < 0) {	/* replace the smallest if this one is larger */
		slot = TOP_REGIONS - 1;
		if (v->top[slot].pages >= pages)
			return;
	}
	snprintf(v->top[slot].name, sizeof(v->top[slot].name), "%s", region);
	v->top[slot].pages = pages;
sort:
	for (int i = 1; i < TOP_REGIONS; i++)
		for (int j = i; j > 0 && v->top[j].pages > v->top[j - 1].pages; j--) {
			typeof(v->top[0]) t = v->top[j];

			v->top[j] = v->top[j - 1];
			v->top[j - 1] = t;
		}
}

/* The rule a pfn row breaks, or -1 (also applied per event by trace). */
int pfn_rule(const struct pfn_row *p)
{
	unsigned int st = p->key.state;
	int src = p->key.src;
	bool pfnmap = p->vma && (p->vma->val.vm_flags & PFN_VM_PFNMAP);

	if (p->cls == CLASS_RAM && (st & PFNST_REFCOUNT0))
		return RULE_FREE_PAGE_MAPPED;
	if (src == SRC_FAULT_RETURN && (p->cls == CLASS_MMIO || p->cls == CLASS_INVALID))
		return RULE_NONRAM_PAGE;
	if (src == SRC_FAULT_RETURN && p->cls == CLASS_RESERVED)
		return RULE_RESERVED_PAGE;
	if ((src == SRC_PFN_INSERT || src == SRC_PFN_REMAP) && p->cls == CLASS_MMIO &&
	    cache_mode_is_wb(p->key.req_cache))
		return RULE_MMIO_CACHED;
	if ((src == SRC_PFN_INSERT || src == SRC_PFN_REMAP) && p->cls == CLASS_RAM && pfnmap)
		return RULE_RAM_PFNMAP;
	return -1;
}

static struct finding *finding_new(struct report *r, int rule, const struct vma_row *v)
{
	struct finding *f = realloc(r->findings, (r->nr_findings + 1) * sizeof(*f));

	if (!f)
		return NULL;
	r->findings = f;
	f = &r->findings[r->nr_findings++];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->vma = v;
	f->src = -1;
	f->member = -1;
	return f;
}

static void apply_policy(struct finding *f, const struct policy *pol)
{
	f->policy = pol ? policy_match(pol, f->rule, f->vma) : NULL;
	f->severity = f->policy ? f->policy->severity : rules[f->rule].severity;
}

/* BAD_PTE per VMA; RSS_IMBALANCE per fully observed, exited address space and member. */
static int vma_level_findings(struct report *r, const struct policy *pol)
{
	for (size_t i = 0; i < r->nr_vmas; i++) {
		struct finding *f;

		if (!r->vmas[i].val.bad_ptes)
			continue;
		f = finding_new(r, RULE_BAD_PTE, &r->vmas[i]);
		if (!f)
			return -ENOMEM;
		f->count = r->vmas[i].val.bad_ptes;
		apply_policy(f, pol);
	}
	for (size_t i = 0; i < r->nr_mms; i++) {
		const struct mm_row *mm = &r->mms[i];

		if ((mm->val.flags & (MM_EXITED | MM_UNOBSERVED)) != MM_EXITED)
			continue;
		for (int m = 0; m < RSS_MEMBERS; m++) {
			const struct vma_row *worst = NULL;
			long long worst_net = 0;
			struct finding *f;
			size_t len = 0;

			if (!mm->net[m])
				continue;
			f = finding_new(r, RULE_RSS_IMBALANCE, NULL);
			if (!f)
				return -ENOMEM;
			for (size_t v = 0; v < r->nr_vmas; v++) {
				const struct vma_row *vr = &r->vmas[v];
				long long net = rss_net(&vr->val, m);

				if (vr->merged || vr->val.mm != mm->val.id || vr->key.tgid != mm->val.tgid ||
				    !net)
					continue;
				len += snprintf(f->contributors + len,
						len < sizeof(f->contributors) ? sizeof(f->contributors) - len : 0,
						"%s%llx-%llx %s (%+lld)", len ? ", " : "",
						(unsigned long long)vr->val.vm_start,
						(unsigned long long)vr->val.vm_end, vr->name, net);
				if (!worst || llabs(net) > llabs(worst_net)) {
					worst = vr;
					worst_net = net;
				}
			}
			if (mm->carried[m])	/* rows the agent deleted before the exit */
				len += snprintf(f->contributors + len,
						len < sizeof(f->contributors) ? sizeof(f->contributors) - len : 0,
						"%sfreed VMAs (%+lld)", len ? ", " : "", mm->carried[m]);
			if (!worst) {	/* no row carries it: cannot attribute */
				r->nr_findings--;
				continue;
			}
			f->vma = worst;
			f->member = m;
			f->amount = mm->net[m];
			f->count = llabs(mm->net[m]);
			apply_policy(f, pol);
		}
	}
	return 0;
}

static struct finding *finding_for(struct report *r, int rule, const struct pfn_row *p)
{
	struct finding *f;

	for (size_t i = 0; i < r->nr_findings; i++) {
		f = &r->findings[i];
		if (f->rule == rule && f->vma == p->vma && f->src == p->key.src)
			return f;
	}
	f = finding_new(r, rule, p->vma);
	if (!f)
		return NULL;
	f->src = p->key.src;
	f->example_pfn = p->val.example_pfn;
	f->cls = p->cls;
	snprintf(f->region, sizeof(f->region), "%s", p->region);
	f->req_cache = p->key.req_cache;
	f->inst_cache = p->key.inst_cache;
	return f;
}

/* PIN_LEAK, PIN_AFTER_UNMAP, LONGTERM_PIN per pinning caller (process, kind, stack). */
static int pin_findings(struct report *r, const struct policy *pol)
{
	for (size_t c = 0; c < r->pins.nr_callers; c++) {
		const struct pin_caller_row *cr = &r->pins.callers[c];
		const struct vma_row *v = NULL;
		struct finding *f;
		int rules_of[3], n = 0;

		if (cr->key.kind == PIN_KIND_GET)
			continue;
		for (size_t i = 0; i < r->pins.nr_pins && !v; i++)
			if (r->pins.pins[i].caller == cr)
				v = r->pins.pins[i].vma;
		if (cr->outstanding)
			rules_of[n++] = RULE_PIN_LEAK;
		if (cr->val.after_unmap)
			rules_of[n++] = RULE_PIN_AFTER_UNMAP;
		if (cr->key.kind == PIN_KIND_LONGTERM && cr->val.acquired)
			rules_of[n++] = RULE_LONGTERM_PIN;
		for (int k = 0; k < n; k++) {
			f = finding_new(r, rules_of[k], v);
			if (!f)
				return -ENOMEM;
			f->caller = cr;
			f->count = rules_of[k] == RULE_PIN_LEAK ? cr->outstanding :
				   rules_of[k] == RULE_PIN_AFTER_UNMAP ? cr->val.after_unmap :
				   cr->val.acquired;
			apply_policy(f, pol);
		}
	}
	return 0;
}

int findings_evaluate(struct report *r, const struct iomem *io, const struct policy *pol)
{
	int err = report_index(r);

	if (err)
		return err;
	for (size_t i = 0; i < r->nr_pfns; i++) {
		struct pfn_row *p = &r->pfns[i];
		__u64 pages = p->val.count;
		struct finding *f;
		int rule;

		p->cls = classify_pfn(io, p->val.example_pfn, p->key.state, &p->region);
		p->vma = report_vma_by_id(r, p->key.vma_id);
		if (p->vma) {
			p->vma->pages_by_class[p->cls] += pages;
			if (p->key.src < SRC__MAX)
				p->vma->by_src[p->key.src] += pages;
			if (p->key.state & PFNST_RESERVED)
				p->vma->reserved_hits += pages;
			add_region(p->vma, p->region[0] ? p->region : "(no region)", pages);
		}
		rule = pfn_rule(p);
		if (rule < 0 || !p->vma)
			continue;
		f = finding_for(r, rule, p);
		if (!f)
			return -ENOMEM;
		f->count += pages;
		apply_policy(f, pol);
	}
	err = vma_level_findings(r, pol);
	return err ? err : pin_findings(r, pol);
}

enum severity findings_worst(const struct report *r)
{
	enum severity worst = SEV_NONE;

	for (size_t i = 0; i < r->nr_findings; i++) {
		const struct finding *f = &r->findings[i];

		if (f->severity == SEV_NONE || (f->vma && f->vma->hidden) ||
		    (!f->vma && r->module_filter))
			continue;
		if (worst == SEV_NONE || f->severity > worst)
			worst = f->severity;
	}
	return worst;
}
