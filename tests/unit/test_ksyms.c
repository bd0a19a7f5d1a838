// SPDX-License-Identifier: GPL-2.0
/* ksyms: kallsyms parsing, text/data lookups, module attribution, hostile lines; query mode
 * (the kernel answers per address) against a fake kernel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "ksyms.h"

static const char sample[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81001000 t __pfx_filemap_fault\n"
	"ffffffff81001010 T filemap_fault\n"
	"ffffffff81001400 t special_mapping_fault\n"
	"ffffffff82000000 D generic_file_vm_ops\n"
	"ffffffffc0001000 t pfnfix_zero_fault\t[pfnfix]\n"
	"ffffffffc0003000 d pfnfix_zero_vm_ops\t[pfnfix]\n"
	"garbage line\n"
	"ffffffffc0005000 t no_close_bracket\t[broken\n"
	"ffffffff81002000 X\n";

static struct ksyms *parse(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct ksyms *ks = ksyms_parse(f);

	fclose(f);
	return ks;
}

static void test_lookup_text(void **state)
{
	struct ksyms *ks = parse(sample);
	char buf[128];

	assert_non_null(ks);
	assert_string_equal(ksyms_format(ks, 0xffffffff81001010, KSYM_TEXT, 0, buf, sizeof(buf)),
			    "filemap_fault");
	assert_string_equal(ksyms_format(ks, 0xffffffff81001014, KSYM_TEXT, 0, buf, sizeof(buf)),
			    "filemap_fault+0x4");
	assert_string_equal(ksyms_format(ks, 0xffffffffc0001000, KSYM_TEXT, 0, buf, sizeof(buf)),
			    "pfnfix_zero_fault [pfnfix]");
	ksyms_free(ks);
}

static void test_data_never_resolves_to_text(void **state)
{
	struct ksyms *ks = parse(sample);
	char buf[128];

	/* a vm_ops pointer into vmlinux data that kallsyms lacks (no KALLSYMS_ALL) */
	assert_string_equal(ksyms_format(ks, 0xffffffff81001500, KSYM_DATA, 0, buf, sizeof(buf)),
			    "?");
	assert_int_equal(ks->unresolved, 1);
	assert_string_equal(ksyms_format(ks, 0xffffffffc0003000, KSYM_DATA, 0, buf, sizeof(buf)),
			    "pfnfix_zero_vm_ops [pfnfix]");
	assert_string_equal(ksyms_format(ks, 0xffffffff82000000, KSYM_DATA, 0, buf, sizeof(buf)),
			    "generic_file_vm_ops");
	ksyms_free(ks);
}

static void test_addresses_hidden_unless_asked(void **state)
{
	struct ksyms *ks = parse(sample);
	char buf[128];

	ksyms_format(ks, 0xffffffff81001010, KSYM_TEXT, 0, buf, sizeof(buf));
	assert_null(strstr(buf, "ffffffff"));
	ksyms_format(ks, 0xffffffff81001010, KSYM_TEXT, 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "0xffffffff81001010"));
	ksyms_format(ks, 0xffffffff90000000, KSYM_TEXT, 0, buf, sizeof(buf));
	assert_string_equal(buf, "?");
	ksyms_free(ks);
}

static void test_malformed_lines_skipped(void **state)
{
	struct ksyms *ks = parse(sample);

	assert_non_null(ks);
	assert_null(ksyms_by_name(ks, "no_close_bracket"));
	assert_null(ksyms_by_name(ks, "__pfx_filemap_fault"));
	assert_non_null(ksyms_by_name(ks, "special_mapping_fault"));
	assert_int_equal(ks->nr, 6);
	ksyms_free(ks);
}

static void test_kptr_restrict_all_zero(void **state)
{
	struct ksyms *ks = parse("0000000000000000 T a\n0000000000000000 T b\n");
	char buf[32];

	assert_true(ks->all_zero);
	assert_string_equal(ksyms_format(ks, 0x1234, KSYM_TEXT, 0, buf, sizeof(buf)), "?");
	ksyms_free(ks);
}

static void test_overlong_line(void **state)
{
	static char big[2000];
	struct ksyms *ks;

	memset(big, 'a', sizeof(big) - 40);
	strcpy(big + sizeof(big) - 40, "\nffffffff81000000 T ok\n");
	ks = parse(big);
	assert_non_null(ksyms_by_name(ks, "ok"));
	ksyms_free(ks);
}

/* A NUL byte before the newline hid it from the overlong-line check, which then skipped the
 * next line as the rest of this one; the empty table handed qsort() a NULL base (UBSan). */
static void test_nul_byte_and_empty(void **state)
{
	static const char text[] = "ffffffff81000000 T a\0b\nffffffff81000010 T after\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct ksyms *ks = ksyms_parse(f);

	fclose(f);
	assert_int_equal(ks->nr, 1);
	assert_non_null(ksyms_by_name(ks, "after"));
	ksyms_free(ks);
	ks = parse("");
	assert_non_null(ks);
	assert_int_equal(ks->nr, 0);
	assert_false(ks->all_zero);
	ksyms_free(ks);
}


/* ksyms_format() without the address, into a buffer of its own */
static const char *fmt(struct ksyms *ks, unsigned long addr, enum ksym_kind kind)
{
	static char buf[128];

	return ksyms_format(ks, addr, kind, 0, buf, sizeof(buf));
}

/* A fake kernel for query mode: sprint_symbol()'s answers from a table of sized symbols. */
struct fake_sym {
	unsigned long addr, size;
	const char *name, *module;
};

struct fake_kernel {
	const struct fake_sym *syms;
	size_t nr;
	unsigned long calls;
	const char *forced;	/* answer this instead */
	int error;		/* or fail with it */
	int released;
	/* 6.1's answer for a module's data symbol: the size runs from it to the end of the
	 * module's text, wrapped (find_kallsyms_symbol()) */
	unsigned long text_end;
};

static int fake_query(void *ctx, unsigned long addr, char *buf, size_t n)
{
	struct fake_kernel *k = ctx;

	k->calls++;
	if (k->error)
		return k->error;
	if (k->forced) {
		snprintf(buf, n, "%s", k->forced);
		return 0;
	}
	for (size_t i = 0; i < k->nr; i++) {
		const struct fake_sym *s = &k->syms[i];

		if (addr >= s->addr && addr < s->addr + s->size) {
			snprintf(buf, n, "%s+0x%lx/0x%lx%s%s%s", s->name, addr - s->addr,
				 k->text_end ? k->text_end - s->addr : s->size,
				 s->module ? " [" : "", s->module ? s->module : "",
				 s->module ? "]" : "");
			return 0;
		}
	}
	snprintf(buf, n, "0x%lx", addr);
	return 0;
}

static void fake_release(void *ctx)
{
	((struct fake_kernel *)ctx)->released++;
}

static const struct fake_sym fake_syms[] = {
	{ 0xffffffff81001010, 0x3f0, "filemap_fault", NULL },
	{ 0xffffffff82000000, 0x40, "generic_file_vm_ops", NULL },
	{ 0xffffffffc0001000, 0x80, "pfnfix_zero_fault", "pfnfix" },
	{ 0xffffffffc0003000, 0x60, "pfnfix_zero_vm_ops", "pfnfix" },
	{ 0xffffffff81100000, 0x20000, "huge_function", NULL },
};

static void test_query_answers_kept(void **state)
{
	struct fake_kernel k = { fake_syms, 5 };
	struct ksyms *ks = ksyms_kernel(fake_query, &k, fake_release);

	(void)state;
	assert_non_null(ks);
	assert_string_equal(fmt(ks, 0xffffffff81001010, KSYM_TEXT),
			    "filemap_fault");
	assert_string_equal(fmt(ks, 0xffffffff81001014, KSYM_TEXT),
			    "filemap_fault+0x4");
	assert_string_equal(fmt(ks, 0xffffffffc0001008, KSYM_TEXT),
			    "pfnfix_zero_fault+0x8 [pfnfix]");
	assert_string_equal(fmt(ks, 0xffffffffc0003000, KSYM_DATA),
			    "pfnfix_zero_vm_ops [pfnfix]");
	/* the second address inside filemap_fault was answered from what the first said */
	assert_int_equal(k.calls, 3);
	assert_string_equal(ksyms_find(ks, 0xffffffffc0001000, KSYM_TEXT, 0x10000)->module,
			    "pfnfix");
	assert_int_equal(k.calls, 3);
	assert_int_equal(ks->unresolved, 0);
	/* beyond max_off it is no answer, as in table mode */
	assert_null(ksyms_find(ks, 0xffffffff81118000, KSYM_TEXT, 0x10000));
	assert_non_null(ksyms_find(ks, 0xffffffff81108000, KSYM_TEXT, 0x10000));
	assert_int_equal(k.calls, 4);
	ksyms_free(ks);
	assert_int_equal(k.released, 1);
}

static void test_query_misses(void **state)
{
	struct fake_kernel k = { fake_syms, 5 };
	struct ksyms *ks = ksyms_kernel(fake_query, &k, fake_release);
	char buf[128];

	(void)state;
	assert_string_equal(fmt(ks, 0xffffffff82400000, KSYM_DATA),
			    "?");
	assert_string_equal(ksyms_format(ks, 0xffffffff82400000, KSYM_DATA, 1, buf, sizeof(buf)),
			    "? @0xffffffff82400000");
	assert_int_equal(k.calls, 1);	/* a miss is kept too */
	assert_int_equal(ks->unresolved, 2);
	/* a miss is one address: its neighbour is asked */
	assert_null(ksyms_find(ks, 0xffffffff82400008, KSYM_DATA, 0x1000));
	assert_int_equal(k.calls, 2);
	/* a symbol next to a miss still resolves */
	assert_string_equal(fmt(ks, 0xffffffff82000010, KSYM_DATA),
			    "generic_file_vm_ops+0x10");
	/* thousands of misses: asked each time past the cap, never kept without bound */
	for (unsigned long a = 0; a < 5000; a++)
		ksyms_find(ks, 0xffffffff90000000 + 8 * a, KSYM_TEXT, 0x10000);
	assert_int_equal(ks->nr_misses, 4096);
	assert_true(ks->nr_known <= 4096 + 1);
	ksyms_free(ks);
}

static void test_query_hostile_answers(void **state)
{
	static const char *const bad[] = {
		"", "0x1234", "name", "name+0x10", "name+0x10/", "name+0x10/0x8",
		"name+0x1/0x8 [mod", "name+0x1/0x8 mod]", "+0x1/0x8", "name+0x1/0x8junk",
		"name+zz/0x8", "[mod]",
	};
	struct fake_kernel k = {};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ksyms *ks = ksyms_kernel(fake_query, &k, NULL);

		k.forced = bad[i];
		assert_string_equal(fmt(ks, 0xffffffff81000008, KSYM_TEXT), "?");
		ksyms_free(ks);
	}
	{	/* the kernel refusing is a miss, not a crash */
		struct ksyms *ks = ksyms_kernel(fake_query, &k, NULL);

		k.forced = NULL;
		k.error = -EPERM;
		assert_null(ksyms_find(ks, 0xffffffff81000008, KSYM_TEXT, 0x10000));
		ksyms_free(ks);
	}
	{	/* a name with '+' inside: the last one splits */
		struct ksyms *ks = ksyms_kernel(fake_query, &k, NULL);

		k.error = 0;
		k.forced = "a+b+0x8/0x10 [m]";
		assert_string_equal(fmt(ks, 0xffffffff81000008, KSYM_TEXT), "a+b+0x8 [m]");
		ksyms_free(ks);
	}
}

/* the wrapped size: each answer stands for its own address only */
static void test_query_wrapped_size(void **state)
{
	static const struct fake_sym data[] = {
		{ 0xffffffffc0003000, 0x100, "freed_vm_ops", "pfnfix" },
		{ 0xffffffffc0003100, 0x100, "rampfn_vm_ops", "pfnfix" },
	};
	struct fake_kernel k = { data, 2, .text_end = 0xffffffffc0002000 };
	struct ksyms *ks = ksyms_kernel(fake_query, &k, NULL);

	(void)state;
	assert_string_equal(fmt(ks, 0xffffffffc0003000, KSYM_DATA),
			    "freed_vm_ops [pfnfix]");
	assert_string_equal(fmt(ks, 0xffffffffc0003100, KSYM_DATA),
			    "rampfn_vm_ops [pfnfix]");
	assert_string_equal(fmt(ks, 0xffffffffc0003000, KSYM_DATA),
			    "freed_vm_ops [pfnfix]");
	assert_int_equal(k.calls, 2);	/* each address asked once */
	ksyms_free(ks);
}

static void test_query_order(void **state)
{
	struct fake_sym syms[300];
	char names[300][16];
	struct fake_kernel k = { syms, 300 };
	struct ksyms *ks = ksyms_kernel(fake_query, &k, NULL);

	(void)state;
	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		syms[i] = (struct fake_sym){ 0xffffffff81000000 + 0x100 * i, 0x100, names[i] };
	}
	/* asked in a scrambled order, then all again: every answer right, none asked twice */
	for (int pass = 0; pass < 2; pass++)
		for (int j = 0; j < 300; j++) {
			int i = (j * 7919) % 300;
			const struct ksym *s = ksyms_find(ks, syms[i].addr + 0x10 + pass, KSYM_TEXT,
							  0x10000);

			assert_non_null(s);
			assert_string_equal(s->name, names[i]);
			assert_int_equal(s->addr, syms[i].addr);
		}
	assert_int_equal(k.calls, 300);
	ksyms_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_text),
		cmocka_unit_test(test_data_never_resolves_to_text),
		cmocka_unit_test(test_addresses_hidden_unless_asked),
		cmocka_unit_test(test_malformed_lines_skipped),
		cmocka_unit_test(test_kptr_restrict_all_zero),
		cmocka_unit_test(test_overlong_line),
		cmocka_unit_test(test_nul_byte_and_empty),
		cmocka_unit_test(test_query_answers_kept),
		cmocka_unit_test(test_query_misses),
		cmocka_unit_test(test_query_hostile_answers),
		cmocka_unit_test(test_query_wrapped_size),
		cmocka_unit_test(test_query_order),
	};
	return cmocka_run_group_tests_name("ksyms", tests, NULL, NULL);
}
