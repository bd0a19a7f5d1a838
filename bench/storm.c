// SPDX-License-Identifier: GPL-2.0
/*
 * storm anon|tmpfs|forkcow MIB ROUNDS: a fault storm that times only its own loop and prints
 * "storm: KIND faults=N ns_per_fault=X".
 *   anon     mmap MIB of anonymous memory, write every page, munmap; ROUNDS times
 *   tmpfs    map a MIB tmpfs file (/dev/shm) MAP_PRIVATE, read every page, munmap
 *   forkcow  touch MIB, fork; the child writes every page (copy-on-write); the parent waits
 *   pin      a fresh MIB buffer each round, registered as an io_uring fixed buffer (FOLL_PIN |
 *            FOLL_LONGTERM of every page, faulting them in) and unregistered (unpin), then
 *            read through process_vm_readv() from this process (GUP of every page); per page
 * Transparent huge pages are off on the buffers: one fault per 4 KiB page.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/io_uring.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096L

static unsigned long long now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static char *map(size_t len, int fd, int flags)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED) {
		perror("storm: mmap");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/* One round of the pin storm: returns the ns it took. */
static unsigned long long pin_round(int ring, size_t len)
{
	unsigned long long t0 = now();
	char *p = map(len, -1, MAP_PRIVATE | MAP_ANONYMOUS);
	char *dst = map(len, -1, MAP_PRIVATE | MAP_ANONYMOUS);
	struct iovec iov = { p, len }, local = { dst, len };

	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1) ||
	    syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0)) {
		perror("storm: io_uring_register");
		exit(1);
	}
	if (process_vm_readv(getpid(), &local, 1, &iov, 1, 0) != (ssize_t)len) {
		perror("storm: process_vm_readv");
		exit(1);
	}
	munmap(p, len);
	munmap(dst, len);
	return now() - t0;
}

int main(int argc, char **argv)
{
	unsigned long long t0, spent = 0, faults = 0;
	long mib, rounds;
	size_t len;
	int fd = -1;

	if (argc != 4 || (mib = atol(argv[2])) <= 0 || (rounds = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: storm anon|tmpfs|forkcow|pin MIB ROUNDS\n");
		return 2;
	}
	len = (size_t)mib << 20;
	if (!strcmp(argv[1], "tmpfs")) {
		char path[64];

		snprintf(path, sizeof(path), "/dev/shm/pfnscope-storm-%d", getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, len)) {
			perror("storm: tmpfs file");
			return 1;
		}
		unlink(path);
		{	/* populate the page cache first: the storm measures mapping faults */
			char *p = map(len, fd, MAP_SHARED);

			for (size_t o = 0; o < len; o += PG)
				p[o] = 1;
			munmap(p, len);
		}
	}
	if (!strcmp(argv[1], "pin")) {
		struct io_uring_params params = {};

		fd = syscall(__NR_io_uring_setup, 4, &params);
		if (fd < 0) {
			perror("storm: io_uring_setup");
			return 1;
		}
	}
	for (long r = 0; r < rounds; r++) {
		if (!strcmp(argv[1], "pin")) {
			spent += pin_round(fd, len);
		} else if (!strcmp(argv[1], "anon")) {
			char *p;

			t0 = now();
			p = map(len, -1, MAP_PRIVATE | MAP_ANONYMOUS);
			for (size_t o = 0; o < len; o += PG)
				p[o] = 1;
			munmap(p, len);
			spent += now() - t0;
		} else if (!strcmp(argv[1], "tmpfs")) {
			volatile char *p;
			char sum = 0;

			t0 = now();
			p = map(len, fd, MAP_PRIVATE);
			for (size_t o = 0; o < len; o += PG)
				sum += p[o];
			munmap((char *)p, len);
			spent += now() - t0;
			(void)sum;
		} else if (!strcmp(argv[1], "forkcow")) {
			char *p = map(len, -1, MAP_PRIVATE | MAP_ANONYMOUS);
			int pipefd[2];
			pid_t pid;

			for (size_t o = 0; o < len; o += PG)
				p[o] = 1;
			if (pipe(pipefd))
				return 1;
			pid = fork();
			if (pid == 0) {
				unsigned long long t = now();

				for (size_t o = 0; o < len; o += PG)
					p[o] = 2;
				t = now() - t;
				if (write(pipefd[1], &t, sizeof(t)) != sizeof(t))
					_exit(1);
				_exit(0);
			}
			waitpid(pid, NULL, 0);
			{
				unsigned long long t = 0;

				if (read(pipefd[0], &t, sizeof(t)) != sizeof(t))
					return 1;
				spent += t;
			}
			close(pipefd[0]);
			close(pipefd[1]);
			munmap(p, len);
		} else {
			fprintf(stderr, "storm: unknown kind %s\n", argv[1]);
			return 2;
		}
		faults += len / PG;
	}
	printf("storm: %s faults=%llu ns_per_fault=%.1f\n", argv[1], faults,
	       (double)spent / faults);
	return 0;
}
