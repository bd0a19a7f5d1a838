// SPDX-License-Identifier: GPL-2.0
/* Open, share, configure (FOLL_* from BTF), load, attach bpf/gup.bpf.c; read what it kept. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "corebtf.h"
#include "pins.h"
#include "report.h"
#include "ksyms.h"
#include "state.h"
#include "fault.skel.h"
#include "gup.skel.h"

const unsigned int gup_hooks_mask = (1u << HOOK_PIN_GRAB) | (1u << HOOK_PIN_RELEASE) |
				    (1u << HOOK_PIN_ADDR) | (1u << HOOK_PIN_UNMAP);

/* The value of enumerator @name in any enum of @btf (6.18 has FOLL_* in anonymous enums). */
static bool btf_enum_value(const struct btf *btf, const char *name, __u32 *val)
{
	for (__u32 id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++)
			if (!strcmp(btf__name_by_offset(btf, e[i].name_off), name)) {
				*val = e[i].val;
				return true;
			}
	}
	return false;
}

/* try_grab_page() returns bool up to 6.1 and int from 6.2 */
static bool grab_page_returns_int(const struct btf *btf)
{
	int id = plan_btf_find("try_grab_page", BTF_KIND_FUNC);
	const struct btf_type *t;

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_int(t) && t->size == 4;
}

void gup_prepare(struct gup_ctx *gc, const struct plan *plan, const struct btf *btf)
{
	__u32 v;

	memset(gc, 0, sizeof(*gc));	/* 0: not in BTF, bpf/gup.bpf.c's 6.1 values stand */
	gc->mask = gup_hooks_mask;
	if (plan->hooks[HOOK_PIN_GRAB].status != HOOK_PLANNED || !btf)
		return;
	if (btf_enum_value(btf, "FOLL_PIN", &v))
		gc->foll_pin = v;
	if (btf_enum_value(btf, "FOLL_GET", &v))
		gc->foll_get = v;
	if (btf_enum_value(btf, "FOLL_LONGTERM", &v))
		gc->foll_longterm = v;
	gc->grab_page_returns_int = grab_page_returns_int(btf);
}

/* As fault_try(): open with @core, share, configure, load; on failure nothing is left open. */
static int gup_try(struct gup_ctx *gc, struct fault_ctx *fc, struct plan *plan,
		   const char *core, bool *loading)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = core);
	struct fault_bpf *f = fc->skel;
	int err;

	gc->skel = gup_bpf__open_opts(&oo);
	if (!gc->skel)
		return -errno;
	gc->skel->rodata->filter_tgids = f->rodata->filter_tgids;
	gc->skel->rodata->ignore_tgid = f->rodata->ignore_tgid;
	gc->skel->rodata->trace_mask = f->rodata->trace_mask;
	gc->skel->rodata->trace_slots = f->rodata->trace_slots;
	if (gc->foll_pin)
		gc->skel->rodata->foll_pin = gc->foll_pin;
	if (gc->foll_get)
		gc->skel->rodata->foll_get = gc->foll_get;
	if (gc->foll_longterm)
		gc->skel->rodata->foll_longterm = gc->foll_longterm;
	gc->skel->rodata->grab_page_returns_int = gc->grab_page_returns_int;
	err = bpf_map__reuse_fd(gc->skel->maps.traced, bpf_map__fd(f->maps.traced)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.drops, bpf_map__fd(f->maps.drops)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.vmas, bpf_map__fd(f->maps.vmas)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.procs, bpf_map__fd(f->maps.procs)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.mms, bpf_map__fd(f->maps.mms)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.seqs, bpf_map__fd(f->maps.seqs)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.events, bpf_map__fd(f->maps.events)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.counters, bpf_map__fd(f->maps.counters));
	if (!err && fc->pin_dir)
		err = maps_pin_dir(gc->skel->obj, fc->pin_dir);
	if (!err) {
		plan_apply(plan, gc->skel->obj, gc->mask);
		stash_fit(gc->skel->maps.grab_stash, (struct bpf_program *[]){
			gc->skel->progs.pin_grab_page_kprobe,
			gc->skel->progs.pin_grab_page_kretprobe, NULL });
		*loading = true;
		err = gup_bpf__load(gc->skel);
	}
	if (err) {
		gup_bpf__destroy(gc->skel);
		gc->skel = NULL;
		return err;
	}
	gc->plan = plan;
	return 0;
}

int gup_start(struct gup_ctx *gc, struct fault_ctx *fc, struct plan *plan)
{
	const char *core = corebtf_lookup();
	bool loading = false;
	int err;

	if (plan->hooks[HOOK_PIN_GRAB].status != HOOK_PLANNED)
		return 0;	/* without grabs the rest means nothing */
	err = gup_try(gc, fc, plan, core, &loading);
	if (err && loading && core && !(err = gup_try(gc, fc, plan, NULL, &loading)))
		corebtf_reject();
	if (err) {
		pr_warn("cannot load the pin BPF programs (%s): per-process pins unavailable "
			"(-v for the verifier log)", strerror(-err));
		plan_fail(plan, gc->mask, err);
	}
	return err;
}

const void *gup_obj_bytes(size_t *sz)
{
	return gup_bpf__elf_bytes(sz);
}

void gup_attach(struct gup_ctx *gc, const struct kaddrs *ka)
{
	if (!gc->skel)
		return;
	gc->skel->bss->special_mapping_name_fn = ka->special_mapping_name;
	gc->skel->bss->vmemmap_base_addr = ka->vmemmap_base;
	gc->skel->bss->zero_pfn_addr = ka->zero_pfn;
	plan_attach(gc->plan, gc->skel->obj, gc->mask);
}

void gup_stop(struct gup_ctx *gc)
{
	if (gc->plan)
		plan_detach(gc->plan, gc->mask);
	gup_bpf__destroy(gc->skel);
	memset(gc, 0, sizeof(*gc));
}

int vmstat_pins(long long *acquired, long long *released)
{
	char line[128];
	FILE *f;
	int fd;

	*acquired = *released = -1;
	/* per-CPU vmstat deltas are folded in only on refresh (vmstat_refresh()) */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			pr_debug("stat_refresh: %s", strerror(errno));
		close(fd);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "nr_foll_pin_acquired %lld", acquired);
		sscanf(line, "nr_foll_pin_released %lld", released);
	}
	fclose(f);
	return *acquired < 0 ? -1 : 0;
}

static void read_totals(const struct state *st, struct report *r)
{
	const struct state_table *t = &st->t[ST_PIN_TOTALS];

	for (size_t i = 0; i < t->n; i++) {
		__u32 k = *(__u32 *)st_key(t, i);

		if (k < PT__MAX)
			r->pins.totals[k] = *(__u64 *)st_val(t, i);
	}
}

static const __u64 *stack_of(const struct state *st, __s32 id)
{
	const struct state_table *t = &st->t[ST_PIN_STACKS];

	for (size_t i = 0; i < t->n && id >= 0; i++)
		if (*(__s32 *)st_key(t, i) == id)
			return st_val(t, i);
	return NULL;
}

static int read_callers(const struct state *st, struct ksyms *ks, struct report *r)
{
	int err = STATE_ROWS(&st->t[ST_PIN_CALLERS], r->pins.callers, r->pins.nr_callers,
			     struct pin_caller_row, key, val);

	for (size_t c = 0; c < r->pins.nr_callers && !err; c++) {
		struct pin_caller_row *row = &r->pins.callers[c];
		const __u64 *ips = stack_of(st, row->key.stack_id);
		int i = 0;

		if (!ips)
			continue;
		/* the innermost frames are the BPF trampoline's (no symbol) */
		while (i < 32 && ips[i] && !ksyms_find(ks, ips[i], KSYM_TEXT, 0x10000))
			i++;
		for (; i < 32 && ips[i] && row->depth < PIN_STACK_DEPTH; i++)
			ksyms_format(ks, ips[i], KSYM_TEXT, env.show_kernel_addresses,
				     row->stack[row->depth++], SYM_LEN);
	}
	return err;
}


static void read_sites(const struct state *st, struct report *r)
{
	const struct state_table *t = &st->t[ST_PIN_SITES];

	if (t->ksz != sizeof(struct pin_site_key) || t->vsz < sizeof(struct pin_site_val))
		return;
	for (size_t i = 0; i < t->n; i++) {
		const struct pin_site_key *key = st_key(t, i);
		const struct pin_site_val *v = st_val(t, i);
		struct vma_row *row;

		if (key->kind >= PIN_KIND__MAX)
			continue;
		row = report_vma_at(r, key->mm_id, key->addr);
		if (!row)
			continue;
		row->pins_acquired[key->kind] += v->acquired;
		row->pins_released[key->kind] += v->released;
	}
}

int pins_collect(const struct state *st, struct ksyms *ks, const struct iomem *io,
		 struct report *r)
{
	const struct state_table *pt = &st->t[ST_PINS];
	int err;

	if (!pt->present)
		return 0;
	err = report_index(r);
	if (err)
		return err;
	r->pins.have = true;
	r->pins.now_ns = st->t_ns;
	read_totals(st, r);
	err = read_callers(st, ks, r);
	if (err)
		return err;
	read_sites(st, r);
	if (pt->ksz != sizeof(__u64))
		return -EINVAL;
	for (size_t i = 0; i < pt->n; i++) {
		struct pin_row *row, *n;

		n = realloc(r->pins.pins, (r->pins.nr_pins + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->pins.pins = n;
		row = &n[r->pins.nr_pins];
		memset(row, 0, sizeof(*row));
		memcpy(&row->val, st_val(pt, i), pt->vsz < sizeof(row->val) ? pt->vsz : sizeof(row->val));
		row->pfn = *(__u64 *)st_key(pt, i);
		row->cls = classify_pfn(io, row->pfn, PFNST_HAS_PAGE, &row->region);
		row->vma = report_vma_at(r, row->val.mm_id, row->val.addr);
		if (row->vma && row->val.caller.kind < PIN_KIND__MAX)
			row->vma->pins_outstanding[row->val.caller.kind] += row->val.refs;
		for (size_t c = 0; c < r->pins.nr_callers; c++)
			if (!memcmp(&r->pins.callers[c].key, &row->val.caller, sizeof(row->val.caller))) {
				struct pin_caller_row *cr = &r->pins.callers[c];
				__u64 age = r->pins.now_ns - row->val.since_ns;

				row->caller = cr;
				cr->outstanding += row->val.refs;
				if (age > cr->oldest_ns)
					cr->oldest_ns = age;
			}
		r->pins.nr_pins++;
	}
	return 0;
}

/* The pin maps' fds for state_read(). */
void gup_state_fds(const struct gup_ctx *gc, struct state_fds *f)
{
	if (!gc->skel)
		return;
	f->fd[ST_PINS] = bpf_map__fd(gc->skel->maps.pins);
	f->fd[ST_PIN_CALLERS] = bpf_map__fd(gc->skel->maps.pin_callers);
	f->fd[ST_PIN_SITES] = bpf_map__fd(gc->skel->maps.pin_sites);
	f->fd[ST_PIN_STACKS] = bpf_map__fd(gc->skel->maps.pin_stacks);
	f->fd[ST_PIN_TOTALS] = bpf_map__fd(gc->skel->maps.pin_totals);
}
