// SPDX-License-Identifier: GPL-2.0
/*
 * The attach planner. Every decision is made by probing the running kernel, never by its
 * version: a function hook is tried as fentry/fexit (present in BTF, a trial program loads
 * and attaches), then kprobe (a trial kprobe perf event can be created), then the hook's
 * tracepoint (tp_btf: BTF has btf_trace_<event>; classic: tracefs lists the event).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "pfnscope.h"
#include "planner.h"

#define TRACEFS "/sys/kernel/tracing"

const char *mech_name(enum mech m)
{
	static const char *const names[] = {
		[MECH_NONE] = "none", [MECH_FENTRY] = "fentry", [MECH_FEXIT] = "fexit",
		[MECH_KPROBE] = "kprobe", [MECH_KRETPROBE] = "kretprobe",
		[MECH_TP_BTF] = "tp_btf", [MECH_TRACEPOINT] = "tracepoint", [MECH_ITER] = "iter",
	};
	return names[m];
}

const char *hook_status_name(enum hook_status s)
{
	static const char *const names[] = {
		[HOOK_UNAVAILABLE] = "unavailable", [HOOK_NOT_BUILT] = "not-built",
		[HOOK_PLANNED] = "planned", [HOOK_ATTACHED] = "attached",
		[HOOK_ATTACH_FAILED] = "attach-failed", [HOOK_NOT_REQUESTED] = "not-requested",
	};
	return names[s];
}

static const char *const backend_names[] = {
	[BACKEND_AUTO] = "auto", [BACKEND_FENTRY] = "fentry",
	[BACKEND_KPROBE] = "kprobe", [BACKEND_TRACEPOINT] = "tracepoint",
};

const char *backend_name(enum backend b)
{
	return backend_names[b];
}

int parse_backend(const char *s, enum backend *out)
{
	for (unsigned int i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (!strcmp(s, backend_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool ensure_tracefs(void)
{
	if (access(TRACEFS "/events", F_OK) == 0)
		return true;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
		return false;
	return access(TRACEFS "/events", F_OK) == 0;
}

static bool is_function_mech(enum mech m)
{
	return m == MECH_FENTRY || m == MECH_FEXIT || m == MECH_KPROBE || m == MECH_KRETPROBE;
}

static bool hook_has_function_cand(const struct hook_def *d)
{
	for (int i = 0; i < MAX_CANDIDATES && d->cand[i].target; i++)
		if (is_function_mech(d->cand[i].mech))
			return true;
	return false;
}

static const char *errname(int err)
{
	switch (err) {
	case EPERM: return "EPERM (not permitted on this kernel)";
	case 524: return "ENOTSUPP (e.g. more than 6 register arguments)";
	case ENOENT: return "ENOENT (no such symbol)";
	case EINVAL: return "EINVAL";
	case ESRCH: return "ESRCH (not found in BTF)";
	default: return strerror(err);
	}
}

/* The running kernel's BTF, parsed once per session (it is megabytes): the planner's probes
 * and the pin object's FOLL_* lookups share it; plan_btf_release() frees it after start-up. */
static struct btf *vmlinux_btf_parsed;
static bool vmlinux_btf_tried;

/*
 * btf__find_by_name_kind() walks every type (126,700 on 6.18: ~0.6 ms a lookup on the host,
 * a whole walk for each name that is missing), and the planner asks for ~40 names. One walk
 * indexes the FUNC and TYPEDEF names in an open-addressing table of type ids instead.
 */
static __u32 *name_slots;
static __u32 name_mask;

static __u32 name_hash(const char *s)
{
	__u32 h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static bool indexed_kind(int kind)
{
	return kind == BTF_KIND_FUNC || kind == BTF_KIND_TYPEDEF;
}

static void name_index_build(const struct btf *btf)
{
	__u32 n = btf__type_cnt(btf), size = 1;

	while (size < 2 * n)
		size <<= 1;
	name_slots = calloc(size, sizeof(*name_slots));
	if (!name_slots)
		return;	/* lookups fall back to the walk */
	name_mask = size - 1;
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (!indexed_kind(btf_kind(t)) || !t->name_off)
			continue;
		for (__u32 i = name_hash(btf__name_by_offset(btf, t->name_off)); ; i++) {
			if (!name_slots[i & name_mask]) {
				name_slots[i & name_mask] = id;
				break;
			}
		}
	}
}

/* btf__find_by_name_kind() through the index: the type id, or -ENOENT */
static int btf_find(const struct btf *btf, const char *name, int kind)
{
	if (!name_slots || !indexed_kind(kind))
		return btf__find_by_name_kind(btf, name, kind);
	for (__u32 i = name_hash(name); ; i++) {
		__u32 id = name_slots[i & name_mask];
		const struct btf_type *t;

		if (!id)
			return -ENOENT;
		t = btf__type_by_id(btf, id);
		if (btf_kind(t) == kind && !strcmp(btf__name_by_offset(btf, t->name_off), name))
			return id;
	}
}

static struct btf *vmlinux_btf(void)
{
	if (!vmlinux_btf_tried) {
		vmlinux_btf_tried = true;
		vmlinux_btf_parsed = btf__load_vmlinux_btf();
		if (vmlinux_btf_parsed)
			name_index_build(vmlinux_btf_parsed);
	}
	return vmlinux_btf_parsed;
}

const struct btf *plan_btf(void)
{
	return vmlinux_btf();
}

int plan_btf_find(const char *name, int kind)
{
	struct btf *btf = vmlinux_btf();

	return btf ? btf_find(btf, name, kind) : -ESRCH;
}

void plan_btf_release(void)
{
	btf__free(vmlinux_btf_parsed);
	vmlinux_btf_parsed = NULL;
	vmlinux_btf_tried = false;
	free(name_slots);
	name_slots = NULL;
}

/* libbpf_find_vmlinux_btf_id() without parsing the kernel's BTF again on every call. */
static int find_btf_id(const char *name, enum bpf_attach_type attach)
{
	char full[160];
	int kind = BTF_KIND_FUNC;

	if (attach == BPF_TRACE_RAW_TP) {
		snprintf(full, sizeof(full), "btf_trace_%s", name);
		kind = BTF_KIND_TYPEDEF;
	} else if (attach == BPF_TRACE_ITER) {
		snprintf(full, sizeof(full), "bpf_iter_%s", name);
	} else {
		snprintf(full, sizeof(full), "%s", name);
	}
	return plan_btf_find(full, kind);
}

/*
 * A two-instruction program (r0 = 0; exit), loaded as @type with @attach; fentry/fexit are
 * also attached (the trampoline is what fails on some kernels). A tp_btf load is not: a load
 * against btf_trace_<event> is the whole question, and a tracepoint attach costs ~2 ms of
 * text_poke IPIs here, twice (the trial's attach and detach), before the real one; a real
 * attach that fails is recorded per hook (plan_attach). An EPERM load is the kernel refusing
 * the program type, not the function: it answers for every later function of that type.
 */
static int trial_btf_prog(const char *name, enum bpf_attach_type attach, char *why, size_t n)
{
	static int refused[2];	/* errno of a refused fentry, fexit load */
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach);
	bool fn = attach == BPF_TRACE_FENTRY || attach == BPF_TRACE_FEXIT;
	int *refusal = fn ? &refused[attach == BPF_TRACE_FEXIT] : NULL;
	int btf_id, fd, link;

	btf_id = find_btf_id(name, attach);
	if (btf_id < 0) {
		snprintf(why, n, "%s not in kernel BTF (inlined, renamed or no BTF)", name);
		return -1;
	}
	if (refusal && *refusal) {
		snprintf(why, n, "trial load failed: %s", errname(*refusal));
		return -1;
	}
	opts.attach_btf_id = btf_id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pfnscope_trial", "GPL", insns, 2, &opts);
	if (fd < 0) {
		if (refusal && errno == EPERM)
			*refusal = errno;
		snprintf(why, n, "trial load failed: %s", errname(errno));
		return -1;
	}
	if (!fn) {
		close(fd);
		return 0;
	}
	link = bpf_raw_tracepoint_open(NULL, fd);
	if (link < 0) {
		snprintf(why, n, "trial attach failed: %s", errname(errno));
		close(fd);
		return -1;
	}
	close(link);
	close(fd);
	return 0;
}

/* Arguments of a raw tracepoint, from its btf_trace_<event> typedef (minus the void *ctx). */
static int tp_args(const char *event)
{
	struct btf *btf = vmlinux_btf();
	const struct btf_type *t;
	char name[128];
	int id, n = -1;

	if (!btf)
		return -1;
	snprintf(name, sizeof(name), "btf_trace_%s", event);
	id = btf_find(btf, name, BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);	/* pointer */
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t))
			n = btf_vlen(t) - 1;
	}
	return n;
}

static int read_int_file(const char *path, int *out)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%d", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

static int kprobe_pmu_type(void)
{
	int type;

	if (read_int_file("/sys/bus/event_source/devices/kprobe/type", &type))
		return -1;
	return type;
}

/* A kprobe perf event on @func is the attach step itself: if it can be created, kprobe
 * programs attach there. The kprobe PMU exists since 4.17; without it libbpf would need
 * tracefs kprobe_events, which we treat as absent when the PMU is. */
static int trial_kprobe(const char *func, bool retprobe, char *why, size_t n)
{
	struct perf_event_attr attr = {};
	int type = kprobe_pmu_type(), bit = 0, fd;
	char buf[64];
	FILE *f;

	if (type < 0) {
		snprintf(why, n, "no kprobe PMU (/sys/bus/event_source/devices/kprobe)");
		return -1;
	}
	if (retprobe) {
		f = fopen("/sys/bus/event_source/devices/kprobe/format/retprobe", "r");
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				sscanf(buf, "config:%d", &bit);
			fclose(f);
		}
		attr.config = 1ULL << bit;
	}
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config1 = (__u64)(unsigned long)func;	/* kprobe_func */
	attr.config2 = 0;				/* probe_offset */
	fd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, n, "trial %s failed: %s", retprobe ? "kretprobe" : "kprobe",
			 errname(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int trial_tracepoint(const char *target, char *why, size_t n)
{
	char path[256], cat[64];
	const char *ev = strchr(target, ':');

	if (!ev || ev - target >= (long)sizeof(cat))
		return -1;
	snprintf(cat, sizeof(cat), "%.*s", (int)(ev - target), target);
	if (!ensure_tracefs()) {
		snprintf(why, n, "tracefs not mounted and cannot be mounted at " TRACEFS);
		return -1;
	}
	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", cat, ev + 1);
	if (access(path, R_OK)) {
		snprintf(why, n, "no tracepoint %s", target);
		return -1;
	}
	return 0;
}

const char *cand_target(const struct candidate *c, int i, char *buf, size_t n)
{
	const char *t = c->target, *sp;

	for (;;) {
		sp = strchr(t, ' ');
		if (!sp || i == 0)
			break;
		t = sp + 1;
		i--;
	}
	snprintf(buf, n, "%.*s", sp ? (int)(sp - t) : (int)strlen(t), t);
	return buf;
}

static int trial_one(const struct candidate *c, char *why, size_t n);

/* every function of a multi-function candidate must pass */
static int trial(const struct candidate *c, char *why, size_t n)
{
	struct candidate one = *c;
	char fn[128];

	if (!strchr(c->target, ' '))
		return trial_one(c, why, n);
	for (int i = 0; i < MAX_PROGS && c->progs[i]; i++) {
		one.target = cand_target(c, i, fn, sizeof(fn));
		one.progs[1] = NULL;	/* no kretprobe partner */
		one.arg0 = i ? NULL : c->arg0;	/* the signature check is about the first */
		if (trial_one(&one, why, n))
			return -1;
	}
	return 0;
}

/* The struct name the first argument of kernel function @fn points to, from BTF. */
static int fn_arg0_is(const char *fn, const char *want)
{
	struct btf *btf = vmlinux_btf();
	const struct btf_type *t;
	int id, ok = 0;

	if (!btf)
		return 0;
	id = btf_find(btf, fn, BTF_KIND_FUNC);
	t = id > 0 ? btf__type_by_id(btf, btf__type_by_id(btf, id)->type) : NULL;
	if (t && btf_is_func_proto(t) && btf_vlen(t) > 0) {
		t = btf__type_by_id(btf, btf_params(t)[0].type);
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		ok = t && btf_is_composite(t) && !strcmp(btf__name_by_offset(btf, t->name_off), want);
	}
	return ok;
}

static int trial_one(const struct candidate *c, char *why, size_t n)
{
	const char *ev;

	if (c->arg0 && is_function_mech(c->mech) && !fn_arg0_is(c->target, c->arg0)) {
		snprintf(why, n, "%s does not take a struct %s * first here (other kernel API)",
			 c->target, c->arg0);
		return -1;
	}

	switch (c->mech) {
	case MECH_FENTRY:
		return trial_btf_prog(c->target, BPF_TRACE_FENTRY, why, n);
	case MECH_FEXIT:
		return trial_btf_prog(c->target, BPF_TRACE_FEXIT, why, n);
	case MECH_KPROBE:
		if (trial_kprobe(c->target, false, why, n))
			return -1;
		return c->progs[1] ? trial_kprobe(c->target, true, why, n) : 0;
	case MECH_KRETPROBE:
		return trial_kprobe(c->target, true, why, n);
	case MECH_TP_BTF:
		ev = strchr(c->target, ':');
		if (c->min_args && tp_args(ev ? ev + 1 : c->target) < c->min_args) {
			snprintf(why, n, "%s passes fewer than %d arguments on this kernel", c->target,
				 c->min_args);
			return -1;
		}
		return trial_btf_prog(ev ? ev + 1 : c->target, BPF_TRACE_RAW_TP, why, n);
	case MECH_TRACEPOINT:
		return trial_tracepoint(c->target, why, n);
	case MECH_ITER:
		if (find_btf_id(c->target, BPF_TRACE_ITER) < 0) {
			snprintf(why, n, "no bpf_iter_%s in kernel BTF", c->target);
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static bool backend_allows(enum backend b, const struct hook_def *d, enum mech m)
{
	if (b == BACKEND_AUTO || !hook_has_function_cand(d))
		return true;
	/* a forced backend excludes the other function mechanism; a hook's tracepoint stays
	 * available as its fallback */
	switch (b) {
	case BACKEND_FENTRY:
		return m != MECH_KPROBE && m != MECH_KRETPROBE;
	case BACKEND_KPROBE:
		return m != MECH_FENTRY && m != MECH_FEXIT;
	case BACKEND_TRACEPOINT:
		return !is_function_mech(m);
	default:
		return true;
	}
}

void plan_probe(struct plan *plan, enum backend backend)
{
	memset(plan, 0, sizeof(*plan));
	plan->backend = backend;
	plan->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	plan->kprobe_pmu = kprobe_pmu_type() >= 0;
	plan->tracefs = ensure_tracefs();

	for (int h = 0; h < HOOK__MAX; h++) {
		struct hook_plan *hp = &plan->hooks[h];
		const struct hook_def *d = &hook_defs[h];

		hp->def = d;
		hp->chosen = -1;
		hp->status = HOOK_UNAVAILABLE;
		for (int i = 0; i < MAX_CANDIDATES && d->cand[i].target; i++) {
			if (!backend_allows(backend, d, d->cand[i].mech)) {
				snprintf(hp->why[i], sizeof(hp->why[i]), "excluded by --backend %s",
					 backend_name(backend));
				continue;
			}
			if (trial(&d->cand[i], hp->why[i], sizeof(hp->why[i])))
				continue;
			hp->why[i][0] = '\0';
			if (hp->chosen < 0) {
				hp->chosen = i;
				hp->status = HOOK_PLANNED;
			}
		}
	}
}

static bool cand_usable(const struct hook_plan *hp, int i)
{
	const struct candidate *c = &hp->def->cand[i];

	return c->target && hp->why[i][0] == '\0' &&
	       (hp->chosen >= 0 && i >= hp->chosen);
}

static bool cand_built(const struct candidate *c, struct bpf_object *obj)
{
	for (int p = 0; p < MAX_PROGS && c->progs[p]; p++)
		if (!bpf_object__find_program_by_name(obj, c->progs[p]))
			return false;
	return c->progs[0] != NULL;
}

void plan_apply(struct plan *plan, struct bpf_object *obj, unsigned int mask)
{
	for (int h = 0; h < HOOK__MAX; h++) {
		struct hook_plan *hp = &plan->hooks[h];
		const struct hook_def *d = hp->def;
		int use = -1;

		/* first: turn every program of this hook off */
		for (int i = 0; i < MAX_CANDIDATES && d->cand[i].target; i++)
			for (int p = 0; p < MAX_PROGS && d->cand[i].progs[p]; p++) {
				struct bpf_program *prog =
					bpf_object__find_program_by_name(obj, d->cand[i].progs[p]);
				if (prog)
					bpf_program__set_autoload(prog, false);
			}
		if (!(mask & (1u << h)) || hp->status == HOOK_NOT_REQUESTED)
			continue;
		for (int i = 0; i < MAX_CANDIDATES && d->cand[i].target; i++) {
			if (cand_usable(hp, i) && cand_built(&d->cand[i], obj)) {
				use = i;
				break;
			}
		}
		if (use < 0) {
			if (hp->chosen >= 0)
				hp->status = HOOK_NOT_BUILT;
			continue;
		}
		hp->chosen = use;
		hp->status = HOOK_PLANNED;
		for (int p = 0; p < MAX_PROGS && d->cand[use].progs[p]; p++) {
			struct bpf_program *prog =
				bpf_object__find_program_by_name(obj, d->cand[use].progs[p]);
			char fn[128];

			bpf_program__set_autoload(prog, true);
			if (d->cand[use].mech == MECH_FENTRY || d->cand[use].mech == MECH_FEXIT)
				bpf_program__set_attach_target(prog, 0,
					cand_target(&d->cand[use], p, fn, sizeof(fn)));
		}
	}
}

static struct bpf_link *attach_one(const struct candidate *c, struct bpf_program *prog, int p)
{
	char cat[64], fn[128];
	const char *ev;

	switch (c->mech) {
	case MECH_KPROBE:	/* kprobes and kretprobes, as their sections say */
		return bpf_program__attach_kprobe(prog,
				!strncmp(bpf_program__section_name(prog), "kretprobe", 9),
				cand_target(c, p, fn, sizeof(fn)));
	case MECH_KRETPROBE:
		return bpf_program__attach_kprobe(prog, true, c->target);
	case MECH_TRACEPOINT:
		ev = strchr(c->target, ':');
		snprintf(cat, sizeof(cat), "%.*s", (int)(ev - c->target), c->target);
		return bpf_program__attach_tracepoint(prog, cat, ev + 1);
	case MECH_ITER:
		return NULL;	/* iterators are run on demand, not attached */
	default:
		return bpf_program__attach(prog);
	}
}

int plan_attach(struct plan *plan, struct bpf_object *obj, unsigned int mask)
{
	int attached = 0;

	for (int h = 0; h < HOOK__MAX; h++) {
		struct hook_plan *hp = &plan->hooks[h];
		const struct candidate *c;

		if (!(mask & (1u << h)) || hp->status != HOOK_PLANNED)
			continue;
		c = &hp->def->cand[hp->chosen];
		if (c->mech == MECH_ITER) {
			hp->status = HOOK_ATTACHED;	/* loaded; run on demand */
			attached++;
			continue;
		}
		for (int p = 0; p < MAX_PROGS && c->progs[p]; p++) {
			struct bpf_program *prog = bpf_object__find_program_by_name(obj, c->progs[p]);
			struct bpf_link *l = attach_one(c, prog, p);

			if (!l) {
				snprintf(hp->error, sizeof(hp->error), "%s %s: %s", mech_name(c->mech),
					 c->target, errname(errno));
				hp->status = HOOK_ATTACH_FAILED;
				break;
			}
			hp->links[p] = l;
		}
		if (hp->status == HOOK_ATTACH_FAILED) {
			plan_detach(plan, 1u << h);
			continue;
		}
		hp->status = HOOK_ATTACHED;
		attached++;
	}
	return attached;
}

void plan_not_requested(struct plan *plan, unsigned int mask)
{
	for (int h = 0; h < HOOK__MAX; h++)
		if ((mask & (1u << h)) && plan->hooks[h].status == HOOK_PLANNED)
			plan->hooks[h].status = HOOK_NOT_REQUESTED;
}

bool plan_any_planned(const struct plan *plan, unsigned int mask)
{
	for (int h = 0; h < HOOK__MAX; h++)
		if ((mask & (1u << h)) && plan->hooks[h].status == HOOK_PLANNED)
			return true;
	return false;
}

void plan_fail(struct plan *plan, unsigned int mask, int err)
{
	for (int h = 0; h < HOOK__MAX; h++)
		if ((mask & (1u << h)) && plan->hooks[h].status == HOOK_PLANNED) {
			plan->hooks[h].status = HOOK_ATTACH_FAILED;
			snprintf(plan->hooks[h].error, sizeof(plan->hooks[h].error),
				 "object load failed: %s", strerror(err < 0 ? -err : err));
		}
}

void plan_detach(struct plan *plan, unsigned int mask)
{
	for (int h = 0; h < HOOK__MAX; h++) {
		if (!(mask & (1u << h)))
			continue;
		for (int p = 0; p < MAX_PROGS; p++) {
			bpf_link__destroy(plan->hooks[h].links[p]);
			plan->hooks[h].links[p] = NULL;
		}
	}
}

bool plan_hook_active(const struct plan *plan, enum hook_id id)
{
	return plan->hooks[id].status == HOOK_ATTACHED;
}

const struct candidate *plan_chosen(const struct plan *plan, enum hook_id id)
{
	const struct hook_plan *hp = &plan->hooks[id];

	return hp->chosen >= 0 ? &hp->def->cand[hp->chosen] : NULL;
}
