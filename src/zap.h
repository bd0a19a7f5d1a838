/* SPDX-License-Identifier: GPL-2.0 */
/* Loader of bpf/zap.bpf.c: per-VMA RSS, teardown, bad ptes, mm exit. */
#ifndef PFNSCOPE_ZAP_H
#define PFNSCOPE_ZAP_H

#include <stddef.h>
#include "fault.h"

extern const unsigned int zap_hooks_mask;

struct zap_bpf;

struct zap_ctx {
	struct zap_bpf *skel;
	struct plan *plan;
	unsigned int mask;
	struct bpf_link *rss_link;	/* the rss-iter link, made on first use */
};

/* Loads the zap object sharing the maps of the loaded fault object @fc. A failure to load is
 * reported and leaves the zap hooks unattached (pfnscope runs without per-VMA RSS). */
int zap_start(struct zap_ctx *zc, struct fault_ctx *fc, struct plan *plan);
/* Writes @ka into the programs' globals and attaches (nothing if it did not load). */
void zap_attach(struct zap_ctx *zc, const struct kaddrs *ka);
void zap_stop(struct zap_ctx *zc);
/* One pass of rss-iter: the mm counters of every traced process now (*@out malloc'ed, @n
 * records). -ENOENT where the iterator is not loaded. */
int zap_rss_sample(struct zap_ctx *zc, struct rss_sample **out, size_t *n);
/* Pins the rss iterator's link at @path (bpffs): reading that file runs it (bpf_iter_fops), so
 * `pfnscope snapshot` gets each process's mm counters from a running agent. 0 or -errno. */
int zap_rss_pin(struct zap_ctx *zc, const char *path);
/* One pass of the rss iterator an agent pinned at @path, as zap_rss_sample(). 0 or -errno. */
int zap_rss_read_pinned(const char *path, struct rss_sample **out, size_t *n);
/* After every hook is attached: marks the address spaces of the processes alive now
 * MM_UNOBSERVED (their pages entered before pfnscope saw them). 0, or -errno. */
int zap_seed_mms(struct zap_ctx *zc);

/* The BPF object as built (the skeleton's copy), for the CO-RE cache (corebtf.c). */
const void *zap_obj_bytes(size_t *sz);

#endif /* PFNSCOPE_ZAP_H */
