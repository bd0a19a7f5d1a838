/* SPDX-License-Identifier: GPL-2.0 */
/* Pins and GUP references: per-page outstanding pins (map `pins`), per-caller totals (map
 * `pin_callers`), written by bpf/gup.bpf.c, read by src/gup.c. */
#ifndef PFNSCOPE_GUP_H
#define PFNSCOPE_GUP_H

#include "pfnscope.h"

enum pin_kind {
	PIN_KIND_PIN,		/* FOLL_PIN */
	PIN_KIND_LONGTERM,	/* FOLL_PIN | FOLL_LONGTERM */
	PIN_KIND_GET,		/* FOLL_GET: a plain reference (released by put_page, unseen) */
	PIN_KIND__MAX,
};

/* Who took a pin: the pinning process and its kernel stack. */
struct pin_caller_key {
	__u32 tgid;
	__s32 stack_id;		/* map `pin_stacks`, <0 if the stack could not be taken */
	__u32 kind;		/* enum pin_kind */
	__u32 _pad;
};

struct pin_caller_val {
	__u64 acquired;		/* pages (refs) */
	__u64 released;		/* pages released while pfnscope watched (FOLL_PIN only) */
	__u64 zero_page;	/* of acquired: the shared zero page */
	__u64 max_hold_ns;	/* longest pin released so far */
	__u64 after_unmap;	/* pins still held when their VMA was freed */
	char comm[PFNSCOPE_COMM_LEN];
};

/* An outstanding FOLL_PIN on a page (keyed by the head page's pfn). */
struct pin_val {
	struct pin_caller_key caller;	/* the first pinner */
	__u64 refs;			/* outstanding FOLL_PIN refs */
	__u64 since_ns;			/* first grab */
	__u64 mm_id;			/* mm_val.id of the pinned address space (0 unknown) */
	__u64 addr;			/* user address of the pinned page (0 unknown) */
	__u32 after_unmap;		/* its VMA was freed while pinned */
	__u32 zero_page;
};

/* Pins per user page of an address space (map `pin_sites`): summed per VMA in userspace. */
struct pin_site_key {
	__u64 mm_id;
	__u64 addr;		/* page address */
	__u32 kind;		/* enum pin_kind */
	__u32 _pad;
};

struct pin_site_val {
	__u64 acquired;
	__u64 released;
};

/* Global totals, per CPU (map `pin_totals`). */
enum pin_total {
	PT_PIN_ACQUIRED,	/* FOLL_PIN refs grabbed, zero page included */
	PT_PIN_RELEASED,
	PT_PIN_ZERO,		/* FOLL_PIN refs of the zero page (not in /proc/vmstat) */
	PT_PIN_ZERO_RELEASED,
	PT_GET_ACQUIRED,
	PT_LONGTERM,
	PT__MAX,
};

#endif /* PFNSCOPE_GUP_H */
