/* SPDX-License-Identifier: GPL-2.0 */
/* The one data model every output (table, JSON) is a view of. Schema: docs/json-schema.md. */
#ifndef PFNSCOPE_REPORT_H
#define PFNSCOPE_REPORT_H

#include <stdint.h>
#include <time.h>
#include <linux/types.h>
#include "pfnscope.h"
#include "vma.h"
#include "planner.h"
#include "ksyms.h"
#include "pfn.h"
#include "classify.h"
#include "rules.h"
#include "gup.h"

#define REPORT_SCHEMA_VERSION 1
#define SYM_LEN 128

struct vma_row {
	struct vma_key key;
	struct vma_val val;
	char name[PFNSCOPE_NAME_LEN + 8];	/* display name: file, [anon], [vdso], ... */
	char vm_ops[SYM_LEN];
	char fault_handler[SYM_LEN];
	char mmap_handler[SYM_LEN];
	char module[64];			/* module of the handler or vm_ops, "" = vmlinux */
	/* from the pfn rows of this VMA */
	__u64 pages_by_class[CLASS__MAX];	/* pages that reached its page table, by class */
	__u64 by_src[SRC__MAX];			/* events by source */
	__u64 reserved_hits;			/* PG_reserved pages returned or inserted */
	__u64 pins_outstanding[PIN_KIND__MAX];	/* pinned pages of this VMA at the end */
	__u64 pins_acquired[PIN_KIND__MAX];	/* pages of this VMA pinned (or got) */
	__u64 pins_released[PIN_KIND__MAX];
#define TOP_REGIONS 3
	struct { char name[64]; __u64 pages; } top[TOP_REGIONS];
	bool hidden;				/* filtered out (--module), or merged */
	bool merged;				/* a fork-time row merged into its owner's */
	bool earlier;				/* an earlier process's: its pid was reused */
};

struct pfn_row {
	struct pfn_key key;
	struct pfn_val val;
	enum pfn_class cls;
	const char *region;
	struct vma_row *vma;
};

struct finding {
	int rule;				/* enum rule_id */
	enum severity severity;			/* after policy */
	const struct policy_entry *policy;	/* entry that changed the severity, if any */
	const struct vma_row *vma;
	__u64 count;
	__u64 example_pfn;
	enum pfn_class cls;
	char region[64];
	int src;				/* enum pfn_src, -1 for VMA-level rules */
	unsigned int req_cache, inst_cache;	/* PAT index; inst 0xff unknown */
	const struct pin_caller_row *caller;	/* pin rules */
	/* RSS_IMBALANCE */
	int member;				/* enum rss_member */
	long long amount;			/* pages the member is off by */
	char contributors[512];			/* the VMAs whose net is not zero */
};

struct mm_row {
	__u64 cookie;				/* never printed */
	struct mm_val val;
	long long net[RSS_MEMBERS];		/* sum of its VMA rows' rss_in - rss_out */
	long long carried[RSS_MEMBERS];		/* part of net from rows no longer in the map */
	size_t nr_vmas;
};

/* A per-VMA RSS sample (--timeline). */
struct timeline_vma {
	__u32 pid;
	__u64 vm_start;
	long long rss[RSS_MEMBERS];
	__u64 faults;
};

#define PIN_STACK_DEPTH 8

struct pin_caller_row {
	struct pin_caller_key key;
	struct pin_caller_val val;
	char stack[PIN_STACK_DEPTH][SYM_LEN];	/* symbolised kernel stack, innermost first */
	int depth;
	__u64 outstanding;			/* pages still pinned at the end */
	__u64 oldest_ns;			/* age of its oldest outstanding pin */
};

struct pin_row {
	__u64 pfn;
	struct pin_val val;
	enum pfn_class cls;			/* of the pinned page (a page exists: it is pinned) */
	const char *region;
	struct vma_row *vma;			/* the VMA of mm_id/addr, if known */
	struct pin_caller_row *caller;
};

struct pin_report {
	bool have;				/* the pin hooks were attached */
	__u64 totals[PT__MAX];
	long long vmstat_acquired, vmstat_released;	/* deltas over the run, -1 unknown */
	struct pin_caller_row *callers;
	size_t nr_callers;
	struct pin_row *pins;
	size_t nr_pins;
	__u64 now_ns;				/* CLOCK_MONOTONIC when read (ages) */
};

struct rss_row {
	__u32 mm_id;
	struct rss_mm_val val;
};

struct timeline_sample {
	__u64 t_ns;				/* CLOCK_MONOTONIC */
	struct timeline_vma *vmas;
	size_t nr;
	struct rss_row *mms;			/* kmem:rss_stat per mm */
	size_t nr_mms;
};

/* Outstanding pins over time (--timeline with the pin hooks attached). */
struct pins_sample {
	__u64 t_ns;				/* CLOCK_MONOTONIC */
	__u64 outstanding;			/* pages pinned (FOLL_PIN) and not yet unpinned */
};

struct proc_row {
	__u32 pid;
	struct proc_val val;
	bool have_rss_stat;
	bool rss_stat_sampled;			/* read from the mm now (rss-iter): no peak */
	long long rss_stat[RSS_MEMBERS];	/* kmem:rss_stat: last values, pages */
	long long rss_stat_peak[RSS_MEMBERS];
	long stat_minflt;	/* /proc/PID/stat of the zombie, read before reaping; -1 unknown */
	long stat_majflt;
	__u64 vma_faults;	/* sum of the process's VMA rows */
};

struct report {
	const char *command;		/* "check", ... */
	char kernel[128];		/* uname -r */
	char argv[512];			/* the traced command line */
	const struct plan *plan;
	time_t started;
	double duration_s;
	struct vma_row *vmas;
	size_t nr_vmas;
	struct proc_row *procs;
	size_t nr_procs;
	struct pfn_row *pfns;
	size_t nr_pfns;
	struct finding *findings;
	size_t nr_findings;
	struct mm_row *mms;
	size_t nr_mms;
	struct pin_report pins;
	struct timeline_sample *timeline;
	size_t nr_samples;
	struct pins_sample *pin_samples;	/* optional, NULL if none */
	size_t nr_pin_samples;
	unsigned int timeline_ms;
	const char *module_filter;		/* --module */
	__u64 drops[DROP__MAX];
	/* lookups (report_index): rows by id, and by (address space, vm_start) */
	struct vma_row **by_id, **by_mm;
	size_t nr_index;
	unsigned long syms_unresolved;
	int vmas_map_max;
};

/* Net pages of member @m of a row, and sums of them: in wrapping arithmetic, so that the
 * counters of a hostile recording cannot overflow a signed type (undefined in C). */
static inline long long rss_net(const struct vma_val *v, int m)
{
	return (long long)(v->rss_in[m] - v->rss_out[m]);
}

static inline long long add_wrap(long long a, long long b)
{
	return (long long)((__u64)a + (__u64)b);
}

const char *drop_reason_name(int reason);
const char *vma_kind_name(int kind);
const char *pin_kind_name(int kind);

const char *pfn_src_name(int src);
const char *rss_member_name(int m);

void report_sort(struct report *r);
/* Builds the lookups over r->vmas (again after r->vmas changes). 0 or -ENOMEM. */
int report_index(struct report *r);
struct vma_row *report_vma_by_id(const struct report *r, __u64 id);
/* The latest row of address space @mm_id whose range holds @addr, or NULL. */
struct vma_row *report_vma_at(const struct report *r, __u64 mm_id, __u64 addr);
/* The rule a classified pfn row (p->cls, p->vma set) breaks, or -1. */
int pfn_rule(const struct pfn_row *p);
/* Classifies every pfn row, fills per-VMA class counts, applies rules and policy. */
int findings_evaluate(struct report *r, const struct iomem *io, const struct policy *pol);
/* Worst severity among findings not silenced, SEV_NONE if there are none. */
enum severity findings_worst(const struct report *r);
void report_free(struct report *r);
int report_write_json(const struct report *r, FILE *f);
struct json_object;
/* One finding as the JSON document has it (also the agent's NDJSON lines). */
struct json_object *finding_json(const struct finding *f);
void report_print_table(const struct report *r, FILE *f);
void report_print_findings(const struct report *r, FILE *f);

#endif /* PFNSCOPE_REPORT_H */
