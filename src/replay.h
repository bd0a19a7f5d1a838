/* SPDX-License-Identifier: GPL-2.0 */
/* A recording read back: its blocks into a struct replay, then into the struct report every
 * output renders (pfnscope report; fuzzed by tests/fuzz/fuzz_recording.c). */
#ifndef PFNSCOPE_REPLAY_H
#define PFNSCOPE_REPLAY_H

#include <json-c/json.h>
#include "recording.h"
#include "recmeta.h"
#include "report.h"

/* Everything read from the recording. */
struct replay {
	struct rec_meta meta;
	bool have_meta;
	char *syms;			/* kallsyms lines of every REC_SYMS block */
	size_t syms_len;
	struct state last;		/* the last snapshot */
	bool have_snapshot;
	struct trace_rec *ev;		/* every event, in order */
	size_t nr_ev;
	json_object *end;		/* the trailer, NULL if the recording was cut short */
	struct report timeline;		/* samples only */
	unsigned int blocks;
	struct ksyms *ks;		/* from the SYMS blocks (replay_build) */
	struct iomem *io;		/* from the header */
};

/* Reads every whole block of @rd; where it stops early, rd->damage says why. */
void replay_read(struct replay *rp, struct rec_reader *rd);
/* Builds @rep (tables, pins, timeline; not the findings) from what was read. 0 or -errno. */
int replay_build(struct replay *rp, struct report *rep);
/* A number of the END block, @dflt if absent. */
double replay_end_double(const struct replay *rp, const char *key, double dflt);
void replay_free(struct replay *rp);

#endif /* PFNSCOPE_REPLAY_H */
