// SPDX-License-Identifier: GPL-2.0
/* Open, share the fault object's maps, configure, load, attach: bpf/zap.bpf.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "zap.h"
#include "fault.skel.h"
#include "zap.skel.h"
#include "corebtf.h"

const unsigned int zap_hooks_mask =
	(1u << HOOK_TEARDOWN) | (1u << HOOK_RSS_RMAP) | (1u << HOOK_FORK_COPY) |
	(1u << HOOK_BAD_PTE) | (1u << HOOK_MM_FORK) | (1u << HOOK_MM_EXIT) | (1u << HOOK_VMA_FREE) |
	(1u << HOOK_STACK_MOVE) | (1u << HOOK_RSS_ITER) | (1u << HOOK_MM_SEED);

static int share(struct bpf_map *dst, struct bpf_map *src)
{
	return bpf_map__reuse_fd(dst, bpf_map__fd(src));
}

/* As fault_try(): open with @core, share, configure, load; on failure nothing is left open. */
static int zap_try(struct zap_ctx *zc, struct fault_ctx *fc, struct plan *plan,
		   const char *core, bool *loading)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = core);
	struct fault_bpf *f = fc->skel;
	int err;

	zc->skel = zap_bpf__open_opts(&oo);
	if (!zc->skel)
		return -errno;
	zc->skel->rodata->filter_tgids = f->rodata->filter_tgids;
	zc->skel->rodata->ignore_tgid = f->rodata->ignore_tgid;
	zc->skel->rodata->trace_mask = f->rodata->trace_mask;
	zc->skel->rodata->trace_slots = f->rodata->trace_slots;
	zc->skel->rodata->loader_tgid = f->rodata->loader_tgid;
	zc->skel->rodata->nr_cpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
	err = share(zc->skel->maps.traced, f->maps.traced) ?:
	      share(zc->skel->maps.drops, f->maps.drops) ?:
	      share(zc->skel->maps.vmas, f->maps.vmas) ?:
	      share(zc->skel->maps.procs, f->maps.procs) ?:
	      share(zc->skel->maps.mms, f->maps.mms) ?:
	      share(zc->skel->maps.seqs, f->maps.seqs) ?:
	      share(zc->skel->maps.events, f->maps.events) ?:
	      share(zc->skel->maps.counters, f->maps.counters);
	if (!err && fc->pin_dir)
		err = maps_pin_dir(zc->skel->obj, fc->pin_dir);
	if (err) {
		pr_err("cannot share maps with the zap BPF object: %s", strerror(-err));
		goto fail;
	}
	plan_apply(plan, zc->skel->obj, zc->mask);
	stash_fit(zc->skel->maps.copy_stash, (struct bpf_program *[]){
		zc->skel->progs.fork_copy_kprobe, zc->skel->progs.fork_copy_kretprobe, NULL });
	stash_fit(zc->skel->maps.stack_stash, (struct bpf_program *[]){
		zc->skel->progs.stack_move_fentry, zc->skel->progs.stack_move_fexit,
		zc->skel->progs.stack_move_kprobe, zc->skel->progs.stack_move_kretprobe, NULL });
	*loading = true;
	err = zap_bpf__load(zc->skel);
	if (err)
		goto fail;
	zc->plan = plan;
	return 0;
fail:
	zap_bpf__destroy(zc->skel);
	zc->skel = NULL;
	return err;
}

int zap_start(struct zap_ctx *zc, struct fault_ctx *fc, struct plan *plan)
{
	const char *core = corebtf_lookup();
	bool loading = false;
	int err;

	memset(zc, 0, sizeof(*zc));
	zc->mask = zap_hooks_mask;
	if (!plan_any_planned(plan, zc->mask))
		return 0;	/* nothing of this object can attach here */
	err = zap_try(zc, fc, plan, core, &loading);
	if (err && loading && core && !(err = zap_try(zc, fc, plan, NULL, &loading)))
		corebtf_reject();
	if (err && loading)
		pr_warn("cannot load the teardown/RSS BPF programs (%s): per-VMA RSS unavailable "
			"(-v for the verifier log)", strerror(-err));
	if (err)
		plan_fail(plan, zc->mask, err);
	return err;
}

const void *zap_obj_bytes(size_t *sz)
{
	return zap_bpf__elf_bytes(sz);
}

void zap_attach(struct zap_ctx *zc, const struct kaddrs *ka)
{
	if (!zc->skel)
		return;
	zc->skel->bss->special_mapping_name_fn = ka->special_mapping_name;
	zc->skel->bss->vmemmap_base_addr = ka->vmemmap_base;
	plan_attach(zc->plan, zc->skel->obj, zc->mask);
}

/* Appends all an open iterator fd gives to @buf (@len and @cap in bytes), then closes it. */
static int iter_drain(int fd, char **buf, size_t *len, size_t *cap)
{
	int err = 0;
	ssize_t r;

	for (;;) {
		if (*len == *cap) {
			size_t ncap = *cap ? 2 * *cap : 256 * sizeof(struct rss_sample);
			char *nv = realloc(*buf, ncap);

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			*buf = nv;
			*cap = ncap;
		}
		r = read(fd, *buf + *len, *cap - *len);
		if (r <= 0) {
			err = r < 0 ? -errno : 0;
			break;
		}
		*len += r;
	}
	close(fd);
	return err;
}

/* Appends what one pass of @link's iterator writes to @buf (@len and @cap in bytes). */
static int iter_read(struct bpf_link *link, char **buf, size_t *len, size_t *cap)
{
	int fd = bpf_iter_create(bpf_link__fd(link));

	return fd < 0 ? -errno : iter_drain(fd, buf, len, cap);
}

/* The records of one pass of an rss iterator opened as @fd (closed here). */
static int rss_records(int fd, struct rss_sample **out, size_t *n)
{
	size_t cap = 0, len = 0;
	char *v = NULL;
	int err = iter_drain(fd, &v, &len, &cap);

	if (err) {
		free(v);
		return err;
	}
	*out = (struct rss_sample *)v;
	*n = len / sizeof(struct rss_sample);
	return 0;
}

int zap_rss_sample(struct zap_ctx *zc, struct rss_sample **out, size_t *n)
{
	int fd;

	*out = NULL;
	*n = 0;
	if (!zc->skel || !plan_hook_active(zc->plan, HOOK_RSS_ITER))
		return -ENOENT;
	if (!zc->rss_link) {	/* one iterator link for the session, an fd per read */
		zc->rss_link = bpf_program__attach_iter(zc->skel->progs.rss_iter, NULL);
		if (!zc->rss_link)
			return -errno;
	}
	fd = bpf_iter_create(bpf_link__fd(zc->rss_link));
	return fd < 0 ? -errno : rss_records(fd, out, n);
}

int zap_rss_read_pinned(const char *path, struct rss_sample **out, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	*n = 0;
	return fd < 0 ? -errno : rss_records(fd, out, n);
}

int zap_rss_pin(struct zap_ctx *zc, const char *path)
{
	if (!zc->skel || !plan_hook_active(zc->plan, HOOK_RSS_ITER))
		return -ENOENT;
	if (!zc->rss_link) {
		zc->rss_link = bpf_program__attach_iter(zc->skel->progs.rss_iter, NULL);
		if (!zc->rss_link)
			return -errno;
	}
	unlink(path);	/* a kept state's link of an agent before */
	return bpf_link__pin(zc->rss_link, path);
}

_Static_assert(offsetof(struct mm_val, tgid) % 8 == 0 &&
	       offsetof(struct mm_val, flags) == offsetof(struct mm_val, tgid) + 4,
	       "mm_seed sets MM_UNOBSERVED with a 64-bit or over tgid and flags");

int zap_seed_mms(struct zap_ctx *zc)
{
	struct bpf_link *link;
	size_t cap = 0, len = 0;
	char *v = NULL;
	int err;

	if (!zc->skel || !plan_hook_active(zc->plan, HOOK_MM_SEED))
		return -ENOENT;
	link = bpf_program__attach_iter(zc->skel->progs.mm_seed, NULL);
	if (!link)
		return -errno;
	err = iter_read(link, &v, &len, &cap);	/* it writes nothing: the walk is the work */
	free(v);
	bpf_link__destroy(link);
	return err;
}

void zap_stop(struct zap_ctx *zc)
{
	bpf_link__destroy(zc->rss_link);
	zc->rss_link = NULL;
	if (zc->plan)
		plan_detach(zc->plan, zc->mask);
	zap_bpf__destroy(zc->skel);
	memset(zc, 0, sizeof(*zc));
}
