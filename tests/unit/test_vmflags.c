// SPDX-License-Identifier: GPL-2.0
/* vm_flags decoding must print what /proc/PID/smaps prints, in the same order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "vmflags.h"

static void test_common_vmas(void **state)
{
	char buf[160];

	/* a private writable anon mapping: VM_READ|WRITE|MAYREAD|MAYWRITE|MAYEXEC|ACCOUNT */
	assert_string_equal(vmflags_format(0x1 | 0x2 | 0x10 | 0x20 | 0x40 | 0x100000, buf,
					   sizeof(buf)), "rd wr mr mw me ac");
	/* a driver's VM_PFNMAP|VM_IO|VM_DONTEXPAND|VM_DONTDUMP shared mapping */
	assert_string_equal(vmflags_format(0x1 | 0x8 | 0x10 | 0x80 | PFN_VM_PFNMAP | PFN_VM_IO |
					   0x40000 | 0x4000000, buf, sizeof(buf)),
			    "rd sh mr ms pf io de dd");
	assert_string_equal(vmflags_format(PFN_VM_MIXEDMAP, buf, sizeof(buf)), "mm");
}

static void test_unknown_and_truncation(void **state)
{
	char buf[8];

	assert_string_equal(vmflags_format(1ULL << 40, buf, sizeof(buf)), "");
	vmflags_format(0xffffffffULL, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 7);	/* truncated, terminated */
	assert_null(vmflags_mnemonic(11));
	assert_string_equal(vmflags_mnemonic(10), "pf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common_vmas),
		cmocka_unit_test(test_unknown_and_truncation),
	};
	return cmocka_run_group_tests_name("vmflags", tests, NULL, NULL);
}
