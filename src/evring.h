/* SPDX-License-Identifier: GPL-2.0 */
/* The consumer of the per-CPU event rings in the map `events` (layout: include/trace.h). */
#ifndef PFNSCOPE_EVRING_H
#define PFNSCOPE_EVRING_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct trace_rec;

/*
 * How often trace and record read the rings: every 20 ms, every 2.5 ms while records come
 * fast enough to fill 1/8 of a ring in 20 ms (evring_poll_us()). The default ring, 32,768
 * records (2 MiB) a CPU, holds 20 ms at 1.6 M events/s on one CPU, and a burst of 32,768 in
 * one system call (bench/storm.c's `pin`: 16k-24k). Much larger rings cost more per record:
 * a record's line is cold when the producer comes back to it one lap later
 * (docs/performance.md).
 */
#define EVRING_POLL_US		20000
#define EVRING_DEFAULT_SLOTS	32768
struct evring;

/* Called per record, oldest first; a negative return stops the drain and is returned. */
typedef int (*evring_fn)(void *ctx, const struct trace_rec *e);

/* Records per CPU for a total of @bytes over @ncpus: a power of 2, at least 1024;
 * EVRING_DEFAULT_SLOTS for @bytes 0. */
__u32 evring_slots(__u64 bytes, int ncpus);
/* Entries of the `events` array for @slots records per CPU on @ncpus. */
__u32 evring_entries(__u32 slots, int ncpus);

/* Maps the array @map_fd (evring_entries(@slots, @ncpus) entries). NULL with errno set. */
struct evring *evring_open(int map_fd, __u32 slots, int ncpus, evring_fn fn, void *ctx);
/*
 * Takes every published record off the rings and hands over, in timestamp order across CPUs,
 * those older than a short hold-back (a record published late on one CPU must not come after a
 * younger one from another); @all hands over everything taken. Returns the number handed over
 * or the callback's negative return.
 */
long evring_drain(struct evring *r, bool all);
/* Records skipped because their slot was taken but never published for @ns (default 500 ms;
 * see evring.c). */
__u64 evring_abandoned(const struct evring *r);
void evring_set_stuck_ns(struct evring *r, __u64 ns);
/* Microseconds to sleep before the next drain (EVRING_POLL_US, shorter while busy). */
unsigned int evring_poll_us(const struct evring *r);
void evring_free(struct evring *r);

#endif /* PFNSCOPE_EVRING_H */
