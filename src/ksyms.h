/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/kallsyms -> "symbol [module]". */
#ifndef PFNSCOPE_KSYMS_H
#define PFNSCOPE_KSYMS_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

struct ksym {
	unsigned long addr;
	char type;
	const char *name;
	const char *module;	/* NULL for vmlinux */
};

/* Asks the kernel for the symbol holding @addr: "name+0xoff/0xsize [module]", "0x..." where
 * none does (sprint_symbol()'s form). 0 or -errno. */
typedef int (*ksyms_query_fn)(void *ctx, unsigned long addr, char *buf, size_t n);

struct ksym_known;

struct ksyms {
	/* query mode (ksyms_kernel()): the kernel answers per address; what it said is kept,
	 * sorted by address, in @known (the table below stays empty) */
	ksyms_query_fn query;
	void *query_ctx;
	void (*query_release)(void *ctx);
	struct ksym_known **known;
	size_t nr_known, cap_known, nr_misses;
	pthread_mutex_t lock;	/* query mode: @known is filled by whichever thread asks */

	/* table mode (ksyms_parse(), ksyms_load()) */
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
/* Query mode: nothing is read up front; @query is asked once per symbol (its answers are
 * kept) and @release(@ctx) is called by ksyms_free(). NULL on allocation failure. */
struct ksyms *ksyms_kernel(ksyms_query_fn query, void *ctx, void (*release)(void *ctx));
void ksyms_free(struct ksyms *ks);

enum ksym_kind { KSYM_TEXT, KSYM_DATA };

/* The symbol of kind @kind containing @addr (nearest at or below, within @max_off), or NULL.
 * A data pointer never resolves to a text symbol or the reverse: without KALLSYMS_ALL the
 * kernel's data symbols are absent and the nearest symbol would be a wrong answer. */
const struct ksym *ksyms_find(struct ksyms *ks, unsigned long addr, enum ksym_kind kind,
			      unsigned long max_off);
/* Table mode only (a query-mode table answers NULL: kaddr_lookup() asks names of the kernel) */
const struct ksym *ksyms_by_name(const struct ksyms *ks, const char *name);

/* Writes "name", "name+0x10" or "name [module]" into @buf; "?" (and counts it) if unknown.
 * The raw address is appended only if @show_addr. Returns @buf. */
char *ksyms_format(struct ksyms *ks, unsigned long addr, enum ksym_kind kind, int show_addr,
		   char *buf, size_t n);

#endif /* PFNSCOPE_KSYMS_H */
