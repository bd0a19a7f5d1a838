// SPDX-License-Identifier: GPL-2.0
/* Mnemonics from show_smap_vma_flags() (fs/proc/task_mmu.c); bit positions from
 * include/linux/mm.h, unchanged between 6.1 and 6.18 for the low 32 bits. */
#include <stdio.h>
#include <string.h>
#include "vmflags.h"

static const char *const mnemonics[32] = {
	"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms",		/* 0-7 */
	"gd", "um", NULL, NULL, "uw", "lo", "io", "sr",		/* 8-15; bit 10 is pf below */
	"rr", "dc", "de", "lf", "ac", "nr", "ht", "sf",		/* 16-23 */
	"ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg",		/* 24-31 */
};

const char *vmflags_mnemonic(unsigned int bit)
{
	if (bit == 10)
		return "pf";	/* VM_PFNMAP */
	return bit < 32 ? mnemonics[bit] : NULL;
}

char *vmflags_format(uint64_t flags, char *buf, size_t n)
{
	size_t len = 0;

	if (n)
		buf[0] = '\0';
	for (unsigned int bit = 0; bit < 32; bit++) {
		const char *m = vmflags_mnemonic(bit);

		if (!(flags & (1ULL << bit)) || !m)
			continue;
		len += snprintf(buf + len, len < n ? n - len : 0, "%s%s", len ? " " : "", m);
	}
	return buf;
}
