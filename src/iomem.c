// SPDX-License-Identifier: GPL-2.0
/* /proc/iomem parser. Each line is "[indent]START-END : NAME", the indent two spaces per
 * nesting level (r_show() in kernel/resource.c). Lines that break the format are skipped. */
#include <stdlib.h>
#include <string.h>
#include "iomem.h"
#include "textio.h"

#define IOMEM_MAX_DEPTH 16

struct iomem *iomem_parse(FILE *f)
{
	struct iomem *io = calloc(1, sizeof(*io));
	int stack[IOMEM_MAX_DEPTH];
	size_t cap = 0, nonzero = 0;
	char line[256];

	if (!io)
		return NULL;
	for (int got; (got = read_line(line, sizeof(line), f)) >= 0;) {
		struct iomem_region *r;
		unsigned long long s, e;
		char *p = line, *name, *nl;
		int depth = 0, len = -1;

		if (got)	/* overlong, or a NUL byte inside */
			continue;
		while (*p == ' ')
			p++;
		if ((p - line) % 2)
			continue;
		depth = (p - line) / 2;
		if (depth >= IOMEM_MAX_DEPTH || (depth > 0 && (!io->n || depth > io->r[io->n - 1].depth + 1)))
			continue;
		/* without the " :" the %n is never reached: len stays -1 */
		if (sscanf(p, "%llx-%llx : %n", &s, &e, &len) != 2 || len < 0 || s > e)
			continue;
		name = p + len;
		nl = strpbrk(name, "\r\n");
		if (nl)
			*nl = '\0';
		if (io->n == cap) {
			size_t ncap = cap ? cap * 2 : 128;
			struct iomem_region *n = realloc(io->r, ncap * sizeof(*n));

			if (!n) {
				iomem_free(io);
				return NULL;
			}
			io->r = n;
			cap = ncap;
		}
		r = &io->r[io->n];
		r->start = s;
		r->end = e;
		r->depth = depth;
		r->parent = depth ? stack[depth - 1] : -1;
		snprintf(r->name, sizeof(r->name), "%s", name);
		stack[depth] = io->n;
		io->n++;
		if (e)
			nonzero++;
	}
	io->all_zero = io->n && !nonzero;
	return io;
}

struct iomem *iomem_load(void)
{
	FILE *f = fopen("/proc/iomem", "r");
	struct iomem *io;

	if (!f)
		return NULL;
	io = iomem_parse(f);
	fclose(f);
	return io;
}

void iomem_free(struct iomem *io)
{
	if (io)
		free(io->r);
	free(io);
}

const struct iomem_region *iomem_find(const struct iomem *io, uint64_t phys)
{
	const struct iomem_region *best = NULL;

	if (!io || io->all_zero)
		return NULL;
	/* regions are few (hundreds): a linear scan keeps the deepest match */
	for (size_t i = 0; i < io->n; i++) {
		const struct iomem_region *r = &io->r[i];

		if (phys >= r->start && phys <= r->end && (!best || r->depth > best->depth))
			best = r;
	}
	return best;
}

static bool within(const struct iomem *io, const struct iomem_region *r, const char *name,
		   bool part)
{
	while (r) {
		if (part ? strstr(r->name, name) != NULL : !strcmp(r->name, name))
			return true;
		r = r->parent >= 0 ? &io->r[r->parent] : NULL;
	}
	return false;
}

bool iomem_within(const struct iomem *io, const struct iomem_region *r, const char *name)
{
	return within(io, r, name, false);
}

bool iomem_within_part(const struct iomem *io, const struct iomem_region *r, const char *part)
{
	return within(io, r, part, true);
}
