/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The recording format (docs/recording.md): a 16-byte file header, then blocks, each a 24-byte
 * block header (magic, type, raw and compressed lengths, CRC-32 of the payload, CRC-32 of the
 * header) and a zlib-compressed payload. Every block stands alone: a file cut short (a crash,
 * a full disk) reads up to the last whole block, and the reader says where it stopped.
 */
#ifndef PFNSCOPE_RECORDING_H
#define PFNSCOPE_RECORDING_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "trace.h"
#include "state.h"

#define REC_MAGIC "PFNSCOPE-REC"	/* 12 bytes, then a __u32 version */
#define REC_VERSION 2	/* 2: proc_val.mms_before */
#define REC_BLOCK_MAGIC "PFB1"
#define REC_MAX_PAYLOAD (256u << 20)	/* a reader refuses larger blocks */

enum rec_block_type {
	REC_HEADER = 1,		/* JSON: tool, kernel, command, plan, /proc/iomem text */
	REC_SYMS,		/* kallsyms-format lines of the symbols the next snapshots use */
	REC_SNAPSHOT,		/* a struct state: every aggregate table */
	REC_EVENTS,		/* __u32 record size, then struct trace_rec records */
	REC_END,		/* JSON: duration, lost events, the command's status */
	REC__MAX,
};

struct rec_block_hdr {
	char magic[4];
	__u32 type;
	__u32 raw_len;
	__u32 comp_len;
	__u32 crc;		/* zlib crc32 of the compressed payload */
	__u32 hdr_crc;		/* crc32 of the 20 bytes above */
};

struct ksyms;

struct rec_writer {
	FILE *f;
	char path[4096];
	char tmp[4096];		/* the file made aside until rec_publish(); "" once renamed */
	bool in_place;		/* @path is a device or a FIFO, written as it is */
	struct trace_rec *ev;	/* events waiting for their block */
	size_t nr_ev;
	__u64 events, blocks, raw_bytes, file_bytes;
	unsigned long *syms;	/* addresses whose symbol is already written */
	size_t nr_syms, cap_syms;
	int err;		/* first write error (-errno); later writes are skipped */
};

/* Writes the file header of a recording to be @path: a file made aside in its directory
 * (mode 0600) and renamed over @path by rec_publish(), or a device or FIFO @path written as
 * it is. 0 or -errno. */
int rec_create(struct rec_writer *w, const char *path);
/* The file made aside takes its name (once; also at rec_close() unless discarded): called
 * when the recording is under way, so that a crash from then on leaves it at @path. */
int rec_publish(struct rec_writer *w);
int rec_write_block(struct rec_writer *w, __u32 type, const void *data, size_t len);
/* Buffers one event; a block is written every REC_EVENTS_PER_BLOCK, and by
 * rec_flush_events() (record calls it before each snapshot). */
int rec_add_event(struct rec_writer *w, const struct trace_rec *e);
int rec_flush_events(struct rec_writer *w);
/* Writes the symbols @st refers to that are not written yet, then the snapshot. */
int rec_write_snapshot(struct rec_writer *w, const struct state *st, struct ksyms *ks);
/* Flushes and closes; on @discard removes the file. Returns the first error, or 0. */
int rec_close(struct rec_writer *w, bool discard);

struct rec_reader {
	FILE *f;
	__u64 off;		/* of the next block */
	unsigned int block;	/* index of the next block */
	char damage[256];	/* why reading stopped early, "" if it did not */
};

/* Opens @path and checks its header; on error puts a one-line reason in @err. */
int rec_open(struct rec_reader *r, const char *path, char *err, size_t errlen);
/* The same over an open stream (closed by rec_close_reader, also on error). */
int rec_open_file(struct rec_reader *r, FILE *f, const char *path, char *err, size_t errlen);
/* The next block: 1 with *@data (malloc'ed, *@len bytes, uncompressed) and *@type, 0 at the
 * clean end, -1 at damage (r->damage says what and where). */
int rec_next(struct rec_reader *r, __u32 *type, void **data, size_t *len);
void rec_close_reader(struct rec_reader *r);

/* Snapshot payload <-> struct state. */
int rec_encode_state(const struct state *st, void **out, size_t *len);
int rec_decode_state(const void *data, size_t len, struct state *st);

#endif /* PFNSCOPE_RECORDING_H */
