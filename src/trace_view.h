/* SPDX-License-Identifier: GPL-2.0 */
/* Rendering of per-event records (include/trace.h) for trace, and their replay by report:
 * VMA rows looked up by id, pfns classified, rules applied as each event arrives. */
#ifndef PFNSCOPE_TRACE_VIEW_H
#define PFNSCOPE_TRACE_VIEW_H

#include <stdio.h>
#include "trace.h"
#include "report.h"
#include "state.h"

#define TRACE_COMM_SLOTS 1024

struct comm_slot {
	__u32 pid;
	__u64 read_ns;
	char comm[PFNSCOPE_COMM_LEN];
};

struct tv_chunk;

/* What a trace knows of a process beyond /proc (trace_view_index()) */
struct tv_proc {
	__u32 pid;
	__u64 mm;				/* its newest address space among the rows */
	char comm[PFNSCOPE_COMM_LEN];		/* a row's comm in that address space */
	char exit_comm[PFNSCOPE_COMM_LEN];	/* a replay's: the name it exited with */
};

struct trace_view {
	/* where VMA rows come from: a live session's maps, or a recording's snapshot */
	struct session *ses;
	struct ksyms *ks;
	const struct iomem *io;
	const struct policy *pol;
	FILE *out;
	bool json;
	const char *module;		/* -m: only events of this module's VMAs */
	unsigned int rule_mask;		/* --rule: only findings of these rules (0: everything) */
	unsigned int type_mask;		/* event types printed */
	__u64 t0_ns;			/* times are printed relative to it */
	/* VMA rows by id, named once each (trace_view_index()) */
	struct tv_chunk *chunks;
	struct vma_row **by_id;
	size_t nr_by_id;
	__u64 read_start_ns, read_end_ns;	/* the last re-read (CLOCK_MONOTONIC) */
	__u64 reads;				/* re-reads of the rows */
	/* records held until the next re-read, in order (trace_view_flush()) */
	struct trace_rec *held;
	size_t nr_held, cap_held;
	/* what was seen */
	__u64 events[TE__MAX];
	__u64 shown;
	__u64 findings[RULE__MAX];
	struct { __u64 vma_id; int rule; } *seen;
	size_t nr_seen, cap_seen;
	struct comm_slot comms[TRACE_COMM_SLOTS];
	/* by pid, open addressing */
	struct tv_proc *procs;
	size_t cap_procs, nr_procs;
};

/* Parses "fault,pfn,pin" into a type mask; -1 on an unknown name. */
int trace_parse_types(const char *list, unsigned int *mask);
const char *trace_type_name(int type);
/* Adds the VMA rows of @st (a live read or a recording snapshot) to the id index: new rows
 * named, known ones updated; the comms of exited processes from its process rows, where it
 * has them (a recording's snapshot). 0 or -ENOMEM. */
int trace_view_index(struct trace_view *tv, const struct state *st);
/* Handles one event: prints it (and any finding it makes) unless filtered, or holds it (and
 * what follows) until the VMA rows are read again. 0 or -errno (-EPIPE: output closed). */
int trace_view_event(struct trace_view *tv, const struct trace_rec *e);
/* Prints the held records once a re-read is due (@all: now). 0 or -errno. */
int trace_view_flush(struct trace_view *tv, bool all);
void trace_view_free(struct trace_view *tv);

#endif /* PFNSCOPE_TRACE_VIEW_H */
