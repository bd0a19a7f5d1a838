// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: /proc/iomem text through iomem_parse(), then the lookups classify_pfn() makes
 * on what it built. Aborts if the tree breaks what iomem.h promises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "classify.h"
#include "iomem.h"
#include "pfn.h"

static void check(const struct iomem *io)
{
	size_t nonzero = 0;

	for (size_t i = 0; i < io->n; i++) {
		const struct iomem_region *r = &io->r[i];

		if (r->start > r->end || !memchr(r->name, '\0', sizeof(r->name)) ||
		    strpbrk(r->name, "\r\n"))
			abort();
		/* a region's parent comes before it, one level up */
		if (r->depth < 0 || (r->depth == 0) != (r->parent == -1))
			abort();
		if (r->parent >= 0 && ((size_t)r->parent >= i ||
				       io->r[r->parent].depth != r->depth - 1))
			abort();
		nonzero += r->end != 0;
	}
	if (io->all_zero != (io->n && !nonzero))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct iomem *io;

	if (!f)
		return 0;
	io = iomem_parse(f);
	fclose(f);
	if (!io)
		return 0;
	check(io);
	for (size_t i = 0; i < io->n && i < 64; i++) {
		const struct iomem_region *r = &io->r[i], *hit = iomem_find(io, r->start);
		const char *region;

		if (!io->all_zero && (!hit || hit->start > r->start || hit->end < r->start ||
				      hit->depth < r->depth))
			abort();
		classify_pfn(io, r->start >> 12, PFNST_HAS_PAGE, &region);
		classify_pfn(io, r->end >> 12, PFNST_PFN_DEV | PFNST_PFN_MAP, &region);
		classify_pfn(io, (r->end + 1) >> 12, PFNST_BUCKET, &region);
	}
	iomem_free(io);
	return 0;
}
