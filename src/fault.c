// SPDX-License-Identifier: GPL-2.0
/* Open, configure, load, attach: the four steps of bpf/fault.bpf.c. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "ksyms.h"
#include "evring.h"
#include "fault.h"
#include "fault.skel.h"
#include "state.h"
#include "corebtf.h"
#include <sys/stat.h>

const unsigned int fault_hooks_mask =
	(1u << HOOK_TASK_FORK) | (1u << HOOK_TASK_EXIT) | (1u << HOOK_FAULT_COUNT) |
	(1u << HOOK_FAULT_RETURN) | (1u << HOOK_PTE_INSTALL) | (1u << HOOK_PFN_INSERT) |
	(1u << HOOK_PFN_REMAP) | (1u << HOOK_PFN_TRACK) |
	(1u << HOOK_PAGE_INSERT) | (1u << HOOK_VMA_ITER);
/* mm-exit and mm-fork of the fault object are not built: see zap.c */

/* fault_count_ktp tail-calls fault_count_tp (bpf/fault.bpf.c): slot 0, before either attaches */
static int fill_fault_tail(struct fault_bpf *skel)
{
	int fd = bpf_program__fd(skel->progs.fault_count_tp);
	__u32 zero = 0;

	if (!bpf_program__autoload(skel->progs.fault_count_ktp))
		return 0;
	if (bpf_map__update_elem(skel->maps.fault_tail, &zero, sizeof(zero), &fd, sizeof(fd),
				 BPF_ANY)) {
		int err = -errno;

		pr_err("cannot point the kernel-mode fault program at the user-mode one: %s",
		       strerror(-err));
		return err;
	}
	return 0;
}

/* Open with @core as the kernel types of CO-RE (NULL: the kernel's BTF), configure, load;
 * *@loading says whether it got as far as the load. */
static int fault_try(struct fault_ctx *fc, struct plan *plan, const struct fault_opts *o,
		     const char *core, bool *loading)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = core);
	int err;

	memset(fc, 0, sizeof(*fc));
	fc->mask = fault_hooks_mask;
	fc->skel = fault_bpf__open_opts(&oo);
	if (!fc->skel) {
		err = -errno;
		pr_err("cannot open the fault BPF object: %s", strerror(-err));
		return err;
	}
	fc->pin_dir = o->pin_dir;
	fc->skel->rodata->filter_tgids = o->filter_tgids;
	fc->skel->rodata->ignore_tgid = o->ignore_self ? getpid() : 0;
	fc->skel->rodata->loader_tgid = getpid();
	if (o->max_vmas)
		bpf_map__set_max_entries(fc->skel->maps.vmas, o->max_vmas);
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus <= 0) {
		fault_stop(fc);
		return ncpus ? ncpus : -EINVAL;
	}
	/* an entry per CPU id (bpf_get_smp_processor_id() < nr_cpu_ids) */
	bpf_map__set_max_entries(fc->skel->maps.vma_cache, ncpus);
	if (o->trace_mask) {
		fc->skel->rodata->trace_mask = o->trace_mask;
		__u32 slots = evring_slots(o->ringbuf_bytes, ncpus);

		/* one ring per possible CPU (bpf_get_smp_processor_id() < nr_cpu_ids) */
		fc->skel->rodata->trace_slots = slots;
		bpf_map__set_max_entries(fc->skel->maps.events, evring_entries(slots, ncpus));
	}
	if (o->pin_dir && (err = maps_pin_dir(fc->skel->obj, o->pin_dir))) {
		fault_stop(fc);
		return err;
	}

	plan_apply(plan, fc->skel->obj, fc->mask);
	/*
	 * Where a pfn hook attaches, its rows come in bursts of new keys (a driver's fault handler
	 * mapping page after page): allocated on demand, the per-CPU element cache of a fresh
	 * table (a few elements, refilled through irq_work) ran dry in the lab and the 4th of
	 * four VGA pages had no row. Preallocated there, as `pins` is.
	 */
	if (plan_any_planned(plan, (1u << HOOK_FAULT_RETURN) | (1u << HOOK_PFN_INSERT) |
			     (1u << HOOK_PTE_INSTALL) | (1u << HOOK_PFN_REMAP) |
			     (1u << HOOK_PAGE_INSERT)))
		bpf_map__set_map_flags(fc->skel->maps.pfn_hits, 0);
	else	/* written by those hooks only: its 65,536 buckets alone are 1 MiB, 1-6 ms */
		bpf_map__set_max_entries(fc->skel->maps.pfn_hits, 1);
	stash_fit(fc->skel->maps.fault_stash, (struct bpf_program *[]){
		fc->skel->progs.fault_count_kprobe, fc->skel->progs.fault_count_kretprobe, NULL });
	stash_fit(fc->skel->maps.do_fault_stash, (struct bpf_program *[]){
		fc->skel->progs.fault_return_kprobe, fc->skel->progs.fault_return_kretprobe, NULL });
	stash_fit(fc->skel->maps.remap_prot_stash, (struct bpf_program *[]){
		fc->skel->progs.pfn_track_fexit, fc->skel->progs.pfn_remap_fexit,
		fc->skel->progs.pfn_remap_kprobe, NULL });
	*loading = true;
	err = fault_bpf__load(fc->skel);
	if (!err)
		err = fill_fault_tail(fc->skel);
	if (err) {
		fault_stop(fc);
		return err;
	}
	fc->plan = plan;
	return 0;
}

int fault_start(struct fault_ctx *fc, struct plan *plan, const struct fault_opts *o)
{
	const char *core = corebtf_lookup();
	bool loading = false;
	int err = fault_try(fc, plan, o, core, &loading);

	/* the types cut out are to blame only where the kernel's whole BTF then loads */
	if (err && loading && core && !(err = fault_try(fc, plan, o, NULL, &loading)))
		corebtf_reject();
	if (err && loading)
		pr_err("cannot load the fault BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
	return err;
}

const void *fault_obj_bytes(size_t *sz)
{
	return fault_bpf__elf_bytes(sz);
}

void fault_attach(struct fault_ctx *fc, const struct kaddrs *ka)
{
	fc->skel->bss->special_mapping_name_fn = ka->special_mapping_name;
	fc->skel->bss->vmemmap_base_addr = ka->vmemmap_base;
	plan_attach(fc->plan, fc->skel->obj, fc->mask);
}

/* One pass of vma_iter over the VMAs of @tgid only (task iterator link info, 6.1+): walking
 * every task would take every process's mmap lock. */
static int snapshot_one(struct fault_ctx *fc, __u32 tgid)
{
	union bpf_iter_link_info linfo = { .task.pid = tgid };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo, .link_info_len = sizeof(linfo));
	struct bpf_link *link;
	char buf[256];
	int fd, n;

	link = bpf_program__attach_iter(fc->skel->progs.vma_iter, &opts);
	if (!link)
		return errno == ESRCH ? 0 : -errno;	/* exited meanwhile */
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		bpf_link__destroy(link);
		return -errno;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;	/* the program writes into `vmas`, not into the seq file */
	close(fd);
	bpf_link__destroy(link);
	return n < 0 ? -errno : 0;
}

int fault_snapshot_vmas(struct fault_ctx *fc)
{
	int fd = bpf_map__fd(fc->skel->maps.traced), err = 0;
	__u32 key, next, *prev = NULL;

	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		err = snapshot_one(fc, key);
	}
	return err;
}

void fault_stop(struct fault_ctx *fc)
{

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

void fault_state_fds(const struct fault_ctx *fc, struct state_fds *f)
{
	f->fd[ST_VMAS] = bpf_map__fd(fc->skel->maps.vmas);
	f->fd[ST_PROCS] = bpf_map__fd(fc->skel->maps.procs);
	f->fd[ST_DROPS] = bpf_map__fd(fc->skel->maps.drops);
	f->fd[ST_PFNS] = bpf_map__fd(fc->skel->maps.pfn_hits);
	f->fd[ST_MMS] = bpf_map__fd(fc->skel->maps.mms);
	f->fd[ST_COUNTERS] = bpf_map__fd(fc->skel->maps.counters);
	f->vma_cache = bpf_map__fd(fc->skel->maps.vma_cache);
}

/*
 * A stash hands a kprobe's arguments to its kretprobe (or an fexit's to another hook), so only
 * its @users (NULL-terminated) write it. Where the plan loads none of them (fentry/fexit or a
 * tracepoint took the hook, or nothing could), one row instead of the thousands a preallocated
 * hash fills at BPF_MAP_CREATE (htab_map_alloc() -> prealloc_init(): ~1 ms for 4,096 rows on the
 * 6.18 host). Call after plan_apply(), which sets what loads.
 */
void stash_fit(struct bpf_map *stash, struct bpf_program *const *users)
{
	for (; *users; users++)
		if (bpf_program__autoload(*users))
			return;
	bpf_map__set_max_entries(stash, 1);
}

/* Maps that hold no state worth keeping across an agent restart. */
static bool map_is_scratch(const char *name)
{
	/* fault_tail holds a program: pinned, it would keep this session's alive after exit */
	static const char *const scratch[] = { "events", "vma_scratch", "fault_tail" };

	if (strstr(name, "stash") || strstr(name, "cursors"))
		return true;	/* kprobe entry->return stashes, GUP cursors */
	for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++)
		if (!strcmp(name, scratch[i]))
			return true;
	return false;
}

int maps_pin_dir(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;
	char path[256];

	if (mkdir(dir, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s (is bpffs mounted on /sys/fs/bpf?)", dir,
		       strerror(errno));
		return -errno;
	}
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);

		/* .rodata/.bss are per object; a shared map is pinned by its owner */
		if (bpf_map__is_internal(map) || map_is_scratch(name) || bpf_map__fd(map) >= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (bpf_map__set_pin_path(map, path))
			return -errno;
	}
	return 0;
}
