// SPDX-License-Identifier: GPL-2.0
/*
 * floor [--ringbuf|--pcpu]: attach bench/floor.bpf.c's empty programs (or the ones that write
 * a record per event: --ringbuf to a BPF ring buffer consumed every 100 ms, --pcpu to
 * pfnscope's per-CPU rings read as trace reads them), print "attached", wait for SIGTERM or
 * SIGINT; with a stream, print how many records came.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "floor.skel.h"
#include "trace.h"
#include "evring.h"

static volatile sig_atomic_t stop;
static unsigned long long records;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_rec(void *ctx, const struct trace_rec *e)
{
	(void)ctx;
	(void)e;
	records++;
	return 0;
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
	int pcpu = argc > 1 && !strcmp(argv[1], "--pcpu");
	int ncpus = libbpf_num_possible_cpus();
	struct ring_buffer *rb = NULL;
	struct evring *er = NULL;
	struct floor_bpf *skel = floor_bpf__open();

	if (!skel) {
		fprintf(stderr, "floor: cannot open\n");
		return 1;
	}
	bpf_program__set_autoload(skel->progs.floor_fault, !ring && !pcpu);
	bpf_program__set_autoload(skel->progs.floor_rss, !ring && !pcpu);
	bpf_program__set_autoload(skel->progs.ring_fault, ring);
	bpf_program__set_autoload(skel->progs.ring_rss, ring);
	bpf_program__set_autoload(skel->progs.pcpu_fault, pcpu);
	bpf_program__set_autoload(skel->progs.pcpu_rss, pcpu);
	if (pcpu) {	/* as trace sizes them by default (src/fault.c) */
		skel->rodata->trace_mask = (1u << TE_FAULT) | (1u << TE_RSS);
		skel->rodata->trace_slots = evring_slots(0, ncpus);
		bpf_map__set_max_entries(skel->maps.events,
					 evring_entries(skel->rodata->trace_slots, ncpus));
	}
	if (floor_bpf__load(skel) || floor_bpf__attach(skel) ||
	    (ring && !(rb = ring_buffer__new(bpf_map__fd(skel->maps.records), on_record, NULL,
					     NULL))) ||
	    (pcpu && !(er = evring_open(bpf_map__fd(skel->maps.events), skel->rodata->trace_slots,
					ncpus, on_rec, NULL)))) {
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
		if (er)
			evring_drain(er, false);
		usleep(er ? evring_poll_us(er) : 100000);
	}
	if (rb) {
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
	}
	if (er) {
		evring_drain(er, true);
		evring_free(er);
	}
	if (rb || er)
		printf("floor: %llu records\n", records);
	floor_bpf__destroy(skel);
	return 0;
}
