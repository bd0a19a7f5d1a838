// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: /proc/kallsyms text through ksyms_parse(), then the lookups the report makes
 * (ksyms_format, ksyms_by_name). Aborts if the table breaks what ksyms.h promises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

static int is_text(char t)
{
	return t == 't' || t == 'T' || t == 'W' || t == 'w';
}

static void check(const struct ksyms *ks)
{
	size_t nonzero = 0;

	for (size_t i = 0; i < ks->nr; i++) {
		const struct ksym *s = &ks->syms[i];
		size_t n = strlen(s->name);

		/* names and modules live in the arena, one line's worth, no separators left */
		if (s->name < ks->strs || s->name >= ks->strs + ks->strs_len || !n || n > 255 ||
		    !strncmp(s->name, "__pfx_", 6) || strpbrk(s->name, "\t\r\n"))
			abort();
		if (s->module && (s->module < ks->strs || s->module >= ks->strs + ks->strs_len ||
				  !*s->module || strchr(s->module, ']')))
			abort();
		if (i && ks->syms[i - 1].addr > s->addr)
			abort();
		nonzero += s->addr != 0;
	}
	if (ks->all_zero != (ks->nr && !nonzero))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct ksyms *ks;
	char buf[160];

	if (!f)
		return 0;
	ks = ksyms_parse(f);
	fclose(f);
	if (!ks)
		return 0;
	check(ks);
	for (size_t i = 0; i < ks->nr && i < 64; i++) {
		const struct ksym *s = &ks->syms[i], *hit;
		enum ksym_kind kind = is_text(s->type) ? KSYM_TEXT : KSYM_DATA;

		/* every symbol is found at its own address, as a symbol of its kind there */
		hit = ksyms_find(ks, s->addr, kind, 0);
		if (s->addr && !ks->all_zero && (!hit || hit->addr != s->addr ||
						 is_text(hit->type) != is_text(s->type)))
			abort();
		if (i < 8 && !ksyms_by_name(ks, s->name))	/* a linear scan: a few */
			abort();
		ksyms_format(ks, s->addr, kind, 1, buf, sizeof(buf));
		ksyms_format(ks, s->addr + 0x10, KSYM_TEXT, 0, buf, sizeof(buf));
		ksyms_format(ks, s->addr - 1, KSYM_DATA, 1, buf, 8);
	}
	ksyms_free(ks);
	return 0;
}
