// SPDX-License-Identifier: GPL-2.0
/*
 * vmachurn [--pages N] [--wait-for PATH]
 *
 * Moves anonymous pages from one vm_area_struct to another without an rmap call, the way a
 * long-lived process's heap churns, then lives on:
 * N pages (default 256) written, then mremap(MREMAP_MAYMOVE | MREMAP_FIXED) to a free place:
 * copy_vma() makes a new struct, move_page_tables() carries the ptes, and the old struct is
 * freed (vm_area_free) with the pages entered in its name.
 * Prints "vmachurn: pid P churned", then waits until PATH exists (default: exits at once),
 * then unmaps the pages and exits. Exits 1 on any failure, 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096L

#define die(what) die_errno("vmachurn", what)

static char *anon(long pages)
{
	char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	for (long i = 0; i < pages; i++)
		p[i * PG] = 1;
	return p;
}

int main(int argc, char **argv)
{
	const char *wait_for = NULL;
	long pages = 256;
	char *moved, *hole;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			pages = parse_num("vmachurn", argv[++i], "--pages", 2);
		else if (!strcmp(argv[i], "--wait-for") && i + 1 < argc)
			wait_for = argv[++i];
		else {
			fprintf(stderr, "usage: vmachurn [--pages N] [--wait-for PATH]\n");
			return 2;
		}
	}
	/* move: a reserved hole first, so MREMAP_FIXED has a free place that is not adjacent */
	hole = mmap(NULL, (pages + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED)
		die("mmap hole");
	moved = anon(pages);
	moved = mremap(moved, pages * PG, pages * PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole + PG);
	if (moved == MAP_FAILED)
		die("mremap");
	printf("vmachurn: pid %d churned\n", getpid());
	fflush(stdout);
	while (wait_for && access(wait_for, F_OK))
		usleep(100000);
	if (munmap(moved, pages * PG))
		die("munmap");
	return 0;
}
