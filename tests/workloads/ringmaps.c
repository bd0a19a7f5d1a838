// SPDX-License-Identifier: GPL-2.0
/*
 * ringmaps [HOLD_MS]: map and touch the kernel's own legitimate special
 * mappings that pfnscope must not flag: a perf ring buffer (perf_mmap_fault()
 * returns RAM pages on 6.1) and io_uring's SQ/CQ rings and SQE array. Prints
 * one line per mapping with its start address and, from /proc/self/smaps,
 * its VmFlags ("ringmaps: vma 0xSTART VmFlags: ..."); with HOLD_MS keeps
 * them mapped that long before exiting. Exits 1 if a mapping cannot be made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <stdlib.h>

static long touch(volatile unsigned char *p, size_t len)
{
	long pagesz = sysconf(_SC_PAGESIZE), n = 0;

	for (size_t off = 0; off < len; off += pagesz, n++)
		(void)p[off];
	return n;
}

/* Prints the VmFlags line of the smaps entry starting at @addr. */
static void print_vmflags(void *addr)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0;

	if (!f)
		return;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, want, strlen(want));
		if (in && !strncmp(line, "VmFlags:", 8))
			printf("ringmaps: vma 0x%lx %s", (unsigned long)addr, line);
	}
	fclose(f);
}

static void *maps[4];
static int nmaps;

static int perf_ring(void)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.disabled = 1,
	};
	long pagesz = sysconf(_SC_PAGESIZE);
	size_t len = (1 + 8) * pagesz;
	void *p;
	int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);

	if (fd < 0) {
		fprintf(stderr, "ringmaps: perf_event_open: %s\n", strerror(errno));
		return 1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "ringmaps: mmap perf ring: %s\n", strerror(errno));
		return 1;
	}
	printf("ringmaps: perf ring pages=%ld\n", touch(p, len));
	maps[nmaps++] = p;
	return 0;
}

static int uring(void)
{
	struct io_uring_params par = {};
	size_t sq_len, cq_len, sqe_len;
	void *sq, *cq, *sqes;
	int fd = syscall(SYS_io_uring_setup, 8, &par);

	if (fd < 0) {
		fprintf(stderr, "ringmaps: io_uring_setup: %s\n", strerror(errno));
		return 1;
	}
	sq_len = par.sq_off.array + par.sq_entries * sizeof(unsigned);
	cq_len = par.cq_off.cqes + par.cq_entries * sizeof(struct io_uring_cqe);
	sqe_len = par.sq_entries * sizeof(struct io_uring_sqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_SQ_RING);
	cq = (par.features & IORING_FEAT_SINGLE_MMAP) ? sq :
	     mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		fprintf(stderr, "ringmaps: mmap io_uring: %s\n", strerror(errno));
		return 1;
	}
	printf("ringmaps: io_uring sq=%ld cq=%ld sqes=%ld\n", touch(sq, sq_len),
	       touch(cq, cq_len), touch(sqes, sqe_len));
	maps[nmaps++] = sq;
	if (cq != sq)
		maps[nmaps++] = cq;
	maps[nmaps++] = sqes;
	return 0;
}

int main(int argc, char **argv)
{
	int err = perf_ring();

	err |= uring();
	for (int i = 0; i < nmaps; i++)
		print_vmflags(maps[i]);
	fflush(stdout);
	if (argc > 1)
		usleep(atoi(argv[1]) * 1000);
	return err;	/* the mappings go with the process */
}
