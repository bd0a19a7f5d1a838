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

#define REPORT_SCHEMA_VERSION 1
#define SYM_LEN 128

struct vma_row {
	struct vma_key key;
	struct vma_val val;
	char name[PFNSCOPE_NAME_LEN + 8];	/* display name: file, [anon], [vdso], ... */
	char vm_ops[SYM_LEN];
	char fault_handler[SYM_LEN];
	char module[64];			/* module of the handler or vm_ops, "" = vmlinux */
};

struct proc_row {
	__u32 pid;
	struct proc_val val;
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
	__u64 drops[DROP__MAX];
	unsigned long syms_unresolved;
	int vmas_map_max;
};

const char *drop_reason_name(int reason);
const char *vma_kind_name(int kind);

void report_sort(struct report *r);
void report_free(struct report *r);
int report_write_json(const struct report *r, FILE *f);
void report_print_table(const struct report *r, FILE *f);

#endif /* PFNSCOPE_REPORT_H */
