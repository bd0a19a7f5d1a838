/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The raw in-kernel state: every aggregate map read into plain tables of (key, value) rows.
 * check builds its report from one; record writes them to a recording as snapshots and report
 * builds the same report from the recording; the agent reads one per scrape.
 */
#ifndef PFNSCOPE_STATE_H
#define PFNSCOPE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

enum state_table_id {
	ST_VMAS,	/* struct vma_key -> struct vma_val */
	ST_PROCS,	/* __u32 tgid -> struct proc_val */
	ST_PFNS,	/* struct pfn_key -> struct pfn_val */
	ST_MMS,		/* __u64 cookie -> struct mm_val */
	ST_RSS,		/* __u32 mm id -> struct rss_mm_val */
	ST_PINS,	/* __u64 pfn -> struct pin_val */
	ST_PIN_CALLERS,	/* struct pin_caller_key -> struct pin_caller_val */
	ST_PIN_SITES,	/* struct pin_site_key -> struct pin_site_val */
	ST_PIN_STACKS,	/* __s32 stack id -> __u64[32]: only the stacks of ST_PIN_CALLERS */
	ST_DROPS,	/* __u32 reason -> __u64, summed over CPUs */
	ST_PIN_TOTALS,	/* __u32 enum pin_total -> __u64, summed over CPUs */
	ST_COUNTERS,	/* __u32 enum counter -> __u64, summed over CPUs */
	ST__MAX,
};

#define ST_MASK_ALL ((1u << ST__MAX) - 1)
#define ST_MASK_TIMELINE ((1u << ST_VMAS) | (1u << ST_MMS) | (1u << ST_RSS) | (1u << ST_PINS))

struct state_table {
	bool present;		/* the map existed (its hooks were loaded) */
	__u32 ksz, vsz;
	size_t n, cap;
	char *rows;		/* n rows of st_stride() bytes */
	size_t seen;		/* rows the map held: n, or more if a filter dropped some */
	__u32 max_entries;	/* capacity of the map it came from */
};

struct state {
	__u64 t_ns;		/* CLOCK_MONOTONIC when read */
	struct state_table t[ST__MAX];
};

/* Map fds per table, -1 where absent; vma_cache: the per-CPU cache of struct vma_cache whose
 * pending faults belong to the vmas and procs rows (include/vma.h). */
struct state_fds {
	int fd[ST__MAX];
	int vma_cache;
};

/* Rows are stored with key and value each padded to 8 bytes, so that both can be read in
 * place as the structs they are (a __u32 key would misalign its __u64 value otherwise). */
static inline size_t st_kpad(const struct state_table *t)
{
	return (t->ksz + 7) & ~(size_t)7;
}

static inline size_t st_stride(const struct state_table *t)
{
	return st_kpad(t) + ((t->vsz + 7) & ~(size_t)7);
}

static inline void *st_key(const struct state_table *t, size_t i)
{
	return t->rows + i * st_stride(t);
}

static inline void *st_val(const struct state_table *t, size_t i)
{
	return t->rows + i * st_stride(t) + st_kpad(t);
}

/* The table's map name (also its pin name under the agent's state directory). */
const char *state_table_name(int id);
/* Sum of a summed per-CPU table's entry @key (ST_DROPS, ST_PIN_TOTALS, ST_COUNTERS), 0 if absent. */
__u64 state_sum(const struct state *s, int id, __u32 key);
/* The per-CPU VMA caches (@fd, struct vma_cache), one per possible CPU, each read at once:
 * *@n of them, malloc'ed; NULL (errno set) if there are none or they cannot be read (EPROTO:
 * another build's layout). */
struct vma_cache *state_vma_caches(int fd, int *n);
/* Adds the faults still pending in the per-CPU VMA caches (@fd, struct vma_cache) to the rows
 * of the tables in @mask (ST_VMAS, ST_PROCS) read before it, and their hits to CNT_FAULTS
 * where @mask has ST_COUNTERS. 0 or -errno. */
int state_add_pending(struct state *s, int fd, unsigned int mask);
/* Reads the tables in @mask from @fds into @s (emptied first), pending faults included. 0 or
 * -errno. */
int state_read(struct state *s, const struct state_fds *fds, unsigned int mask);
/* Reads table @id from @fd keeping only the rows @keep accepts (the agent keeps the VMA rows
 * that matter instead of all of them); t->seen counts every row. 0 or -errno. */
/* Rows a hash map's read asks the kernel for at a time (it grows where a bucket needs it). */
extern __u32 state_batch_rows;
int state_read_filtered(struct state *s, int id, int fd,
			bool (*keep)(void *ctx, const void *key, const void *val), void *ctx);
/* True if a table @id of these key and value sizes is what this build reads (a recording of
 * another layout is refused rather than misread). */
bool state_table_fits(int id, __u32 ksz, __u32 vsz);
/* Appends a row; 0 or -ENOMEM. */
int state_add(struct state_table *t, const void *key, const void *val);
/* Keeps one row per identity (@len bytes at @off of each row; with @skip_zero, all-zero ones
 * are no identity), the last read, in the order read; returns how many went (state.c). */
size_t state_dedupe(struct state_table *t, size_t off, size_t len, bool skip_zero);
void state_free(struct state *s);

/*
 * Copies every row of @t into the array *@arr of @elem-byte structs, the key at @koff and the
 * value at @voff. A row whose key size differs from @ksz is refused (-EINVAL); a value shorter
 * or longer than @vsz (a recording of another version) is truncated or zero-filled.
 */
int state_rows(const struct state_table *t, size_t ksz, size_t vsz, void **arr, size_t *n,
	       size_t elem, size_t koff, size_t voff);

#define STATE_ROWS(t, arr, n, type, kfield, vfield)                                      \
	state_rows(t, sizeof(((type *)0)->kfield), sizeof(((type *)0)->vfield), (void **)&(arr), \
		   &(n), sizeof(type), offsetof(type, kfield), offsetof(type, vfield))

#endif /* PFNSCOPE_STATE_H */
