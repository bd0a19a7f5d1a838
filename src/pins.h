/* SPDX-License-Identifier: GPL-2.0 */
/* Loader and reader of bpf/gup.bpf.c: pin/unpin balance, outstanding pins, callers. */
#ifndef PFNSCOPE_PINS_H
#define PFNSCOPE_PINS_H

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
};

int gup_start(struct gup_ctx *gc, struct fault_ctx *fc, struct ksyms *ks, struct plan *plan);
void gup_stop(struct gup_ctx *gc);

/* /proc/vmstat nr_foll_pin_acquired/released after a stat_refresh; -1 if unavailable. */
int vmstat_pins(long long *acquired, long long *released);

struct iomem;
/* Reads pins, callers and totals into @r (stacks symbolised with @ks, pinned pages classified
 * against @io). */
int pins_collect(struct gup_ctx *gc, struct ksyms *ks, const struct iomem *io, struct report *r);

#endif /* PFNSCOPE_PINS_H */
