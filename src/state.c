// SPDX-License-Identifier: GPL-2.0
/* Reading the aggregate maps into plain tables (src/state.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "state.h"
#include "vma.h"
#include "pfn.h"
#include "gup.h"

const char *state_table_name(int id)
{
	static const char *const names[ST__MAX] = {
		[ST_VMAS] = "vmas", [ST_PROCS] = "procs", [ST_PFNS] = "pfn_hits",
		[ST_MMS] = "mms", [ST_RSS] = "rss_mm", [ST_PINS] = "pins",
		[ST_PIN_CALLERS] = "pin_callers", [ST_PIN_SITES] = "pin_sites",
		[ST_PIN_STACKS] = "pin_stacks", [ST_DROPS] = "drops",
		[ST_PIN_TOTALS] = "pin_totals", [ST_COUNTERS] = "counters",
	};
	return id >= 0 && id < ST__MAX ? names[id] : "?";
}

bool state_table_fits(int id, __u32 ksz, __u32 vsz)
{
	static const struct { __u32 ksz, vsz; } sizes[ST__MAX] = {
		[ST_VMAS] = { sizeof(struct vma_key), sizeof(struct vma_val) },
		[ST_PROCS] = { sizeof(__u32), sizeof(struct proc_val) },
		[ST_PFNS] = { sizeof(struct pfn_key), sizeof(struct pfn_val) },
		[ST_MMS] = { sizeof(__u64), sizeof(struct mm_val) },
		[ST_RSS] = { sizeof(__u32), sizeof(struct rss_mm_val) },
		[ST_PINS] = { sizeof(__u64), sizeof(struct pin_val) },
		[ST_PIN_CALLERS] = { sizeof(struct pin_caller_key), sizeof(struct pin_caller_val) },
		[ST_PIN_SITES] = { sizeof(struct pin_site_key), sizeof(struct pin_site_val) },
		[ST_PIN_STACKS] = { sizeof(__s32), 32 * sizeof(__u64) },
		[ST_DROPS] = { sizeof(__u32), sizeof(__u64) },
		[ST_PIN_TOTALS] = { sizeof(__u32), sizeof(__u64) },
		[ST_COUNTERS] = { sizeof(__u32), sizeof(__u64) },
	};

	return id >= 0 && id < ST__MAX && sizes[id].ksz == ksz && sizes[id].vsz == vsz;
}

int state_add(struct state_table *t, const void *key, const void *val)
{
	size_t row = st_stride(t);

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		char *r = realloc(t->rows, ncap * row);

		if (!r)
			return -ENOMEM;
		t->rows = r;
		t->cap = ncap;
	}
	memset(t->rows + t->n * row, 0, row);
	memcpy(t->rows + t->n * row, key, t->ksz);
	memcpy(t->rows + t->n * row + st_kpad(t), val, t->vsz);
	t->n++;
	return 0;
}

struct ident_ctx {
	const char *rows;
	size_t stride, off, len;
};

static int cmp_ident(const void *a, const void *b, void *arg)
{
	const struct ident_ctx *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int d = memcmp(c->rows + x * c->stride + c->off, c->rows + y * c->stride + c->off, c->len);

	return d ? d : x < y ? -1 : x > y;
}

static bool all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * A hash map walked with bpf_map_get_next_key() while BPF programs change it can give a row
 * twice. When the key last returned is deleted before the next call, the kernel starts over
 * at the first bucket (htab_map_get_next_key(): a key not found goes to find_first_elem), so
 * every row read so far comes again; and a row moved to a new key during the walk (a VMA row
 * retired at vm_area_free, an mm's at exit_mmap: bpf/vma.bpf.h) is read under both. The lab's
 * agent, reading while busybox processes exited, double-counted a VMA's RSS that way and
 * reported RSS_IMBALANCE for an address space that was balanced. One row per identity is kept:
 * the last read, the newest.
 */
size_t state_dedupe(struct state_table *t, size_t off, size_t len, bool skip_zero)
{
	struct ident_ctx c = { t->rows, st_stride(t), off, len };
	size_t n = t->n, kept = 0, *idx;
	bool *drop;

	if (n < 2 || off + len > c.stride)
		return 0;
	idx = malloc(n * sizeof(*idx));
	drop = calloc(n, sizeof(*drop));
	if (!idx || !drop) {	/* duplicates stay: a tick's figures, not a failed read */
		free(idx);
		free(drop);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_ident, &c);
	for (size_t i = 0; i + 1 < n; i++) {	/* equal identities sorted by when read */
		const char *x = t->rows + idx[i] * c.stride + off;

		if (!memcmp(x, t->rows + idx[i + 1] * c.stride + off, len) &&
		    !(skip_zero && all_zero(x, len)))
			drop[idx[i]] = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (drop[i])
			continue;
		if (kept != i)
			memcpy(t->rows + kept * c.stride, t->rows + i * c.stride, c.stride);
		kept++;
	}
	t->n = kept;
	t->seen -= t->seen < n - kept ? t->seen : n - kept;
	free(idx);
	free(drop);
	return n - kept;
}

/* The rows of a hash map read once each: VMA and mm rows by their unique id (the first field
 * of vma_val and mm_val, kept by a retired row under its new key: the same key is the same
 * id), every other table by key. One sort of the table per read. */
static void read_once(struct state_table *t, int id)
{
	if (id == ST_VMAS || id == ST_MMS)
		state_dedupe(t, st_kpad(t), sizeof(__u64), true);
	else
		state_dedupe(t, 0, t->ksz, false);
}

typedef bool (*keep_fn)(void *ctx, const void *key, const void *val);

/* Key by key: two system calls a row. For kernels or maps without batch lookups. */
static int read_hash_keys(struct state_table *t, int fd, keep_fn keep, void *ctx)
{
	char key[256], next[256], *val;
	void *prev = NULL;
	int err = 0;

	if (t->ksz > sizeof(key))
		return -EINVAL;
	val = malloc(t->vsz);
	if (!val)
		return -ENOMEM;
	while (!err && bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, t->ksz);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue;
		t->seen++;
		if (!keep || keep(ctx, key, val))
			err = state_add(t, key, val);
	}
	free(val);
	return err;
}

__u32 state_batch_rows = 1024;

#define ENOTSUPP_KERNEL 524	/* the kernel's ENOTSUPP: a map type without batch operations */

/*
 * Every (key, value) of a hash map that @keep accepts (all if NULL), state_batch_rows at a time
 * (bpf_map_lookup_batch(): the kernel copies whole buckets, each under its lock, and hands back
 * where to go on). 120,000 VMA rows were 240,000 system calls key by key. A bucket is never
 * walked twice, unlike a key walk that the kernel restarts when the key it stood on was
 * deleted; a row moved to a new key meanwhile can still come twice (state_dedupe()). A bucket
 * larger than the room left answers -ENOSPC: the room doubles and the same bucket is asked for
 * again. Where batches are not supported the keys are walked.
 */
static int read_hash(struct state_table *t, int fd, keep_fn keep, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 room = state_batch_rows ? state_batch_rows : 1;
	/* the cursor: a hash's is a bucket number (__u32), the generic one a key */
	char in[256] = {}, out[256] = {};
	char *keys = NULL, *vals = NULL;
	bool first = true;
	int err = 0;

	if (t->ksz > sizeof(in))
		return -EINVAL;
	for (;;) {
		__u32 count = room;
		char *k = realloc(keys, (size_t)room * t->ksz), *v;

		if (!k) {
			err = -ENOMEM;
			break;
		}
		keys = k;
		v = realloc(vals, (size_t)room * t->vsz);
		if (!v) {
			err = -ENOMEM;
			break;
		}
		vals = v;
		err = bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, vals, &count, &opts);
		if (err && err != -ENOENT) {
			/* a bucket larger than room (it cannot be larger than the map) */
			if (err == -ENOSPC && room < t->max_entries) {
				room = room * 2 < t->max_entries ? room * 2 : t->max_entries;
				err = 0;
				continue;
			}
			if (first && (err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP_KERNEL)) {
				free(keys);
				free(vals);
				return read_hash_keys(t, fd, keep, ctx);
			}
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			const char *key = keys + (size_t)i * t->ksz, *val = vals + (size_t)i * t->vsz;
			int e;

			t->seen++;
			if (keep && !keep(ctx, key, val))
				continue;
			e = state_add(t, key, val);
			if (e) {
				err = e;
				break;
			}
		}
		if (err)	/* -ENOENT: the last batch; or state_add() failed */
			break;
		memcpy(in, out, sizeof(in));
		first = false;
	}
	free(keys);
	free(vals);
	return err == -ENOENT ? 0 : err;
}

static int table_info(struct state_table *t, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	t->present = true;
	t->ksz = info.key_size;
	t->vsz = info.value_size;
	t->max_entries = info.max_entries;
	return 0;
}

int state_read_filtered(struct state *s, int id, int fd,
			bool (*keep)(void *ctx, const void *key, const void *val), void *ctx)
{
	struct state_table *t = &s->t[id];
	int err;

	free(t->rows);
	memset(t, 0, sizeof(*t));
	if (fd < 0)
		return 0;
	err = table_info(t, fd) ?: read_hash(t, fd, keep, ctx);
	if (!err)
		read_once(t, id);
	return err;
}

/* A per-CPU array of __u64, summed over the CPUs. */
static int read_percpu_sum(struct state_table *t, int fd, __u32 entries)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	__u64 *vals;

	if (ncpu <= 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	t->vsz = sizeof(__u64);
	for (__u32 k = 0; k < entries && !err; k++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		err = state_add(t, &k, &sum);
	}
	free(vals);
	return err;
}

/* The stacks the callers refer to, not the whole stack map. */
static int read_stacks(struct state_table *t, int fd, const struct state_table *callers)
{
	__u64 ips[32];
	int err = 0;

	if (t->vsz != sizeof(ips))
		return -EINVAL;
	for (size_t i = 0; i < callers->n && !err; i++) {
		__s32 id = ((const __s32 *)st_key(callers, i))[1];	/* pin_caller_key.stack_id */
		bool have = false;

		if (id < 0)
			continue;
		for (size_t j = 0; j < t->n && !have; j++)
			have = *(__s32 *)st_key(t, j) == id;
		if (have || bpf_map_lookup_elem(fd, &id, ips))
			continue;
		err = state_add(t, &id, ips);
	}
	return err;
}

int state_read(struct state *s, const struct state_fds *fds, unsigned int mask)
{
	struct timespec ts;
	int err = 0;

	state_free(s);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->t_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	/* the counters first: a row inserted while the tables are read then shows as present,
	 * never as inserted-but-missing (an eviction that did not happen) */
	for (int i = 0; i < ST__MAX && !err; i++) {
		int id = i == 0 ? ST_COUNTERS : i == ST_COUNTERS ? 0 : i;
		struct state_table *t = &s->t[id];
		int fd = fds->fd[id];

		if (!(mask & (1u << id)) || fd < 0)
			continue;
		err = table_info(t, fd);
		if (err)
			return err;
		if (id == ST_DROPS || id == ST_PIN_TOTALS || id == ST_COUNTERS)
			err = read_percpu_sum(t, fd, t->max_entries);
		else if (id == ST_PIN_STACKS)
			err = read_stacks(t, fd, &s->t[ST_PIN_CALLERS]);
		else if (!(err = read_hash(t, fd, NULL, NULL)))
			read_once(t, id);
		if (id != ST_VMAS && id != ST_PROCS && id != ST_PFNS && id != ST_MMS &&
		    id != ST_RSS && id != ST_PINS && id != ST_PIN_CALLERS && id != ST_PIN_SITES)
			t->seen = t->n;
	}
	/* after the rows: a flush in flight is then missed once, never counted twice */
	if (!err)
		err = state_add_pending(s, fds->vma_cache, mask);
	return err;
}

/* The value of @key in a summed per-CPU table (ST_DROPS, ST_PIN_TOTALS, ST_COUNTERS), or NULL */
static __u64 *sum_slot(const struct state_table *t, __u32 key)
{
	for (size_t i = 0; i < t->n && t->ksz == sizeof(__u32) && t->vsz == sizeof(__u64); i++)
		if (*(__u32 *)st_key(t, i) == key)
			return st_val(t, i);
	return NULL;
}

struct vma_cache *state_vma_caches(int fd, int *n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct vma_cache *c;

	*n = 0;
	if (fd < 0) {
		errno = ENOENT;
		return NULL;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return NULL;
	if (info.value_size != sizeof(*c) || !info.max_entries) {
		errno = EPROTO;	/* another build's layout */
		return NULL;
	}
	c = calloc(info.max_entries, sizeof(*c));
	if (!c)
		return NULL;
	/* an entry per CPU id (bpf/fault.bpf.c: vma_cache_here()) */
	for (__u32 i = 0; i < info.max_entries; i++)
		if (bpf_map_lookup_elem(fd, &i, &c[i])) {
			free(c);
			return NULL;
		}
	*n = info.max_entries;
	return c;
}

int state_add_pending(struct state *s, int fd, unsigned int mask)
{
	struct state_table *vt = &s->t[ST_VMAS], *pt = &s->t[ST_PROCS];
	/* the faults the hits counted: CNT_FAULTS has the others (include/vma.h) */
	__u64 *faults = mask & (1u << ST_COUNTERS) ? sum_slot(&s->t[ST_COUNTERS], CNT_FAULTS) : NULL;
	int ncpu;
	struct vma_cache *c = state_vma_caches(fd, &ncpu);

	if (!c)
		return fd < 0 || errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < ncpu; i++) {
		if (faults)
			*faults += c[i].hits;
		if (!c[i].pending)
			continue;
		for (size_t j = 0; (mask & (1u << ST_VMAS)) && vt->vsz == sizeof(struct vma_val) &&
				   j < vt->n; j++)
			if (!memcmp(st_key(vt, j), &c[i].key, sizeof(c[i].key))) {
				((struct vma_val *)st_val(vt, j))->faults += c[i].pending;
				break;
			}
		for (size_t j = 0; (mask & (1u << ST_PROCS)) && pt->vsz == sizeof(struct proc_val) &&
				   j < pt->n; j++)
			if (*(__u32 *)st_key(pt, j) == c[i].key.tgid) {
				((struct proc_val *)st_val(pt, j))->faults += c[i].pending;
				break;
			}
	}
	free(c);
	return 0;
}

__u64 state_sum(const struct state *s, int id, __u32 key)
{
	const __u64 *v = sum_slot(&s->t[id], key);

	return v ? *v : 0;
}

void state_free(struct state *s)
{
	for (int i = 0; i < ST__MAX; i++)
		free(s->t[i].rows);
	memset(s, 0, sizeof(*s));
}

int state_rows(const struct state_table *t, size_t ksz, size_t vsz, void **arr, size_t *n,
	       size_t elem, size_t koff, size_t voff)
{
	size_t cap = *n, copy = t->vsz < vsz ? t->vsz : vsz;

	if (!t->present || !t->n)
		return 0;
	if (t->ksz != ksz)
		return -EINVAL;
	for (size_t i = 0; i < t->n; i++) {
		char *row;

		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *a;

			while (ncap < *n + 1)
				ncap *= 2;
			a = realloc(*arr, ncap * elem);
			if (!a)
				return -ENOMEM;
			*arr = a;
			cap = ncap;
		}
		row = (char *)*arr + *n * elem;
		memset(row, 0, elem);
		memcpy(row + koff, st_key(t, i), ksz);
		memcpy(row + voff, st_val(t, i), copy);
		(*n)++;
	}
	return 0;
}
