// SPDX-License-Identifier: GPL-2.0
/*
 * manyvmas N SECONDS: maps N one-page anonymous VMAs that cannot merge (alternating
 * protections), touches each once (one fault per VMA: N rows in pfnscope's VMA table), prints
 * "manyvmas: pid P vmas N ready" and holds them for SECONDS. N above vm.max_map_count (65530
 * by default) needs several processes.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

int main(int argc, char **argv)
{
	long n, secs, page = sysconf(_SC_PAGESIZE), made = 0;
	char *base;

	if (argc != 3) {
		fprintf(stderr, "usage: manyvmas N SECONDS\n");
		return 2;
	}
	n = parse_num("manyvmas", argv[1], "N", 1);
	secs = parse_num("manyvmas", argv[2], "SECONDS", 0);
	/* one reservation, then each page its own VMA by its own protection */
	base = mmap(NULL, n * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		perror("manyvmas: mmap");
		return 1;
	}
	for (long i = 0; i < n; i += 2) {
		if (mprotect(base + i * page, page, PROT_READ | PROT_WRITE)) {
			perror("manyvmas: mprotect (vm.max_map_count?)");
			break;
		}
		base[i * page] = 1;	/* one fault */
		made++;
	}
	printf("manyvmas: pid %d vmas %ld ready\n", getpid(), made);
	fflush(stdout);
	sleep(secs);
	return 0;
}
