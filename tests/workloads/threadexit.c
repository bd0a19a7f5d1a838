// SPDX-License-Identifier: GPL-2.0
/*
 * threadexit [PAGES] [STATUS]
 *
 * A process whose group leader is not its last thread: the main thread starts a worker and
 * leaves with pthread_exit() (its task exits with code 0 and stays a zombie leader); the
 * worker then writes PAGES pages (default 64) of a fresh mapping, one fault each, and ends
 * the process with exit(STATUS) (default 3). The process's wait status is then STATUS << 8
 * (the group exit code), and its faults after the leader's exit are still its own. Prints
 * "threadexit: pid P worker faulted N" from the worker before it exits.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

static long pages = 64, status = 3;
static pthread_t main_thread;

static void *worker(void *arg)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p;

	(void)arg;
	pthread_join(main_thread, NULL);	/* returns once the leader's task has exited */
	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("threadexit: mmap");
		exit(1);
	}
	madvise(p, pages * page, MADV_NOHUGEPAGE);
	for (long i = 0; i < pages; i++)
		p[i * page] = 1;
	printf("threadexit: pid %d worker faulted %ld\n", getpid(), pages);
	fflush(stdout);
	exit(status);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc > 1)
		pages = parse_num("threadexit", argv[1], "PAGES", 1);
	if (argc > 2)
		status = parse_num("threadexit", argv[2], "STATUS", 0);
	main_thread = pthread_self();
	if (pthread_create(&t, NULL, worker, NULL)) {
		perror("threadexit: pthread_create");
		return 1;
	}
	pthread_exit(NULL);
}
