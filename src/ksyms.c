// SPDX-License-Identifier: GPL-2.0
/* kallsyms reader. Lines are "ADDR TYPE NAME [MODULE]"; with kptr_restrict every ADDR reads 0
 * and nothing can be symbolised, which is reported rather than guessed. */
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"
#include "textio.h"

#ifndef KSYMS_ARENA_START	/* kallsyms names are megabytes; the fuzz build starts small */
#define KSYMS_ARENA_START (1 << 20)
#endif

static const char *arena_add(struct ksyms *ks, const char *s, size_t len, size_t *off)
{
	if (ks->strs_len + len + 1 > ks->strs_cap) {
		size_t cap = ks->strs_cap ? ks->strs_cap * 2 : KSYMS_ARENA_START;
		char *n;

		while (cap < ks->strs_len + len + 1)
			cap *= 2;
		n = realloc(ks->strs, cap);
		if (!n)
			return NULL;
		ks->strs = n;
		ks->strs_cap = cap;
	}
	memcpy(ks->strs + ks->strs_len, s, len);
	ks->strs[ks->strs_len + len] = '\0';
	*off = ks->strs_len;
	ks->strs_len += len + 1;
	return ks->strs;
}

static int is_text(char type)
{
	return type == 't' || type == 'T' || type == 'W' || type == 'w';
}

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* prefer text symbols, then the shorter name (the __pfx_ padding alias sorts last) */
	if (is_text(x->type) != is_text(y->type))
		return is_text(x->type) ? -1 : 1;
	return strcmp(x->name, y->name);
}

struct ksyms *ksyms_parse(FILE *f)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	char line[512];
	size_t nonzero = 0;

	if (!ks)
		return NULL;
	for (int got; (got = read_line(line, sizeof(line), f)) >= 0;) {
		char *end, *name, *mod, *nl;
		unsigned long addr;
		size_t off, moff = 0, nlen;
		char type;

		if (got)	/* overlong (its rest skipped), or a NUL byte inside */
			continue;
		addr = strtoul(line, &end, 16);
		if (end == line || *end != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		name = end + 3;
		nl = strpbrk(name, "\r\n");
		if (nl)
			*nl = '\0';
		mod = strchr(name, '\t');
		if (!mod)
			mod = strchr(name, ' ');
		if (mod) {
			*mod++ = '\0';
			while (*mod == ' ' || *mod == '\t')
				mod++;
			if (*mod == '[') {
				char *close = strchr(++mod, ']');

				if (!close)
					continue;
				*close = '\0';
			} else {
				mod = NULL;
			}
		}
		nlen = strlen(name);
		if (!nlen || nlen > 255 || !strncmp(name, "__pfx_", 6))
			continue;
		/* the planner's trial programs and the address lookup (src/kaddr.c) live for
		 * microseconds while kallsyms is read on another thread: an address near one is
		 * not in it */
		if (nlen > 15 && (!strcmp(name + nlen - 15, "_pfnscope_trial") ||
				  !strcmp(name + nlen - 15, "_pfnscope_kaddr")))
			continue;
		if (ks->nr == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 4096;
			struct ksym *n = realloc(ks->syms, cap * sizeof(*n));

			if (!n)
				goto fail;
			ks->syms = n;
			ks->cap = cap;
		}
		if (!arena_add(ks, name, nlen, &off))
			goto fail;
		if (mod && *mod && !arena_add(ks, mod, strlen(mod), &moff))
			goto fail;
		ks->syms[ks->nr].addr = addr;
		ks->syms[ks->nr].type = type;
		/* offsets for now: the arena may move; fixed up below */
		ks->syms[ks->nr].name = (const char *)(off + 1);
		ks->syms[ks->nr].module = mod && *mod ? (const char *)(moff + 1) : NULL;
		ks->nr++;
		if (addr)
			nonzero++;
	}
	for (size_t i = 0; i < ks->nr; i++) {
		ks->syms[i].name = ks->strs + ((size_t)ks->syms[i].name - 1);
		if (ks->syms[i].module)
			ks->syms[i].module = ks->strs + ((size_t)ks->syms[i].module - 1);
	}
	ks->all_zero = ks->nr && !nonzero;
	if (ks->nr)	/* syms is NULL for an empty table, and qsort()'s base is nonnull */
		qsort(ks->syms, ks->nr, sizeof(*ks->syms), cmp_addr);
	return ks;
fail:
	ksyms_free(ks);
	return NULL;
}

struct ksyms *ksyms_load(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	struct ksyms *ks;
	char *buf;

	if (!f)
		return NULL;
	/* kallsyms is megabytes: few large reads (glibc ignores the size of setvbuf(NULL, ..)
	 * and would read /proc in st_blksize = 1 KiB pieces) */
	buf = malloc(1 << 20);
	if (buf)
		setvbuf(f, buf, _IOFBF, 1 << 20);
	ks = ksyms_parse(f);
	fclose(f);
	free(buf);
	return ks;
}

/*
 * Query mode. The kernel answers with sprint_symbol()'s "name+0xoff/0xsize [module]" (or
 * "0x..." where no symbol holds the address: a data address on a kernel without
 * KALLSYMS_ALL, a freed module's), so an answer is mostly a whole symbol, [addr - off,
 * + size), and the next address inside it is answered from @known without asking.
 *
 * Not for a module's data: find_kallsyms_symbol() (kernel/module/kallsyms.c) starts its
 * search for the next symbol at the end of the module's text, so a symbol past it gets that
 * end minus its own address as its size, which wraps (on 6.1 the lab fixture's vm_ops were
 * all named "freed_vm_ops+0x..." after the first answer). An answer spanning more than
 * KSYMS_MAX_SPAN stands for its own address alone.
 *
 * Misses are kept too (up to KSYMS_MAX_MISSES), one address each: a report asks for the same
 * handler once per VMA.
 */
struct ksym_known {
	struct ksym sym;	/* name NULL: the kernel knew no symbol at sym.addr */
	unsigned long lo, hi;	/* the addresses this answer stands for */
	char text[];
};

#define KSYMS_MAX_MISSES 4096
#define KSYMS_ANSWER_LEN 256
#define KSYMS_MAX_SPAN (1UL << 20)	/* kernel functions are < 64 KiB */

struct ksyms *ksyms_kernel(ksyms_query_fn query, void *ctx, void (*release)(void *ctx))
{
	struct ksyms *ks = calloc(1, sizeof(*ks));

	if (!ks)
		return NULL;
	ks->query = query;
	ks->query_ctx = ctx;
	ks->query_release = release;
	pthread_mutex_init(&ks->lock, NULL);
	return ks;
}

/* "name+0xoff/0xsize" with an optional " [module]" -> a symbol holding @addr, or NULL */
static struct ksym_known *known_parse(unsigned long addr, const char *text, enum ksym_kind kind)
{
	size_t tlen = strlen(text), nlen, mlen = 0;
	const char *mod = NULL, *plus = NULL;
	unsigned long off, size;
	struct ksym_known *k;
	char *end;

	if (!tlen || !strncmp(text, "0x", 2))
		return NULL;
	if (text[tlen - 1] == ']') {
		const char *open = strrchr(text, '[');

		if (!open || open == text || open[-1] != ' ')
			return NULL;
		mod = open + 1;
		mlen = text + tlen - 1 - mod;
		tlen = open - 1 - text;
	}
	for (const char *c = text; c < text + tlen; c++)
		if (*c == '+')
			plus = c;
	if (!plus || plus == text || !mlen != !mod)
		return NULL;
	nlen = plus - text;
	off = strtoul(plus + 1, &end, 16);
	if (*end != '/')
		return NULL;
	size = strtoul(end + 1, &end, 16);
	if (end != text + tlen || off >= size || off > addr || nlen > 255)
		return NULL;
	k = malloc(sizeof(*k) + nlen + 1 + (mod ? mlen + 1 : 0));
	if (!k)
		return NULL;
	memcpy(k->text, text, nlen);
	k->text[nlen] = '\0';
	k->sym.name = k->text;
	k->sym.module = NULL;
	if (mod) {
		memcpy(k->text + nlen + 1, mod, mlen);
		k->text[nlen + 1 + mlen] = '\0';
		k->sym.module = k->text + nlen + 1;
	}
	k->sym.addr = addr - off;
	k->sym.type = kind == KSYM_TEXT ? 't' : 'd';
	k->lo = size <= KSYMS_MAX_SPAN ? k->sym.addr : addr;
	k->hi = size <= KSYMS_MAX_SPAN ? k->sym.addr + size : addr + 1;
	return k;
}

/* the index of the first answer whose range starts above @addr */
static size_t known_upper(const struct ksyms *ks, unsigned long addr)
{
	size_t lo = 0, hi = ks->nr_known;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->known[mid]->lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct ksym_known *known_holding(const struct ksyms *ks, unsigned long addr)
{
	size_t i = known_upper(ks, addr);
	struct ksym_known *k = i ? ks->known[i - 1] : NULL;

	return k && addr < k->hi ? k : NULL;
}

static int known_insert(struct ksyms *ks, struct ksym_known *k)
{
	size_t at = known_upper(ks, k->lo);

	if (ks->nr_known == ks->cap_known) {
		size_t cap = ks->cap_known ? ks->cap_known * 2 : 64;
		struct ksym_known **n = realloc(ks->known, cap * sizeof(*n));

		if (!n)
			return -1;
		ks->known = n;
		ks->cap_known = cap;
	}
	memmove(ks->known + at + 1, ks->known + at, (ks->nr_known - at) * sizeof(*ks->known));
	ks->known[at] = k;
	ks->nr_known++;
	return 0;
}

static const struct ksym *known_find(struct ksyms *ks, unsigned long addr, enum ksym_kind kind,
				     unsigned long max_off)
{
	struct ksym_known *k;
	char text[KSYMS_ANSWER_LEN];

	pthread_mutex_lock(&ks->lock);
	k = known_holding(ks, addr);
	if (!k) {
		if (!ks->query(ks->query_ctx, addr, text, sizeof(text)))
			k = known_parse(addr, text, kind);
		if (!k && ks->nr_misses < KSYMS_MAX_MISSES) {
			k = calloc(1, sizeof(*k));
			if (k) {
				k->sym.addr = k->lo = addr;
				k->hi = addr + 1;
				ks->nr_misses++;
			}
		}
		if (k && known_insert(ks, k)) {
			free(k);
			k = NULL;
		}
	}
	pthread_mutex_unlock(&ks->lock);
	if (!k || !k->sym.name || addr - k->sym.addr > max_off)
		return NULL;
	return &k->sym;
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	if (ks->query) {
		if (ks->query_release)
			ks->query_release(ks->query_ctx);
		for (size_t i = 0; i < ks->nr_known; i++)
			free(ks->known[i]);
		free(ks->known);
		pthread_mutex_destroy(&ks->lock);
	}
	free(ks->syms);
	free(ks->strs);
	free(ks);
}

const struct ksym *ksyms_find(struct ksyms *ks, unsigned long addr, enum ksym_kind kind,
			      unsigned long max_off)
{
	size_t lo = 0, hi;
	const struct ksym *best = NULL;

	if (!ks || !addr || ks->all_zero)
		return NULL;
	if (ks->query)
		return known_find(ks, addr, kind, max_off);
	hi = ks->nr;
	while (lo < hi) {	/* first symbol with addr > @addr */
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	best = &ks->syms[lo - 1];
	/* several names at one address: take the first of that run (sorted text-first) */
	while (best > ks->syms && best[-1].addr == best->addr)
		best--;
	if (addr - best->addr > max_off)
		return NULL;
	/* any name at that address of the wanted kind */
	for (const struct ksym *s = best; s < ks->syms + ks->nr && s->addr == best->addr; s++)
		if (is_text(s->type) == (kind == KSYM_TEXT))
			return s;
	return NULL;
}

const struct ksym *ksyms_by_name(const struct ksyms *ks, const char *name)
{
	if (!ks)
		return NULL;
	for (size_t i = 0; i < ks->nr; i++)
		if (!strcmp(ks->syms[i].name, name))
			return &ks->syms[i];
	return NULL;
}

char *ksyms_format(struct ksyms *ks, unsigned long addr, enum ksym_kind kind, int show_addr,
		   char *buf, size_t n)
{
	const struct ksym *s;
	char off[32] = "";
	char a[32] = "";

	if (!addr) {
		snprintf(buf, n, "-");
		return buf;
	}
	if (show_addr)
		snprintf(a, sizeof(a), " @0x%lx", addr);
	s = ksyms_find(ks, addr, kind, kind == KSYM_TEXT ? 0x10000 : 0x1000);
	if (!s) {
		if (ks)	/* query mode: formatted on more than one thread */
			__atomic_add_fetch(&ks->unresolved, 1, __ATOMIC_RELAXED);
		snprintf(buf, n, "?%s", a);
		return buf;
	}
	if (addr != s->addr)
		snprintf(off, sizeof(off), "+0x%lx", addr - s->addr);
	if (s->module)
		snprintf(buf, n, "%s%s [%s]%s", s->name, off, s->module, a);
	else
		snprintf(buf, n, "%s%s%s", s->name, off, a);
	return buf;
}
