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
#include "pins.h"
#include "report.h"
#include "ksyms.h"
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
	int id = btf__find_by_name_kind(btf, "try_grab_page", BTF_KIND_FUNC);
	const struct btf_type *t;

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_int(t) && t->size == 4;
}

int gup_start(struct gup_ctx *gc, struct fault_ctx *fc, struct ksyms *ks, struct plan *plan)
{
	const struct ksym *zp = ksyms_by_name(ks, "zero_pfn");
	__u64 ks_zero_pfn = zp ? zp->addr : 0;
	struct fault_bpf *f = fc->skel;
	struct btf *btf;
	int err;

	memset(gc, 0, sizeof(*gc));
	gc->mask = gup_hooks_mask;
	if (plan->hooks[HOOK_PIN_GRAB].status != HOOK_PLANNED)
		return 0;	/* without grabs the rest means nothing */
	gc->skel = gup_bpf__open();
	if (!gc->skel)
		return -errno;
	gc->skel->rodata->filter_tgids = f->rodata->filter_tgids;
	gc->skel->rodata->vmemmap_base_addr = f->rodata->vmemmap_base_addr;
	gc->skel->rodata->zero_pfn_addr = ks_zero_pfn;
	btf = btf__load_vmlinux_btf();
	if (btf) {
		__u32 v;

		if (btf_enum_value(btf, "FOLL_PIN", &v))
			gc->skel->rodata->foll_pin = v;
		if (btf_enum_value(btf, "FOLL_GET", &v))
			gc->skel->rodata->foll_get = v;
		if (btf_enum_value(btf, "FOLL_LONGTERM", &v))
			gc->skel->rodata->foll_longterm = v;
		gc->skel->rodata->grab_page_returns_int = grab_page_returns_int(btf);
		btf__free(btf);
	}
	err = bpf_map__reuse_fd(gc->skel->maps.traced, bpf_map__fd(f->maps.traced)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.drops, bpf_map__fd(f->maps.drops)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.vmas, bpf_map__fd(f->maps.vmas)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.procs, bpf_map__fd(f->maps.procs)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.mms, bpf_map__fd(f->maps.mms)) ?:
	      bpf_map__reuse_fd(gc->skel->maps.seqs, bpf_map__fd(f->maps.seqs));
	if (!err) {
		plan_apply(plan, gc->skel->obj, gc->mask);
		err = gup_bpf__load(gc->skel);
	}
	if (err) {
		pr_warn("cannot load the pin BPF programs (%s): per-process pins unavailable "
			"(-v for the verifier log)", strerror(-err));
		plan_fail(plan, gc->mask, err);
		gup_bpf__destroy(gc->skel);
		gc->skel = NULL;
		return err;
	}
	gc->plan = plan;
	plan_attach(plan, gc->skel->obj, gc->mask);
	return 0;
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

static int read_totals(struct gup_ctx *gc, struct report *r)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(gc->skel->maps.pin_totals);
	__u64 *vals = calloc(ncpu, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (__u32 t = 0; t < PT__MAX; t++) {
		if (bpf_map_lookup_elem(fd, &t, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			r->pins.totals[t] += vals[c];
	}
	free(vals);
	return 0;
}

static int read_callers(struct gup_ctx *gc, struct ksyms *ks, struct report *r)
{
	int fd = bpf_map__fd(gc->skel->maps.pin_callers);
	int sfd = bpf_map__fd(gc->skel->maps.pin_stacks);
	struct pin_caller_key key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pin_caller_row *row, *n;
		__u64 ips[32] = {};

		key = next;
		prev = &key;
		n = realloc(r->pins.callers, (r->pins.nr_callers + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->pins.callers = n;
		row = &n[r->pins.nr_callers];
		memset(row, 0, sizeof(*row));
		if (bpf_map_lookup_elem(fd, &key, &row->val))
			continue;
		row->key = key;
		if (key.stack_id >= 0 && !bpf_map_lookup_elem(sfd, &key.stack_id, ips)) {
			int i = 0;

			/* the innermost frames are the BPF trampoline's (no symbol) */
			while (i < 32 && ips[i] && !ksyms_find(ks, ips[i], KSYM_TEXT, 0x10000))
				i++;
			for (; i < 32 && ips[i] && row->depth < PIN_STACK_DEPTH; i++)
				ksyms_format(ks, ips[i], KSYM_TEXT, env.show_kernel_addresses,
					     row->stack[row->depth++], SYM_LEN);
		}
		r->pins.nr_callers++;
	}
	return 0;
}

static struct vma_row *vma_at(struct report *r, __u64 mm_id, __u64 addr)
{
	struct vma_row *best = NULL;

	for (size_t i = 0; i < r->nr_vmas; i++) {
		struct vma_row *v = &r->vmas[i];

		if (v->merged || v->val.mm != mm_id || addr < v->val.vm_start || addr >= v->val.vm_end)
			continue;
		if (!best || v->val.id > best->val.id)	/* the latest row of that range */
			best = v;
	}
	return best;
}

static void read_sites(struct gup_ctx *gc, struct report *r)
{
	int fd = bpf_map__fd(gc->skel->maps.pin_sites);
	struct pin_site_key key, next, *prev = NULL;
	struct pin_site_val v;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct vma_row *row;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) || key.kind >= PIN_KIND__MAX)
			continue;
		row = vma_at(r, key.mm_id, key.addr);
		if (!row)
			continue;
		row->pins_acquired[key.kind] += v.acquired;
		row->pins_released[key.kind] += v.released;
	}
}

int pins_collect(struct gup_ctx *gc, struct ksyms *ks, const struct iomem *io, struct report *r)
{
	struct timespec ts;
	int fd, err;
	__u64 key, next, *prev = NULL;

	if (!gc->skel)
		return 0;
	r->pins.have = true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r->pins.now_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	err = read_totals(gc, r) ?: read_callers(gc, ks, r);
	if (err)
		return err;
	read_sites(gc, r);
	fd = bpf_map__fd(gc->skel->maps.pins);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pin_row *row, *n;

		key = next;
		prev = &key;
		n = realloc(r->pins.pins, (r->pins.nr_pins + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->pins.pins = n;
		row = &n[r->pins.nr_pins];
		memset(row, 0, sizeof(*row));
		if (bpf_map_lookup_elem(fd, &key, &row->val))
			continue;
		row->pfn = key;
		row->cls = classify_pfn(io, key, PFNST_HAS_PAGE, &row->region);
		row->vma = vma_at(r, row->val.mm_id, row->val.addr);
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
