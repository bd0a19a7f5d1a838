/* SPDX-License-Identifier: GPL-2.0 */
/* pfn + captured page state + /proc/iomem -> class. */
#ifndef PFNSCOPE_CLASSIFY_H
#define PFNSCOPE_CLASSIFY_H

#include <stdint.h>
#include "iomem.h"

enum pfn_class {
	CLASS_RAM,	/* System RAM, an ordinary page */
	CLASS_RESERVED,	/* System RAM with PG_reserved */
	CLASS_DEVICE,	/* a struct page outside System RAM: ZONE_DEVICE, pmem/DAX */
	CLASS_MMIO,	/* not System RAM: a bus, device BAR, ROM or firmware region */
	CLASS_INVALID,	/* outside every /proc/iomem region */
	CLASS__MAX,
};

const char *pfn_class_name(enum pfn_class c);
int parse_pfn_class(const char *s, enum pfn_class *out);

/* Classifies @pfn with the PFNST_* @state captured in the kernel; *region gets the innermost
 * /proc/iomem region name ("" if none). */
enum pfn_class classify_pfn(const struct iomem *io, uint64_t pfn, unsigned int state,
			    const char **region);

/* x86 PAT index -> "WB", "WC", "UC-", "UC", "WP", "WT" (Linux's PAT MSR layout, pat_init()). */
const char *cache_mode_name(unsigned int idx);
int cache_mode_is_wb(unsigned int idx);

#endif /* PFNSCOPE_CLASSIFY_H */
