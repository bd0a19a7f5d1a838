// SPDX-License-Identifier: GPL-2.0
/* The kernel types cut out for CO-RE (src/coremin.c): roots from real objects, and the cut of
 * a small made-up kernel BTF, member by member. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/btf.h>
#include "coremin.h"
#include "fault.h"
#include "zap.h"

static bool has_root(const struct coremin_roots *r, const char *name)
{
	for (unsigned int i = 0; i < r->n; i++)
		if (!strcmp(r->name[i], name))
			return true;
	return false;
}

/* the fault and zap objects' relocations: plain names (flavours stripped), each once */
static void test_object_roots(void **state)
{
	struct coremin_roots r = {};
	const void *b;
	size_t sz;

	b = fault_obj_bytes(&sz);
	assert_int_equal(coremin_object_roots(b, sz, &r), 0);
	b = zap_obj_bytes(&sz);
	assert_int_equal(coremin_object_roots(b, sz, &r), 0);
	assert_true(r.n > 5);
	assert_true(has_root(&r, "task_struct"));
	assert_true(has_root(&r, "vm_area_struct"));
	assert_true(has_root(&r, "mm_struct"));
	assert_true(has_root(&r, "page"));	/* fault.bpf.c reads it as page___new too */
	for (unsigned int i = 0; i < r.n; i++) {
		assert_null(strstr(r.name[i], "___"));
		assert_true(r.name[i][0]);
		for (unsigned int j = 0; j < i; j++)
			assert_string_not_equal(r.name[i], r.name[j]);
	}
	coremin_roots_free(&r);
}

static void test_not_an_object(void **state)
{
	struct coremin_roots r = {};
	char junk[256];

	memset(junk, 0x7f, sizeof(junk));
	assert_int_equal(coremin_object_roots(junk, sizeof(junk), &r), -EINVAL);
	assert_int_equal(r.n, 0);
}

static int find(const struct btf *b, const char *name, int kind)
{
	return btf__find_by_name_kind(b, name, kind);
}

static int count_named(const struct btf *b, const char *name)
{
	int n = 0;

	for (__u32 i = 1; i < btf__type_cnt(b); i++)
		n += !strcmp(btf__name_by_offset(b, btf__type_by_id(b, i)->name_off), name);
	return n;
}

/*
 * A kernel of a few types:
 *   struct task_struct { int pid; unsigned flags:3, more:5; struct list_head tasks;
 *                        struct mm_struct *mm; struct task_struct *parent;
 *                        int (*fn)(struct cred *); u8 comm[16]; union { long; u32; }; }
 *   struct list_head { struct list_head *next, *prev; }
 *   struct mm_struct { long rss[4]; }   (only pointed to)
 *   struct cred { int uid; }            (only in a function pointer's parameters)
 *   enum pageflags { PG_locked = 0, PG_reserved = 13 }; enum signed_e { NEG = -1 }
 *   struct unrelated { int x; }         (nothing refers to it: not in the cut)
 */
static void test_cut(void **state)
{
	struct btf *k = btf__new_empty(), *cut;
	struct coremin_roots r = { .n = 2, .name = { strdup("task_struct"), strdup("pageflags") } };
	int i_int, u8_t, u32_t, lng, lh, p_lh, mm, p_mm, rss, cred, p_cred, proto, p_proto, ts,
	    p_ts, comm, uni, id;
	const struct btf_type *t;
	const struct btf_member *m;

	assert_non_null(k);
	i_int = btf__add_int(k, "int", 4, BTF_INT_SIGNED);
	u8_t = btf__add_int(k, "unsigned char", 1, 0);
	u32_t = btf__add_int(k, "unsigned int", 4, 0);
	lng = btf__add_int(k, "long", 8, BTF_INT_SIGNED);
	assert_true(btf__add_struct(k, "unrelated", 4) > 0);
	btf__add_field(k, "x", i_int, 0, 0);
	p_lh = btf__type_cnt(k) + 1;	/* list_head's pointer comes right after it */
	lh = btf__add_struct(k, "list_head", 16);
	btf__add_field(k, "next", p_lh, 0, 0);
	btf__add_field(k, "prev", p_lh, 64, 0);
	assert_int_equal(btf__add_ptr(k, lh), p_lh);
	rss = btf__add_array(k, i_int, lng, 4);
	mm = btf__add_struct(k, "mm_struct", 32);
	btf__add_field(k, "rss", rss, 0, 0);
	p_mm = btf__add_ptr(k, mm);
	cred = btf__add_struct(k, "cred", 4);
	btf__add_field(k, "uid", i_int, 0, 0);
	p_cred = btf__add_ptr(k, cred);
	proto = btf__add_func_proto(k, i_int);
	btf__add_func_param(k, "c", p_cred);
	p_proto = btf__add_ptr(k, proto);
	comm = btf__add_array(k, i_int, u8_t, 16);
	uni = btf__add_union(k, NULL, 8);
	btf__add_field(k, "a", lng, 0, 0);
	btf__add_field(k, "b", u32_t, 0, 0);
	p_ts = btf__type_cnt(k) + 1;
	ts = btf__add_struct(k, "task_struct", 88);
	btf__add_field(k, "pid", i_int, 0, 0);
	btf__add_field(k, "flags", u32_t, 32, 3);
	btf__add_field(k, "more", u32_t, 35, 5);
	btf__add_field(k, "tasks", lh, 64, 0);
	btf__add_field(k, "mm", p_mm, 192, 0);
	btf__add_field(k, "parent", p_ts, 256, 0);
	btf__add_field(k, "fn", p_proto, 320, 0);
	btf__add_field(k, "comm", comm, 384, 0);
	btf__add_field(k, NULL, uni, 512, 0);
	assert_int_equal(btf__add_ptr(k, ts), p_ts);
	btf__add_enum(k, "pageflags", 4);
	btf__add_enum_value(k, "PG_locked", 0);
	btf__add_enum_value(k, "PG_reserved", 13);
	btf__add_enum(k, "signed_e", 4);
	btf__add_enum_value(k, "NEG", -1);

	cut = coremin_build(k, &r);
	assert_non_null(cut);
	/* the root, whole: every member with the kernel's offset, bitfield size and kind */
	id = find(cut, "task_struct", BTF_KIND_STRUCT);
	assert_true(id > 0);
	t = btf__type_by_id(cut, id);
	assert_int_equal(t->size, 88);
	assert_int_equal(btf_vlen(t), 9);
	m = btf_members(t);
	assert_string_equal(btf__name_by_offset(cut, m[2].name_off), "more");
	assert_int_equal(btf_member_bit_offset(t, 2), 35);
	assert_int_equal(btf_member_bitfield_size(t, 2), 5);
	assert_int_equal(btf_member_bit_offset(t, 8), 512);
	assert_true(btf_is_union(btf__type_by_id(cut, m[8].type)));
	assert_int_equal(btf_vlen(btf__type_by_id(cut, m[8].type)), 2);
	assert_int_equal(btf_array(btf__type_by_id(cut, m[7].type))->nelems, 16);
	/* embedded: whole; what it points to, itself, is not a root: an empty twin */
	t = btf__type_by_id(cut, m[3].type);
	assert_true(btf_is_struct(t));
	assert_int_equal(btf_vlen(t), 2);
	assert_int_equal(btf_member_bit_offset(t, 1), 64);
	t = btf__type_by_id(cut, btf__type_by_id(cut, btf_members(t)[0].type)->type);
	assert_string_equal(btf__name_by_offset(cut, t->name_off), "list_head");
	assert_int_equal(t->size, 16);
	assert_int_equal(btf_vlen(t), 0);
	/* pointed to only: empty, of its name and size */
	t = btf__type_by_id(cut, btf__type_by_id(cut, m[4].type)->type);
	assert_true(btf_is_struct(t));
	assert_string_equal(btf__name_by_offset(cut, t->name_off), "mm_struct");
	assert_int_equal(t->size, 32);
	assert_int_equal(btf_vlen(t), 0);
	/* a pointer to the root itself: the whole root, not an empty twin */
	assert_int_equal(btf__type_by_id(cut, m[5].type)->type, id);
	assert_int_equal(count_named(cut, "task_struct"), 1);
	/* a function pointer: its parameters' structs empty */
	t = btf__type_by_id(cut, btf__type_by_id(cut, m[6].type)->type);
	assert_true(btf_is_func_proto(t));
	t = btf__type_by_id(cut, btf__type_by_id(cut, btf_params(t)[0].type)->type);
	assert_string_equal(btf__name_by_offset(cut, t->name_off), "cred");
	assert_int_equal(btf_vlen(t), 0);
	/* the enum root with its values; nothing else */
	id = find(cut, "pageflags", BTF_KIND_ENUM);
	assert_true(id > 0);
	t = btf__type_by_id(cut, id);
	assert_int_equal(btf_vlen(t), 2);
	assert_int_equal(btf_enum(t)[1].val, 13);
	assert_true(find(cut, "unrelated", BTF_KIND_STRUCT) < 0);
	assert_true(find(cut, "signed_e", BTF_KIND_ENUM) < 0);
	assert_true(btf__type_cnt(cut) < btf__type_cnt(k));
	btf__free(cut);

	/* a signed enum root keeps its negative value */
	coremin_roots_free(&r);
	r.n = 1;
	r.name[0] = strdup("signed_e");
	cut = coremin_build(k, &r);
	assert_non_null(cut);
	t = btf__type_by_id(cut, find(cut, "signed_e", BTF_KIND_ENUM));
	assert_int_equal(btf_enum(t)[0].val, -1);
	assert_true(btf_kflag(t));
	btf__free(cut);
	coremin_roots_free(&r);
	btf__free(k);
}

/* more nodes than the first hash holds: a root pointing to 3,000 structs of its own */
static void test_many_nodes(void **state)
{
	struct btf *k = btf__new_empty(), *cut;
	struct coremin_roots r = { .n = 1, .name = { strdup("big") } };
	int ptr0, big;
	char name[32];

	assert_non_null(k);
	ptr0 = btf__type_cnt(k);
	for (int i = 0; i < 3000; i++) {	/* pairs: struct sN { int x; }, then sN * */
		snprintf(name, sizeof(name), "s%d", i);
		btf__add_struct(k, name, 8);
		btf__add_ptr(k, ptr0 + 2 * i);
	}
	big = btf__add_struct(k, "big", 3000 * 8);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		btf__add_field(k, name, ptr0 + 2 * i + 1, i * 64, 0);
	}
	cut = coremin_build(k, &r);
	assert_non_null(cut);
	assert_int_equal(btf__type_cnt(cut), 1 + 1 + 3000 * 2);
	assert_int_equal(btf_vlen(btf__type_by_id(cut, btf__find_by_name_kind(cut, "big",
								       BTF_KIND_STRUCT))), 3000);
	assert_int_equal(btf__type_by_id(cut, btf__find_by_name_kind(cut, "s2999",
								     BTF_KIND_STRUCT))->size, 8);
	(void)big;
	btf__free(cut);
	coremin_roots_free(&r);
	btf__free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_roots),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_many_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
