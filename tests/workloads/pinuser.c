// SPDX-License-Identifier: GPL-2.0
/*
 * pinuser leak|balanced NPAGES [--ro] [--longterm] [--hold SECONDS]
 *
 * mmap an anonymous NPAGES buffer, write-touch every page, and pin it through
 * /dev/pfnfix_pin (module pfnfix): PFNFIX_PIN_LEAK never unpins,
 * PFNFIX_PIN_BALANCED unpins before the ioctl returns. Pins with FOLL_WRITE
 * unless --ro; --longterm adds FOLL_LONGTERM. Prints
 *   pinuser: MODE pages=N pinned=M
 * and exits 0 if every page was pinned, 1 otherwise (2 on bad usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload.h"

#include "pfnfix_uapi.h"

#define PIN_DEV "/dev/pfnfix_pin"

static void usage(void)
{
	fprintf(stderr,
		"usage: pinuser leak|balanced NPAGES [--ro] [--longterm] [--hold SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long npages, hold = 0, pagesz = sysconf(_SC_PAGESIZE);
	struct pfnfix_pin req = { .flags = PFNFIX_PIN_WRITE };
	unsigned long cmd;
	unsigned char *buf;
	int fd, ret, i;

	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "leak"))
		cmd = PFNFIX_PIN_LEAK;
	else if (!strcmp(argv[1], "balanced"))
		cmd = PFNFIX_PIN_BALANCED;
	else
		usage();
	npages = parse_num("pinuser", argv[2], "NPAGES", 0);
	if (npages < 1 || npages > PFNFIX_PIN_MAX_PAGES) {
		fprintf(stderr, "pinuser: NPAGES must be 1..%d\n", PFNFIX_PIN_MAX_PAGES);
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--ro"))
			req.flags &= ~PFNFIX_PIN_WRITE;
		else if (!strcmp(argv[i], "--longterm"))
			req.flags |= PFNFIX_PIN_LONGTERM;
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold = parse_num("pinuser", argv[++i], "--hold", 0);
		else
			usage();
	}

	buf = mmap(NULL, npages * pagesz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "pinuser: mmap %ld pages: %s\n", npages, strerror(errno));
		return 1;
	}
	madvise(buf, npages * pagesz, MADV_NOHUGEPAGE);
	for (i = 0; i < npages; i++)
		buf[i * pagesz] = 1;

	fd = open(PIN_DEV, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "pinuser: open %s: %s (is pfnfix loaded?)\n", PIN_DEV,
			strerror(errno));
		return 1;
	}
	req.addr = (unsigned long)buf;
	req.len = npages * pagesz;
	ret = ioctl(fd, cmd, &req);
	if (ret < 0) {
		fprintf(stderr, "pinuser: ioctl %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("pinuser: %s pages=%ld pinned=%d\n", argv[1], npages, ret);
	fflush(stdout);
	if (hold)
		sleep(hold);
	close(fd);
	munmap(buf, npages * pagesz);
	if (ret != npages) {
		fprintf(stderr, "pinuser: pinned %d of %ld pages\n", ret, npages);
		return 1;
	}
	return 0;
}
