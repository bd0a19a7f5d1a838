// SPDX-License-Identifier: GPL-2.0
/*
 * rsswork [--file PATH] [--shm PATH] [--dev PATH] [--quiet-ms MS] [--extra-anon PAGES]
 *
 * Builds VMAs of every RSS kind, then stays still for MS milliseconds (default 600) so a
 * sampler can compare its view with the kernel's, then exits:
 *   anon          64 pages mapped, 40 written
 *   private file  16 pages of --file mapped MAP_PRIVATE, 10 read, 3 of them then written (COW)
 *   shared file   16 pages of --file mapped MAP_SHARED, 8 read
 *   shmem         16 pages of --shm (a tmpfs file) MAP_SHARED, 12 written
 *   device        8 pages of --dev (e.g. /dev/pfnfix_reserved) read
 *   extra anon    PAGES pages, all written (default none): a large, known RSS change
 * and forks a child that writes 20 of the anon pages (copy-on-write) and keeps still too.
 * Both processes print, from their own /proc/self/smaps and /proc/self/status at the start of
 * the still window:
 *   rsswork: pid P vma 0xSTART rss_kb N      (for each VMA above)
 *   rsswork: pid P status RssAnon=A RssFile=F RssShmem=S   (kB)
 *   rsswork: pid P quiet T0 T1               (CLOCK_MONOTONIC ns of the still window)
 * Files are created (16 pages) if missing. Exits 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096L

static void *vmas[8];
static int nvmas;

#define die(what) die_errno("rsswork", what)

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *map(const char *path, long pages, int flags, int prot)
{
	int fd = -1;
	void *p;

	if (path) {
		fd = open(path, O_RDWR | O_CREAT, 0600);
		if (fd < 0)
			die(path);
		struct stat st;

		if (fstat(fd, &st))
			die("fstat");
		if (!S_ISCHR(st.st_mode) && st.st_size < pages * PG && ftruncate(fd, pages * PG))
			die("ftruncate");
	}
	p = mmap(NULL, pages * PG, prot, flags | (path ? 0 : MAP_ANONYMOUS), fd, 0);
	if (p == MAP_FAILED)
		die(path ? path : "mmap anon");
	if (fd >= 0)
		close(fd);
	/* one fault per page, as smaps counts them */
	madvise(p, pages * PG, MADV_NOHUGEPAGE);
	vmas[nvmas++] = p;
	return p;
}

static char out[8192];
static size_t outlen;

#define emit(...) (outlen += snprintf(out + outlen, sizeof(out) - outlen, __VA_ARGS__))

/* Measures smaps and status into out[]: nothing is written, so that no new code page (and no
 * new fault) comes between the measurement and the still window. */
static void report(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	int cur = -1;

	outlen = 0;
	if (!f)
		die("smaps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long start;
		long kb;

		if (sscanf(line, "%lx-", &start) == 1 && strchr(line, ' ')) {
			cur = -1;
			for (int i = 0; i < nvmas; i++)
				if ((unsigned long)vmas[i] == start)
					cur = i;
		} else if (cur >= 0 && sscanf(line, "Rss: %ld kB", &kb) == 1) {
			emit("rsswork: pid %d vma 0x%lx rss_kb %ld\n", getpid(),
			     (unsigned long)vmas[cur], kb);
		}
	}
	fclose(f);
	f = fopen("/proc/self/status", "r");
	if (!f)
		die("status");
	long a = -1, fi = -1, sh = -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "RssAnon: %ld", &a);
		sscanf(line, "RssFile: %ld", &fi);
		sscanf(line, "RssShmem: %ld", &sh);
	}
	fclose(f);
	emit("rsswork: pid %d status RssAnon=%ld RssFile=%ld RssShmem=%ld\n", getpid(), a, fi, sh);
}

/* Writes out[] and the still window: the same code runs once as a warm-up (to /dev/null)
 * so every page it needs is mapped before the measurement that counts. */
static void still(int fd, long quiet_ms)
{
	unsigned long long t0, t1;

	report();
	t0 = now_ns();
	if (write(fd, out, outlen) != (ssize_t)outlen)
		die("write");
	usleep(quiet_ms * 1000);
	t1 = now_ns();
	outlen = 0;
	emit("rsswork: pid %d quiet %llu %llu\n", getpid(), t0, t1);
	if (write(fd, out, outlen) != (ssize_t)outlen)
		die("write");
}

int main(int argc, char **argv)
{
	const char *file = NULL, *shm = NULL, *dev = NULL;
	volatile unsigned char *p;
	long quiet_ms = 600, extra = 0;
	pid_t child;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--shm") && i + 1 < argc)
			shm = argv[++i];
		else if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			dev = argv[++i];
		else if (!strcmp(argv[i], "--quiet-ms") && i + 1 < argc)
			quiet_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--extra-anon") && i + 1 < argc)
			extra = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: rsswork [--file PATH] [--shm PATH] [--dev PATH] "
				"[--quiet-ms MS] [--extra-anon PAGES]\n");
			return 2;
		}
	}
	p = map(NULL, 64, MAP_PRIVATE, PROT_READ | PROT_WRITE);
	for (long i = 0; i < 40; i++)
		p[i * PG] = 1;
	if (file) {
		volatile unsigned char *q = map(file, 16, MAP_SHARED, PROT_READ | PROT_WRITE);

		for (long i = 0; i < 16; i++)	/* fill the file so private reads see data */
			q[i * PG] = 2;
		munmap((void *)q, 16 * PG);
		nvmas--;
		msync(NULL, 0, 0);
		q = map(file, 16, MAP_PRIVATE, PROT_READ | PROT_WRITE);
		for (long i = 0; i < 10; i++)
			(void)q[i * PG];
		for (long i = 0; i < 3; i++)
			q[i * PG] = 3;
		q = map(file, 16, MAP_SHARED, PROT_READ);
		for (long i = 0; i < 8; i++)
			(void)q[i * PG];
	}
	if (shm) {
		volatile unsigned char *q = map(shm, 16, MAP_SHARED, PROT_READ | PROT_WRITE);

		for (long i = 0; i < 12; i++)
			q[i * PG] = 4;
	}
	if (dev) {
		volatile unsigned char *q = map(dev, 8, MAP_SHARED, PROT_READ);

		for (long i = 0; i < 8; i++)
			(void)q[i * PG];
	}
	if (extra > 0) {
		volatile unsigned char *q = map(NULL, extra, MAP_PRIVATE, PROT_READ | PROT_WRITE);

		for (long i = 0; i < extra; i++)
			q[i * PG] = 6;
	}
	fflush(stdout);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		for (long i = 0; i < 20; i++)
			p[i * PG] = 5;
	}
	{
		int null = open("/dev/null", O_WRONLY);

		if (null < 0)
			die("/dev/null");
		still(null, 1);
		close(null);
	}
	still(1, quiet_ms);
	if (child > 0 && waitpid(child, NULL, 0) < 0)
		die("waitpid");
	return 0;
}
