// SPDX-License-Identifier: GPL-2.0
/*
 * fixmap DEV NPAGES [read|write] [--hold SECONDS] [--private] [--pagemap]
 *        [--offset BYTES]
 *
 * Open DEV, mmap NPAGES of it (MAP_SHARED unless --private), touch every
 * page once (a 1-byte read, or a 1-byte write in "write" mode), optionally
 * sleep SECONDS with the mapping in place (after printing a "holding"
 * line), munmap, and print
 *   fixmap: DEV pages=N touched=N
 * With --pagemap (root), it also prints "fixmap: pagemap INDEX 0xPFN" for
 * every present page, from /proc/self/pagemap (VM_PFNMAP pages are never
 * present there).
 * Exits 1 (with a "fixmap: ..." message on stderr) if open/mmap fail or a
 * touch raises SIGBUS/SIGSEGV, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload.h"

static sigjmp_buf touch_env;
static volatile sig_atomic_t touch_sig;

static void on_fault(int sig)
{
	touch_sig = sig;
	siglongjmp(touch_env, 1);
}

/*
 * Touch one byte per page; returns the number of pages touched, fewer than
 * npages if a touch raised SIGBUS/SIGSEGV (signal number in touch_sig).
 */
static long touch_pages(unsigned char *map, long npages, long pagesz, int write_mode)
{
	static volatile unsigned char sink;
	volatile long i = 0;
	struct sigaction sa, old_bus, old_segv;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	if (!sigsetjmp(touch_env, 1)) {
		for (i = 0; i < npages; i++) {
			volatile unsigned char *p = map + i * pagesz;

			if (write_mode)
				*p = (unsigned char)i;
			else
				sink += *p;
		}
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return i;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fixmap DEV NPAGES [read|write] [--hold SECONDS] [--private] [--pagemap]"
		" [--offset BYTES]\n");
	exit(2);
}

/* Bits 0-54 of a /proc/PID/pagemap entry are the pfn when bit 63 (present) is set. */
static void print_pagemap(const char *dev, unsigned char *map, long npages, long pagesz)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "fixmap: open pagemap: %s\n", strerror(errno));
		return;
	}
	for (long i = 0; i < npages; i++) {
		unsigned long long e;
		off_t off = ((unsigned long)map / pagesz + i) * sizeof(e);

		if (pread(fd, &e, sizeof(e), off) != sizeof(e))
			break;
		if (e >> 63)
			printf("fixmap: %s pagemap %ld 0x%llx\n", dev, i, e & ((1ULL << 55) - 1));
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *dev = NULL, *npages_arg = NULL;
	int write_mode = 0, private_map = 0, pagemap = 0;
	long hold = 0, npages, pagesz = sysconf(_SC_PAGESIZE);
	unsigned long long offset = 0;
	unsigned char *map;
	long i, touched;
	int fd;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold")) {
			if (++i >= argc)
				usage();
			hold = parse_num("fixmap", argv[i], "--hold", 0);
		} else if (!strcmp(argv[i], "--offset")) {
			char *end;

			if (++i >= argc)
				usage();
			errno = 0;
			offset = strtoull(argv[i], &end, 0);
			if (errno || *end || offset % pagesz) {
				fprintf(stderr, "fixmap: bad --offset '%s' (page-aligned bytes)\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--pagemap")) {
			pagemap = 1;
		} else if (!strcmp(argv[i], "--private")) {
			private_map = 1;
		} else if (!strcmp(argv[i], "read") && npages_arg) {
			write_mode = 0;
		} else if (!strcmp(argv[i], "write") && npages_arg) {
			write_mode = 1;
		} else if (!dev) {
			dev = argv[i];
		} else if (!npages_arg) {
			npages_arg = argv[i];
		} else {
			usage();
		}
	}
	if (!dev || !npages_arg)
		usage();
	npages = parse_num("fixmap", npages_arg, "NPAGES", 0);
	if (npages < 1) {
		fprintf(stderr, "fixmap: NPAGES must be >= 1\n");
		return 2;
	}

	/* O_RDONLY leaves VM_MAYWRITE clear on a shared mapping. */
	fd = open(dev, write_mode && !private_map ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "fixmap: open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	map = mmap(NULL, npages * pagesz,
		   PROT_READ | (write_mode ? PROT_WRITE : 0),
		   private_map ? MAP_PRIVATE : MAP_SHARED, fd, (off_t)offset);
	if (map == MAP_FAILED) {
		fprintf(stderr, "fixmap: mmap %s %ld pages %s%s: %s\n", dev, npages,
			write_mode ? "read-write" : "read-only",
			private_map ? " private" : " shared", strerror(errno));
		return 1;
	}
	close(fd);

	touched = touch_pages(map, npages, pagesz, write_mode);
	if (touched < npages) {
		fprintf(stderr, "fixmap: %s: %s touching page index %ld (of %ld)\n", dev,
			strsignal(touch_sig), touched, npages);
		return 1;
	}

	if (pagemap)
		print_pagemap(dev, map, npages, pagesz);
	if (hold) {
		printf("fixmap: %s holding %ld pages for %ld s\n", dev, npages, hold);
		fflush(stdout);
		sleep(hold);
	}
	if (munmap(map, npages * pagesz)) {
		fprintf(stderr, "fixmap: munmap %s: %s\n", dev, strerror(errno));
		return 1;
	}
	printf("fixmap: %s pages=%ld touched=%ld\n", dev, npages, touched);
	return 0;
}
