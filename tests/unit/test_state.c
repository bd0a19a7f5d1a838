// SPDX-License-Identifier: GPL-2.0
/*
 * A map walk that the kernel restarted, or that met a row moving to a new key, reads rows
 * twice: state_dedupe() keeps each row once, the last read, in the order read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "state.h"
#include "vma.h"

static void add_vma(struct state_table *t, __u32 tgid, __u64 cookie, __u64 id, __u64 faults)
{
	struct vma_key k = { .tgid = tgid, .vm_start = 0x1000, .vma_cookie = cookie };
	struct vma_val v = { .id = id, .faults = faults };

	assert_int_equal(state_add(t, &k, &v), 0);
}

static __u64 faults_at(const struct state_table *t, size_t i)
{
	return ((const struct vma_val *)st_val(t, i))->faults;
}

/* a restart: rows 1 and 2 read again after row 3, with newer counts */
static void test_restart(void **state)
{
	struct state_table t = { .ksz = sizeof(struct vma_key), .vsz = sizeof(struct vma_val) };

	add_vma(&t, 7, 0x100, 1, 10);
	add_vma(&t, 7, 0x200, 2, 20);
	add_vma(&t, 7, 0x300, 3, 30);
	add_vma(&t, 7, 0x100, 1, 11);
	add_vma(&t, 7, 0x200, 2, 21);
	t.seen = t.n;
	assert_int_equal(state_dedupe(&t, 0, t.ksz, false), 2);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.seen, 3);
	/* order read, each the last read */
	assert_int_equal(faults_at(&t, 0), 30);
	assert_int_equal(faults_at(&t, 1), 11);
	assert_int_equal(faults_at(&t, 2), 21);
	free(t.rows);
}

/* a row retired during the walk (new key, same id): once, under its new key; rows without an
 * id are never taken for one another */
static void test_moved_row(void **state)
{
	struct state_table t = { .ksz = sizeof(struct vma_key), .vsz = sizeof(struct vma_val) };

	add_vma(&t, 7, 0x100, 1, 10);
	add_vma(&t, 8, 0x500, 0, 1);
	add_vma(&t, 8, 0x600, 0, 2);
	add_vma(&t, 7, 5 << 1 | 1, 1, 12);	/* vma_rekey(): cookie odd, id kept */
	assert_int_equal(state_dedupe(&t, 0, t.ksz, false), 0);
	assert_int_equal(state_dedupe(&t, st_kpad(&t), sizeof(__u64), true), 1);
	assert_int_equal(t.n, 3);
	assert_int_equal(faults_at(&t, 0), 1);
	assert_int_equal(faults_at(&t, 1), 2);
	assert_int_equal(faults_at(&t, 2), 12);
	assert_int_equal(((const struct vma_key *)st_key(&t, 2))->vma_cookie, 5 << 1 | 1);
	free(t.rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_moved_row),
	};
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
