// SPDX-License-Identifier: GPL-2.0
/*
 * floor [--ringbuf]: attach bench/floor.bpf.c's empty programs (or, with --ringbuf, the ones
 * that write a record per event, consumed every 100 ms as trace does), print "attached", wait
 * for SIGTERM or SIGINT; with --ringbuf, print how many records came.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;
static unsigned long long records;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	records++;
	return 0;
}

int main(int argc, char **argv)
{
	int ring = argc > 1 && !strcmp(argv[1], "--ringbuf");
	struct ring_buffer *rb = NULL;
	struct floor_bpf *skel = floor_bpf__open();

	if (!skel) {
		fprintf(stderr, "floor: cannot open\n");
		return 1;
	}
	bpf_program__set_autoload(skel->progs.floor_fault, !ring);
	bpf_program__set_autoload(skel->progs.floor_rss, !ring);
	bpf_program__set_autoload(skel->progs.ring_fault, ring);
	bpf_program__set_autoload(skel->progs.ring_rss, ring);
	if (floor_bpf__load(skel) || floor_bpf__attach(skel) ||
	    (ring && !(rb = ring_buffer__new(bpf_map__fd(skel->maps.records), on_record, NULL,
					     NULL)))) {
		fprintf(stderr, "floor: cannot load or attach\n");
		floor_bpf__destroy(skel);
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("attached\n");
	fflush(stdout);
	while (!stop) {
		if (rb)
			ring_buffer__consume(rb);
		usleep(100000);
	}
	if (rb) {
		ring_buffer__consume(rb);
		printf("floor: %llu records\n", records);
		ring_buffer__free(rb);
	}
	floor_bpf__destroy(skel);
	return 0;
}
