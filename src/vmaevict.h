/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which rows of the VMA table the agent deletes to make room (src/agent.c). The table is
 * allocated on demand, like every other command's: an LRU table is preallocated in full at
 * BPF_MAP_CREATE (65,536 rows x 320 bytes zeroed and linked, ~30-50 ms of the agent's start
 * and 25 MiB of kernel memory from the first second), so the agent evicts instead, once a
 * tick: when the table holds more than 7/8 of its rows, it deletes rows down to 3/4, choosing
 * among the rows that only count faults (no pfn row, bad pte, pin or exited address space:
 * vma_matters()), first those whose count did not move since the last tick, oldest first,
 * never one a CPU's VMA cache holds (its pending faults would be lost with it). Between two
 * ticks a quarter of the table takes new rows; past that, an insert fails and is counted
 * (vma_map_full drops).
 */
#ifndef PFNSCOPE_VMAEVICT_H
#define PFNSCOPE_VMAEVICT_H

#include <stdbool.h>
#include <stddef.h>
#include "vma.h"

struct evict_row {
	struct vma_key key;
	__u64 id;
	__u64 faults;
	bool idle;		/* same count as at the last tick */
};

struct evict_seen {
	__u64 id, faults;
};

struct vma_evict {
	bool collecting;		/* this tick's walk records its candidates */
	struct evict_row *cand;		/* candidates; vma_evict_pick() orders victims first */
	size_t n, cap;
	struct evict_seen *prev;	/* the last tick's candidates' counts, by id */
	size_t nr_prev;
	size_t rows_last;		/* rows the table held after the last tick */
	size_t max_last;		/* and its capacity (0: no tick yet) */
};

/* Rows at which eviction starts, and down to which it deletes, for a table of @max rows. */
static inline size_t vma_evict_high(size_t max)
{
	return max - max / 8;
}

static inline size_t vma_evict_low(size_t max)
{
	return max - max / 4;
}

/* Before a tick's walk: candidates are recorded once the last tick left the table at least
 * half full (so that the tick that evicts knows which rows were idle). */
void vma_evict_begin(struct vma_evict *e);
/* A row of the walk that only counts faults (called by the walk's filter). */
void vma_evict_add(struct vma_evict *e, const struct vma_key *k, const struct vma_val *v);
/*
 * After the walk, with @present rows in the table: orders the candidates victims first
 * (idle ones, then by id), skipping the ids in @busy (@nbusy, any order), and returns how many
 * of e->cand to delete (0 below the high mark). The candidates' counts are kept for the next
 * tick's idle test.
 */
size_t vma_evict_pick(struct vma_evict *e, size_t present, size_t max, const __u64 *busy,
		      size_t nbusy);
/* After the deletions: what the table of @max rows holds now, for the next tick. */
void vma_evict_end(struct vma_evict *e, size_t rows, size_t max);
void vma_evict_free(struct vma_evict *e);

#endif /* PFNSCOPE_VMAEVICT_H */
