// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "pfn.h"
#include "classify.h"

const char *pfn_class_name(enum pfn_class c)
{
	static const char *const names[CLASS__MAX] = {
		[CLASS_RAM] = "ram", [CLASS_RESERVED] = "reserved", [CLASS_DEVICE] = "device",
		[CLASS_MMIO] = "mmio", [CLASS_INVALID] = "invalid",
	};
	return c < CLASS__MAX ? names[c] : "?";
}

int parse_pfn_class(const char *s, enum pfn_class *out)
{
	for (int c = 0; c < CLASS__MAX; c++)
		if (!strcmp(s, pfn_class_name(c))) {
			*out = c;
			return 0;
		}
	return -1;
}

enum pfn_class classify_pfn(const struct iomem *io, uint64_t pfn, unsigned int state,
			    const char **region)
{
	const struct iomem_region *r = iomem_find(io, pfn << 12);

	*region = r ? r->name : "";
	if (state & PFNST_BUCKET) {	/* ordinary referenced page: RAM by construction */
		if (!r)
			*region = "System RAM";
		return CLASS_RAM;
	}
	if (r && iomem_within(io, r, "System RAM"))
		return (state & PFNST_RESERVED) ? CLASS_RESERVED : CLASS_RAM;
	/* pfn_t_devmap(): PFN_DEV|PFN_MAP (ZONE_DEVICE, 6.1 DAX; vmf_insert_pfn() alone sets
	 * PFN_DEV for every pfn), or a struct page in a pmem/device-memory region */
	if ((state & (PFNST_PFN_DEV | PFNST_PFN_MAP)) == (PFNST_PFN_DEV | PFNST_PFN_MAP) ||
	    ((state & PFNST_HAS_PAGE) && r &&
	     (iomem_within_part(io, r, "Persistent Memory") ||
	      iomem_within_part(io, r, "Soft Reserved") ||
	      iomem_within_part(io, r, "Device Memory"))))
		return CLASS_DEVICE;
	return r ? CLASS_MMIO : CLASS_INVALID;
}

/* pat_init() (arch/x86/mm/pat/memtype.c) programs PAT entries 0-7 as
 * WB, WC, UC-, UC, WB, WP, UC-, WT; the pte selects one with PAT<<2|PCD<<1|PWT. */
static const char *const cache_names[8] = { "WB", "WC", "UC-", "UC", "WB", "WP", "UC-", "WT" };

const char *cache_mode_name(unsigned int idx)
{
	return idx < 8 ? cache_names[idx] : "?";
}

int cache_mode_is_wb(unsigned int idx)
{
	return idx == 0 || idx == 4;
}
