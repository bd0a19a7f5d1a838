// SPDX-License-Identifier: GPL-2.0
/* The agent's choice of VMA rows to evict (src/vmaevict.h). */
#include <stdlib.h>
#include <string.h>
#include "pfnscope.h"
#include "vmaevict.h"

void vma_evict_begin(struct vma_evict *e)
{
	e->n = 0;
	e->collecting = e->max_last && e->rows_last >= e->max_last / 2;
	if (!e->collecting) {	/* half empty: no history kept */
		free(e->prev);
		e->prev = NULL;
		e->nr_prev = 0;
	}
}

void vma_evict_add(struct vma_evict *e, const struct vma_key *k, const struct vma_val *v)
{
	if (!e->collecting)
		return;
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 1024;
		struct evict_row *n = realloc(e->cand, cap * sizeof(*n));

		if (!n)		/* fewer candidates: the next tick tries again */
			return;
		e->cand = n;
		e->cap = cap;
	}
	e->cand[e->n++] = (struct evict_row){ .key = *k, .id = v->id, .faults = v->faults };
}

static int cmp_id(const void *a, const void *b)
{
	__u64 x = ((const struct evict_row *)a)->id, y = ((const struct evict_row *)b)->id;

	return x < y ? -1 : x > y;
}

static int cmp_seen(const void *a, const void *b)
{
	__u64 x = ((const struct evict_seen *)a)->id, y = ((const struct evict_seen *)b)->id;

	return x < y ? -1 : x > y;
}

/* idle rows first, then the oldest (ids are handed out in order) */
static int cmp_victim(const void *a, const void *b)
{
	const struct evict_row *x = a, *y = b;

	if (x->idle != y->idle)
		return x->idle ? -1 : 1;
	return cmp_id(a, b);
}

size_t vma_evict_pick(struct vma_evict *e, size_t present, size_t max, const __u64 *busy,
		      size_t nbusy)
{
	struct evict_seen *seen;
	__u64 *b = NULL;
	size_t n = 0;

	if (!e->collecting || !e->n)
		return 0;
	/* a walk the kernel restarted reads rows twice (state_dedupe()): one per id */
	sort_n(e->cand, e->n, sizeof(*e->cand), cmp_id);
	for (size_t i = 0; i < e->n; i++) {
		if (n && e->cand[n - 1].id == e->cand[i].id)
			n--;
		e->cand[n++] = e->cand[i];
	}
	e->n = n;
	for (size_t i = 0; i < e->n; i++) {
		struct evict_seen key = { .id = e->cand[i].id }, *p;

		p = e->nr_prev ? bsearch(&key, e->prev, e->nr_prev, sizeof(key), cmp_seen) : NULL;
		e->cand[i].idle = p && p->faults == e->cand[i].faults;
	}
	/* this tick's counts, for the next one (sorted by id already) */
	seen = realloc(e->prev, e->n * sizeof(*seen));
	if (seen) {
		for (size_t i = 0; i < e->n; i++)
			seen[i] = (struct evict_seen){ e->cand[i].id, e->cand[i].faults };
		e->prev = seen;
		e->nr_prev = e->n;
	}
	if (present <= vma_evict_high(max))
		return 0;
	if (nbusy && (b = malloc(nbusy * sizeof(*b)))) {
		memcpy(b, busy, nbusy * sizeof(*b));
		sort_n(b, nbusy, sizeof(*b), cmp_u64);
	}
	n = 0;
	for (size_t i = 0; i < e->n; i++)
		if (!b || !bsearch(&e->cand[i].id, b, nbusy, sizeof(*b), cmp_u64))
			e->cand[n++] = e->cand[i];
	free(b);
	if (nbusy && !b)	/* no memory to tell the cached rows: evict none this tick */
		n = 0;
	e->n = n;
	sort_n(e->cand, e->n, sizeof(*e->cand), cmp_victim);
	n = present - vma_evict_low(max);
	return n < e->n ? n : e->n;
}

void vma_evict_end(struct vma_evict *e, size_t rows, size_t max)
{
	/* 48 bytes a row: not held between ticks (the agent's mmap threshold gives it back) */
	free(e->cand);
	e->cand = NULL;
	e->n = e->cap = 0;
	e->rows_last = rows;
	e->max_last = max;
}

void vma_evict_free(struct vma_evict *e)
{
	free(e->cand);
	free(e->prev);
	memset(e, 0, sizeof(*e));
}
