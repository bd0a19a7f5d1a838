// SPDX-License-Identifier: GPL-2.0
/*
 * A map walk that the kernel restarted, or that met a row moving to a new key, reads rows
 * twice: state_dedupe() keeps each row once, the last read, in the order read. And a real
 * hash map (root only; skipped without CAP_BPF) is read whole in batches, also when a bucket
 * is larger than a batch, filtered, and key by key where the map has no batches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <errno.h>
#include <bpf/bpf.h>
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

#define ROWS 5000

/* A VMA-row hash map holding ids 1..ROWS (faults = id), or -1 where BPF is not allowed. */
static int vma_map(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "test_vmas", sizeof(struct vma_key),
				sizeof(struct vma_val), 8192, &o);

	for (__u64 id = 1; fd >= 0 && id <= ROWS; id++) {
		struct vma_key k = { .tgid = id % 7, .vm_start = id << 12, .vma_cookie = id * 64 };
		struct vma_val v = { .id = id, .faults = id };

		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST), 0);
	}
	return fd;
}

/* every id 1..ROWS once, if @odd only the odd ones */
static void assert_ids(const struct state_table *t, bool odd)
{
	char *seen = calloc(ROWS + 1, 1);

	assert_non_null(seen);
	assert_int_equal(t->n, odd ? ROWS / 2 : ROWS);
	assert_int_equal(t->seen, ROWS);
	for (size_t i = 0; i < t->n; i++) {
		const struct vma_val *v = st_val(t, i);

		assert_true(v->id >= 1 && v->id <= ROWS && v->faults == v->id);
		assert_false(seen[v->id]);
		seen[v->id] = 1;
		assert_true(!odd || v->id % 2);
	}
	free(seen);
}

static bool keep_odd(void *ctx, const void *key, const void *val)
{
	(void)ctx;
	(void)key;
	return ((const struct vma_val *)val)->id % 2;
}

static void test_batched_read(void **state)
{
	__u32 batches[] = { 1024, 1, 3, 1 << 16 };	/* 1 and 3: buckets larger than a batch */
	int fd = vma_map();

	if (fd < 0)
		skip();
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		struct state s = {};

		state_batch_rows = batches[b];
		assert_int_equal(state_read_filtered(&s, ST_VMAS, fd, NULL, NULL), 0);
		assert_ids(&s.t[ST_VMAS], false);
		assert_int_equal(state_read_filtered(&s, ST_VMAS, fd, keep_odd, NULL), 0);
		assert_ids(&s.t[ST_VMAS], true);
		state_free(&s);
	}
	state_batch_rows = 1024;
	close(fd);
}

static void test_empty_map(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "test_empty", 4, 8, 64, &o);
	struct state s = {};

	if (fd < 0)
		skip();
	assert_int_equal(state_read_filtered(&s, ST_PROCS, fd, NULL, NULL), 0);
	assert_int_equal(s.t[ST_PROCS].n, 0);
	assert_int_equal(s.t[ST_PROCS].seen, 0);
	state_free(&s);
	close(fd);
}

/* a devmap hash has no batch operations (the kernel answers ENOTSUPP): its keys are walked */
static void test_no_batches(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, "test_devmap", 4, 4, 64, &o);
	__u32 ifindex = 1, keys = 0, cursor, count = 1;	/* ifindex 1: the loopback device */
	struct state s = {};

	if (fd < 0)
		skip();
	for (__u32 k = 1; k <= 40; k++)
		assert_int_equal(bpf_map_update_elem(fd, &k, &ifindex, BPF_NOEXIST), 0);
	assert_int_equal(bpf_map_lookup_batch(fd, NULL, &cursor, &keys, &ifindex, &count, NULL),
			 -524);	/* the kernel's ENOTSUPP */
	assert_int_equal(state_read_filtered(&s, ST_PROCS, fd, NULL, NULL), 0);
	assert_int_equal(s.t[ST_PROCS].n, 40);
	for (size_t i = 0; i < s.t[ST_PROCS].n; i++)
		keys += *(const __u32 *)st_key(&s.t[ST_PROCS], i);
	assert_int_equal(keys, 40 * 41 / 2);
	state_free(&s);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_moved_row),
		cmocka_unit_test(test_batched_read),
		cmocka_unit_test(test_empty_map),
		cmocka_unit_test(test_no_batches),
	};
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
