// SPDX-License-Identifier: GPL-2.0
/*
 * pinwork uring|vmreadv|zero|odirect FILE: take page pins from user space, no module:
 *   uring    16 pages registered as io_uring fixed buffers (FOLL_PIN|FOLL_LONGTERM), then
 *            unregistered (released)
 *   vmreadv  process_vm_readv() of 16 touched pages of our own (FOLL_PIN, released)
 *   zero     process_vm_readv() of 16 never-touched anonymous pages: GUP maps and pins the
 *            shared zero page
 *   odirect  an O_DIRECT read of 16 pages from FILE into a buffer (FOLL_GET on 6.1 block I/O)
 * Prints "pinwork: MODE pages=16" and exits 0, or 1 on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "workload.h"

#define NPAGES 16
#define PG 4096

#define die(what) die_errno("pinwork", what)

static char *buffer(int touch)
{
	char *p = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	madvise(p, NPAGES * PG, MADV_NOHUGEPAGE);
	if (touch)
		for (int i = 0; i < NPAGES; i++)
			p[i * PG] = 1;
	return p;
}

static void uring(void)
{
	struct io_uring_params par = {};
	struct iovec iov = { buffer(1), NPAGES * PG };
	int fd = syscall(SYS_io_uring_setup, 4, &par);

	if (fd < 0)
		die("io_uring_setup");
	if (syscall(SYS_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1))
		die("IORING_REGISTER_BUFFERS");
	if (syscall(SYS_io_uring_register, fd, IORING_UNREGISTER_BUFFERS, NULL, 0))
		die("IORING_UNREGISTER_BUFFERS");
	close(fd);
}

static void vmreadv(int touch)
{
	char *src = buffer(touch), *dst = buffer(1);
	struct iovec l = { dst, NPAGES * PG }, r = { src, NPAGES * PG };

	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != NPAGES * PG)
		die("process_vm_readv");
}

static void odirect(const char *path)
{
	char *p = buffer(1);
	int fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);

	if (fd < 0)
		die(path);
	if (pwrite(fd, p, NPAGES * PG, 0) != NPAGES * PG)
		die("O_DIRECT write");
	if (pread(fd, p, NPAGES * PG, 0) != NPAGES * PG)
		die("O_DIRECT read");
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "uring"))
		uring();
	else if (!strcmp(argv[1], "vmreadv"))
		vmreadv(1);
	else if (!strcmp(argv[1], "zero"))
		vmreadv(0);
	else if (!strcmp(argv[1], "odirect") && argc == 3)
		odirect(argv[2]);
	else
		goto usage;
	printf("pinwork: %s pages=%d\n", argv[1], NPAGES);
	return 0;
usage:
	fprintf(stderr, "usage: pinwork uring|vmreadv|zero|odirect FILE\n");
	return 2;
}
