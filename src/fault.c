// SPDX-License-Identifier: GPL-2.0
/* Open, configure, load, attach: the four steps of bpf/fault.bpf.c. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "ksyms.h"
#include "fault.h"
#include "fault.skel.h"

const unsigned int fault_hooks_mask =
	(1u << HOOK_TASK_FORK) | (1u << HOOK_TASK_EXIT) | (1u << HOOK_FAULT_COUNT) |
	(1u << HOOK_FAULT_RETURN) | (1u << HOOK_PTE_INSTALL) | (1u << HOOK_PFN_INSERT) |
	(1u << HOOK_PFN_REMAP) | (1u << HOOK_PFN_TRACK) |
	(1u << HOOK_PAGE_INSERT) | (1u << HOOK_VMA_ITER);
/* mm-exit and mm-fork of the fault object are not built: see zap.c */

int fault_start(struct fault_ctx *fc, struct plan *plan, struct ksyms *ks,
		const struct fault_opts *o)
{
	const struct ksym *sm;
	int err;

	memset(fc, 0, sizeof(*fc));
	fc->mask = fault_hooks_mask;
	fc->skel = fault_bpf__open();
	if (!fc->skel) {
		err = -errno;
		pr_err("cannot open the fault BPF object: %s", strerror(-err));
		return err;
	}
	fc->skel->rodata->filter_tgids = o->filter_tgids;
	fc->skel->rodata->loader_tgid = getpid();
	sm = ksyms_by_name(ks, "special_mapping_name");
	if (sm)
		fc->skel->rodata->special_mapping_name_fn = sm->addr;
	if (o->max_vmas)
		bpf_map__set_max_entries(fc->skel->maps.vmas, o->max_vmas);

	plan_apply(plan, fc->skel->obj, fc->mask);
	err = fault_bpf__load(fc->skel);
	if (err) {
		pr_err("cannot load the fault BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		fault_stop(fc);
		return err;
	}
	plan_attach(plan, fc->skel->obj, fc->mask);
	fc->plan = plan;
	return 0;
}

int fault_snapshot_vmas(struct fault_ctx *fc)
{
	char buf[256];
	int fd, n;

	if (!fc->iter_link) {
		fc->iter_link = bpf_program__attach_iter(fc->skel->progs.vma_iter, NULL);
		if (!fc->iter_link)
			return -errno;
	}
	fd = bpf_iter_create(bpf_link__fd(fc->iter_link));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;	/* the program writes into `vmas`, not into the seq file */
	close(fd);
	return n < 0 ? -errno : 0;
}

void fault_stop(struct fault_ctx *fc)
{
	bpf_link__destroy(fc->iter_link);
	if (fc->plan)
		plan_detach(fc->plan, fc->mask);
	fault_bpf__destroy(fc->skel);
	memset(fc, 0, sizeof(*fc));
}

void fault_follow_next_fork(struct fault_ctx *fc, bool on)
{
	__atomic_store_n(&fc->skel->bss->follow_next_fork, on, __ATOMIC_SEQ_CST);
}

int fault_trace_pid(struct fault_ctx *fc, __u32 tgid)
{
	struct traced_val v = {};

	return bpf_map__update_elem(fc->skel->maps.traced, &tgid, sizeof(tgid), &v, sizeof(v),
				    BPF_ANY);
}

void fault_maps(const struct fault_ctx *fc, struct collect_maps *m)
{
	m->vmas_fd = bpf_map__fd(fc->skel->maps.vmas);
	m->procs_fd = bpf_map__fd(fc->skel->maps.procs);
	m->drops_fd = bpf_map__fd(fc->skel->maps.drops);
	m->pfn_fd = bpf_map__fd(fc->skel->maps.pfn_hits);
	m->mms_fd = bpf_map__fd(fc->skel->maps.mms);
	m->rss_fd = -1;
}
