/* SPDX-License-Identifier: GPL-2.0 */
/* A recording's JSON header: what report needs to stand alone on another machine. */
#ifndef PFNSCOPE_RECMETA_H
#define PFNSCOPE_RECMETA_H

#include <json-c/json.h>
#include "planner.h"
#include "report.h"

struct rec_meta {
	char kernel[128];
	char what[512];		/* the target: a command line, "pid N", "every process" */
	time_t started;
	unsigned int interval_ms;
	unsigned int trace_mask;
	struct plan plan;
	char *iomem_text;	/* /proc/iomem as it read at the start (malloc'ed) */
};

/* The header of this run: kernel, target, plan, /proc/iomem. */
json_object *rec_meta_json(const struct plan *plan, const char *what, unsigned int interval_ms,
			   unsigned int trace_mask);
/* Parses a header block; -EINVAL on a malformed one. */
int rec_meta_parse(const char *text, size_t len, struct rec_meta *m);
void rec_meta_free(struct rec_meta *m);

#endif /* PFNSCOPE_RECMETA_H */
