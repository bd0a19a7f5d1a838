// SPDX-License-Identifier: GPL-2.0
/*
 * The consumer side of bpf/common.bpf.h's per-CPU rings. Each drain copies every published
 * record of every CPU out of the shared mapping and gives the slots back at once (the
 * consumer position, a release store), then sorts what it took by timestamp and hands over
 * all but the last EVRING_HOLD_NS: a record stamped just before the drain may still be
 * unpublished on another CPU, and must not come after a younger one.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include "trace.h"
#include "evring.h"

#define EVRING_HOLD_NS		(2 * 1000 * 1000ULL)
/* A slot taken and never published blocks its CPU's ring: skipped after this long. Programs
 * publish right after they fill the record; only a preempted fentry program is slower. */
#define EVRING_STUCK_NS		(500 * 1000 * 1000ULL)

struct held {
	struct trace_rec rec;
	__u32 cpu;
	__u64 pos;
};

struct evring {
	struct trace_rec *map;
	size_t map_len;
	__u32 slots;
	int ncpus;
	evring_fn fn;
	void *ctx;
	struct held *held;	/* taken, not yet handed over; sorted after each take */
	size_t n, cap;
	__u64 *stuck_since;	/* per CPU: when its next slot was first seen taken but unpublished */
	__u64 stuck_ns;		/* EVRING_STUCK_NS */
	__u64 abandoned;
	__u64 last_ns;		/* when the last drain began */
	__u64 since_ns;		/* the time it covered: from the drain before to it */
	bool busy;		/* records came fast enough to fill 1/8 of a ring in a poll */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__u32 evring_slots(__u64 bytes, int ncpus)
{
	__u64 per = bytes / sizeof(struct trace_rec) / (ncpus > 0 ? ncpus : 1);
	__u32 slots = 1024;

	if (!bytes)
		return EVRING_DEFAULT_SLOTS;
	while ((__u64)slots * 2 <= per && slots < (1u << 24))
		slots *= 2;
	return slots;
}

__u32 evring_entries(__u32 slots, int ncpus)
{
	return (slots + TRACE_RING_HDR) * (__u32)ncpus;
}

struct evring *evring_open(int map_fd, __u32 slots, int ncpus, evring_fn fn, void *ctx)
{
	struct evring *r = calloc(1, sizeof(*r));
	long pg = sysconf(_SC_PAGESIZE);

	if (!r)
		return NULL;
	r->slots = slots;
	r->ncpus = ncpus;
	r->fn = fn;
	r->ctx = ctx;
	r->stuck_ns = EVRING_STUCK_NS;
	r->map_len = ((size_t)evring_entries(slots, ncpus) * sizeof(struct trace_rec) + pg - 1) /
		     pg * pg;
	r->stuck_since = calloc(ncpus, sizeof(*r->stuck_since));
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (r->map == MAP_FAILED || !r->stuck_since) {
		int err = r->map == MAP_FAILED ? errno : ENOMEM;

		r->map = NULL;
		evring_free(r);
		errno = err;
		return NULL;
	}
	return r;
}

static int hold(struct evring *r, const struct trace_rec *e, __u32 cpu, __u64 pos)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		struct held *h = realloc(r->held, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		r->held = h;
		r->cap = cap;
	}
	r->held[r->n].rec = *e;
	r->held[r->n].rec.seq = 0;
	r->held[r->n].cpu = cpu;
	r->held[r->n++].pos = pos;
	return 0;
}

/* Copies CPU @cpu's published records into r->held and frees their slots. */
static int take_cpu(struct evring *r, __u32 cpu, __u64 now)
{
	struct trace_rec *base = r->map + (size_t)cpu * (r->slots + TRACE_RING_HDR);
	__u64 head = __atomic_load_n(&base[0].ts_ns, __ATOMIC_ACQUIRE);
	__u64 pos = base[1].ts_ns, from = pos;	/* only this side writes it */
	int err = 0;

	while (pos != head) {
		struct trace_rec *e = base + TRACE_RING_HDR + (pos & (r->slots - 1));

		if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != TRACE_SEQ(pos)) {
			if (!r->stuck_since[cpu]) {
				r->stuck_since[cpu] = now;
				break;
			}
			if (now - r->stuck_since[cpu] < r->stuck_ns)
				break;
			r->abandoned++;		/* counted, shown with the losses */
		} else if ((err = hold(r, e, cpu, pos))) {
			break;
		}
		r->stuck_since[cpu] = 0;
		pos++;
	}
	if (pos != from)	/* else no store: the producer reads this line for every record */
		__atomic_store_n(&base[1].ts_ns, pos, __ATOMIC_RELEASE);
	/* as many in since_ns as would fill 1/8 of the ring in EVRING_POLL_US: poll sooner,
	 * and go on doing so while they come that fast (evring_poll_us()) */
	if (head != from &&
	    (head - from) * EVRING_POLL_US * 1000 >= (__u64)r->slots / 8 * r->since_ns)
		r->busy = true;
	return err;
}

static int by_time(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	if (x->rec.ts_ns != y->rec.ts_ns)
		return x->rec.ts_ns < y->rec.ts_ns ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

long evring_drain(struct evring *r, bool all)
{
	__u64 now = mono_ns(), cut = all ? ~0ULL : now - EVRING_HOLD_NS;
	size_t i = 0;
	long done = 0;
	int err = 0;

	r->busy = false;
	r->since_ns = r->last_ns ? now - r->last_ns : EVRING_POLL_US * 1000ULL;
	r->last_ns = now;
	for (int cpu = 0; cpu < r->ncpus && !err; cpu++)
		err = take_cpu(r, cpu, now);
	if (err)
		return err;
	if (r->n)
		qsort(r->held, r->n, sizeof(*r->held), by_time);
	for (; i < r->n && r->held[i].rec.ts_ns <= cut; i++) {
		err = r->fn(r->ctx, &r->held[i].rec);
		if (err < 0) {
			i++;
			break;
		}
		done++;
	}
	if (i && i < r->n)
		memmove(r->held, r->held + i, (r->n - i) * sizeof(*r->held));
	r->n -= i;
	return err < 0 ? err : done;
}

unsigned int evring_poll_us(const struct evring *r)
{
	return r && r->busy ? EVRING_POLL_US / 8 : EVRING_POLL_US;
}

void evring_set_stuck_ns(struct evring *r, __u64 ns)
{
	r->stuck_ns = ns;
}

__u64 evring_abandoned(const struct evring *r)
{
	return r ? r->abandoned : 0;
}

void evring_free(struct evring *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->map_len);
	free(r->held);
	free(r->stuck_since);
	free(r);
}

_Static_assert(sizeof(struct trace_rec) == 64, "one record a cache line");
_Static_assert(offsetof(struct trace_rec, mm_id) % 8 == 0 &&
	       offsetof(struct trace_rec, seq) == offsetof(struct trace_rec, mm_id) + 4,
	       "trace_submit() clears seq's busy bit through the 8 bytes at mm_id");
