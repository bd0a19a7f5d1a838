// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: a --policy file through policy_parse() (after the built-in entries, as
 * cmd_check loads them), then policy_match() on VMAs named after each entry. Aborts if an error
 * comes without its message or an entry breaks what rules.h promises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"
#include "rules.h"

struct env env;	/* options.c's; log.c (and with it libbpf) stays out of this binary */

#define COPY(dst, src) do {							\
	if (strlen(src) >= sizeof(dst))						\
		goto skip;							\
	strcpy(dst, src);							\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct policy p = {};
	char err[256] = "";
	int ret;

	if (!f)
		return 0;
	if (policy_add_builtin(&p))
		abort();
	ret = policy_parse(&p, f, "fuzz.policy", err, sizeof(err));
	fclose(f);
	if (ret != 0 && ret != -1)
		abort();
	if ((ret == -1) != (err[0] != '\0') || (ret && strncmp(err, "fuzz.policy:", 12)))
		abort();
	for (size_t i = 0; i < p.n; i++) {
		const struct policy_entry *e = &p.e[i];
		struct vma_row v;
		int rule = e->rule < 0 ? (int)(i % RULE__MAX) : e->rule;

		if (e->rule < -1 || e->rule >= RULE__MAX || e->key > MATCH_RDEV ||
		    e->severity > SEV_NONE || !e->value[0] || !e->reason[0] ||
		    !memchr(e->value, '\0', sizeof(e->value)) ||
		    !memchr(e->reason, '\0', sizeof(e->reason)))
			abort();
		memset(&v, 0, sizeof(v));
		switch (e->key) {
		case MATCH_HANDLER:
			COPY(v.fault_handler, e->value);
			break;
		case MATCH_VM_OPS:
			COPY(v.vm_ops, e->value);
			break;
		case MATCH_MODULE:
			COPY(v.module, e->value);
			break;
		case MATCH_FILE:
			COPY(v.name, e->value);
			break;
		case MATCH_RDEV:
			v.val.rdev = 1 << 20 | 1;
			policy_match(&p, rule, &v);
			goto skip;
		}
		/* a VMA named after an entry matches (that entry, or one matched before it) */
		if (!policy_match(&p, rule, &v))
			abort();
skip:
		;
	}
	policy_free(&p);
	return 0;
}
