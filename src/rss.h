/* SPDX-License-Identifier: GPL-2.0 */
/* Loader of bpf/rss.bpf.c: per-mm RSS from kmem:rss_stat. */
#ifndef PFNSCOPE_RSS_H
#define PFNSCOPE_RSS_H

#include <stddef.h>
#include "fault.h"

extern const unsigned int rss_hooks_mask;

struct rss_bpf;

struct rss_ctx {
	struct rss_bpf *skel;
	struct plan *plan;
	unsigned int mask;
};

struct zap_ctx;
/* Loads the rss object; it shares `rss_mm` with the zap object when that one is loaded (its
 * mm-exit program marks exited address spaces). */
int rss_start(struct rss_ctx *rc, struct fault_ctx *fc, struct zap_ctx *zc, struct plan *plan);
void rss_attach(struct rss_ctx *rc);
void rss_stop(struct rss_ctx *rc);
int rss_map_fd(const struct rss_ctx *rc);

/* The BPF object as built (the skeleton's copy), for the CO-RE cache (corebtf.c). */
const void *rss_obj_bytes(size_t *sz);

#endif /* PFNSCOPE_RSS_H */
