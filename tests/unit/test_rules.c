// SPDX-License-Identifier: GPL-2.0
/* The rule table, classification and policy: docs/findings.md in sync with the table, classes
 * from an /proc/iomem sample, policy parsing and matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "report.h"
#include "rules.h"
#include "classify.h"
#include "iomem.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 16];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_docs_in_sync(void **state)
{
	char *doc = slurp("docs/findings.md");
	char head[128];

	assert_non_null(doc);
	for (int i = 0; i < RULE__MAX; i++) {
		snprintf(head, sizeof(head), "## %s (%s)", rules[i].id,
			 severity_name(rules[i].severity));
		if (!strstr(doc, head))
			fail_msg("docs/findings.md lacks heading '%s'", head);
		if (!strstr(doc, rules[i].explain))
			fail_msg("docs/findings.md lacks the explanation of %s", rules[i].id);
	}
}

static const char iomem_sample[] =
	"00000000-00000fff : Reserved\n"
	"00001000-0009fbff : System RAM\n"
	"000a0000-000bffff : PCI Bus 0000:00\n"
	"000f0000-000fffff : Reserved\n"
	"  000f0000-000fffff : System ROM\n"
	"00100000-3ffdffff : System RAM\n"
	"  09000000-09c00fff : Kernel code\n"
	"20000000-23ffffff : Persistent Memory (legacy)\n"
	"  20000000-23ffffff : namespace0.0\n"
	"fed00000-fed003ff : PNP0103:00\n"
	"bogus line\n"
	"   0-1 : odd indent\n";

static void test_classes(void **state)
{
	FILE *f = fmemopen((void *)iomem_sample, sizeof(iomem_sample) - 1, "r");
	struct iomem *io = iomem_parse(f);
	const char *region;

	fclose(f);
	assert_int_equal(io->n, 10);
	assert_int_equal(classify_pfn(io, 0x5, PFNST_HAS_PAGE, &region), CLASS_RAM);
	assert_int_equal(classify_pfn(io, 0x9500, PFNST_HAS_PAGE | PFNST_RESERVED, &region),
			 CLASS_RESERVED);
	assert_string_equal(region, "Kernel code");
	assert_int_equal(classify_pfn(io, 0xa0, PFNST_HAS_PAGE | PFNST_RESERVED, &region),
			 CLASS_MMIO);
	assert_string_equal(region, "PCI Bus 0000:00");
	assert_int_equal(classify_pfn(io, 0xf0, PFNST_HAS_PAGE, &region), CLASS_MMIO);
	assert_string_equal(region, "System ROM");
	assert_int_equal(classify_pfn(io, 0x20000, PFNST_HAS_PAGE, &region), CLASS_DEVICE);
	/* vmf_insert_pfn() sets PFN_DEV on every pfn: alone it does not make a device page */
	assert_int_equal(classify_pfn(io, 0xfed00, PFNST_PFN_DEV, &region), CLASS_MMIO);
	assert_int_equal(classify_pfn(io, 0xfed00, PFNST_PFN_DEV | PFNST_PFN_MAP, &region),
			 CLASS_DEVICE);
	assert_int_equal(classify_pfn(io, 0x7fffffff, 0, &region), CLASS_INVALID);
	assert_int_equal(classify_pfn(io, 0x40000, PFNST_HAS_PAGE | PFNST_BUCKET, &region),
			 CLASS_RAM);
	assert_string_equal(cache_mode_name(2), "UC-");
	assert_true(cache_mode_is_wb(0));
	assert_false(cache_mode_is_wb(2));
	iomem_free(io);
}

/* Lines without " : " left sscanf()'s %n unset, and the name was read from line + garbage; a
 * NUL byte made the line after it vanish. Both found by tests/fuzz/fuzz_iomem. */
static void test_iomem_hostile(void **state)
{
	static const char text[] = "00000000-00000fff\n0-1 x\n0-1\n00001000-0009fbff : Sys\0tem\n"
				   "00100000-3ffdffff : System RAM\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct iomem *io = iomem_parse(f);

	fclose(f);
	assert_int_equal(io->n, 1);
	assert_string_equal(io->r[0].name, "System RAM");
	iomem_free(io);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void test_policy(void **state)
{
	char path[] = "/tmp/pfnscope-policy-XXXXXX", err[256];
	struct policy p = {};
	struct vma_row v = {};
	const struct policy_entry *e;
	int fd = mkstemp(path);

	close(fd);
	write_file(path, "# comment\n\nNONRAM_PAGE module=pfnfix warning known bad board\n"
			 "* handler=my_fault none all of them\n");
	assert_int_equal(policy_add_builtin(&p), 0);
	assert_int_equal(policy_load(&p, path, err, sizeof(err)), 0);
	strcpy(v.module, "pfnfix");
	strcpy(v.fault_handler, "vga_fault [pfnfix]");
	e = policy_match(&p, RULE_NONRAM_PAGE, &v);
	assert_non_null(e);
	assert_int_equal(e->severity, SEV_WARNING);
	assert_string_equal(e->reason, "known bad board");
	assert_null(policy_match(&p, RULE_RESERVED_PAGE, &v));
	strcpy(v.fault_handler, "special_mapping_fault");
	v.module[0] = '\0';
	e = policy_match(&p, RULE_RESERVED_PAGE, &v);
	assert_non_null(e);
	assert_true(e->builtin);
	strcpy(v.fault_handler, "my_fault+0x10 [x]");
	assert_non_null(policy_match(&p, RULE_MMIO_CACHED, &v));
	strcpy(v.fault_handler, "my_fault_other");
	assert_null(policy_match(&p, RULE_MMIO_CACHED, &v));
	v.val.rdev = 1 << 20 | 1;	/* /dev/mem */
	assert_non_null(policy_match(&p, RULE_MMIO_CACHED, &v));
	policy_free(&p);

	write_file(path, "NONRAM_PAGE module=x loud why\n");
	assert_int_equal(policy_load(&p, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: unknown severity 'loud'"));
	policy_free(&p);
	write_file(path, "\nNOSUCH module=x none why\n");
	assert_int_equal(policy_load(&p, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: unknown rule 'NOSUCH'"));
	policy_free(&p);
	write_file(path, "NONRAM_PAGE module=x none\n");
	assert_int_equal(policy_load(&p, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a reason is required"));
	policy_free(&p);
	unlink(path);
}

/* policy_parse() from a stream: a NUL byte is named as such, not as an overlong line */
static void test_policy_parse(void **state)
{
	static const char good[] = "* file=mem none why\nMMIO_CACHED module=m info sram\n",
			  nul[] = "# ok\n* handler=a\0b none why\n";
	struct policy p = {};
	char err[256] = "";
	FILE *f = fmemopen((void *)good, sizeof(good) - 1, "r");

	assert_int_equal(policy_parse(&p, f, "good", err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.e[1].reason, "sram");
	policy_free(&p);
	f = fmemopen((void *)nul, sizeof(nul) - 1, "r");
	assert_int_equal(policy_parse(&p, f, "nul", err, sizeof(err)), -1);
	fclose(f);
	assert_string_equal(err, "nul:2: NUL byte in line");
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docs_in_sync),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_iomem_hostile),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_parse),
	};
	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
