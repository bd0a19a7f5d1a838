// SPDX-License-Identifier: GPL-2.0
/* ksyms: kallsyms parsing, text/data lookups, module attribution, hostile lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
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
	};
	return cmocka_run_group_tests_name("ksyms", tests, NULL, NULL);
}
