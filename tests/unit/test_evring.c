// SPDX-License-Identifier: GPL-2.0
/*
 * The consumer of the per-CPU event rings (src/evring.c) against a producer that writes the
 * shared memory as bpf/common.bpf.h's trace_reserve()/trace_submit() do: positions, busy
 * records, wrap-around, order across CPUs, the hold-back and the skip of a slot left busy;
 * the sooner poll after a busy drain, the default size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "trace.h"
#include "evring.h"

#define SLOTS	1024
#define NCPUS	2

struct fixture {
	int fd;
	struct trace_rec *mem;
	size_t len;
	struct evring *r;
	__u64 got_ts[8192];
	__u32 got_tid[8192];
	size_t n;
	int fail_at;		/* callback returns -EPIPE at this record (1-based), 0: never */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_rec(void *ctx, const struct trace_rec *e)
{
	struct fixture *f = ctx;

	if (f->fail_at && (int)f->n + 1 == f->fail_at)
		return -32;
	assert_true(f->n < 8192);
	assert_int_equal(e->seq, 0);	/* the commit word is not the caller's business */
	f->got_ts[f->n] = e->ts_ns;
	f->got_tid[f->n++] = e->tid;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->len = (size_t)evring_entries(SLOTS, NCPUS) * sizeof(struct trace_rec);
	f->fd = memfd_create("evring", 0);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, f->len), 0);
	f->mem = mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	assert_true(f->mem != MAP_FAILED);
	f->r = evring_open(f->fd, SLOTS, NCPUS, on_rec, f);
	assert_non_null(f->r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	evring_free(f->r);
	munmap(f->mem, f->len);
	close(f->fd);
	free(f);
	return 0;
}

static struct trace_rec *ring(struct fixture *f, int cpu)
{
	return f->mem + (size_t)cpu * (SLOTS + TRACE_RING_HDR);
}

/* trace_reserve(): take the next position, mark the record busy, fill it. */
static struct trace_rec *produce(struct fixture *f, int cpu, __u64 ts, __u32 tid)
{
	struct trace_rec *b = ring(f, cpu);
	__u64 pos = b[0].ts_ns;
	struct trace_rec *e = b + TRACE_RING_HDR + (pos & (SLOTS - 1));

	if (pos - b[1].ts_ns >= SLOTS)
		return NULL;
	b[0].ts_ns = pos + 1;
	e->seq = TRACE_SEQ(pos) | TRACE_SEQ_BUSY;
	e->ts_ns = ts;
	e->tid = tid;
	e->type = TE_FAULT;
	return e;
}

static void publish(struct trace_rec *e)
{
	e->seq &= ~TRACE_SEQ_BUSY;
}

static void test_geometry(void **state)
{
	(void)state;
	assert_int_equal(evring_slots(16 << 20, 2), 131072);	/* 8 MiB a CPU */
	assert_int_equal(evring_slots(16 << 20, 3), 65536);	/* rounded down to a power of 2 */
	assert_int_equal(evring_slots(1 << 20, 256), 1024);	/* never below 1024 */
	assert_int_equal(evring_entries(1024, 4), 4 * 1026);
	assert_int_equal(evring_slots(0, 2), EVRING_DEFAULT_SLOTS);	/* the default */
	assert_int_equal(evring_slots(0, 256), EVRING_DEFAULT_SLOTS);	/* a CPU, any count */
}

static void test_order_across_cpus(void **state)
{
	struct fixture *f = *state;

	/* a thread that moved from CPU 1 to CPU 0: its records must come back in time order */
	publish(produce(f, 0, 20, 2));
	publish(produce(f, 1, 10, 1));
	publish(produce(f, 0, 40, 4));
	publish(produce(f, 1, 30, 3));
	assert_int_equal(evring_drain(f->r, false), 4);	/* all older than the hold-back */
	for (int i = 0; i < 4; i++)
		assert_int_equal(f->got_tid[i], i + 1);
	assert_int_equal(ring(f, 0)[1].ts_ns, 2);	/* slots given back */
	assert_int_equal(ring(f, 1)[1].ts_ns, 2);
	assert_int_equal(evring_drain(f->r, false), 0);
}

static void test_hold_back(void **state)
{
	struct fixture *f = *state;
	__u64 now = mono_ns();

	publish(produce(f, 0, now - 10 * 1000 * 1000ULL, 1));
	publish(produce(f, 1, now + 60 * 1000 * 1000 * 1000ULL, 2));	/* "just now" */
	assert_int_equal(evring_drain(f->r, false), 1);
	assert_int_equal(f->got_tid[0], 1);
	assert_int_equal(ring(f, 1)[1].ts_ns, 1);	/* taken off the ring, held here */
	assert_int_equal(evring_drain(f->r, true), 1);
	assert_int_equal(f->got_tid[1], 2);
}

static void test_busy_slot_blocks_its_cpu(void **state)
{
	struct fixture *f = *state;
	struct trace_rec *busy = produce(f, 0, 10, 1);

	publish(produce(f, 0, 11, 2));
	publish(produce(f, 1, 12, 3));
	assert_int_equal(evring_drain(f->r, true), 1);	/* CPU 0 waits for its first record */
	assert_int_equal(f->got_tid[0], 3);
	assert_int_equal(ring(f, 0)[1].ts_ns, 0);
	publish(busy);
	assert_int_equal(evring_drain(f->r, true), 2);
	assert_int_equal(f->got_tid[1], 1);
	assert_int_equal(f->got_tid[2], 2);
	assert_int_equal(evring_abandoned(f->r), 0);
}

static void test_abandoned_slot_skipped_and_counted(void **state)
{
	struct fixture *f = *state;

	evring_set_stuck_ns(f->r, 1000 * 1000);		/* 1 ms */
	produce(f, 0, 10, 1);				/* never published */
	publish(produce(f, 0, 11, 2));
	assert_int_equal(evring_drain(f->r, true), 0);	/* first seen stuck */
	usleep(5000);
	assert_int_equal(evring_drain(f->r, true), 1);
	assert_int_equal(f->got_tid[0], 2);
	assert_int_equal(evring_abandoned(f->r), 1);
	assert_int_equal(ring(f, 0)[1].ts_ns, 2);
}

static void test_wrap_and_full(void **state)
{
	struct fixture *f = *state;
	__u64 ts = 1;
	size_t want = 0;

	for (int round = 0; round < 5; round++) {
		int n = 0;

		while (n < SLOTS + 10) {
			struct trace_rec *e = produce(f, round & 1, ts, (__u32)ts);

			if (!e)
				break;	/* full: the BPF side counts a drop */
			publish(e);
			ts++;
			n++;
		}
		assert_int_equal(n, SLOTS);	/* never more than a ring's worth unread */
		want += n;
		assert_int_equal(evring_drain(f->r, true), n);
	}
	assert_int_equal(f->n, want);
	for (size_t i = 0; i < f->n; i++)
		assert_int_equal(f->got_ts[i], i + 1);
}

static void test_callback_error_stops_and_keeps_the_rest(void **state)
{
	struct fixture *f = *state;

	for (int i = 1; i <= 3; i++)
		publish(produce(f, 0, i, i));
	f->fail_at = 2;
	assert_int_equal(evring_drain(f->r, true), -32);
	assert_int_equal(f->n, 1);
	f->fail_at = 0;
	assert_int_equal(evring_drain(f->r, true), 1);	/* the failed one is not handed twice */
	assert_int_equal(f->got_tid[1], 3);
}

static void test_poll_sooner_when_busy(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(evring_poll_us(f->r), EVRING_POLL_US);
	usleep(EVRING_POLL_US);
	evring_drain(f->r, true);
	/* 1/16 of a ring in one poll interval: not busy */
	usleep(EVRING_POLL_US);
	for (int i = 0; i < SLOTS / 16; i++)
		publish(produce(f, 1, i + 1, i));
	assert_int_equal(evring_drain(f->r, true), SLOTS / 16);
	assert_int_equal(evring_poll_us(f->r), EVRING_POLL_US);
	/* 1/8 of a ring in a poll interval or less: poll 8 times as often */
	for (int i = 0; i < SLOTS / 8; i++)
		publish(produce(f, 1, SLOTS + i, i));
	assert_int_equal(evring_drain(f->r, true), SLOTS / 8);
	assert_int_equal(evring_poll_us(f->r), EVRING_POLL_US / 8);
	/* ... and go on while they come as fast: 1/16 of a ring in 1/8 of the interval (4 times
	 * the rate; usleep() oversleeps) */
	usleep(EVRING_POLL_US / 8);
	for (int i = 0; i < SLOTS / 16; i++)
		publish(produce(f, 0, 2 * SLOTS + i, i));
	assert_int_equal(evring_drain(f->r, true), SLOTS / 16);
	assert_int_equal(evring_poll_us(f->r), EVRING_POLL_US / 8);
	usleep(EVRING_POLL_US / 8);
	assert_int_equal(evring_drain(f->r, true), 0);
	assert_int_equal(evring_poll_us(f->r), EVRING_POLL_US);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry),
		cmocka_unit_test_setup_teardown(test_order_across_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_slot_blocks_its_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abandoned_slot_skipped_and_counted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrap_and_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_error_stops_and_keeps_the_rest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_poll_sooner_when_busy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
