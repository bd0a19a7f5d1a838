/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/kallsyms -> "symbol [module]". */
#ifndef PFNSCOPE_KSYMS_H
#define PFNSCOPE_KSYMS_H

#include <stddef.h>
#include <stdio.h>

struct ksym {
	unsigned long addr;
	char type;
	const char *name;
	const char *module;	/* NULL for vmlinux */
};

struct ksyms {
	struct ksym *syms;
	size_t nr, cap;
	char *strs;		/* one arena for names */
	size_t strs_len, strs_cap;
	unsigned long unresolved;	/* lookups that found nothing */
	int all_zero;		/* kptr_restrict hid every address */
};

/* Parses kallsyms-format text from @f. Returns NULL on allocation failure only; malformed
 * lines are skipped. */
struct ksyms *ksyms_parse(FILE *f);
struct ksyms *ksyms_load(void);	/* /proc/kallsyms */
void ksyms_free(struct ksyms *ks);

enum ksym_kind { KSYM_TEXT, KSYM_DATA };

/* The symbol of kind @kind containing @addr (nearest at or below, within @max_off), or NULL.
 * A data pointer never resolves to a text symbol or the reverse: without KALLSYMS_ALL the
 * kernel's data symbols are absent and the nearest symbol would be a wrong answer. */
const struct ksym *ksyms_find(struct ksyms *ks, unsigned long addr, enum ksym_kind kind,
			      unsigned long max_off);
const struct ksym *ksyms_by_name(const struct ksyms *ks, const char *name);

/* Writes "name", "name+0x10" or "name [module]" into @buf; "?" (and counts it) if unknown.
 * The raw address is appended only if @show_addr. Returns @buf. */
char *ksyms_format(struct ksyms *ks, unsigned long addr, enum ksym_kind kind, int show_addr,
		   char *buf, size_t n);

#endif /* PFNSCOPE_KSYMS_H */
