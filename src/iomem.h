/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/iomem as a tree: the innermost named region of a physical address. */
#ifndef PFNSCOPE_IOMEM_H
#define PFNSCOPE_IOMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct iomem_region {
	uint64_t start, end;	/* inclusive, as /proc/iomem prints them */
	int depth;		/* nesting level (two spaces each) */
	int parent;		/* index of the enclosing region, -1 at top level */
	char name[64];
};

struct iomem {
	struct iomem_region *r;
	size_t n;
	bool all_zero;		/* not root: the kernel hides the addresses */
};

struct iomem *iomem_parse(FILE *f);
struct iomem *iomem_load(void);
void iomem_free(struct iomem *io);

/* Innermost region containing @phys, or NULL. */
const struct iomem_region *iomem_find(const struct iomem *io, uint64_t phys);
/* True if @r or an enclosing region is named @name. */
bool iomem_within(const struct iomem *io, const struct iomem_region *r, const char *name);
/* True if @r or an enclosing region's name contains @part. */
bool iomem_within_part(const struct iomem *io, const struct iomem_region *r, const char *part);

#endif /* PFNSCOPE_IOMEM_H */
