/* SPDX-License-Identifier: GPL-2.0 */
/* Loader and reader of bpf/gup.bpf.c: pin/unpin balance, outstanding pins, callers. */
#ifndef PFNSCOPE_PINS_H
#define PFNSCOPE_PINS_H

#include <stddef.h>
#include <stdbool.h>
#include "gup.h"
#include "fault.h"

extern const unsigned int gup_hooks_mask;

struct gup_bpf;
struct report;
struct ksyms;

struct gup_ctx {
	struct gup_bpf *skel;
	struct plan *plan;
	unsigned int mask;
	__u32 foll_pin, foll_get, foll_longterm;	/* FOLL_* from BTF, 0 if absent */
	bool grab_page_returns_int;
};

/* Reads what the programs need to know from the kernel's BTF (FOLL_* values, the return type
 * of try_grab_page()) before the BTF is released; then gup_start() opens, loads, and
 * gup_attach() attaches. */
struct btf;
void gup_prepare(struct gup_ctx *gc, const struct plan *plan, const struct btf *btf);
int gup_start(struct gup_ctx *gc, struct fault_ctx *fc, struct plan *plan);
void gup_attach(struct gup_ctx *gc, const struct kaddrs *ka);
void gup_stop(struct gup_ctx *gc);

/* /proc/vmstat nr_foll_pin_acquired/released after a stat_refresh; -1 if unavailable. */
int vmstat_pins(long long *acquired, long long *released);

struct iomem;
struct state;
struct state_fds;
/* Builds pins, callers and totals of @r from @st (stacks symbolised with @ks, pinned pages
 * classified against @io). Nothing if @st has no pin tables. */
int pins_collect(const struct state *st, struct ksyms *ks, const struct iomem *io,
		 struct report *r);
void gup_state_fds(const struct gup_ctx *gc, struct state_fds *f);

/* The BPF object as built (the skeleton's copy), for the CO-RE cache (corebtf.c). */
const void *gup_obj_bytes(size_t *sz);

#endif /* PFNSCOPE_PINS_H */
