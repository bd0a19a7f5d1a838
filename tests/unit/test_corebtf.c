// SPDX-License-Identifier: GPL-2.0
/* The CO-RE cache is named by the kernel's GNU build ID, read from /sys/kernel/notes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <elf.h>
#include <cmocka.h>
#include "corebtf.h"

/* one note as the kernel lays it out: header, name and description each padded to 4 bytes */
static size_t put_note(unsigned char *p, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	Elf64_Nhdr nh = { .n_namesz = strlen(name) + 1, .n_descsz = descsz, .n_type = type };
	size_t off = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + off, name, nh.n_namesz);
	off += (nh.n_namesz + 3) & ~3u;
	memcpy(p + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

static void test_build_id_after_other_notes(void **state)
{
	unsigned char blob[256] = {}, id[20];
	uint32_t xen = 0x1234;
	char hex[64];
	size_t n = 0;

	for (int i = 0; i < 20; i++)
		id[i] = 0xa0 + i;
	n += put_note(blob + n, "Xen", 5, &xen, 3);	/* odd sizes: padding is skipped */
	n += put_note(blob + n, "Linux", 0x100, "6.18", 5);
	n += put_note(blob + n, "GNU", NT_GNU_BUILD_ID, id, sizeof(id));
	assert_int_equal(corebtf_build_id(blob, n, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
}

static void test_no_or_broken_build_id(void **state)
{
	unsigned char blob[256] = {}, id[20] = { 1 };
	char hex[64];
	size_t n;

	/* a build-ID type under another owner's name is not one */
	n = put_note(blob, "GNV", NT_GNU_BUILD_ID, id, sizeof(id));
	assert_int_equal(corebtf_build_id(blob, n, hex, sizeof(hex)), -ENOENT);
	/* cut short: the description runs past the end */
	n = put_note(blob, "GNU", NT_GNU_BUILD_ID, id, sizeof(id));
	assert_int_equal(corebtf_build_id(blob, n - 8, hex, sizeof(hex)), -ENOENT);
	/* a description size that would run far past the blob */
	((Elf64_Nhdr *)blob)->n_descsz = 0xfffffff0u;
	assert_int_equal(corebtf_build_id(blob, n, hex, sizeof(hex)), -ENOENT);
	/* no room for the hex */
	n = put_note(blob, "GNU", NT_GNU_BUILD_ID, id, sizeof(id));
	assert_int_equal(corebtf_build_id(blob, n, hex, 40), -ENOENT);
	assert_int_equal(corebtf_build_id(blob, n, hex, 41), 0);
	assert_int_equal(corebtf_build_id(blob, 0, hex, sizeof(hex)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_id_after_other_notes),
		cmocka_unit_test(test_no_or_broken_build_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
