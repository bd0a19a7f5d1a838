/* SPDX-License-Identifier: GPL-2.0 */
/* The one rule table (checks, docs/findings.md, metric labels) and the policy that can lower
 * or silence a rule for named vm_ops, handlers, modules or device files. */
#ifndef PFNSCOPE_RULES_H
#define PFNSCOPE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "options.h"

enum rule_id {
	RULE_NONRAM_PAGE,
	RULE_FREE_PAGE_MAPPED,
	RULE_MMIO_CACHED,
	RULE_RESERVED_PAGE,
	RULE_RAM_PFNMAP,
	RULE_BAD_PTE,
	RULE_RSS_IMBALANCE,
	RULE_PIN_LEAK,
	RULE_PIN_AFTER_UNMAP,
	RULE_LONGTERM_PIN,
	RULE__MAX,
};

struct rule {
	const char *id;
	enum severity severity;
	const char *summary;	/* one line */
	const char *explain;	/* one sentence a driver author understands */
};

extern const struct rule rules[RULE__MAX];
int rule_by_name(const char *name);

enum match_key { MATCH_HANDLER, MATCH_VM_OPS, MATCH_MODULE, MATCH_FILE, MATCH_RDEV };

struct policy_entry {
	int rule;			/* enum rule_id, or -1 for every rule */
	enum match_key key;
	char value[128];
	enum severity severity;		/* SEV_NONE silences */
	char reason[200];
	bool builtin;
};

struct policy {
	struct policy_entry *e;
	size_t n, cap;
};

/* Built-in entries: the kernel's own legitimate mappings, each with its reason. */
int policy_add_builtin(struct policy *p);
/* Lines "RULE|* KEY=VALUE SEVERITY REASON...", '#' comments. On error returns -1 and puts
 * "FILE:LINE: what is wrong" in @err. */
int policy_load(struct policy *p, const char *path, char *err, size_t errlen);
/* The same from an open stream; @name stands for the file in messages. Entries added before an
 * error stay in @p (policy_free() releases them). */
int policy_parse(struct policy *p, FILE *f, const char *name, char *err, size_t errlen);
void policy_free(struct policy *p);

struct vma_row;
/* First policy entry matching @rule on @vma, or NULL. */
const struct policy_entry *policy_match(const struct policy *p, int rule,
					const struct vma_row *vma);

#endif /* PFNSCOPE_RULES_H */
