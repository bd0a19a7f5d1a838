/* SPDX-License-Identifier: GPL-2.0 */
/* Builds a struct report from the raw state (src/state.h): rows, names, symbols. */
#ifndef PFNSCOPE_COLLECT_H
#define PFNSCOPE_COLLECT_H

#include "report.h"
#include "state.h"

/* Appends one --timeline sample of every VMA row with RSS or faults. */
int collect_timeline_sample(const struct state *st, struct report *r);

/* Fills r->vmas, r->procs, r->drops; names VMAs and symbolises vm_ops and fault handlers.
 * Returns 0 or -errno. */
int collect_report(const struct state *st, struct ksyms *ks, struct report *r);

/* The address space of id @id (mm_val.id) in @r, or NULL. */
struct mm_row *mm_of(const struct report *r, __u64 id);

/* Display name of a VMA as /proc/PID/maps shows it. */
void vma_display_name(const struct vma_val *v, char *buf, size_t n);
/* Fills @row's display name, handler and vm_ops names and module from its val. */
void collect_vma_names(struct vma_row *row, struct ksyms *ks);

#endif /* PFNSCOPE_COLLECT_H */
