/* SPDX-License-Identifier: GPL-2.0 */
/* Loader of bpf/fault.bpf.c: process bookkeeping and fault counting. */
#ifndef PFNSCOPE_FAULT_H
#define PFNSCOPE_FAULT_H

#include <stddef.h>
#include <stdbool.h>
#include <linux/types.h>
#include "planner.h"
#include "kaddr.h"
#include "collect.h"

struct fault_bpf;
struct bpf_map;
struct bpf_program;
struct ksyms;

struct fault_opts {
	bool filter_tgids;	/* follow only tgids put in `traced` */
	bool ignore_self;	/* never watch this process */
	__u32 max_vmas;		/* 0: default */
	__u32 trace_mask;	/* event types streamed to the rings (1 << TE_*), 0: none */
	__u32 ringbuf_bytes;	/* all CPUs' event rings together in trace mode; 0: default */
	const char *pin_dir;	/* pin the state maps here, re-using those already there */
};

/* The hooks bpf/fault.bpf.c has programs for. */
extern const unsigned int fault_hooks_mask;

struct fault_ctx {
	struct fault_bpf *skel;
	struct plan *plan;
	unsigned int mask;	/* hooks this object serves */
	const char *pin_dir;	/* fault_opts.pin_dir: the other objects pin there too */
};

/* Open, configure from @plan, load. Returns 0 if loaded, -errno otherwise. */
int fault_start(struct fault_ctx *fc, struct plan *plan, const struct fault_opts *o);
/* Writes @ka into the programs' globals and attaches them (per-hook status: see plan). */
void fault_attach(struct fault_ctx *fc, const struct kaddrs *ka);
void fault_stop(struct fault_ctx *fc);
/* Runs the vma-iter program over each traced process: registers their PFNMAP/MIXEDMAP/IO
 * VMAs. */
int fault_snapshot_vmas(struct fault_ctx *fc);
void fault_follow_next_fork(struct fault_ctx *fc, bool on);
int fault_trace_pid(struct fault_ctx *fc, __u32 tgid);
struct state_fds;
void fault_state_fds(const struct fault_ctx *fc, struct state_fds *f);

/* Pins every state map of @obj that is not shared from another object under @dir (created if
 * needed): a later load re-uses them. The ring buffer and scratch maps are not state. */
int maps_pin_dir(struct bpf_object *obj, const char *dir);
/* One row for a stash none of whose NULL-terminated @users loads (after plan_apply()). */
void stash_fit(struct bpf_map *stash, struct bpf_program *const *users);


/* The BPF object as built (the skeleton's copy), for the CO-RE cache (corebtf.c). */
const void *fault_obj_bytes(size_t *sz);

#endif /* PFNSCOPE_FAULT_H */
