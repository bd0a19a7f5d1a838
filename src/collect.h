/* SPDX-License-Identifier: GPL-2.0 */
/* Reads the in-kernel aggregates (maps vmas, procs, drops) into a struct report. */
#ifndef PFNSCOPE_COLLECT_H
#define PFNSCOPE_COLLECT_H

#include "report.h"

struct collect_maps {
	int vmas_fd;
	int procs_fd;
	int drops_fd;
	int pfn_fd;
	int mms_fd;
	int rss_fd;		/* rss_mm, -1 without the rss hook */
};

/* Appends one --timeline sample of every VMA row with RSS or faults. */
int collect_timeline_sample(const struct collect_maps *m, struct report *r);

/* Fills r->vmas, r->procs, r->drops; names VMAs and symbolises vm_ops and fault handlers.
 * Returns 0 or -errno. */
int collect_report(const struct collect_maps *m, struct ksyms *ks, struct report *r);

/* Display name of a VMA as /proc/PID/maps shows it. */
void vma_display_name(const struct vma_val *v, char *buf, size_t n);

#endif /* PFNSCOPE_COLLECT_H */
