/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's work each interval: read, evaluate, write new findings, fold and delete dead
 * rows into the ledger, and render /metrics (src/cmd_agent.c runs it; docs/agent.md). */
#ifndef PFNSCOPE_AGENT_H
#define PFNSCOPE_AGENT_H

#include <stdio.h>
#include "session.h"
#include "ledger.h"
#include "report.h"
#include "vmaevict.h"

#define AGENT_TOP_COMMS 10

/* RSS a live address space's deleted rows held (see fold_and_delete) */
struct mm_carry {
	__u64 mm_id;
	long long net[RSS_MEMBERS];
};

struct agent {
	struct session *ses;
	struct ledger ledger;
	const struct policy *pol;
	FILE *findings_out;		/* NDJSON, NULL for none */
	time_t started;
	__u64 ticks;
	__u64 findings_written;
	__u64 rows_deleted;		/* by the last tick */
	double tick_seconds;		/* how long the last tick took */
	unsigned long scrapes;		/* read by the HTTP thread */
	double self_cpu, self_rss, self_hwm;	/* at the start of the last tick */
	__u64 sites_evicted;		/* pin_sites: the exported eviction count */
	long long sites_evicted_last;	/* the last tick's computed count (evicted_update) */
	struct mm_carry *carry;		/* sorted by mm_id */
	size_t nr_carry, cap_carry;
	struct vma_evict evict;		/* rows deleted to make room (vmaevict.h) */
};

/* One interval's work; on success *@text is the new /metrics page (malloc'ed). */
int agent_tick(struct agent *a, char **text, size_t *len);
/* What the ticks keep between them, freed at the agent's stop. */
void agent_free(struct agent *a);

#endif /* PFNSCOPE_AGENT_H */
