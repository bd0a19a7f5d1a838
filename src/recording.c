// SPDX-License-Identifier: GPL-2.0
/* Writer and reader of recordings (src/recording.h, docs/recording.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include "pfnscope.h"
#include "recording.h"
#include "options.h"
#include "ksyms.h"
#include "vma.h"
#include "gup.h"

#define REC_EVENTS_PER_BLOCK 16384

/*
 * Blocks are written as they fill, so that a crash leaves every whole block readable. A new
 * or plain file is made aside and renamed over @path once the recording is under way
 * (rec_publish()): a recording that fails to start (a command that cannot run, a failed
 * attach) leaves whatever @path held, where truncating it at once lost an earlier recording.
 * Anything else (a
 * symbolic link such as /dev/stdout, which a rename would replace, a device, a FIFO) is
 * opened as it is, truncated and made 0600 only if it is a plain file, and never unlinked:
 * the fchmod() of whatever O_TRUNC had opened made /dev/null 0600 for `-o /dev/null`.
 */
int rec_create(struct rec_writer *w, const char *path)
{
	char hdr[16] = REC_MAGIC;
	__u32 version = REC_VERSION;
	int fd;

	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->in_place = path_in_place(path);
	fd = w->in_place ? open_in_place(path) : open_aside(path, w->tmp, sizeof(w->tmp));
	if (fd < 0)
		return -errno;
	if (!(w->f = fdopen(fd, "w"))) {
		int err = -errno;

		close(fd);
		if (w->tmp[0])
			unlink(w->tmp);
		w->tmp[0] = '\0';
		return err;
	}
	memcpy(hdr + 12, &version, sizeof(version));
	if (fwrite(hdr, sizeof(hdr), 1, w->f) != 1)
		w->err = -errno;
	w->file_bytes = sizeof(hdr);
	return w->err;
}

int rec_write_block(struct rec_writer *w, __u32 type, const void *data, size_t len)
{
	struct rec_block_hdr h = { .magic = REC_BLOCK_MAGIC, .type = type };
	uLongf clen = compressBound(len);
	Bytef *buf;

	if (w->err)
		return w->err;
	if (len > REC_MAX_PAYLOAD)
		return w->err = -E2BIG;
	buf = malloc(clen);
	if (!buf)
		return w->err = -ENOMEM;
	if (compress2(buf, &clen, data, len, Z_BEST_SPEED) != Z_OK) {
		free(buf);
		return w->err = -EIO;
	}
	h.raw_len = len;
	h.comp_len = clen;
	h.crc = crc32(0, buf, clen);
	h.hdr_crc = crc32(0, (const Bytef *)&h, offsetof(struct rec_block_hdr, hdr_crc));
	if (fwrite(&h, sizeof(h), 1, w->f) != 1 || fwrite(buf, 1, clen, w->f) != clen ||
	    fflush(w->f))
		w->err = -(errno ? errno : EIO);
	free(buf);
	w->blocks++;
	w->raw_bytes += len;
	w->file_bytes += sizeof(h) + clen;
	return w->err;
}

int rec_flush_events(struct rec_writer *w)
{
	size_t len = sizeof(__u32) + w->nr_ev * sizeof(*w->ev);
	__u32 recsz = sizeof(*w->ev);
	char *buf;
	int err;

	if (!w->nr_ev)
		return 0;
	buf = malloc(len);
	if (!buf)
		return w->err = -ENOMEM;
	memcpy(buf, &recsz, sizeof(recsz));
	memcpy(buf + sizeof(recsz), w->ev, w->nr_ev * sizeof(*w->ev));
	err = rec_write_block(w, REC_EVENTS, buf, len);
	free(buf);
	w->nr_ev = 0;
	return err;
}

int rec_add_event(struct rec_writer *w, const struct trace_rec *e)
{
	if (!w->ev) {
		w->ev = malloc(REC_EVENTS_PER_BLOCK * sizeof(*w->ev));
		if (!w->ev)
			return w->err = -ENOMEM;
	}
	w->ev[w->nr_ev++] = *e;
	w->events++;
	return w->nr_ev == REC_EVENTS_PER_BLOCK ? rec_flush_events(w) : 0;
}

static bool sym_written(struct rec_writer *w, unsigned long addr)
{
	for (size_t i = 0; i < w->nr_syms; i++)
		if (w->syms[i] == addr)
			return true;
	if (w->nr_syms == w->cap_syms) {
		size_t cap = w->cap_syms ? w->cap_syms * 2 : 64;
		unsigned long *n = realloc(w->syms, cap * sizeof(*n));

		if (!n)
			return true;
		w->syms = n;
		w->cap_syms = cap;
	}
	w->syms[w->nr_syms++] = addr;
	return false;
}

/* One kallsyms line for the symbol containing @addr, if known and not written yet. */
static void add_sym(struct rec_writer *w, struct ksyms *ks, unsigned long addr,
		    enum ksym_kind kind, char **buf, size_t *len, size_t *cap)
{
	const struct ksym *s;
	char line[512];
	int n;

	if (!addr || !ks)
		return;
	s = ksyms_find(ks, addr, kind, kind == KSYM_TEXT ? 0x10000 : 0x1000);
	if (!s || sym_written(w, s->addr))
		return;
	n = snprintf(line, sizeof(line), "%lx %c %s%s%s%s\n", s->addr, s->type, s->name,
		     s->module ? "\t[" : "", s->module ? s->module : "", s->module ? "]" : "");
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if (*len + n > *cap) {
		size_t nc = *cap ? *cap * 2 : 4096;
		char *nb;

		while (nc < *len + n)
			nc *= 2;
		nb = realloc(*buf, nc);
		if (!nb)
			return;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, line, n);
	*len += n;
}

int rec_publish(struct rec_writer *w)
{
	if (!w->tmp[0])
		return 0;
	if (rename(w->tmp, w->path))
		return w->err = -errno;
	w->tmp[0] = '\0';
	return 0;
}

int rec_write_snapshot(struct rec_writer *w, const struct state *st, struct ksyms *ks)
{
	const struct state_table *vt = &st->t[ST_VMAS], *ct = &st->t[ST_PIN_STACKS];
	size_t len = 0, cap = 0;
	char *syms = NULL;
	void *snap;
	int err;

	/* the symbols a report needs: each VMA's vm_ops, handlers, and the pin stacks */
	for (size_t i = 0; i < vt->n && vt->vsz >= sizeof(struct vma_val); i++) {
		const struct vma_val *v = st_val(vt, i);

		add_sym(w, ks, v->vm_ops, KSYM_DATA, &syms, &len, &cap);
		add_sym(w, ks, v->fault_fn, KSYM_TEXT, &syms, &len, &cap);
		add_sym(w, ks, v->mmap_fn, KSYM_TEXT, &syms, &len, &cap);
	}
	for (size_t i = 0; i < ct->n; i++) {
		const __u64 *ips = st_val(ct, i);

		for (size_t k = 0; k < ct->vsz / sizeof(__u64) && ips[k]; k++)
			add_sym(w, ks, ips[k], KSYM_TEXT, &syms, &len, &cap);
	}
	if (len)
		rec_write_block(w, REC_SYMS, syms, len);
	free(syms);
	err = rec_encode_state(st, &snap, &len);
	if (err)
		return w->err = err;
	err = rec_write_block(w, REC_SNAPSHOT, snap, len);
	free(snap);
	return err;
}

int rec_close(struct rec_writer *w, bool discard)
{
	bool made = w->f && !w->in_place;
	int err;

	if (!discard) {
		rec_flush_events(w);
		if (w->f)
			rec_publish(w);
	}
	err = w->err;
	if (w->f && fclose(w->f) && !err)
		err = -errno;
	if (w->tmp[0])
		unlink(w->tmp);		/* discarded before it was ever renamed */
	else if (discard && made)
		unlink(w->path);
	w->tmp[0] = '\0';
	free(w->ev);
	free(w->syms);
	w->f = NULL;
	w->ev = NULL;
	w->syms = NULL;
	return err;
}

/* ----- snapshot payload: __u64 t_ns, __u32 tables, then per table a header and its rows */

struct rec_table_hdr {
	__u32 id, ksz, vsz, max_entries;
	__u64 n;
};

int rec_encode_state(const struct state *st, void **out, size_t *len)
{
	size_t total = sizeof(__u64) + sizeof(__u32), off = 0;
	__u32 count = 0;
	char *buf;

	for (int i = 0; i < ST__MAX; i++)
		if (st->t[i].present) {
			total += sizeof(struct rec_table_hdr) +
				 st->t[i].n * (st->t[i].ksz + st->t[i].vsz);
			count++;
		}
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &st->t_ns, sizeof(st->t_ns));
	off = sizeof(st->t_ns);
	memcpy(buf + off, &count, sizeof(count));
	off += sizeof(count);
	for (int i = 0; i < ST__MAX; i++) {
		const struct state_table *t = &st->t[i];
		struct rec_table_hdr th = { i, t->ksz, t->vsz, t->max_entries, t->n };

		if (!t->present)
			continue;
		memcpy(buf + off, &th, sizeof(th));
		off += sizeof(th);
		/* on disk the rows are packed: key, value, key, value... */
		for (size_t r = 0; r < t->n; r++) {
			memcpy(buf + off, st_key(t, r), t->ksz);
			memcpy(buf + off + t->ksz, st_val(t, r), t->vsz);
			off += t->ksz + t->vsz;
		}
	}
	*out = buf;
	*len = total;
	return 0;
}

int rec_decode_state(const void *data, size_t len, struct state *st)
{
	const char *p = data;
	size_t off = sizeof(__u64) + sizeof(__u32);
	__u32 count;

	memset(st, 0, sizeof(*st));
	if (len < off)
		return -EINVAL;
	memcpy(&st->t_ns, p, sizeof(st->t_ns));
	memcpy(&count, p + sizeof(__u64), sizeof(count));
	for (__u32 c = 0; c < count; c++) {
		struct rec_table_hdr th;
		struct state_table *t;
		size_t row;

		if (len - off < sizeof(th))
			goto bad;
		memcpy(&th, p + off, sizeof(th));
		off += sizeof(th);
		/* a table of this id once, of the layout this build reads, its rows in the payload */
		if (th.id >= ST__MAX || st->t[th.id].present ||
		    !state_table_fits(th.id, th.ksz, th.vsz))
			goto bad;
		row = (size_t)th.ksz + th.vsz;
		if (th.n > (len - off) / row)
			goto bad;
		t = &st->t[th.id];
		t->present = true;
		t->ksz = th.ksz;
		t->vsz = th.vsz;
		t->max_entries = th.max_entries;
		for (__u64 r = 0; r < th.n; r++) {
			if (state_add(t, p + off, p + off + th.ksz)) {
				state_free(st);
				return -ENOMEM;
			}
			off += row;
		}
		t->seen = t->n;
	}
	return 0;
bad:
	state_free(st);
	return -EINVAL;
}

/* ----- reader ----- */

int rec_open(struct rec_reader *r, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");

	memset(r, 0, sizeof(*r));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return rec_open_file(r, f, path, err, errlen);
}

int rec_open_file(struct rec_reader *r, FILE *f, const char *path, char *err, size_t errlen)
{
	char hdr[16];
	__u32 version;

	memset(r, 0, sizeof(*r));
	r->f = f;
	if (fread(hdr, sizeof(hdr), 1, r->f) != 1 || memcmp(hdr, REC_MAGIC, 12)) {
		snprintf(err, errlen, "%s: not a pfnscope recording (no %s header)", path, REC_MAGIC);
		rec_close_reader(r);
		return -EINVAL;
	}
	memcpy(&version, hdr + 12, sizeof(version));
	if (version != REC_VERSION) {
		snprintf(err, errlen, "%s: recording format version %u, this pfnscope reads %u",
			 path, version, REC_VERSION);
		rec_close_reader(r);
		return -EINVAL;
	}
	r->off = sizeof(hdr);
	return 0;
}

static int damaged(struct rec_reader *r, const char *why)
{
	snprintf(r->damage, sizeof(r->damage), "block %u at byte %llu: %s", r->block,
		 (unsigned long long)r->off, why);
	return -1;
}

int rec_next(struct rec_reader *r, __u32 *type, void **data, size_t *len)
{
	struct rec_block_hdr h;
	unsigned char *comp;
	uLongf raw;
	size_t got;
	void *out;

	*data = NULL;
	got = fread(&h, 1, sizeof(h), r->f);
	if (got == 0 && feof(r->f))
		return 0;
	if (got != sizeof(h))
		return damaged(r, "truncated block header");
	if (memcmp(h.magic, REC_BLOCK_MAGIC, 4) ||
	    h.hdr_crc != crc32(0, (const Bytef *)&h, offsetof(struct rec_block_hdr, hdr_crc)))
		return damaged(r, "bad block header (magic or checksum)");
	if (h.type == 0 || h.type >= REC__MAX || h.raw_len > REC_MAX_PAYLOAD ||
	    h.comp_len > REC_MAX_PAYLOAD)
		return damaged(r, "block type or length out of range");
	comp = malloc(h.comp_len ? h.comp_len : 1);
	out = malloc(h.raw_len ? h.raw_len : 1);
	if (!comp || !out) {
		free(comp);
		free(out);
		return damaged(r, "out of memory");
	}
	if (fread(comp, 1, h.comp_len, r->f) != h.comp_len) {
		free(comp);
		free(out);
		return damaged(r, "truncated block payload");
	}
	raw = h.raw_len;
	if (crc32(0, comp, h.comp_len) != h.crc ||
	    uncompress(out, &raw, comp, h.comp_len) != Z_OK || raw != h.raw_len) {
		free(comp);
		free(out);
		return damaged(r, "payload checksum or decompression failed");
	}
	free(comp);
	r->off += sizeof(h) + h.comp_len;
	r->block++;
	*type = h.type;
	*data = out;
	*len = raw;
	return 1;
}

void rec_close_reader(struct rec_reader *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
}
