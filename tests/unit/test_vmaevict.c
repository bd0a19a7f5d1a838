// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's eviction choice (src/vmaevict.c): nothing below 7/8 of the table, down to 3/4
 * above it; rows whose fault count did not move since the last tick first, then the oldest;
 * never a row a CPU's VMA cache holds; a row read twice by a restarted walk counted once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmaevict.h"

static void add(struct vma_evict *e, __u64 id, __u64 faults)
{
	struct vma_key k = { .tgid = 7, .vm_start = id << 12, .vma_cookie = 0x1000 + id };
	struct vma_val v = { .id = id, .faults = faults };

	vma_evict_add(e, &k, &v);
}

/* a tick's walk of @rows rows with ids 1..rows, counts from @faults (NULL: the id); returns
 * how many to evict (the caller ends the tick with vma_evict_end()) */
static size_t tick(struct vma_evict *e, size_t rows, size_t max, const __u64 *faults,
		   const __u64 *busy, size_t nbusy)
{
	vma_evict_begin(e);
	for (size_t i = 1; i <= rows; i++)
		add(e, i, faults ? faults[i - 1] : i);
	return vma_evict_pick(e, rows, max, busy, nbusy);
}

static void test_marks(void **state)
{
	struct vma_evict e = {};

	(void)state;
	assert_int_equal(vma_evict_high(1024), 896);
	assert_int_equal(vma_evict_low(1024), 768);
	/* the first tick records nothing: no history, no candidates */
	assert_int_equal(tick(&e, 1000, 1024, NULL, NULL, 0), 0);
	assert_int_equal(e.n, 0);
	vma_evict_end(&e, 1000, 1024);
	/* at or below 7/8: candidates recorded, none evicted */
	assert_int_equal(tick(&e, 896, 1024, NULL, NULL, 0), 0);
	assert_int_equal(e.n, 896);
	vma_evict_end(&e, 896, 1024);
	assert_null(e.cand);		/* not held between ticks */
	assert_int_equal(e.nr_prev, 896);
	/* above it: down to 3/4 */
	assert_int_equal(tick(&e, 1000, 1024, NULL, NULL, 0), 1000 - 768);
	vma_evict_end(&e, 768, 1024);
	vma_evict_free(&e);
}

/* idle rows go first, oldest first; then the oldest of the busy ones */
static void test_idle_first(void **state)
{
	__u64 f1[100], f2[100];
	struct vma_evict e = {};
	size_t n;

	(void)state;
	e.max_last = 100;
	e.rows_last = 100;
	for (int i = 0; i < 100; i++)
		f1[i] = f2[i] = 5;
	for (int i = 0; i < 100; i += 2)
		f2[i] = 6;			/* ids 1, 3, 5, ... still faulting */
	assert_int_equal(tick(&e, 80, 100, f1, NULL, 0), 0);	/* history */
	vma_evict_end(&e, 80, 100);
	vma_evict_begin(&e);
	for (int i = 1; i <= 100; i++)
		add(&e, i, f2[i - 1]);
	n = vma_evict_pick(&e, 100, 100, NULL, 0);
	assert_int_equal(n, 25);
	/* ids 2, 4, ..., 80 were idle (81..100 had no history): the first 25 of them */
	for (size_t i = 0; i < n; i++) {
		assert_true(e.cand[i].idle);
		assert_int_equal(e.cand[i].id, 2 * (i + 1));
	}
	/* after the idle ones, the oldest active row */
	assert_false(e.cand[40].idle);
	assert_int_equal(e.cand[40].id, 1);
	vma_evict_free(&e);
}

/* rows held by a CPU's VMA cache are never chosen */
static void test_busy(void **state)
{
	const __u64 busy[] = { 3, 1 };
	struct vma_evict e = { .max_last = 16, .rows_last = 16 };
	size_t n = tick(&e, 16, 16, NULL, busy, 2);

	(void)state;
	assert_int_equal(n, 4);
	for (size_t i = 0; i < e.n; i++)
		assert_true(e.cand[i].id != 1 && e.cand[i].id != 3);
	assert_int_equal(e.cand[0].id, 2);
	assert_int_equal(e.cand[1].id, 4);
	vma_evict_free(&e);
}

/* a row read twice (a restarted walk) is one candidate */
static void test_duplicates(void **state)
{
	struct vma_evict e = { .max_last = 16, .rows_last = 16 };

	(void)state;
	vma_evict_begin(&e);
	for (int i = 1; i <= 16; i++)
		add(&e, i, 1);
	for (int i = 1; i <= 8; i++)
		add(&e, i, 1);
	assert_int_equal(vma_evict_pick(&e, 16, 16, NULL, 0), 4);
	assert_int_equal(e.n, 16);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(e.cand[i].id, i + 1);
	vma_evict_free(&e);
}

/* a table that emptied below half forgets its history */
static void test_forget(void **state)
{
	struct vma_evict e = { .max_last = 100, .rows_last = 90 };

	(void)state;
	tick(&e, 60, 100, NULL, NULL, 0);
	vma_evict_end(&e, 60, 100);
	assert_int_equal(e.nr_prev, 60);
	tick(&e, 40, 100, NULL, NULL, 0);	/* 60 >= 50: recorded */
	vma_evict_end(&e, 40, 100);
	assert_int_equal(e.nr_prev, 40);
	tick(&e, 40, 100, NULL, NULL, 0);	/* 40 < 50: not */
	assert_int_equal(e.nr_prev, 0);
	assert_false(e.collecting);
	vma_evict_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_idle_first),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_forget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
