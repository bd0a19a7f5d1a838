// SPDX-License-Identifier: GPL-2.0
/*
 * faultstorm MIB [ROUNDS]
 *
 * ROUNDS times (default 1): mmap MIB MiB of anonymous memory, write-touch
 * every page, munmap. Transparent huge pages are disabled on the buffer
 * (MADV_NOHUGEPAGE) so each page takes its own fault. Prints
 *   faultstorm: mib=M rounds=R pages=P elapsed_ns=T
 *   faultstorm: minflt=X majflt=Y
 *   faultstorm: in_loop_faults=Z   (minflt+majflt taken by the loop alone, the kernel's count)
 * where P is the number of pages touched and X/Y are this process's own
 * counters from /proc/self/stat at the end (they include start-up faults).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

/* Fields 10 (minflt) and 12 (majflt) of /proc/self/stat; comm may hold
 * spaces and parentheses, so parse from the last ')'. */
static int self_faults(unsigned long *minflt, unsigned long *majflt)
{
	char buf[1024], *p;
	size_t n;
	FILE *f;

	f = fopen("/proc/self/stat", "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* after ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %lu",
		   minflt, majflt) != 2)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	long mib, rounds = 1, pagesz = sysconf(_SC_PAGESIZE), npages, r, i;
	unsigned long minflt, majflt, loop0, majflt0, touched = 0;
	struct timespec t0, t1;
	size_t len;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: faultstorm MIB [ROUNDS]\n");
		return 2;
	}
	mib = parse_num("faultstorm", argv[1], "MIB", 1);
	if (argc == 3)
		rounds = parse_num("faultstorm", argv[2], "ROUNDS", 1);
	len = (size_t)mib << 20;
	npages = len / pagesz;

	/* the kernel's count over the loop alone: a first read maps what reading needs */
	if (self_faults(&minflt, &majflt) || self_faults(&loop0, &majflt0)) {
		fprintf(stderr, "faultstorm: cannot parse /proc/self/stat\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; r < rounds; r++) {
		volatile unsigned char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (buf == MAP_FAILED) {
			fprintf(stderr, "faultstorm: mmap %ld MiB: %s\n", mib, strerror(errno));
			return 1;
		}
		if (madvise((void *)buf, len, MADV_NOHUGEPAGE) && errno != EINVAL) {
			fprintf(stderr, "faultstorm: madvise: %s\n", strerror(errno));
			return 1;
		}
		for (i = 0; i < npages; i++)
			buf[i * pagesz] = 1;
		touched += npages;
		munmap((void *)buf, len);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (self_faults(&minflt, &majflt)) {
		fprintf(stderr, "faultstorm: cannot parse /proc/self/stat\n");
		return 1;
	}
	loop0 = minflt + majflt - loop0 - majflt0;

	printf("faultstorm: mib=%ld rounds=%ld pages=%lu elapsed_ns=%lld\n", mib, rounds,
	       touched, (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	if (self_faults(&minflt, &majflt)) {
		fprintf(stderr, "faultstorm: cannot parse /proc/self/stat\n");
		return 1;
	}
	printf("faultstorm: minflt=%lu majflt=%lu\n", minflt, majflt);
	printf("faultstorm: in_loop_faults=%lu\n", loop0);
	return 0;
}
