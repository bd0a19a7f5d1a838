// SPDX-License-Identifier: GPL-2.0
/*
 * stackgrow PAGES [segv]: grows the main thread's stack by PAGES pages, one page fault each,
 * each below the stack VMA's start at the time it is taken (the kernel then extends the VMA:
 * expand_stack()). Prints the kernel's VmStk before and after (/proc/self/status) on stderr:
 * "stackgrow: VmStk A -> B kB". With "segv" it then reads address 0x10000, the lowest one
 * mmap_min_addr (64 KiB) lets a mapping have and where this static program maps nothing, and
 * dies of the SIGSEGV: a fault with no VMA that is not the stack growing, even under
 * `ulimit -s unlimited`.
 */
#include <alloca.h>
#include "workload.h"

static long vmstk_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		die_errno("stackgrow", "/proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmStk: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	long pages, before, after;
	volatile char *p;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "segv"))) {
		fprintf(stderr, "usage: stackgrow PAGES [segv]\n");
		return 2;
	}
	pages = parse_num("stackgrow", argv[1], "PAGES", 1);
	before = vmstk_kb();
	p = alloca(pages * 4096);
	for (long off = pages * 4096 - 1; off >= 0; off -= 4096)	/* downwards, a page each */
		p[off] = 1;
	after = vmstk_kb();
	fprintf(stderr, "stackgrow: VmStk %ld -> %ld kB\n", before, after);
	if (argc == 3)
		return *(volatile char *)0x10000;
	return 0;
}
