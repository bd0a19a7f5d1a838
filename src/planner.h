/* SPDX-License-Identifier: GPL-2.0 */
/* The attach planner: for each logical hook, the best mechanism the running kernel offers. */
#ifndef PFNSCOPE_PLANNER_H
#define PFNSCOPE_PLANNER_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_link;

struct bpf_object;

enum mech {
	MECH_NONE,
	MECH_FENTRY,
	MECH_FEXIT,
	MECH_KPROBE,	/* kprobe, with a kretprobe partner where the hook needs the return */
	MECH_KRETPROBE,
	MECH_TP_BTF,
	MECH_TRACEPOINT,
	MECH_ITER,
};

/* What --backend allows for function hooks. Tracepoint-native hooks ignore it. */
enum backend {
	BACKEND_AUTO,
	BACKEND_FENTRY,
	BACKEND_KPROBE,
	BACKEND_TRACEPOINT,
};

enum hook_id {
	HOOK_TASK_FORK,
	HOOK_TASK_EXIT,
	HOOK_FAULT_COUNT,
	HOOK_FAULT_RETURN,
	HOOK_PTE_INSTALL,
	HOOK_PFN_INSERT,
	HOOK_PFN_REMAP,
	HOOK_PFN_TRACK,
	HOOK_PAGE_INSERT,
	HOOK_TEARDOWN,
	HOOK_RSS_RMAP,
	HOOK_FORK_COPY,
	HOOK_VMA_FREE,
	HOOK_BAD_PTE,
	HOOK_MM_FORK,
	HOOK_PIN_GRAB,
	HOOK_PIN_RELEASE,
	HOOK_PIN_ADDR,
	HOOK_PIN_UNMAP,
	HOOK_RSS,
	HOOK_MM_EXIT,
	HOOK_VMA_ITER,
	HOOK_RSS_ITER,
	HOOK_STACK_MOVE,
	HOOK_MM_SEED,
	HOOK__MAX,
};

#define MAX_CANDIDATES 6
#define MAX_PROGS 4

struct candidate {
	enum mech mech;
	/* kernel function, "category:event" or iterator name; several functions separated by
	 * spaces when the hook needs one program on each (progs[i] on the i-th, the last one
	 * shared by the rest: a kprobe and its kretprobe) */
	const char *target;
	const char *progs[MAX_PROGS];	/* BPF programs that implement it */
	const char *limits;	/* what this mechanism cannot see, if anything */
	int min_args;		/* tp_btf: the tracepoint must pass at least this many args */
	const char *arg0;	/* functions: the first argument must point to this struct */
};

struct hook_def {
	const char *name;
	const char *what;		/* what the hook observes */
	const char *lost;		/* what pfnscope cannot report without it */
	struct candidate cand[MAX_CANDIDATES];
};

enum hook_status {
	HOOK_UNAVAILABLE,	/* no candidate works on this kernel */
	HOOK_NOT_BUILT,		/* a mechanism works but this build has no program for it */
	HOOK_PLANNED,		/* chosen, not attached yet */
	HOOK_ATTACHED,
	HOOK_ATTACH_FAILED,
	HOOK_NOT_REQUESTED,	/* the subcommand does not use it */
};

struct hook_plan {
	const struct hook_def *def;
	int chosen;				/* index into def->cand, -1 if none */
	enum hook_status status;
	char why[MAX_CANDIDATES][128];		/* per candidate: why it was rejected */
	char error[160];			/* attach error */
	struct bpf_link *links[MAX_PROGS];
};

struct plan {
	enum backend backend;
	bool btf;			/* /sys/kernel/btf/vmlinux present */
	bool kprobe_pmu;
	bool tracefs;
	struct hook_plan hooks[HOOK__MAX];
};

extern const struct hook_def hook_defs[HOOK__MAX];

const char *mech_name(enum mech m);
const char *hook_status_name(enum hook_status s);
int parse_backend(const char *s, enum backend *out);
const char *backend_name(enum backend b);

/* Probes every hook's candidates on the running kernel (trial loads and attaches). */
void plan_probe(struct plan *plan, enum backend backend);

/* Enables exactly the chosen programs of @obj (set_autoload) for the hooks in @mask; hooks
 * whose chosen candidate has no program in @obj fall back to the next candidate that has. */
void plan_apply(struct plan *plan, struct bpf_object *obj, unsigned int mask);

/* Attaches the programs chosen for the hooks in @mask; records per-hook status and links.
 * Returns the number of hooks attached. */
int plan_attach(struct plan *plan, struct bpf_object *obj, unsigned int mask);
/* The planned hooks of @mask are left out: this subcommand does not use them. */
void plan_not_requested(struct plan *plan, unsigned int mask);
/* True if a hook of @mask has a mechanism waiting to be attached. */
bool plan_any_planned(const struct plan *plan, unsigned int mask);
/* Marks the planned hooks of @mask as failed: their object did not load (-@err). */
void plan_fail(struct plan *plan, unsigned int mask, int err);

/* Destroys the links of the hooks in @mask. */
void plan_detach(struct plan *plan, unsigned int mask);

/* The i-th function of a candidate's target list (the last one for i beyond it). */
const char *cand_target(const struct candidate *c, int i, char *buf, size_t n);

bool plan_hook_active(const struct plan *plan, enum hook_id id);
const struct candidate *plan_chosen(const struct plan *plan, enum hook_id id);

/* Mounts tracefs at /sys/kernel/tracing if needed; returns false if impossible. */
bool ensure_tracefs(void);
/* The kernel's BTF as the planner parsed it (NULL without BTF), and its release. */
struct btf;
const struct btf *plan_btf(void);
/* btf__find_by_name_kind() on it, indexed for FUNC and TYPEDEF names */
int plan_btf_find(const char *name, int kind);
void plan_btf_release(void);

#endif /* PFNSCOPE_PLANNER_H */
