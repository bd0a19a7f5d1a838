// SPDX-License-Identifier: GPL-2.0
/* Open, share the fault object's filter and loss maps, load, attach: bpf/rss.bpf.c. */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "rss.h"
#include "fault.skel.h"
#include "rss.skel.h"
#include "corebtf.h"
#include "zap.h"
#include "zap.skel.h"

const unsigned int rss_hooks_mask = 1u << HOOK_RSS;

/* As fault_try(): open with @core, share, configure, load; on failure nothing is left open. */
static int rss_try(struct rss_ctx *rc, struct fault_ctx *fc, struct zap_ctx *zc,
		   struct plan *plan, const char *core, bool *loading)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = core);
	int err;

	rc->skel = rss_bpf__open_opts(&oo);
	if (!rc->skel)
		return -errno;
	rc->skel->rodata->filter_tgids = fc->skel->rodata->filter_tgids;
	rc->skel->rodata->ignore_tgid = fc->skel->rodata->ignore_tgid;
	rc->skel->rodata->trace_mask = fc->skel->rodata->trace_mask;
	rc->skel->rodata->trace_slots = fc->skel->rodata->trace_slots;
	err = bpf_map__reuse_fd(rc->skel->maps.traced, bpf_map__fd(fc->skel->maps.traced)) ?:
	      bpf_map__reuse_fd(rc->skel->maps.drops, bpf_map__fd(fc->skel->maps.drops)) ?:
	      bpf_map__reuse_fd(rc->skel->maps.events, bpf_map__fd(fc->skel->maps.events)) ?:
	      bpf_map__reuse_fd(rc->skel->maps.counters, bpf_map__fd(fc->skel->maps.counters));
	if (!err && zc->skel)
		err = bpf_map__reuse_fd(rc->skel->maps.rss_mm, bpf_map__fd(zc->skel->maps.rss_mm)) ?:
		      bpf_map__reuse_fd(rc->skel->maps.mm_ids, bpf_map__fd(zc->skel->maps.mm_ids));
	if (!err && fc->pin_dir)
		err = maps_pin_dir(rc->skel->obj, fc->pin_dir);
	if (!err) {
		plan_apply(plan, rc->skel->obj, rc->mask);
		*loading = true;
		err = rss_bpf__load(rc->skel);
	}
	if (err) {
		rss_bpf__destroy(rc->skel);
		rc->skel = NULL;
		return err;
	}
	rc->plan = plan;
	return 0;
}

int rss_start(struct rss_ctx *rc, struct fault_ctx *fc, struct zap_ctx *zc, struct plan *plan)
{
	const char *core = corebtf_lookup();
	bool loading = false;
	int err;

	memset(rc, 0, sizeof(*rc));
	rc->mask = rss_hooks_mask;
	if (!plan_any_planned(plan, rc->mask))
		return 0;
	err = rss_try(rc, fc, zc, plan, core, &loading);
	if (err && loading && core && !(err = rss_try(rc, fc, zc, plan, NULL, &loading)))
		corebtf_reject();
	if (err) {
		pr_warn("cannot load the rss_stat BPF program (%s): per-mm RSS unavailable",
			strerror(-err));
		plan_fail(plan, rc->mask, err);
	}
	return err;
}

const void *rss_obj_bytes(size_t *sz)
{
	return rss_bpf__elf_bytes(sz);
}

void rss_attach(struct rss_ctx *rc)
{
	if (rc->skel)
		plan_attach(rc->plan, rc->skel->obj, rc->mask);
}

void rss_stop(struct rss_ctx *rc)
{
	if (rc->plan)
		plan_detach(rc->plan, rc->mask);
	rss_bpf__destroy(rc->skel);
	memset(rc, 0, sizeof(*rc));
}

int rss_map_fd(const struct rss_ctx *rc)
{
	return rc->skel ? bpf_map__fd(rc->skel->maps.rss_mm) : -1;
}
