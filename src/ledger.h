/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's ledger: counters folded in from rows the agent deleted (exited processes, freed
 * VMAs), and the findings already written as NDJSON. It lives in a BPF hash map that only
 * userspace writes, pinned next to the state maps, so it survives an agent restart with them:
 * every exported counter is "ledger + live rows" and never goes backwards.
 */
#ifndef PFNSCOPE_LEDGER_H
#define PFNSCOPE_LEDGER_H

#include <stdbool.h>
#include <linux/types.h>

#define LEDGER_KEY_LEN 96
#define LEDGER_MAX 16384

struct ledger {
	int fd;
	bool reused;		/* found pinned: a previous agent's */
	__u64 full;		/* additions refused: the ledger is full */
};

/* Opens the ledger pinned at @path, or creates and pins it. 0 or -errno. */
int ledger_open(struct ledger *l, const char *path);
void ledger_close(struct ledger *l);
/* Adds @n to the counter "@a\x1f@b\x1f@c" (b and c may be NULL). */
void ledger_add(struct ledger *l, __u64 n, const char *a, const char *b, const char *c);
__u64 ledger_get(struct ledger *l, const char *a, const char *b, const char *c);
/* Calls @fn for every counter whose first part is @a, with the other two parts. */
void ledger_each(struct ledger *l, const char *a,
		 void (*fn)(void *ctx, const char *b, const char *c, __u64 v), void *ctx);

#endif /* PFNSCOPE_LEDGER_H */
